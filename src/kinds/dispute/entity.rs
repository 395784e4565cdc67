//! `disputes`: an Alipay+ retrieval or escalation; its id is its `dispute` instance's.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "disputes")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub dispute_request_id: String,
    /// RETRIEVAL or ESCALATION.
    pub kind: String,
    pub payment_id: Uuid,
    pub merchant_id: Uuid,
    /// What a retrieval asks for (`requestInformationType`, comma-separated).
    pub reason: Option<String>,
    /// An escalation's amount, in the payment's currency.
    pub currency: Option<String>,
    pub escalation_amount: Option<i64>,
    pub occurred_at: ChronoDateTimeUtc,
    pub respond_by: ChronoDateTimeUtc,
    /// The merchant's response, as sent to Alipay+ (the same body on every retry).
    pub response: Option<Json>,
    /// The refund an accepted escalation made.
    pub refund_id: Option<Uuid>,
    pub created_at: ChronoDateTimeUtc,
}

crate::belongs_to_instance!(Id, id);

pub const RETRIEVAL: &str = "RETRIEVAL";
pub const ESCALATION: &str = "ESCALATION";
