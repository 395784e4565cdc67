//! The effects of the `payment`, `refund` and `dispute` workflows. Each turns an Alipay+ answer into the
//! workflow's next event; an unknown answer (U, timeout, 5xx, unverifiable) is a retry with the
//! SAME paymentRequestId / refundRequestId, never a failure. `notify_merchant` delivers the
//! HMAC-signed webhook of a payment, refund or dispute; `send_dispute_response` answers a dispute.

use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt;
use futures::future::BoxFuture;
use hmac::{Hmac, KeyInit, Mac};
use sea_orm::ActiveValue::Set;
use serde_json::{Map, Value, json};
use sha2::Sha256;

use crate::alipayplus::client::{Client, Outcome};
use crate::alipayplus::wire::*;
use crate::app::merchants;
use crate::app::payments::{amount_disagreement, failure_fields, settled_fields, status_of};
use crate::app::{EffectContext, EffectError, EffectHandler, EffectRegistry, EffectResult, Engine};
use crate::jobs::webhook_http;
use crate::store::entity::{payment, refund, webhook_delivery};
use crate::store::payments as rows;
use crate::store::refunds;
use crate::store::{EventInput, StoreError};
use crate::workflow::{EffectName, EventName};

/// What the payment effects share.
struct PaymentEffects {
    engine: Engine,
    client: Client,
    /// Where Alipay+ sends notifyPayment: `<public_url>/alipayplus/notifyPayment`.
    notify_url: String,
    /// Sends merchant webhooks (see `webhook_http`).
    http: reqwest::Client,
    allow_private_targets: bool,
}

fn retry(error: impl std::fmt::Display) -> EffectError {
    EffectError::Retry(error.to_string())
}

fn store_error(error: StoreError) -> EffectError {
    retry(error)
}

fn event(name: EventName, effect: EffectName, detail: Value, data: Map<String, Value>) -> EffectResult {
    Ok(Some(
        EventInput::new(name, format!("effect:{effect}"))
            .with_detail(detail)
            .with_data(data),
    ))
}

impl PaymentEffects {
    async fn payment(&self, context: &EffectContext) -> Result<payment::Model, EffectError> {
        rows::payment(&self.engine.db, context.instance.id)
            .await
            .map_err(store_error)?
            .ok_or_else(|| {
                EffectError::Permanent(format!("no payment row for instance {}", context.instance.id))
            })
    }

    /// The refund an instance of `refund` stands for, and its payment.
    async fn refund(&self, context: &EffectContext) -> Result<(refund::Model, payment::Model), EffectError> {
        let id = context.instance.id;
        let refund = refunds::refund(&self.engine.db, id)
            .await
            .map_err(store_error)?
            .ok_or_else(|| EffectError::Permanent(format!("no refund row for instance {id}")))?;
        let payment = rows::payment(&self.engine.db, refund.payment_id)
            .await
            .map_err(store_error)?
            .ok_or_else(|| EffectError::Permanent("the refund's payment is gone".into()))?;
        Ok((refund, payment))
    }

    fn pay_request(&self, payment: &payment::Model) -> PayRequest {
        let amount = Amount::new(&payment.currency, payment.amount);
        PayRequest {
            order: Order {
                reference_order_id: payment.merchant_order_id.clone(),
                order_description: payment.order_description.clone(),
                order_amount: amount.clone(),
                merchant: Some(Merchant {
                    reference_merchant_id: Some(payment.merchant_id.simple().to_string()),
                    ..Default::default()
                }),
                goods: None,
                shipping: None,
                buyer: None,
                env: Some(Env {
                    terminal_type: Some(payment.terminal_type.clone()),
                    os_type: payment.os_type.clone(),
                    ..Default::default()
                }),
            },
            payment_request_id: payment.payment_request_id.clone(),
            payment_amount: amount,
            payment_method: PaymentMethod {
                payment_method_type: "CONNECT_WALLET".into(),
                payment_method_id: None,
                customer_id: None,
            },
            payment_factor: PaymentFactor::cashier(),
            payment_expiry_time: Some(crate::alipayplus::signing::timestamp(payment.expires_at)),
            payment_notify_url: Some(self.notify_url.clone()),
            payment_redirect_url: Some(payment.redirect_url.clone()),
            settlement_strategy: payment
                .settlement_currency
                .clone()
                .map(|settlement_currency| SettlementStrategy { settlement_currency }),
            user_region: payment.user_region.clone(),
            allowed_psp_regions: None,
        }
    }

    async fn submit_pay(&self, context: EffectContext) -> EffectResult {
        let payment = self.payment(&context).await?;
        let accepted = |response: &PayResponse| {
            if let Some(reason) = pay_answer_disagreement(&payment, response) {
                return Err(EffectError::Hold(reason));
            }
            let data = redirect_fields(response).ok_or_else(|| {
                // The order is placed, but the customer cannot be sent anywhere: a protocol
                // error, asked again with the same paymentRequestId (the expiry timer bounds it).
                retry("pay: accepted without normalUrl, applinkUrl, schemeUrl or paymentData")
            })?;
            event(
                EventName::PayAccepted,
                context.effect,
                json!({ "resultCode": response.result.result_code }),
                data,
            )
        };
        match self.client.pay(&self.pay_request(&payment)).await {
            Outcome::Succeeded(response) => accepted(&response),
            // U with a checkout page: the order was placed (ALIPAYPLUS.md 3.1).
            Outcome::Unknown {
                response: Some(response),
                ..
            } if response.result.result_code == "PAYMENT_IN_PROCESS"
                && redirect_fields(&response).is_some() =>
            {
                accepted(&response)
            }
            Outcome::Rejected { code, message, .. } => event(
                EventName::PayRejected,
                context.effect,
                json!({ "resultCode": code, "resultMessage": message }),
                failure_fields(&code),
            ),
            Outcome::Unknown { reason, .. } => Err(retry(format!("pay: {reason}"))),
        }
    }

    /// What inquiryPayment says of `payment`, read as the payment workflow needs it.
    async fn inquire(&self, payment: &payment::Model) -> Inquiry {
        match self.client.inquiry_payment(reference(payment)).await {
            Outcome::Succeeded(response) => match &response.payment_result {
                Some(result) if matches!(result.result_status, ResultStatus::S | ResultStatus::F) => {
                    let stated = response.payment_amount.as_ref();
                    if let Some(reason) =
                        amount_disagreement(payment, result.result_status, stated, "inquiryPayment")
                    {
                        Inquiry::Disagrees(reason)
                    } else if result.result_status == ResultStatus::S {
                        Inquiry::Paid(settled_fields(
                            response.payment_id.as_deref(),
                            response.wallet_brand_name.as_deref(),
                            self.engine.clock.now(),
                        ))
                    } else if result.result_code == "ORDER_NOT_EXIST" {
                        // Not a failure: Alipay+ does not (yet) know the order (ALIPAYPLUS.md 3.3, 3.5a).
                        Inquiry::Open("F ORDER_NOT_EXIST".into())
                    } else {
                        Inquiry::Failed(result.result_code.clone())
                    }
                }
                Some(result) => Inquiry::Open(format!("{:?} {}", result.result_status, result.result_code)),
                None => Inquiry::Open("no paymentResult".into()),
            },
            // The call itself refused (ORDER_NOT_EXIST among others): says nothing final.
            Outcome::Rejected { code, .. } => Inquiry::Open(format!("F {code}")),
            Outcome::Unknown { reason, .. } => Inquiry::Unknown(reason),
        }
    }

    async fn poll_payment(&self, context: EffectContext) -> EffectResult {
        let payment = self.payment(&context).await?;
        let expired = self.engine.clock.now() >= payment.expires_at;
        let still_open = |why: String| {
            if expired {
                event(
                    EventName::Expired,
                    context.effect,
                    json!({ "lastInquiry": why }),
                    Map::new(),
                )
            } else {
                Err(retry(format!("inquiryPayment: {why}")))
            }
        };
        match self.inquire(&payment).await {
            Inquiry::Paid(fields) => event(
                EventName::InquirySuccess,
                context.effect,
                json!({ "resultCode": "SUCCESS" }),
                fields,
            ),
            // Closed because it expired: confirm with cancelPayment (excluded from settlement),
            // as for any payment without a final result by its expiry.
            Inquiry::Failed(code) if expired && code == "ORDER_IS_CLOSED" => event(
                EventName::Expired,
                context.effect,
                json!({ "resultCode": code }),
                Map::new(),
            ),
            Inquiry::Failed(code) => event(
                EventName::InquiryFailure,
                context.effect,
                json!({ "resultCode": code }),
                failure_fields(&code),
            ),
            Inquiry::Disagrees(reason) => Err(EffectError::Hold(reason)),
            Inquiry::Open(why) | Inquiry::Unknown(why) => still_open(why),
        }
    }

    /// cancelPayment until S. A cancel that cannot succeed does not leave the outcome unknown:
    /// inquiryPayment decides (see [`PaymentEffects::settle_by_inquiry`]).
    async fn cancel_payment(&self, context: EffectContext) -> EffectResult {
        let payment = self.payment(&context).await?;
        let data = &context.instance.data;
        let pay_accepted = data.get("alipayPaymentId").is_some() || data.get("checkoutUrl").is_some();
        match self.client.cancel_payment(reference(&payment)).await {
            Outcome::Succeeded(_) => event(
                EventName::CancelSucceeded,
                context.effect,
                json!({ "resultCode": "SUCCESS" }),
                Map::new(),
            ),
            // Alipay+ does not know a payment it never accepted. A pay request sent before the
            // payment left `submitting` (answered U, or timed out) may still be on its way and
            // create it, so the answer is believed only once longer than any call can be in
            // flight has passed since the cancel was decided: then Alipay+ never had it, and
            // nothing is left to cancel. Until then, ask again (the conservative reading of
            // ALIPAYPLUS.md 3.4). Both times come from the database's clock.
            Outcome::Rejected { code, .. } if code == "ORDER_NOT_EXIST" && !pay_accepted => {
                let settled_after =
                    chrono::Duration::from_std(self.client.longest_call()).expect("call timeouts are short");
                if self.engine.clock.now() - context.scheduled_at <= settled_after {
                    return Err(retry(
                        "cancelPayment: ORDER_NOT_EXIST while a pay request may still be in flight; asking again",
                    ));
                }
                event(
                    EventName::CancelSucceeded,
                    context.effect,
                    json!({ "resultCode": code }),
                    Map::new(),
                )
            }
            // Refused for good (CANCEL_WINDOW_EXCEED, ORDER_NOT_EXIST for an order Alipay+
            // accepted, ...): the customer may well have paid.
            Outcome::Rejected { code, message, .. } => {
                let refusal = format!("cancelPayment refused: {code} {}", message.unwrap_or_default());
                self.settle_by_inquiry(&context, &payment, refusal.trim_end(), true)
                    .await
            }
            Outcome::Unknown { reason, .. } if context.last_attempt => {
                let why = format!("cancelPayment still unknown on its last attempt: {reason}");
                self.settle_by_inquiry(&context, &payment, &why, false).await
            }
            Outcome::Unknown { reason, .. } => Err(retry(format!("cancelPayment: {reason}"))),
        }
    }

    /// Settles a payment whose cancel could not be done on what inquiryPayment says: paid ->
    /// `confirmed_success` (refundable), failed or closed -> `confirmed_failure`. If Alipay+
    /// cannot tell, a refused cancel parks the payment at once (an operator decides) and an
    /// unknown one is asked again until its attempts are used up.
    async fn settle_by_inquiry(
        &self,
        context: &EffectContext,
        payment: &payment::Model,
        why: &str,
        refused: bool,
    ) -> EffectResult {
        match self.inquire(payment).await {
            Inquiry::Paid(fields) => event(
                EventName::ConfirmedSuccess,
                context.effect,
                json!({ "cancel": why, "resultCode": "SUCCESS" }),
                fields,
            ),
            Inquiry::Failed(code) => event(
                EventName::ConfirmedFailure,
                context.effect,
                json!({ "cancel": why, "resultCode": code }),
                failure_fields(&code),
            ),
            Inquiry::Disagrees(reason) => Err(EffectError::Hold(format!("{why}; {reason}"))),
            Inquiry::Open(answer) if refused => Err(EffectError::Permanent(format!(
                "{why}; inquiryPayment cannot tell ({answer})"
            ))),
            Inquiry::Open(answer) | Inquiry::Unknown(answer) => {
                Err(retry(format!("{why}; inquiryPayment: {answer}")))
            }
        }
    }

    /// `refund` with the refund's own refundRequestId: S -> refund_succeeded, F -> refund_failed
    /// with its code, anything unknown -> retried with the same id.
    async fn submit_refund(&self, context: EffectContext) -> EffectResult {
        let (refund, payment) = self.refund(&context).await?;
        let request = RefundRequest {
            payment_request_id: Some(payment.payment_request_id),
            payment_id: None,
            refund_request_id: refund.refund_request_id,
            refund_amount: Amount::new(&refund.currency, refund.amount),
            refund_reason: refund.reason,
        };
        match self.client.refund(&request).await {
            Outcome::Succeeded(response) => {
                let mut data = Map::new();
                if let Some(id) = response.refund_id {
                    data.insert("refundId".into(), id.into());
                }
                event(
                    EventName::RefundSucceeded,
                    context.effect,
                    json!({ "resultCode": "SUCCESS" }),
                    data,
                )
            }
            Outcome::Rejected { code, message, .. } => event(
                EventName::RefundFailed,
                context.effect,
                json!({ "resultCode": code, "resultMessage": message }),
                failure_fields(&code),
            ),
            Outcome::Unknown { reason, .. } => Err(retry(format!("refund: {reason}"))),
        }
    }

    async fn dispute(
        &self,
        context: &EffectContext,
    ) -> Result<crate::app::disputes::DisputeView, EffectError> {
        let (dispute, instance) =
            crate::store::disputes::dispute_with_instance(&self.engine.db, context.instance.id)
                .await
                .map_err(store_error)?
                .ok_or_else(|| {
                    EffectError::Permanent(format!("no dispute row for instance {}", context.instance.id))
                })?;
        Ok(crate::app::disputes::DisputeView { dispute, instance })
    }

    /// responseRetrieval or responseEscalation with the merchant's recorded response (the same
    /// body on every retry): S -> response_accepted, F -> response_refused with the code, anything
    /// unknown -> retried.
    async fn send_dispute_response(&self, context: EffectContext) -> EffectResult {
        let view = self.dispute(&context).await?;
        let dispute = &view.dispute;
        let mut body = dispute
            .response
            .clone()
            .ok_or_else(|| EffectError::Permanent("the dispute has no recorded response".into()))?;
        body["disputeRequestId"] = Value::String(dispute.dispute_request_id.clone());
        let outcome = if dispute.kind == crate::store::entity::dispute::ESCALATION {
            let request: ResponseEscalationRequest = serde_json::from_value(body)
                .map_err(|e| EffectError::Permanent(format!("the recorded response is unreadable: {e}")))?;
            self.client.response_escalation(&request).await
        } else {
            let request: ResponseRetrievalRequest = serde_json::from_value(body)
                .map_err(|e| EffectError::Permanent(format!("the recorded response is unreadable: {e}")))?;
            self.client.response_retrieval(&request).await
        };
        match outcome {
            Outcome::Succeeded(_) => event(
                EventName::ResponseAccepted,
                context.effect,
                json!({ "resultCode": "SUCCESS" }),
                Map::new(),
            ),
            Outcome::Rejected { code, message, .. } => event(
                EventName::ResponseRefused,
                context.effect,
                json!({ "resultCode": code, "resultMessage": message }),
                failure_fields(&code),
            ),
            Outcome::Unknown { reason, .. } => Err(retry(format!("dispute response: {reason}"))),
        }
    }

    /// POSTs `{"type":"payment.updated","payment":{...}}` (or `refund.updated`) signed with the merchant's secret:
    /// header `Plusflow-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`. The
    /// object carries its workflow `version` and `updatedAt`, so a merchant drops one older
    /// than what it already has. A webhook of a state the instance has left is not sent: the
    /// runner drops a delivery whose state was left, and leaving a state disarms its pending
    /// retries.
    async fn notify_merchant(&self, context: EffectContext) -> EffectResult {
        let status = status_of(&self.engine, &context.instance);
        let data = &context.instance.data;
        let (version, updated_at) = (context.instance.version, context.instance.updated_at);
        let (payment, announced, body) = if context.instance.kind == "dispute" {
            let view = self.dispute(&context).await?;
            let payment = rows::payment(&self.engine.db, view.dispute.payment_id)
                .await
                .map_err(store_error)?
                .ok_or_else(|| EffectError::Permanent("the dispute's payment is gone".into()))?;
            let dispute = &view.dispute;
            let body = json!({
                "type": if context.instance.state == "needs_response" { "dispute.created" } else { "dispute.updated" },
                "id": context.execution_id,
                "dispute": {
                    "id": dispute.id, "paymentId": dispute.payment_id, "disputeRequestId": dispute.dispute_request_id,
                    "kind": dispute.kind, "status": view.status(), "respondBy": dispute.respond_by,
                    "reason": dispute.reason, "version": version, "updatedAt": updated_at,
                }
            });
            (payment, format!("DISPUTE_{}", view.status()), body)
        } else if context.instance.kind == "refund" {
            let (refund, payment) = self.refund(&context).await?;
            let body = json!({
                "type": "refund.updated",
                "id": context.execution_id,
                "refund": {
                    "id": refund.id, "paymentId": refund.payment_id, "refundRequestId": refund.refund_request_id,
                    "status": status, "amount": { "currency": refund.currency, "value": refund.amount.to_string() },
                    "failureCode": data.get("failureCode"), "version": version, "updatedAt": updated_at,
                }
            });
            (payment, format!("REFUND_{status}"), body)
        } else {
            let payment = self.payment(&context).await?;
            let body = json!({
                "type": "payment.updated",
                "id": context.execution_id,
                "payment": {
                    "id": payment.id, "merchantOrderId": payment.merchant_order_id, "paymentRequestId": payment.payment_request_id,
                    "status": status, "amount": { "currency": payment.currency, "value": payment.amount.to_string() },
                    "checkoutUrl": data.get("checkoutUrl"), "applinkUrl": data.get("applinkUrl"),
                    "schemeUrl": data.get("schemeUrl"), "paymentData": data.get("paymentData"),
                    "alipayPaymentId": data.get("alipayPaymentId"),
                    "failureCode": data.get("failureCode"), "version": version, "updatedAt": updated_at,
                }
            });
            (payment, status.to_string(), body)
        };
        let merchant = merchants::merchant(&self.engine, payment.merchant_id)
            .await
            .map_err(store_error)?
            .ok_or_else(|| EffectError::Permanent("the payment's merchant is gone".into()))?;
        let Some(url) = merchant.webhook_url.clone() else {
            return Ok(None);
        };
        let body = serde_json::to_vec(&body).expect("JSON");
        let now = self.engine.clock.now();
        let signature = webhook_signature(
            &merchants::webhook_secrets(&merchant, now),
            now.timestamp(),
            &body,
        );
        let target = url::Url::parse(&url)
            .map_err(|_| "the webhook URL is not a URL")
            .and_then(|parsed| {
                webhook_http::check_target(&parsed, self.allow_private_targets).map(|()| parsed)
            });
        let (http_status, error) = match target {
            Err(refused) => (None, Some(refused.to_string())),
            Ok(target) => {
                let sent = self
                    .http
                    .post(target)
                    .header("Content-Type", "application/json")
                    .header("Plusflow-Signature", signature)
                    .header("Plusflow-Delivery", context.execution_id.to_string())
                    .body(body)
                    .send()
                    .await;
                match &sent {
                    Ok(response) if response.status().is_success() => {
                        (Some(response.status().as_u16()), None)
                    }
                    // Redirects are not followed: a 3xx is a failed delivery like any other.
                    Ok(response) => (
                        Some(response.status().as_u16()),
                        Some(format!("HTTP {}", response.status().as_u16())),
                    ),
                    Err(e) => {
                        tracing::debug!(merchant = %merchant.id, "webhook delivery failed: {e}");
                        (None, Some(webhook_http::describe_failure(e).to_string()))
                    }
                }
            }
        };
        let attempt = webhook_delivery::ActiveModel {
            merchant_id: Set(merchant.id),
            payment_id: Set(payment.id),
            status: Set(announced),
            attempt: Set(context.previous_failures as i32 + 1),
            http_status: Set(http_status.map(i32::from)),
            error: Set(error.clone()),
            at: Set(self.engine.clock.now()),
            ..Default::default()
        };
        rows::record_webhook_delivery(&self.engine.db, attempt)
            .await
            .map_err(store_error)?;
        match error {
            None => Ok(None),
            Some(error) => Err(retry(format!("webhook: {error}"))),
        }
    }
}

/// `Plusflow-Signature`: `t=<unix time>` and one `v1=<hex HMAC-SHA256 of "t." + body>` per
/// secret (two during a rotation's overlap; a receiver accepts the delivery if one matches).
fn webhook_signature(secrets: &[&str], timestamp: i64, body: &[u8]) -> String {
    let mut header = format!("t={timestamp}");
    for secret in secrets {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
        mac.update(format!("{timestamp}.").as_bytes());
        mac.update(body);
        header.push_str(&format!(",v1={}", hex::encode(mac.finalize().into_bytes())));
    }
    header
}

/// How inquiryPayment and cancelPayment name a payment: by our paymentRequestId.
fn reference(payment: &payment::Model) -> PaymentReference {
    PaymentReference {
        payment_request_id: Some(payment.payment_request_id.clone()),
        payment_id: None,
    }
}

/// inquiryPayment's answer about a payment.
enum Inquiry {
    /// Paid, for our amount: what was learnt.
    Paid(Map<String, Value>),
    /// Failed or closed, with the code.
    Failed(String),
    /// A final answer whose amount is not ours (or a success without one).
    Disagrees(String),
    /// Alipay+ answered, and the payment has no final result there (yet).
    Open(String),
    /// No usable answer (U, timeout, 5xx, unverifiable).
    Unknown(String),
}

/// Whether pay's answer states an amount other than ours.
fn pay_answer_disagreement(payment: &payment::Model, response: &PayResponse) -> Option<String> {
    response
        .payment_amount
        .as_ref()
        .filter(|amount| amount.value != payment.amount || amount.currency != payment.currency)
        .map(|amount| {
            format!(
                "pay was accepted for {} {} but the payment is {} {}; not applied",
                amount.value, amount.currency, payment.amount, payment.currency
            )
        })
}

/// Where pay's answer lets the customer go (instance data: checkoutUrl, applinkUrl, schemeUrl,
/// paymentData, alipayPaymentId), or `None` when it names nowhere.
fn redirect_fields(response: &PayResponse) -> Option<Map<String, Value>> {
    let mut data = Map::new();
    for (key, value) in [
        ("checkoutUrl", &response.normal_url),
        ("applinkUrl", &response.applink_url),
        ("schemeUrl", &response.scheme_url),
        ("paymentData", &response.payment_data),
    ] {
        if let Some(value) = value.as_ref().filter(|v| !v.is_empty()) {
            data.insert(key.into(), value.clone().into());
        }
    }
    if data.is_empty() {
        return None;
    }
    if let Some(id) = &response.payment_id {
        data.insert("alipayPaymentId".into(), id.clone().into());
    }
    Some(data)
}

struct Handler {
    effects: Arc<PaymentEffects>,
    effect: EffectName,
}

impl EffectHandler for Handler {
    fn run(&self, context: EffectContext) -> BoxFuture<'static, EffectResult> {
        let (effects, effect) = (self.effects.clone(), self.effect);
        async move {
            match effect {
                EffectName::SubmitPay => effects.submit_pay(context).await,
                EffectName::PollPayment => effects.poll_payment(context).await,
                EffectName::CancelPayment => effects.cancel_payment(context).await,
                EffectName::NotifyMerchant => effects.notify_merchant(context).await,
                EffectName::SubmitRefund => effects.submit_refund(context).await,
                EffectName::SendDisputeResponse => effects.send_dispute_response(context).await,
                other => Err(EffectError::Permanent(format!(
                    "'{other}' is not a payment effect"
                ))),
            }
        }
        .boxed()
    }
}

/// Registers the payment effects, calling Alipay+ through `client`, asking it to notify
/// `public_url`, and sending webhooks to private addresses only if `allow_private_targets`.
pub fn register(
    registry: &mut EffectRegistry,
    engine: Engine,
    client: Client,
    public_url: &url::Url,
    allow_private_targets: bool,
) -> anyhow::Result<()> {
    let notify_url = crate::alipayplus::url_under(public_url, "/alipayplus/notifyPayment").to_string();
    let http = webhook_http::client(allow_private_targets, Duration::from_secs(10))?;
    let effects = Arc::new(PaymentEffects {
        engine,
        client,
        notify_url,
        http,
        allow_private_targets,
    });
    for effect in [
        EffectName::SubmitPay,
        EffectName::PollPayment,
        EffectName::CancelPayment,
        EffectName::NotifyMerchant,
        EffectName::SubmitRefund,
        EffectName::SendDisputeResponse,
    ] {
        registry.register(
            effect,
            Arc::new(Handler {
                effects: effects.clone(),
                effect,
            }),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(normal_url: Option<&str>, payment_data: Option<&str>, amount: Option<i64>) -> PayResponse {
        PayResponse {
            result: ResultInfo::success(),
            payment_id: Some("2026001".into()),
            payment_amount: amount.map(|value| Amount::new("USD", value)),
            payment_time: None,
            normal_url: normal_url.map(str::to_string),
            applink_url: None,
            scheme_url: None,
            payment_data: payment_data.map(str::to_string),
            guide_url: None,
            acquirer_id: None,
            psp_id: None,
            wallet_brand_name: None,
        }
    }

    #[test]
    fn an_accepted_pay_without_anywhere_to_send_the_customer_is_not_accepted() {
        assert!(redirect_fields(&answer(None, None, Some(1000))).is_none());
        assert!(redirect_fields(&answer(Some(""), None, Some(1000))).is_none());
        let sdk_only = redirect_fields(&answer(None, Some("{}"), Some(1000))).unwrap();
        assert_eq!(sdk_only["paymentData"], "{}");
        assert_eq!(sdk_only["alipayPaymentId"], "2026001");
        let web = redirect_fields(&answer(Some("https://pay.example/c"), None, None)).unwrap();
        assert_eq!(web["checkoutUrl"], "https://pay.example/c");
    }

    #[test]
    fn a_pay_answer_for_another_amount_is_caught() {
        let payment = payment::Model {
            id: uuid::Uuid::nil(),
            merchant_id: uuid::Uuid::nil(),
            merchant_order_id: "o".into(),
            payment_request_id: "pf_1".into(),
            order_description: "d".into(),
            currency: "USD".into(),
            amount: 1000,
            terminal_type: "WEB".into(),
            os_type: None,
            redirect_url: "https://shop.example".into(),
            user_region: None,
            settlement_currency: None,
            expires_at: chrono::Utc::now(),
            checkout_url: None,
            alipay_payment_id: None,
            wallet_brand_name: None,
            failure_code: None,
            created_at: chrono::Utc::now(),
        };
        let url = Some("https://pay.example/c");
        assert!(pay_answer_disagreement(&payment, &answer(url, None, Some(1000))).is_none());
        assert!(pay_answer_disagreement(&payment, &answer(url, None, None)).is_none());
        let reason = pay_answer_disagreement(&payment, &answer(url, None, Some(100))).unwrap();
        assert!(reason.contains("100 USD"), "{reason}");
    }
}
