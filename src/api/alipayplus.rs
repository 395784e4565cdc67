//! The routes Alipay+ calls on us, one per kind's inbound API (`Kind::inbound`). Each request is
//! verified here (client id, RSA256 signature over the exact bytes received, body size, JSON)
//! BEFORE its kind sees it; the kind looks up what it is about, journals it and does what it
//! says; every answer is a signed Alipay+ `result`. A refused request changes nothing.
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
use tracing::Instrument;

use crate::alipayplus::inbound::{Endpoint, MAX_BODY_BYTES, Refusal};
use crate::alipayplus::wire::{ResultInfo, ResultResponse, ResultStatus};
use crate::app::Engine;
use crate::app::kind::{Inbound, InboundAnswer, InboundRoute, KindList};
use crate::store::inbound::AsReceived;

#[derive(Clone)]
pub struct InboundState {
    pub engine: Engine,
    pub endpoint: Endpoint,
}

/// `/alipayplus/<api>` for each inbound API of `kinds`.
pub fn routes(state: InboundState, kinds: KindList) -> Router {
    let mut router = Router::new();
    for route in kinds.0.iter().flat_map(|kind| kind.inbound()) {
        router = router.route(
            &format!("/alipayplus/{}", route.api),
            post(
                move |State(state): State<InboundState>, uri: Uri, headers: HeaderMap, body: Body| {
                    receive(state, route, uri, headers, body)
                },
            ),
        );
    }
    router.with_state(state)
}

/// Verifies the call, hands it to its kind, and signs the kind's answer.
async fn receive(
    state: InboundState,
    route: &'static InboundRoute,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let inbound = match verified(&state, route.api, &uri, &headers, body).await {
        Ok(inbound) => inbound,
        Err(refused) => return refused,
    };
    let path = uri.path();
    let span = tracing::info_span!("alipayplus inbound", api = route.api);
    match (route.handle)(&state.engine, inbound).instrument(span).await {
        InboundAnswer::Acknowledged => acknowledge(&state, path),
        InboundAnswer::Refused { code, message } => state
            .endpoint
            .refuse(path, &Refusal { code, message })
            .into_response(),
        InboundAnswer::Unavailable(error) => unavailable(&state, path, &error),
    }
}

/// Reads (within the size limit) and verifies a request.
async fn verified(
    state: &InboundState,
    api: &'static str,
    uri: &Uri,
    headers: &HeaderMap,
    body: Body,
) -> Result<Inbound, Response> {
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
    let body: serde_json::Value = state.endpoint.verify(path, headers, &bytes).map_err(refuse)?;
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
    Ok(Inbound {
        api,
        body,
        as_received,
    })
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
