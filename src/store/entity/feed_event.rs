//! `events`: the merchants' event feed, one row per change a merchant can see, numbered per
//! merchant (`sequence`: 1, 2, 3... in commit order, no gaps).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "events")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub merchant_id: Uuid,
    pub sequence: i64,
    /// e.g. `payment.updated`, `dispute.created`.
    pub event_type: String,
    /// The object the event is about (a payment, a refund...).
    pub object_id: Uuid,
    /// What its webhook deliveries are recorded under (`webhook_deliveries.payment_id`).
    pub subject_id: Uuid,
    /// What a delivery record says was announced, e.g. `SUCCEEDED`, `REFUND_FAILED`.
    pub announced: String,
    /// The change it is: the instance and the version the change gave it.
    pub instance_id: Uuid,
    pub instance_version: i64,
    /// The object as the change left it (its `version` and `updatedAt` included).
    pub data: Json,
    pub created_at: ChronoDateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
