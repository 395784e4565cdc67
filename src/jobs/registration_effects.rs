//! The effects of the `registration` workflow, and what its webhook says.
//!
//! `submit_registration` calls registration with the recorded merchant information (the same
//! registrationRequestId and body on every retry), asking Alipay+ to notify
//! `/alipayplus/notifyRegistrationStatus`: S -> registration_accepted (first inquiry due after
//! `registration.inquiry_interval`), F -> registration_refused with Alipay+'s code, anything
//! unknown -> retried.
//!
//! `inquire_registration` asks inquiryRegistrationStatus once, when the in-review state's timer
//! fires, and records the answer through `app::registrations::record_report` (merged with what
//! the notifications brought, under the instance's lock): a change, the end, or "nothing new",
//! which moves the next inquiry on. No answer (U, timeout, not found yet) is retried.

use std::sync::Arc;

use futures::FutureExt;
use futures::future::BoxFuture;
use serde_json::{Map, Value, json};

use super::outcomes::{event, retry, store_error};
use super::webhooks::{Announcement, WebhookBodies, WebhookBody};
use crate::alipayplus::client::{Client, Outcome};
use crate::alipayplus::wire::{
    InquiryRegistrationStatusRequest, MerchantRegistrationInfo, RegistrationRequest,
};
use crate::app::registrations::{self, NEXT_INQUIRY_KEY, RegistrationView, Report};
use crate::app::{EffectContext, EffectError, EffectHandler, EffectRegistry, EffectResult, Engine};
use crate::store::registrations::registration_with_instance;
use crate::workflow::{EffectName, EventName};

struct RegistrationEffects {
    engine: Engine,
    client: Client,
    notify_url: String,
}

impl RegistrationEffects {
    async fn registration(&self, context: &EffectContext) -> Result<RegistrationView, EffectError> {
        let (registration, instance) = registration_with_instance(&self.engine.db, context.instance.id)
            .await
            .map_err(store_error)?
            .ok_or_else(|| {
                EffectError::Permanent(format!("no registration row for {}", context.instance.id))
            })?;
        Ok(RegistrationView {
            registration,
            instance,
        })
    }

    async fn submit_registration(&self, context: EffectContext) -> EffectResult {
        let view = self.registration(&context).await?;
        let row = &view.registration;
        let merchant_info: MerchantRegistrationInfo = serde_json::from_value(row.request.clone())
            .map_err(|e| EffectError::Permanent(format!("the recorded merchant information: {e}")))?;
        let request = RegistrationRequest {
            registration_request_id: row.registration_request_id.clone(),
            product_codes: view.product_codes(),
            merchant_info,
            store_info: None,
            registration_notify_url: Some(self.notify_url.clone()),
            pass_through_info: None,
        };
        match self.client.registration(&request).await {
            Outcome::Succeeded(_) => event(
                EventName::RegistrationAccepted,
                context.effect,
                json!({ "resultCode": "SUCCESS" }),
                Map::from_iter([(
                    NEXT_INQUIRY_KEY.to_string(),
                    Value::String(registrations::first_inquiry_at(&self.engine).to_rfc3339()),
                )]),
            ),
            Outcome::Rejected { code, message, .. } => event(
                EventName::RegistrationRefused,
                context.effect,
                json!({ "resultCode": code, "resultMessage": message }),
                Map::from_iter([
                    ("resultCode".to_string(), Value::String(code)),
                    (
                        "resultMessage".to_string(),
                        message.map_or(Value::Null, Value::String),
                    ),
                ]),
            ),
            Outcome::Unknown { reason, .. } => Err(retry(format!("registration: {reason}"))),
        }
    }

    async fn inquire_registration(&self, context: EffectContext) -> EffectResult {
        let view = self.registration(&context).await?;
        if view.instance.state != "in_review" {
            return Ok(None);
        }
        let request = InquiryRegistrationStatusRequest {
            registration_request_id: Some(view.registration.registration_request_id.clone()),
            reference_merchant_id: None,
            reference_store_id: None,
        };
        let response = match self.client.inquiry_registration_status(&request).await {
            Outcome::Succeeded(response) => response,
            Outcome::Rejected { code, .. } => {
                return Err(retry(format!("inquiryRegistrationStatus: F {code}")));
            }
            Outcome::Unknown { reason, .. } => {
                return Err(retry(format!("inquiryRegistrationStatus: {reason}")));
            }
        };
        let collective = response
            .registration_result
            .as_ref()
            .map_or("PENDING", |result| result.registration_status.as_str());
        let report = Report {
            collective,
            wallets: crate::app::registration_answers::wallet_answers(
                response.psp_registration_result_list.as_ref(),
            ),
            actor: format!("effect:{}", context.effect),
            from_inquiry: true,
        };
        registrations::record_report(&self.engine, view.registration.id, report, None)
            .await
            .map_err(store_error)?;
        Ok(None)
    }
}

impl WebhookBody for RegistrationEffects {
    fn announcement<'a>(
        &'a self,
        context: &'a EffectContext,
    ) -> BoxFuture<'a, Result<Announcement, EffectError>> {
        async move {
            let view = self.registration(context).await?;
            let row = &view.registration;
            let body = json!({
                "type": "registration.updated",
                "id": context.execution_id,
                "registration": {
                    "id": row.id, "merchantId": row.merchant_id,
                    "registrationRequestId": row.registration_request_id,
                    "productCodes": row.product_codes,
                    "status": view.status(), "wallets": view.wallets(),
                    "version": context.instance.version, "updatedAt": context.instance.updated_at,
                }
            });
            Ok(Announcement {
                merchant_id: row.merchant_id,
                subject_id: row.id,
                announced: format!("REGISTRATION_{}", view.status()),
                body,
            })
        }
        .boxed()
    }
}

struct Handler(Arc<RegistrationEffects>);

impl EffectHandler for Handler {
    fn run(&self, context: EffectContext) -> BoxFuture<'static, EffectResult> {
        let effects = self.0.clone();
        async move {
            match context.effect {
                EffectName::SubmitRegistration => effects.submit_registration(context).await,
                EffectName::InquireRegistration => effects.inquire_registration(context).await,
                other => Err(EffectError::Permanent(format!(
                    "'{other}' is not a registration effect"
                ))),
            }
        }
        .boxed()
    }
}

/// Registers the registration effects (calling Alipay+ through `client`, asking it to notify
/// `public_url`) and the registration's webhook.
pub fn register(
    registry: &mut EffectRegistry,
    webhooks: &mut WebhookBodies,
    engine: Engine,
    client: Client,
    public_url: &url::Url,
) {
    let notify_url =
        crate::alipayplus::url_under(public_url, "/alipayplus/notifyRegistrationStatus").to_string();
    let effects = Arc::new(RegistrationEffects {
        engine,
        client,
        notify_url,
    });
    for effect in [EffectName::SubmitRegistration, EffectName::InquireRegistration] {
        registry.register(effect, Arc::new(Handler(effects.clone())));
    }
    webhooks.insert("registration", effects);
}
