//! One payment as the simulator keeps it ([`SimPayment`]): what was asked, what the customer
//! did, what was refunded and notified, and what Alipay+ states of it.

use chrono::{DateTime, Duration as Span, Utc};
use serde::Serialize;

use crate::alipayplus::wallets::Wallets;
use crate::alipayplus::wire::*;

/// What a customer (or a control call) did at checkout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Completion {
    Success,
    Fail { code: String },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PaymentStatus {
    InProcess,
    Succeeded,
    Failed,
    /// Expired without a customer action.
    Closed,
    Cancelled,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum NotifyState {
    /// Not final yet: nothing to notify.
    None,
    Pending,
    Acknowledged,
    /// The schedule ran out without an acknowledgement.
    Exhausted,
}

#[derive(Debug, Clone)]
pub struct SimPayment {
    pub request: PayRequest,
    pub answer: PayResponse,
    pub payment_id: String,
    pub status: PaymentStatus,
    pub failure_code: Option<String>,
    pub wallet: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub paid_at: Option<DateTime<Utc>>,
    pub pay_calls: u32,
    pub cancel_count: u32,
    pub refunded: i64,
    pub notify: NotifyState,
    pub notifications_sent: u32,
    pub notifications_dropped: u32,
    pub notifications_acknowledged: u32,
    /// The amount its inquiry answers and notifications state, when a test makes Alipay+'s
    /// record disagree with the ACQP's (see `Books::misreport`).
    pub reported_amount: Option<Amount>,
    /// Alipay+ no longer finds it (see `Books::forget`).
    pub forgotten: bool,
}

impl SimPayment {
    /// What a paid AlipayCN payment may be declared to customs for, in CNY: its amount, converted
    /// at the simulator's fixed 7 CNY to one unit of any other currency.
    pub fn customs_declaration_amount(&self) -> Option<Amount> {
        if self.status != PaymentStatus::Succeeded || self.wallet != "ALIPAY_CN" {
            return None;
        }
        let amount = &self.request.payment_amount;
        if amount.currency == "CNY" {
            return Some(amount.clone());
        }
        let exponent = crate::domain::currency_exponent(&amount.currency)?;
        let cny_cents = amount.value * 7 * 100 / 10_i64.pow(exponent);
        Some(Amount::new("CNY", cny_cents))
    }

    /// The wallet's brand name and pspId, as the real Alipay+ states them (`alipayplus::wallets`);
    /// `None` unless it succeeded.
    pub(super) fn stated_wallet(&self) -> Option<(String, String)> {
        if self.status != PaymentStatus::Succeeded {
            return None;
        }
        let wallets = Wallets::default();
        let entry = wallets.by_name(&self.wallet)?;
        Some((entry.brand.clone(), entry.psp_id.clone()))
    }

    /// The settlement amount and quote of a succeeded payment whose settlement currency differs
    /// from its own, at the simulator's fixed rates.
    pub(super) fn settlement(&self) -> Option<(Amount, Quote)> {
        let to = &self.request.settlement_strategy.as_ref()?.settlement_currency;
        let amount = &self.request.payment_amount;
        if self.status != PaymentStatus::Succeeded || *to == amount.currency {
            return None;
        }
        let (settled, price) = super::rates::convert(amount, to)?;
        let start = self.paid_at.unwrap_or(self.created_at);
        let quote = Quote {
            quote_id: Some(format!("Q{}", self.payment_id)),
            quote_currency_pair: Some(format!("{}/{to}", amount.currency)),
            quote_price: Some(serde_json::Value::String(price)),
            quote_start_time: Some(crate::alipayplus::signing::timestamp(start)),
            quote_expiry_time: Some(crate::alipayplus::signing::timestamp(start + Span::days(1))),
            quote_unit: None,
            base_currency: Some(amount.currency.clone()),
        };
        Some((settled, quote))
    }

    /// The amount Alipay+ states for it in inquiries and notifications.
    pub(super) fn stated_amount(&self) -> Amount {
        self.reported_amount
            .clone()
            .unwrap_or_else(|| self.request.payment_amount.clone())
    }
}
