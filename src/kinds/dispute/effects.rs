//! The effects of the `dispute` workflow: `send_dispute_response` sends the merchant's recorded
//! response (responseRetrieval or responseEscalation, the same body on every retry) until Alipay+
//! answers: S -> response_accepted, F -> response_refused with its code, anything unknown (U,
//! timeout, 5xx, unverifiable) -> retried, never a failure. And what a change of a dispute announces.

use super::names;
use std::sync::Arc;

use futures::FutureExt;
use futures::future::BoxFuture;
use serde_json::{Map, Value, json};

use crate::alipayplus::client::{Client, Outcome};
use crate::alipayplus::wire::{ResponseEscalationRequest, ResponseRetrievalRequest, ResultResponse};
use crate::app::kind::{KindEffects, KindServices};
use crate::app::status_in;
use crate::app::{
    Decided, EffectContext, EffectError, EffectHandler, EffectResult, Engine, decided, store_error,
};
use crate::kinds::dispute::entity as dispute;
use crate::kinds::dispute::rows::dispute_with_instance;
use crate::kinds::dispute::use_cases::DisputeView;
use crate::store::StoreError;
use crate::store::feed::{Announced, Change};

pub(super) struct DisputeEffects {
    engine: Engine,
    client: Client,
}

impl DisputeEffects {
    async fn dispute(&self, context: &EffectContext) -> Result<DisputeView, EffectError> {
        let (dispute, instance) = dispute_with_instance(&self.engine.db, context.instance.id)
            .await
            .map_err(store_error)?
            .ok_or_else(|| {
                EffectError::Permanent(format!("no dispute row for instance {}", context.instance.id))
            })?;
        Ok(DisputeView { dispute, instance })
    }

    async fn send_dispute_response(&self, context: EffectContext) -> EffectResult {
        let view = self.dispute(&context).await?;
        let dispute = &view.dispute;
        let mut body = dispute
            .response
            .clone()
            .ok_or_else(|| EffectError::Permanent("the dispute has no recorded response".into()))?;
        body["disputeRequestId"] = Value::String(dispute.dispute_request_id.clone());
        let unreadable = |e: serde_json::Error| {
            EffectError::Permanent(format!("the recorded response is unreadable: {e}"))
        };
        let outcome = if dispute.kind == dispute::ESCALATION {
            let request: ResponseEscalationRequest = serde_json::from_value(body).map_err(unreadable)?;
            self.client.response_escalation(&request).await
        } else {
            let request: ResponseRetrievalRequest = serde_json::from_value(body).map_err(unreadable)?;
            self.client.response_retrieval(&request).await
        };
        decided(context.effect, response_answer(&outcome))
    }
}

/// What Alipay+'s answer to a dispute response means: S -> response_accepted, F ->
/// response_refused with its code; unknown -> sent again with the same body.
pub fn response_answer(outcome: &Outcome<ResultResponse>) -> Decided {
    match outcome {
        Outcome::Succeeded(_) => Ok((
            names::RESPONSE_ACCEPTED,
            json!({ "resultCode": "SUCCESS" }),
            Map::new(),
        )),
        Outcome::Rejected { code, message, .. } => Ok((
            names::RESPONSE_REFUSED,
            json!({ "resultCode": code, "resultMessage": message }),
            Map::from_iter([("failureCode".to_string(), Value::String(code.clone()))]),
        )),
        Outcome::Unknown { reason, .. } => Err(format!("dispute response: {reason}")),
    }
}

/// The event types its changes are announced with (a webhook endpoint may take some only).
pub const EVENT_TYPES: &[&str] = &["dispute.created", "dispute.updated"];

/// What a change of dispute `instance` announces: `dispute.created` as it opens,
/// `dispute.updated` after, with the dispute as its webhook carries it.
pub(super) async fn announce(change: Change<'_>) -> Result<Option<Announced>, StoreError> {
    let Some(dispute) = change.row::<dispute::Entity>().await? else {
        return Ok(None);
    };
    let instance = change.instance;
    let status = status_in(change.definitions, instance);
    let event_type = if instance.state == "needs_response" {
        EVENT_TYPES[0]
    } else {
        EVENT_TYPES[1]
    };
    let object = json!({
        "id": dispute.id, "paymentId": dispute.payment_id, "disputeRequestId": dispute.dispute_request_id,
        "kind": dispute.kind, "status": status, "respondBy": dispute.respond_by,
        "reason": dispute.reason, "version": instance.version, "updatedAt": instance.updated_at,
    });
    Ok(Some(Announced {
        merchant_id: dispute.merchant_id,
        object_id: dispute.id,
        subject_id: dispute.payment_id,
        event_type: event_type.into(),
        announced: format!("DISPUTE_{status}"),
        data: object,
    }))
}

impl EffectHandler for DisputeEffects {
    fn run(self: Arc<Self>, context: EffectContext) -> BoxFuture<'static, EffectResult> {
        async move {
            match context.effect {
                names::SEND_DISPUTE_RESPONSE => self.send_dispute_response(context).await,
                other => Err(EffectError::Permanent(format!(
                    "'{other}' is not a dispute effect"
                ))),
            }
        }
        .boxed()
    }
}

/// The dispute workflow's effects, calling Alipay+ through `services.client`.
pub(super) fn kind_effects(services: &KindServices<'_>) -> KindEffects {
    KindEffects {
        names: &[names::SEND_DISPUTE_RESPONSE],
        handler: Arc::new(DisputeEffects {
            engine: services.engine.clone(),
            client: services.client.clone(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alipayplus::wire::{ResultInfo, ResultStatus};

    #[test]
    fn each_answer_to_a_response_means_one_event_or_sending_it_again() {
        let answer = |status, code| ResultResponse {
            result: ResultInfo::new(status, code, "from Alipay+"),
        };
        let accepted = Outcome::Succeeded(answer(ResultStatus::S, "SUCCESS"));
        let refused = Outcome::Rejected {
            code: "DISPUTE_RESPONSE_EXPIRED".into(),
            message: None,
            response: answer(ResultStatus::F, "DISPUTE_RESPONSE_EXPIRED"),
        };
        let unknown = Outcome::Unknown {
            reason: "HTTP 502".into(),
            response: None,
        };
        let table = [
            (&accepted, Some(names::RESPONSE_ACCEPTED), None),
            (
                &refused,
                Some(names::RESPONSE_REFUSED),
                Some("DISPUTE_RESPONSE_EXPIRED"),
            ),
            (&unknown, None, None),
        ];
        for (outcome, event, failure) in table {
            match response_answer(outcome) {
                Ok((name, _, data)) => {
                    assert_eq!(Some(name), event);
                    assert_eq!(data.get("failureCode").and_then(Value::as_str), failure);
                }
                Err(reason) => {
                    assert_eq!(event, None, "a final answer was read as unknown");
                    assert!(reason.contains("HTTP 502"), "{reason}");
                }
            }
        }
    }
}
