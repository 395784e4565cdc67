//! `bulk_action_items`: one workflow a bulk action took, in the order it took them, and how it
//! went (written in the transaction that acted on the workflow, so each is acted on once).

use sea_orm::entity::prelude::*;

pub const STATUS_PENDING: &str = "PENDING";
pub const STATUS_DONE: &str = "DONE";
pub const STATUS_FAILED: &str = "FAILED";

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "bulk_action_items")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub bulk_action_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub position: i32,
    pub instance_id: Uuid,
    pub status: String,
    /// Why it failed.
    pub error: Option<String>,
    pub done_at: Option<ChronoDateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
