//! `alipayplus_inbound`: every verified inbound Alipay+ call, verbatim.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "alipayplus_inbound")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// notifyPayment, notifyRegistrationStatus, initiateRetrieval, initiateEscalation.
    pub api: String,
    /// paymentRequestId, registration reference or disputeRequestId.
    pub reference: String,
    /// The payment a dispute is about.
    pub related_reference: Option<String>,
    pub body: Json,
    pub received_at: ChronoDateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
