//! `payments`: the merchant-facing record of a payment; its id is its workflow instance's id,
//! which holds the state.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "payments")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub merchant_id: Uuid,
    pub merchant_order_id: String,
    pub payment_request_id: String,
    pub order_description: String,
    pub currency: String,
    pub amount: i64,
    pub terminal_type: String,
    pub os_type: Option<String>,
    pub redirect_url: String,
    pub user_region: Option<String>,
    pub settlement_currency: Option<String>,
    pub expires_at: ChronoDateTimeUtc,
    pub checkout_url: Option<String>,
    pub alipay_payment_id: Option<String>,
    pub wallet_brand_name: Option<String>,
    pub failure_code: Option<String>,
    pub created_at: ChronoDateTimeUtc,
    /// `order.buyer.referenceBuyerId`: a digest of the merchant's reference of its customer.
    pub buyer_reference: Option<String>,
    /// The merchant's own pairs (`app::metadata`), a JSON object.
    pub metadata: Option<Json>,
}

crate::belongs_to_instance!(Id, id);
