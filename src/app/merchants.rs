//! Merchants: creating one (its first API key is shown once; only hashes are kept), its further
//! API keys and their revocation, webhook secret rotation, authenticating an API key, looking a
//! merchant up by id for its webhook settings, what the workflow instances a merchant
//! creates start with, and whether it is registered where its payments need it.
//!
//! Each process keeps the merchants and keys it has read in a `MerchantCache` for
//! `MerchantCache::FRESH_FOR`: authenticating a request and sending a webhook cost no query
//! within that time, and a key revoked (or a secret rotated) by any process is in effect on
//! every process within it. An unknown key is never remembered.

use std::time::Duration;

use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::Engine;
use super::auth::Principal;
use super::errors::{AppError, check_length, invalid};
use super::merchant_profile::MerchantProfile;
use crate::store::entity::{api_key, merchant};
use crate::store::merchants as rows;
use crate::store::{NewInstance, StoreError, credentials};

/// How long a rotated-out webhook secret keeps signing deliveries beside the new one.
pub const WEBHOOK_SECRET_OVERLAP: Duration = Duration::from_secs(24 * 3600);

/// A new merchant and its API key (shown once; only its hash is kept).
pub struct CreatedMerchant {
    pub id: Uuid,
    pub api_key: String,
    pub webhook_secret: String,
}

/// How a payment or refund of `merchant` starts its workflow instance: created by the merchant,
/// with `notifyMerchant` saying whether it has a webhook URL (the workflows' `notify_merchant`
/// effect is `enabled_by` it, so a merchant without one costs no webhook jobs at all).
pub fn new_instance(merchant: &merchant::Model) -> NewInstance {
    NewInstance {
        actor: format!("merchant:{}", merchant.id),
        data: serde_json::json!({ "notifyMerchant": merchant.webhook_url.is_some() }),
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

pub(crate) fn random_token(prefix: &str) -> String {
    let mut bytes = [0u8; 24];
    getrandom::fill(&mut bytes).expect("the OS random generator");
    format!("{prefix}{}", hex::encode(bytes))
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
        url::Url::parse(url).map_err(|e| invalid("webhookUrl", format!("is not a URL ({e})")))?;
    }
    let webhook_secret = random_token("whsec_");
    let id = Uuid::now_v7();
    let now = engine.clock.now();
    // The first key's id is the merchant's, as for the keys m0008 copied from `merchants`.
    let (first_key, api_key) = new_key(id, id, "created with the merchant", now);
    let mut row = merchant::Model::new(
        id,
        name.to_string(),
        first_key.key_hash.clone(),
        webhook_url.map(str::to_string),
        webhook_secret.clone(),
        now,
    );
    profile.apply_to(&mut row);
    rows::create_merchant(&engine.db, row, first_key).await?;
    Ok(CreatedMerchant {
        id,
        api_key,
        webhook_secret,
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

/// Gives `merchant_id` a new webhook secret (returned, shown once). Deliveries carry a signature
/// with each: the new one, and the old one for [`WEBHOOK_SECRET_OVERLAP`].
pub async fn rotate_webhook_secret(engine: &Engine, merchant_id: Uuid) -> Result<String, AppError> {
    let secret = random_token("whsec_");
    let overlap = chrono::Duration::from_std(WEBHOOK_SECRET_OVERLAP).expect("a day fits");
    let until = engine.clock.now() + overlap;
    if !credentials::rotate_webhook_secret(&engine.db, merchant_id, &secret, until).await? {
        return Err(no_such_merchant(merchant_id));
    }
    engine.merchants.forget(merchant_id);
    Ok(secret)
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

/// The secrets a delivery made at `now` is signed with: the current one, and the previous one
/// while its overlap lasts.
pub fn webhook_secrets(merchant: &merchant::Model, now: chrono::DateTime<chrono::Utc>) -> Vec<&str> {
    let mut secrets = vec![merchant.webhook_secret.as_str()];
    if let (Some(previous), Some(until)) = (
        &merchant.previous_webhook_secret,
        merchant.previous_webhook_secret_until,
    ) && now < until
    {
        secrets.push(previous);
    }
    secrets
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rotated_out_secret_signs_until_its_overlap_ends() {
        let rotated_at = chrono::Utc::now();
        let until = rotated_at + chrono::Duration::hours(24);
        let merchant = merchant::Model {
            previous_webhook_secret: Some("whsec_old".into()),
            previous_webhook_secret_until: Some(until),
            ..merchant::Model::new(
                Uuid::now_v7(),
                "Shop".into(),
                String::new(),
                None,
                "whsec_new".into(),
                rotated_at,
            )
        };
        assert_eq!(webhook_secrets(&merchant, rotated_at), ["whsec_new", "whsec_old"]);
        let a_second_late = until + chrono::Duration::seconds(1);
        assert_eq!(webhook_secrets(&merchant, a_second_late), ["whsec_new"]);
    }
}
