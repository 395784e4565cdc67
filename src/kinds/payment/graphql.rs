//! GraphQL output types, queries, mutations and the subscription of payments (names per
//! CONTRACT.md); `createPayment`'s input is in [`super::graphql_input`].

use crate::alipayplus::wire::Amount;
use crate::api::graphql::console;
use crate::api::graphql::context::{engine, graphql_error, internal, parse_id, principal};
use crate::api::graphql::limits;
use crate::api::graphql::lists;
use crate::api::graphql::watch::watch;
use crate::app::Engine;
use crate::app::auth::Principal;
use crate::app::errors::AppError;
use crate::kinds::payment::methods::{ConsultError, PaymentMethods};
use crate::kinds::payment::use_cases as payments;
use async_graphql::connection::{Connection, EmptyFields};
use async_graphql::{Context, Enum, ID, InputObject, Object, Result, SimpleObject};
use async_graphql::{ErrorExtensions, Subscription};
use chrono::{DateTime, Utc};
use futures::{Stream, StreamExt};
use uuid::Uuid;

pub use super::graphql_input::{CreatePaymentInput, OsType, TerminalType};
use crate::api::graphql::shared::money;
use crate::api::graphql::shared::{MetadataEntry, Money, MoneyInput, Payment, Workflow, metadata_out};
use crate::app::errors::invalid;
use crate::app::merchant_lists::ListRequest;
use crate::app::test_mode::TestMode;
use crate::kinds::payment::status::PublicStatus;
use crate::kinds::payment::test_helpers::simulate_outcome;
use crate::store::merchant_lists::payment_of_order;

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
    /// A cancel was asked for (by you or the expiry) and is being made at Alipay+; it ends
    /// CANCELLED, or SUCCEEDED / FAILED if the customer's payment was decided first.
    Cancelling,
    Succeeded,
    Failed,
    Cancelled,
    /// Not final and held for our operators to look at (an answer from Alipay+ that does not
    /// match the payment, or one Alipay+ cannot give); it ends in a final status.
    UnderReview,
}

impl From<PublicStatus> for PaymentStatus {
    fn from(status: PublicStatus) -> Self {
        match status {
            PublicStatus::Pending => PaymentStatus::Pending,
            PublicStatus::AwaitingCustomer => PaymentStatus::AwaitingCustomer,
            PublicStatus::Succeeded => PaymentStatus::Succeeded,
            PublicStatus::Failed => PaymentStatus::Failed,
            PublicStatus::Cancelled => PaymentStatus::Cancelled,
            PublicStatus::Cancelling => PaymentStatus::Cancelling,
            PublicStatus::UnderReview => PaymentStatus::UnderReview,
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
            PaymentStatus::Cancelling => PublicStatus::Cancelling,
            PaymentStatus::UnderReview => PublicStatus::UnderReview,
        }
    }
}

#[Object]
impl Payment {
    async fn id(&self) -> ID {
        ID(self.0.payment.id.to_string())
    }
    /// Your own key-value pairs, as given at creation.
    async fn metadata(&self) -> Vec<MetadataEntry> {
        metadata_out(self.0.payment.metadata.as_ref())
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
            .and_then(|r| crate::kinds::payment::results::wallet_of(engine(ctx), &r))
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
    async fn disputes(&self, ctx: &Context<'_>) -> Result<Vec<crate::kinds::dispute::graphql::Dispute>> {
        let views = crate::kinds::dispute::use_cases::disputes_of(engine(ctx), self.0.payment.id)
            .await
            .map_err(crate::api::graphql::context::graphql_error)?;
        Ok(views
            .into_iter()
            .map(|view| crate::kinds::dispute::graphql::Dispute::within(view, self.1.clone()))
            .collect())
    }
    /// Its customs declarations, oldest first.
    async fn customs_declarations(
        &self,
        ctx: &Context<'_>,
    ) -> Result<Vec<crate::kinds::customs_declaration::graphql::CustomsDeclaration>> {
        let views =
            crate::kinds::customs_declaration::use_cases::declarations_of(engine(ctx), self.0.payment.id)
                .await
                .map_err(crate::api::graphql::context::graphql_error)?;
        Ok(views
            .into_iter()
            .map(|view| {
                crate::kinds::customs_declaration::graphql::CustomsDeclaration::within(view, self.1.clone())
            })
            .collect())
    }
    /// What may still be declared to customs (CNY): null unless the payment succeeded with
    /// AlipayCN; its customsDeclarationAmount less its live declarations (refunds reduce it).
    async fn declarable_amount(&self, ctx: &Context<'_>) -> Result<Option<Money>> {
        let left = crate::kinds::customs_declaration::use_cases::declarable_amount(
            engine(ctx),
            &self.0.payment,
            &self.0.instance,
        )
        .await
        .map_err(crate::api::graphql::context::graphql_error)?;
        Ok(left.map(|value| Money {
            currency: crate::kinds::customs_declaration::use_cases::DECLARATION_CURRENCY.into(),
            value: value.to_string(),
        }))
    }
    /// Every refund of the payment, oldest first.
    async fn refunds(&self, ctx: &Context<'_>) -> Result<Vec<crate::kinds::refund::graphql::Refund>> {
        let views = self.loaded_refunds(ctx).await?;
        Ok(views
            .into_iter()
            .map(|view| crate::kinds::refund::graphql::Refund::within(view, self.1.clone()))
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
        Workflow::of(self.0.instance.clone())
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

/// What a list of payments keeps.
#[derive(InputObject, Default)]
pub struct PaymentFilter {
    pub status: Option<PaymentStatus>,
    /// Created after this time.
    pub created_after: Option<DateTime<Utc>>,
    /// Created before this time.
    pub created_before: Option<DateTime<Utc>>,
    /// Your order's payment only.
    pub merchant_order_id: Option<String>,
}

#[derive(Default)]
pub struct PaymentQueries;

#[Object]
impl PaymentQueries {
    /// A payment of yours, by its `id` or by your `merchantOrderId` (give one of them); null
    /// for any other.
    async fn payment(
        &self,
        ctx: &Context<'_>,
        id: Option<ID>,
        merchant_order_id: Option<String>,
    ) -> Result<Option<Payment>> {
        let principal = principal(ctx)?;
        let id = match (id, merchant_order_id) {
            (Some(id), None) => Uuid::parse_str(&id).ok(),
            (None, Some(order)) => {
                let Principal::Merchant(merchant) = principal else {
                    return Err(graphql_error(invalid(
                        "merchantOrderId",
                        "is a merchant's own order id",
                    )));
                };
                payment_of_order(&engine(ctx).db, merchant.id, &order)
                    .await
                    .map_err(|e| graphql_error(e.into()))?
            }
            _ => return Err(graphql_error(invalid("id", "give either id or merchantOrderId"))),
        };
        let Some(id) = id else {
            return Ok(None);
        };
        match payments::get_payment(engine(ctx), principal, id).await {
            Ok(view) => Ok(Some(Payment::from(view))),
            Err(AppError::NotFound) => Ok(None),
            Err(e) => Err(graphql_error(e)),
        }
    }

    /// Your payments, newest first (Relay connection; `first` at most 50), those `filter`
    /// keeps (`status` alone is the same as `filter: {status}`).
    #[graphql(complexity = "limits::page_cost(first, child_complexity)")]
    async fn payments(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        status: Option<PaymentStatus>,
        filter: Option<PaymentFilter>,
    ) -> Result<Connection<String, Payment, EmptyFields, EmptyFields>> {
        let principal = principal(ctx)?;
        let (first, after) = lists::merchant_page_args(first, after.as_deref()).map_err(graphql_error)?;
        let filter = filter.unwrap_or_default();
        let status = lists::one_status(status, filter.status).map_err(graphql_error)?;
        let request = ListRequest {
            status: status.map(|status| <&str>::from(PublicStatus::from(status)).to_string()),
            created_after: filter.created_after,
            created_before: filter.created_before,
            merchant_order_id: filter.merchant_order_id,
            after,
        };
        let (views, more) = payments::list_payments(engine(ctx), principal, first, &request)
            .await
            .map_err(graphql_error)?;
        Ok(lists::page(views, more, after.is_some(), |view| {
            (view.payment.id.to_string(), Payment::from(view))
        }))
    }

    /// What to show on your cashier page (Alipay+ consultPayment). Answers are kept a few
    /// minutes per (currency, userRegion); a merchant asking for many different ones is
    /// refused with RATE_LIMITED (`extensions.retryAfterSeconds`) for a while.
    async fn payment_methods(
        &self,
        ctx: &Context<'_>,
        amount: MoneyInput,
        user_region: Option<String>,
    ) -> Result<Vec<PaymentMethod>> {
        let asker = match principal(ctx)? {
            Principal::Merchant(merchant) => merchant.id,
            Principal::Admin => Uuid::nil(),
        };
        let value = if amount.value == "0" {
            0
        } else {
            crate::app::money::parse_amount("amount", &amount.currency, &amount.value)
                .map_err(graphql_error)?
        };
        let consulted = ctx
            .data_unchecked::<PaymentMethods>()
            .consult(asker, Amount::new(&amount.currency, value), user_region)
            .await;
        let response = match consulted {
            Ok(response) => response,
            Err(ConsultError::RateLimited { retry_after_seconds }) => {
                return Err(async_graphql::Error::new(
                    ConsultError::RateLimited { retry_after_seconds }.to_string(),
                )
                .extend_with(|_, e| {
                    e.set("code", "RATE_LIMITED");
                    e.set("retryAfterSeconds", retry_after_seconds);
                }));
            }
            Err(ConsultError::Unavailable(cause)) => return Err(internal(cause)),
        };
        let wallets = &engine(ctx).wallets;
        Ok(response
            .payment_options
            .clone()
            .unwrap_or_default()
            .into_iter()
            .map(|option| {
                let offered = option
                    .payment_option_detail
                    .and_then(|d| d.connect_wallet)
                    .and_then(|c| c.support_wallets)
                    .unwrap_or_default()
                    .into_iter()
                    .map(|w| {
                        let known = w.wallet_name.as_deref().and_then(|n| wallets.by_name(n));
                        Wallet {
                            brand_name: w
                                .wallet_brand_name
                                .or_else(|| known.map(|k| k.brand.clone()))
                                .or_else(|| w.wallet_name.clone())
                                .unwrap_or_else(|| "unknown".into()),
                            psp_id: known.map(|k| k.psp_id.clone()),
                            name: w.wallet_name,
                            logo_url: w.wallet_logo.and_then(|l| l.logo_url),
                        }
                    })
                    .collect();
                PaymentMethod {
                    payment_method_type: option.payment_method_type,
                    enabled: option.enabled.unwrap_or(false),
                    disable_reason: option.disable_reason,
                    logo_url: option.logo.as_ref().and_then(|l| l.logo_url.clone()),
                    logo_name: option.logo.and_then(|l| l.logo_name),
                    wallets: offered,
                }
            })
            .collect())
    }
}

#[derive(Default)]
pub struct PaymentMutations;

#[Object]
impl PaymentMutations {
    /// Starts a payment. The same `idempotencyKey` with the same input returns the same payment;
    /// with another input it is refused (IDEMPOTENCY_KEY_REUSED).
    async fn create_payment(
        &self,
        ctx: &Context<'_>,
        input: CreatePaymentInput,
        idempotency_key: String,
    ) -> Result<Payment> {
        let principal = principal(ctx)?;
        payments::create_payment(engine(ctx), principal, input.into_new_payment(), &idempotency_key)
            .await
            .map(Payment::from)
            .map_err(graphql_error)
    }

    /// Asks to cancel a payment without a final result (Alipay+ cancelPayment, retried until it
    /// succeeds). A final payment cannot be cancelled (INVALID_TRANSITION). An operator gives a
    /// `note` saying why (VALIDATION without one), kept in the history with its name.
    async fn cancel_payment(&self, ctx: &Context<'_>, id: ID, note: Option<String>) -> Result<Payment> {
        crate::api::graphql::console::operators_need(ctx, crate::app::roles::AdminRole::Operator)?;
        let principal = principal(ctx)?;
        let operator = match principal {
            Principal::Admin => Some((
                console::operator(ctx, crate::app::roles::AdminRole::Operator)?,
                note.as_deref().unwrap_or_default(),
            )),
            Principal::Merchant(_) => None,
        };
        payments::cancel_payment(engine(ctx), principal, parse_id(&id)?, operator)
            .await
            .map(Payment::from)
            .map_err(graphql_error)
    }

    /// Test mode only (`alipayplus.mode = "simulator"`; else NOT_IN_TEST_MODE): the customer
    /// pays (SUCCESS) or declines (FAIL) at the simulator, which notifies plusflow as Alipay+
    /// would, so the status follows within moments (watch `paymentUpdated`); with `notify:
    /// false` that notification is lost and plusflow learns the outcome by inquiring, as it
    /// would from Alipay+. EXPIRE reaches the expiry now, and the payment is cancelled at
    /// Alipay+. A payment no longer waiting for its customer is INVALID_TRANSITION.
    async fn simulate_payment_outcome(
        &self,
        ctx: &Context<'_>,
        payment_id: ID,
        outcome: String,
        #[graphql(default = true)] notify: bool,
    ) -> Result<Payment> {
        crate::api::graphql::console::operators_need(ctx, crate::app::roles::AdminRole::Operator)?;
        let principal = principal(ctx)?;
        let test_mode = ctx.data::<TestMode>()?;
        simulate_outcome(
            engine(ctx),
            test_mode,
            principal,
            parse_id(&payment_id)?,
            &outcome,
            notify,
        )
        .await
        .map(Payment::from)
        .map_err(graphql_error)
    }
}

#[derive(Default)]
pub struct PaymentSubscription;

#[Subscription]
impl PaymentSubscription {
    /// The payment now, then every change, until it is final.
    async fn payment_updated(&self, ctx: &Context<'_>, id: ID) -> Result<impl Stream<Item = Payment>> {
        let get = |engine: Engine, principal: Principal, id| async move {
            payments::get_payment(&engine, &principal, id).await
        };
        Ok(watch(ctx, &id, get, |view| &view.instance)
            .await?
            .map(Payment::from))
    }
}
