//! A merchant's lookups over real HTTP, on SQLite and on PostgreSQL + Redis: a payment by its
//! merchantOrderId; payments, refunds and disputes filtered by status, creation window and
//! order; another merchant's objects never in the answers; contradictory arguments refused.

mod common;

use std::time::Duration;

use serde_json::{Value, json};

use common::app::*;
use common::{Backend, poll_until};

on_each_backend!(a_merchant_finds_its_objects_by_order_status_and_time);

const BY_ORDER: &str =
    "query($order: String, $id: ID) { payment(merchantOrderId: $order, id: $id) { id status } }";
const PAYMENTS: &str = "query($filter: PaymentFilter, $status: PaymentStatus) { payments(first: 50, filter: $filter, status: $status) { edges { node { id status createdAt } } } }";
const REFUNDS: &str = "query($filter: RefundFilter) { refunds(first: 50, filter: $filter) { edges { node { id status payment { id } } } } }";
const DISPUTES: &str = "query($filter: DisputeFilter) { disputes(first: 50, filter: $filter) { edges { node { id kind payment { id } } } } }";

/// The ids of a list's nodes, in the order given.
fn ids(answer: &Value, list: &str) -> Vec<String> {
    answer["data"][list]["edges"]
        .as_array()
        .unwrap_or_else(|| panic!("{answer}"))
        .iter()
        .map(|edge| edge["node"]["id"].as_str().unwrap().to_string())
        .collect()
}

fn code(answer: &Value) -> &str {
    answer["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("{answer}"))
}

async fn a_merchant_finds_its_objects_by_order_status_and_time(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let (_, key) = app.merchant("Looked Up");
    let (_, other) = app.merchant("Elsewhere");
    let (paid, _) = app.paid_payment(&key, "o-1", "1000").await;
    let (declined, declined_request) = awaiting_payment(&app, &key, "o-2", 300).await;
    app.complete(&declined_request, json!({ "outcome": "FAIL" }))
        .await;
    app.wait_status(&key, &declined, "FAILED").await;
    let (waiting, _) = awaiting_payment(&app, &key, "o-3", 300).await;
    let (theirs, _) = app.paid_payment(&other, "o-1", "1000").await;

    // One payment by its order, each merchant its own.
    let mine = app.gql(Some(&key), BY_ORDER, json!({ "order": "o-1" })).await;
    assert_eq!(mine["data"]["payment"]["id"], paid.as_str());
    let other_one = app.gql(Some(&other), BY_ORDER, json!({ "order": "o-1" })).await;
    assert_eq!(other_one["data"]["payment"]["id"], theirs.as_str());
    let none = app.gql(Some(&key), BY_ORDER, json!({ "order": "o-404" })).await;
    assert_eq!(none["data"]["payment"], Value::Null, "{none}");
    let both = app
        .gql(Some(&key), BY_ORDER, json!({ "order": "o-1", "id": paid }))
        .await;
    assert_eq!(code(&both), "VALIDATION");
    let neither = app.gql(Some(&key), BY_ORDER, json!({})).await;
    assert_eq!(code(&neither), "VALIDATION");

    // Payments by status, order and creation time.
    let succeeded = app
        .gql(
            Some(&key),
            PAYMENTS,
            json!({ "filter": { "status": "SUCCEEDED" } }),
        )
        .await;
    assert_eq!(ids(&succeeded, "payments"), vec![paid.clone()]);
    let by_order = app
        .gql(
            Some(&key),
            PAYMENTS,
            json!({ "filter": { "merchantOrderId": "o-2" } }),
        )
        .await;
    assert_eq!(ids(&by_order, "payments"), vec![declined.clone()]);
    let all = app.gql(Some(&key), PAYMENTS, json!({})).await;
    assert_eq!(
        ids(&all, "payments"),
        vec![waiting.clone(), declined.clone(), paid.clone()],
        "newest first, mine only"
    );
    let created = |id: &str| {
        all["data"]["payments"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .find(|edge| edge["node"]["id"] == id)
            .unwrap()["node"]["createdAt"]
            .clone()
    };
    let later = app
        .gql(
            Some(&key),
            PAYMENTS,
            json!({ "filter": { "createdAfter": created(&declined) } }),
        )
        .await;
    assert_eq!(ids(&later, "payments"), vec![waiting.clone()]);
    let earlier = app
        .gql(
            Some(&key),
            PAYMENTS,
            json!({ "filter": { "createdBefore": created(&declined) } }),
        )
        .await;
    assert_eq!(ids(&earlier, "payments"), vec![paid.clone()]);
    let window = json!({ "createdAfter": created(&waiting), "createdBefore": created(&paid) });
    let backwards = app.gql(Some(&key), PAYMENTS, json!({ "filter": window })).await;
    assert_eq!(code(&backwards), "VALIDATION");
    let contradicting = app
        .gql(
            Some(&key),
            PAYMENTS,
            json!({ "status": "FAILED", "filter": { "status": "SUCCEEDED" } }),
        )
        .await;
    assert_eq!(code(&contradicting), "VALIDATION");

    // Refunds and disputes by their payment's order.
    app.refund(&key, "lookup-refund-1", &paid, "USD", "300").await;
    app.refund(&key, "lookup-refund-2", &paid, "USD", "200").await;
    app.settled_refunds(&key, &paid).await;
    app.refund(&other, "lookup-refund-3", &theirs, "USD", "100").await;
    let refunds = app
        .gql(
            Some(&key),
            REFUNDS,
            json!({ "filter": { "merchantOrderId": "o-1", "status": "SUCCEEDED" } }),
        )
        .await;
    let found = refunds["data"]["refunds"]["edges"]
        .as_array()
        .unwrap_or_else(|| panic!("{refunds}"));
    assert_eq!(found.len(), 2, "{refunds}");
    assert!(
        found
            .iter()
            .all(|edge| edge["node"]["payment"]["id"] == paid.as_str())
    );
    let of_waiting = app
        .gql(
            Some(&key),
            REFUNDS,
            json!({ "filter": { "merchantOrderId": "o-3" } }),
        )
        .await;
    assert!(ids(&of_waiting, "refunds").is_empty());

    let raise = "mutation($id: ID!) { simulateDispute(paymentId: $id, kind: RETRIEVAL) { id } }";
    let raised = app.gql(Some(&key), raise, json!({ "id": paid })).await;
    assert!(raised["errors"].is_null(), "{raised}");
    let disputed = poll_until(
        "the dispute to reach plusflow",
        Duration::from_secs(30),
        || async {
            let answer = app
                .gql(
                    Some(&key),
                    DISPUTES,
                    json!({ "filter": { "merchantOrderId": "o-1" } }),
                )
                .await;
            (!ids(&answer, "disputes").is_empty()).then_some(answer)
        },
    )
    .await;
    assert_eq!(
        disputed["data"]["disputes"]["edges"][0]["node"]["payment"]["id"],
        paid.as_str()
    );
    let none = app
        .gql(
            Some(&key),
            DISPUTES,
            json!({ "filter": { "merchantOrderId": "o-2" } }),
        )
        .await;
    assert!(ids(&none, "disputes").is_empty());
    let not_theirs = app
        .gql(
            Some(&other),
            DISPUTES,
            json!({ "filter": { "merchantOrderId": "o-1" } }),
        )
        .await;
    assert!(
        ids(&not_theirs, "disputes").is_empty(),
        "the other merchant's o-1 has no dispute"
    );
}
