//! The merchants and API keys this process has read lately ([`MerchantCache`]), so that
//! authenticating a request and sending a webhook cost no query.

use std::collections::HashMap;
use std::sync::RwLock;
use std::time::{Duration, Instant};

use uuid::Uuid;

use crate::store::entity::merchant;

/// The merchants this process has read, by id and by API key hash, each for
/// [`MerchantCache::FRESH_FOR`] (see the module docs).
#[derive(Debug, Default)]
pub struct MerchantCache {
    by_id: RwLock<HashMap<Uuid, (merchant::Model, Instant)>>,
    id_by_key_hash: RwLock<HashMap<String, (Uuid, Instant)>>,
}

impl MerchantCache {
    /// Beyond this many live entries, the others are read from the database each time.
    const CAPACITY: usize = 10_000;
    /// How long a merchant or key read from the database is used without reading it again:
    /// the longest a revocation or rotation made elsewhere takes to reach this process.
    pub const FRESH_FOR: Duration = Duration::from_secs(5);

    fn fresh(read_at: Instant) -> bool {
        read_at.elapsed() < Self::FRESH_FOR
    }

    pub(super) fn by_id(&self, id: Uuid) -> Option<merchant::Model> {
        let by_id = self.by_id.read().expect("merchant cache");
        let (merchant, read_at) = by_id.get(&id)?;
        Self::fresh(*read_at).then(|| merchant.clone())
    }

    pub(super) fn by_key_hash(&self, hash: &str) -> Option<merchant::Model> {
        let (id, read_at) = *self.id_by_key_hash.read().expect("merchant cache").get(hash)?;
        if !Self::fresh(read_at) {
            return None;
        }
        self.by_id(id)
    }

    /// Keeps `merchant`, and `key_hash` as one of its live keys.
    pub(super) fn keep(&self, merchant: &merchant::Model, key_hash: Option<&str>) {
        let now = Instant::now();
        let mut by_id = self.by_id.write().expect("merchant cache");
        if by_id.len() >= Self::CAPACITY {
            by_id.retain(|_, (_, read_at)| Self::fresh(*read_at));
            if by_id.len() >= Self::CAPACITY {
                return;
            }
        }
        by_id.insert(merchant.id, (merchant.clone(), now));
        if let Some(hash) = key_hash {
            let mut by_key = self.id_by_key_hash.write().expect("merchant cache");
            if by_key.len() >= Self::CAPACITY {
                by_key.retain(|_, (_, read_at)| Self::fresh(*read_at));
            }
            by_key.insert(hash.to_string(), (merchant.id, now));
        }
    }

    /// Drops `merchant_id` (its row changed).
    pub(super) fn forget(&self, merchant_id: Uuid) {
        self.by_id.write().expect("merchant cache").remove(&merchant_id);
    }

    /// Drops every key of `merchant_id` (one was revoked).
    pub(super) fn forget_keys_of(&self, merchant_id: Uuid) {
        self.id_by_key_hash
            .write()
            .expect("merchant cache")
            .retain(|_, (id, _)| *id != merchant_id);
    }
}
