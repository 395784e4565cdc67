//! Disputes, as Alipay+ runs them for a wallet (ALIPAYPLUS.md 5): the control route raises a
//! retrieval or an escalation on a paid payment and sends the initiation to the ACQP, signed,
//! re-sent on the notification schedule until the ACQP answers (S, or a verified refusal); the
//! response APIs take the ACQP's answer with Alipay+'s rules (the dispute must exist, a repeated
//! escalation response must say the same) and the ledger shows both.

use std::collections::BTreeMap;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::alipayplus::inbound::Refusal;
use crate::alipayplus::wire::{Amount, ResultInfo, ResultResponse, ResultStatus};
use crate::kinds::payment::simulator::Payments;
use crate::simulator::core::{Call, PartBooks, Simulator, SimulatorPart};
use crate::simulator::notify::{SCHEDULE_SECONDS, send};

/// The disputes Alipay+ raised, by disputeRequestId.
#[derive(Default)]
pub struct Disputes {
    /// Every dispute raised, by disputeRequestId.
    pub books: PartBooks<BTreeMap<String, SimDispute>>,
}

impl Disputes {
    fn change(&self, id: &str, change: impl FnOnce(&mut SimDispute)) {
        if let Some(dispute) = self.books.lock().get_mut(id) {
            change(dispute);
        }
    }
}

impl SimulatorPart for Disputes {
    fn apis(&self) -> &'static [&'static str] {
        &["responseRetrieval", "responseEscalation"]
    }

    fn answer(&self, _simulator: &Simulator, api: &str, call: &Call<'_>) -> Result<Value, Refusal> {
        let request: Value = call.verified()?;
        let kind = if api == "responseRetrieval" {
            "RETRIEVAL"
        } else {
            "ESCALATION"
        };
        let answer = ResultResponse {
            result: self.respond(kind, &request),
        };
        Ok(serde_json::to_value(answer).expect("wire types serialise"))
    }

    fn routes(&self) -> Router<Simulator> {
        Router::new().route(
            "/simulator/payments/{payment_request_id}/disputes",
            post(raise_route),
        )
    }
}

async fn raise_route(
    State(simulator): State<Simulator>,
    Path(payment_request_id): Path<String>,
    Json(request): Json<RaiseRequest>,
) -> Response {
    match raise(&simulator, &payment_request_id, request) {
        Ok(id) => Json(json!({ "disputeRequestId": id })).into_response(),
        Err(e) => (StatusCode::CONFLICT, Json(json!({ "error": e }))).into_response(),
    }
}

/// A dispute the simulator raised, and what came of it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SimDispute {
    /// RETRIEVAL or ESCALATION.
    pub kind: String,
    pub payment_request_id: String,
    pub escalation_amount: Option<Amount>,
    /// What a retrieval asks for (`requestInformationType`).
    pub request_information_type: Option<String>,
    /// initiate calls sent, and the ACQP's last verified answer (`S SUCCESS`, `F <code>`).
    pub initiations_sent: u32,
    pub initiate_answer: Option<String>,
    /// The responses the ACQP sent, in order (the same body again counts again).
    pub responses: Vec<Value>,
}

/// `POST /simulator/payments/{paymentRequestId}/disputes`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RaiseRequest {
    pub kind: String,
    /// An escalation's amount.
    pub amount: Option<Amount>,
    /// A fresh one if absent.
    pub dispute_request_id: Option<String>,
    /// RFC 3339; now if absent.
    pub dispute_occur_time: Option<String>,
}

/// Raises `request` on payment `payment_request_id` of the ledger and starts sending it to the
/// ACQP: its `disputeRequestId`.
pub fn raise(
    simulator: &Simulator,
    payment_request_id: &str,
    request: RaiseRequest,
) -> Result<String, String> {
    let dispute_request_id = request
        .dispute_request_id
        .clone()
        .unwrap_or_else(|| format!("sim-dsp-{}", uuid::Uuid::new_v4().simple()));
    let (api, notify_url) = {
        let url = simulator
            .part::<Payments>()
            .notify_url(payment_request_id)
            .ok_or_else(|| format!("no paid payment '{payment_request_id}' with a notify URL"))?;
        let api = match request.kind.as_str() {
            "RETRIEVAL" => "initiateRetrieval",
            "ESCALATION" => "initiateEscalation",
            other => return Err(format!("kind must be RETRIEVAL or ESCALATION, not '{other}'")),
        };
        (api, url)
    };
    // The ACQP's dispute routes sit beside its notifyPayment route (UNCONFIRMED: Alipay+
    // configures them at onboarding).
    let url = match notify_url.rsplit_once('/') {
        Some((base, _)) => format!("{base}/{api}"),
        None => return Err("the notify URL has no path".into()),
    };
    let occurred = request
        .dispute_occur_time
        .clone()
        .unwrap_or_else(|| crate::alipayplus::signing::timestamp(simulator.now()));
    let mut body = serde_json::json!({
        "disputeRequestId": dispute_request_id,
        "paymentRequestId": payment_request_id,
        "disputeOccurTime": occurred,
    });
    if request.kind == "RETRIEVAL" {
        body["requestInformationType"] = Value::String("TRANSACTION_RECEIPT".into());
    } else if let Some(amount) = &request.amount {
        body["escalationAmount"] = serde_json::to_value(amount).expect("wire types serialise");
    }
    simulator.part::<Disputes>().books.lock().insert(
        dispute_request_id.clone(),
        SimDispute {
            kind: request.kind.clone(),
            payment_request_id: payment_request_id.to_string(),
            escalation_amount: request.amount.clone(),
            request_information_type: (request.kind == "RETRIEVAL").then(|| "TRANSACTION_RECEIPT".into()),
            initiations_sent: 0,
            initiate_answer: None,
            responses: vec![],
        },
    );
    tokio::spawn(deliver(simulator.clone(), dispute_request_id.clone(), url, body));
    Ok(dispute_request_id)
}

async fn deliver(simulator: Simulator, dispute_request_id: String, url: String, body: Value) {
    let config = simulator.config();
    let disputes = simulator.part::<Disputes>();
    let bytes = serde_json::to_vec(&body).expect("JSON");
    for delay in SCHEDULE_SECONDS {
        tokio::time::sleep(Duration::from_secs(delay).mul_f64(config.time_scale)).await;
        if simulator.chance(config.chaos.notify_drop_rate) {
            continue;
        }
        let copies = if simulator.chance(config.chaos.notify_duplicate_rate) {
            2
        } else {
            1
        };
        let mut answered = None;
        for _ in 0..copies {
            disputes.change(&dispute_request_id, |d| d.initiations_sent += 1);
            if let Some(result) = send(&simulator, &url, &bytes).await {
                answered = Some(result);
            }
        }
        if let Some(result) = answered {
            let answer = format!("{:?} {}", result.result_status, result.result_code);
            disputes.change(&dispute_request_id, |d| d.initiate_answer = Some(answer));
            if result.result_status != ResultStatus::U {
                return;
            }
        }
    }
}

impl Disputes {
    /// responseRetrieval / responseEscalation: the dispute must exist and be of that kind; a
    /// retrieval's answer must be a known responseCode and carry a transactionReceipt when the
    /// wallet asked for one and the answer says all is there (unless a document is the receipt); an
    /// escalation's answer must be a known refundType, with a refundAmount for a partial refund, in
    /// the escalation's currency and at most its amount; answered again, it must give the same
    /// refundType and refundAmount. Documents must name their type and carry their content.
    fn respond(&self, kind: &str, body: &Value) -> ResultInfo {
        let Some(id) = body.get("disputeRequestId").and_then(Value::as_str) else {
            return ResultInfo::new(ResultStatus::F, "PARAM_ILLEGAL", "disputeRequestId is required");
        };
        let mut books = self.books.lock();
        let Some(dispute) = books.get_mut(id) else {
            return ResultInfo::new(ResultStatus::F, "PARAM_ILLEGAL", "no such dispute");
        };
        if dispute.kind != kind {
            return ResultInfo::new(
                ResultStatus::F,
                "PARAM_ILLEGAL",
                "the dispute is of the other kind",
            );
        }
        let valid = match kind {
            "ESCALATION" => escalation_answer_is_valid(dispute, body),
            _ => retrieval_answer_is_valid(dispute, body),
        };
        if let Err(why) = valid.and_then(|()| documents_are_valid(body)) {
            return ResultInfo::new(ResultStatus::F, "PARAM_ILLEGAL", &why);
        }
        let decision = |response: &Value| {
            (
                response.get("refundType").cloned(),
                response.get("refundAmount").cloned(),
            )
        };
        if kind == "ESCALATION"
            && let Some(first) = dispute.responses.first()
            && decision(first) != decision(body)
        {
            return ResultInfo::new(
                ResultStatus::F,
                "REPEAT_REQ_INCONSISTENT",
                "another response was given for this dispute",
            );
        }
        dispute.responses.push(body.clone());
        ResultInfo::success()
    }
}

fn retrieval_answer_is_valid(dispute: &SimDispute, body: &Value) -> Result<(), String> {
    let code = body.get("responseCode").and_then(Value::as_str);
    if !matches!(code, Some("0001" | "0002" | "0003")) {
        return Err("responseCode must be 0001, 0002 or 0003".into());
    }
    let receipt_asked = dispute.request_information_type.as_deref() == Some("TRANSACTION_RECEIPT");
    let receipt_attached = body
        .get("otherDocumentation")
        .and_then(Value::as_array)
        .is_some_and(|docs| docs.iter().any(|d| d["attachmentType"] == "TRANSACTION_RECEIPT"));
    if receipt_asked && code == Some("0001") && !receipt_attached {
        let receipt = body.get("transactionReceipt");
        let complete = receipt.is_some_and(|r| {
            r.get("referenceOrderId").is_some_and(Value::is_string)
                && r.get("orderAmount").is_some_and(Value::is_object)
                && r.get("orderStatus").is_some_and(Value::is_string)
        });
        if !complete {
            return Err("transactionReceipt (referenceOrderId, orderAmount, orderStatus) is required for responseCode 0001 when TRANSACTION_RECEIPT was requested".into());
        }
    }
    Ok(())
}

fn documents_are_valid(body: &Value) -> Result<(), String> {
    let Some(documents) = body.get("otherDocumentation") else {
        return Ok(());
    };
    let documents = documents.as_array().ok_or("otherDocumentation must be a list")?;
    for (n, document) in documents.iter().enumerate() {
        for field in ["attachmentType", "content"] {
            if !document.get(field).is_some_and(Value::is_string) {
                return Err(format!("otherDocumentation[{n}].{field} is required"));
            }
        }
    }
    Ok(())
}

fn escalation_answer_is_valid(dispute: &SimDispute, body: &Value) -> Result<(), String> {
    let refund_type = body.get("refundType").and_then(Value::as_str);
    if !matches!(
        refund_type,
        Some("ACCEPT_REFUND" | "ACCEPT_PARTIAL_REFUND" | "REFUSE_REFUND")
    ) {
        return Err("refundType must be ACCEPT_REFUND, ACCEPT_PARTIAL_REFUND or REFUSE_REFUND".into());
    }
    let amount = match body.get("refundAmount") {
        Some(amount) => Some(
            serde_json::from_value::<Amount>(amount.clone())
                .map_err(|e| format!("refundAmount is not an amount: {e}"))?,
        ),
        None if refund_type == Some("ACCEPT_PARTIAL_REFUND") => {
            return Err("refundAmount is required for a partial refund".into());
        }
        None => None,
    };
    if let (Some(amount), Some(asked)) = (amount, &dispute.escalation_amount)
        && (amount.currency != asked.currency || amount.value > asked.value)
    {
        return Err("refundAmount must be in the escalation's currency and at most its amount".into());
    }
    Ok(())
}
