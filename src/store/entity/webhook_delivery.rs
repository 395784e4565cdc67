//! `webhook_deliveries`: every attempt to tell a merchant about one of its objects.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_deliveries")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub merchant_id: Uuid,
    /// The payment the object belongs to (a refund's, a dispute's...), or for an object of no
    /// payment (a registration) the object itself.
    pub payment_id: Uuid,
    /// The status announced.
    pub status: String,
    pub attempt: i32,
    pub http_status: Option<i32>,
    pub error: Option<String>,
    pub at: ChronoDateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
