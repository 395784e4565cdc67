//! Refunds as merchants see them: full, partial and several, never more than was paid. Every
//! check happens before anything is sent to Alipay+; the amount check happens in the same
//! transaction that records the refund (see `store::refunds`).

use serde::Serialize;
use uuid::Uuid;

use crate::app::auth::Principal;
use crate::app::errors::{AppError, check_length, earlier_resource};
use crate::app::merchant_lists::{ListRequest, merchant_page};
use crate::app::metadata;
use crate::app::money::parse_amount;
use crate::app::{Engine, merchants};
use crate::kinds::payment::status::PublicStatus;
use crate::kinds::payment::use_cases::{PaymentView, get_payment};
use crate::kinds::refund::rows::{self as rows, RefundCreation};
use crate::store::entity::{instance, refund};
use crate::store::idempotency::{IdempotencyKey, request_hash};
use crate::store::{self};

/// Alipay+ accepts refunds for about a year (ALIPAYPLUS.md 3.5: 365 days by default).
pub const REFUND_WINDOW_DAYS: i64 = 365;

/// createRefund's input, as the merchant wrote it.
#[derive(Debug, Clone, Serialize)]
pub struct NewRefund {
    pub payment_id: Uuid,
    pub currency: String,
    pub amount: String,
    pub reason: Option<String>,
    /// The merchant's own pairs, echoed in the refund's events and webhooks.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub metadata: Vec<metadata::Entry>,
}

#[derive(Debug, Clone)]
pub struct RefundView {
    pub refund: refund::Model,
    pub instance: instance::Model,
    pub status: PublicStatus,
}

impl RefundView {
    pub fn failure_code(&self) -> Option<String> {
        self.instance
            .data
            .get("failureCode")
            .and_then(|v| v.as_str())
            .map(str::to_string)
    }

    pub fn alipay_refund_id(&self) -> Option<String> {
        self.instance
            .data
            .get("refundId")
            .and_then(|v| v.as_str())
            .map(str::to_string)
    }
}

fn view_with(engine: &Engine, refund: refund::Model, instance: store::entity::instance::Model) -> RefundView {
    let status = PublicStatus::of(engine, &instance);
    RefundView {
        refund,
        instance,
        status,
    }
}

/// Refunds part or all of a succeeded payment.
pub async fn create_refund(
    engine: &Engine,
    principal: &Principal,
    input: NewRefund,
    idempotency_key: &str,
) -> Result<RefundView, AppError> {
    let Principal::Merchant(merchant) = principal else {
        return Err(AppError::Forbidden);
    };
    check_length("idempotencyKey", idempotency_key, 255)?;
    let payment = get_payment(engine, principal, input.payment_id).await?;
    if input.currency != payment.payment.currency {
        return Err(AppError::Validation {
            field: "amount.currency".into(),
            message: format!(
                "a refund is in the payment currency, {}",
                payment.payment.currency
            ),
        });
    }
    let amount = parse_amount("amount", &input.currency, &input.amount)?;
    if let Some(reason) = &input.reason
        && reason.chars().count() > 256
    {
        return Err(AppError::Validation {
            field: "reason".into(),
            message: "must be at most 256 characters".into(),
        });
    }
    if payment.status != PublicStatus::Succeeded {
        return Err(AppError::NotRefundable(format!(
            "a {} payment cannot be refunded",
            payment.status
        )));
    }
    let now = engine.clock.now();
    // The window counts from the success (a payment settled late, after a refused cancel or by
    // an operator, keeps its whole year).
    if now > payment.paid_at() + chrono::Duration::days(REFUND_WINDOW_DAYS) {
        return Err(AppError::RefundWindowExpired {
            days: REFUND_WINDOW_DAYS,
        });
    }
    let template = refund::Model {
        id: Uuid::nil(),
        payment_id: payment.payment.id,
        merchant_id: merchant.id,
        refund_request_id: refund::new_request_id(),
        currency: input.currency.clone(),
        amount,
        reason: input.reason.clone(),
        created_at: now,
        metadata: metadata::checked(&input.metadata)?,
    };
    let scope = format!("merchant:{}:refund", merchant.id);
    let hash = request_hash(&input);
    let key = IdempotencyKey {
        scope: &scope,
        key: idempotency_key,
        request_hash: &hash,
    };
    let paid = payment.payment.amount;
    match rows::create_refund(
        &engine.db,
        engine.decider(),
        key,
        &template,
        paid,
        &merchants::new_instance(merchant),
    )
    .await?
    {
        RefundCreation::Created(applied) => {
            engine.wake_relay();
            engine.announce(applied.instance.id);
            // What was just written, without reading it back.
            let refund = refund::Model {
                id: applied.instance.id,
                ..template
            };
            Ok(view_with(engine, refund, applied.instance))
        }
        RefundCreation::KeyUsedBefore(key_use) => {
            let id = earlier_resource(key_use, &hash)?;
            let (refund, instance) = rows::refund_with_instance(&engine.db, id)
                .await?
                .ok_or(AppError::NotFound)?;
            Ok(view_with(engine, refund, instance))
        }
        RefundCreation::Exceeds { refundable } => Err(AppError::RefundExceedsRefundable {
            requested: amount,
            refundable,
        }),
    }
}

/// A page of `first` of the merchant's refunds that `request` asks for, newest first; `true` if
/// there are more.
pub async fn list_refunds(
    engine: &Engine,
    principal: &Principal,
    first: u64,
    request: &ListRequest,
) -> Result<(Vec<RefundView>, bool), AppError> {
    let (rows, more) =
        merchant_page::<refund::Entity>(engine, principal, "refund", &rows::LISTED_BY, first, request)
            .await?;
    let views = rows
        .into_iter()
        .map(|(refund, instance)| view_with(engine, refund, instance))
        .collect();
    Ok((views, more))
}

/// A refund the principal may see.
pub async fn get_refund(engine: &Engine, principal: &Principal, id: Uuid) -> Result<RefundView, AppError> {
    let (refund, instance) = rows::refund_with_instance(&engine.db, id)
        .await?
        .ok_or(AppError::NotFound)?;
    match principal {
        Principal::Merchant(merchant) if merchant.id != refund.merchant_id => Err(AppError::NotFound),
        _ => Ok(view_with(engine, refund, instance)),
    }
}

/// A payment's refunds, oldest first.
pub async fn refunds_of(engine: &Engine, payment_id: Uuid) -> Result<Vec<RefundView>, AppError> {
    Ok(rows::refunds_of(&engine.db, payment_id)
        .await?
        .into_iter()
        .map(|(refund, instance)| view_with(engine, refund, instance))
        .collect())
}

/// (refunded, refundable) of a payment: succeeded refunds, and what may still be refunded
/// (nothing unless the payment succeeded; pending refunds hold their amount).
pub fn refund_totals(payment: &PaymentView, refunds: &[RefundView]) -> (i64, i64) {
    let sum = |keep: fn(PublicStatus) -> bool| {
        refunds
            .iter()
            .filter(|r| keep(r.status))
            .map(|r| r.refund.amount)
            .sum::<i64>()
    };
    let refunded = sum(|s| s == PublicStatus::Succeeded);
    let held = sum(|s| s != PublicStatus::Failed);
    let refundable = if payment.status == PublicStatus::Succeeded {
        payment.payment.amount - held
    } else {
        0
    };
    (refunded, refundable)
}
