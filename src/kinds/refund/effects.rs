//! The effect of the `refund` workflow: `refund` sent with the refund's own refundRequestId
//! until Alipay+ answers S or F ([`refund_answer`], pure); an unknown answer (U, timeout, 5xx,
//! unverifiable) is a retry with the SAME refundRequestId, never a failure. And what a
//! change of a refund announces (its event and webhook).

use super::names;
use std::sync::Arc;

use futures::FutureExt;
use futures::future::BoxFuture;
use serde_json::{Map, json};

use crate::alipayplus::client::{Client, Outcome};
use crate::alipayplus::wire::{Amount, RefundRequest, RefundResponse};
use crate::app::kind::{KindEffects, KindServices};
use crate::app::metadata;
use crate::app::{
    Decided, EffectContext, EffectError, EffectHandler, EffectResult, Engine, decided, status_in, store_error,
};
use crate::kinds::payment::rows as payments;
use crate::kinds::payment::use_cases::failure_fields;
use crate::kinds::refund::rows as refunds;
use crate::store::StoreError;
use crate::store::entity::{payment, refund};
use crate::store::feed::{Announced, Change};

pub(super) struct RefundEffects {
    engine: Engine,
    client: Client,
}

/// The refund workflow's effects, calling Alipay+ through `services.client`.
pub(super) fn kind_effects(services: &KindServices<'_>) -> KindEffects {
    KindEffects {
        names: &[names::SUBMIT_REFUND],
        handler: Arc::new(RefundEffects {
            engine: services.engine.clone(),
            client: services.client.clone(),
        }),
    }
}

/// What Alipay+'s answer to `refund` means for the workflow: the event with what to record and
/// what to learn, or (`Err`) why it is not known yet and the refund is sent again.
pub fn refund_answer(outcome: &Outcome<RefundResponse>) -> Decided {
    match outcome {
        Outcome::Succeeded(response) => {
            let mut data = Map::new();
            if let Some(id) = &response.refund_id {
                data.insert("refundId".into(), id.clone().into());
            }
            Ok((names::REFUND_SUCCEEDED, json!({ "resultCode": "SUCCESS" }), data))
        }
        Outcome::Rejected { code, message, .. } => Ok((
            names::REFUND_FAILED,
            json!({ "resultCode": code, "resultMessage": message }),
            failure_fields(code),
        )),
        Outcome::Unknown { reason, .. } => Err(format!("refund: {reason}")),
    }
}

impl RefundEffects {
    /// The refund an instance of `refund` stands for, and its payment.
    async fn refund(&self, context: &EffectContext) -> Result<(refund::Model, payment::Model), EffectError> {
        let id = context.instance.id;
        let refund = refunds::refund(&self.engine.db, id)
            .await
            .map_err(store_error)?
            .ok_or_else(|| EffectError::Permanent(format!("no refund row for instance {id}")))?;
        let payment = payments::payment(&self.engine.db, refund.payment_id)
            .await
            .map_err(store_error)?
            .ok_or_else(|| EffectError::Permanent("the refund's payment is gone".into()))?;
        Ok((refund, payment))
    }

    async fn submit_refund(&self, context: EffectContext) -> EffectResult {
        let (refund, payment) = self.refund(&context).await?;
        let request = RefundRequest {
            payment_request_id: Some(payment.payment_request_id),
            payment_id: None,
            refund_request_id: refund.refund_request_id,
            refund_amount: Amount::new(&refund.currency, refund.amount),
            refund_reason: refund.reason,
        };
        decided(context.effect, refund_answer(&self.client.refund(&request).await))
    }
}

impl EffectHandler for RefundEffects {
    fn run(self: Arc<Self>, context: EffectContext) -> BoxFuture<'static, EffectResult> {
        async move {
            match context.effect {
                names::SUBMIT_REFUND => self.submit_refund(context).await,
                other => Err(EffectError::Permanent(format!(
                    "'{other}' is not a refund effect"
                ))),
            }
        }
        .boxed()
    }
}

/// The event types its changes are announced with (a webhook endpoint may take some only).
pub const EVENT_TYPES: &[&str] = &["refund.updated"];

/// What a change of refund `instance` announces: `refund.updated` with the refund as its
/// webhook carries it.
pub(super) async fn announce(change: Change<'_>) -> Result<Option<Announced>, StoreError> {
    let Some(refund) = change.row::<refund::Entity>().await? else {
        return Ok(None);
    };
    let instance = change.instance;
    let status = status_in(change.definitions, instance);
    let object = json!({
        "id": refund.id, "paymentId": refund.payment_id, "refundRequestId": refund.refund_request_id,
        "status": status, "amount": { "currency": refund.currency, "value": refund.amount.to_string() },
        "failureCode": instance.data.get("failureCode"), "metadata": metadata::echoed(refund.metadata.as_ref()),
        "version": instance.version,
        "updatedAt": instance.updated_at,
    });
    Ok(Some(Announced {
        merchant_id: refund.merchant_id,
        object_id: refund.id,
        subject_id: refund.payment_id,
        event_type: EVENT_TYPES[0].into(),
        announced: format!("REFUND_{status}"),
        data: object,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alipayplus::wire::{ResultInfo, ResultStatus};
    use crate::workflow::EventName;
    use serde_json::Value;

    fn response(status: ResultStatus, code: &str, refund_id: Option<&str>) -> RefundResponse {
        RefundResponse {
            result: ResultInfo::new(status, code, "from Alipay+"),
            acquirer_id: None,
            psp_id: None,
            refund_id: refund_id.map(str::to_string),
            refund_time: None,
            refund_amount: None,
            settlement_amount: None,
            settlement_quote: None,
        }
    }

    type Case<'a> = (
        &'a Outcome<RefundResponse>,
        Option<EventName>,
        Option<&'a str>,
        Option<&'a str>,
    );

    #[test]
    fn each_refund_answer_means_one_event_or_asking_again() {
        let accepted = Outcome::Succeeded(response(ResultStatus::S, "SUCCESS", Some("2023-r-1")));
        let accepted_without_id = Outcome::Succeeded(response(ResultStatus::S, "SUCCESS", None));
        let refused = Outcome::Rejected {
            code: "REFUND_WINDOW_EXCEED".into(),
            message: Some("too late".into()),
            response: response(ResultStatus::F, "REFUND_WINDOW_EXCEED", None),
        };
        let unknown = Outcome::Unknown {
            reason: "timed out".into(),
            response: None,
        };
        // (answer, the event it means, the refundId learned, the failureCode recorded)
        let table: [Case; 4] = [
            (&accepted, Some(names::REFUND_SUCCEEDED), Some("2023-r-1"), None),
            (&accepted_without_id, Some(names::REFUND_SUCCEEDED), None, None),
            (
                &refused,
                Some(names::REFUND_FAILED),
                None,
                Some("REFUND_WINDOW_EXCEED"),
            ),
            (&unknown, None, None, None),
        ];
        for (outcome, event, refund_id, failure) in table {
            match refund_answer(outcome) {
                Ok((name, _, data)) => {
                    assert_eq!(Some(name), event);
                    assert_eq!(data.get("refundId").and_then(Value::as_str), refund_id);
                    assert_eq!(data.get("failureCode").and_then(Value::as_str), failure);
                }
                Err(reason) => {
                    assert_eq!(
                        event, None,
                        "an answer that settles the refund was read as unknown"
                    );
                    assert!(reason.contains("timed out"), "{reason}");
                }
            }
        }
    }
}
