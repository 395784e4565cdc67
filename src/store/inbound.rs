//! The journal of verified inbound Alipay+ calls: the parsed body for queries, and the bytes
//! and headers exactly as received, so a journaled call can be verified again later
//! (`alipayplus::inbound::verify_recorded`).

use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder};
use serde_json::Value;
use uuid::Uuid;

use super::StoreError;
use super::entity::inbound;
use crate::clock::Clock;
use crate::store::Db;

/// One verified inbound call to record.
pub struct InboundCall<'a> {
    pub api: &'a str,
    pub reference: &'a str,
    pub related_reference: Option<&'a str>,
    pub body: Value,
    /// What the signature covered, as received (None for calls made up in tests).
    pub as_received: Option<AsReceived>,
}

/// A signed call as it reached us.
#[derive(Debug, Clone)]
pub struct AsReceived {
    pub raw_body: Vec<u8>,
    /// `Client-Id`, `Request-Time` and `Signature`, by lower-case name.
    pub signature_headers: Value,
    /// The path the caller signed.
    pub signed_path: String,
}

impl InboundCall<'_> {
    /// The journal row of this call, received now.
    pub fn into_row(self, clock: &dyn Clock) -> inbound::Model {
        let (raw_body, signature_headers, signed_path) = match self.as_received {
            Some(received) => (
                Some(received.raw_body),
                Some(received.signature_headers),
                Some(received.signed_path),
            ),
            None => (None, None, None),
        };
        inbound::Model {
            id: Uuid::now_v7(),
            api: self.api.to_string(),
            reference: self.reference.to_string(),
            related_reference: self.related_reference.map(str::to_string),
            body: self.body,
            received_at: clock.now(),
            raw_body,
            signature_headers,
            signed_path,
        }
    }
}

/// Journals a call on its own (a call that carries a workflow event is journaled with it: see
/// [`super::EventInput::with_inbound`]).
pub async fn record(db: &Db, clock: &dyn Clock, call: InboundCall<'_>) -> Result<(), StoreError> {
    insert(db, call.into_row(clock)).await
}

pub(crate) async fn insert(db: &impl ConnectionTrait, row: inbound::Model) -> Result<(), StoreError> {
    inbound::Entity::insert(inbound::ActiveModel::from(row))
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// The first call recorded for `(api, reference)`.
pub async fn first(db: &Db, api: &str, reference: &str) -> Result<Option<inbound::Model>, StoreError> {
    Ok(inbound::Entity::find()
        .filter(inbound::Column::Api.eq(api))
        .filter(inbound::Column::Reference.eq(reference))
        .order_by_asc(inbound::Column::ReceivedAt)
        .one(db)
        .await?)
}

/// How many inbound calls are recorded.
pub async fn count(db: &Db) -> Result<u64, StoreError> {
    Ok(inbound::Entity::find().count(db).await?)
}
