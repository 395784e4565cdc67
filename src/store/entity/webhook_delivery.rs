//! `webhook_deliveries`: every attempt to tell a merchant about a payment.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_deliveries")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub merchant_id: Uuid,
    pub payment_id: Uuid,
    /// The payment status announced.
    pub status: String,
    pub attempt: i32,
    pub http_status: Option<i32>,
    pub error: Option<String>,
    pub at: ChronoDateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
