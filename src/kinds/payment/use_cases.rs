//! Payments as merchants see them: creating one (validated, idempotent like Stripe), cancelling,
//! reading and listing (each merchant only its own), and settling from Alipay+ notifications.
//! The `payment` workflow instance holds the state; the `payments` row holds what the merchant
//! asked for; what Alipay+ states of a success is its `payment_results` row
//! (`app::payment_results`); values the workflow learns (checkout URL, Alipay+ payment id,
//! failure code) are kept in the instance data.

use super::names;
use crate::app::merchant_lists::{ListRequest, merchant_page};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::alipayplus::wire::{Amount, NotifyPaymentRequest, ResultStatus};
use crate::app::auth::Principal;
use crate::app::console::Operator;
use crate::app::errors::{AppError, check_length, earlier_resource, invalid, require_note};
use crate::app::merchant_profile::check_region;
use crate::app::metadata;
use crate::app::money::parse_amount;
use crate::app::{Engine, merchants};
use crate::domain::currency_exponent;
use crate::kinds::payment::results::{PAID_AT_KEY, StatedResult};
use crate::kinds::payment::rows::{self as rows, PaymentRow};
use crate::kinds::payment::status::PublicStatus;
use crate::kinds::registration::rows::{CASHIER_PAYMENT, completed_for};
use crate::store::entity::{instance, merchant, payment};
use crate::store::idempotency::{IdempotencyKey, KeyUse, request_hash};
use crate::store::inbound::InboundCall;
use crate::store::{self, EventInput, Outcome, Park};
use crate::workflow::EventName;

/// createPayment's input, as the merchant wrote it.
#[derive(Debug, Clone, Serialize)]
pub struct NewPayment {
    pub merchant_order_id: String,
    pub order_description: String,
    pub currency: String,
    /// Integer minor units, as a decimal string.
    pub amount: String,
    pub terminal_type: String,
    pub os_type: Option<String>,
    pub redirect_url: String,
    pub user_region: Option<String>,
    pub settlement_currency: Option<String>,
    pub expires_in_seconds: Option<i32>,
    /// The merchant's own reference of its customer: Alipay+ receives a digest of it (see
    /// [`buyer_reference`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub buyer_reference: Option<String>,
    /// The merchant's own pairs, echoed in the payment's events and webhooks.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub metadata: Vec<metadata::Entry>,
}

/// `order.buyer.referenceBuyerId` of a payment whose merchant `merchant_id` named its customer
/// `reference`: the SHA-256 of both, in hex (64 characters, Alipay+'s limit). The same customer
/// of the same merchant is the same buyer to Alipay+'s risk checks; the merchant's own customer
/// ids never leave plusflow.
pub fn buyer_reference(merchant_id: Uuid, reference: &str) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(format!("{merchant_id}:{reference}").as_bytes()))
}

/// The most a cashier payment may wait: `paymentExpiryTime` must be under 10 minutes
/// (ALIPAYPLUS.md 3.1; a longer one is ignored by Alipay+, which then applies its own 10).
pub const MAX_EXPIRY_SECONDS: i32 = 599;

impl NewPayment {
    /// Every check, before anything is stored or sent. `real_alipayplus`: customers return to
    /// https only (http too with the simulator).
    fn validate(&self, real_alipayplus: bool) -> Result<(i64, i32, Option<Value>), AppError> {
        check_length("merchantOrderId", &self.merchant_order_id, 64)?;
        check_length("orderDescription", &self.order_description, 256)?;
        let amount = parse_amount("amount", &self.currency, &self.amount)?;
        if !["WEB", "WAP", "APP", "MINI_APP"].contains(&self.terminal_type.as_str()) {
            return Err(invalid("terminalType", "must be WEB, WAP, APP or MINI_APP"));
        }
        match (&self.os_type, self.terminal_type.as_str()) {
            (None, "WAP" | "APP") => {
                return Err(invalid(
                    "osType",
                    format!("is required when terminalType is {}", self.terminal_type),
                ));
            }
            (Some(os), _) if os != "IOS" && os != "ANDROID" => {
                return Err(invalid("osType", "must be IOS or ANDROID"));
            }
            _ => {}
        }
        if let Some(reference) = &self.buyer_reference {
            check_length("buyerReference", reference, 256)?;
            if reference.trim().is_empty() {
                return Err(invalid("buyerReference", "must not be empty"));
            }
        }
        check_length("redirectUrl", &self.redirect_url, 2048)?;
        let redirect = url::Url::parse(&self.redirect_url)
            .map_err(|e| invalid("redirectUrl", format!("is not a URL ({e})")))?;
        // Never javascript:, data:, file:, vbscript:...: the customer's browser is sent there.
        match redirect.scheme() {
            "https" => {}
            "http" if !real_alipayplus => {}
            _ if real_alipayplus => return Err(invalid("redirectUrl", "must be an https URL")),
            _ => {
                return Err(invalid(
                    "redirectUrl",
                    "must be an https (or, with the simulator, http) URL",
                ));
            }
        }
        if let Some(region) = &self.user_region {
            check_region("userRegion", region)?;
        }
        if let Some(currency) = &self.settlement_currency
            && currency_exponent(currency).is_none()
        {
            return Err(invalid(
                "settlementCurrency",
                format!("unknown or unsupported currency '{currency}'"),
            ));
        }
        let expiry = self.expires_in_seconds.unwrap_or(MAX_EXPIRY_SECONDS);
        if !(1..=MAX_EXPIRY_SECONDS).contains(&expiry) {
            return Err(invalid(
                "expiresInSeconds",
                format!(
                    "must be between 1 and {MAX_EXPIRY_SECONDS} (Alipay+ cashier payments expire in under 10 minutes)"
                ),
            ));
        }
        Ok((amount, expiry, metadata::checked(&self.metadata)?))
    }

    fn fingerprint(&self) -> String {
        request_hash(self)
    }
}

/// A payment with its workflow instance.
#[derive(Debug, Clone)]
pub struct PaymentView {
    pub payment: payment::Model,
    pub instance: instance::Model,
    pub status: PublicStatus,
}

impl PaymentView {
    /// A text value the workflow learnt (see the module doc).
    pub fn data(&self, key: &str) -> Option<String> {
        self.instance
            .data
            .get(key)
            .and_then(Value::as_str)
            .map(str::to_string)
    }

    pub fn checkout_url(&self) -> Option<String> {
        self.data("checkoutUrl")
    }

    pub fn alipay_payment_id(&self) -> Option<String> {
        self.data("alipayPaymentId")
    }

    pub fn failure_code(&self) -> Option<String> {
        self.data("failureCode")
    }

    /// When plusflow learnt that the payment succeeded; for payments settled before this was
    /// kept, their creation (never later than the success).
    pub fn paid_at(&self) -> DateTime<Utc> {
        self.data(PAID_AT_KEY)
            .and_then(|at| DateTime::parse_from_rfc3339(&at).ok())
            .map_or(self.payment.created_at, |at| at.with_timezone(&Utc))
    }
}

fn view_with(engine: &Engine, payment: payment::Model, instance: instance::Model) -> PaymentView {
    let status = PublicStatus::of(engine, &instance);
    PaymentView {
        payment,
        instance,
        status,
    }
}

/// Creates a payment, or replays the one created earlier with the same key and input.
pub async fn create_payment(
    engine: &Engine,
    principal: &Principal,
    input: NewPayment,
    idempotency_key: &str,
) -> Result<PaymentView, AppError> {
    let Principal::Merchant(merchant) = principal else {
        return Err(AppError::Forbidden);
    };
    check_length("idempotencyKey", idempotency_key, 255)?;
    let (amount, expiry, metadata) = input.validate(engine.real_alipayplus)?;
    // Before anything is stored or sent: Alipay+ would refuse it (PARAM_ILLEGAL,
    // MERCHANT_NOT_REGISTERED).
    merchants::check_profile_for_payments(engine, merchant)?;
    check_registered_for_payments(engine, merchant, input.user_region.as_deref()).await?;
    let now = engine.clock.now();
    let template = payment::Model {
        id: Uuid::nil(),
        merchant_id: merchant.id,
        merchant_order_id: input.merchant_order_id.clone(),
        payment_request_id: format!("pf_{}", Uuid::now_v7().simple()),
        order_description: input.order_description.clone(),
        currency: input.currency.clone(),
        amount,
        terminal_type: input.terminal_type.clone(),
        os_type: input.os_type.clone(),
        redirect_url: input.redirect_url.clone(),
        user_region: input.user_region.clone(),
        settlement_currency: input.settlement_currency.clone(),
        expires_at: now + chrono::Duration::seconds(i64::from(expiry)),
        checkout_url: None,
        alipay_payment_id: None,
        wallet_brand_name: None,
        failure_code: None,
        created_at: now,
        buyer_reference: input
            .buyer_reference
            .as_deref()
            .map(|reference| buyer_reference(merchant.id, reference)),
        metadata,
    };
    let scope = format!("merchant:{}", merchant.id);
    let hash = input.fingerprint();
    let key = IdempotencyKey {
        scope: &scope,
        key: idempotency_key,
        request_hash: &hash,
    };
    match rows::create_payment(
        &engine.db,
        engine.decider(),
        key,
        &template,
        &merchants::new_instance(merchant),
    )
    .await?
    {
        Ok(applied) => {
            // What was just written, without reading it back.
            let payment = payment::Model {
                id: applied.instance.id,
                ..template
            };
            engine.fresh_rows.remember(payment.id, payment.clone());
            engine.wake_relay();
            engine.announce(applied.instance.id);
            Ok(view_with(engine, payment, applied.instance))
        }
        Err(KeyUse::OrderTaken) => Err(AppError::DuplicateOrder(input.merchant_order_id)),
        Err(key_use) => {
            let id = earlier_resource(key_use, &hash)?;
            let (payment, instance) = rows::payment_with_instance(&engine.db, id)
                .await?
                .ok_or(AppError::NotFound)?;
            Ok(view_with(engine, payment, instance))
        }
    }
}

/// A payment the principal may see.
pub async fn get_payment(engine: &Engine, principal: &Principal, id: Uuid) -> Result<PaymentView, AppError> {
    match rows::payment_with_instance(&engine.db, id).await? {
        Some((payment, instance)) if principal.may_see_owner(payment.merchant_id) => {
            Ok(view_with(engine, payment, instance))
        }
        _ => Err(AppError::NotFound),
    }
}

/// A page of `first` of the merchant's payments that `request` asks for, newest first; `true`
/// if there are more.
pub async fn list_payments(
    engine: &Engine,
    principal: &Principal,
    first: u64,
    request: &ListRequest,
) -> Result<(Vec<PaymentView>, bool), AppError> {
    let (rows, more) =
        merchant_page::<payment::Entity>(engine, principal, "payment", &rows::LISTED_BY, first, request)
            .await?;
    let views = rows
        .into_iter()
        .map(|(payment, instance)| view_with(engine, payment, instance))
        .collect();
    Ok((views, more))
}

/// Asks to cancel a payment that has no final result yet: its merchant, or an operator (named,
/// with the note saying why, both in its history).
pub async fn cancel_payment(
    engine: &Engine,
    principal: &Principal,
    id: Uuid,
    operator: Option<(&Operator, &str)>,
) -> Result<PaymentView, AppError> {
    let event = match (principal, operator) {
        (Principal::Merchant(merchant), _) => {
            EventInput::new(EventName::CANCEL_REQUESTED, format!("merchant:{}", merchant.id))
        }
        (Principal::Admin, Some((operator, note))) => {
            let note = require_note(note)?;
            EventInput::new(EventName::CANCEL_REQUESTED, operator.actor())
                .with_detail(json!({ "note": note }))
                .with_activity(operator.activity(
                    engine.clock.now(),
                    "cancelPayment",
                    &[id.to_string()],
                    note,
                ))
        }
        (Principal::Admin, None) => {
            return Err(invalid("note", "an operator action needs a note saying why"));
        }
    };
    let current = get_payment(engine, principal, id).await?;
    let applied = engine.apply_seen(&current.instance, event).await?;
    match applied.outcome {
        Outcome::Transitioned { .. } | Outcome::Ignored { .. } => {
            Ok(view_with(engine, current.payment, applied.instance))
        }
        Outcome::Rejected { .. } => Err(AppError::InvalidTransition(format!(
            "a {} payment cannot be cancelled",
            current.status
        ))),
    }
}

/// What a notifyPayment did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotificationHandled {
    /// Applied (transitioned, or recorded as ignored).
    Applied,
    /// The amount differs from ours: the payment is parked for an operator.
    Parked(String),
}

/// Why Alipay+'s statement of a payment's amount cannot be trusted to settle it, if it cannot:
/// a success must state the amount and it must be ours; a failure, where it states one, too.
/// `source` names the answer ("notifyPayment", "inquiryPayment").
pub fn amount_disagreement(
    payment: &payment::Model,
    status: ResultStatus,
    stated: Option<&Amount>,
    source: &str,
) -> Option<String> {
    match stated {
        None if status == ResultStatus::S => Some(format!(
            "{source} reports success without a paymentAmount (the payment is {} {}); not applied",
            payment.amount, payment.currency
        )),
        Some(amount) if amount.value != payment.amount || amount.currency != payment.currency => {
            Some(format!(
                "{source} says {} {} but the payment is {} {}; not applied",
                amount.value, amount.currency, payment.amount, payment.currency
            ))
        }
        _ => None,
    }
}

/// Settles `payment` (as read with its instance) from a verified notifyPayment about it, and
/// journals the `call` that carried it in the same write as what it did: the transition, the
/// park of a payment whose amount does not match (held for an operator), or, for a
/// notification that is not a final result, a history row that says it changed nothing.
pub async fn handle_notification(
    engine: &Engine,
    (payment, instance): &PaymentRow,
    notification: &NotifyPaymentRequest,
    call: InboundCall<'_>,
) -> Result<NotificationHandled, AppError> {
    let clock = engine.clock.as_ref();
    let result = &notification.payment_result;
    let journal = call.into_row(clock);
    let final_result = matches!(result.result_status, ResultStatus::S | ResultStatus::F);
    if final_result
        && let Some(reason) = amount_disagreement(
            payment,
            result.result_status,
            notification.payment_amount.as_ref(),
            "notifyPayment",
        )
    {
        let park = Park {
            reason: reason.clone(),
            hold: true,
            in_state: None,
            actor: "alipayplus".into(),
        };
        store::park_instance(&engine.db, clock, payment.id, &park, Some(journal)).await?;
        engine.announce(payment.id);
        return Ok(NotificationHandled::Parked(reason));
    }
    let detail = json!({ "resultCode": result.result_code, "paymentId": notification.payment_id });
    let event = match result.result_status {
        ResultStatus::S => StatedResult::from(notification).success(
            EventInput::new(names::NOTIFIED_SUCCESS, "alipayplus"),
            payment.id,
            clock.now(),
        ),
        ResultStatus::F => EventInput::new(names::NOTIFIED_FAILURE, "alipayplus")
            .with_data(failure_fields(&result.result_code)),
        // notifyPayment is only ever S or F; anything else is not a final result (ALIPAYPLUS.md 3.2).
        ResultStatus::U | ResultStatus::Other => {
            let note = store::Note {
                event: "notification",
                actor: "alipayplus".into(),
                reason: format!(
                    "not a final result ({:?} {})",
                    result.result_status, result.result_code
                ),
                detail,
            };
            store::record_unchanged(&engine.db, clock, payment.id, &note, Some(journal)).await?;
            return Ok(NotificationHandled::Applied);
        }
    };
    let event = event.with_detail(detail).with_inbound(journal);
    engine.apply_seen(instance, event).await?;
    Ok(NotificationHandled::Applied)
}

/// Instance data learnt when a payment fails.
pub fn failure_fields(code: &str) -> Map<String, Value> {
    Map::from_iter([("failureCode".to_string(), Value::from(code))])
}

/// When the workflow will act next on its own (the earliest pending effect or timer).
pub async fn next_run_at(engine: &Engine, instance_id: Uuid) -> Result<Option<DateTime<Utc>>, AppError> {
    Ok(crate::store::next_run_ms(&engine.db, instance_id)
        .await?
        .and_then(DateTime::from_timestamp_millis))
}

/// MERCHANT_NOT_REGISTERED for a payment of `merchant` in `user_region` that needs the merchant
/// registered (`registration.required_regions`) while it has no COMPLETED registration for
/// cashier payments; no query where no region requires one.
pub async fn check_registered_for_payments(
    engine: &Engine,
    merchant: &merchant::Model,
    user_region: Option<&str>,
) -> Result<(), AppError> {
    if engine.registration.required_for(user_region)
        && !completed_for(&engine.db, merchant.id, CASHIER_PAYMENT).await?
    {
        return Err(AppError::MerchantNotRegistered);
    }
    Ok(())
}
