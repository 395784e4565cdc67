//! The errors of every use case, shared by all kinds; the API maps each to a stable code.

use crate::store::StoreError;
use crate::store::idempotency::KeyUse;
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AppError {
    #[error("{field}: {message}")]
    Validation { field: String, message: String },
    #[error("this idempotency key was used with a different request")]
    IdempotencyKeyReused,
    #[error(
        "merchantOrderId '{0}' already has a payment; pay an order once (read it, or cancel it first and use a new order id)"
    )]
    DuplicateOrder(String),
    #[error("not found")]
    NotFound,
    #[error("{0}")]
    InvalidTransition(String),
    #[error("this key may not do this (merchants act on their own objects, operators administer)")]
    Forbidden,
    #[error("this needs an operator key with the {needed} role (this key's role is {has})")]
    RoleRequired {
        needed: super::roles::AdminRole,
        has: super::roles::AdminRole,
    },
    #[error("{0}")]
    NotRefundable(String),
    #[error("the refund of {requested} exceeds what may still be refunded ({refundable})")]
    RefundExceedsRefundable { requested: i64, refundable: i64 },
    #[error("the refund window of {days} days has passed")]
    RefundWindowExpired { days: i64 },
    #[error("the response deadline of this dispute has passed")]
    DisputeExpired,
    #[error("this dispute has been responded to")]
    AlreadyResponded,
    #[error("{0}")]
    NotDeclarable(String),
    #[error("{0}")]
    RedeclarationRefused(String),
    #[error("declaring {requested} more exceeds what may still be declared ({declarable})")]
    DeclarationExceedsDeclarable { requested: i64, declarable: i64 },
    #[error("{0}")]
    RegistrationTooSoon(String),
    #[error(
        "the merchant is not registered with Alipay+ for payments in this market (no completed registration)"
    )]
    MerchantNotRegistered,
    #[error(
        "the merchant's profile lacks what Alipay+ is told on every payment: {}; an operator completes it (updateMerchantProfile)",
        .0.join(", ")
    )]
    MerchantProfileIncomplete(Vec<&'static str>),
    /// A forced end refused while Alipay+ may still act, or without its answer.
    #[error("{0}")]
    AlipayPlusAnswerRequired(String),
    /// A forced move of money waits for a second operator (four eyes).
    #[error(
        "forcing this moves or settles money: a second operator approves it (approveForce with forceRequestId {force_request_id})"
    )]
    ApprovalRequired { force_request_id: Uuid },
    #[error("the operator who asked for this force cannot approve it: a second operator does")]
    SameOperator,
    #[error(
        "test helpers drive the Alipay+ simulator and work only in alipayplus.mode = \"simulator\"; this plusflow talks to the real Alipay+"
    )]
    NotInTestMode,
    #[error("temporarily unavailable: {0}")]
    Unavailable(String),
}

impl From<StoreError> for AppError {
    fn from(error: StoreError) -> Self {
        AppError::Unavailable(error.to_string())
    }
}

/// An operator's note saying why (every operator action needs one), trimmed.
pub fn require_note(note: &str) -> Result<&str, AppError> {
    let note = note.trim_matches(invisible);
    if note.is_empty() {
        return Err(invalid("note", "an operator action needs a note saying why"));
    }
    check_length("note", note, 2000)?;
    Ok(note)
}

pub fn invalid(field: &str, message: impl Into<String>) -> AppError {
    AppError::Validation {
        field: field.to_string(),
        message: message.into(),
    }
}

/// Characters that show nothing: whitespace, controls and the zero-width ones.
fn invisible(c: char) -> bool {
    c.is_whitespace() || c.is_control() || matches!(c, '\u{200b}'..='\u{200d}' | '\u{2060}' | '\u{feff}')
}

/// A text field: something visible, at most `max` characters, and no control character but a
/// line break or tab (a NUL, which PostgreSQL refuses in text, among them).
pub fn check_length(field: &str, value: &str, max: usize) -> Result<(), AppError> {
    if value.chars().all(invisible) {
        return Err(invalid(field, "must not be empty"));
    }
    if value.chars().count() > max {
        return Err(invalid(field, format!("must be at most {max} characters")));
    }
    if value
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err(invalid(field, "must not contain control characters"));
    }
    Ok(())
}

/// What a reused idempotency key resolves to: the resource its first request created, when the
/// request is the same; IDEMPOTENCY_KEY_REUSED otherwise.
pub fn earlier_resource(key_use: KeyUse, request_hash: &str) -> Result<Uuid, AppError> {
    match key_use {
        KeyUse::Earlier {
            request_hash: first,
            resource_id,
        } if first == request_hash => resource_id.ok_or(AppError::NotFound),
        _ => Err(AppError::IdempotencyKeyReused),
    }
}
