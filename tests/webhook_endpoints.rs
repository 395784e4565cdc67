//! Merchants' webhook endpoints over real HTTP, on SQLite and on PostgreSQL + Redis: an endpoint
//! down for a while receives every event once, in order per object, with each attempt listed;
//! endpoints with type filters receive only their types, and another merchant sees none of
//! them; an endpoint failing for the whole retry horizon has its deliveries given up, is
//! disabled and its merchant told, and once enabled again gets what waited, every failed
//! delivery since a time and one event again on request; a signed test ping; and the merchant's
//! webhook URL from before endpoints becomes its first endpoint.

mod common;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use chrono::Utc;
use plusflow::clock::ManualClock;
use serde_json::{Value, json};

use common::app::*;
use common::webhooks::{WebhookReceiver, signed_with};
use common::{Backend, Options, TestEnv, poll_until, wait_for};

on_each_backend!(
    an_endpoint_down_for_a_while_gets_every_event_once_in_order_per_object_and_lists_each_attempt,
    endpoints_take_only_their_types_and_another_merchant_sees_none_of_them,
    a_failing_endpoint_is_disabled_and_what_failed_is_sent_again_on_request,
    a_merchants_webhook_url_from_before_endpoints_becomes_its_first_endpoint,
);

const CREATE: &str = "mutation($input: WebhookEndpointInput!) { createWebhookEndpoint(input: $input) { endpoint { id url eventTypes enabled } secret } }";

/// A new endpoint of the merchant with `key`: (id, secret).
async fn create_endpoint(app: &App, key: &str, input: Value) -> (String, String) {
    let answer = app.gql(Some(key), CREATE, json!({ "input": input })).await;
    let created = &answer["data"]["createWebhookEndpoint"];
    let id = created["endpoint"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{answer}"));
    (id.to_string(), created["secret"].as_str().unwrap().to_string())
}

/// The merchant's deliveries (newest first) of `endpoint`, with their attempts.
async fn deliveries_of(app: &App, key: &str, endpoint: &str) -> Vec<Value> {
    let answer = app
        .gql(
            Some(key),
            "query($endpoint: ID) { webhookDeliveries(endpointId: $endpoint, first: 50) { edges { node {
                id status purpose nextAttemptAt event { id type objectId sequence }
                attempts { at httpStatus error durationMs } } } } }",
            json!({ "endpoint": endpoint }),
        )
        .await;
    let edges = answer["data"]["webhookDeliveries"]["edges"]
        .as_array()
        .unwrap_or_else(|| panic!("{answer}"));
    edges.iter().map(|edge| edge["node"].clone()).collect()
}

async fn an_endpoint_down_for_a_while_gets_every_event_once_in_order_per_object_and_lists_each_attempt(
    backend: Backend,
) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    const REFUSED: usize = 8;
    let receiver = WebhookReceiver::start(|n| (if n <= REFUSED { 503 } else { 200 }, None)).await;
    let (_, key) = app.merchant("Flaky receiver");
    let (endpoint, secret) = create_endpoint(&app, &key, json!({ "url": receiver.url })).await;
    // Four payments paid at once, one of them refunded: 2 events each, 1 for the refund.
    let payers = (0..4).map(|n| {
        let (app, key) = (&app, key.clone());
        async move { app.paid_payment(&key, &format!("down-{n}"), "1000").await.0 }
    });
    let paid = futures::future::join_all(payers).await;
    let refund = app.refund(&key, "down-refund", &paid[0], "USD", "300").await;
    assert!(refund["errors"].is_null(), "{refund}");
    app.settled_refunds(&key, &paid[0]).await;
    let events = poll_until("the refund's final event", Duration::from_secs(30), || async {
        let events = app.events_after(&key, &mut None, 100).await;
        (events.len() == 9).then_some(events)
    })
    .await;
    wait_for("every event delivered", Duration::from_secs(60), || async {
        let deliveries = deliveries_of(&app, &key, &endpoint).await;
        deliveries.len() == 9 && deliveries.iter().all(|d| d["status"] == "SUCCEEDED")
    })
    .await;

    let hits: Vec<(String, Value)> = receiver
        .received
        .lock()
        .unwrap()
        .iter()
        .map(|(signature, body)| {
            assert!(
                signed_with(signature, body, &secret),
                "signed with the endpoint's secret"
            );
            (signature.clone(), serde_json::from_slice(body).unwrap())
        })
        .collect();
    let sequence_of: HashMap<String, i64> = events
        .iter()
        .map(|e| {
            (
                e["id"].as_str().unwrap().to_string(),
                e["sequence"].as_i64().unwrap(),
            )
        })
        .collect();
    // Accepted once each: every event, none twice.
    let accepted: Vec<&str> = hits[REFUSED..]
        .iter()
        .map(|(_, body)| body["eventId"].as_str().unwrap())
        .collect();
    assert_eq!(accepted.len(), 9, "{accepted:?}");
    assert_eq!(accepted.iter().collect::<HashSet<_>>().len(), 9, "none twice");
    assert_eq!(
        accepted.iter().map(|id| id.to_string()).collect::<HashSet<_>>(),
        sequence_of.keys().cloned().collect::<HashSet<_>>()
    );
    // In order per object: no attempt at an object's event before every earlier one of it was
    // accepted (its sequence never goes back, counting refused attempts too).
    let mut last_of_object: HashMap<String, i64> = HashMap::new();
    for (_, body) in &hits {
        let object = body["payment"]["id"]
            .as_str()
            .or(body["refund"]["id"].as_str())
            .unwrap();
        let sequence = sequence_of[body["eventId"].as_str().unwrap()];
        let last = last_of_object.entry(object.to_string()).or_insert(0);
        assert!(sequence >= *last, "{object}: event {sequence} sent after {last}");
        *last = sequence;
    }
    // Each attempt is listed, the refused ones with their status, none with a body or a URL.
    let deliveries = deliveries_of(&app, &key, &endpoint).await;
    let attempts: Vec<&Value> = deliveries
        .iter()
        .flat_map(|d| d["attempts"].as_array().unwrap())
        .collect();
    assert_eq!(attempts.len(), hits.len(), "every attempt listed");
    let refused = attempts.iter().filter(|a| a["httpStatus"] == 503).count();
    assert_eq!(refused, REFUSED);
    assert!(
        attempts
            .iter()
            .filter(|a| a["httpStatus"] == 503)
            .all(|a| a["error"] == "HTTP 503")
    );
    assert!(
        attempts
            .iter()
            .filter(|a| a["httpStatus"] == 200)
            .all(|a| a["error"].is_null())
    );
    assert!(!deliveries.iter().any(|d| d.to_string().contains("127.0.0.1")));
}

async fn endpoints_take_only_their_types_and_another_merchant_sees_none_of_them(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let payments_hook = WebhookReceiver::accepting().await;
    let refunds_hook = WebhookReceiver::accepting().await;
    let (_, key) = app.merchant("Two endpoints");
    let (payments_endpoint, _) = create_endpoint(
        &app,
        &key,
        json!({ "url": payments_hook.url, "eventTypes": ["payment.updated"], "description": "orders" }),
    )
    .await;
    let (refunds_endpoint, _) = create_endpoint(
        &app,
        &key,
        json!({ "url": refunds_hook.url, "eventTypes": ["refund.updated"] }),
    )
    .await;
    let (payment, _) = app.paid_payment(&key, "typed", "1000").await;
    let refund = app.refund(&key, "typed-refund", &payment, "USD", "1000").await;
    assert!(refund["errors"].is_null(), "{refund}");
    app.settled_refunds(&key, &payment).await;
    wait_for("both endpoints served", Duration::from_secs(30), || async {
        payments_hook.hits() == 2 && refunds_hook.hits() == 1
    })
    .await;
    assert!(
        payments_hook
            .bodies()
            .iter()
            .all(|b| b["type"] == "payment.updated")
    );
    assert!(
        refunds_hook
            .bodies()
            .iter()
            .all(|b| b["type"] == "refund.updated")
    );
    let listed = app
        .gql(
            Some(&key),
            "{ webhookEndpoints { id eventTypes description enabled } }",
            json!({}),
        )
        .await;
    assert_eq!(
        listed["data"]["webhookEndpoints"],
        json!([
            { "id": payments_endpoint, "eventTypes": ["payment.updated"], "description": "orders", "enabled": true },
            { "id": refunds_endpoint, "eventTypes": ["refund.updated"], "description": null, "enabled": true },
        ])
    );
    // Bad input is refused with what is wrong, and creates nothing.
    for input in [
        json!({ "url": payments_hook.url, "eventTypes": ["payment.exploded"] }),
        json!({ "url": "ftp://shop.example/hooks" }),
        json!({ "url": "not a url" }),
    ] {
        let answer = app.gql(Some(&key), CREATE, json!({ "input": input })).await;
        assert_eq!(
            answer["errors"][0]["extensions"]["code"], "VALIDATION",
            "{answer}"
        );
    }
    let event = app.events_after(&key, &mut None, 100).await.remove(0);
    // Another merchant: no endpoints, deliveries or events of the first, and none to touch.
    let (_, other) = app.merchant("Someone else");
    let seen = app
        .gql(
            Some(&other),
            "query($endpoint: ID) { webhookEndpoints { id } webhookDeliveries(endpointId: $endpoint) { edges { node { id } } }
               events { edges { node { id } } } }",
            json!({ "endpoint": payments_endpoint }),
        )
        .await;
    assert_eq!(
        seen["data"],
        json!({ "webhookEndpoints": [], "webhookDeliveries": { "edges": [] }, "events": { "edges": [] } }),
        "{seen}"
    );
    let attempts = [
        (
            "mutation($id: ID!) { updateWebhookEndpoint(id: $id, input: { enabled: false }) { id } }",
            json!({ "id": payments_endpoint }),
        ),
        (
            "mutation($id: ID!) { deleteWebhookEndpoint(id: $id) }",
            json!({ "id": payments_endpoint }),
        ),
        (
            "mutation($id: ID!) { sendTestWebhook(endpointId: $id) { id } }",
            json!({ "id": payments_endpoint }),
        ),
        (
            "mutation($event: ID!, $id: ID!) { redeliverEvent(eventId: $event, endpointId: $id) { id } }",
            json!({ "event": event["id"], "id": payments_endpoint }),
        ),
    ];
    for (mutation, variables) in attempts {
        let answer = app.gql(Some(&other), mutation, variables).await;
        assert_eq!(answer["errors"][0]["extensions"]["code"], "NOT_FOUND", "{answer}");
    }
    // Its own endpoint cannot be sent the first merchant's event either.
    let receiver = WebhookReceiver::accepting().await;
    let (its_own, _) = create_endpoint(&app, &other, json!({ "url": receiver.url })).await;
    let answer = app
        .gql(
            Some(&other),
            "mutation($event: ID!, $id: ID!) { redeliverEvent(eventId: $event, endpointId: $id) { id } }",
            json!({ "event": event["id"], "id": its_own }),
        )
        .await;
    assert_eq!(answer["errors"][0]["extensions"]["code"], "NOT_FOUND", "{answer}");
    assert_eq!(payments_hook.hits(), 2, "nothing more was sent");
}

async fn a_failing_endpoint_is_disabled_and_what_failed_is_sent_again_on_request(backend: Backend) {
    let clock = ManualClock::starting_at(Utc::now());
    let setup = Setup {
        engine_clock: Some(clock.clone()),
        webhook_retry_for: Some("1h"),
        ..Setup::default()
    };
    let Some(app) = spawn_app_with(backend, setup).await else {
        return;
    };
    let up = Arc::new(AtomicBool::new(false));
    let answer_with = up.clone();
    let flaky = WebhookReceiver::start(move |_| {
        (
            if answer_with.load(Ordering::SeqCst) {
                200
            } else {
                500
            },
            None,
        )
    })
    .await;
    let told = WebhookReceiver::accepting().await;
    let merchant = app.create_merchant(&["--name", "Down for long", "--webhook-url", &flaky.url]);
    let (merchant_id, key) = (
        merchant["id"].as_str().unwrap().to_string(),
        merchant["apiKey"].as_str().unwrap().to_string(),
    );
    let flaky_endpoint = merchant["webhookEndpointId"].as_str().unwrap().to_string();
    create_endpoint(
        &app,
        &key,
        json!({ "url": told.url, "eventTypes": ["webhook_endpoint.disabled"] }),
    )
    .await;
    // The test ping to the failing endpoint: one attempt, answered 500, signed.
    let ping = app
        .gql(
            Some(&key),
            "mutation($id: ID!) { sendTestWebhook(endpointId: $id) { status purpose event { type } attempts { httpStatus error } } }",
            json!({ "id": flaky_endpoint }),
        )
        .await;
    assert_eq!(
        ping["data"]["sendTestWebhook"],
        json!({ "status": "FAILED", "purpose": "PING", "event": { "type": "ping" },
                "attempts": [{ "httpStatus": 500, "error": "HTTP 500" }] }),
        "{ping}"
    );
    assert_eq!(flaky.bodies()[0]["type"], "ping");
    let (payment, _) = app.paid_payment(&key, "long-down", "1000").await;
    let deliveries = || deliveries_of(&app, &key, &flaky_endpoint);
    wait_for(
        "the first event's delivery failing",
        Duration::from_secs(30),
        || async {
            deliveries()
                .await
                .iter()
                .any(|d| d["purpose"] == "EVENT" && !d["attempts"].as_array().unwrap().is_empty())
        },
    )
    .await;
    // Describing the endpoint anew leaves its retries where they were (neither sooner nor
    // sent twice); only enabling it, or a new URL, sends what waits at once.
    let retry_at = |deliveries: &[Value]| {
        let failed = deliveries
            .iter()
            .find(|d| d["purpose"] == "EVENT" && !d["attempts"].as_array().unwrap().is_empty());
        failed.unwrap()["nextAttemptAt"].clone()
    };
    let before = retry_at(&deliveries().await);
    assert!(before.is_string(), "retried later: {before}");
    let described = app
        .gql(
            Some(&key),
            "mutation($id: ID!) { updateWebhookEndpoint(id: $id, input: { description: \"the till\" }) { description } }",
            json!({ "id": flaky_endpoint }),
        )
        .await;
    assert_eq!(
        described["data"]["updateWebhookEndpoint"]["description"], "the till",
        "{described}"
    );
    assert_eq!(retry_at(&deliveries().await), before);
    // Past the retry horizon, its next attempt fails for good and the endpoint is disabled.
    clock.advance(Duration::from_secs(2 * 3600));
    wait_for("the endpoint disabled", Duration::from_secs(30), || async {
        let answer = app
            .gql(
                Some(&key),
                "{ webhookEndpoints { id enabled disabledReason } }",
                json!({}),
            )
            .await;
        let listed = answer["data"]["webhookEndpoints"].as_array().unwrap().clone();
        listed
            .iter()
            .any(|endpoint| endpoint["id"] == flaky_endpoint.as_str() && endpoint["enabled"] == false)
    })
    .await;
    let events = deliveries().await;
    let given_up: Vec<&Value> = events
        .iter()
        .filter(|d| d["status"] == "FAILED" && d["purpose"] == "EVENT")
        .collect();
    assert_eq!(given_up.len(), 1, "{events:?}");
    // The payment's later event waits for the endpoint, and so does the news of its disabling
    // (it takes every type).
    let waiting: Vec<&str> = events
        .iter()
        .filter(|d| d["status"] == "PENDING" && d["nextAttemptAt"].is_null())
        .map(|d| d["event"]["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        waiting,
        ["webhook_endpoint.disabled", "payment.updated"],
        "{events:?}"
    );
    // The merchant is told (its feed, its other endpoint), and operators see it.
    wait_for("the merchant told", Duration::from_secs(30), || async {
        told.hits() == 1
    })
    .await;
    let disabled = &told.bodies()[0];
    assert_eq!(disabled["type"], "webhook_endpoint.disabled");
    assert_eq!(disabled["webhookEndpoint"]["id"], flaky_endpoint.as_str());
    assert!(
        disabled["webhookEndpoint"]["disabledReason"].is_string(),
        "{disabled}"
    );
    let feed = app.events_after(&key, &mut None, 100).await;
    assert_eq!(feed.last().unwrap()["type"], "webhook_endpoint.disabled");
    let listed = app.plusflow_lines(&["merchant", "webhooks", "--merchant", &merchant_id, "--json"]);
    let shown = listed
        .iter()
        .find(|line| line["endpoint"] == flaky_endpoint.as_str())
        .unwrap();
    assert_eq!(shown["enabled"], false);
    assert!(shown["disabledReason"].is_string());
    assert!(
        listed
            .iter()
            .any(|line| line["status"] == "FAILED" && line["lastError"] == "HTTP 500")
    );

    // Up again and enabled: what waited is sent; then every failed delivery since an hour before
    // the payment, on request; then one event again.
    up.store(true, Ordering::SeqCst);
    let hits_before = flaky.hits();
    let enabled = app
        .gql(
            Some(&key),
            "mutation($id: ID!) { updateWebhookEndpoint(id: $id, input: { enabled: true }) { enabled disabledReason } }",
            json!({ "id": flaky_endpoint }),
        )
        .await;
    assert_eq!(
        enabled["data"]["updateWebhookEndpoint"],
        json!({ "enabled": true, "disabledReason": null })
    );
    wait_for("the waiting events sent", Duration::from_secs(30), || async {
        flaky.hits() == hits_before + 2
    })
    .await;
    let sent: HashSet<String> = flaky.bodies()[hits_before..]
        .iter()
        .map(|body| format!("{} {}", body["type"], body["payment"]["status"]))
        .collect();
    let expected = [
        "\"payment.updated\" \"SUCCEEDED\"",
        "\"webhook_endpoint.disabled\" null",
    ];
    assert_eq!(
        sent,
        expected.iter().map(|s| s.to_string()).collect::<HashSet<_>>()
    );
    let since = (plusflow::clock::Clock::now(&clock) - chrono::Duration::hours(3)).to_rfc3339();
    let queued = app
        .gql(
            Some(&key),
            "mutation($id: ID!, $since: DateTime!) { redeliverFailed(endpointId: $id, since: $since) }",
            json!({ "id": flaky_endpoint, "since": since }),
        )
        .await;
    assert_eq!(queued["data"]["redeliverFailed"], 1, "{queued}");
    wait_for("the failed event sent again", Duration::from_secs(30), || async {
        flaky.hits() == hits_before + 3
    })
    .await;
    let again = flaky.bodies().last().unwrap().clone();
    assert_eq!(again["payment"]["status"], "AWAITING_CUSTOMER");
    assert_eq!(again["payment"]["id"], payment.as_str());
    let redelivered = app
        .gql(
            Some(&key),
            "mutation($event: ID!, $id: ID!) { redeliverEvent(eventId: $event, endpointId: $id) { purpose status event { id } } }",
            json!({ "event": again["eventId"], "id": flaky_endpoint }),
        )
        .await;
    assert_eq!(
        redelivered["data"]["redeliverEvent"]["purpose"], "REDELIVERY",
        "{redelivered}"
    );
    wait_for("the event sent once more", Duration::from_secs(30), || async {
        flaky.hits() == hits_before + 4
    })
    .await;
    assert_eq!(flaky.bodies().last().unwrap()["eventId"], again["eventId"]);
    wait_for("every delivery settled", Duration::from_secs(30), || async {
        deliveries()
            .await
            .iter()
            .filter(|d| d["status"] == "SUCCEEDED")
            .count()
            == 4
    })
    .await;
}

/// Migration m0021: a merchant's webhook URL and secret (with a rotated-out secret still in its
/// overlap) become its first endpoint, same id as the merchant, taking every type.
async fn a_merchants_webhook_url_from_before_endpoints_becomes_its_first_endpoint(backend: Backend) {
    use plusflow::store::entity::webhook_endpoint;
    use plusflow_migrations::{Migrator, MigratorTrait};
    use sea_orm::sea_query::{Alias, Query};
    use sea_orm::{ConnectionTrait, Database, EntityTrait};
    let Some(env) = TestEnv::new(backend, Options::default()).await else {
        return;
    };
    let db = Database::connect(&env.database_url).await.unwrap();
    Migrator::up(&db, Some(20)).await.unwrap();
    let now = Utc::now();
    let (hooked, quiet) = (uuid::Uuid::now_v7(), uuid::Uuid::now_v7());
    for (id, url, previous) in [
        (hooked, Some("https://shop.example/hooks"), Some("whsec_before")),
        (quiet, None, None),
    ] {
        let insert = Query::insert()
            .into_table(Alias::new("merchants"))
            .columns(
                [
                    "id",
                    "name",
                    "api_key_hash",
                    "webhook_url",
                    "webhook_secret",
                    "created_at",
                ]
                .into_iter()
                .chain(previous.map(|_| "previous_webhook_secret"))
                .map(Alias::new),
            )
            .values_panic(
                [
                    id.into(),
                    "Shop".into(),
                    format!("hash-{id}").into(),
                    url.into(),
                    "whsec_current".into(),
                    now.into(),
                ]
                .into_iter()
                .chain(previous.map(Into::into)),
            )
            .to_owned();
        db.execute(&insert).await.unwrap();
    }
    Migrator::up(&db, None).await.unwrap();
    let endpoints = webhook_endpoint::Entity::find().all(&db).await.unwrap();
    assert_eq!(endpoints.len(), 1, "{endpoints:?}");
    let endpoint = &endpoints[0];
    assert_eq!((endpoint.id, endpoint.merchant_id), (hooked, hooked));
    assert_eq!(endpoint.url, "https://shop.example/hooks");
    assert_eq!(endpoint.secret, "whsec_current");
    assert_eq!(endpoint.previous_secret.as_deref(), Some("whsec_before"));
    assert!(endpoint.enabled && endpoint.types().is_empty());
}
