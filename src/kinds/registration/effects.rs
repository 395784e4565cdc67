//! The effects of the `registration` workflow, and what a change of a registration announces.
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

use super::names;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use futures::FutureExt;
use futures::future::BoxFuture;
use serde_json::{Map, Value, json};

use crate::alipayplus::client::{Client, Outcome};
use crate::alipayplus::wire::{
    InquiryRegistrationStatusRequest, MerchantRegistrationInfo, RegistrationRequest,
};
use crate::app::kind::{KindEffects, KindServices};
use crate::app::status_in;
use crate::app::{Decided, decided, retry, store_error};
use crate::app::{EffectContext, EffectError, EffectHandler, EffectResult, Engine};
use crate::kinds::registration::entity as registration;
use crate::kinds::registration::rows::registration_with_instance;
use crate::kinds::registration::use_cases::{
    self as registrations, NEXT_INQUIRY_KEY, RegistrationView, Report,
};
use crate::store::StoreError;
use crate::store::feed::{Announced, Change};

pub(super) struct RegistrationEffects {
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
        let first_inquiry = registrations::first_inquiry_at(&self.engine);
        decided(
            context.effect,
            registration_answer(&self.client.registration(&request).await, first_inquiry),
        )
    }

    async fn inquire_registration(&self, context: EffectContext) -> EffectResult {
        let view = self.registration(&context).await?;
        if view.instance.terminal {
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
            wallets: crate::kinds::registration::answers::wallet_answers(
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

/// The event types its changes are announced with (a webhook endpoint may take some only).
pub const EVENT_TYPES: &[&str] = &["registration.updated"];

/// What a change of registration `instance` announces: `registration.updated` with the
/// registration and its wallets' answers as its webhook carries them.
pub(super) async fn announce(change: Change<'_>) -> Result<Option<Announced>, StoreError> {
    let Some(registration) = change.row::<registration::Entity>().await? else {
        return Ok(None);
    };
    let instance = change.instance;
    let view = RegistrationView {
        registration,
        instance: instance.clone(),
    };
    let row = &view.registration;
    let status = status_in(change.definitions, instance);
    let object = json!({
        "id": row.id, "merchantId": row.merchant_id,
        "registrationRequestId": row.registration_request_id,
        "productCodes": row.product_codes,
        "status": status, "wallets": view.wallets(),
        "version": instance.version, "updatedAt": instance.updated_at,
    });
    Ok(Some(Announced {
        merchant_id: row.merchant_id,
        object_id: row.id,
        subject_id: row.id,
        event_type: EVENT_TYPES[0].into(),
        announced: format!("REGISTRATION_{status}"),
        data: object,
    }))
}

/// What Alipay+'s answer to `registration` means: S -> registration_accepted (the wallets'
/// answers are asked for first at `first_inquiry`), F -> registration_refused with Alipay+'s
/// code and message; unknown -> sent again with the same registrationRequestId.
pub fn registration_answer<T>(outcome: &Outcome<T>, first_inquiry: DateTime<Utc>) -> Decided {
    match outcome {
        Outcome::Succeeded(_) => Ok((
            names::REGISTRATION_ACCEPTED,
            json!({ "resultCode": "SUCCESS" }),
            Map::from_iter([(
                NEXT_INQUIRY_KEY.to_string(),
                Value::String(first_inquiry.to_rfc3339()),
            )]),
        )),
        Outcome::Rejected { code, message, .. } => Ok((
            names::REGISTRATION_REFUSED,
            json!({ "resultCode": code, "resultMessage": message }),
            Map::from_iter([
                ("resultCode".to_string(), Value::String(code.clone())),
                (
                    "resultMessage".to_string(),
                    message.clone().map_or(Value::Null, Value::String),
                ),
            ]),
        )),
        Outcome::Unknown { reason, .. } => Err(format!("registration: {reason}")),
    }
}

impl EffectHandler for RegistrationEffects {
    fn run(self: Arc<Self>, context: EffectContext) -> BoxFuture<'static, EffectResult> {
        async move {
            match context.effect {
                names::SUBMIT_REGISTRATION => self.submit_registration(context).await,
                names::INQUIRE_REGISTRATION => self.inquire_registration(context).await,
                other => Err(EffectError::Permanent(format!(
                    "'{other}' is not a registration effect"
                ))),
            }
        }
        .boxed()
    }
}

/// The registration workflow's effects, calling Alipay+ through `services.client`.
pub(super) fn kind_effects(services: &KindServices<'_>) -> KindEffects {
    let notify_url =
        crate::alipayplus::url_under(services.public_url, "/alipayplus/notifyRegistrationStatus").to_string();
    KindEffects {
        names: &[names::SUBMIT_REGISTRATION, names::INQUIRE_REGISTRATION],
        handler: Arc::new(RegistrationEffects {
            engine: services.engine.clone(),
            client: services.client.clone(),
            notify_url,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_answer_to_a_registration_means_one_event_or_sending_it_again() {
        let at = DateTime::<Utc>::UNIX_EPOCH;
        let accepted: Outcome<()> = Outcome::Succeeded(());
        let refused: Outcome<()> = Outcome::Rejected {
            code: "MERCHANT_INFO_INVALID".into(),
            message: Some("no website".into()),
            response: (),
        };
        let unknown: Outcome<()> = Outcome::Unknown {
            reason: "timed out".into(),
            response: None,
        };
        let table = [
            (
                &accepted,
                Some(names::REGISTRATION_ACCEPTED),
                None,
                Some(at.to_rfc3339()),
            ),
            (
                &refused,
                Some(names::REGISTRATION_REFUSED),
                Some("MERCHANT_INFO_INVALID"),
                None,
            ),
            (&unknown, None, None, None),
        ];
        for (outcome, event, code, next_inquiry) in table {
            match registration_answer(outcome, at) {
                Ok((name, _, data)) => {
                    assert_eq!(Some(name), event);
                    assert_eq!(data.get("resultCode").and_then(Value::as_str), code);
                    assert_eq!(
                        data.get(NEXT_INQUIRY_KEY).and_then(Value::as_str),
                        next_inquiry.as_deref()
                    );
                }
                Err(reason) => {
                    assert_eq!(event, None, "a final answer was read as unknown");
                    assert!(reason.contains("timed out"), "{reason}");
                }
            }
        }
    }
}
