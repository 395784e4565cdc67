//! Merchants: creating one (its API key is shown once; only its hash is kept), authenticating an
//! API key, looking a merchant up by id for its webhook settings, and what the workflow
//! instances a merchant creates start with.
//!
//! Merchant rows never change once created (nothing updates or deletes them), so each process
//! keeps the merchants it has read in a [`MerchantCache`]: authenticating a request and sending a
//! webhook cost no query after the first. A key or id not in the cache is always looked up, so a
//! merchant created by another process is found at once, and an unknown key is never remembered.

use std::collections::HashMap;
use std::sync::RwLock;

use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::Engine;
use super::payments::{PaymentError, check_length, invalid};
use crate::store::entity::merchant;
use crate::store::payments as rows;
use crate::store::{NewInstance, StoreError};

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

fn random_token(prefix: &str) -> String {
    let mut bytes = [0u8; 24];
    getrandom::fill(&mut bytes).expect("the OS random generator");
    format!("{prefix}{}", hex::encode(bytes))
}

pub async fn create_merchant(
    engine: &Engine,
    name: &str,
    webhook_url: Option<&str>,
) -> Result<CreatedMerchant, PaymentError> {
    check_length("name", name, 256)?;
    if let Some(url) = webhook_url {
        url::Url::parse(url).map_err(|e| invalid("webhookUrl", format!("is not a URL ({e})")))?;
    }
    let api_key = random_token("pk_");
    let webhook_secret = random_token("whsec_");
    let id = Uuid::now_v7();
    let row = merchant::Model {
        id,
        name: name.to_string(),
        api_key_hash: hash_api_key(&api_key),
        webhook_url: webhook_url.map(str::to_string),
        webhook_secret: webhook_secret.clone(),
        created_at: engine.clock.now(),
    };
    rows::create_merchant(&engine.db, row).await?;
    Ok(CreatedMerchant {
        id,
        api_key,
        webhook_secret,
    })
}

/// The merchant an API key belongs to.
pub async fn authenticate(engine: &Engine, api_key: &str) -> Result<Option<merchant::Model>, PaymentError> {
    let hash = hash_api_key(api_key);
    if let Some(known) = engine.merchants.by_key_hash(&hash) {
        return Ok(Some(known));
    }
    let found = rows::merchant_by_key_hash(&engine.db, &hash).await?;
    if let Some(merchant) = &found {
        engine.merchants.keep(merchant);
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
        engine.merchants.keep(merchant);
    }
    Ok(found)
}

/// The merchants this process has read, by id and by API key hash (see the module docs).
#[derive(Debug, Default)]
pub struct MerchantCache {
    by_id: RwLock<HashMap<Uuid, merchant::Model>>,
    id_by_key_hash: RwLock<HashMap<String, Uuid>>,
}

impl MerchantCache {
    /// Beyond this many merchants, the others are read from the database each time.
    const CAPACITY: usize = 10_000;

    fn by_id(&self, id: Uuid) -> Option<merchant::Model> {
        self.by_id.read().expect("merchant cache").get(&id).cloned()
    }

    fn by_key_hash(&self, hash: &str) -> Option<merchant::Model> {
        let id = *self.id_by_key_hash.read().expect("merchant cache").get(hash)?;
        self.by_id(id)
    }

    fn keep(&self, merchant: &merchant::Model) {
        let mut by_id = self.by_id.write().expect("merchant cache");
        if by_id.len() >= Self::CAPACITY {
            return;
        }
        by_id.insert(merchant.id, merchant.clone());
        self.id_by_key_hash
            .write()
            .expect("merchant cache")
            .insert(merchant.api_key_hash.clone(), merchant.id);
    }
}
