//! `refunds`: the merchant-facing record of a refund; its id is its workflow instance's id.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "refunds")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub payment_id: Uuid,
    pub merchant_id: Uuid,
    pub refund_request_id: String,
    pub currency: String,
    pub amount: i64,
    pub reason: Option<String>,
    pub created_at: ChronoDateTimeUtc,
    /// The merchant's own pairs (`app::metadata`), a JSON object.
    pub metadata: Option<Json>,
}

crate::belongs_to_instance!(Id, id);

/// A fresh `refundRequestId` (ours; Alipay+ deduplicates refunds by it).
pub fn new_request_id() -> String {
    format!("pfr_{}", Uuid::now_v7().simple())
}
