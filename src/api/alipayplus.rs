//! The routes Alipay+ calls on us. Each request is verified (client id, RSA256 signature over the
//! exact bytes received, body size, JSON shape) BEFORE anything is stored; every answer is a
//! signed Alipay+ `result`. A refused request changes nothing.
//!
//! UNCONFIRMED (ALIPAYPLUS.md 1.4): which URI Alipay+ signs for calls to us; we verify against
//! the path it called: the route under `server.public_url`'s path prefix (see
//! `Endpoint::with_public_path`). A request with a query string is refused
//! (PARAM_ILLEGAL): the signature would not cover it. `Request-Time` must be within
//! `alipayplus.request_time_window` of our clock, so a captured call cannot be replayed later.

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde::de::DeserializeOwned;

use crate::alipayplus::inbound::{Endpoint, MAX_BODY_BYTES, Refusal};
use crate::alipayplus::wire::*;
use crate::app::Engine;
use crate::app::disputes::{Initiation, receive};
use crate::app::payments::{NotificationHandled, handle_notification};
use crate::app::registrations;
use crate::store::entity::dispute;
use crate::store::inbound::{AsReceived, InboundCall};
use crate::store::payments;

#[derive(Clone)]
pub struct InboundState {
    pub engine: Engine,
    pub endpoint: Endpoint,
}

pub fn routes(state: InboundState) -> Router {
    Router::new()
        .route("/alipayplus/notifyPayment", post(notify_payment))
        .route(
            "/alipayplus/notifyRegistrationStatus",
            post(notify_registration_status),
        )
        .route("/alipayplus/initiateRetrieval", post(initiate_retrieval))
        .route("/alipayplus/initiateEscalation", post(initiate_escalation))
        .with_state(state)
}

/// A verified request: parsed, and what its journal entry keeps.
struct Verified<T> {
    parsed: T,
    journal: Journal,
}

/// A verified request as JSON for queries and as received for verifying it again.
struct Journal {
    body: serde_json::Value,
    as_received: AsReceived,
}

impl Journal {
    /// The journal entry of this call.
    fn call<'a>(self, api: &'a str, reference: &'a str, related: Option<&'a str>) -> InboundCall<'a> {
        InboundCall {
            api,
            reference,
            related_reference: related,
            body: self.body,
            as_received: Some(self.as_received),
        }
    }
}

/// Reads (within the size limit) and verifies a request.
async fn verified<T: DeserializeOwned>(
    state: &InboundState,
    uri: &Uri,
    headers: &HeaderMap,
    body: Body,
) -> Result<Verified<T>, Response> {
    let path = uri.path();
    let refuse = |refusal: Refusal| state.endpoint.refuse(path, &refusal).into_response();
    // Alipay+ signs the path only and never sends a query string: one would be unsigned input.
    if uri.query().is_some() {
        return Err(refuse(Refusal {
            code: "PARAM_ILLEGAL",
            message: "a query string is not accepted".into(),
        }));
    }
    let bytes = to_bytes(body, MAX_BODY_BYTES)
        .await
        .map_err(|_| refuse(Endpoint::too_large()))?;
    let parsed: T = state.endpoint.verify(path, headers, &bytes).map_err(refuse)?;
    let body = serde_json::from_slice(&bytes).expect("verified bodies are JSON");
    let signature_headers: serde_json::Map<String, serde_json::Value> =
        ["client-id", "request-time", "signature"]
            .into_iter()
            .filter_map(|name| {
                let value = headers.get(name)?.to_str().ok()?;
                Some((name.to_string(), value.into()))
            })
            .collect();
    let as_received = AsReceived {
        raw_body: bytes.to_vec(),
        signature_headers: signature_headers.into(),
        signed_path: state.endpoint.signed_path(path),
    };
    Ok(Verified {
        parsed,
        journal: Journal { body, as_received },
    })
}

/// Verifies, checks the reference, then settles the payment and journals the call. An unknown
/// `paymentRequestId` is refused and stored nowhere; an amount that differs from ours parks the
/// payment for an operator (acknowledged, so Alipay+ stops re-sending it).
async fn notify_payment(
    State(state): State<InboundState>,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let (notification, journal) = match verified::<NotifyPaymentRequest>(&state, &uri, &headers, body).await {
        Ok(verified) => (verified.parsed, verified.journal),
        Err(refused) => return refused,
    };
    let path = uri.path();
    let payment =
        match payments::payment_by_request_id(&state.engine.db, &notification.payment_request_id).await {
            Ok(Some(found)) => found,
            Ok(None) => {
                let refusal = Refusal {
                    code: "ORDER_NOT_EXIST",
                    message: format!("no payment '{}'", notification.payment_request_id),
                };
                return state.endpoint.refuse(path, &refusal).into_response();
            }
            Err(e) => return unavailable(&state, path, &e.to_string()),
        };
    let call = journal.call(
        "notifyPayment",
        &notification.payment_request_id,
        notification.payment_id.as_deref(),
    );
    match handle_notification(&state.engine, &payment, &notification, call).await {
        Ok(NotificationHandled::Parked(reason)) => {
            tracing::warn!(payment_request_id = %notification.payment_request_id, "{reason}");
            acknowledge(&state, path)
        }
        Ok(_) => acknowledge(&state, path),
        Err(e) => unavailable(&state, path, &e.to_string()),
    }
}

fn acknowledge(state: &InboundState, path: &str) -> Response {
    state
        .endpoint
        .answer(
            path,
            &ResultResponse {
                result: ResultInfo::success(),
            },
        )
        .into_response()
}

/// Not `S`: Alipay+ sends the call again later.
fn unavailable(state: &InboundState, path: &str, error: &str) -> Response {
    tracing::error!("inbound {path} not processed: {error}");
    let result = ResultInfo::new(
        ResultStatus::U,
        "UNKNOWN_EXCEPTION",
        "temporarily unable to process",
    );
    state
        .endpoint
        .answer(path, &ResultResponse { result })
        .into_response()
}

/// Verifies, finds the registration (by our request id, else the merchant's unfinished one),
/// then records the wallets' answers and journals the call. One about no registration of ours
/// is refused (RECORD_NOT_FOUND) and stored nowhere.
async fn notify_registration_status(
    State(state): State<InboundState>,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let (notification, journal) =
        match verified::<NotifyRegistrationStatusRequest>(&state, &uri, &headers, body).await {
            Ok(verified) => (verified.parsed, verified.journal),
            Err(refused) => return refused,
        };
    let path = uri.path();
    let reference = notification
        .registration_request_id
        .as_deref()
        .unwrap_or(&notification.reference_merchant_id);
    let call = journal.call(
        "notifyRegistrationStatus",
        reference,
        Some(&notification.reference_merchant_id),
    );
    match registrations::handle_notification(&state.engine, &notification, call).await {
        Ok(true) => acknowledge(&state, path),
        Ok(false) => {
            let refusal = Refusal {
                code: "RECORD_NOT_FOUND",
                message: format!("no registration '{reference}'"),
            };
            state.endpoint.refuse(path, &refusal).into_response()
        }
        Err(e) => unavailable(&state, path, &e.to_string()),
    }
}

async fn initiate_retrieval(
    State(state): State<InboundState>,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    match verified::<InitiateRetrievalRequest>(&state, &uri, &headers, body).await {
        Ok(Verified { parsed, journal }) => {
            let initiation = Initiation {
                kind: dispute::RETRIEVAL,
                dispute_request_id: &parsed.dispute_request_id,
                payment_request_id: &parsed.payment_request_id,
                occurred_at: parsed.dispute_occur_time.as_deref(),
                reason: parsed
                    .request_information_type
                    .as_ref()
                    .map(|types| types.join(",")),
                amount: None,
            };
            let call = journal.call(
                "initiateRetrieval",
                &parsed.dispute_request_id,
                Some(&parsed.payment_request_id),
            );
            dispute(&state, &uri, initiation, call).await
        }
        Err(refused) => refused,
    }
}

async fn initiate_escalation(
    State(state): State<InboundState>,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    match verified::<InitiateEscalationRequest>(&state, &uri, &headers, body).await {
        Ok(Verified { parsed, journal }) => {
            let initiation = Initiation {
                kind: dispute::ESCALATION,
                dispute_request_id: &parsed.dispute_request_id,
                payment_request_id: &parsed.payment_request_id,
                occurred_at: parsed.dispute_occur_time.as_deref(),
                reason: None,
                amount: parsed
                    .escalation_amount
                    .as_ref()
                    .map(|amount| (amount.currency.clone(), amount.value)),
            };
            let call = journal.call(
                "initiateEscalation",
                &parsed.dispute_request_id,
                Some(&parsed.payment_request_id),
            );
            dispute(&state, &uri, initiation, call).await
        }
        Err(refused) => refused,
    }
}

/// Records a dispute under Alipay+'s rules (`app::disputes::receive`): idempotent by
/// `disputeRequestId` (a unique index), `REPEAT_REQ_INCONSISTENT` for the same id about another
/// payment (ALIPAYPLUS.md 1.6), refused (and stored nowhere) for a payment not ours.
async fn dispute(
    state: &InboundState,
    uri: &Uri,
    initiation: Initiation<'_>,
    call: InboundCall<'_>,
) -> Response {
    let row = call.into_row(state.engine.clock.as_ref());
    match receive(&state.engine, initiation, row).await {
        Ok(Ok(())) => acknowledge(state, uri.path()),
        Ok(Err((code, message))) => state
            .endpoint
            .refuse(uri.path(), &Refusal { code, message })
            .into_response(),
        Err(e) => unavailable(state, uri.path(), &e.to_string()),
    }
}
