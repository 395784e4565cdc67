//! The event feed's GraphQL part: `events(after:, types:, first:)` (a Relay connection whose
//! cursors are the merchant's sequence numbers) and `event(id:)`.

use super::lists;
use async_graphql::connection::{Connection, EmptyFields};
use async_graphql::{Context, ID, Json, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use serde_json::Value;
use uuid::Uuid;

use super::context::{engine, graphql_error, principal};
use crate::app::errors::invalid;
use crate::app::feed;
use crate::store::entity::feed_event;

/// A change a merchant can see, as its webhook announced it.
#[derive(SimpleObject)]
pub struct Event {
    pub id: ID,
    /// Its number in the merchant's feed: 1, 2, 3... in the order the changes committed.
    pub sequence: i64,
    /// e.g. `payment.updated`, `refund.updated`, `dispute.created`.
    #[graphql(name = "type")]
    pub event_type: String,
    /// The object it is about (a payment, a refund...).
    pub object_id: ID,
    pub created_at: DateTime<Utc>,
    /// The object as the change left it, as its webhook carries it (with `version` and
    /// `updatedAt`).
    pub data: Json<Value>,
}

impl From<feed_event::Model> for Event {
    fn from(event: feed_event::Model) -> Self {
        Self {
            id: ID(event.id.to_string()),
            sequence: event.sequence,
            event_type: event.event_type,
            object_id: ID(event.object_id.to_string()),
            created_at: event.created_at,
            data: Json(event.data),
        }
    }
}

#[derive(Default)]
pub struct FeedQueries;

#[Object]
impl FeedQueries {
    /// Your events after the one whose cursor (its `sequence`) is `after` (from the first if
    /// none), oldest first, with no gaps and none twice: read on from the last cursor you have
    /// to miss nothing. `types` keeps only those types; `first` at most 100 (default 50). An
    /// operator names the merchant (`merchantId`).
    async fn events(
        &self,
        ctx: &Context<'_>,
        after: Option<String>,
        types: Option<Vec<String>>,
        first: Option<i32>,
        merchant_id: Option<ID>,
    ) -> Result<Connection<String, Event, EmptyFields, EmptyFields>> {
        let principal = principal(ctx)?;
        let after_sequence = match &after {
            Some(cursor) => cursor
                .parse::<i64>()
                .ok()
                .filter(|n| *n >= 0)
                .ok_or_else(|| graphql_error(invalid("after", "is not a cursor from this API")))?,
            None => 0,
        };
        let merchant_id = match merchant_id {
            Some(id) => {
                Some(Uuid::parse_str(&id).map_err(|_| graphql_error(invalid("merchantId", "is not an id")))?)
            }
            None => None,
        };
        let first = u64::try_from(first.unwrap_or(50)).unwrap_or(0);
        let types = types.unwrap_or_default();
        let (events, more) =
            feed::events_after(engine(ctx), principal, merchant_id, after_sequence, &types, first)
                .await
                .map_err(graphql_error)?;
        Ok(lists::page(events, more, after.is_some(), |event| {
            (event.sequence.to_string(), Event::from(event))
        }))
    }

    /// One of your events; null for any other id.
    async fn event(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Event>> {
        let principal = principal(ctx)?;
        let Ok(id) = Uuid::parse_str(&id) else {
            return Ok(None);
        };
        feed::event(engine(ctx), principal, id)
            .await
            .map(|event| event.map(Event::from))
            .map_err(graphql_error)
    }
}
