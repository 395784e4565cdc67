//! GraphQL over HTTP: `POST /graphql` (queries and mutations), `GET /graphql` (GraphiQL) and
//! `GET /graphql/ws` (subscriptions, graphql-transport-ws or graphql-ws). A merchant
//! authenticates with `Authorization: Bearer <api key>` (for WebSockets: `Authorization` in the
//! connection_init payload); an operator with an admin key (`ak_...`, or the configured
//! `admin.api_key`, the operator `config`).

use async_graphql::Data;
use async_graphql::http::GraphiQLSource;
use async_graphql_axum::{GraphQLProtocol, GraphQLRequest, GraphQLResponse, GraphQLWebSocket};
use axum::extract::{State, WebSocketUpgrade};
use axum::http::HeaderMap;
use axum::response::{Html, IntoResponse, Response};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

use super::graphql::{ApiSchema, AuthenticationUnavailable};
use crate::app::Engine;
use crate::app::auth::Principal;
use crate::app::merchants;
use crate::app::operations::{self, ADMIN_KEY_PREFIX, Operator};

#[derive(Clone)]
pub struct GraphqlState {
    pub schema: ApiSchema,
    pub engine: Engine,
    pub admin_api_key: Option<SecretString>,
}

impl GraphqlState {
    /// What a request's data says of its caller: its principal, nothing for a missing or
    /// unknown key, or [`AuthenticationUnavailable`] when the key could not be checked.
    async fn caller(&self, authorization: Option<&str>) -> Data {
        let mut data = Data::default();
        match self.principal(authorization).await {
            Ok(Some((principal, operator))) => {
                data.insert(principal);
                if let Some(operator) = operator {
                    data.insert(operator);
                }
            }
            Ok(None) => {}
            Err(unavailable) => data.insert(unavailable),
        }
        data
    }

    /// Who a bearer token belongs to (and, for an admin, which operator); `None` for a missing
    /// or unknown key.
    async fn principal(
        &self,
        authorization: Option<&str>,
    ) -> Result<Option<(Principal, Option<Operator>)>, AuthenticationUnavailable> {
        let Some(key) = authorization
            .and_then(|value| value.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|key| !key.is_empty())
        else {
            return Ok(None);
        };
        if let Some(admin) = &self.admin_api_key {
            // Compare digests: equal-length inputs, no early exit on the secret's bytes.
            if Sha256::digest(admin.expose_secret().as_bytes()) == Sha256::digest(key.as_bytes()) {
                return Ok(Some((Principal::Admin, Some(Operator::from_config()))));
            }
        }
        let unavailable = |e: crate::app::errors::AppError| {
            tracing::warn!("authentication unavailable: {e}");
            AuthenticationUnavailable
        };
        if key.starts_with(ADMIN_KEY_PREFIX) {
            let operator = operations::authenticate(&self.engine, key)
                .await
                .map_err(unavailable)?;
            return Ok(operator.map(|operator| (Principal::Admin, Some(operator))));
        }
        let merchant = merchants::authenticate(&self.engine, key)
            .await
            .map_err(unavailable)?;
        Ok(merchant.map(|merchant| (Principal::Merchant(Box::new(merchant)), None)))
    }
}

pub async fn execute(
    State(state): State<GraphqlState>,
    headers: HeaderMap,
    request: GraphQLRequest,
) -> GraphQLResponse {
    let authorization = headers.get("authorization").and_then(|v| v.to_str().ok());
    let mut request = request.into_inner();
    request.data = state.caller(authorization).await;
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
                    Ok(state.caller(authorization.as_deref()).await)
                })
                .serve()
        })
        .into_response()
}
