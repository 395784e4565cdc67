//! The effects of the `payment` workflow. Each turns an Alipay+ answer into the workflow's next
//! event; an unknown answer (U, timeout, 5xx, unverifiable) is a retry with the SAME
//! paymentRequestId, never a failure. And what a change of a payment announces (its event and
//! webhook).

use super::names;
use std::sync::Arc;

use futures::FutureExt;
use futures::future::BoxFuture;
use serde_json::{Map, Value, json};

use crate::alipayplus::client::{Client, Outcome};
use crate::alipayplus::wire::*;
use crate::app::kind::{KindEffects, KindServices};
use crate::app::merchant_profile::MerchantProfile;
use crate::app::merchants;
use crate::app::metadata;
use crate::app::{EffectContext, EffectError, EffectHandler, EffectResult, Engine};
use crate::app::{event, retry, status_in, store_error};
use crate::kinds::payment::results::StatedResult;
use crate::kinds::payment::rows;
use crate::kinds::payment::use_cases::{amount_disagreement, failure_fields};
use crate::store::StoreError;
use crate::store::entity::{merchant, payment, payment_result};
use crate::store::feed::{Announced, Change};

/// What the payment effects share.
pub(super) struct PaymentEffects {
    engine: Engine,
    client: Client,
    /// Where Alipay+ sends notifyPayment: `<public_url>/alipayplus/notifyPayment`.
    notify_url: String,
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

    /// The pay request of `payment` of `merchant`: the order with the merchant's profile
    /// (`app::merchant_profile`), the buyer's reference and the customer's device.
    fn pay_request(payment: &payment::Model, merchant: &merchant::Model, notify_url: &str) -> PayRequest {
        let amount = Amount::new(&payment.currency, payment.amount);
        PayRequest {
            order: Order {
                reference_order_id: payment.merchant_order_id.clone(),
                order_description: payment.order_description.clone(),
                order_amount: amount.clone(),
                merchant: Some(MerchantProfile::for_pay(
                    merchant,
                    payment.merchant_id.simple().to_string(),
                )),
                goods: None,
                shipping: None,
                buyer: payment.buyer_reference.clone().map(|reference| Buyer {
                    reference_buyer_id: Some(reference),
                    ..Default::default()
                }),
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
            payment_notify_url: Some(notify_url.to_string()),
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
        let payment = match self.engine.fresh_rows.take::<payment::Model>(context.instance.id) {
            Some(created_here) => created_here,
            None => self.payment(&context).await?,
        };
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
                names::PAY_ACCEPTED,
                context.effect,
                json!({ "resultCode": response.result.result_code }),
                data,
            )
        };
        let merchant = merchants::merchant(&self.engine, payment.merchant_id)
            .await
            .map_err(store_error)?
            .ok_or_else(|| EffectError::Permanent("the payment's merchant is gone".into()))?;
        let request = Self::pay_request(&payment, &merchant, &self.notify_url);
        match self.client.pay(&request).await {
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
                names::PAY_REJECTED,
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
                        let stated = StatedResult::from(&response);
                        let now = self.engine.clock.now();
                        Inquiry::Paid(Box::new(stated.row(payment.id, now)), stated.settled_fields(now))
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
                    names::EXPIRED,
                    context.effect,
                    json!({ "lastInquiry": why }),
                    Map::new(),
                )
            } else {
                Err(retry(format!("inquiryPayment: {why}")))
            }
        };
        match self.inquire(&payment).await {
            Inquiry::Paid(result, fields) => paid(
                event(
                    names::INQUIRY_SUCCESS,
                    context.effect,
                    json!({ "resultCode": "SUCCESS" }),
                    fields,
                ),
                result,
            ),
            // Closed because it expired: confirm with cancelPayment (excluded from settlement),
            // as for any payment without a final result by its expiry.
            Inquiry::Failed(code) if expired && code == "ORDER_IS_CLOSED" => event(
                names::EXPIRED,
                context.effect,
                json!({ "resultCode": code }),
                Map::new(),
            ),
            Inquiry::Failed(code) => event(
                names::INQUIRY_FAILURE,
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
                names::CANCEL_SUCCEEDED,
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
                    names::CANCEL_SUCCEEDED,
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
            Inquiry::Paid(result, fields) => paid(
                event(
                    names::CONFIRMED_SUCCESS,
                    context.effect,
                    json!({ "cancel": why, "resultCode": "SUCCESS" }),
                    fields,
                ),
                result,
            ),
            Inquiry::Failed(code) => event(
                names::CONFIRMED_FAILURE,
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
}

/// How inquiryPayment and cancelPayment name a payment: by our paymentRequestId.
fn reference(payment: &payment::Model) -> PaymentReference {
    PaymentReference {
        payment_request_id: Some(payment.payment_request_id.clone()),
        payment_id: None,
    }
}

/// A success `event` that records what Alipay+ stated of the payment with it.
fn paid(event: EffectResult, result: Box<payment_result::Model>) -> EffectResult {
    event.map(|event| event.map(|event| event.with_kept_row(&*result)))
}

/// inquiryPayment's answer about a payment.
enum Inquiry {
    /// Paid, for our amount: what Alipay+ stated, and what the workflow learnt.
    Paid(Box<payment_result::Model>, Map<String, Value>),
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

/// The event types its changes are announced with (a webhook endpoint may take some only).
pub const EVENT_TYPES: &[&str] = &["payment.updated"];

/// What a change of payment `instance` announces: `payment.updated` with the payment as its
/// webhook carries it (status, amount, checkout links, failure code, version and time).
pub(super) async fn announce(change: Change<'_>) -> Result<Option<Announced>, StoreError> {
    let Some(payment) = change.row::<payment::Entity>().await? else {
        return Ok(None);
    };
    let instance = change.instance;
    let status = status_in(change.definitions, instance);
    let data = &instance.data;
    let object = json!({
        "id": payment.id, "merchantOrderId": payment.merchant_order_id, "paymentRequestId": payment.payment_request_id,
        "status": status, "amount": { "currency": payment.currency, "value": payment.amount.to_string() },
        "checkoutUrl": data.get("checkoutUrl"), "applinkUrl": data.get("applinkUrl"),
        "schemeUrl": data.get("schemeUrl"), "paymentData": data.get("paymentData"),
        "alipayPaymentId": data.get("alipayPaymentId"),
        "failureCode": data.get("failureCode"), "metadata": metadata::echoed(payment.metadata.as_ref()),
        "version": instance.version, "updatedAt": instance.updated_at,
    });
    Ok(Some(Announced {
        merchant_id: payment.merchant_id,
        object_id: payment.id,
        subject_id: payment.id,
        event_type: EVENT_TYPES[0].into(),
        announced: status.to_string(),
        data: object,
    }))
}

impl EffectHandler for PaymentEffects {
    fn run(self: Arc<Self>, context: EffectContext) -> BoxFuture<'static, EffectResult> {
        async move {
            match context.effect {
                names::SUBMIT_PAY => self.submit_pay(context).await,
                names::POLL_PAYMENT => self.poll_payment(context).await,
                names::CANCEL_PAYMENT => self.cancel_payment(context).await,
                other => Err(EffectError::Permanent(format!(
                    "'{other}' is not a payment effect"
                ))),
            }
        }
        .boxed()
    }
}

/// The payment workflow's effects, calling Alipay+ through `services.client`.
pub(super) fn kind_effects(services: &KindServices<'_>) -> KindEffects {
    let notify_url =
        crate::alipayplus::url_under(services.public_url, "/alipayplus/notifyPayment").to_string();
    KindEffects {
        names: &[names::SUBMIT_PAY, names::POLL_PAYMENT, names::CANCEL_PAYMENT],
        handler: Arc::new(PaymentEffects {
            engine: services.engine.clone(),
            client: services.client.clone(),
            notify_url,
        }),
    }
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
            buyer_reference: None,
            metadata: None,
        };
        let url = Some("https://pay.example/c");
        assert!(pay_answer_disagreement(&payment, &answer(url, None, Some(1000))).is_none());
        assert!(pay_answer_disagreement(&payment, &answer(url, None, None)).is_none());
        let reason = pay_answer_disagreement(&payment, &answer(url, None, Some(100))).unwrap();
        assert!(reason.contains("100 USD"), "{reason}");
    }
}
