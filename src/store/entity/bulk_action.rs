//! `bulk_actions`: an operator's action over the workflows a filter selected, worked item by item
//! (`bulk_action_items`, the ids taken when it started) until every one is done or failed.

use sea_orm::entity::prelude::*;

pub const STATUS_RUNNING: &str = "RUNNING";
pub const STATUS_FINISHED: &str = "FINISHED";

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "bulk_actions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// RETRY or RESUME.
    pub action: String,
    /// The filter it was started with, as given.
    pub filter: Json,
    pub note: String,
    pub operator: String,
    pub status: String,
    pub total: i32,
    pub done: i32,
    pub failed: i32,
    pub created_at: ChronoDateTimeUtc,
    pub finished_at: Option<ChronoDateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
