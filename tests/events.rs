//! The merchants' event feed over real HTTP, on SQLite and on PostgreSQL + Redis: a merchant
//! reading `events(after:)` page by page while its payments are created and paid concurrently
//! sees every change exactly once, numbered without gaps, each object's changes in order, and
//! each webhook it receives is the event of the same change (same id, same object), the final
//! one of every payment among them; a type filter keeps only its types; another merchant sees
//! none of them, and an operator reads a merchant's feed by naming it.

mod common;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration;

use serde_json::{Value, json};

use common::app::*;
use common::webhooks::WebhookReceiver;
use common::{Backend, poll_until};

on_each_backend!(
    a_merchant_reading_its_feed_while_payments_are_paid_sees_each_change_once_in_order,
    a_type_filter_keeps_its_types_and_other_merchants_see_nothing,
    metadata_given_at_creation_is_echoed_by_the_object_its_events_and_webhooks,
);

async fn a_merchant_reading_its_feed_while_payments_are_paid_sees_each_change_once_in_order(
    backend: Backend,
) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let receiver = WebhookReceiver::accepting().await;
    let merchant = app.create_merchant(&["--name", "Feed Reader", "--webhook-url", &receiver.url]);
    let key = merchant["apiKey"].as_str().unwrap().to_string();
    const PAYMENTS: usize = 12;

    let payers = (0..PAYMENTS).map(|n| {
        let (app, key) = (&app, key.clone());
        async move {
            let (id, request_id) = awaiting_payment(app, &key, &format!("feed-{n}"), 300).await;
            app.complete(&request_id, json!({ "outcome": "SUCCESS" })).await;
            app.wait_status(&key, &id, "SUCCEEDED").await;
            id
        }
    });
    // The reader keeps its cursor and what it read between polls.
    let reader = async {
        let read: tokio::sync::Mutex<(Option<String>, Vec<Value>)> = Default::default();
        poll_until(
            "every payment's SUCCEEDED event in the feed",
            Duration::from_secs(90),
            || async {
                let mut read = read.lock().await;
                let (after, seen) = &mut *read;
                seen.extend(app.events_after(&key, after, 5).await);
                let succeeded = seen.iter().filter(|e| e["data"]["status"] == "SUCCEEDED").count();
                (succeeded == PAYMENTS).then_some(())
            },
        )
        .await;
        read.into_inner().1
    };
    let (ids, mut seen) = tokio::join!(futures::future::join_all(payers), reader);
    let mut after = seen.last().map(|e| e["sequence"].to_string());
    seen.extend(app.events_after(&key, &mut after, 100).await);

    let sequences: Vec<i64> = seen.iter().map(|e| e["sequence"].as_i64().unwrap()).collect();
    assert_eq!(
        sequences,
        (1..=seen.len() as i64).collect::<Vec<_>>(),
        "numbered 1, 2, 3... once each"
    );
    let ids: HashSet<String> = ids.into_iter().collect();
    let mut versions: HashMap<String, Vec<i64>> = HashMap::new();
    for event in &seen {
        assert_eq!(event["type"], "payment.updated", "{event}");
        let object = event["objectId"].as_str().unwrap().to_string();
        assert!(ids.contains(&object), "only this merchant's payments: {event}");
        assert_eq!(event["data"]["id"], event["objectId"]);
        versions
            .entry(object)
            .or_default()
            .push(event["data"]["version"].as_i64().unwrap());
    }
    for (object, versions) in &versions {
        assert!(
            versions.windows(2).all(|w| w[0] < w[1]),
            "{object}: {versions:?} in order"
        );
        assert_eq!(versions.len(), 2, "{object}: AWAITING_CUSTOMER, then SUCCEEDED");
    }

    // Each webhook is the event of its change: the same id and the same object. (A webhook of a
    // state the payment has left before its turn is not sent, so an AWAITING_CUSTOMER event may
    // have none; every final one has.)
    let by_id: BTreeMap<String, &Value> = seen
        .iter()
        .map(|e| (e["id"].as_str().unwrap().to_string(), e))
        .collect();
    let finals: HashSet<String> = seen
        .iter()
        .filter(|e| e["data"]["status"] == "SUCCEEDED")
        .map(|e| e["id"].as_str().unwrap().to_string())
        .collect();
    poll_until(
        "a webhook for every final event",
        Duration::from_secs(60),
        || async {
            let delivered: HashSet<String> = receiver
                .bodies()
                .iter()
                .filter_map(|body| body["eventId"].as_str().map(str::to_string))
                .collect();
            finals.is_subset(&delivered).then_some(())
        },
    )
    .await;
    for body in receiver.bodies() {
        let event = by_id[body["eventId"].as_str().unwrap()];
        assert_eq!(body["type"], event["type"]);
        assert_eq!(
            body["payment"], event["data"],
            "the webhook says what the event says"
        );
    }

    let one = &seen[0];
    let read = app
        .gql(
            Some(&key),
            "query($id: ID!) { event(id: $id) { id sequence data } }",
            json!({ "id": one["id"] }),
        )
        .await;
    assert_eq!(read["data"]["event"]["sequence"], one["sequence"]);
    let bad = app
        .gql(Some(&key), EVENTS, json!({ "after": "not-a-cursor" }))
        .await;
    assert_eq!(bad["errors"][0]["extensions"]["code"], "VALIDATION");
    let too_many = app.gql(Some(&key), EVENTS, json!({ "first": 101 })).await;
    assert_eq!(too_many["errors"][0]["extensions"]["code"], "VALIDATION");
}

async fn a_type_filter_keeps_its_types_and_other_merchants_see_nothing(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let (merchant_id, key) = app.merchant("Refunding");
    let (_, other_key) = app.merchant("Nosy");
    let (payment, _) = app.paid_payment(&key, "typed-1", "1000").await;
    app.refund(&key, "typed-refund-1", &payment, "USD", "400").await;
    poll_until("the refund's event", Duration::from_secs(30), || async {
        let answer = app
            .gql(Some(&key), EVENTS, json!({ "types": ["refund.updated"] }))
            .await;
        let edges = answer["data"]["events"]["edges"].as_array().unwrap().clone();
        edges
            .iter()
            .any(|edge| edge["node"]["data"]["status"] == "SUCCEEDED")
            .then_some(())
    })
    .await;
    let refunds = app
        .gql(Some(&key), EVENTS, json!({ "types": ["refund.updated"] }))
        .await;
    let refunds = refunds["data"]["events"]["edges"].as_array().unwrap().clone();
    assert!(
        refunds
            .iter()
            .all(|edge| edge["node"]["type"] == "refund.updated")
    );
    assert!(
        refunds
            .iter()
            .all(|edge| edge["node"]["data"]["paymentId"] == payment.as_str())
    );
    let mut after = None;
    let everything = app.events_after(&key, &mut after, 100).await;
    let types: HashSet<&str> = everything.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(types, HashSet::from(["payment.updated", "refund.updated"]));

    let mut after = None;
    assert!(
        app.events_after(&other_key, &mut after, 100).await.is_empty(),
        "another merchant's feed is empty"
    );
    let foreign = app
        .gql(
            Some(&other_key),
            "query($id: ID!) { event(id: $id) { id } }",
            json!({ "id": everything[0]["id"] }),
        )
        .await;
    assert_eq!(foreign["data"]["event"], Value::Null, "{foreign}");
    let naming = app
        .gql(Some(&other_key), EVENTS, json!({ "merchant": merchant_id }))
        .await;
    assert_eq!(naming["errors"][0]["extensions"]["code"], "FORBIDDEN");

    let operator = app
        .gql(
            Some(ADMIN_KEY),
            EVENTS,
            json!({ "merchant": merchant_id, "first": 100 }),
        )
        .await;
    let read = operator["data"]["events"]["edges"].as_array().unwrap();
    assert_eq!(
        read.len(),
        everything.len(),
        "an operator reads the merchant's feed"
    );
}

async fn metadata_given_at_creation_is_echoed_by_the_object_its_events_and_webhooks(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let receiver = WebhookReceiver::accepting().await;
    let merchant = app.create_merchant(&["--name", "Tagged", "--webhook-url", &receiver.url]);
    let key = merchant["apiKey"].as_str().unwrap().to_string();
    let pairs = json!([{ "key": "cart", "value": "C-77" }, { "key": "channel", "value": "web" }]);
    let as_object = json!({ "cart": "C-77", "channel": "web" });

    let mut refused = input("tagged-0", "1000");
    refused["metadata"] = json!(
        (0..21)
            .map(|n| json!({ "key": format!("k{n}"), "value": "v" }))
            .collect::<Vec<_>>()
    );
    let answer = app.create(&key, "tagged-0", refused).await;
    assert_eq!(answer["errors"][0]["extensions"]["field"], "metadata", "{answer}");
    assert_eq!(app.payment_count().await, 0, "a refused payment is not stored");

    let mut payment = input("tagged-1", "1000");
    payment["metadata"] = pairs.clone();
    payment["expiresInSeconds"] = json!(300);
    let created = app.create(&key, "tagged-1", payment).await;
    let created = &created["data"]["createPayment"];
    let (id, request_id) = (
        created["id"].as_str().unwrap(),
        created["paymentRequestId"].as_str().unwrap(),
    );
    app.wait_status(&key, id, "AWAITING_CUSTOMER").await;
    app.complete(request_id, json!({ "outcome": "SUCCESS" })).await;
    app.wait_status(&key, id, "SUCCEEDED").await;
    let read = app
        .gql(
            Some(&key),
            "query($id: ID!) { payment(id: $id) { metadata { key value } } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(read["data"]["payment"]["metadata"], pairs);

    let refund = "mutation($input: CreateRefundInput!) { createRefund(input: $input, idempotencyKey: \"tagged-refund\") { id metadata { key value } } }";
    let refunded = app
        .gql(
            Some(&key),
            refund,
            json!({ "input": { "paymentId": id, "amount": { "currency": "USD", "value": "300" },
                               "metadata": [{ "key": "ticket", "value": "T-9" }] } }),
        )
        .await;
    assert_eq!(
        refunded["data"]["createRefund"]["metadata"],
        json!([{ "key": "ticket", "value": "T-9" }]),
        "{refunded}"
    );
    app.settled_refunds(&key, id).await;

    let feed = app.events_after(&key, &mut None, 100).await;
    let payments: Vec<&Value> = feed.iter().filter(|e| e["type"] == "payment.updated").collect();
    assert!(!payments.is_empty());
    assert!(
        payments.iter().all(|e| e["data"]["metadata"] == as_object),
        "{payments:?}"
    );
    let refunds: Vec<&Value> = feed.iter().filter(|e| e["type"] == "refund.updated").collect();
    assert!(
        refunds
            .iter()
            .all(|e| e["data"]["metadata"] == json!({ "ticket": "T-9" })),
        "{refunds:?}"
    );
    poll_until("the SUCCEEDED webhook", Duration::from_secs(30), || async {
        receiver
            .bodies()
            .iter()
            .any(|body| body["payment"]["status"] == "SUCCEEDED")
            .then_some(())
    })
    .await;
    for body in receiver
        .bodies()
        .iter()
        .filter(|body| body["payment"].is_object())
    {
        assert_eq!(body["payment"]["metadata"], as_object, "{body}");
    }
}
