//! `workflow_instances`: one row per durable state machine, its current state and data.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "workflow_instances")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub kind: String,
    pub definition_version: i32,
    pub state: String,
    pub terminal: bool,
    /// Bumped by every transition; the optimistic lock of `apply_event`.
    pub version: i64,
    pub needs_attention: bool,
    pub last_error: Option<String>,
    pub data: Json,
    pub created_at: ChronoDateTimeUtc,
    pub updated_at: ChronoDateTimeUtc,
    /// When it entered `state` (set by every transition that changes the state; never NULL
    /// since m0009).
    pub state_since: Option<ChronoDateTimeUtc>,
    /// The W3C traceparent of the request that started it (`crate::telemetry`): later calls
    /// about it (Alipay+'s notifications) join its trace. NULL untraced.
    pub trace_context: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
