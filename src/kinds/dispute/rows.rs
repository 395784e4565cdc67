//! Dispute rows, and Alipay+'s limits on disputes (ALIPAYPLUS.md 5), counted in the transaction
//! that records one with the payment's instance locked, so two initiations for one payment are
//! counted one after the other: at most 5 retrievals and 2 escalations per payment, one open at a
//! time, within 360 days of the payment, a second escalation within 25 days of the first one's
//! close. The limits bind the wallet and Alipay+ enforces them, excluding cancelled disputes we
//! are never told about: an initiation that breaks them as we count them is recorded all the same
//! (refused, an escalation would go unanswered and its refund be lost by default) and parked for
//! an operator with the reason. `disputeRequestId` is unique in the table: a repeated one inserts
//! nothing and is answered from the row already there.

use crate::store::merchant_lists::ListedBy;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder};
use uuid::Uuid;

use crate::kinds::dispute::entity as dispute;
use crate::kinds::refund::rows::record_refund_in;
use crate::store::Db;
use crate::store::Decider;
use crate::store::entity::{inbound, instance, refund};
use crate::store::event::Applied;
use crate::store::idempotency::{IdempotencyKey, Repeated, repeated_in};
use crate::store::instance_write::lock_instance;
use crate::store::park::{Park, park_in};
use crate::store::start::{NewInstance, StartPlan};
use crate::store::{StoreError, retry_transient, with_instance};

/// At most this many of each kind per payment.
pub const MAX_RETRIEVALS: usize = 5;
pub const MAX_ESCALATIONS: usize = 2;
/// A dispute may be raised this long after the payment.
pub const WINDOW_DAYS: i64 = 360;
/// A second escalation within this long after the first one closed.
pub const SECOND_ESCALATION_DAYS: i64 = 25;

/// An initiation as it was received: the journal row of its call, and what the receiver found
/// wrong with it (parks it for an operator, never refuses it).
pub struct Received {
    pub call: inbound::Model,
    pub concerns: Vec<String>,
}

/// What an initiation came to.
#[derive(Debug)]
pub enum Opened {
    /// Recorded; with the reasons it was parked for an operator, if it was.
    Created(Applied, Option<String>),
    /// This `disputeRequestId` was recorded before with the same content: the same answer.
    Again(dispute::Model),
    /// This `disputeRequestId` was recorded before with other content (payment, kind, amount).
    Inconsistent,
}

/// Records `new` (its id is replaced by its instance's) with its `dispute` instance and the
/// journal row of the call. What the receiver found wrong with it and the limits it breaks as we
/// count them park it for an operator in the same transaction.
pub async fn open_dispute(
    db: &Db,
    decider: Decider<'_>,
    new: &dispute::Model,
    payment_paid_at: DateTime<Utc>,
    new_instance: &NewInstance,
    received: &Received,
) -> Result<Opened, StoreError> {
    let clock = decider.clock;
    retry_transient(|| async {
        let txn = db.begin().await?;
        lock_instance(&txn, new.payment_id).await?;
        let plan = StartPlan::new(decider, "dispute", new_instance)?;
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
            let same = earlier.payment_id == new.payment_id
                && earlier.kind == new.kind
                && earlier.currency == new.currency
                && earlier.escalation_amount == new.escalation_amount;
            return Ok(if same {
                Opened::Again(earlier)
            } else {
                Opened::Inconsistent
            });
        }
        let mut reasons = received.concerns.clone();
        reasons.extend(broken_limits(&txn, &row, payment_paid_at, clock.now()).await?);
        let applied = plan.write_in(&txn).await?;
        crate::store::inbound::insert(&txn, received.call.clone()).await?;
        let flagged = (!reasons.is_empty()).then(|| {
            format!(
                "recorded and acknowledged, but Alipay+ should not have sent it: {}",
                reasons.join("; ")
            )
        });
        if let Some(reason) = &flagged {
            let park = Park {
                reason: reason.clone(),
                hold: false,
                in_state: None,
                actor: "alipayplus".into(),
            };
            park_in(&txn, clock, row.id, &park, None).await?;
        }
        txn.commit().await?;
        Ok(Opened::Created(applied, flagged))
    })
    .await
}

/// The limits of Alipay+ that `new` breaks next to the payment's other disputes as we count
/// them (none, usually).
async fn broken_limits(
    txn: &DatabaseTransaction,
    new: &dispute::Model,
    paid_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Vec<String>, StoreError> {
    let mut broken = Vec::new();
    let kind = new.kind.to_lowercase();
    if now - paid_at > chrono::Duration::days(WINDOW_DAYS) {
        broken.push(format!("the payment is more than {WINDOW_DAYS} days old"));
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
        broken.push(format!("at most {limit} {kind}s per payment"));
    }
    if others.iter().any(|(_, instance)| !instance.terminal) {
        broken.push(format!("a {kind} of this payment is still open"));
    }
    if new.kind == dispute::ESCALATION
        && let Some((_, first)) = others.first()
    {
        let closed = first.state_since.unwrap_or(first.updated_at);
        if now - closed > chrono::Duration::days(SECOND_ESCALATION_DAYS) {
            broken.push(format!(
                "a second escalation must come within {SECOND_ESCALATION_DAYS} days of the first one's close"
            ));
        }
    }
    Ok(broken)
}

/// A dispute with its instance.
pub async fn dispute_with_instance(
    db: &Db,
    id: Uuid,
) -> Result<Option<(dispute::Model, instance::Model)>, StoreError> {
    crate::store::row_with_instance::<dispute::Entity>(db, id).await
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

/// How a merchant's disputes are listed (`store::merchant_lists`).
pub const LISTED_BY: ListedBy<dispute::Column> = ListedBy {
    merchant: dispute::Column::MerchantId,
    id: dispute::Column::Id,
    created_at: dispute::Column::CreatedAt,
    payment: dispute::Column::PaymentId,
};

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

/// Records `response` on dispute `id` and applies `responded` (its `dispute_responded`), in one
/// transaction with the idempotency key and the refund it accepts (under the money rule of
/// `store::refunds`), if the dispute still waits for a response. With a refund, the payment's
/// instance is locked before the dispute's, the order every writer of both keeps.
#[allow(clippy::too_many_arguments)]
pub async fn record_response(
    db: &Db,
    decider: Decider<'_>,
    key: IdempotencyKey<'_>,
    id: Uuid,
    response: &serde_json::Value,
    refund: Option<DisputeRefund<'_>>,
    responded: crate::store::EventInput,
) -> Result<Responded, StoreError> {
    let clock = decider.clock;
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
                let plan = StartPlan::new(decider, "refund", refund.instance)?;
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
        crate::store::apply::apply_event_in(&txn, decider, id, &responded, Some(&current)).await?;
        txn.commit().await?;
        Ok(Responded::Recorded { refund: refund_id })
    })
    .await
}
