//! GraphQL over HTTP: `POST /graphql` (queries and mutations; GraphiQL at `GET /graphql` is
//! [`super::graphiql`]); subscriptions are served by [`super::sockets`]. A merchant authenticates with
//! `Authorization: Bearer <api key>` (for WebSockets: `Authorization` in the connection_init
//! payload); an operator with an admin key (`ak_...`, or the configured `admin.api_key`, the
//! operator `config`).
//!
//! Failed authentications are slowed down per address ([`FailedAuthentications`]): past
//! [`FailedAuthentications::LIMIT`] unknown keys in a minute from one address, that address's
//! requests carrying a key are answered `RATE_LIMITED` (with `retryAfterSeconds`) without the key
//! being checked, until the minute is over. (Behind a proxy every caller shares its address.)

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tracing::Instrument;

use async_graphql::{Data, ErrorExtensions};
use async_graphql_axum::{GraphQLRequest, GraphQLResponse};
use axum::Extension;
use axum::extract::{ConnectInfo, State};
use axum::http::HeaderMap;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

use super::graphql::{ApiSchema, AuthenticationUnavailable};
use crate::app::Engine;
use crate::app::auth::Principal;
use crate::app::console::{self, ADMIN_KEY_PREFIX, Operator};
use crate::app::merchants;

#[derive(Clone)]
pub struct GraphqlState {
    pub schema: ApiSchema,
    pub engine: Engine,
    pub admin_api_key: Option<SecretString>,
    pub failed_authentications: Arc<FailedAuthentications>,
}

/// Unknown keys presented per address in the current minute (see the module doc).
#[derive(Default)]
pub struct FailedAuthentications {
    by_address: Mutex<HashMap<IpAddr, (Instant, u32)>>,
}

impl FailedAuthentications {
    /// Unknown keys one address may present in a minute (500 guesses a second become 5).
    pub const LIMIT: u32 = 300;
    const WINDOW: Duration = Duration::from_secs(60);
    /// Addresses remembered at most; past it, those whose minute is over are forgotten.
    const ADDRESSES: usize = 100_000;

    /// The seconds until `address` may present keys again, if it is over the limit.
    pub(super) fn retry_after(&self, address: IpAddr) -> Option<u64> {
        let by_address = self.by_address.lock().expect("never poisoned");
        let (since, count) = by_address.get(&address)?;
        let left = Self::WINDOW.checked_sub(since.elapsed())?;
        (*count >= Self::LIMIT).then(|| left.as_secs().max(1))
    }

    pub(super) fn failed(&self, address: IpAddr) {
        let mut by_address = self.by_address.lock().expect("never poisoned");
        if by_address.len() >= Self::ADDRESSES {
            by_address.retain(|_, (since, _)| since.elapsed() < Self::WINDOW);
        }
        let entry = by_address.entry(address).or_insert((Instant::now(), 0));
        if entry.0.elapsed() >= Self::WINDOW {
            *entry = (Instant::now(), 0);
        }
        entry.1 += 1;
    }
}

impl GraphqlState {
    /// What a request's data says of its caller: its principal, nothing for a missing or
    /// unknown key, or [`AuthenticationUnavailable`] when the key could not be checked; and
    /// whether a key was presented that no one has.
    pub(super) async fn caller_and_whether_unknown(&self, authorization: Option<&str>) -> (Data, bool) {
        let found = self.principal(authorization).await;
        let unknown =
            matches!(found, Ok(None)) && authorization.is_some_and(|value| !value.trim().is_empty());
        let mut data = caller_data(found);
        if unknown {
            data.insert(crate::api::graphql::UnknownKey);
        }
        (data, unknown)
    }

    /// Who a bearer token belongs to (and, for an admin, which operator); `None` for a missing
    /// or unknown key.
    pub(super) async fn principal(
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
            let operator = console::authenticate(&self.engine, key)
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

/// A request's data for what [`GraphqlState::principal`] found.
pub(super) fn caller_data(
    found: Result<Option<(Principal, Option<Operator>)>, AuthenticationUnavailable>,
) -> Data {
    let mut data = Data::default();
    match found {
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

pub async fn execute(
    State(state): State<GraphqlState>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    request: GraphQLRequest,
) -> GraphQLResponse {
    let authorization = headers.get("authorization").and_then(|v| v.to_str().ok());
    let address = peer.map(|Extension(ConnectInfo(peer))| peer.ip());
    if let (Some(address), Some(_)) = (address, authorization)
        && let Some(seconds) = state.failed_authentications.retry_after(address)
    {
        let error = async_graphql::Error::new("too many unknown keys from this address; try again later")
            .extend_with(|_, e| {
                e.set("code", "RATE_LIMITED");
                e.set("retryAfterSeconds", seconds);
            });
        let refused = async_graphql::Response::from_errors(vec![error.into_server_error(Default::default())]);
        return refused.into();
    }
    let mut request = request.into_inner();
    let (data, unknown) = state.caller_and_whether_unknown(authorization).await;
    request.data = data;
    if unknown && let Some(address) = address {
        state.failed_authentications.failed(address);
    }
    let span = tracing::info_span!(
        "graphql",
        operation = request.operation_name.as_deref().unwrap_or("")
    );
    state.schema.execute(request).instrument(span).await.into()
}
