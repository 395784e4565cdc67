//! Idempotency keys of the requests that create or change something (payments, refunds,
//! dispute responses, declarations): recorded in the transaction that does the work, so a
//! repeated request finds what its first use made, and the same key with another request is
//! told apart by the request's hash.

use sea_orm::sea_query::OnConflict;
use sea_orm::{ConnectionTrait, DatabaseTransaction, EntityTrait};
use serde::Serialize;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::StoreError;
use super::entity::idempotency;
use crate::clock::Clock;

/// What the idempotency key of a request says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyUse {
    /// First use: the request goes ahead.
    First,
    /// Used before, for `request_hash`, creating `resource_id`.
    Earlier {
        request_hash: String,
        resource_id: Option<Uuid>,
    },
    /// First use, but the merchant's order already has a payment: nothing was written.
    OrderTaken,
}

/// The idempotency key of a request: who used it, the key, and the hash of the request.
pub struct IdempotencyKey<'a> {
    pub scope: &'a str,
    pub key: &'a str,
    pub request_hash: &'a str,
}

impl IdempotencyKey<'_> {
    /// The key's row, recording that it created `resource_id`.
    pub(crate) fn row(&self, clock: &dyn Clock, resource_id: Uuid) -> idempotency::Model {
        idempotency::Model {
            scope: self.scope.to_string(),
            key: self.key.to_string(),
            request_hash: self.request_hash.to_string(),
            resource_id: Some(resource_id),
            response: None,
            created_at: clock.now(),
        }
    }

    /// How the key was used before (its row exists: this request did not insert it).
    pub(crate) async fn earlier_use(&self, db: &impl ConnectionTrait) -> Result<KeyUse, StoreError> {
        let earlier = idempotency::Entity::find_by_id((self.scope.to_string(), self.key.to_string()))
            .one(db)
            .await?
            .ok_or(StoreError::Conflict)?;
        Ok(KeyUse::Earlier {
            request_hash: earlier.request_hash,
            resource_id: earlier.resource_id,
        })
    }
}

/// Records the key for a request that creates `resource_id`, or reports its earlier use. A
/// concurrent request with the same key waits for the first to commit, then sees it.
pub(crate) async fn use_key_in(
    txn: &DatabaseTransaction,
    clock: &dyn Clock,
    key: &IdempotencyKey<'_>,
    resource_id: Uuid,
) -> Result<KeyUse, StoreError> {
    let conflict = OnConflict::columns([idempotency::Column::Scope, idempotency::Column::Key])
        .do_nothing()
        .to_owned();
    let inserted = idempotency::Entity::insert(idempotency::ActiveModel::from(key.row(clock, resource_id)))
        .on_conflict(conflict)
        .exec_without_returning(txn)
        .await?;
    if inserted == 1 {
        Ok(KeyUse::First)
    } else {
        key.earlier_use(txn).await
    }
}

/// The hash an idempotency key keeps of its request: SHA-256 of the request's JSON.
pub fn request_hash(request: &impl Serialize) -> String {
    hex::encode(Sha256::digest(
        serde_json::to_vec(request).expect("requests serialise"),
    ))
}

/// A key used before, for a request that changes something already there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Repeated {
    /// With this very request: nothing more to write, answer as it is.
    SameRequest,
    /// With another request: refused.
    OtherRequest,
}

/// [`use_key_in`] for a request that changes `resource_id`: `None` on first use, else how it
/// was used before.
pub(crate) async fn repeated_in(
    txn: &DatabaseTransaction,
    clock: &dyn Clock,
    key: &IdempotencyKey<'_>,
    resource_id: Uuid,
) -> Result<Option<Repeated>, StoreError> {
    Ok(match use_key_in(txn, clock, key, resource_id).await? {
        KeyUse::First => None,
        KeyUse::Earlier { request_hash, .. } if request_hash == key.request_hash => {
            Some(Repeated::SameRequest)
        }
        KeyUse::Earlier { .. } | KeyUse::OrderTaken => Some(Repeated::OtherRequest),
    })
}
