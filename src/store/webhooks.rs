//! Merchants' webhook endpoints and what is sent to them: the endpoints themselves, one delivery
//! row per event an endpoint takes ([`fan_out_in`], written in the transaction of the event, so
//! an endpoint misses nothing from its creation on), the dispatcher's view (deliveries due, in
//! order per object: one waits while an earlier event of its object to the same endpoint is
//! pending), each attempt recorded with what it did to the delivery and to its endpoint (an
//! endpoint failing for too long is disabled and its merchant told by an event, in the same
//! transaction), the merchant's lists, and redelivery.
//!
//! A delivery is claimed by moving its `next_attempt_at` a lease ahead, conditionally on the
//! value read; the attempt is recorded only while that claim holds, so two processes never
//! record the same attempt. A disabled endpoint's pending deliveries wait without a time
//! (`next_attempt_at` NULL) and are due again when it is enabled.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Func, Query, SimpleExpr};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};
use serde_json::json;
use uuid::Uuid;

use super::StoreError;
use super::deliveries::fan_out_in;
pub use super::deliveries::new_delivery;
use super::entity::webhook_delivery::{self as delivery, Column as D};
use super::entity::{
    feed_event, webhook_delivery_attempt as attempt, webhook_endpoint as endpoint, webhook_redelivery,
};
use super::feed::{self, Announced};
use crate::store::Db;

/// The event type a merchant is told an endpoint was disabled with.
pub const ENDPOINT_DISABLED: &str = "webhook_endpoint.disabled";

pub async fn insert_endpoint(db: &Db, row: endpoint::Model) -> Result<(), StoreError> {
    endpoint::Entity::insert(endpoint::ActiveModel::from(row))
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// `merchant_id`'s endpoints, deleted ones left out, oldest first.
pub async fn endpoints_of(db: &Db, merchant_id: Uuid) -> Result<Vec<endpoint::Model>, StoreError> {
    Ok(endpoint::Entity::find()
        .filter(endpoint::Column::MerchantId.eq(merchant_id))
        .filter(endpoint::Column::DeletedAt.is_null())
        .order_by_asc(endpoint::Column::CreatedAt)
        .order_by_asc(endpoint::Column::Id)
        .all(db)
        .await?)
}

/// Endpoint `id`, unless deleted.
pub async fn endpoint(db: &Db, id: Uuid) -> Result<Option<endpoint::Model>, StoreError> {
    Ok(endpoint::Entity::find_by_id(id)
        .filter(endpoint::Column::DeletedAt.is_null())
        .one(db)
        .await?)
}

/// What a change of an endpoint does to its pending deliveries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Waiting {
    /// Nothing (a description, its types, a secret): in-flight and backed-off ones go on.
    Untouched,
    /// Due now (enabled again, or a new URL while enabled).
    Resume,
    /// They wait without a time (disabled).
    Pause,
    /// Never sent (deleted).
    Cancel,
}

/// Writes `row` (as the merchant changed it) over endpoint `row.id` if it is still at
/// `row.version - 1`, and does `waiting` to its pending deliveries in the same transaction;
/// false if it changed meanwhile or is gone.
pub async fn update_endpoint(db: &Db, row: &endpoint::Model, waiting: Waiting) -> Result<bool, StoreError> {
    let txn = db.begin().await?;
    let updated = endpoint::Entity::update_many()
        .set(endpoint::ActiveModel {
            url: Set(row.url.clone()),
            event_types: Set(row.event_types.clone()),
            description: Set(row.description.clone()),
            enabled: Set(row.enabled),
            disabled_reason: Set(row.disabled_reason.clone()),
            secret: Set(row.secret.clone()),
            previous_secret: Set(row.previous_secret.clone()),
            previous_secret_until: Set(row.previous_secret_until),
            failing_since: Set(row.failing_since),
            version: Set(row.version),
            updated_at: Set(row.updated_at),
            deleted_at: Set(row.deleted_at),
            ..Default::default()
        })
        .filter(endpoint::Column::Id.eq(row.id))
        .filter(endpoint::Column::Version.eq(row.version - 1))
        .filter(endpoint::Column::DeletedAt.is_null())
        .exec(&txn)
        .await?;
    if updated.rows_affected != 1 {
        return Ok(false);
    }
    let pending = delivery::Entity::update_many()
        .filter(D::EndpointId.eq(row.id))
        .filter(D::Status.eq(delivery::STATUS_PENDING));
    let no_time = Expr::value(Option::<DateTime<Utc>>::None);
    let pending = match waiting {
        Waiting::Untouched => None,
        Waiting::Resume => Some(pending.col_expr(D::NextAttemptAt, Expr::value(row.updated_at))),
        Waiting::Pause => Some(pending.col_expr(D::NextAttemptAt, no_time)),
        Waiting::Cancel => Some(
            pending
                .col_expr(D::Status, Expr::value(delivery::STATUS_CANCELLED))
                .col_expr(D::NextAttemptAt, no_time),
        ),
    };
    if let Some(pending) = pending {
        pending.exec(&txn).await?;
    }
    txn.commit().await?;
    Ok(true)
}

pub async fn insert_delivery(db: &Db, row: delivery::Model) -> Result<(), StoreError> {
    delivery::Entity::insert(delivery::ActiveModel::from(row))
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// Up to `limit` deliveries due at `now`, soonest first; an event's delivery only once no
/// earlier event of its object to the same endpoint is pending.
pub async fn due_deliveries(
    db: &Db,
    now: DateTime<Utc>,
    limit: u64,
) -> Result<Vec<delivery::Model>, StoreError> {
    let earlier = Alias::new("earlier");
    let outer = |column: D| Expr::col((delivery::Entity, column));
    let pending_before = Query::select()
        .expr(Expr::val(1))
        .from_as(delivery::Entity, earlier.clone())
        .and_where(Expr::col((earlier.clone(), D::EndpointId)).eq(outer(D::EndpointId)))
        .and_where(Expr::col((earlier.clone(), D::ObjectId)).eq(outer(D::ObjectId)))
        .and_where(Expr::col((earlier.clone(), D::Status)).eq(delivery::STATUS_PENDING))
        .and_where(Expr::col((earlier.clone(), D::Purpose)).eq(delivery::PURPOSE_EVENT))
        .and_where(Expr::col((earlier, D::Sequence)).lt(outer(D::Sequence)))
        .to_owned();
    Ok(delivery::Entity::find()
        .filter(D::Status.eq(delivery::STATUS_PENDING))
        .filter(D::NextAttemptAt.lte(now))
        .filter(
            Condition::any()
                .add(D::Purpose.ne(delivery::PURPOSE_EVENT))
                .add(Expr::exists(pending_before).not()),
        )
        .order_by_asc(D::NextAttemptAt)
        .limit(limit)
        .all(db)
        .await?)
}

/// Takes `row` for `until` (its `next_attempt_at` moved there) if nobody took it since it was
/// read; the claim is the new `next_attempt_at`.
pub async fn claim(db: &Db, row: &delivery::Model, until: DateTime<Utc>) -> Result<bool, StoreError> {
    let claimed = delivery::Entity::update_many()
        .col_expr(D::NextAttemptAt, Expr::value(until))
        .filter(D::Id.eq(row.id))
        .filter(D::Status.eq(delivery::STATUS_PENDING))
        .filter(D::NextAttemptAt.eq(row.next_attempt_at))
        .exec(db)
        .await?;
    Ok(claimed.rows_affected == 1)
}

/// What an attempt leaves its delivery as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    Succeeded,
    RetryAt(DateTime<Utc>),
    GiveUp,
}

/// An attempt made under a claim, and when to disable its endpoint.
pub struct Attempted<'a> {
    pub delivery: &'a delivery::Model,
    /// The claim (`next_attempt_at` set by [`claim`]).
    pub claimed_until: DateTime<Utc>,
    pub record: attempt::Model,
    pub next: Next,
    /// An endpoint failing since before this is disabled by this failed attempt.
    pub disable_if_failing_since: DateTime<Utc>,
}

/// What recording an attempt did.
#[derive(Debug, Clone, PartialEq)]
pub enum Recorded {
    /// The claim had run out (another process took the delivery): nothing written.
    Superseded,
    Written,
    /// Written, and the endpoint was disabled (its merchant told by this event).
    EndpointDisabled(feed_event::Model),
}

/// Records `attempted` in one transaction: the attempt, the delivery's new standing, the
/// endpoint's failing streak, and its disabling when the streak is too long.
pub async fn record_attempt(db: &Db, attempted: Attempted<'_>) -> Result<Recorded, StoreError> {
    let Attempted {
        delivery: row,
        claimed_until,
        record,
        next,
        disable_if_failing_since,
    } = attempted;
    let at = record.at;
    let failed = next != Next::Succeeded;
    let txn = db.begin().await?;
    let (status, next_attempt_at) = match next {
        Next::Succeeded => (delivery::STATUS_SUCCEEDED, None),
        Next::RetryAt(time) => (delivery::STATUS_PENDING, Some(time)),
        Next::GiveUp => (delivery::STATUS_FAILED, None),
    };
    let mut update = delivery::Entity::update_many()
        .col_expr(D::Status, Expr::value(status))
        .col_expr(D::Attempts, Expr::col(D::Attempts).add(1))
        .col_expr(D::NextAttemptAt, Expr::value(next_attempt_at));
    if failed {
        update = update.col_expr(D::FirstFailedAt, Expr::value(row.first_failed_at.unwrap_or(at)));
    }
    let updated = update
        .filter(D::Id.eq(row.id))
        .filter(D::Status.eq(delivery::STATUS_PENDING))
        .filter(D::NextAttemptAt.eq(claimed_until))
        .exec(&txn)
        .await?;
    if updated.rows_affected != 1 {
        return Ok(Recorded::Superseded);
    }
    attempt::Entity::insert(attempt::ActiveModel {
        id: Default::default(),
        ..attempt::ActiveModel::from(record)
    })
    .exec_without_returning(&txn)
    .await?;
    // A test ping says nothing of the endpoint's streak: its events may fail while pings pass.
    if row.purpose != delivery::PURPOSE_PING {
        let streak = if failed {
            Func::coalesce([Expr::col(endpoint::Column::FailingSince), Expr::value(at)]).into()
        } else {
            SimpleExpr::from(Expr::value(Option::<DateTime<Utc>>::None))
        };
        endpoint::Entity::update_many()
            .col_expr(endpoint::Column::FailingSince, streak)
            .filter(endpoint::Column::Id.eq(row.endpoint_id))
            .exec(&txn)
            .await?;
    }
    let mut recorded = Recorded::Written;
    if failed && row.purpose != delivery::PURPOSE_PING {
        let failing = endpoint::Entity::find_by_id(row.endpoint_id)
            .filter(endpoint::Column::Enabled.eq(true))
            .filter(endpoint::Column::FailingSince.lte(disable_if_failing_since))
            .one(&txn)
            .await?;
        if let Some(failing) = failing {
            recorded = Recorded::EndpointDisabled(disable_in(&txn, failing, at).await?);
        }
    }
    txn.commit().await?;
    Ok(recorded)
}

/// Disables `failing` in `txn` (its deliveries wait) and writes the event telling its merchant.
async fn disable_in(
    txn: &DatabaseTransaction,
    failing: endpoint::Model,
    now: DateTime<Utc>,
) -> Result<feed_event::Model, StoreError> {
    let since = failing.failing_since.unwrap_or(now);
    let reason = format!(
        "every delivery failed since {}",
        since.format("%Y-%m-%dT%H:%M:%SZ")
    );
    let version = failing.version + 1;
    endpoint::Entity::update_many()
        .col_expr(endpoint::Column::Enabled, Expr::value(false))
        .col_expr(endpoint::Column::DisabledReason, Expr::value(reason.clone()))
        .col_expr(endpoint::Column::Version, Expr::value(version))
        .col_expr(endpoint::Column::UpdatedAt, Expr::value(now))
        .filter(endpoint::Column::Id.eq(failing.id))
        .exec(txn)
        .await?;
    delivery::Entity::update_many()
        .col_expr(D::NextAttemptAt, Expr::value(Option::<DateTime<Utc>>::None))
        .filter(D::EndpointId.eq(failing.id))
        .filter(D::Status.eq(delivery::STATUS_PENDING))
        .exec(txn)
        .await?;
    let announced = Announced {
        merchant_id: failing.merchant_id,
        object_id: failing.id,
        subject_id: failing.id,
        event_type: ENDPOINT_DISABLED.into(),
        announced: "DISABLED".into(),
        data: json!({
            "id": failing.id, "url": failing.url, "enabled": false, "disabledReason": reason,
            "failingSince": since, "version": version, "updatedAt": now,
        }),
    };
    feed::record_announced_in(txn, Uuid::now_v7(), announced, (failing.id, version), now).await
}

/// The attempts of `deliveries`, oldest first.
pub async fn attempts_of(db: &Db, deliveries: &[Uuid]) -> Result<Vec<attempt::Model>, StoreError> {
    Ok(attempt::Entity::find()
        .filter(attempt::Column::DeliveryId.is_in(deliveries.iter().copied()))
        .order_by_asc(attempt::Column::Id)
        .all(db)
        .await?)
}

/// Which of a merchant's deliveries to list.
#[derive(Debug, Default, Clone)]
pub struct DeliveryFilter {
    pub endpoint_id: Option<Uuid>,
    pub event_id: Option<Uuid>,
    pub status: Option<String>,
}

/// Up to `limit` of `merchant_id`'s deliveries matching `filter`, newest first, before the
/// delivery `before` (ids are time-ordered).
pub async fn deliveries(
    db: &Db,
    merchant_id: Uuid,
    filter: &DeliveryFilter,
    before: Option<Uuid>,
    limit: u64,
) -> Result<Vec<delivery::Model>, StoreError> {
    let mut query = delivery::Entity::find().filter(D::MerchantId.eq(merchant_id));
    if let Some(endpoint_id) = filter.endpoint_id {
        query = query.filter(D::EndpointId.eq(endpoint_id));
    }
    if let Some(event_id) = filter.event_id {
        query = query.filter(D::EventId.eq(event_id));
    }
    if let Some(status) = &filter.status {
        query = query.filter(D::Status.eq(status.clone()));
    }
    if let Some(before) = before {
        query = query.filter(D::Id.lt(before));
    }
    Ok(query.order_by_desc(D::Id).limit(limit).all(db).await?)
}

pub async fn delivery(db: &Db, id: Uuid) -> Result<Option<delivery::Model>, StoreError> {
    Ok(delivery::Entity::find_by_id(id).one(db).await?)
}

/// The failed deliveries of events to `endpoint_id` created from `since` to `until`, after
/// the delivery `after` (in id order), `limit` at most.
fn failed_between(
    endpoint_id: Uuid,
    since: DateTime<Utc>,
    until: DateTime<Utc>,
    after: Option<Uuid>,
) -> sea_orm::Select<delivery::Entity> {
    let mut query = delivery::Entity::find()
        .filter(D::EndpointId.eq(endpoint_id))
        .filter(D::Status.eq(delivery::STATUS_FAILED))
        .filter(D::Purpose.eq(delivery::PURPOSE_EVENT))
        .filter(D::CreatedAt.gte(since))
        .filter(D::CreatedAt.lte(until));
    if let Some(after) = after {
        query = query.filter(D::Id.gt(after));
    }
    query
}

/// Records a request to send again every failed delivery of `request.endpoint_id` since
/// `request.since`; how many it selects (its `total`).
pub async fn request_redelivery(db: &Db, mut request: webhook_redelivery::Model) -> Result<i32, StoreError> {
    let total = sea_orm::PaginatorTrait::count(
        failed_between(request.endpoint_id, request.since, request.requested_at, None),
        db,
    )
    .await?;
    request.total = i32::try_from(total).unwrap_or(i32::MAX);
    webhook_redelivery::Entity::insert(webhook_redelivery::ActiveModel::from(request.clone()))
        .exec_without_returning(db)
        .await?;
    Ok(request.total)
}

/// Redelivery requests not yet worked through, oldest first.
pub async fn open_redeliveries(db: &Db) -> Result<Vec<webhook_redelivery::Model>, StoreError> {
    Ok(webhook_redelivery::Entity::find()
        .filter(webhook_redelivery::Column::FinishedAt.is_null())
        .order_by_asc(webhook_redelivery::Column::RequestedAt)
        .all(db)
        .await?)
}

/// Queues the next `limit` deliveries of `request` again, moving it on in the same
/// transaction (only from where it was read: another process's batch is not repeated); the
/// request as moved on, `None` if another process moved it first.
pub async fn redeliver_batch(
    db: &Db,
    request: &webhook_redelivery::Model,
    now: DateTime<Utc>,
    limit: u64,
) -> Result<Option<webhook_redelivery::Model>, StoreError> {
    let txn = db.begin().await?;
    let failed = failed_between(
        request.endpoint_id,
        request.since,
        request.requested_at,
        request.after_id,
    )
    .order_by_asc(D::Id)
    .limit(limit)
    .all(&txn)
    .await?;
    let moved_on = webhook_redelivery::Model {
        after_id: failed.last().map(|row| row.id).or(request.after_id),
        queued: request.queued + failed.len() as i32,
        finished_at: ((failed.len() as u64) < limit).then_some(now),
        ..request.clone()
    };
    let moved = webhook_redelivery::Entity::update_many()
        .col_expr(
            webhook_redelivery::Column::AfterId,
            Expr::value(moved_on.after_id),
        )
        .col_expr(webhook_redelivery::Column::Queued, Expr::value(moved_on.queued))
        .col_expr(
            webhook_redelivery::Column::FinishedAt,
            Expr::value(moved_on.finished_at),
        )
        .filter(webhook_redelivery::Column::Id.eq(request.id))
        .filter(webhook_redelivery::Column::Queued.eq(request.queued))
        .filter(webhook_redelivery::Column::FinishedAt.is_null())
        .exec(&txn)
        .await?;
    if moved.rows_affected != 1 {
        return Ok(None);
    }
    let live = endpoint::Entity::find_by_id(request.endpoint_id)
        .filter(endpoint::Column::DeletedAt.is_null())
        .one(&txn)
        .await?;
    if let Some(endpoint) = live.filter(|_| !failed.is_empty()) {
        let due = endpoint.enabled.then_some(now);
        let again = failed.iter().map(|row| {
            let mut again = new_delivery(&endpoint, None, delivery::PURPOSE_REDELIVERY, due, now);
            (again.event_id, again.object_id, again.sequence) = (row.event_id, row.object_id, row.sequence);
            delivery::ActiveModel::from(again)
        });
        delivery::Entity::insert_many(again)
            .exec_without_returning(&txn)
            .await?;
    }
    txn.commit().await?;
    Ok(Some(moved_on))
}

/// The deliveries of `event` to its merchant's endpoints, unless it has some already (an event
/// written before endpoints, delivered late).
pub async fn fan_out_once(db: &Db, event: &feed_event::Model) -> Result<(), StoreError> {
    let txn = db.begin().await?;
    let delivered = delivery::Entity::find()
        .filter(D::EventId.eq(event.id))
        .filter(D::Purpose.eq(delivery::PURPOSE_EVENT))
        .one(&txn)
        .await?;
    if delivered.is_none() {
        fan_out_in(&txn, event).await?;
    }
    txn.commit().await?;
    Ok(())
}

/// `merchant_id`'s latest deliveries that failed at least once and did not succeed since
/// (given up, or still being retried), newest first.
pub async fn failing_deliveries(
    db: &Db,
    merchant_id: Uuid,
    limit: u64,
) -> Result<Vec<delivery::Model>, StoreError> {
    Ok(delivery::Entity::find()
        .filter(D::MerchantId.eq(merchant_id))
        .filter(D::Status.is_in([delivery::STATUS_PENDING, delivery::STATUS_FAILED]))
        .filter(D::Attempts.gt(0))
        .order_by_desc(D::Id)
        .limit(limit)
        .all(db)
        .await?)
}
