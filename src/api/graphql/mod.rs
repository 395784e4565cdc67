//! The merchant GraphQL API (async-graphql): queries, mutations, the `paymentUpdated`
//! subscription, and errors with a stable `extensions.code` (UNAUTHENTICATED, VALIDATION with
//! `field`, NOT_FOUND, IDEMPOTENCY_KEY_REUSED, INVALID_TRANSITION, FORBIDDEN, UNAVAILABLE).
//! The schema knows nothing of axum: the HTTP layer puts the authenticated [`Principal`] (or
//! none) into each request's data.

mod customs_types;
mod dispute_types;
pub mod limits;
mod merchant_types;
mod operations;
mod reads;
mod reconciliation_types;
mod refund_types;
mod registration_types;
mod shared;
mod types;

use async_graphql::connection::{Connection, Edge, EmptyFields};
use async_graphql::{Context, ErrorExtensions, ID, MergedObject, Object, Result, Schema, Subscription};
use futures::{Stream, StreamExt};
use uuid::Uuid;

use crate::alipayplus::client::Client;
use crate::alipayplus::wire::Amount;
use crate::app::Engine;
use crate::app::auth::Principal;
use crate::app::errors::AppError;
use crate::app::payment_methods::{ConsultError, PaymentMethodLimits, PaymentMethods};
use crate::app::payments;
use crate::app::refunds::{self, NewRefund};
use crate::store::entity::instance;
use customs_types::CustomsDeclaration;
use dispute_types::Dispute;
pub use refund_types::*;
use registration_types::MerchantRegistration;
pub use shared::*;
pub use types::*;

/// The merchants' fields and the operators' (`operations`), one schema.
#[derive(MergedObject, Default)]
#[graphql(name = "Query")]
pub struct QueryRoot(
    MerchantQueries,
    dispute_types::DisputeQueries,
    customs_types::CustomsQueries,
    registration_types::RegistrationQueries,
    reconciliation_types::ReconciliationQueries,
    operations::OperatorQueries,
);

#[derive(MergedObject, Default)]
#[graphql(name = "Mutation")]
pub struct MutationRoot(
    MerchantMutations,
    dispute_types::DisputeMutations,
    customs_types::CustomsMutations,
    registration_types::RegistrationMutations,
    operations::OperatorMutations,
    merchant_types::MerchantProfileMutations,
);

pub type ApiSchema = Schema<QueryRoot, MutationRoot, SubscriptionRoot>;

/// The schema, with `limits` on consultPayment and a budget of `complexity_per_minute` per
/// caller (see [`limits`]).
pub fn schema(
    engine: Engine,
    client: Client,
    limits: PaymentMethodLimits,
    complexity_per_minute: usize,
) -> ApiSchema {
    Schema::build(QueryRoot::default(), MutationRoot::default(), SubscriptionRoot)
        .data(engine)
        .data(limits::ComplexityBudget::new(complexity_per_minute))
        .data(PaymentMethods::new(client.clone(), limits))
        .data(client)
        .limit_depth(limits::MAX_DEPTH)
        .limit_complexity(limits::MAX_COMPLEXITY)
        .extension(limits::RequestLimits)
        .finish()
}

/// The SDL, for `plusflow schema`.
pub fn sdl() -> String {
    Schema::build(QueryRoot::default(), MutationRoot::default(), SubscriptionRoot)
        .finish()
        .sdl()
}

fn engine<'a>(ctx: &Context<'a>) -> &'a Engine {
    ctx.data_unchecked::<Engine>()
}

fn coded(code: &'static str, message: impl Into<String>) -> async_graphql::Error {
    async_graphql::Error::new(message.into()).extend_with(|_, e| e.set("code", code))
}

/// `UNAVAILABLE`, with the cause in our log under a reference the merchant can quote, never in
/// the answer (a database error names tables, hosts and sometimes values).
fn internal(error: impl std::fmt::Display) -> async_graphql::Error {
    let reference = Uuid::new_v4();
    tracing::error!(%reference, "request not served: {error}");
    coded(
        "UNAVAILABLE",
        format!("temporarily unavailable, try again (reference {reference})"),
    )
}

fn graphql_error(error: AppError) -> async_graphql::Error {
    match &error {
        AppError::Validation { field, message } => {
            let field = field.clone();
            async_graphql::Error::new(format!("{field}: {message}")).extend_with(|_, e| {
                e.set("code", "VALIDATION");
                e.set("field", field.clone());
            })
        }
        AppError::IdempotencyKeyReused => coded("IDEMPOTENCY_KEY_REUSED", error.to_string()),
        AppError::DuplicateOrder(_) => coded("DUPLICATE_ORDER", error.to_string()),
        AppError::NotFound => coded("NOT_FOUND", error.to_string()),
        AppError::InvalidTransition(_) => coded("INVALID_TRANSITION", error.to_string()),
        AppError::AlipayPlusAnswerRequired(_) => coded("ALIPAYPLUS_ANSWER_REQUIRED", error.to_string()),
        AppError::Forbidden => coded("FORBIDDEN", error.to_string()),
        AppError::NotRefundable(_) => coded("PAYMENT_NOT_REFUNDABLE", error.to_string()),
        AppError::RefundExceedsRefundable { .. } => coded("REFUND_EXCEEDS_REFUNDABLE", error.to_string()),
        AppError::RefundWindowExpired { .. } => coded("REFUND_WINDOW_EXPIRED", error.to_string()),
        AppError::DisputeExpired => coded("DISPUTE_EXPIRED", error.to_string()),
        AppError::AlreadyResponded => coded("ALREADY_RESPONDED", error.to_string()),
        AppError::NotDeclarable(_) => coded("PAYMENT_NOT_DECLARABLE", error.to_string()),
        AppError::RedeclarationRefused(_) => coded("REDECLARATION_NOT_ALLOWED", error.to_string()),
        AppError::DeclarationExceedsDeclarable { .. } => {
            coded("DECLARATION_EXCEEDS_DECLARABLE", error.to_string())
        }
        AppError::RegistrationTooSoon(_) => coded("REGISTRATION_TOO_SOON", error.to_string()),
        AppError::MerchantNotRegistered => coded("MERCHANT_NOT_REGISTERED", error.to_string()),
        AppError::MerchantProfileIncomplete(fields) => {
            let fields = fields.clone();
            async_graphql::Error::new(error.to_string()).extend_with(|_, e| {
                e.set("code", "MERCHANT_PROFILE_INCOMPLETE");
                e.set("fields", fields.clone());
            })
        }
        AppError::Unavailable(cause) => internal(cause),
    }
}

/// Put in a request's data when its API key could not be checked (the database did not answer):
/// the request is `UNAVAILABLE`, not `UNAUTHENTICATED`, so a merchant does not think its key bad.
pub struct AuthenticationUnavailable;

fn principal<'a>(ctx: &Context<'a>) -> Result<&'a Principal> {
    if let Some(principal) = ctx.data_opt::<Principal>() {
        return Ok(principal);
    }
    if ctx.data_opt::<AuthenticationUnavailable>().is_some() {
        return Err(coded(
            "UNAVAILABLE",
            "temporarily unable to check the API key, try again",
        ));
    }
    Err(coded("UNAUTHENTICATED", "send 'Authorization: Bearer <api key>'"))
}

fn parse_id(id: &ID) -> Result<Uuid> {
    Uuid::parse_str(id).map_err(|_| graphql_error(AppError::NotFound))
}

#[derive(Default)]
pub struct MerchantQueries;

#[Object]
impl MerchantQueries {
    /// A payment of yours; null for any other id.
    async fn payment(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Payment>> {
        let principal = principal(ctx)?;
        let Ok(id) = Uuid::parse_str(&id) else {
            return Ok(None);
        };
        match payments::get_payment(engine(ctx), principal, id).await {
            Ok(view) => Ok(Some(Payment::from(view))),
            Err(AppError::NotFound) => Ok(None),
            Err(e) => Err(graphql_error(e)),
        }
    }

    /// Your payments, newest first (Relay connection; `first` at most 50).
    #[graphql(complexity = "limits::page_cost(first, child_complexity)")]
    async fn payments(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        status: Option<PaymentStatus>,
    ) -> Result<Connection<String, Payment, EmptyFields, EmptyFields>> {
        let principal = principal(ctx)?;
        let first = first.unwrap_or(20);
        if !(1..=limits::MAX_MERCHANT_PAGE).contains(&first) {
            return Err(graphql_error(AppError::Validation {
                field: "first".into(),
                message: format!("must be between 1 and {}", limits::MAX_MERCHANT_PAGE),
            }));
        }
        let after = match after {
            Some(cursor) => Some(Uuid::parse_str(&cursor).map_err(|_| {
                graphql_error(AppError::Validation {
                    field: "after".into(),
                    message: "is not a cursor from this API".into(),
                })
            })?),
            None => None,
        };
        let (views, more) = payments::list_payments(
            engine(ctx),
            principal,
            first as u64,
            after,
            status.map(Into::into),
        )
        .await
        .map_err(graphql_error)?;
        let mut connection = Connection::new(after.is_some(), more);
        connection.edges.extend(
            views
                .into_iter()
                .map(|view| Edge::new(view.payment.id.to_string(), Payment::from(view))),
        );
        Ok(connection)
    }

    /// A refund of yours; null for any other id.
    async fn refund(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Refund>> {
        let principal = principal(ctx)?;
        let Ok(id) = Uuid::parse_str(&id) else {
            return Ok(None);
        };
        match refunds::get_refund(engine(ctx), principal, id).await {
            Ok(view) => Ok(Some(Refund::from(view))),
            Err(AppError::NotFound) => Ok(None),
            Err(e) => Err(graphql_error(e)),
        }
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
pub struct MerchantMutations;

#[Object]
impl MerchantMutations {
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

    /// Refunds part or all of a SUCCEEDED payment, in its currency. Several refunds may be made
    /// while their sum (pending and succeeded) stays within the paid amount.
    async fn create_refund(
        &self,
        ctx: &Context<'_>,
        input: CreateRefundInput,
        idempotency_key: String,
    ) -> Result<Refund> {
        let principal = principal(ctx)?;
        let payment_id = parse_id(&input.payment_id)?;
        let new_refund = NewRefund {
            payment_id,
            currency: input.amount.currency,
            amount: input.amount.value,
            reason: input.reason,
        };
        refunds::create_refund(engine(ctx), principal, new_refund, &idempotency_key)
            .await
            .map(Refund::from)
            .map_err(graphql_error)
    }

    /// Asks to cancel a payment without a final result (Alipay+ cancelPayment, retried until it
    /// succeeds). A final payment cannot be cancelled (INVALID_TRANSITION). An operator gives a
    /// `note` saying why (VALIDATION without one), kept in the history with its name.
    async fn cancel_payment(&self, ctx: &Context<'_>, id: ID, note: Option<String>) -> Result<Payment> {
        let principal = principal(ctx)?;
        let operator = match principal {
            Principal::Admin => Some((operations::operator(ctx)?, note.as_deref().unwrap_or_default())),
            Principal::Merchant(_) => None,
        };
        payments::cancel_payment(engine(ctx), principal, parse_id(&id)?, operator)
            .await
            .map(Payment::from)
            .map_err(graphql_error)
    }

    /// Replaces your webhook signing secret and returns the new one (shown only this once).
    /// For 24 hours deliveries carry a signature with each secret (two `v1=` values in
    /// `Plusflow-Signature`), so your receivers can switch without missing one.
    async fn rotate_webhook_secret(&self, ctx: &Context<'_>) -> Result<String> {
        let Principal::Merchant(merchant) = principal(ctx)? else {
            return Err(graphql_error(AppError::Forbidden));
        };
        crate::app::merchants::rotate_webhook_secret(engine(ctx), merchant.id)
            .await
            .map_err(graphql_error)
    }
}

pub struct SubscriptionRoot;

#[Subscription(name = "Subscription")]
impl SubscriptionRoot {
    /// The payment now, then every change, until it is final.
    async fn payment_updated(&self, ctx: &Context<'_>, id: ID) -> Result<impl Stream<Item = Payment>> {
        let get = |engine: Engine, principal: Principal, id| async move {
            payments::get_payment(&engine, &principal, id).await
        };
        Ok(watch(ctx, &id, get, |view| &view.instance)
            .await?
            .map(Payment::from))
    }

    /// The refund now, then every change, until it is final.
    async fn refund_updated(&self, ctx: &Context<'_>, id: ID) -> Result<impl Stream<Item = Refund>> {
        let get = |engine: Engine, principal: Principal, id| async move {
            refunds::get_refund(&engine, &principal, id).await
        };
        Ok(watch(ctx, &id, get, |view| &view.instance)
            .await?
            .map(Refund::from))
    }

    /// The dispute now, then every change (reminded, answered, expired), until it is final.
    async fn dispute_updated(&self, ctx: &Context<'_>, id: ID) -> Result<impl Stream<Item = Dispute>> {
        let get = |engine: Engine, principal: Principal, id| async move {
            crate::app::disputes::get_dispute(&engine, &principal, id).await
        };
        Ok(watch(ctx, &id, get, |view| &view.instance)
            .await?
            .map(Dispute::from))
    }

    /// The customs declaration now, then every change, until customs decided.
    async fn customs_declaration_updated(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> Result<impl Stream<Item = CustomsDeclaration>> {
        let get = |engine: Engine, principal: Principal, id| async move {
            crate::app::customs_declarations::get_declaration(&engine, &principal, id).await
        };
        Ok(watch(ctx, &id, get, |view| &view.instance)
            .await?
            .map(CustomsDeclaration::from))
    }

    /// The registration now, then every change (each wallet's answer), until it is final.
    async fn registration_updated(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> Result<impl Stream<Item = MerchantRegistration>> {
        let get = |engine: Engine, principal: Principal, id| async move {
            crate::app::registrations::get_registration(&engine, &principal, id).await
        };
        Ok(watch(ctx, &id, get, |view| &view.instance)
            .await?
            .map(MerchantRegistration))
    }
}

/// What `get` (a use case reading one thing the caller may see) says of `id` now, then again
/// after each change of its instance, until it is final.
async fn watch<V, Fut>(
    ctx: &Context<'_>,
    id: &ID,
    get: fn(Engine, Principal, Uuid) -> Fut,
    instance_of: fn(&V) -> &instance::Model,
) -> Result<impl Stream<Item = V> + use<V, Fut>>
where
    V: Send + 'static,
    Fut: Future<Output = Result<V, AppError>> + Send + 'static,
{
    let principal = principal(ctx)?.clone();
    let engine = engine(ctx).clone();
    let id = parse_id(id)?;
    let updates = engine.updates();
    let first = get(engine.clone(), principal.clone(), id)
        .await
        .map_err(graphql_error)?;
    let load = move || {
        let read = get(engine.clone(), principal.clone(), id);
        async move { read.await.ok() }
    };
    Ok(follow(id, updates, first, instance_of, load))
}

/// `first`, then a fresh `load()` each time instance `id` changes (version or needs-attention),
/// until it is terminal.
fn follow<T, Load, Fut>(
    id: Uuid,
    mut updates: tokio::sync::broadcast::Receiver<crate::app::Update>,
    first: T,
    instance_of: fn(&T) -> &instance::Model,
    load: Load,
) -> impl Stream<Item = T>
where
    T: Send + 'static,
    Load: Fn() -> Fut + Send + 'static,
    Fut: Future<Output = Option<T>> + Send,
{
    use tokio::sync::broadcast::error::RecvError;
    async_stream::stream! {
        let state = |instance: &instance::Model| (instance.version, instance.needs_attention);
        let mut seen = state(instance_of(&first));
        let mut done = instance_of(&first).terminal;
        yield first;
        while !done {
            match updates.recv().await {
                Ok(update) if update.instance_id != id => continue,
                Ok(_) | Err(RecvError::Lagged(_)) => {}
                Err(RecvError::Closed) => break,
            }
            let Some(view) = load().await else { continue };
            if state(instance_of(&view)) != seen {
                seen = state(instance_of(&view));
                done = instance_of(&view).terminal;
                yield view;
            }
        }
    }
}
