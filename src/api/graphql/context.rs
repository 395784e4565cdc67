//! What every part of the schema shares to answer a request: the engine and the caller taken
//! from its data, ids parsed, and errors with a stable `extensions.code`.

use async_graphql::{Context, ErrorExtensions, ID, Result};
use uuid::Uuid;

use crate::app::Engine;
use crate::app::auth::Principal;
use crate::app::errors::AppError;
use crate::app::kind::KindList;
use crate::store::entity::instance;

pub fn engine<'a>(ctx: &Context<'a>) -> &'a Engine {
    ctx.data_unchecked::<Engine>()
}

/// The kinds the schema serves.
pub fn kinds(ctx: &Context<'_>) -> KindList {
    *ctx.data_unchecked::<KindList>()
}

pub fn coded(code: &'static str, message: impl Into<String>) -> async_graphql::Error {
    async_graphql::Error::new(message.into()).extend_with(|_, e| e.set("code", code))
}

/// `UNAVAILABLE`, with the cause in our log under a reference the merchant can quote, never in
/// the answer (a database error names tables, hosts and sometimes values).
pub fn internal(error: impl std::fmt::Display) -> async_graphql::Error {
    let reference = Uuid::new_v4();
    tracing::error!(%reference, "request not served: {error}");
    coded(
        "UNAVAILABLE",
        format!("temporarily unavailable, try again (reference {reference})"),
    )
}

pub fn graphql_error(error: AppError) -> async_graphql::Error {
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
        AppError::RoleRequired { needed, .. } => {
            let role = needed.to_string().to_uppercase();
            coded("FORBIDDEN", error.to_string()).extend_with(|_, e| e.set("role", role.clone()))
        }
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
        AppError::ApprovalRequired { force_request_id } => {
            let id = force_request_id.to_string();
            coded("APPROVAL_REQUIRED", error.to_string())
                .extend_with(|_, e| e.set("forceRequestId", id.clone()))
        }
        AppError::SameOperator => coded("SAME_OPERATOR", error.to_string()),
        AppError::NotInTestMode => coded("NOT_IN_TEST_MODE", error.to_string()),
        AppError::Unavailable(cause) => internal(cause),
    }
}

/// Put in a request's data when its API key could not be checked (the database did not answer):
/// the request is `UNAVAILABLE`, not `UNAUTHENTICATED`, so a merchant does not think its key bad.
pub struct AuthenticationUnavailable;

/// Put in a request's data when it presented an API key nobody has (unknown or revoked), so it
/// is told so rather than asked for a key.
pub struct UnknownKey;

pub fn principal<'a>(ctx: &Context<'a>) -> Result<&'a Principal> {
    if let Some(principal) = ctx.data_opt::<Principal>() {
        return Ok(principal);
    }
    if ctx.data_opt::<AuthenticationUnavailable>().is_some() {
        return Err(coded(
            "UNAVAILABLE",
            "temporarily unable to check the API key, try again",
        ));
    }
    if ctx.data_opt::<UnknownKey>().is_some() {
        return Err(coded("UNAUTHENTICATED", "the API key is unknown or revoked"));
    }
    Err(coded("UNAUTHENTICATED", "send 'Authorization: Bearer <api key>'"))
}

pub fn parse_id(id: &ID) -> Result<Uuid> {
    Uuid::parse_str(id).map_err(|_| graphql_error(AppError::NotFound))
}

/// The public status `instance` shows (its state's `status` in its workflow file) as its kind's
/// GraphQL enum; a status the enum lacks (start-up checks every state's against the kind's
/// list) is an internal error, never a made-up status.
pub fn status_as<E: std::str::FromStr>(ctx: &Context<'_>, instance: &instance::Model) -> Result<E> {
    let status = crate::app::status_of(engine(ctx), instance);
    status.parse().map_err(|_| {
        internal(format!(
            "a {} shows status '{status}', which its GraphQL enum lacks",
            instance.kind
        ))
    })
}
