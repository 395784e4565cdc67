//! A merchant's webhook endpoints and what was sent to them, as the merchant (or an operator
//! naming the merchant) manages them: several endpoints, each with a URL the target rules allow,
//! the event types it takes and its own secret (shown once, at creation and at each rotation);
//! the deliveries and their attempts; a signed test `ping`; sending one event again, or every
//! failed delivery since a time (a durable request the dispatcher works through).
//!
//! Another merchant's endpoint, delivery or event is NOT_FOUND, as if it did not exist.

use chrono::{DateTime, SubsecRound, Utc};
use uuid::Uuid;

use super::Engine;
use super::auth::Principal;
use super::errors::{AppError, check_length, invalid};
use super::tokens::random_token;
use crate::store::entity::{
    webhook_delivery, webhook_delivery_attempt, webhook_endpoint, webhook_redelivery,
};
use crate::store::webhooks::{self as rows, Attempted, DeliveryFilter, Next, Waiting};
use crate::store::{StoreError, feed};

/// How long a rotated-out secret keeps signing deliveries beside the new one.
pub const SECRET_OVERLAP: chrono::Duration = chrono::Duration::hours(24);
/// The most endpoints a merchant may have.
pub const MAX_ENDPOINTS: usize = 16;
/// The most deliveries one page holds.
pub const MAX_PAGE: u64 = 100;
const MAX_URL: usize = 2048;

/// What a new endpoint is.
#[derive(Debug, Clone, Default)]
pub struct EndpointInput {
    pub url: String,
    /// None listed: every type.
    pub event_types: Vec<String>,
    pub description: Option<String>,
}

/// What a change of an endpoint changes (`None`: kept).
#[derive(Debug, Clone, Default)]
pub struct EndpointUpdate {
    pub url: Option<String>,
    pub event_types: Option<Vec<String>>,
    pub description: Option<String>,
    pub enabled: Option<bool>,
}

/// An endpoint and its secret, shown this once.
pub struct CreatedEndpoint {
    pub endpoint: webhook_endpoint::Model,
    pub secret: String,
}

/// A delivery with its attempts, oldest first.
pub struct DeliveryView {
    pub delivery: webhook_delivery::Model,
    pub attempts: Vec<webhook_delivery_attempt::Model>,
}

/// Every event type an endpoint may take: the kinds' and the endpoints' own.
pub fn event_types() -> Vec<&'static str> {
    let mut types: Vec<&'static str> = crate::kinds::ALL
        .iter()
        .flat_map(|kind| kind.event_types().iter().copied())
        .collect();
    types.push(rows::ENDPOINT_DISABLED);
    types
}

fn check_url(engine: &Engine, url: &str) -> Result<(), AppError> {
    if url.len() > MAX_URL {
        return Err(invalid("url", format!("at most {MAX_URL} characters")));
    }
    engine
        .webhooks
        .check_url(url)
        .map(|_| ())
        .map_err(|why| invalid("url", why))
}

fn check_types(types: &[String]) -> Result<serde_json::Value, AppError> {
    let known = event_types();
    if let Some(unknown) = types.iter().find(|t| !known.contains(&t.as_str())) {
        return Err(invalid(
            "eventTypes",
            format!("'{unknown}' is not an event type (one of {})", known.join(", ")),
        ));
    }
    let mut unique = types.to_vec();
    unique.sort();
    unique.dedup();
    Ok(serde_json::json!(unique))
}

fn check_description(description: &Option<String>) -> Result<(), AppError> {
    match description {
        Some(text) => check_length("description", text, 256),
        None => Ok(()),
    }
}

/// A new endpoint of the merchant `principal` is (or names, for an operator).
pub async fn create(
    engine: &Engine,
    principal: &Principal,
    merchant_id: Option<Uuid>,
    input: EndpointInput,
) -> Result<CreatedEndpoint, AppError> {
    let merchant_id = principal.merchant_named(merchant_id)?;
    check_url(engine, &input.url)?;
    let event_types = check_types(&input.event_types)?;
    check_description(&input.description)?;
    if rows::endpoints_of(&engine.db, merchant_id).await?.len() >= MAX_ENDPOINTS {
        return Err(invalid(
            "url",
            format!("a merchant has at most {MAX_ENDPOINTS} webhook endpoints"),
        ));
    }
    let created = new_endpoint(
        merchant_id,
        input.url,
        event_types,
        input.description,
        engine.clock.now(),
    );
    rows::insert_endpoint(&engine.db, created.endpoint.clone()).await?;
    Ok(created)
}

/// An enabled endpoint of `merchant_id` to `url`, taking `event_types`, with a new secret.
pub fn new_endpoint(
    merchant_id: Uuid,
    url: String,
    event_types: serde_json::Value,
    description: Option<String>,
    now: DateTime<Utc>,
) -> CreatedEndpoint {
    let secret = random_token("whsec_");
    let endpoint = webhook_endpoint::Model {
        id: Uuid::now_v7(),
        merchant_id,
        url,
        event_types,
        description,
        enabled: true,
        disabled_reason: None,
        secret: secret.clone(),
        previous_secret: None,
        previous_secret_until: None,
        failing_since: None,
        version: 1,
        created_at: now,
        updated_at: now,
        deleted_at: None,
    };
    CreatedEndpoint { endpoint, secret }
}

/// The endpoints of the merchant `principal` is (or names), oldest first.
pub async fn list(
    engine: &Engine,
    principal: &Principal,
    merchant_id: Option<Uuid>,
) -> Result<Vec<webhook_endpoint::Model>, AppError> {
    let merchant_id = principal.merchant_named(merchant_id)?;
    Ok(rows::endpoints_of(&engine.db, merchant_id).await?)
}

/// Endpoint `id` if `principal` may manage it.
async fn owned(
    engine: &Engine,
    principal: &Principal,
    id: Uuid,
) -> Result<webhook_endpoint::Model, AppError> {
    rows::endpoint(&engine.db, id)
        .await?
        .filter(|endpoint| principal.may_see_owner(endpoint.merchant_id))
        .ok_or(AppError::NotFound)
}

/// Writes `changed` (made from what was read) over the endpoint, doing `waiting` to its pending
/// deliveries; VALIDATION if it changed meanwhile.
async fn write(
    engine: &Engine,
    mut changed: webhook_endpoint::Model,
    waiting: Waiting,
) -> Result<webhook_endpoint::Model, AppError> {
    changed.version += 1;
    changed.updated_at = engine.clock.now();
    if !rows::update_endpoint(&engine.db, &changed, waiting).await? {
        return Err(invalid(
            "id",
            "the endpoint changed meanwhile; read it and try again",
        ));
    }
    Ok(changed)
}

/// Changes endpoint `id` as `update` says. Enabling it clears why it was disabled and sends
/// what waited for it, in order; so does a new URL; disabling it holds its deliveries.
pub async fn update(
    engine: &Engine,
    principal: &Principal,
    id: Uuid,
    update: EndpointUpdate,
) -> Result<webhook_endpoint::Model, AppError> {
    let mut endpoint = owned(engine, principal, id).await?;
    let (was_enabled, url_before) = (endpoint.enabled, endpoint.url.clone());
    if let Some(url) = update.url {
        check_url(engine, &url)?;
        endpoint.url = url;
    }
    if let Some(types) = update.event_types {
        endpoint.event_types = check_types(&types)?;
    }
    if update.description.is_some() {
        check_description(&update.description)?;
        endpoint.description = update.description;
    }
    if let Some(enabled) = update.enabled {
        if enabled && !endpoint.enabled {
            endpoint.failing_since = None;
        }
        endpoint.enabled = enabled;
        endpoint.disabled_reason = None;
    }
    let waiting = match (was_enabled, endpoint.enabled) {
        (true, false) => Waiting::Pause,
        (false, true) => Waiting::Resume,
        (true, true) if endpoint.url != url_before => Waiting::Resume,
        _ => Waiting::Untouched,
    };
    write(engine, endpoint, waiting).await
}

/// Deletes endpoint `id`: nothing more is sent to it (what waited is cancelled).
pub async fn delete(engine: &Engine, principal: &Principal, id: Uuid) -> Result<(), AppError> {
    let mut endpoint = owned(engine, principal, id).await?;
    endpoint.deleted_at = Some(engine.clock.now());
    write(engine, endpoint, Waiting::Cancel).await.map(|_| ())
}

/// A new secret for endpoint `id` (shown once); the old one signs beside it for
/// [`SECRET_OVERLAP`].
pub async fn rotate_secret(
    engine: &Engine,
    principal: &Principal,
    id: Uuid,
) -> Result<CreatedEndpoint, AppError> {
    let mut endpoint = owned(engine, principal, id).await?;
    let secret = random_token("whsec_");
    endpoint.previous_secret = Some(std::mem::replace(&mut endpoint.secret, secret.clone()));
    endpoint.previous_secret_until = Some(engine.clock.now() + SECRET_OVERLAP);
    let endpoint = write(engine, endpoint, Waiting::Untouched).await?;
    Ok(CreatedEndpoint { endpoint, secret })
}

/// Sends a signed `ping` to endpoint `id` now, once, and answers what came of it.
pub async fn send_test(engine: &Engine, principal: &Principal, id: Uuid) -> Result<DeliveryView, AppError> {
    let endpoint = owned(engine, principal, id).await?;
    let now = engine.clock.now();
    // Held by this request (due only after it would have been recorded), so no dispatcher
    // sends it too.
    let claimed_until = (now + chrono::Duration::minutes(1)).trunc_subsecs(6);
    let ping = rows::new_delivery(
        &endpoint,
        None,
        webhook_delivery::PURPOSE_PING,
        Some(claimed_until),
        now,
    );
    rows::insert_delivery(&engine.db, ping.clone()).await?;
    let attempt = engine.webhooks.attempt(&endpoint, &ping, None, now).await;
    let next = if attempt.succeeded() {
        Next::Succeeded
    } else {
        Next::GiveUp
    };
    rows::record_attempt(
        &engine.db,
        Attempted {
            delivery: &ping,
            claimed_until,
            record: attempt.row(ping.id),
            next,
            disable_if_failing_since: DateTime::<Utc>::MIN_UTC,
        },
    )
    .await?;
    delivery(engine, principal, ping.id)
        .await?
        .ok_or(AppError::NotFound)
}

/// Sends event `event_id` to endpoint `endpoint_id` again, out of turn (even if the endpoint
/// does not take its type); the new delivery.
pub async fn redeliver_event(
    engine: &Engine,
    principal: &Principal,
    event_id: Uuid,
    endpoint_id: Uuid,
) -> Result<DeliveryView, AppError> {
    let endpoint = owned(engine, principal, endpoint_id).await?;
    let event = feed::event(&engine.db, event_id)
        .await?
        .filter(|event| event.merchant_id == endpoint.merchant_id)
        .ok_or(AppError::NotFound)?;
    let now = engine.clock.now();
    let due = endpoint.enabled.then_some(now);
    let again = rows::new_delivery(
        &endpoint,
        Some(&event),
        webhook_delivery::PURPOSE_REDELIVERY,
        due,
        now,
    );
    rows::insert_delivery(&engine.db, again.clone()).await?;
    engine.wake_webhooks();
    Ok(DeliveryView {
        delivery: again,
        attempts: Vec::new(),
    })
}

/// Asks for every failed delivery to endpoint `endpoint_id` since `since` to be sent again (a
/// request the dispatcher works through, surviving restarts); how many it selected.
pub async fn redeliver_failed(
    engine: &Engine,
    principal: &Principal,
    endpoint_id: Uuid,
    since: DateTime<Utc>,
) -> Result<i32, AppError> {
    let endpoint = owned(engine, principal, endpoint_id).await?;
    let now = engine.clock.now();
    if since > now {
        return Err(invalid("since", "is in the future"));
    }
    let request = webhook_redelivery::Model {
        id: Uuid::now_v7(),
        merchant_id: endpoint.merchant_id,
        endpoint_id,
        since,
        requested_at: now,
        after_id: None,
        total: 0,
        queued: 0,
        finished_at: None,
    };
    let total = rows::request_redelivery(&engine.db, request).await?;
    engine.wake_webhooks();
    Ok(total)
}

/// Delivery `id` with its attempts, if `principal` may see it.
pub async fn delivery(
    engine: &Engine,
    principal: &Principal,
    id: Uuid,
) -> Result<Option<DeliveryView>, AppError> {
    let Some(delivery) = rows::delivery(&engine.db, id).await? else {
        return Ok(None);
    };
    if !principal.may_see_owner(delivery.merchant_id) {
        return Ok(None);
    }
    let attempts = rows::attempts_of(&engine.db, &[id]).await?;
    Ok(Some(DeliveryView { delivery, attempts }))
}

/// Up to `first` deliveries of the merchant `principal` is (or names) matching `filter`,
/// newest first, before delivery `before`; and whether more follow.
pub async fn deliveries(
    engine: &Engine,
    principal: &Principal,
    merchant_id: Option<Uuid>,
    filter: DeliveryFilter,
    before: Option<Uuid>,
    first: u64,
) -> Result<(Vec<DeliveryView>, bool), AppError> {
    let merchant_id = principal.merchant_named(merchant_id)?;
    if !(1..=MAX_PAGE).contains(&first) {
        return Err(invalid("first", format!("must be 1 to {MAX_PAGE}")));
    }
    if let Some(status) = &filter.status {
        let known = [
            webhook_delivery::STATUS_PENDING,
            webhook_delivery::STATUS_SUCCEEDED,
            webhook_delivery::STATUS_FAILED,
            webhook_delivery::STATUS_CANCELLED,
        ];
        if !known.contains(&status.as_str()) {
            return Err(invalid("status", format!("one of {}", known.join(", "))));
        }
    }
    let found = rows::deliveries(&engine.db, merchant_id, &filter, before, first + 1).await?;
    let (page, more) = super::page::cut(found, first);
    with_attempts(&engine.db, page)
        .await
        .map(|views| (views, more))
        .map_err(Into::into)
}

async fn with_attempts(
    db: &crate::store::Db,
    page: Vec<webhook_delivery::Model>,
) -> Result<Vec<DeliveryView>, StoreError> {
    let ids: Vec<Uuid> = page.iter().map(|row| row.id).collect();
    let mut attempts = rows::attempts_of(db, &ids).await?;
    Ok(page
        .into_iter()
        .map(|delivery| {
            let (mine, others) = attempts.drain(..).partition(|a| a.delivery_id == delivery.id);
            attempts = others;
            DeliveryView {
                delivery,
                attempts: mine,
            }
        })
        .collect())
}
