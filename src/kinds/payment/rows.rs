//! Payments' rows: a new payment with its instance, its Alipay+ result, the lists.

use sea_orm::{ColumnTrait, ConnectionTrait as _, DbBackend, EntityTrait, QueryFilter};
use uuid::Uuid;

use crate::store::Db;
use crate::store::Decider;
use crate::store::entity::{instance, payment, payment_result};
use crate::store::event::Applied;
use crate::store::idempotency::{IdempotencyKey, KeyUse, use_key_in};
use crate::store::merchant_lists::ListedBy;
use crate::store::start::{NewInstance, StartPlan, start_as_one_statement};
use crate::store::{StoreError, with_instance};

/// Whether the database refused a second payment of one merchant's order (the unique index of
/// migration m0007): by the error's unique-violation code, and the index it names (PostgreSQL)
/// or the columns (SQLite, whose errors name no index).
fn is_duplicate_order(error: &StoreError) -> bool {
    let StoreError::Db(db_error) = error else {
        return false;
    };
    let Some(sea_orm::SqlErr::UniqueConstraintViolation(message)) = db_error.sql_err() else {
        return false;
    };
    message.contains(plusflow_migrations::UNIQUE_MERCHANT_ORDER_INDEX)
        || message.contains("payments.merchant_order_id")
}

/// A new payment: its workflow instance, its idempotency key and its row, written together
/// (the row's id becomes the instance's): on PostgreSQL as one statement, otherwise in one
/// transaction. When the key was used before, nothing is written and the earlier use is
/// returned.
pub async fn create_payment(
    db: &Db,
    decider: Decider<'_>,
    key: IdempotencyKey<'_>,
    new_payment: &payment::Model,
    new_instance: &NewInstance,
) -> Result<Result<Applied, KeyUse>, StoreError> {
    let clock = decider.clock;
    crate::store::retry_transient(|| async {
        let plan = StartPlan::new(decider, "payment", new_instance)?;
        let id = plan.instance_id();
        let row = payment::Model {
            id,
            ..new_payment.clone()
        };
        if db.get_database_backend() == DbBackend::Postgres && !plan.announces() {
            return if start_as_one_statement(db, &plan, &key.row(clock, id), &row).await? {
                Ok(Ok(plan.applied()))
            } else {
                Ok(Err(key.earlier_use(db).await?))
            };
        }
        let txn = db.begin().await?;
        let applied = plan.write_in(&txn).await?;
        let key_use = use_key_in(&txn, clock, &key, id).await?;
        if key_use != KeyUse::First {
            txn.rollback().await?;
            return Ok(Err(key_use));
        }
        payment::Entity::insert(payment::ActiveModel::from(row))
            .exec_without_returning(&txn)
            .await?;
        txn.commit().await?;
        Ok(Ok(applied))
    })
    .await
    .or_else(|error| {
        if is_duplicate_order(&error) {
            Ok(Err(KeyUse::OrderTaken))
        } else {
            Err(error)
        }
    })
}

pub async fn payment(db: &Db, id: Uuid) -> Result<Option<payment::Model>, StoreError> {
    Ok(payment::Entity::find_by_id(id).one(db).await?)
}

/// The payment with this Alipay+ `paymentRequestId`, with its workflow instance (one query).
pub async fn payment_by_request_id(db: &Db, request_id: &str) -> Result<Option<PaymentRow>, StoreError> {
    let found = payment::Entity::find()
        .filter(payment::Column::PaymentRequestId.eq(request_id))
        .find_also_related(instance::Entity)
        .one(db)
        .await?;
    found.map(with_instance).transpose()
}

/// A payment and its workflow instance (one query).
pub type PaymentRow = (payment::Model, instance::Model);

/// What Alipay+ stated of payment `id`'s success, if it succeeded.
pub async fn payment_result(db: &Db, id: Uuid) -> Result<Option<payment_result::Model>, StoreError> {
    Ok(payment_result::Entity::find_by_id(id).one(db).await?)
}

/// A payment with its workflow instance, in one query.
pub async fn payment_with_instance(db: &Db, id: Uuid) -> Result<Option<PaymentRow>, StoreError> {
    crate::store::row_with_instance::<payment::Entity>(db, id).await
}

/// How a merchant's payments are listed (`store::merchant_lists`).
pub const LISTED_BY: ListedBy<payment::Column> = ListedBy {
    merchant: payment::Column::MerchantId,
    id: payment::Column::Id,
    created_at: payment::Column::CreatedAt,
    payment: payment::Column::Id,
};
