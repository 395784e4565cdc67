//! GraphQL output and input types (names per CONTRACT.md).

use async_graphql::{Context, Enum, ID, InputObject, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};

use super::engine;
use super::shared::money;
use super::shared::{Money, MoneyInput, Payment, Workflow};
use crate::app::payments;
use crate::workflow::PublicStatus;

/// An Alipay+ wallet: "Alipay", ALIPAY_CN, 1022088000000000001.
#[derive(SimpleObject, Clone)]
pub struct Wallet {
    /// The brand shown to people.
    pub brand_name: String,
    /// The enum name; null for a wallet not in the wallet table.
    pub name: Option<String>,
    pub psp_id: Option<String>,
    /// Its logo, in a payment-method list.
    pub logo_url: Option<String>,
}

/// The exchange rate Alipay+ settled a payment at.
#[derive(SimpleObject, Clone)]
pub struct Quote {
    pub id: Option<String>,
    /// `USD/KRW`: units of the second per unit of the first.
    pub currency_pair: Option<String>,
    /// The rate, as the decimal text Alipay+ sent.
    pub rate: String,
    pub start_time: Option<DateTime<Utc>>,
    pub expiry_time: Option<DateTime<Utc>>,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum PaymentStatus {
    Pending,
    AwaitingCustomer,
    Succeeded,
    Failed,
    Cancelled,
}

impl From<PublicStatus> for PaymentStatus {
    fn from(status: PublicStatus) -> Self {
        match status {
            PublicStatus::Pending => PaymentStatus::Pending,
            PublicStatus::AwaitingCustomer => PaymentStatus::AwaitingCustomer,
            PublicStatus::Succeeded => PaymentStatus::Succeeded,
            PublicStatus::Failed => PaymentStatus::Failed,
            PublicStatus::Cancelled => PaymentStatus::Cancelled,
        }
    }
}

impl From<PaymentStatus> for PublicStatus {
    fn from(status: PaymentStatus) -> Self {
        match status {
            PaymentStatus::Pending => PublicStatus::Pending,
            PaymentStatus::AwaitingCustomer => PublicStatus::AwaitingCustomer,
            PaymentStatus::Succeeded => PublicStatus::Succeeded,
            PaymentStatus::Failed => PublicStatus::Failed,
            PaymentStatus::Cancelled => PublicStatus::Cancelled,
        }
    }
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum TerminalType {
    Web,
    Wap,
    App,
    MiniApp,
}

impl TerminalType {
    pub fn wire(self) -> &'static str {
        match self {
            TerminalType::Web => "WEB",
            TerminalType::Wap => "WAP",
            TerminalType::App => "APP",
            TerminalType::MiniApp => "MINI_APP",
        }
    }
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum OsType {
    Ios,
    Android,
}

#[derive(InputObject)]
pub struct CreatePaymentInput {
    /// Becomes `order.referenceOrderId`; at most 64 characters.
    pub merchant_order_id: String,
    /// At most 256 characters.
    pub order_description: String,
    pub amount: MoneyInput,
    pub terminal_type: TerminalType,
    /// Required for WAP and APP.
    pub os_type: Option<OsType>,
    /// Where the customer returns after the checkout.
    pub redirect_url: String,
    /// ISO 3166 alpha-2; orders the wallets on the checkout page.
    pub user_region: Option<String>,
    pub settlement_currency: Option<String>,
    /// At most 600 (the Alipay+ cashier limit); 600 when absent.
    pub expires_in_seconds: Option<i32>,
    /// Your own reference of the customer (at most 256 characters). Alipay+ receives a digest
    /// of it with your merchant id (`order.buyer.referenceBuyerId`), never the reference itself:
    /// the same customer is the same buyer to its risk checks.
    pub buyer_reference: Option<String>,
}

impl CreatePaymentInput {
    pub fn into_new_payment(self) -> payments::NewPayment {
        payments::NewPayment {
            merchant_order_id: self.merchant_order_id,
            order_description: self.order_description,
            currency: self.amount.currency,
            amount: self.amount.value,
            terminal_type: self.terminal_type.wire().to_string(),
            os_type: self.os_type.map(|os| match os {
                OsType::Ios => "IOS".to_string(),
                OsType::Android => "ANDROID".to_string(),
            }),
            redirect_url: self.redirect_url,
            user_region: self.user_region,
            settlement_currency: self.settlement_currency,
            expires_in_seconds: self.expires_in_seconds,
            buyer_reference: self.buyer_reference,
        }
    }
}

#[Object]
impl Payment {
    async fn id(&self) -> ID {
        ID(self.0.payment.id.to_string())
    }
    async fn merchant_order_id(&self) -> &str {
        &self.0.payment.merchant_order_id
    }
    /// Our id at Alipay+; the same on every retry.
    async fn payment_request_id(&self) -> &str {
        &self.0.payment.payment_request_id
    }
    async fn amount(&self) -> Money {
        Money {
            currency: self.0.payment.currency.clone(),
            value: self.0.payment.amount.to_string(),
        }
    }
    async fn status(&self) -> PaymentStatus {
        self.0.status.into()
    }
    /// The Alipay+ checkout page; set while the customer is expected there.
    async fn checkout_url(&self) -> Option<String> {
        self.0.checkout_url()
    }
    /// For an app: an Android App Link / iOS Universal Link that opens the wallet (or its web
    /// page), when Alipay+ gave one.
    async fn applink_url(&self) -> Option<String> {
        self.0.data("applinkUrl")
    }
    /// For an app: a custom-scheme deep link that opens the installed wallet only.
    async fn scheme_url(&self) -> Option<String> {
        self.0.data("schemeUrl")
    }
    /// For an app with the Alipay+ client SDK: the payload its payment sheet takes.
    async fn payment_data(&self) -> Option<String> {
        self.0.data("paymentData")
    }
    async fn alipay_payment_id(&self) -> Option<String> {
        self.0.alipay_payment_id()
    }
    /// The brand name Alipay+ showed the customer, as it stated it.
    async fn wallet_brand_name(&self, ctx: &Context<'_>) -> Result<Option<String>> {
        Ok(self.result(ctx).await?.and_then(|r| r.wallet_brand_name))
    }
    /// The wallet it was paid with, identified by its pspId (brand and enum name from the
    /// wallet table; an unknown wallet has no name).
    async fn wallet(&self, ctx: &Context<'_>) -> Result<Option<Wallet>> {
        let result = self.result(ctx).await?;
        Ok(result
            .and_then(|r| crate::app::payment_results::wallet_of(engine(ctx), &r))
            .map(|w| Wallet {
                brand_name: w.brand,
                name: w.name,
                psp_id: w.psp_id,
                logo_url: None,
            }))
    }
    /// The wallet's Alipay+ id (pspId).
    async fn psp_id(&self, ctx: &Context<'_>) -> Result<Option<String>> {
        Ok(self.result(ctx).await?.and_then(|r| r.psp_id))
    }
    /// The wallet's id of the customer who paid.
    async fn customer_id(&self, ctx: &Context<'_>) -> Result<Option<String>> {
        Ok(self.result(ctx).await?.and_then(|r| r.customer_id))
    }
    /// When the payment reached its final state at Alipay+.
    async fn payment_time(&self, ctx: &Context<'_>) -> Result<Option<DateTime<Utc>>> {
        Ok(self.result(ctx).await?.and_then(|r| r.payment_time))
    }
    /// What Alipay+ settles for it, in the settlement currency (when it differs from the payment's).
    async fn settlement_amount(&self, ctx: &Context<'_>) -> Result<Option<Money>> {
        let result = self.result(ctx).await?;
        Ok(result.and_then(|r| money(r.settlement_currency, r.settlement_value)))
    }
    /// The exchange rate of the settlement.
    async fn settlement_quote(&self, ctx: &Context<'_>) -> Result<Option<Quote>> {
        let result = self.result(ctx).await?;
        Ok(result.filter(|r| r.quote_price.is_some()).map(|r| Quote {
            id: r.quote_id,
            currency_pair: r.quote_currency_pair,
            rate: r.quote_price.unwrap_or_default(),
            start_time: r.quote_start_time,
            expiry_time: r.quote_expiry_time,
        }))
    }
    /// AlipayCN: the most that may be declared to customs for it (CNY).
    async fn customs_declaration_amount(&self, ctx: &Context<'_>) -> Result<Option<Money>> {
        let result = self.result(ctx).await?;
        Ok(result.and_then(|r| money(r.customs_currency, r.customs_value)))
    }
    /// The Alipay+ result code of a failed payment.
    async fn failure_code(&self) -> Option<String> {
        self.0.failure_code()
    }
    async fn expires_at(&self) -> DateTime<Utc> {
        self.0.payment.expires_at
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.payment.created_at
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.instance.updated_at
    }
    /// Alipay+'s retrievals and escalations about the payment, oldest first.
    async fn disputes(&self, ctx: &Context<'_>) -> Result<Vec<super::dispute_types::Dispute>> {
        let views = crate::app::disputes::disputes_of(engine(ctx), self.0.payment.id)
            .await
            .map_err(super::graphql_error)?;
        Ok(views
            .into_iter()
            .map(|view| super::dispute_types::Dispute::within(view, self.1.clone()))
            .collect())
    }
    /// Its customs declarations, oldest first.
    async fn customs_declarations(
        &self,
        ctx: &Context<'_>,
    ) -> Result<Vec<super::customs_types::CustomsDeclaration>> {
        let views = crate::app::customs_declarations::declarations_of(engine(ctx), self.0.payment.id)
            .await
            .map_err(super::graphql_error)?;
        Ok(views
            .into_iter()
            .map(|view| super::customs_types::CustomsDeclaration::within(view, self.1.clone()))
            .collect())
    }
    /// What may still be declared to customs (CNY): null unless the payment succeeded with
    /// AlipayCN; its customsDeclarationAmount less its live declarations (refunds reduce it).
    async fn declarable_amount(&self, ctx: &Context<'_>) -> Result<Option<Money>> {
        let left = crate::app::customs_declarations::declarable_amount(
            engine(ctx),
            &self.0.payment,
            &self.0.instance,
        )
        .await
        .map_err(super::graphql_error)?;
        Ok(left.map(|value| Money {
            currency: crate::app::customs_declarations::DECLARATION_CURRENCY.into(),
            value: value.to_string(),
        }))
    }
    /// Every refund of the payment, oldest first.
    async fn refunds(&self, ctx: &Context<'_>) -> Result<Vec<super::Refund>> {
        let views = self.loaded_refunds(ctx).await?;
        Ok(views
            .into_iter()
            .map(|view| super::Refund::within(view, self.1.clone()))
            .collect())
    }
    /// What succeeded refunds gave back.
    async fn refunded_amount(&self, ctx: &Context<'_>) -> Result<Money> {
        let (refunded, _) = self.totals(ctx).await?;
        Ok(Money {
            currency: self.0.payment.currency.clone(),
            value: refunded.to_string(),
        })
    }
    /// What may still be refunded (pending refunds hold their amount; nothing unless SUCCEEDED).
    async fn refundable_amount(&self, ctx: &Context<'_>) -> Result<Money> {
        let (_, refundable) = self.totals(ctx).await?;
        Ok(Money {
            currency: self.0.payment.currency.clone(),
            value: refundable.to_string(),
        })
    }
    /// The durable state machine behind the payment.
    async fn workflow(&self) -> Workflow {
        Workflow {
            instance: self.0.instance.clone(),
        }
    }
}

/// What consultPayment says the merchant's cashier page should show.
#[derive(SimpleObject)]
pub struct PaymentMethod {
    pub payment_method_type: String,
    pub enabled: bool,
    pub disable_reason: Option<String>,
    pub logo_url: Option<String>,
    pub logo_name: Option<String>,
    pub wallets: Vec<Wallet>,
}
