//! Webhook endpoints and deliveries in GraphQL: `webhookEndpoints`, `webhookDeliveries`, and
//! the mutations that create, change, delete, rotate, test and redeliver
//! (`app::webhook_endpoints` decides; this module only reads arguments and shapes answers).

use async_graphql::connection::{Connection, EmptyFields};
use async_graphql::{Context, ID, InputObject, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::console::{operators_need, record_if_operator};
use super::context::{engine, graphql_error, parse_id, principal};
use super::feed::Event;
use super::lists::{merchant_page_args, page};
use crate::app::errors::invalid;
use crate::app::webhook_endpoints::{
    self as endpoints, CreatedEndpoint, DeliveryView, EndpointInput, EndpointUpdate,
};
use crate::store::entity::{webhook_delivery, webhook_delivery_attempt, webhook_endpoint};
use crate::store::feed as events;
use crate::store::webhooks::DeliveryFilter;

/// Where some of your events are sent, signed with its own secret.
pub struct WebhookEndpoint(webhook_endpoint::Model);

#[Object]
impl WebhookEndpoint {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    async fn url(&self) -> &str {
        &self.0.url
    }

    /// The event types it takes; empty for every type.
    async fn event_types(&self) -> Vec<String> {
        self.0.types()
    }

    /// Whether deliveries go out. A disabled endpoint keeps what it is owed: enabled again, it
    /// receives it in order.
    async fn enabled(&self) -> bool {
        self.0.enabled
    }

    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }

    /// Why plusflow disabled it (every delivery failing for 3 days); null otherwise.
    async fn disabled_reason(&self) -> Option<&str> {
        self.0.disabled_reason.as_deref()
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// A new endpoint, or one with a new secret: the secret is shown this once.
#[derive(SimpleObject)]
pub struct WebhookEndpointCreated {
    endpoint: WebhookEndpoint,
    /// Signs its deliveries: `Plusflow-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of
    /// "<t>.<body>">` (after a rotation, a second `v1=` with the old secret for 24 hours).
    secret: String,
}

impl From<CreatedEndpoint> for WebhookEndpointCreated {
    fn from(created: CreatedEndpoint) -> Self {
        Self {
            endpoint: WebhookEndpoint(created.endpoint),
            secret: created.secret,
        }
    }
}

/// One attempt to send a delivery.
#[derive(SimpleObject)]
pub struct DeliveryAttempt {
    at: DateTime<Utc>,
    /// The endpoint's HTTP status, if it answered.
    http_status: Option<i32>,
    /// What failed (`HTTP 500`, `timed out`, `could not connect`...); null if accepted.
    error: Option<String>,
    duration_ms: i32,
}

impl From<webhook_delivery_attempt::Model> for DeliveryAttempt {
    fn from(row: webhook_delivery_attempt::Model) -> Self {
        Self {
            at: row.at,
            http_status: row.http_status,
            error: row.error,
            duration_ms: row.duration_ms,
        }
    }
}

/// One event (or test ping) to one endpoint, with every attempt to send it.
pub struct WebhookDelivery(DeliveryView);

#[Object]
impl WebhookDelivery {
    async fn id(&self) -> ID {
        ID(self.0.delivery.id.to_string())
    }

    /// The event sent (for a test ping, a `ping` event that is not in your feed).
    async fn event(&self, ctx: &Context<'_>) -> Result<Event> {
        let delivery = &self.0.delivery;
        let Some(event_id) = delivery.event_id else {
            return Ok(Event {
                id: ID(delivery.id.to_string()),
                sequence: 0,
                event_type: "ping".into(),
                object_id: ID(delivery.endpoint_id.to_string()),
                created_at: delivery.created_at,
                data: async_graphql::Json(serde_json::json!({ "endpointId": delivery.endpoint_id })),
            });
        };
        let event = events::event(&engine(ctx).db, event_id)
            .await
            .map_err(|e| graphql_error(e.into()))?;
        event
            .map(Event::from)
            .ok_or_else(|| graphql_error(invalid("event", "is no longer kept")))
    }

    async fn endpoint(&self, ctx: &Context<'_>) -> Result<Option<WebhookEndpoint>> {
        let endpoint = crate::store::webhooks::endpoint(&engine(ctx).db, self.0.delivery.endpoint_id)
            .await
            .map_err(|e| graphql_error(e.into()))?;
        Ok(endpoint.map(WebhookEndpoint))
    }

    /// PENDING (being sent or retried), SUCCEEDED, FAILED (given up after 3 days, or a test
    /// ping that failed) or CANCELLED (its endpoint was deleted).
    async fn status(&self) -> &str {
        &self.0.delivery.status
    }

    /// EVENT (in turn), REDELIVERY (sent again on request) or PING (a test).
    async fn purpose(&self) -> &str {
        &self.0.delivery.purpose
    }

    async fn attempts(&self) -> Vec<DeliveryAttempt> {
        self.0
            .attempts
            .iter()
            .cloned()
            .map(DeliveryAttempt::from)
            .collect()
    }

    /// When it is tried next, while it is pending and its endpoint enabled.
    async fn next_attempt_at(&self) -> Option<DateTime<Utc>> {
        let delivery = &self.0.delivery;
        (delivery.status == webhook_delivery::STATUS_PENDING)
            .then_some(delivery.next_attempt_at)
            .flatten()
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.0.delivery.created_at
    }
}

#[derive(InputObject)]
pub struct WebhookEndpointInput {
    /// http or https, to a public address (checked again each time its name resolves).
    url: String,
    /// The event types it takes (`payment.updated`, `refund.updated`, `dispute.created`,
    /// `dispute.updated`, `customs_declaration.updated`, `registration.updated`,
    /// `webhook_endpoint.disabled`); none for every type.
    event_types: Option<Vec<String>>,
    /// For you (at most 256 characters).
    description: Option<String>,
}

#[derive(InputObject)]
pub struct WebhookEndpointUpdate {
    url: Option<String>,
    event_types: Option<Vec<String>>,
    description: Option<String>,
    /// false stops deliveries (they wait); true sends what waited, in order.
    enabled: Option<bool>,
}

fn optional_id(field: &str, id: Option<ID>) -> Result<Option<Uuid>> {
    id.map(|id| Uuid::parse_str(&id).map_err(|_| graphql_error(invalid(field, "is not an id"))))
        .transpose()
}

#[derive(Default)]
pub struct WebhookQueries;

#[Object]
impl WebhookQueries {
    /// Your webhook endpoints, oldest first (an operator names the merchant).
    async fn webhook_endpoints(
        &self,
        ctx: &Context<'_>,
        merchant_id: Option<ID>,
    ) -> Result<Vec<WebhookEndpoint>> {
        let merchant_id = optional_id("merchantId", merchant_id)?;
        let list = endpoints::list(engine(ctx), principal(ctx)?, merchant_id)
            .await
            .map_err(graphql_error)?;
        Ok(list.into_iter().map(WebhookEndpoint).collect())
    }

    /// Your deliveries, newest first, of one endpoint, one event or one status (PENDING,
    /// SUCCEEDED, FAILED, CANCELLED) if given; `first` at most 100 (default 20). An operator
    /// names the merchant.
    #[allow(clippy::too_many_arguments)]
    async fn webhook_deliveries(
        &self,
        ctx: &Context<'_>,
        endpoint_id: Option<ID>,
        event_id: Option<ID>,
        status: Option<String>,
        first: Option<i32>,
        after: Option<String>,
        merchant_id: Option<ID>,
    ) -> Result<Connection<String, WebhookDelivery, EmptyFields, EmptyFields>> {
        let (first, before) = merchant_page_args(first, after.as_deref()).map_err(graphql_error)?;
        let filter = DeliveryFilter {
            endpoint_id: optional_id("endpointId", endpoint_id)?,
            event_id: optional_id("eventId", event_id)?,
            status,
        };
        let merchant_id = optional_id("merchantId", merchant_id)?;
        let (views, more) =
            endpoints::deliveries(engine(ctx), principal(ctx)?, merchant_id, filter, before, first)
                .await
                .map_err(graphql_error)?;
        Ok(page(views, more, after.is_some(), |view| {
            (view.delivery.id.to_string(), WebhookDelivery(view))
        }))
    }
}

#[derive(Default)]
pub struct WebhookMutations;

#[Object]
impl WebhookMutations {
    /// A new endpoint (at most 16); its secret is in the answer and shown only this once. It
    /// receives your events from now on.
    async fn create_webhook_endpoint(
        &self,
        ctx: &Context<'_>,
        input: WebhookEndpointInput,
        merchant_id: Option<ID>,
    ) -> Result<WebhookEndpointCreated> {
        operators_need(ctx, crate::app::roles::AdminRole::Admin)?;
        let input = EndpointInput {
            url: input.url,
            event_types: input.event_types.unwrap_or_default(),
            description: input.description,
        };
        let merchant_id = optional_id("merchantId", merchant_id)?;
        let created = endpoints::create(engine(ctx), principal(ctx)?, merchant_id, input)
            .await
            .map_err(graphql_error)?;
        let note = format!(
            "merchant {} url {}",
            created.endpoint.merchant_id, created.endpoint.url
        );
        record_if_operator(
            ctx,
            "createWebhookEndpoint",
            &[created.endpoint.id.to_string()],
            &note,
        )
        .await?;
        Ok(WebhookEndpointCreated::from(created))
    }

    async fn update_webhook_endpoint(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: WebhookEndpointUpdate,
    ) -> Result<WebhookEndpoint> {
        operators_need(ctx, crate::app::roles::AdminRole::Admin)?;
        let update = EndpointUpdate {
            url: input.url,
            event_types: input.event_types,
            description: input.description,
            enabled: input.enabled,
        };
        let updated = endpoints::update(engine(ctx), principal(ctx)?, parse_id(&id)?, update)
            .await
            .map_err(graphql_error)?;
        let note = format!("url {}, enabled {}", updated.url, updated.enabled);
        record_if_operator(ctx, "updateWebhookEndpoint", &[id.to_string()], &note).await?;
        Ok(WebhookEndpoint(updated))
    }

    /// Deletes the endpoint: nothing more is sent to it.
    async fn delete_webhook_endpoint(&self, ctx: &Context<'_>, id: ID) -> Result<bool> {
        operators_need(ctx, crate::app::roles::AdminRole::Admin)?;
        endpoints::delete(engine(ctx), principal(ctx)?, parse_id(&id)?)
            .await
            .map_err(graphql_error)?;
        record_if_operator(ctx, "deleteWebhookEndpoint", &[id.to_string()], "deleted").await?;
        Ok(true)
    }

    /// A new secret for the endpoint (shown only this once); for 24 hours deliveries carry a
    /// signature with each, so your receiver can switch without missing one.
    async fn rotate_webhook_endpoint_secret(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> Result<WebhookEndpointCreated> {
        operators_need(ctx, crate::app::roles::AdminRole::Admin)?;
        let rotated = endpoints::rotate_secret(engine(ctx), principal(ctx)?, parse_id(&id)?)
            .await
            .map_err(graphql_error)?;
        record_if_operator(
            ctx,
            "rotateWebhookEndpointSecret",
            &[id.to_string()],
            "secret rotated",
        )
        .await?;
        Ok(WebhookEndpointCreated::from(rotated))
    }

    /// Sends a signed `ping` to the endpoint now, once; the answer shows what came of it.
    async fn send_test_webhook(&self, ctx: &Context<'_>, endpoint_id: ID) -> Result<WebhookDelivery> {
        operators_need(ctx, crate::app::roles::AdminRole::Operator)?;
        let sent = endpoints::send_test(engine(ctx), principal(ctx)?, parse_id(&endpoint_id)?)
            .await
            .map_err(graphql_error)?;
        record_if_operator(
            ctx,
            "sendTestWebhook",
            &[endpoint_id.to_string()],
            &sent.delivery.status,
        )
        .await?;
        Ok(WebhookDelivery(sent))
    }

    /// Sends one of your events to the endpoint again (a new delivery, out of turn).
    async fn redeliver_event(
        &self,
        ctx: &Context<'_>,
        event_id: ID,
        endpoint_id: ID,
    ) -> Result<WebhookDelivery> {
        operators_need(ctx, crate::app::roles::AdminRole::Operator)?;
        let queued = endpoints::redeliver_event(
            engine(ctx),
            principal(ctx)?,
            parse_id(&event_id)?,
            parse_id(&endpoint_id)?,
        )
        .await
        .map_err(graphql_error)?;
        let ids = [event_id.to_string(), endpoint_id.to_string()];
        record_if_operator(ctx, "redeliverEvent", &ids, "queued again").await?;
        Ok(WebhookDelivery(queued))
    }

    /// Sends again every delivery to the endpoint that failed (was given up) since `since`:
    /// queued in the background, surviving restarts; answers how many it selected.
    async fn redeliver_failed(
        &self,
        ctx: &Context<'_>,
        endpoint_id: ID,
        since: DateTime<Utc>,
    ) -> Result<i32> {
        operators_need(ctx, crate::app::roles::AdminRole::Operator)?;
        let selected =
            endpoints::redeliver_failed(engine(ctx), principal(ctx)?, parse_id(&endpoint_id)?, since)
                .await
                .map_err(graphql_error)?;
        let note = format!("{selected} failed since {since}");
        record_if_operator(ctx, "redeliverFailed", &[endpoint_id.to_string()], &note).await?;
        Ok(selected)
    }
}
