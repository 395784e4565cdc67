//! The effects of the `customs_declaration` workflow, and what a change of a declaration announces.
//!
//! `submit_declaration` calls declare with the recorded declaration (the same
//! customsDeclarationRequestId on every retry): S -> declaration_submitted, F ->
//! declaration_refused with its code, anything unknown -> retried.
//!
//! `inquire_declaration` polls by retrying (the workflow's policy sets the pace) and coalesces:
//! the execution that finds its declaration due (nobody asked about it for [`INQUIRY_GAP`])
//! claims it and every other declaration awaiting customs that nobody asked about for a tenth of
//! the gap (`store::customs_declarations::claim_inquiry_batch`, one conditional update per row,
//! up to 100), asks inquireDeclarationRequests about them 10 ids a call, and applies each one's
//! answer to its own instance; the executions of the others find their declaration asked about
//! just now and retry later without a call. N declarations due together cost ceil(N/10) calls a
//! round, and a claim keeps them together for the next. A declaration Alipay+ does not find (yet) keeps being asked
//! until its attempts run out, then it is parked.

use super::names;
use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt;
use futures::future::BoxFuture;
use serde_json::{Map, Value, json};

use crate::alipayplus::client::{Client, Outcome};
use crate::alipayplus::wire::{
    Amount, Certificate, Customs, DeclarationRecord, DeclarationStatus, DeclareRequest,
    InquireDeclarationRequestsRequest, MerchantCustomsInfo,
};
use crate::app::kind::{KindEffects, KindServices};
use crate::app::status_in;
use crate::app::{EffectContext, EffectError, EffectHandler, EffectResult, Engine};
use crate::app::{event, retry, store_error};
use crate::kinds::customs_declaration::entity as declaration;
use crate::kinds::customs_declaration::rows::{
    AWAITING_CUSTOMS, INQUIRY_BATCH, claim_inquiry_batch, declaration_with_instance,
};
use crate::kinds::customs_declaration::use_cases::DeclarationView;
use crate::kinds::payment::rows as payments;
use crate::store::EventInput;
use crate::store::StoreError;
use crate::store::feed::{Announced, Change};
use crate::workflow::EventName;

/// A declaration is asked about at most once in this long, whichever execution asks.
pub const INQUIRY_GAP: Duration = Duration::from_secs(1);

pub(super) struct CustomsEffects {
    engine: Engine,
    client: Client,
}

/// What customs' answer about one declaration means for its workflow, if it moves it: only a
/// final status decides (see [`DeclarationStatus`]); a result code on a record still waiting or
/// in process is kept, never read as a rejection.
fn customs_event(record: &DeclarationRecord) -> Option<(EventName, Map<String, Value>)> {
    let mut data = Map::new();
    for (key, value) in [
        ("customsResultCode", &record.customs_result_code),
        ("customsResultDescription", &record.customs_result_description),
        ("declarationRequestStatus", &record.declaration_request_status),
    ] {
        if let Some(value) = value {
            data.insert(key.into(), Value::String(value.clone()));
        }
    }
    let event = match DeclarationStatus::of(record) {
        DeclarationStatus::Accepted => names::CUSTOMS_ACCEPTED,
        DeclarationStatus::Rejected => names::CUSTOMS_REJECTED,
        DeclarationStatus::InProcess => names::CUSTOMS_PROCESSING,
        DeclarationStatus::Waiting | DeclarationStatus::Unknown(_) => return None,
    };
    Some((event, data))
}

impl CustomsEffects {
    async fn declaration(&self, context: &EffectContext) -> Result<DeclarationView, EffectError> {
        let (declaration, instance) = declaration_with_instance(&self.engine.db, context.instance.id)
            .await
            .map_err(store_error)?
            .ok_or_else(|| {
                EffectError::Permanent(format!("no declaration row for {}", context.instance.id))
            })?;
        Ok(DeclarationView {
            declaration,
            instance,
        })
    }

    async fn submit_declaration(&self, context: EffectContext) -> EffectResult {
        let row = self.declaration(&context).await?.declaration;
        let reveal = |stored: &Option<String>| {
            stored
                .as_deref()
                .map(|stored| {
                    let row_id = row.customs_declaration_request_id.as_bytes();
                    self.engine.data_keys.reveal(stored, row_id)
                })
                .transpose()
                .map_err(|e| EffectError::Permanent(format!("the buyer's identity: {e}")))
        };
        let (buyer_name, buyer_id_number) = (reveal(&row.buyer_name)?, reveal(&row.buyer_id_number)?);
        let payment = payments::payment(&self.engine.db, row.payment_id)
            .await
            .map_err(store_error)?
            .ok_or_else(|| EffectError::Permanent("the declared payment is gone".into()))?;
        let request = DeclareRequest {
            payment_request_id: payment.payment_request_id,
            customs_declaration_request_id: row.customs_declaration_request_id.clone(),
            customs: Customs {
                customs_code: row.customs_code.clone(),
                region: "CN".into(),
            },
            merchant_customs_info: MerchantCustomsInfo {
                merchant_customs_code: row.merchant_customs_code.clone(),
                merchant_customs_name: row.merchant_customs_name.clone(),
            },
            declaration_amount: Amount::new(&row.currency, row.amount),
            is_split: Some(row.split),
            reference_order_id: row.sub_order_id.clone(),
            buyer_certificate: buyer_id_number.map(|number| Certificate {
                certificate_type: row.buyer_id_type.clone().unwrap_or_else(|| "ID_CARD".into()),
                certificate_no: number,
                holder_name: buyer_name.map(|name| json!({ "fullName": name })),
                effective_date: None,
                expire_date: None,
            }),
        };
        match self.client.declare(&request).await {
            Outcome::Succeeded(response) => {
                let mut data = Map::new();
                if let Some(check) = response.identity_check_result {
                    data.insert("identityCheckResult".into(), Value::String(check));
                }
                event(
                    names::DECLARATION_SUBMITTED,
                    context.effect,
                    json!({ "resultCode": "SUCCESS" }),
                    data,
                )
            }
            Outcome::Rejected { code, message, .. } => event(
                names::DECLARATION_REFUSED,
                context.effect,
                json!({ "resultCode": code, "resultMessage": message }),
                Map::from_iter([
                    ("customsResultCode".to_string(), Value::String(code)),
                    (
                        "customsResultDescription".to_string(),
                        message.map_or(Value::Null, Value::String),
                    ),
                ]),
            ),
            Outcome::Unknown { reason, .. } => Err(retry(format!("declare: {reason}"))),
        }
    }

    async fn inquire_declaration(&self, context: EffectContext) -> EffectResult {
        let view = self.declaration(&context).await?;
        if !AWAITING_CUSTOMS.contains(&view.instance.state.as_str()) {
            return Ok(None);
        }
        let now = self.engine.clock.now();
        let gap = chrono::Duration::from_std(INQUIRY_GAP).expect("a short gap");
        let last_asked = view
            .declaration
            .inquired_at
            .or(view.instance.state_since)
            .unwrap_or(view.instance.updated_at);
        if now - last_asked < gap {
            return Err(retry(format!(
                "asked about at {last_asked} (or just submitted); customs: {}",
                view.status(&self.engine)
            )));
        }
        let claimed = claim_inquiry_batch(
            &self.engine.db,
            view.declaration.id,
            now - gap,
            now - gap / 10,
            now,
        )
        .await
        .map_err(store_error)?;
        if claimed.is_empty() {
            return Err(retry("asked about by another execution just now"));
        }
        let mut own = None;
        for batch in claimed.chunks(INQUIRY_BATCH) {
            let request = InquireDeclarationRequestsRequest {
                declaration_request_ids: batch
                    .iter()
                    .map(|d| d.customs_declaration_request_id.clone())
                    .collect(),
            };
            // The claimed ones not asked about yet are asked again after the gap.
            let response = match self.client.inquire_declaration_requests(&request).await {
                Outcome::Succeeded(response) => response,
                Outcome::Rejected { code, .. } => {
                    return Err(retry(format!("inquireDeclarationRequests: F {code}")));
                }
                Outcome::Unknown { reason, .. } => {
                    return Err(retry(format!("inquireDeclarationRequests: {reason}")));
                }
            };
            let records = response.declaration_records.unwrap_or_default();
            for row in batch {
                let record = records.iter().find(|r| {
                    r.customs_declaration_request_id.as_deref() == Some(&row.customs_declaration_request_id)
                });
                if row.id == view.declaration.id {
                    own = record.cloned();
                } else if let Some((name, data)) = record.and_then(customs_event) {
                    let input = EventInput::new(name, format!("effect:{}", context.effect)).with_data(data);
                    // Lost, it is asked about again by the other's own execution.
                    if self.engine.apply(row.id, input).await.is_ok() {
                        self.engine.announce(row.id);
                    }
                }
            }
        }
        let Some(record) = own else {
            return Err(retry("Alipay+ does not find the declaration (yet)"));
        };
        match customs_event(&record) {
            Some((names::CUSTOMS_PROCESSING, _)) if view.instance.state == "processing" => {
                Err(retry("customs: IN_PROCESS"))
            }
            Some((name, data)) => event(
                name,
                context.effect,
                json!({ "declarationRequestStatus": record.declaration_request_status }),
                data,
            ),
            None => match DeclarationStatus::of(&record) {
                // Not a status we know: the declaration stays where it is (its amount held)
                // and, after `customs.unknown_status_rounds` rounds without a final answer, waits
                // for an operator.
                DeclarationStatus::Unknown(status)
                    if context.previous_failures + 1 >= self.engine.customs_unknown_status_rounds =>
                {
                    Err(EffectError::Permanent(format!(
                        "customs answers status '{status}', which plusflow does not know, after {} rounds without a final status; an operator decides",
                        context.previous_failures + 1
                    )))
                }
                status => Err(retry(format!("customs: {status:?}"))),
            },
        }
    }
}

/// The event types its changes are announced with (a webhook endpoint may take some only).
pub const EVENT_TYPES: &[&str] = &["customs_declaration.updated"];

/// What a change of declaration `instance` announces: `customs_declaration.updated` with the
/// declaration as its webhook carries it.
pub(super) async fn announce(change: Change<'_>) -> Result<Option<Announced>, StoreError> {
    let Some(declaration) = change.row::<declaration::Entity>().await? else {
        return Ok(None);
    };
    let instance = change.instance;
    let view = DeclarationView {
        declaration,
        instance: instance.clone(),
    };
    let row = &view.declaration;
    let status = status_in(change.definitions, instance);
    let object = json!({
        "id": row.id, "paymentId": row.payment_id,
        "customsDeclarationRequestId": row.customs_declaration_request_id,
        "status": status, "amount": { "currency": row.currency, "value": row.amount.to_string() },
        "customsResultCode": view.customs_result_code(),
        "version": instance.version, "updatedAt": instance.updated_at,
    });
    Ok(Some(Announced {
        merchant_id: row.merchant_id,
        object_id: row.id,
        subject_id: row.payment_id,
        event_type: EVENT_TYPES[0].into(),
        announced: format!("CUSTOMS_{status}"),
        data: object,
    }))
}

impl EffectHandler for CustomsEffects {
    fn run(self: Arc<Self>, context: EffectContext) -> BoxFuture<'static, EffectResult> {
        async move {
            match context.effect {
                names::SUBMIT_DECLARATION => self.submit_declaration(context).await,
                names::INQUIRE_DECLARATION => self.inquire_declaration(context).await,
                other => Err(EffectError::Permanent(format!(
                    "'{other}' is not a customs declaration effect"
                ))),
            }
        }
        .boxed()
    }
}

/// The customs declaration workflow's effects, calling Alipay+ through `services.client`.
pub(super) fn kind_effects(services: &KindServices<'_>) -> KindEffects {
    KindEffects {
        names: &[names::SUBMIT_DECLARATION, names::INQUIRE_DECLARATION],
        handler: Arc::new(CustomsEffects {
            engine: services.engine.clone(),
            client: services.client.clone(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(status: Option<&str>, code: Option<&str>) -> DeclarationRecord {
        DeclarationRecord {
            customs_declaration_request_id: Some("d-1".into()),
            psp_declaration_request_id: None,
            psp_payment_id: None,
            customs: None,
            merchant_customs_info: None,
            declaration_amount: None,
            is_split: None,
            reference_order_id: None,
            declaration_request_status: status.map(str::to_string),
            modified_time: None,
            customs_result_code: code.map(str::to_string),
            customs_result_description: code.map(|_| "success_waiting".to_string()),
            customs_result_returned_time: None,
        }
    }

    #[test]
    fn only_a_final_status_decides_a_declaration() {
        let cases = [
            // (declarationRequestStatus, customsResultCode) -> event
            (None, None, None),
            (Some("WAITING_FOR_PROCESSING"), None, None),
            // The official sample: a result code on a record still waiting.
            (Some("WAITING_FOR_PROCESSING"), Some("2"), None),
            (Some("IN_PROCESS"), Some("2"), Some(names::CUSTOMS_PROCESSING)),
            (
                Some("CUSTOMS_ACCEPT_SUCCESS"),
                Some("0000"),
                Some(names::CUSTOMS_ACCEPTED),
            ),
            (
                Some("CUSTOMS_ACCEPT_FAIL"),
                Some("CUSTOMS_INFO_MISMATCH"),
                Some(names::CUSTOMS_REJECTED),
            ),
            // A status we do not know is not a rejection, with or without a code.
            (Some("CUSTOMS_HOLD"), Some("9"), None),
            (Some("CUSTOMS_HOLD"), None, None),
        ];
        for (status, code, want) in cases {
            let got = customs_event(&record(status, code)).map(|(event, _)| event);
            assert_eq!(got, want, "{status:?} {code:?}");
        }
        let (_, data) = customs_event(&record(Some("IN_PROCESS"), Some("2"))).unwrap();
        assert_eq!(data["customsResultCode"], "2", "the code is kept as it came");
    }
}
