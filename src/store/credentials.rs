//! Credentials: merchants' API keys (several per merchant, stored hashed, revoked by stamping
//! `revoked_at`), merchants' profiles, and operators' keys (one per name, hashed, revocable).

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use uuid::Uuid;

use super::StoreError;
use super::entity::{admin_key, api_key, merchant};
use crate::store::Db;

pub async fn insert_api_key(db: &Db, row: api_key::Model) -> Result<(), StoreError> {
    api_key::Entity::insert(api_key::ActiveModel::from(row))
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// Revokes `merchant_id`'s key `key_id` at `now`; false if it has no such live key.
pub async fn revoke_api_key(
    db: &Db,
    merchant_id: Uuid,
    key_id: Uuid,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let revoked = api_key::Entity::update_many()
        .col_expr(api_key::Column::RevokedAt, Expr::value(now))
        .filter(api_key::Column::Id.eq(key_id))
        .filter(api_key::Column::MerchantId.eq(merchant_id))
        .filter(api_key::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(revoked.rows_affected == 1)
}

/// A merchant's keys, revoked ones included, oldest first.
pub async fn api_keys(db: &Db, merchant_id: Uuid) -> Result<Vec<api_key::Model>, StoreError> {
    Ok(api_key::Entity::find()
        .filter(api_key::Column::MerchantId.eq(merchant_id))
        .order_by_asc(api_key::Column::CreatedAt)
        .all(db)
        .await?)
}

/// Replaces merchant `row.id`'s profile with `row`'s; false if there is no such merchant.
pub async fn update_merchant_profile(db: &Db, row: &merchant::Model) -> Result<bool, StoreError> {
    let updated = merchant::Entity::update_many()
        .col_expr(merchant::Column::LegalName, Expr::value(row.legal_name.clone()))
        .col_expr(
            merchant::Column::DisplayName,
            Expr::value(row.display_name.clone()),
        )
        .col_expr(merchant::Column::Mcc, Expr::value(row.mcc.clone()))
        .col_expr(merchant::Column::Region, Expr::value(row.region.clone()))
        .col_expr(merchant::Column::Address1, Expr::value(row.address1.clone()))
        .col_expr(merchant::Column::City, Expr::value(row.city.clone()))
        .col_expr(merchant::Column::ZipCode, Expr::value(row.zip_code.clone()))
        .col_expr(merchant::Column::Website, Expr::value(row.website.clone()))
        .filter(merchant::Column::Id.eq(row.id))
        .exec(db)
        .await?;
    Ok(updated.rows_affected == 1)
}

/// Records an operator key; false (nothing written) if one with its name exists, live or not.
pub async fn insert_admin_key(db: &Db, row: admin_key::Model) -> Result<bool, StoreError> {
    let inserted = admin_key::Entity::insert(admin_key::ActiveModel::from(row))
        .on_conflict(
            OnConflict::column(admin_key::Column::Name)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(inserted == 1)
}

/// Revokes operator `name`'s key; false if it has no live key.
pub async fn revoke_admin_key(db: &Db, name: &str, now: DateTime<Utc>) -> Result<bool, StoreError> {
    let revoked = admin_key::Entity::update_many()
        .col_expr(admin_key::Column::RevokedAt, Expr::value(now))
        .filter(admin_key::Column::Name.eq(name))
        .filter(admin_key::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(revoked.rows_affected == 1)
}

/// Every operator key, revoked ones included, oldest first.
pub async fn admin_keys(db: &Db) -> Result<Vec<admin_key::Model>, StoreError> {
    Ok(admin_key::Entity::find()
        .order_by_asc(admin_key::Column::CreatedAt)
        .all(db)
        .await?)
}

/// The live operator key with this hash.
pub async fn admin_key_by_hash(db: &Db, hash: &str) -> Result<Option<admin_key::Model>, StoreError> {
    Ok(admin_key::Entity::find()
        .filter(admin_key::Column::KeyHash.eq(hash))
        .filter(admin_key::Column::RevokedAt.is_null())
        .one(db)
        .await?)
}
