//! `operator_activity`: every operator action, system-wide (who, with which role, what, on
//! which objects, with the note, when), written in the transaction of the action it records.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "operator_activity")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub at: ChronoDateTimeUtc,
    /// The operator's name (`config` for the configured key).
    pub operator: String,
    /// The role its key had then.
    pub role: String,
    /// What it did, in the words of the mutation or command (`retryWorkflow`...).
    pub action: String,
    /// The kind of workflow acted on, if one.
    pub kind: Option<String>,
    /// The ids of the objects acted on (a JSON array of strings).
    pub object_ids: Json,
    pub note: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
