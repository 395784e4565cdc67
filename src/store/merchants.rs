//! Merchants' rows: a merchant with its first API key (and webhook endpoint), lookups by id and
//! by key.

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use super::entity::{api_key, merchant, webhook_endpoint};
use super::{Db, StoreError};

/// Creates a merchant with its first API key and, if given, its first webhook endpoint, in one
/// transaction.
pub async fn create_merchant(
    db: &Db,
    row: merchant::Model,
    first_key: api_key::Model,
    first_endpoint: Option<webhook_endpoint::Model>,
) -> Result<(), StoreError> {
    let txn = db.begin().await?;
    merchant::Entity::insert(merchant::ActiveModel::from(row))
        .exec_without_returning(&txn)
        .await?;
    api_key::Entity::insert(api_key::ActiveModel::from(first_key))
        .exec_without_returning(&txn)
        .await?;
    if let Some(endpoint) = first_endpoint {
        webhook_endpoint::Entity::insert(webhook_endpoint::ActiveModel::from(endpoint))
            .exec_without_returning(&txn)
            .await?;
    }
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
