//! `merchant_registrations`: a registration of a merchant with Alipay+ and its wallets (MPPs);
//! its id is its `registration` instance's, and each wallet's answer is in that instance's data.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "merchant_registrations")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Ours, sent to Alipay+ (idempotent there: the same id on every retry).
    pub registration_request_id: String,
    pub merchant_id: Uuid,
    /// The merchant as Alipay+ knows it (`merchantInfo.referenceMerchantId`): the key of its
    /// 30-minute update rule.
    pub reference_merchant_id: String,
    /// `CASHIER_PAYMENT`, `AGREEMENT_PAYMENT`, `IN_STORE_PAYMENT` (a JSON array).
    pub product_codes: Json,
    /// `merchantInfo` as sent to Alipay+.
    pub request: Json,
    pub created_at: ChronoDateTimeUtc,
}

crate::belongs_to_instance!(Id, id);
