//! `workflow_history`: append-only, one row per event applied to an instance, whatever its outcome.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "workflow_history")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub instance_id: Uuid,
    pub event: String,
    pub from_state: Option<String>,
    pub to_state: Option<String>,
    /// TRANSITIONED, IGNORED or REJECTED.
    pub outcome: String,
    pub actor: String,
    pub detail: Option<Json>,
    pub at: ChronoDateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
