//! `outbox`: effects and timers decided by transitions. The row is the record; a queued job is
//! only its delivery. Lifecycle: pending -> claimed (lease) -> done | failed | stale.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "outbox")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub instance_id: Uuid,
    /// `effect` or `timer`.
    pub kind: String,
    /// The effect name, or the event a timer raises.
    pub name: String,
    /// The state the instance was in when this was scheduled; elsewhere it is stale.
    pub scheduled_in_state: String,
    pub payload: Json,
    pub due_at_ms: i64,
    /// Failed executions so far.
    pub attempts: i32,
    pub max_attempts: i32,
    pub status: String,
    pub lease_token: Option<Uuid>,
    pub lease_until_ms: Option<i64>,
    pub claimed_by: Option<String>,
    pub last_error: Option<String>,
    pub created_at: ChronoDateTimeUtc,
    pub updated_at: ChronoDateTimeUtc,
    /// The W3C traceparent of the span that wrote it (`crate::telemetry`); NULL untraced.
    pub trace_context: Option<String>,
}

crate::belongs_to_instance!(InstanceId, instance_id);

/// A row claimed by one process until its lease runs out: only the holder of the current
/// `lease_token` may close it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Claim {
    pub id: Uuid,
    pub lease_token: Uuid,
}

pub const KIND_EFFECT: &str = "effect";
pub const KIND_TIMER: &str = "timer";

pub const STATUS_PENDING: &str = "pending";
pub const STATUS_CLAIMED: &str = "claimed";
pub const STATUS_DONE: &str = "done";
/// Exhausted its attempts; its instance was parked as needs-attention.
pub const STATUS_FAILED: &str = "failed";
/// Its instance had moved on; nothing was executed.
pub const STATUS_STALE: &str = "stale";
