//! `customs_declarations`: a declaration of an AlipayCN payment to Chinese customs; its id is
//! its `customs_declaration` instance's.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "customs_declarations")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Ours, sent to Alipay+ (idempotent there; not passed to customs).
    pub customs_declaration_request_id: String,
    pub payment_id: Uuid,
    pub merchant_id: Uuid,
    pub customs_code: String,
    pub merchant_customs_code: String,
    pub merchant_customs_name: String,
    /// Always CNY.
    pub currency: String,
    pub amount: i64,
    /// Part of a payment split into several declarations (`isSplit`).
    pub split: bool,
    /// The sub-order declared (`referenceOrderId`), for a split declaration.
    pub sub_order_id: Option<String>,
    /// The buyer's identity, sent to customs; never logged. Sealed at rest (`crate::crypto`,
    /// with `customs_declaration_request_id` as the row it is sealed for; a row written before
    /// sealing holds it clear), erased once customs has decided plus `retention.customs_identity`.
    pub buyer_name: Option<String>,
    pub buyer_id_number: Option<String>,
    /// `ID_CARD` (also when NULL) or `PASSPORT`.
    pub buyer_id_type: Option<String>,
    /// What merchants and operators see of the buyer: the name's first character, the ID
    /// number's last 4 (erased with them).
    pub buyer_name_masked: Option<String>,
    pub buyer_id_number_masked: Option<String>,
    /// When a batched inquiry last asked Alipay+ about it.
    pub inquired_at: Option<ChronoDateTimeUtc>,
    pub created_at: ChronoDateTimeUtc,
}

crate::belongs_to_instance!(Id, id);
