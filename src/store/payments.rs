//! Payments, merchants and webhook delivery records.

use sea_orm::{
    ColumnTrait, ConnectionTrait as _, DbBackend, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};
use uuid::Uuid;

use super::entity::{api_key, instance, merchant, payment, payment_result, webhook_delivery};
use super::event::Applied;
use super::idempotency::{IdempotencyKey, KeyUse, use_key_in};
use super::start::{NewInstance, StartPlan, start_as_one_statement};
use super::{StoreError, with_instance};
use crate::clock::Clock;
use crate::store::Db;
use crate::workflow::Definitions;

/// Creates a merchant with its first API key, in one transaction.
pub async fn create_merchant(
    db: &Db,
    row: merchant::Model,
    first_key: api_key::Model,
) -> Result<(), StoreError> {
    let txn = db.begin().await?;
    merchant::Entity::insert(merchant::ActiveModel::from(row))
        .exec_without_returning(&txn)
        .await?;
    api_key::Entity::insert(api_key::ActiveModel::from(first_key))
        .exec_without_returning(&txn)
        .await?;
    txn.commit().await?;
    Ok(())
}

/// The merchant whose live (unrevoked) API key has this hash.
pub async fn merchant_by_key_hash(db: &Db, hash: &str) -> Result<Option<merchant::Model>, StoreError> {
    let key = api_key::Entity::find()
        .filter(api_key::Column::KeyHash.eq(hash))
        .filter(api_key::Column::RevokedAt.is_null())
        .one(db)
        .await?;
    match key {
        Some(key) => merchant(db, key.merchant_id).await,
        None => Ok(None),
    }
}

pub async fn merchant(db: &Db, id: Uuid) -> Result<Option<merchant::Model>, StoreError> {
    Ok(merchant::Entity::find_by_id(id).one(db).await?)
}

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
    definitions: &Definitions,
    clock: &dyn Clock,
    key: IdempotencyKey<'_>,
    new_payment: &payment::Model,
    new_instance: &NewInstance,
) -> Result<Result<Applied, KeyUse>, StoreError> {
    super::retry_transient(|| async {
        let plan = StartPlan::new(definitions, clock, "payment", new_instance)?;
        let id = plan.instance_id();
        let row = payment::Model {
            id,
            ..new_payment.clone()
        };
        if db.get_database_backend() == DbBackend::Postgres {
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
    let found = payment::Entity::find_by_id(id)
        .find_also_related(instance::Entity)
        .one(db)
        .await?;
    found.map(with_instance).transpose()
}

/// A merchant's payments with their instances, newest first, after the cursor `after` (a
/// payment id), optionally only those whose workflow state is one of `states`. Returns up to
/// `limit` rows, in one query.
pub async fn list_payments(
    db: &Db,
    merchant_id: Uuid,
    states: Option<&[String]>,
    after: Option<Uuid>,
    limit: u64,
) -> Result<Vec<PaymentRow>, StoreError> {
    let mut query = payment::Entity::find()
        .filter(payment::Column::MerchantId.eq(merchant_id))
        .find_also_related(instance::Entity);
    if let Some(after) = after {
        query = query.filter(payment::Column::Id.lt(after));
    }
    if let Some(states) = states {
        query = query.filter(instance::Column::State.is_in(states.iter().cloned()));
    }
    query
        .order_by_desc(payment::Column::Id)
        .limit(limit)
        .all(db)
        .await?
        .into_iter()
        .map(with_instance)
        .collect()
}

/// The earliest pending effect or timer of an instance.
pub async fn next_run_ms(db: &Db, instance_id: Uuid) -> Result<Option<i64>, StoreError> {
    use super::entity::outbox;
    let next = outbox::Entity::find()
        .filter(outbox::Column::InstanceId.eq(instance_id))
        .filter(outbox::Column::Status.is_in([outbox::STATUS_PENDING, outbox::STATUS_CLAIMED]))
        .order_by_asc(outbox::Column::DueAtMs)
        .one(db)
        .await?;
    Ok(next.map(|row| row.due_at_ms))
}

pub async fn record_webhook_delivery(db: &Db, row: webhook_delivery::ActiveModel) -> Result<(), StoreError> {
    webhook_delivery::Entity::insert(row)
        .exec_without_returning(db)
        .await?;
    Ok(())
}

pub async fn webhook_deliveries(
    db: &Db,
    payment_id: Uuid,
) -> Result<Vec<webhook_delivery::Model>, StoreError> {
    Ok(webhook_delivery::Entity::find()
        .filter(webhook_delivery::Column::PaymentId.eq(payment_id))
        .order_by_asc(webhook_delivery::Column::Id)
        .all(db)
        .await?)
}
