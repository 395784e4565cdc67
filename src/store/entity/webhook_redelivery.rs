//! `webhook_redeliveries`: a merchant's request to send again every delivery to an endpoint
//! that failed since a time (`redeliverFailed`), worked through in batches after the id it
//! reached, so a restart resumes it.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_redeliveries")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub merchant_id: Uuid,
    pub endpoint_id: Uuid,
    /// Failed deliveries created from this time...
    pub since: ChronoDateTimeUtc,
    /// ...until the request.
    pub requested_at: ChronoDateTimeUtc,
    /// The last delivery id a batch reached.
    pub after_id: Option<Uuid>,
    /// How many failed deliveries it selected when requested.
    pub total: i32,
    /// How many it has queued again so far.
    pub queued: i32,
    pub finished_at: Option<ChronoDateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
