//! GraphQL over HTTP: `POST /graphql` (queries and mutations), `GET /graphql` (GraphiQL) and
//! `GET /graphql/ws` (subscriptions, graphql-transport-ws or graphql-ws). A merchant
//! authenticates with `Authorization: Bearer <api key>` (for WebSockets: `Authorization` in the
//! connection_init payload); the admin key from the configuration is an admin.

use async_graphql::Data;
use async_graphql::http::GraphiQLSource;
use async_graphql_axum::{GraphQLProtocol, GraphQLRequest, GraphQLResponse, GraphQLWebSocket};
use axum::extract::{State, WebSocketUpgrade};
use axum::http::HeaderMap;
use axum::response::{Html, IntoResponse, Response};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

use super::graphql::ApiSchema;
use crate::app::Engine;
use crate::app::merchants;
use crate::app::payments::Principal;

#[derive(Clone)]
pub struct GraphqlState {
    pub schema: ApiSchema,
    pub engine: Engine,
    pub admin_api_key: Option<SecretString>,
}

impl GraphqlState {
    /// Who a bearer token belongs to; `None` for a missing or unknown key.
    async fn principal(&self, authorization: Option<&str>) -> Option<Principal> {
        let key = authorization?.strip_prefix("Bearer ")?.trim();
        if key.is_empty() {
            return None;
        }
        if let Some(admin) = &self.admin_api_key {
            // Compare digests: equal-length inputs, no early exit on the secret's bytes.
            if Sha256::digest(admin.expose_secret().as_bytes()) == Sha256::digest(key.as_bytes()) {
                return Some(Principal::Admin);
            }
        }
        match merchants::authenticate(&self.engine, key).await {
            Ok(Some(merchant)) => Some(Principal::Merchant(merchant)),
            Ok(None) => None,
            Err(e) => {
                tracing::warn!("authentication unavailable: {e}");
                None
            }
        }
    }
}

pub async fn execute(
    State(state): State<GraphqlState>,
    headers: HeaderMap,
    request: GraphQLRequest,
) -> GraphQLResponse {
    let authorization = headers.get("authorization").and_then(|v| v.to_str().ok());
    let mut request = request.into_inner();
    if let Some(principal) = state.principal(authorization).await {
        request = request.data(principal);
    }
    state.schema.execute(request).await.into()
}

pub async fn graphiql() -> Html<String> {
    Html(
        GraphiQLSource::build()
            .endpoint("/graphql")
            .subscription_endpoint("/graphql/ws")
            .finish(),
    )
}

pub async fn subscriptions(
    State(state): State<GraphqlState>,
    protocol: GraphQLProtocol,
    upgrade: WebSocketUpgrade,
) -> Response {
    let schema = state.schema.clone();
    upgrade
        .protocols(async_graphql::http::ALL_WEBSOCKET_PROTOCOLS)
        .on_upgrade(move |socket| {
            GraphQLWebSocket::new(socket, schema, protocol)
                .on_connection_init(move |payload| async move {
                    let authorization = payload
                        .get("Authorization")
                        .or_else(|| payload.get("authorization"))
                        .and_then(|v| v.as_str())
                        .map(str::to_string);
                    let mut data = Data::default();
                    if let Some(principal) = state.principal(authorization.as_deref()).await {
                        data.insert(principal);
                    }
                    Ok(data)
                })
                .serve()
        })
        .into_response()
}
