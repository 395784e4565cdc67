//! Merchants' rows (a merchant with its first API key, lookups by id and by key) and the
//! record of each webhook delivery made to them.

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use uuid::Uuid;

use super::entity::{api_key, merchant, webhook_delivery};
use super::{Db, StoreError};

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
