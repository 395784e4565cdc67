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
    /// The body exactly as received: what the signature covers (None before m0008).
    pub raw_body: Option<Vec<u8>>,
    /// `Client-Id`, `Request-Time` and `Signature` as received.
    pub signature_headers: Option<Json>,
    /// The path the signature covers (our route under `server.public_url`'s prefix).
    pub signed_path: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
