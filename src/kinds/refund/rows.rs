//! Refund rows, and the check that keeps Σ(pending + succeeded refunds) ≤ the paid amount: it
//! runs in the transaction that records the refund, with the payment's instance locked, so
//! concurrent refunds of one payment are decided one after the other.

use sea_orm::{ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder};
use uuid::Uuid;

use crate::store::Db;
use crate::store::Decider;
use crate::store::entity::{instance, refund};
use crate::store::event::Applied;
use crate::store::idempotency::{IdempotencyKey, KeyUse, use_key_in};
use crate::store::instance_write::lock_instance;
use crate::store::merchant_lists::ListedBy;
use crate::store::start::{NewInstance, StartPlan};
use crate::store::{StoreError, with_instance};

/// How a merchant's refunds are listed (`store::merchant_lists`).
pub const LISTED_BY: ListedBy<refund::Column> = ListedBy {
    merchant: refund::Column::MerchantId,
    id: refund::Column::Id,
    created_at: refund::Column::CreatedAt,
    payment: refund::Column::PaymentId,
};
/// What recording a refund came to.
#[derive(Debug)]
pub enum RefundCreation {
    Created(Box<Applied>),
    /// The idempotency key was used before; nothing was written.
    KeyUsedBefore(KeyUse),
    /// The refund would take more than what is left; nothing was written.
    Exceeds {
        refundable: i64,
    },
}

/// Refunds of a payment that still hold money: pending or succeeded (a failed one gives its
/// amount back). One query.
pub(crate) async fn reserved_in(
    txn: &impl sea_orm::ConnectionTrait,
    payment_id: Uuid,
) -> Result<i64, StoreError> {
    let refunds = refund::Entity::find()
        .filter(refund::Column::PaymentId.eq(payment_id))
        .find_also_related(instance::Entity)
        .all(txn)
        .await?;
    Ok(refunds
        .iter()
        .filter(|(_, instance)| instance.as_ref().is_none_or(|i| i.state != "failed"))
        .map(|(refund, _)| refund.amount)
        .sum())
}

/// Records a refund of `new_refund.amount` against a payment of `paid`, with its workflow
/// instance and idempotency key, if the amount fits.
pub async fn create_refund(
    db: &Db,
    decider: Decider<'_>,
    key: IdempotencyKey<'_>,
    new_refund: &refund::Model,
    paid: i64,
    new_instance: &NewInstance,
) -> Result<RefundCreation, StoreError> {
    let clock = decider.clock;
    crate::store::retry_transient(|| async {
        let txn = db.begin().await?;
        lock_instance(&txn, new_refund.payment_id).await?;
        let plan = StartPlan::new(decider, "refund", new_instance)?;
        let key_use = use_key_in(&txn, clock, &key, plan.instance_id()).await?;
        if key_use != KeyUse::First {
            txn.rollback().await?;
            return Ok(RefundCreation::KeyUsedBefore(key_use));
        }
        match record_refund_in(&txn, &plan, new_refund, paid).await? {
            Ok(applied) => {
                txn.commit().await?;
                Ok(RefundCreation::Created(Box::new(applied)))
            }
            Err(refundable) => {
                txn.rollback().await?;
                Ok(RefundCreation::Exceeds { refundable })
            }
        }
    })
    .await
}

/// The money rule, for every refund however it is asked for (a merchant's createRefund, an
/// accepted escalation): records `new_refund` (its id becomes the instance's) with its instance
/// `plan` if its amount fits in `paid` next to the payment's refunds that hold money. The caller
/// holds the payment's instance lock in `txn`, so refunds of one payment are decided one after
/// the other. `Err(refundable)` when it does not fit; nothing was written then.
pub(crate) async fn record_refund_in(
    txn: &DatabaseTransaction,
    plan: &StartPlan<'_>,
    new_refund: &refund::Model,
    paid: i64,
) -> Result<Result<Applied, i64>, StoreError> {
    let reserved = reserved_in(txn, new_refund.payment_id).await?;
    if reserved + new_refund.amount > paid {
        return Ok(Err(paid - reserved));
    }
    let applied = plan.write_in(txn).await?;
    let row = refund::Model {
        id: applied.instance.id,
        ..new_refund.clone()
    };
    refund::Entity::insert(refund::ActiveModel::from(row))
        .exec_without_returning(txn)
        .await?;
    Ok(Ok(applied))
}

/// A refund and its workflow instance.
pub type RefundRow = (refund::Model, instance::Model);

/// A refund with its workflow instance, in one query.
pub async fn refund_with_instance(db: &Db, id: Uuid) -> Result<Option<RefundRow>, StoreError> {
    crate::store::row_with_instance::<refund::Entity>(db, id).await
}

pub async fn refund(db: &Db, id: Uuid) -> Result<Option<refund::Model>, StoreError> {
    Ok(refund::Entity::find_by_id(id).one(db).await?)
}

/// A payment's refunds with their workflow instances (one query), oldest first.
pub async fn refunds_of(db: &Db, payment_id: Uuid) -> Result<Vec<RefundRow>, StoreError> {
    refund::Entity::find()
        .filter(refund::Column::PaymentId.eq(payment_id))
        .order_by_asc(refund::Column::Id)
        .find_also_related(instance::Entity)
        .all(db)
        .await?
        .into_iter()
        .map(with_instance)
        .collect()
}
