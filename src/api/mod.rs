//! HTTP edge (axum): the merchant GraphQL API ([`graphql`]; subscriptions on a bounded socket,
//! `sockets`), liveness, readiness, Prometheus metrics, the routes Alipay+ calls
//! ([`alipayplus`]), cross-process update fan-out ([`fanout`]), and the bounded accept loop
//! ([`serve`]).

pub mod alipayplus;
pub mod fanout;
mod graphiql;
pub mod graphql;
mod http;
mod server;
mod sockets;

use std::net::SocketAddr;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};
use tokio::net::TcpListener;

use crate::alipayplus::client::Client;
use crate::alipayplus::inbound::Endpoint;
use crate::app::Engine;
use crate::app::kind::KindList;
use crate::config::Config;

#[derive(Clone)]
struct ApiState {
    engine: Engine,
    redis: Option<redis::aio::ConnectionManager>,
    /// What `/metrics` requires, if anything (`telemetry.metrics_token`).
    metrics_token: Option<secrecy::SecretString>,
}

/// `GET /admin`: the operators' page (one HTML file; every datum it shows comes from the admin
/// GraphQL fields with the key the operator types in).
async fn admin_page() -> axum::response::Html<&'static str> {
    axum::response::Html(include_str!("admin/page.html"))
}

/// The router of `plusflow serve`.
pub async fn router(
    engine: Engine,
    config: &Config,
    endpoint: Endpoint,
    client: Client,
) -> anyhow::Result<Router> {
    let redis = match config.redis_url.as_deref() {
        Some(url) => Some(redis::Client::open(url)?.get_connection_manager().await?),
        None => None,
    };
    let inbound = alipayplus::routes(
        alipayplus::InboundState {
            engine: engine.clone(),
            endpoint,
        },
        KindList(&crate::kinds::ALL),
    );
    let graphql = http::GraphqlState {
        schema: graphql::schema(
            engine.clone(),
            client,
            config.payment_method_limits,
            config.connections.complexity_per_minute,
        ),
        engine: engine.clone(),
        admin_api_key: config.admin_api_key.clone(),
        failed_authentications: Default::default(),
    };
    let sockets = sockets::SocketState::new(graphql.clone(), config.connections, config.max_request_bytes);
    let graphql_routes = Router::new()
        .route("/graphql", get(graphiql::page).post(http::execute))
        .with_state(graphql)
        .route("/graphql/assets/{name}", get(graphiql::asset))
        .merge(
            Router::new()
                .route("/graphql/ws", get(sockets::subscriptions))
                .with_state(sockets),
        );
    Ok(Router::new()
        .route("/health/live", get(|| async { "ok" }))
        .route("/health/ready", get(ready))
        .route("/metrics", get(metrics))
        .route("/admin", get(admin_page))
        .with_state(ApiState {
            engine,
            redis,
            metrics_token: config.metrics_token.clone(),
        })
        .merge(inbound)
        .merge(graphql_routes)
        // Before any handler or authentication: a body announced larger is refused with 413
        // unread, one that grows larger while streaming is cut off at the limit.
        .layer(axum::middleware::from_fn_with_state(
            config.connections.body_read_timeout,
            body_within,
        ))
        .layer(tower_http::limit::RequestBodyLimitLayer::new(
            config.max_request_bytes,
        )))
}

/// Reads a request's whole body before any handler (every one reads whole bodies, at most
/// `server.max_request_bytes`), within `server.body_read_timeout`: a body that trickles in is
/// answered 408 instead of holding its connection, one over the limit 413.
async fn body_within(
    State(timeout): State<std::time::Duration>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let (parts, body) = request.into_parts();
    match tokio::time::timeout(timeout, axum::body::to_bytes(body, usize::MAX)).await {
        Err(_) => (
            StatusCode::REQUEST_TIMEOUT,
            "the request body did not arrive within server.body_read_timeout",
        )
            .into_response(),
        Ok(Err(_)) => (
            StatusCode::PAYLOAD_TOO_LARGE,
            "the request body is too large or was cut off",
        )
            .into_response(),
        Ok(Ok(bytes)) => {
            next.run(axum::extract::Request::from_parts(
                parts,
                axum::body::Body::from(bytes),
            ))
            .await
        }
    }
}

/// Readiness: the database answers, and Redis too when configured. It names what is down, not
/// why: the cause (which may carry a host or a connection string) goes to the log only.
async fn ready(State(state): State<ApiState>) -> (StatusCode, Json<Value>) {
    let database = match crate::store::ping(&state.engine.db).await {
        Ok(()) => "ok",
        Err(e) => {
            tracing::warn!("readiness: database unavailable: {e}");
            "unavailable"
        }
    };
    let redis = match state.redis.clone() {
        None => "not configured",
        Some(mut connection) => match redis::cmd("PING").query_async::<String>(&mut connection).await {
            Ok(_) => "ok",
            Err(e) => {
                tracing::warn!("readiness: redis unavailable: {e}");
                "unavailable"
            }
        },
    };
    let healthy = database == "ok" && (redis == "ok" || redis == "not configured");
    let status = if healthy {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(json!({ "database": database, "redis": redis })))
}

/// Prometheus text format: workflow instances by kind and state, parked instances, outbox rows.
/// With `telemetry.metrics_token` set, only for `Authorization: Bearer <token>` (401 otherwise;
/// compared in constant time).
async fn metrics(State(state): State<ApiState>, headers: axum::http::HeaderMap) -> (StatusCode, String) {
    if let Some(token) = &state.metrics_token {
        use secrecy::ExposeSecret;
        let given = headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "))
            .unwrap_or_default()
            .as_bytes();
        let expected = token.expose_secret().as_bytes();
        let differs = given.len() != expected.len()
            || given
                .iter()
                .zip(expected)
                .fold(0u8, |diff, (a, b)| diff | (a ^ b))
                != 0;
        if differs {
            return (StatusCode::UNAUTHORIZED, "# a bearer token is required\n".into());
        }
    }
    let engine = &state.engine;
    match crate::store::gauges(&engine.db, &engine.definitions, engine.clock.now_ms()).await {
        Ok(gauges) => (StatusCode::OK, crate::metrics::render(&gauges)),
        Err(e) => {
            tracing::warn!("metrics: database unavailable: {e}");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "# database unavailable\n".to_string(),
            )
        }
    }
}

/// Binds `host:port` (port 0 picks one) and returns the listener with its real address.
pub async fn bind(host: &str, port: u16) -> anyhow::Result<(TcpListener, SocketAddr)> {
    let listener = TcpListener::bind((host, port)).await?;
    let address = listener.local_addr()?;
    Ok((listener, address))
}

pub use server::serve;
