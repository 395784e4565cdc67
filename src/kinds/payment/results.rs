//! What Alipay+ states of a succeeded payment (notifyPayment, inquiryPayment): read from either
//! answer into the `payment_results` row written with the success (the wallet's pspId and
//! brand, the customer, the payment time, the settlement amount and quote, the customs amount),
//! and the wallet it names (`alipayplus::wallets`).

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::alipayplus::wallets::WalletIdentity;
use crate::alipayplus::wire::{Amount, InquiryPaymentResponse, NotifyPaymentRequest, Quote};
use crate::app::Engine;
use crate::app::errors::AppError;
use crate::kinds::payment::rows;
use crate::store::EventInput;
use crate::store::entity::payment_result;

/// The instance-data key of the time a payment succeeded (our clock: the refund window counts
/// from it).
pub const PAID_AT_KEY: &str = "paidAt";

/// What a final answer (notifyPayment, inquiryPayment) stated of a succeeded payment.
#[derive(Debug, Clone, Copy)]
pub struct StatedResult<'a> {
    pub alipay_payment_id: Option<&'a str>,
    pub psp_id: Option<&'a str>,
    pub wallet_brand_name: Option<&'a str>,
    pub customer_id: Option<&'a str>,
    pub payment_time: Option<&'a str>,
    pub settlement_amount: Option<&'a Amount>,
    pub settlement_quote: Option<&'a Quote>,
    pub customs_declaration_amount: Option<&'a Amount>,
}

impl<'a> From<&'a NotifyPaymentRequest> for StatedResult<'a> {
    fn from(n: &'a NotifyPaymentRequest) -> Self {
        Self {
            alipay_payment_id: n.payment_id.as_deref(),
            psp_id: n.psp_id.as_deref(),
            wallet_brand_name: n.wallet_brand_name.as_deref(),
            customer_id: n.customer_id.as_deref(),
            payment_time: n.payment_time.as_deref(),
            settlement_amount: n.settlement_amount.as_ref(),
            settlement_quote: n.settlement_quote.as_ref(),
            customs_declaration_amount: n.customs_declaration_amount.as_ref(),
        }
    }
}

impl<'a> From<&'a InquiryPaymentResponse> for StatedResult<'a> {
    fn from(r: &'a InquiryPaymentResponse) -> Self {
        Self {
            alipay_payment_id: r.payment_id.as_deref(),
            psp_id: r.psp_id.as_deref(),
            wallet_brand_name: r.wallet_brand_name.as_deref(),
            customer_id: r.customer_id.as_deref(),
            payment_time: r.payment_time.as_deref(),
            settlement_amount: r.settlement_amount.as_ref(),
            settlement_quote: r.settlement_quote.as_ref(),
            customs_declaration_amount: r.customs_declaration_amount.as_ref(),
        }
    }
}

/// An Alipay+ datetime (ISO 8601 with offset); `None` when absent or unreadable (informational).
fn alipay_time(text: Option<&str>) -> Option<DateTime<Utc>> {
    text.and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&Utc))
}

/// A text field cut to what its column holds: an over-long informational value is dropped, not
/// allowed to make the write fail.
fn fits(text: Option<&str>, max: usize) -> Option<String> {
    text.filter(|t| t.chars().count() <= max).map(str::to_string)
}

impl StatedResult<'_> {
    /// The `payment_results` row of payment `payment_id`, recorded `at` (our clock).
    pub fn row(&self, payment_id: Uuid, at: DateTime<Utc>) -> payment_result::Model {
        let quote = self.settlement_quote;
        let quote_text =
            |field: fn(&Quote) -> Option<&String>, max| fits(quote.and_then(field).map(String::as_str), max);
        let price = quote
            .and_then(|q| q.quote_price.as_ref())
            .and_then(|price| match price {
                Value::String(text) => Some(text.clone()),
                Value::Number(number) => Some(number.to_string()),
                _ => None,
            });
        payment_result::Model {
            payment_id,
            alipay_payment_id: fits(self.alipay_payment_id, 64),
            psp_id: fits(self.psp_id, 64),
            wallet_brand_name: fits(self.wallet_brand_name, 128),
            customer_id: fits(self.customer_id, 64),
            payment_time: alipay_time(self.payment_time),
            settlement_currency: self.settlement_amount.and_then(|a| fits(Some(&a.currency), 3)),
            settlement_value: self.settlement_amount.map(|a| a.value),
            quote_id: quote_text(|q| q.quote_id.as_ref(), 64),
            quote_currency_pair: quote_text(|q| q.quote_currency_pair.as_ref(), 16),
            quote_price: fits(price.as_deref(), 64),
            quote_start_time: alipay_time(quote.and_then(|q| q.quote_start_time.as_deref())),
            quote_expiry_time: alipay_time(quote.and_then(|q| q.quote_expiry_time.as_deref())),
            customs_currency: self
                .customs_declaration_amount
                .and_then(|a| fits(Some(&a.currency), 3)),
            customs_value: self.customs_declaration_amount.map(|a| a.value),
            recorded_at: at,
        }
    }

    /// Instance data learnt when a payment succeeds, `at` (our clock) included: the refund
    /// window counts from it. What Alipay+ stated is kept in the result row ([`Self::row`]).
    pub fn settled_fields(&self, at: DateTime<Utc>) -> Map<String, Value> {
        let mut fields = Map::new();
        fields.insert(PAID_AT_KEY.into(), at.to_rfc3339().into());
        if let Some(id) = self.alipay_payment_id {
            fields.insert("alipayPaymentId".into(), id.into());
        }
        fields
    }

    /// The success event of payment `payment_id`, carrying what was stated.
    pub fn success(&self, event: EventInput, payment_id: Uuid, at: DateTime<Utc>) -> EventInput {
        event
            .with_data(self.settled_fields(at))
            .with_kept_row(&self.row(payment_id, at))
    }
}

/// What Alipay+ stated of payment `id`'s success (none until it succeeded).
pub async fn stated_result(engine: &Engine, id: Uuid) -> Result<Option<payment_result::Model>, AppError> {
    Ok(rows::payment_result(&engine.db, id).await?)
}

/// The wallet a payment was paid with, from what Alipay+ stated (`alipayplus::wallets`).
pub fn wallet_of(engine: &Engine, result: &payment_result::Model) -> Option<WalletIdentity> {
    engine
        .wallets
        .identify(result.psp_id.as_deref(), result.wallet_brand_name.as_deref())
}
