//! Dispute rows, and Alipay+'s rules for opening one (ALIPAYPLUS.md 5), checked in the
//! transaction that records it with the payment's instance locked, so two initiations for one
//! payment are decided one after the other: at most 5 retrievals and 2 escalations per payment,
//! one open at a time, within 360 days of the payment, a second escalation within 25 days of the
//! first one's close. `disputeRequestId` is unique in the table: a repeated one inserts nothing
//! and is answered from the row already there.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder};
use uuid::Uuid;

use super::apply::{Applied, NewInstance, StartPlan, lock_instance};
use super::entity::{dispute, inbound, instance, refund};
use super::idempotency::{IdempotencyKey, Repeated, repeated_in};
use super::refunds::record_refund_in;
use super::{StoreError, retry_transient, with_instance};
use crate::clock::Clock;
use crate::store::Db;
use crate::workflow::Definitions;

/// At most this many of each kind per payment.
pub const MAX_RETRIEVALS: usize = 5;
pub const MAX_ESCALATIONS: usize = 2;
/// A dispute may be raised this long after the payment.
pub const WINDOW_DAYS: i64 = 360;
/// A second escalation within this long after the first one closed.
pub const SECOND_ESCALATION_DAYS: i64 = 25;

/// What an initiation came to.
#[derive(Debug)]
pub enum Opened {
    Created(Applied),
    /// This `disputeRequestId` was recorded before for the same payment: the same answer.
    Again(dispute::Model),
    /// This `disputeRequestId` was recorded before for another payment.
    Inconsistent,
    /// Alipay+'s rules refuse it; nothing was written.
    Refused(String),
}

/// Records `new` (its id is replaced by its instance's) with its `dispute` instance and the
/// journal row of the call, if the rules allow it.
pub async fn open_dispute(
    db: &Db,
    definitions: &Definitions,
    clock: &dyn Clock,
    new: &dispute::Model,
    payment_paid_at: DateTime<Utc>,
    new_instance: &NewInstance,
    call: inbound::Model,
) -> Result<Opened, StoreError> {
    retry_transient(|| async {
        let txn = db.begin().await?;
        lock_instance(&txn, new.payment_id).await?;
        let plan = StartPlan::new(definitions, clock, "dispute", new_instance)?;
        let row = dispute::Model {
            id: plan.instance_id(),
            ..new.clone()
        };
        let inserted = dispute::Entity::insert(dispute::ActiveModel::from(row.clone()))
            .on_conflict(
                OnConflict::column(dispute::Column::DisputeRequestId)
                    .do_nothing()
                    .to_owned(),
            )
            .exec_without_returning(&txn)
            .await?;
        if inserted == 0 {
            let earlier = dispute::Entity::find()
                .filter(dispute::Column::DisputeRequestId.eq(new.dispute_request_id.clone()))
                .one(&txn)
                .await?
                .ok_or(StoreError::Conflict)?;
            txn.rollback().await?;
            return Ok(
                if earlier.payment_id == new.payment_id && earlier.kind == new.kind {
                    Opened::Again(earlier)
                } else {
                    Opened::Inconsistent
                },
            );
        }
        if let Some(refusal) = refusal(&txn, &row, payment_paid_at, clock.now()).await? {
            txn.rollback().await?;
            return Ok(Opened::Refused(refusal));
        }
        let applied = plan.write_in(&txn).await?;
        super::inbound::insert(&txn, call.clone()).await?;
        txn.commit().await?;
        Ok(Opened::Created(applied))
    })
    .await
}

/// Why Alipay+'s rules refuse `new` next to the payment's other disputes, if they do.
async fn refusal(
    txn: &DatabaseTransaction,
    new: &dispute::Model,
    paid_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Option<String>, StoreError> {
    if now - paid_at > chrono::Duration::days(WINDOW_DAYS) {
        return Ok(Some(format!("the payment is more than {WINDOW_DAYS} days old")));
    }
    let others: Vec<(dispute::Model, instance::Model)> = dispute::Entity::find()
        .filter(dispute::Column::PaymentId.eq(new.payment_id))
        .filter(dispute::Column::Kind.eq(new.kind.clone()))
        .filter(dispute::Column::Id.ne(new.id))
        .find_also_related(instance::Entity)
        .order_by_asc(dispute::Column::CreatedAt)
        .all(txn)
        .await?
        .into_iter()
        .map(with_instance)
        .collect::<Result<_, _>>()?;
    let limit = if new.kind == dispute::ESCALATION {
        MAX_ESCALATIONS
    } else {
        MAX_RETRIEVALS
    };
    if others.len() >= limit {
        return Ok(Some(format!(
            "at most {limit} {}s per payment",
            new.kind.to_lowercase()
        )));
    }
    if others.iter().any(|(_, instance)| !instance.terminal) {
        return Ok(Some(format!(
            "a {} of this payment is still open",
            new.kind.to_lowercase()
        )));
    }
    if new.kind == dispute::ESCALATION
        && let Some((_, first)) = others.first()
    {
        let closed = first.state_since.unwrap_or(first.updated_at);
        if now - closed > chrono::Duration::days(SECOND_ESCALATION_DAYS) {
            return Ok(Some(format!(
                "a second escalation must come within {SECOND_ESCALATION_DAYS} days of the first one's close"
            )));
        }
    }
    Ok(None)
}

/// A dispute with its instance.
pub async fn dispute_with_instance(
    db: &Db,
    id: Uuid,
) -> Result<Option<(dispute::Model, instance::Model)>, StoreError> {
    let found = dispute::Entity::find_by_id(id)
        .find_also_related(instance::Entity)
        .one(db)
        .await?;
    found.map(with_instance).transpose()
}

/// A payment's disputes with their instances, oldest first.
pub async fn disputes_of(
    db: &Db,
    payment_id: Uuid,
) -> Result<Vec<(dispute::Model, instance::Model)>, StoreError> {
    dispute::Entity::find()
        .filter(dispute::Column::PaymentId.eq(payment_id))
        .find_also_related(instance::Entity)
        .order_by_asc(dispute::Column::CreatedAt)
        .all(db)
        .await?
        .into_iter()
        .map(with_instance)
        .collect()
}

/// A merchant's disputes with their instances, newest first, up to `limit`, created before
/// `before` (the previous page's last), in one of `states` if given.
pub async fn disputes_of_merchant(
    db: &Db,
    merchant_id: Uuid,
    states: Option<&[&str]>,
    before: Option<Uuid>,
    limit: u64,
) -> Result<Vec<(dispute::Model, instance::Model)>, StoreError> {
    use sea_orm::QuerySelect;
    let mut query = dispute::Entity::find().filter(dispute::Column::MerchantId.eq(merchant_id));
    if let Some(before) = before {
        query = query.filter(dispute::Column::Id.lt(before));
    }
    let mut query = query.find_also_related(instance::Entity);
    if let Some(states) = states {
        query = query.filter(instance::Column::State.is_in(states.iter().copied()));
    }
    query
        .order_by_desc(dispute::Column::Id)
        .limit(limit)
        .all(db)
        .await?
        .into_iter()
        .map(with_instance)
        .collect()
}

/// What recording a merchant's response came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Responded {
    /// Recorded, and the `dispute_responded` event applied (the response is being sent); with
    /// the refund an accepted escalation started.
    Recorded { refund: Option<Uuid> },
    /// The idempotency key was used with this very response: nothing more was written.
    SameKeyBefore,
    /// The idempotency key was used with another request: nothing was written.
    KeyReused,
    /// The response window closed: nothing was written.
    Expired,
    /// A response was recorded before: nothing was written.
    AlreadyResponded,
    /// The accepted refund does not fit in what is left of the payment: nothing was written.
    Exceeds { refundable: i64 },
}

/// The refund an accepted escalation makes: its row (its id is replaced by its instance's),
/// the paid amount it must fit in, and its instance's start.
pub struct DisputeRefund<'a> {
    pub row: &'a refund::Model,
    pub paid: i64,
    pub instance: &'a NewInstance,
}

/// Records `response` on dispute `id` and applies `dispute_responded` (actor `actor`), in one
/// transaction with the idempotency key and the refund it accepts (under the money rule of
/// `store::refunds`), if the dispute still waits for a response. With a refund, the payment's
/// instance is locked before the dispute's, the order every writer of both keeps.
#[allow(clippy::too_many_arguments)]
pub async fn record_response(
    db: &Db,
    definitions: &Definitions,
    clock: &dyn Clock,
    key: IdempotencyKey<'_>,
    id: Uuid,
    response: &serde_json::Value,
    refund: Option<DisputeRefund<'_>>,
    actor: &str,
) -> Result<Responded, StoreError> {
    use sea_orm::sea_query::Expr;
    retry_transient(|| async {
        let txn = db.begin().await?;
        if let Some(refund) = &refund {
            lock_instance(&txn, refund.row.payment_id).await?;
        }
        let current = lock_instance(&txn, id).await?;
        if let Some(repeated) = repeated_in(&txn, clock, &key, id).await? {
            txn.rollback().await?;
            return Ok(match repeated {
                Repeated::SameRequest => Responded::SameKeyBefore,
                Repeated::OtherRequest => Responded::KeyReused,
            });
        }
        let refused = match current.state.as_str() {
            "needs_response" | "reminded" => None,
            "expired" => Some(Responded::Expired),
            _ => Some(Responded::AlreadyResponded),
        };
        if let Some(refused) = refused {
            txn.rollback().await?;
            return Ok(refused);
        }
        let refund_id = match &refund {
            None => None,
            Some(refund) => {
                let plan = StartPlan::new(definitions, clock, "refund", refund.instance)?;
                match record_refund_in(&txn, &plan, refund.row, refund.paid).await? {
                    Ok(applied) => Some(applied.instance.id),
                    Err(refundable) => {
                        txn.rollback().await?;
                        return Ok(Responded::Exceeds { refundable });
                    }
                }
            }
        };
        dispute::Entity::update_many()
            .col_expr(dispute::Column::Response, Expr::value(response.clone()))
            .col_expr(dispute::Column::RefundId, Expr::value(refund_id))
            .filter(dispute::Column::Id.eq(id))
            .exec(&txn)
            .await?;
        let event = super::EventInput::new(crate::workflow::EventName::DisputeResponded, actor);
        super::apply::apply_event_in(&txn, definitions, clock, id, &event, Some(&current)).await?;
        txn.commit().await?;
        Ok(Responded::Recorded { refund: refund_id })
    })
    .await
}
