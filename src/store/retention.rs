//! The rows retention removes, each kind by its own rule, counted or removed a batch at a time:
//! every batch is one statement choosing at most `batch` rows by an index (m0024), so no
//! statement holds its locks long, and processes removing at once only share the work. (A
//! kind's own rows follow its rules in its folder: customs declarations' buyer identity.)

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, SimpleExpr};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QuerySelect, QueryTrait};

use super::entity::{feed_event, idempotency, inbound, outbox, webhook_delivery, webhook_delivery_attempt};
use super::{Db, StoreError};

/// What retention removes, in the order it runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::Display, strum::EnumIter)]
#[strum(serialize_all = "snake_case")]
pub enum Removal {
    /// Outbox rows of effects done or superseded, by when they finished.
    Outbox,
    /// Idempotency keys, by when they were first used.
    IdempotencyKeys,
    /// Feed events, by when they happened; never one a pending webhook delivery still sends.
    Events,
    /// Webhook deliveries no longer pending, by when they were created, with their attempts.
    WebhookDeliveries,
    /// Alipay+'s calls to us, by when they arrived.
    InboundJournal,
}

/// How many rows `removal` would remove of those older than `before`.
pub async fn count(db: &Db, removal: Removal, before: DateTime<Utc>) -> Result<u64, StoreError> {
    Ok(match removal {
        Removal::Outbox => {
            outbox::Entity::find()
                .filter(finished_outbox(before))
                .count(db)
                .await?
        }
        Removal::IdempotencyKeys => {
            idempotency::Entity::find()
                .filter(idempotency::Column::CreatedAt.lt(before))
                .count(db)
                .await?
        }
        Removal::Events => {
            feed_event::Entity::find()
                .filter(old_events(before))
                .count(db)
                .await?
        }
        Removal::WebhookDeliveries => {
            webhook_delivery::Entity::find()
                .filter(finished_deliveries(before))
                .count(db)
                .await?
        }
        Removal::InboundJournal => {
            inbound::Entity::find()
                .filter(inbound::Column::ReceivedAt.lt(before))
                .count(db)
                .await?
        }
    })
}

/// Removes at most `batch` rows of `removal` older than `before`; answers how many.
pub async fn remove_batch(
    db: &Db,
    removal: Removal,
    before: DateTime<Utc>,
    batch: u64,
) -> Result<u64, StoreError> {
    let removed = match removal {
        Removal::Outbox => {
            remove_chosen::<outbox::Entity>(db, outbox::Column::Id, finished_outbox(before), batch).await?
        }
        Removal::IdempotencyKeys => {
            let chosen = idempotency::Entity::find()
                .select_only()
                .column(idempotency::Column::Scope)
                .column(idempotency::Column::Key)
                .filter(idempotency::Column::CreatedAt.lt(before))
                .limit(batch)
                .into_query();
            let key = Expr::tuple([
                Expr::col(idempotency::Column::Scope),
                Expr::col(idempotency::Column::Key),
            ]);
            idempotency::Entity::delete_many()
                .filter(key.in_subquery(chosen))
                .exec(db)
                .await?
                .rows_affected
        }
        Removal::Events => {
            remove_chosen::<feed_event::Entity>(db, feed_event::Column::Id, old_events(before), batch).await?
        }
        Removal::WebhookDeliveries => remove_deliveries(db, before, batch).await?,
        Removal::InboundJournal => {
            let old = inbound::Column::ReceivedAt.lt(before);
            remove_chosen::<inbound::Entity>(db, inbound::Column::Id, old, batch).await?
        }
    };
    Ok(removed)
}

/// Removes at most `batch` rows of `E` matching `filter`, chosen by their key `id` in the same
/// statement.
async fn remove_chosen<E: EntityTrait>(
    db: &Db,
    id: E::Column,
    filter: SimpleExpr,
    batch: u64,
) -> Result<u64, StoreError> {
    let chosen = E::find()
        .select_only()
        .column(id)
        .filter(filter)
        .limit(batch)
        .into_query();
    Ok(E::delete_many()
        .filter(id.in_subquery(chosen))
        .exec(db)
        .await?
        .rows_affected)
}

/// A batch of finished deliveries and their attempts, in one transaction (no attempt outlives
/// its delivery).
async fn remove_deliveries(db: &Db, before: DateTime<Utc>, batch: u64) -> Result<u64, StoreError> {
    let txn = db.begin().await?;
    let ids: Vec<uuid::Uuid> = webhook_delivery::Entity::find()
        .select_only()
        .column(webhook_delivery::Column::Id)
        .filter(finished_deliveries(before))
        .limit(batch)
        .into_tuple()
        .all(&txn)
        .await?;
    if ids.is_empty() {
        return Ok(0);
    }
    webhook_delivery_attempt::Entity::delete_many()
        .filter(webhook_delivery_attempt::Column::DeliveryId.is_in(ids.clone()))
        .exec(&txn)
        .await?;
    let removed = webhook_delivery::Entity::delete_many()
        .filter(webhook_delivery::Column::Id.is_in(ids))
        .exec(&txn)
        .await?
        .rows_affected;
    txn.commit().await?;
    Ok(removed)
}

fn finished_outbox(before: DateTime<Utc>) -> SimpleExpr {
    outbox::Column::Status
        .is_in([outbox::STATUS_DONE, outbox::STATUS_STALE])
        .and(outbox::Column::UpdatedAt.lt(before))
}

fn old_events(before: DateTime<Utc>) -> SimpleExpr {
    let still_sent = webhook_delivery::Entity::find()
        .select_only()
        .column(webhook_delivery::Column::EventId)
        .filter(webhook_delivery::Column::Status.eq(webhook_delivery::STATUS_PENDING))
        .filter(webhook_delivery::Column::EventId.is_not_null())
        .into_query();
    feed_event::Column::CreatedAt
        .lt(before)
        .and(feed_event::Column::Id.not_in_subquery(still_sent))
}

fn finished_deliveries(before: DateTime<Utc>) -> SimpleExpr {
    webhook_delivery::Column::Status
        .ne(webhook_delivery::STATUS_PENDING)
        .and(webhook_delivery::Column::CreatedAt.lt(before))
}
