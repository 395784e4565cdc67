//! `force_requests`: an operator's forced event into a state that moves or settles money, waiting
//! for a second operator's approval (four eyes); approved, it is applied through the write path.

use sea_orm::entity::prelude::*;

pub const STATUS_PENDING: &str = "PENDING";
pub const STATUS_APPROVED: &str = "APPROVED";
/// The workflow left the state the force was asked from before it was approved.
pub const STATUS_STALE: &str = "STALE";

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "force_requests")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub instance_id: Uuid,
    pub kind: String,
    /// The state the workflow was in when the force was asked for.
    pub from_state: String,
    pub event: String,
    pub requested_by: String,
    pub note: String,
    pub status: String,
    pub decided_by: Option<String>,
    pub decision_note: Option<String>,
    pub created_at: ChronoDateTimeUtc,
    pub decided_at: Option<ChronoDateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
