//! `webhook_deliveries`: one event (or a test ping) to send to one endpoint, with where it
//! stands; its attempts are in `webhook_delivery_attempts`.

use sea_orm::entity::prelude::*;

/// Sent as the event's turn comes: after every earlier event of the same object to the endpoint.
pub const PURPOSE_EVENT: &str = "EVENT";
/// Sent again on the merchant's request (`redeliverEvent`, `redeliverFailed`), out of turn.
pub const PURPOSE_REDELIVERY: &str = "REDELIVERY";
/// A signed `ping` (`sendTestWebhook`), attempted once.
pub const PURPOSE_PING: &str = "PING";

pub const STATUS_PENDING: &str = "PENDING";
pub const STATUS_SUCCEEDED: &str = "SUCCEEDED";
/// Given up: failing for the whole retry horizon (or a ping that failed).
pub const STATUS_FAILED: &str = "FAILED";
/// Its endpoint was deleted before it went out.
pub const STATUS_CANCELLED: &str = "CANCELLED";

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_deliveries")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub merchant_id: Uuid,
    pub endpoint_id: Uuid,
    /// The event sent; `None` for a ping.
    pub event_id: Option<Uuid>,
    /// The object the event is about (deliveries of one object go out in order).
    pub object_id: Option<Uuid>,
    /// The event's number in its merchant's feed (0 for a ping).
    pub sequence: i64,
    pub purpose: String,
    pub status: String,
    pub attempts: i32,
    /// When it is next tried (while pending); also the lease of the process sending it.
    pub next_attempt_at: Option<ChronoDateTimeUtc>,
    /// When its first failed attempt was: it is given up on a retry horizon later.
    pub first_failed_at: Option<ChronoDateTimeUtc>,
    pub created_at: ChronoDateTimeUtc,
    /// The W3C traceparent of the span that wrote it (`crate::telemetry`); NULL untraced.
    pub trace_context: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
