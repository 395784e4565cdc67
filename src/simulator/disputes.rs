//! Disputes, as Alipay+ runs them for a wallet (ALIPAYPLUS.md 5): the control route raises a
//! retrieval or an escalation on a paid payment and sends the initiation to the ACQP, signed,
//! re-sent on the notification schedule until the ACQP answers (S, or a verified refusal); the
//! response APIs take the ACQP's answer with Alipay+'s rules (the dispute must exist, a repeated
//! escalation response must say the same) and the ledger shows both.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::Simulator;
use super::notify::{SCHEDULE_SECONDS, send};
use crate::alipayplus::wire::{Amount, ResultInfo, ResultStatus};

/// A dispute the simulator raised, and what came of it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SimDispute {
    /// RETRIEVAL or ESCALATION.
    pub kind: String,
    pub payment_request_id: String,
    pub escalation_amount: Option<Amount>,
    /// initiate calls sent, and the ACQP's last verified answer (`S SUCCESS`, `F <code>`).
    pub initiations_sent: u32,
    pub initiate_answer: Option<String>,
    /// The responses the ACQP sent, in order (the same body again counts again).
    pub responses: Vec<Value>,
}

/// `POST /simulator/disputes`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RaiseRequest {
    pub kind: String,
    pub payment_request_id: String,
    pub dispute_request_id: String,
    pub escalation_amount: Option<Amount>,
    /// RFC 3339; now if absent.
    pub dispute_occur_time: Option<String>,
}

/// Raises `request` on a payment of the ledger and starts sending it to the ACQP.
pub fn raise(simulator: &Simulator, request: RaiseRequest) -> Result<(), String> {
    let (api, notify_url) = {
        let books = simulator.books();
        let url = books.notify_url(&request.payment_request_id).ok_or_else(|| {
            format!(
                "no paid payment '{}' with a notify URL",
                request.payment_request_id
            )
        })?;
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
        .unwrap_or_else(|| crate::alipayplus::signing::timestamp(simulator.shared.clock.now()));
    let mut body = serde_json::json!({
        "disputeRequestId": request.dispute_request_id,
        "paymentRequestId": request.payment_request_id,
        "disputeOccurTime": occurred,
    });
    if request.kind == "RETRIEVAL" {
        body["requestInformationType"] = Value::String("TRANSACTION_RECEIPT".into());
    } else if let Some(amount) = &request.escalation_amount {
        body["escalationAmount"] = serde_json::to_value(amount).expect("wire types serialise");
    }
    simulator.books().add_dispute(
        &request.dispute_request_id,
        SimDispute {
            kind: request.kind.clone(),
            payment_request_id: request.payment_request_id.clone(),
            escalation_amount: request.escalation_amount.clone(),
            initiations_sent: 0,
            initiate_answer: None,
            responses: vec![],
        },
    );
    tokio::spawn(deliver(simulator.clone(), request.dispute_request_id, url, body));
    Ok(())
}

async fn deliver(simulator: Simulator, dispute_request_id: String, url: String, body: Value) {
    let config = &simulator.shared.config;
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
            simulator
                .books()
                .dispute_mut(&dispute_request_id, |d| d.initiations_sent += 1);
            if let Some(result) = send(&simulator, &url, &bytes).await {
                answered = Some(result);
            }
        }
        if let Some(result) = answered {
            let answer = format!("{:?} {}", result.result_status, result.result_code);
            simulator
                .books()
                .dispute_mut(&dispute_request_id, |d| d.initiate_answer = Some(answer));
            if result.result_status != ResultStatus::U {
                return;
            }
        }
    }
}

/// responseRetrieval / responseEscalation: the dispute must exist and be of that kind; an
/// escalation answered again must give the same refundType and refundAmount.
pub fn respond(simulator: &Simulator, kind: &str, body: &Value) -> ResultInfo {
    let Some(id) = body.get("disputeRequestId").and_then(Value::as_str) else {
        return ResultInfo::new(ResultStatus::F, "PARAM_ILLEGAL", "disputeRequestId is required");
    };
    let mut books = simulator.books();
    let Some(dispute) = books.dispute(id) else {
        return ResultInfo::new(ResultStatus::F, "PARAM_ILLEGAL", "no such dispute");
    };
    if dispute.kind != kind {
        return ResultInfo::new(
            ResultStatus::F,
            "PARAM_ILLEGAL",
            "the dispute is of the other kind",
        );
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
    books.dispute_mut(id, |d| d.responses.push(body.clone()));
    ResultInfo::success()
}
