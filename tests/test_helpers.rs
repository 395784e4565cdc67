//! Test helpers over real HTTP, on SQLite and on PostgreSQL + Redis: a merchant's own test suite
//! drives a payment to SUCCEEDED (notified, or with the notification lost), FAILED and (by its
//! expiry) CANCELLED and raises a dispute on it, each arriving the way Alipay+ would send it
//! (the simulator's signed notifications; customs' decisions are in tests/customs.rs);
//! another merchant reaches none of these payments; against the real Alipay+ every helper is
//! refused with NOT_IN_TEST_MODE and nothing is sent.

mod common;

use std::time::Duration;

use serde_json::{Value, json};

use common::app::*;
use common::{Backend, poll_until};

on_each_backend!(
    a_merchant_test_suite_drives_each_outcome_and_a_dispute_through_graphql,
    against_the_real_alipayplus_test_helpers_are_refused_and_send_nothing,
);

const OUTCOME: &str = "mutation($id: ID!, $outcome: String!) { simulatePaymentOutcome(paymentId: $id, outcome: $outcome) { id status } }";
const DISPUTE: &str = "mutation($id: ID!, $kind: DisputeKind!, $amount: MoneyInput) { simulateDispute(paymentId: $id, kind: $kind, amount: $amount) { id status } }";

fn code(answer: &Value) -> &str {
    answer["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("{answer}"))
}

async fn a_merchant_test_suite_drives_each_outcome_and_a_dispute_through_graphql(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let (_, key) = app.merchant("Tea House");
    let (_, other_key) = app.merchant("Elsewhere");

    let (paid, _) = awaiting_payment(&app, &key, "helper-paid", 300).await;
    let answer = app
        .gql(Some(&key), OUTCOME, json!({ "id": paid, "outcome": "SUCCESS" }))
        .await;
    assert!(answer["errors"].is_null(), "{answer}");
    let payment = app.wait_status(&key, &paid, "SUCCEEDED").await;
    let history = payment["workflow"]["history"].as_array().unwrap();
    assert!(
        history
            .iter()
            .any(|row| row["event"] == "notified_success" && row["actor"] == "alipayplus"),
        "learnt from Alipay+'s notification: {payment}"
    );

    // The customer pays and Alipay+'s notification is lost: plusflow learns it by inquiring.
    let (unnotified, _) = awaiting_payment(&app, &key, "helper-unnotified", 300).await;
    let answer = app
        .gql(
            Some(&key),
            "mutation($id: ID!) { simulatePaymentOutcome(paymentId: $id, outcome: \"SUCCESS\", notify: false) { id } }",
            json!({ "id": unnotified }),
        )
        .await;
    assert!(answer["errors"].is_null(), "{answer}");
    let payment = app.wait_status(&key, &unnotified, "SUCCEEDED").await;
    let events: Vec<&Value> = payment["workflow"]["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| &row["event"])
        .collect();
    assert!(events.contains(&&json!("inquiry_success")), "{payment}");
    assert!(!events.contains(&&json!("notified_success")), "{payment}");

    let (declined, _) = awaiting_payment(&app, &key, "helper-declined", 300).await;
    app.gql(Some(&key), OUTCOME, json!({ "id": declined, "outcome": "FAIL" }))
        .await;
    let payment = app.wait_status(&key, &declined, "FAILED").await;
    assert_eq!(
        payment["failureCode"], "USER_PAYMENT_VERIFICATION_FAILED",
        "{payment}"
    );

    let (expiring, request_id) = awaiting_payment(&app, &key, "helper-expired", 300).await;
    app.gql(
        Some(&key),
        OUTCOME,
        json!({ "id": expiring, "outcome": "EXPIRE" }),
    )
    .await;
    app.wait_status(&key, &expiring, "CANCELLED").await;
    let ledger = app.ledger().await;
    assert_eq!(
        ledger["payments"][&request_id]["status"], "CANCELLED",
        "cancelled at Alipay+"
    );

    let finished = app
        .gql(Some(&key), OUTCOME, json!({ "id": paid, "outcome": "FAIL" }))
        .await;
    assert_eq!(
        code(&finished),
        "INVALID_TRANSITION",
        "a paid payment is not paid again"
    );
    let unknown = app
        .gql(Some(&key), OUTCOME, json!({ "id": declined, "outcome": "MAYBE" }))
        .await;
    assert_eq!(code(&unknown), "VALIDATION");
    let foreign = app
        .gql(
            Some(&other_key),
            OUTCOME,
            json!({ "id": paid, "outcome": "SUCCESS" }),
        )
        .await;
    assert_eq!(code(&foreign), "NOT_FOUND", "another merchant's payment");

    let unpaid = app
        .gql(
            Some(&key),
            DISPUTE,
            json!({ "id": declined, "kind": "RETRIEVAL" }),
        )
        .await;
    assert_eq!(
        code(&unpaid),
        "INVALID_TRANSITION",
        "no dispute on a failed payment"
    );
    let too_much = json!({ "currency": "USD", "value": "1001" });
    let refused = app
        .gql(
            Some(&key),
            DISPUTE,
            json!({ "id": paid, "kind": "ESCALATION", "amount": too_much }),
        )
        .await;
    assert_eq!(code(&refused), "VALIDATION", "more than the payment");
    let raised = app
        .gql(
            Some(&key),
            DISPUTE,
            json!({ "id": paid, "kind": "ESCALATION", "amount": { "currency": "USD", "value": "400" } }),
        )
        .await;
    assert!(raised["errors"].is_null(), "{raised}");
    let disputes = "query($id: ID!) { payment(id: $id) { disputes { kind status escalationAmount { currency value } } } }";
    let dispute = poll_until(
        "the escalation to reach plusflow",
        Duration::from_secs(30),
        || async {
            let answer = app.gql(Some(&key), disputes, json!({ "id": paid })).await;
            let dispute = answer["data"]["payment"]["disputes"][0].clone();
            (!dispute.is_null()).then_some(dispute)
        },
    )
    .await;
    assert_eq!(dispute["kind"], "ESCALATION");
    assert_eq!(dispute["status"], "NEEDS_RESPONSE");
    assert_eq!(
        dispute["escalationAmount"],
        json!({ "currency": "USD", "value": "400" })
    );
}

async fn against_the_real_alipayplus_test_helpers_are_refused_and_send_nothing(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let (merchant_id, key) = app.merchant("Tea House");
    let (waiting, request_id) = awaiting_payment(&app, &key, "real-1", 300).await;
    // The same database and simulator, as a plusflow talking to the real Alipay+ sees them.
    let mut engine = app.engine.clone();
    engine.real_alipayplus = true;
    let schema = app.schema_over(engine.clone());
    let merchant = plusflow::store::merchants::merchant(&engine.db, merchant_id.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    let as_merchant = |query: &str, variables: Value| {
        let request = async_graphql::Request::new(query)
            .variables(async_graphql::Variables::from_json(variables))
            .data(plusflow::app::auth::Principal::Merchant(Box::new(
                merchant.clone(),
            )));
        let schema = schema.clone();
        async move { serde_json::to_value(schema.execute(request).await).unwrap() }
    };
    for outcome in ["SUCCESS", "FAIL", "EXPIRE"] {
        let answer = as_merchant(OUTCOME, json!({ "id": waiting, "outcome": outcome })).await;
        assert_eq!(code(&answer), "NOT_IN_TEST_MODE", "{answer}");
    }
    let answer = as_merchant(DISPUTE, json!({ "id": waiting, "kind": "RETRIEVAL" })).await;
    assert_eq!(code(&answer), "NOT_IN_TEST_MODE", "{answer}");
    let customs = "mutation($id: ID!) { simulateCustomsDecision(declarationId: $id, accept: true) { id } }";
    let answer = as_merchant(customs, json!({ "id": uuid::Uuid::now_v7() })).await;
    assert_eq!(code(&answer), "NOT_IN_TEST_MODE", "{answer}");

    let payment = app.payment(&key, &waiting).await;
    assert_eq!(payment["status"], "AWAITING_CUSTOMER", "nothing moved: {payment}");
    let ledger = app.ledger().await;
    assert_eq!(
        ledger["payments"][&request_id]["status"], "IN_PROCESS",
        "nothing sent"
    );
    assert_eq!(ledger["disputes"], json!({}));
}
