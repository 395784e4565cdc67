//! The subscription socket, `GET /graphql/ws` (graphql-transport-ws or graphql-ws): it serves
//! subscriptions only (queries and mutations go over HTTP, where every request is authenticated
//! and bounded), and its caller is who the key in `connection_init` names *now*:
//! - a socket without a known key is closed at `connection_init` (unknown keys count towards the
//!   address's slowdown, as over HTTP);
//! - the key is checked again at every `subscribe` (merchants through the same 5 s cache as
//!   HTTP, operators' keys uncached) and every [`RECHECK_EVERY`]; a revoked key's socket is
//!   closed (code 4403);
//! - bounded: frames and messages to `server.max_request_bytes`, `connection_init` within
//!   `server.socket_init_timeout` (else code 4408), sockets per address and per key, and
//!   subscriptions per socket (`server.max_*`).

use std::collections::HashMap;
use std::hash::Hash;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_graphql::http::WebSocketProtocols;
use async_graphql::parser::types::OperationType;
use async_graphql::{Data, ErrorExtensions, Executor, Request, Response, ServerError};
use axum::Extension;
use axum::extract::ws::{CloseFrame, Message, WebSocket};
use axum::extract::{ConnectInfo, State, WebSocketUpgrade};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response as HttpResponse};
use futures::stream::BoxStream;
use futures::{SinkExt, StreamExt};
use sha2::{Digest, Sha256};
use tokio_util::sync::CancellationToken;

use super::http::{GraphqlState, caller_data};
use crate::config::ConnectionLimits;

/// How often an open socket's key is checked again.
pub const RECHECK_EVERY: Duration = Duration::from_secs(2);

/// What the socket route works with: the GraphQL API's, and the sockets open by address and by
/// key.
#[derive(Clone)]
pub struct SocketState {
    graphql: GraphqlState,
    by_address: Arc<Counter<IpAddr>>,
    by_key: Arc<Counter<[u8; 32]>>,
    limits: ConnectionLimits,
    /// The largest frame and message (`server.max_request_bytes`).
    max_bytes: usize,
}

impl SocketState {
    pub fn new(graphql: GraphqlState, limits: ConnectionLimits, max_bytes: usize) -> Self {
        Self {
            graphql,
            by_address: Counter::new(limits.max_sockets_per_address),
            by_key: Counter::new(limits.max_sockets_per_key),
            limits,
            max_bytes,
        }
    }
}

/// How many of something each key holds, up to a limit.
struct Counter<K> {
    held: Mutex<HashMap<K, usize>>,
    limit: usize,
}

impl<K: Hash + Eq + Clone> Counter<K> {
    fn new(limit: usize) -> Arc<Self> {
        Arc::new(Self {
            held: Mutex::default(),
            limit,
        })
    }

    /// One more for `key`, unless it holds the limit; given back when the slot is dropped.
    fn take(self: &Arc<Self>, key: K) -> Option<Slot<K>> {
        let mut held = self.held.lock().expect("never poisoned");
        let count = held.entry(key.clone()).or_default();
        if *count >= self.limit {
            return None;
        }
        *count += 1;
        Some(Slot {
            counter: self.clone(),
            key,
        })
    }
}

struct Slot<K: Hash + Eq + Clone> {
    counter: Arc<Counter<K>>,
    key: K,
}

impl<K: Hash + Eq + Clone> Drop for Slot<K> {
    fn drop(&mut self) {
        let mut held = self.counter.held.lock().expect("never poisoned");
        if let Some(count) = held.get_mut(&self.key) {
            *count -= 1;
            if *count == 0 {
                held.remove(&self.key);
            }
        }
    }
}

/// What one socket knows of its caller.
#[derive(Default)]
struct Session {
    /// The `Authorization` of `connection_init`, once accepted.
    authorization: Mutex<Option<String>>,
    key_slot: Mutex<Option<Slot<[u8; 32]>>>,
    /// Cancelled to close the socket, with why.
    closed: CancellationToken,
    close_frame: Mutex<Option<(u16, &'static str)>>,
}

impl Session {
    fn authorization(&self) -> Option<String> {
        self.authorization.lock().expect("never poisoned").clone()
    }

    fn close(&self, code: u16, reason: &'static str) {
        self.close_frame
            .lock()
            .expect("never poisoned")
            .get_or_insert((code, reason));
        self.closed.cancel();
    }

    /// `connection_init`: the caller's data, or why the socket is refused (closed 1002).
    async fn init(
        &self,
        sockets: &SocketState,
        address: IpAddr,
        payload: serde_json::Value,
    ) -> async_graphql::Result<Data> {
        let state = &sockets.graphql;
        if state.failed_authentications.retry_after(address).is_some() {
            return Err(closing(
                "RATE_LIMITED",
                "too many unknown keys from this address; try again later",
            ));
        }
        let authorization = payload
            .get("Authorization")
            .or_else(|| payload.get("authorization"))
            .and_then(|value| value.as_str())
            .map(str::to_string);
        let found = match state.principal(authorization.as_deref()).await {
            Ok(Some(found)) => found,
            Ok(None) => {
                if authorization.is_some() {
                    state.failed_authentications.failed(address);
                }
                return Err(closing(
                    "UNAUTHENTICATED",
                    "connection_init needs a known key: {\"Authorization\": \"Bearer <key>\"}",
                ));
            }
            Err(_) => return Err(closing("UNAVAILABLE", "the key could not be checked; try again")),
        };
        let authorization = authorization.expect("a known key was presented");
        let digest: [u8; 32] = Sha256::digest(authorization.as_bytes()).into();
        let Some(slot) = sockets.by_key.take(digest) else {
            return Err(closing("RATE_LIMITED", "too many sockets for this key"));
        };
        *self.key_slot.lock().expect("never poisoned") = Some(slot);
        *self.authorization.lock().expect("never poisoned") = Some(authorization);
        Ok(caller_data(Ok(Some(found))))
    }
}

/// Why `connection_init` is refused: the close frame's reason, its code first.
fn closing(code: &str, message: &str) -> async_graphql::Error {
    async_graphql::Error::new(format!("{code}: {message}"))
}

/// `GET /graphql/ws`: upgraded if the address holds fewer sockets than its limit (429 otherwise).
pub async fn subscriptions(
    State(state): State<SocketState>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> HttpResponse {
    let protocol = headers
        .get(header::SEC_WEBSOCKET_PROTOCOL)
        .and_then(|value| value.to_str().ok())
        .and_then(|offered| {
            offered
                .split(',')
                .find_map(|p| p.trim().parse::<WebSocketProtocols>().ok())
        });
    let Some(protocol) = protocol else {
        return (
            StatusCode::BAD_REQUEST,
            "Sec-WebSocket-Protocol: graphql-transport-ws or graphql-ws",
        )
            .into_response();
    };
    let address = peer.map_or(
        IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        |Extension(ConnectInfo(peer))| peer.ip(),
    );
    let Some(address_slot) = state.by_address.take(address) else {
        return (
            StatusCode::TOO_MANY_REQUESTS,
            "too many sockets from this address",
        )
            .into_response();
    };
    let max_bytes = state.max_bytes;
    upgrade
        .max_message_size(max_bytes)
        .max_frame_size(max_bytes)
        .protocols(async_graphql::http::ALL_WEBSOCKET_PROTOCOLS)
        .on_upgrade(move |socket| async move {
            serve(state, socket, protocol, address).await;
            drop(address_slot);
        })
        .into_response()
}

async fn serve(state: SocketState, socket: WebSocket, protocol: WebSocketProtocols, address: IpAddr) {
    let (mut sink, stream) = socket.split();
    let session = Arc::new(Session::default());
    let executor = SocketExecutor {
        state: state.graphql.clone(),
        session: session.clone(),
        subscriptions: Counter::new(state.limits.max_subscriptions_per_socket),
    };
    let refuses_frames = session.clone();
    let input = stream
        .take_until(session.closed.clone().cancelled_owned())
        .take_while(move |message| {
            if message.is_err() {
                refuses_frames.close(
                    1009,
                    "a frame or message over server.max_request_bytes, or malformed",
                );
            }
            futures::future::ready(message.is_ok())
        })
        .filter_map(|message| {
            futures::future::ready(match message {
                Ok(Message::Text(text)) => Some(text.as_bytes().to_vec()),
                Ok(Message::Binary(bytes)) => Some(bytes.to_vec()),
                _ => None,
            })
        });
    let on_init = {
        let (state, session) = (state.clone(), session.clone());
        move |payload| async move { session.init(&state, address, payload).await }
    };
    let messages = async_graphql::http::WebSocket::new(executor, input, protocol)
        .on_connection_init(on_init)
        .map(|message| match message {
            async_graphql::http::WsMessage::Text(text) => Message::Text(text.into()),
            async_graphql::http::WsMessage::Close(code, reason) => Message::Close(Some(CloseFrame {
                code,
                reason: reason.into(),
            })),
        });
    let watcher = tokio::spawn(watch(state, session.clone()));
    futures::pin_mut!(messages);
    while let Some(message) = messages.next().await {
        if sink.send(message).await.is_err() {
            break;
        }
    }
    watcher.abort();
    let frame = *session.close_frame.lock().expect("never poisoned");
    if let Some((code, reason)) = frame {
        let _ = sink
            .send(Message::Close(Some(CloseFrame {
                code,
                reason: reason.into(),
            })))
            .await;
    }
}

/// Closes the socket when `connection_init` is late, or when its key no longer authenticates.
async fn watch(state: SocketState, session: Arc<Session>) {
    tokio::time::sleep(state.limits.socket_init_timeout).await;
    if session.authorization().is_none() {
        session.close(4408, "connection_init timed out");
        return;
    }
    loop {
        tokio::time::sleep(RECHECK_EVERY).await;
        if let Ok(None) = state.graphql.principal(session.authorization().as_deref()).await {
            session.close(4403, "the key was revoked");
            return;
        }
    }
}

/// The schema as a socket runs it: subscriptions only, each with its caller looked up again.
#[derive(Clone)]
struct SocketExecutor {
    state: GraphqlState,
    session: Arc<Session>,
    subscriptions: Arc<Counter<()>>,
}

impl SocketExecutor {
    /// Runs `request` as a subscription holding `slot` (one of the socket's) while it lasts.
    async fn subscription(self, mut request: Request, slot: Slot<()>) -> BoxStream<'static, Response> {
        if !is_subscription(&request) {
            return refused(
                "OPERATION_NOT_ALLOWED",
                "only subscriptions run on this socket; send queries and mutations to POST /graphql",
            );
        }
        let data = match self
            .state
            .principal(self.session.authorization().as_deref())
            .await
        {
            Ok(Some(found)) => caller_data(Ok(Some(found))),
            Ok(None) => {
                self.session.close(4403, "the key was revoked");
                return refused("UNAUTHENTICATED", "the key was revoked");
            }
            Err(unavailable) => caller_data(Err(unavailable)),
        };
        request.data = data;
        self.state
            .schema
            .execute_stream(request)
            .map(move |response| {
                let _held = &slot;
                response
            })
            .boxed()
    }
}

impl Executor for SocketExecutor {
    async fn execute(&self, _request: Request) -> Response {
        Response::from_errors(vec![refusal(
            "OPERATION_NOT_ALLOWED",
            "only subscriptions run on this socket; send queries and mutations to POST /graphql",
        )])
    }

    fn execute_stream(
        &self,
        request: Request,
        _session_data: Option<Arc<Data>>,
    ) -> BoxStream<'static, Response> {
        // Taken here, in the order the socket's messages came, not when first polled.
        let Some(slot) = self.subscriptions.take(()) else {
            return refused("RATE_LIMITED", "too many subscriptions on this socket");
        };
        futures::stream::once(self.clone().subscription(request, slot))
            .flatten()
            .boxed()
    }
}

/// Whether the operation `request` names (or its only one) is a subscription; a document that
/// does not parse is left to the schema to refuse.
fn is_subscription(request: &Request) -> bool {
    let Ok(document) = async_graphql::parser::parse_query(&request.query) else {
        return true;
    };
    let mut operations = document.operations.iter();
    let operation = match &request.operation_name {
        Some(name) => operations.find(|(named, _)| named.map(|n| n.as_str()) == Some(name.as_str())),
        None => operations.next(),
    };
    operation.is_none_or(|(_, operation)| operation.node.ty == OperationType::Subscription)
}

fn refusal(code: &'static str, message: &str) -> ServerError {
    async_graphql::Error::new(message)
        .extend_with(|_, e| e.set("code", code))
        .into_server_error(Default::default())
}

fn refused(code: &'static str, message: &str) -> BoxStream<'static, Response> {
    futures::stream::once(futures::future::ready(Response::from_errors(vec![refusal(
        code, message,
    )])))
    .boxed()
}
