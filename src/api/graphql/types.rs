//! GraphQL output and input types (names per CONTRACT.md).

use std::sync::Arc;

use async_graphql::{Context, Enum, ID, InputObject, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};

use super::reads::AnswerReads;
use super::{engine, internal};
use crate::app::auth::Principal;
use crate::app::payments::{self, PaymentView};
use crate::app::refunds::RefundView;
use crate::store;
use crate::workflow::PublicStatus;

#[derive(SimpleObject, Clone)]
pub struct Money {
    pub currency: String,
    /// Integer minor units, as a decimal string.
    pub value: String,
}

fn money(currency: Option<String>, value: Option<i64>) -> Option<Money> {
    Some(Money {
        currency: currency?,
        value: value?.to_string(),
    })
}

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

#[derive(InputObject, Clone)]
pub struct MoneyInput {
    pub currency: String,
    /// Integer minor units, as a decimal string (1050 = 10.50 USD).
    pub value: String,
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

/// A payment, as its merchant sees it, in one answer: its refunds (and, through them, itself)
/// are read once per answer however many fields and levels ask (see `reads`).
pub struct Payment(pub PaymentView, Arc<AnswerReads>);

impl From<PaymentView> for Payment {
    fn from(view: PaymentView) -> Self {
        let reads = AnswerReads::starting_with(&view);
        Payment(view, reads)
    }
}

impl Payment {
    /// A payment met inside an answer that has read `reads` so far.
    pub(super) fn within(view: PaymentView, reads: Arc<AnswerReads>) -> Self {
        Payment(view, reads)
    }

    async fn loaded_refunds(&self, ctx: &Context<'_>) -> Result<Vec<RefundView>> {
        self.1
            .refunds_of(engine(ctx), self.0.payment.id)
            .await
            .map_err(super::graphql_error)
    }

    async fn result(&self, ctx: &Context<'_>) -> Result<Option<store::entity::payment_result::Model>> {
        self.1
            .result_of(engine(ctx), self.0.payment.id)
            .await
            .map_err(super::graphql_error)
    }

    async fn totals(&self, ctx: &Context<'_>) -> Result<(i64, i64)> {
        Ok(crate::app::refunds::refund_totals(
            &self.0,
            &self.loaded_refunds(ctx).await?,
        ))
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

pub struct Workflow {
    pub instance: store::entity::instance::Model,
}

#[Object]
impl Workflow {
    async fn id(&self) -> ID {
        ID(self.instance.id.to_string())
    }
    async fn kind(&self) -> &str {
        &self.instance.kind
    }
    async fn state(&self) -> &str {
        &self.instance.state
    }
    async fn version(&self) -> i64 {
        self.instance.version
    }
    /// Parked for an operator (retries exhausted, or something that must not be resolved silently).
    async fn needs_attention(&self) -> bool {
        self.instance.needs_attention
    }
    async fn last_error(&self) -> Option<&str> {
        self.instance.last_error.as_deref()
    }
    /// When the workflow acts next on its own (an effect or a timer).
    async fn next_run_at(&self, ctx: &Context<'_>) -> Result<Option<DateTime<Utc>>> {
        payments::next_run_at(engine(ctx), self.instance.id)
            .await
            .map_err(internal)
    }
    /// The payment or refund this workflow runs (its id is the workflow's).
    async fn subject_id(&self) -> ID {
        ID(self.instance.id.to_string())
    }
    /// When it entered its current state.
    async fn state_since(&self) -> DateTime<Utc> {
        self.instance.state_since.unwrap_or(self.instance.updated_at)
    }
    /// Why it waits for an operator (null unless needsAttention).
    async fn attention_reason(&self) -> Option<&str> {
        self.instance
            .last_error
            .as_deref()
            .filter(|_| self.instance.needs_attention)
    }
    /// The business deadline of its current state, if it has one, while it is not final: a
    /// payment's expiry, a dispute's response deadline (`respondBy`).
    async fn deadline(&self, ctx: &Context<'_>) -> Result<Option<DateTime<Utc>>> {
        if self.instance.terminal {
            return Ok(None);
        }
        if let Some(respond_by) = self.instance.data.get("respondBy").and_then(|v| v.as_str()) {
            return Ok(DateTime::parse_from_rfc3339(respond_by)
                .ok()
                .map(|time| time.with_timezone(&Utc)));
        }
        if self.instance.kind != "payment" {
            return Ok(None);
        }
        let payment = store::payments::payment(&engine(ctx).db, self.instance.id)
            .await
            .map_err(internal)?;
        Ok(payment.map(|p| p.expires_at))
    }
    /// Its effects not done yet: waiting, running, or out of attempts.
    async fn pending_effects(&self, ctx: &Context<'_>) -> Result<Vec<PendingEffect>> {
        let rows = store::operations::pending_effects(&engine(ctx).db, self.instance.id)
            .await
            .map_err(internal)?;
        Ok(rows.into_iter().map(PendingEffect).collect())
    }
    /// Its definition as a Mermaid state diagram, the current state marked (class `current`).
    async fn diagram(&self, ctx: &Context<'_>) -> Option<String> {
        let definition = engine(ctx)
            .definitions
            .get(&self.instance.kind, self.instance.definition_version as u32)?;
        Some(format!(
            "{}    classDef current fill:#fde68a,stroke:#b45309,stroke-width:2px\n    class {} current\n",
            crate::workflow::mermaid(definition),
            self.instance.state
        ))
    }
    /// The events its definition allows in its current state (what `forceTransition` takes).
    async fn allowed_events(&self, ctx: &Context<'_>) -> Vec<String> {
        let Some(definition) = engine(ctx)
            .definitions
            .get(&self.instance.kind, self.instance.definition_version as u32)
        else {
            return vec![];
        };
        let mut events: Vec<String> = definition
            .transitions
            .keys()
            .filter(|(from, _)| *from == self.instance.state)
            .map(|(_, event)| event.to_string())
            .collect();
        events.sort();
        events
    }
    /// Every state of its definition, sorted.
    async fn definition_states(&self, ctx: &Context<'_>) -> Vec<String> {
        engine(ctx)
            .definitions
            .get(&self.instance.kind, self.instance.definition_version as u32)
            .map(|definition| definition.state_names())
            .unwrap_or_default()
    }
    /// Every event applied, oldest first, whatever its outcome.
    async fn history(&self, ctx: &Context<'_>) -> Result<Vec<WorkflowEvent>> {
        let rows = store::history(&engine(ctx).db, self.instance.id)
            .await
            .map_err(internal)?;
        Ok(rows.into_iter().map(WorkflowEvent).collect())
    }
}

pub struct WorkflowEvent(store::entity::history::Model);

#[Object]
impl WorkflowEvent {
    async fn at(&self) -> DateTime<Utc> {
        self.0.at
    }
    async fn event(&self) -> &str {
        &self.0.event
    }
    async fn from_state(&self) -> Option<&str> {
        self.0.from_state.as_deref()
    }
    async fn to_state(&self) -> Option<&str> {
        self.0.to_state.as_deref()
    }
    /// TRANSITIONED, IGNORED or REJECTED for an event; PARKED, OPERATOR (an operator's retry or
    /// resume) or ANSWER (Alipay+'s answer an operator asked for) otherwise.
    async fn outcome(&self) -> &str {
        &self.0.outcome
    }
    /// Who caused it; to a merchant, an operator is `operator` (operators' names are theirs).
    async fn actor(&self, ctx: &Context<'_>) -> &str {
        if self.hidden_from(ctx) {
            "operator"
        } else {
            &self.0.actor
        }
    }
    /// Why an event was ignored or rejected, and what came with it (not shown to a merchant
    /// for an operator's action).
    async fn detail(&self, ctx: &Context<'_>) -> Option<String> {
        if self.hidden_from(ctx) {
            return None;
        }
        self.0.detail.as_ref().map(|d| d.to_string())
    }
    /// The note of an operator's action (operators only), or of a merchant's own answer.
    async fn note(&self, ctx: &Context<'_>) -> Option<&str> {
        if self.hidden_from(ctx) {
            return None;
        }
        self.0.detail.as_ref()?.get("note")?.as_str()
    }
}

impl WorkflowEvent {
    /// Whether this is an operator's action read by a merchant: the operator's name, note and
    /// detail are not the merchant's to read.
    fn hidden_from(&self, ctx: &Context<'_>) -> bool {
        let by_operator = self.0.actor == "admin" || self.0.actor.starts_with("admin:");
        by_operator && matches!(ctx.data_opt::<Principal>(), Some(Principal::Merchant(_)))
    }
}

/// An effect of a workflow not done yet.
pub struct PendingEffect(store::entity::outbox::Model);

#[Object]
impl PendingEffect {
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// Failed executions so far.
    async fn attempts(&self) -> i32 {
        self.0.attempts
    }
    async fn max_attempts(&self) -> i32 {
        self.0.max_attempts
    }
    /// pending, claimed (running) or failed (out of attempts: the workflow is parked).
    async fn status(&self) -> &str {
        &self.0.status
    }
    async fn last_error(&self) -> Option<&str> {
        self.0.last_error.as_deref()
    }
    /// When it runs next (null once out of attempts).
    async fn next_run_at(&self) -> Option<DateTime<Utc>> {
        (self.0.status == store::entity::outbox::STATUS_PENDING)
            .then(|| DateTime::from_timestamp_millis(self.0.due_at_ms))
            .flatten()
    }
    /// The process running it now (operators only: null for a merchant).
    async fn claimed_by(&self, ctx: &Context<'_>) -> Option<&str> {
        ctx.data_opt::<crate::app::operations::Operator>()?;
        self.0
            .claimed_by
            .as_deref()
            .filter(|_| self.0.status == store::entity::outbox::STATUS_CLAIMED)
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
