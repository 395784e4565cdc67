//! The effects of the `dispute` workflow: `send_dispute_response` sends the merchant's recorded
//! response (responseRetrieval or responseEscalation, the same body on every retry) until Alipay+
//! answers: S -> response_accepted, F -> response_refused with its code, anything unknown (U,
//! timeout, 5xx, unverifiable) -> retried, never a failure. And what a dispute's webhook says.

use std::sync::Arc;

use futures::FutureExt;
use futures::future::BoxFuture;
use serde_json::{Map, Value, json};

use super::outcomes::{event, retry, store_error};
use super::webhooks::{Announcement, WebhookBodies, WebhookBody};
use crate::alipayplus::client::{Client, Outcome};
use crate::alipayplus::wire::{ResponseEscalationRequest, ResponseRetrievalRequest};
use crate::app::disputes::DisputeView;
use crate::app::{EffectContext, EffectError, EffectHandler, EffectRegistry, EffectResult, Engine};
use crate::store::disputes::dispute_with_instance;
use crate::store::entity::dispute;
use crate::workflow::{EffectName, EventName};

struct DisputeEffects {
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
                Map::from_iter([("failureCode".to_string(), Value::String(code))]),
            ),
            Outcome::Unknown { reason, .. } => Err(retry(format!("dispute response: {reason}"))),
        }
    }
}

impl WebhookBody for DisputeEffects {
    fn announcement<'a>(
        &'a self,
        context: &'a EffectContext,
    ) -> BoxFuture<'a, Result<Announcement, EffectError>> {
        async move {
            let view = self.dispute(context).await?;
            let dispute = &view.dispute;
            let instance = &context.instance;
            let kind = if instance.state == "needs_response" { "dispute.created" } else { "dispute.updated" };
            let body = json!({
                "type": kind,
                "id": context.execution_id,
                "dispute": {
                    "id": dispute.id, "paymentId": dispute.payment_id, "disputeRequestId": dispute.dispute_request_id,
                    "kind": dispute.kind, "status": view.status(), "respondBy": dispute.respond_by,
                    "reason": dispute.reason, "version": instance.version, "updatedAt": instance.updated_at,
                }
            });
            Ok(Announcement {
                merchant_id: dispute.merchant_id,
                subject_id: dispute.payment_id,
                announced: format!("DISPUTE_{}", view.status()),
                body,
            })
        }
        .boxed()
    }
}

struct Handler(Arc<DisputeEffects>);

impl EffectHandler for Handler {
    fn run(&self, context: EffectContext) -> BoxFuture<'static, EffectResult> {
        let effects = self.0.clone();
        async move { effects.send_dispute_response(context).await }.boxed()
    }
}

/// Registers the dispute effects (calling Alipay+ through `client`) and the dispute's webhook.
pub fn register(registry: &mut EffectRegistry, webhooks: &mut WebhookBodies, engine: Engine, client: Client) {
    let effects = Arc::new(DisputeEffects { engine, client });
    registry.register(
        EffectName::SendDisputeResponse,
        Arc::new(Handler(effects.clone())),
    );
    webhooks.insert("dispute", effects);
}
