//! `payment_results`: what Alipay+ stated of a succeeded payment (migration m0014), written in
//! the same write as the payment's success and never changed afterwards.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "payment_results")]
pub struct Model {
    /// The payment's id (its workflow instance's).
    #[sea_orm(primary_key, auto_increment = false)]
    pub payment_id: Uuid,
    pub alipay_payment_id: Option<String>,
    /// The wallet, as Alipay+ identifies it (`alipayplus::wallets`).
    pub psp_id: Option<String>,
    /// The brand Alipay+ showed (display text, never used to identify the wallet).
    pub wallet_brand_name: Option<String>,
    /// The wallet's id of the customer.
    pub customer_id: Option<String>,
    pub payment_time: Option<ChronoDateTimeUtc>,
    pub settlement_currency: Option<String>,
    pub settlement_value: Option<i64>,
    pub quote_id: Option<String>,
    pub quote_currency_pair: Option<String>,
    /// The rate as the decimal text Alipay+ sent.
    pub quote_price: Option<String>,
    pub quote_start_time: Option<ChronoDateTimeUtc>,
    pub quote_expiry_time: Option<ChronoDateTimeUtc>,
    /// AlipayCN: the most that may be declared to customs (CNY).
    pub customs_currency: Option<String>,
    pub customs_value: Option<i64>,
    pub recorded_at: ChronoDateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
