//! Merchants: creating one (its first API key is shown once; only hashes are kept; a webhook URL
//! given becomes its first webhook endpoint, whose secret is shown once too), its further API
//! keys and their revocation, authenticating an API key, looking a merchant up by id, what the
//! workflow instances a merchant creates start with, and whether its profile is complete where
//! its payments need it.
//!
//! Each process keeps the merchants and keys it has read in a `MerchantCache` for
//! `MerchantCache::FRESH_FOR`: authenticating a request costs no query within that time, and a
//! key revoked by any process is in effect on every process within it. An unknown key is never
//! remembered.

use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::Engine;
use super::auth::Principal;
use super::errors::{AppError, check_length, invalid};
use super::merchant_profile::MerchantProfile;
use super::tokens::random_token;
use super::webhook_endpoints::{self, CreatedEndpoint};
use crate::store::entity::{api_key, merchant};
use crate::store::merchants as rows;
use crate::store::{NewInstance, StoreError, credentials};

/// A new merchant and its API key (shown once; only its hash is kept), with its first webhook
/// endpoint and that endpoint's secret (shown once) if a webhook URL was given.
pub struct CreatedMerchant {
    pub id: Uuid,
    pub api_key: String,
    pub webhook_endpoint: Option<CreatedEndpoint>,
}

/// How a payment or refund of `merchant` starts its workflow instance: created by the merchant.
pub fn new_instance(merchant: &merchant::Model) -> NewInstance {
    NewInstance {
        actor: format!("merchant:{}", merchant.id),
        data: serde_json::json!({}),
    }
}

pub fn hash_api_key(api_key: &str) -> String {
    hex::encode(Sha256::digest(api_key.as_bytes()))
}

/// A new API key (shown once; only its hash is kept).
pub struct CreatedKey {
    pub id: Uuid,
    pub api_key: String,
}

pub async fn create_merchant(
    engine: &Engine,
    name: &str,
    webhook_url: Option<&str>,
    profile: MerchantProfile,
) -> Result<CreatedMerchant, AppError> {
    check_length("name", name, 256)?;
    profile.validate()?;
    if let Some(url) = webhook_url {
        engine
            .webhooks
            .check_url(url)
            .map_err(|why| invalid("webhookUrl", why))?;
    }
    let id = Uuid::now_v7();
    let now = engine.clock.now();
    // The first key's id is the merchant's, as for the keys m0008 copied from `merchants`.
    let (first_key, api_key) = new_key(id, id, "created with the merchant", now);
    let mut row = merchant::Model::new(id, name.to_string(), first_key.key_hash.clone(), now);
    profile.apply_to(&mut row);
    let description = Some("created with the merchant".to_string());
    let webhook_endpoint = webhook_url.map(|url| {
        webhook_endpoints::new_endpoint(id, url.to_string(), serde_json::json!([]), description, now)
    });
    let first_endpoint = webhook_endpoint.as_ref().map(|created| created.endpoint.clone());
    rows::create_merchant(&engine.db, row, first_key, first_endpoint).await?;
    Ok(CreatedMerchant {
        id,
        api_key,
        webhook_endpoint,
    })
}

fn no_such_merchant(id: Uuid) -> AppError {
    invalid("merchant", format!("no merchant {id}"))
}

/// A key's row and the key itself.
fn new_key(
    id: Uuid,
    merchant_id: Uuid,
    label: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> (api_key::Model, String) {
    let api_key = random_token("pk_");
    let row = api_key::Model {
        id,
        merchant_id,
        label: label.to_string(),
        key_hash: hash_api_key(&api_key),
        created_at: now,
        revoked_at: None,
    };
    (row, api_key)
}

/// Gives `merchant_id` one more API key, labelled `label`.
pub async fn create_api_key(engine: &Engine, merchant_id: Uuid, label: &str) -> Result<CreatedKey, AppError> {
    check_length("label", label, 128)?;
    if rows::merchant(&engine.db, merchant_id).await?.is_none() {
        return Err(no_such_merchant(merchant_id));
    }
    let (row, api_key) = new_key(Uuid::now_v7(), merchant_id, label, engine.clock.now());
    let id = row.id;
    credentials::insert_api_key(&engine.db, row).await?;
    Ok(CreatedKey { id, api_key })
}

/// Revokes a key of `merchant_id`: refused at once by this process, and by every other within
/// `MerchantCache::FRESH_FOR`. Refused if the merchant has no such live key.
pub async fn revoke_api_key(engine: &Engine, merchant_id: Uuid, key_id: Uuid) -> Result<(), AppError> {
    let revoked_at = engine.clock.now();
    if !credentials::revoke_api_key(&engine.db, merchant_id, key_id, revoked_at).await? {
        return Err(invalid(
            "key",
            format!("merchant {merchant_id} has no live key {key_id}"),
        ));
    }
    engine.merchants.forget_keys_of(merchant_id);
    Ok(())
}

/// A merchant's keys (hashes only), revoked ones included.
pub async fn api_keys(engine: &Engine, merchant_id: Uuid) -> Result<Vec<api_key::Model>, StoreError> {
    credentials::api_keys(&engine.db, merchant_id).await
}

/// Replaces merchant `merchant_id`'s profile (operators only); the merchant as it is now.
pub async fn update_profile(
    engine: &Engine,
    principal: &Principal,
    merchant_id: Uuid,
    profile: MerchantProfile,
) -> Result<merchant::Model, AppError> {
    if !matches!(principal, Principal::Admin) {
        return Err(AppError::Forbidden);
    }
    profile.validate()?;
    let mut row = rows::merchant(&engine.db, merchant_id)
        .await?
        .ok_or_else(|| no_such_merchant(merchant_id))?;
    profile.apply_to(&mut row);
    if !credentials::update_merchant_profile(&engine.db, &row).await? {
        return Err(no_such_merchant(merchant_id));
    }
    engine.merchants.forget(merchant_id);
    Ok(row)
}

/// Sets merchant `merchant_id`'s fee on its payments, in basis points (0 to 10,000), for the
/// payments that succeed from now on (each is booked with the rate its merchant has then).
pub async fn set_fee_rate(engine: &Engine, merchant_id: Uuid, basis_points: u32) -> Result<(), AppError> {
    if basis_points > 10_000 {
        return Err(invalid("basisPoints", "between 0 and 10000 (100%)"));
    }
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
    let updated = merchant::Entity::update_many()
        .col_expr(merchant::Column::FeeBasisPoints, Expr::value(basis_points as i32))
        .filter(merchant::Column::Id.eq(merchant_id))
        .exec(&engine.db)
        .await
        .map_err(StoreError::from)?;
    if updated.rows_affected == 0 {
        return Err(no_such_merchant(merchant_id));
    }
    engine.merchants.forget(merchant_id);
    Ok(())
}

/// MERCHANT_PROFILE_INCOMPLETE, naming the fields, when payments of `merchant` must carry its
/// profile (`alipayplus` mode) and it lacks part of it.
pub fn check_profile_for_payments(engine: &Engine, merchant: &merchant::Model) -> Result<(), AppError> {
    if !engine.real_alipayplus {
        return Ok(());
    }
    let missing = MerchantProfile::of(merchant).missing_for_payments();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(AppError::MerchantProfileIncomplete(missing))
    }
}

/// The merchant an API key belongs to.
pub async fn authenticate(engine: &Engine, api_key: &str) -> Result<Option<merchant::Model>, AppError> {
    let hash = hash_api_key(api_key);
    if let Some(known) = engine.merchants.by_key_hash(&hash) {
        return Ok(Some(known));
    }
    let found = rows::merchant_by_key_hash(&engine.db, &hash).await?;
    if let Some(merchant) = &found {
        engine.merchants.keep(merchant, Some(&hash));
    }
    Ok(found)
}

/// The merchant with this id.
pub async fn merchant(engine: &Engine, id: Uuid) -> Result<Option<merchant::Model>, StoreError> {
    if let Some(known) = engine.merchants.by_id(id) {
        return Ok(Some(known));
    }
    let found = rows::merchant(&engine.db, id).await?;
    if let Some(merchant) = &found {
        engine.merchants.keep(merchant, None);
    }
    Ok(found)
}

/// The merchant's name and id, as a line of a workflow's business context.
pub async fn context_line(engine: &Engine, id: Uuid) -> Result<super::kind::ContextField, AppError> {
    let name = merchant(engine, id)
        .await?
        .map(|merchant| merchant.name)
        .unwrap_or_default();
    Ok(super::kind::ContextField::text(
        "merchant",
        format!("{name} ({id})"),
    ))
}
