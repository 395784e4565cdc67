//! An operator forcing an object to an end while Alipay+ may still act (issue 29, item 2), over
//! real HTTP on SQLite and on PostgreSQL + Redis: a refund whose call to Alipay+ is in flight
//! cannot be forced failed, its amount stays reserved, and the call's late success settles it;
//! a payment is forced succeeded only beside Alipay+'s answer saying it is paid, asked after
//! the payment was paid there, and only once a second operator approved it (four eyes: the one
//! who asked gets SAME_OPERATOR; both names and notes are in history and the activity log).

mod common;

use std::path::PathBuf;
use std::time::Duration;

use serde_json::{Value, json};

use common::app::*;
use common::operators::operator_key;
use common::{Backend, wait_for};
use plusflow::simulator::Chaos;

on_each_backend!(
    a_refund_in_flight_at_alipayplus_cannot_be_forced_failed_and_its_money_stays_reserved,
    a_payment_is_forced_to_an_end_only_beside_alipayplus_answer_saying_so,
);

async fn force(app: &App, operator: &str, id: &str, event: &str) -> Value {
    app.gql(
        Some(operator),
        "mutation($id: ID!, $event: String!) { forceTransition(id: $id, event: $event, note: \"settling it by hand\") { state } }",
        json!({ "id": id, "event": event }),
    )
    .await
}

async fn ask(app: &App, operator: &str, id: &str) -> Value {
    let asked = app
        .gql(
            Some(operator),
            "query($id: ID!) { askAlipayPlus(id: $id) { outcome verdict ourState } }",
            json!({ "id": id }),
        )
        .await;
    asked["data"]["askAlipayPlus"].clone()
}

async fn history(app: &App, operator: &str, id: &str) -> Vec<Value> {
    let read = app
        .gql(
            Some(operator),
            "query($id: ID!) { workflow(id: $id) { history { event outcome actor detail } } }",
            json!({ "id": id }),
        )
        .await;
    read["data"]["workflow"]["history"].as_array().unwrap().clone()
}

fn refused_for_answer(answer: &Value) -> String {
    assert_eq!(
        answer["errors"][0]["extensions"]["code"], "ALIPAYPLUS_ANSWER_REQUIRED",
        "{answer}"
    );
    answer["errors"][0]["message"].as_str().unwrap().to_string()
}

async fn a_refund_in_flight_at_alipayplus_cannot_be_forced_failed_and_its_money_stays_reserved(
    backend: Backend,
) {
    let setup = Setup {
        held: vec!["refund"],
        ..Setup::default()
    };
    let Some(app) = spawn_app_with(backend, setup).await else {
        return;
    };
    let operator = operator_key(&app, "hurried");
    let (_, key) = app.merchant("Refunds in flight");
    let (payment, _) = app.paid_payment(&key, "in-flight", "1000").await;
    let refund = app.refund(&key, "r-300", &payment, "USD", "300").await;
    let refund = refund["data"]["createRefund"]["id"].as_str().unwrap().to_string();
    wait_for(
        "the refund call to reach Alipay+",
        Duration::from_secs(30),
        || async { app.held_calls("refund") >= 1 },
    )
    .await;

    // In flight (claimed, or timed out and waiting to be re-sent): not without an answer...
    let why = refused_for_answer(&force(&app, &operator, &refund, "refund_failed").await);
    assert!(why.contains("submit_refund"), "{why}");
    // ...nor beside an answer that does not say it failed at Alipay+.
    let answer = ask(&app, &operator, &refund).await;
    assert_eq!(answer["verdict"], "UNKNOWN", "{answer}");
    assert_eq!(answer["ourState"], "submitting");
    refused_for_answer(&force(&app, &operator, &refund, "refund_failed").await);

    // The 300 stays reserved: 800 more is refused, 700 is what may still be refunded.
    let refunds = app.refunds_of(&key, &payment).await;
    assert_eq!(refunds["refundableAmount"]["value"], "700", "{refunds}");
    let more = app.refund(&key, "r-800", &payment, "USD", "800").await;
    assert_eq!(
        more["errors"][0]["extensions"]["code"], "REFUND_EXCEEDS_REFUNDABLE",
        "{more}"
    );

    // The call lands at Alipay+ and its success settles the refund.
    app.release("refund");
    let settled = app.settled_refunds(&key, &payment).await;
    assert_eq!(settled["refunds"][0]["status"], "SUCCEEDED", "{settled}");
    assert_eq!(settled["refundedAmount"]["value"], "300");
    let at_alipayplus = app.ledger().await["refunds"].clone();
    assert_eq!(at_alipayplus.as_object().unwrap().len(), 1, "{at_alipayplus}");

    let history = history(&app, &operator, &refund).await;
    assert!(
        history.iter().all(|e| e["event"] != "refund_failed"),
        "a refused force writes nothing: {history:#?}"
    );
    let answers: Vec<&Value> = history
        .iter()
        .filter(|e| e["event"] == "alipayplus_answer")
        .collect();
    assert_eq!(answers.len(), 1, "{history:#?}");
    assert_eq!(
        (answers[0]["outcome"].as_str(), answers[0]["actor"].as_str()),
        (Some("ANSWER"), Some("admin:hurried"))
    );
}

/// The shipped workflows with the payment's polling put off for an hour: with every
/// notification lost, only an operator learns that the customer paid.
fn workflows_without_polling() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir("workflows").unwrap() {
        let path = entry.unwrap().path();
        let mut text = std::fs::read_to_string(&path).unwrap();
        if path.ends_with("payment.toml") {
            let polled = "[effects.poll_payment]\nattempts = 60\nfirst_after = \"3s\"";
            assert!(text.contains(polled), "the payment's polling changed shape");
            text = text.replace(
                polled,
                "[effects.poll_payment]\nattempts = 60\nfirst_after = \"1h\"",
            );
        }
        std::fs::write(dir.path().join(path.file_name().unwrap()), text).unwrap();
    }
    dir
}

async fn a_payment_is_forced_to_an_end_only_beside_alipayplus_answer_saying_so(backend: Backend) {
    let workflows = workflows_without_polling();
    let setup = Setup {
        chaos: Chaos {
            notify_drop_rate: 1.0,
            ..Chaos::default()
        },
        workflows: Some(PathBuf::from(workflows.path())),
        ..Setup::default()
    };
    let Some(app) = spawn_app_with(backend, setup).await else {
        return;
    };
    let operator = operator_key(&app, "careful");
    let (_, key) = app.merchant("Forced payments");
    let (payment, request_id) = awaiting_payment(&app, &key, "forced-1", 599).await;

    // Alipay+ never said it was paid: no forced success, no forced failure.
    let why = refused_for_answer(&force(&app, &operator, &payment, "notified_success").await);
    assert!(why.contains("askAlipayPlus"), "{why}");
    let open = ask(&app, &operator, &payment).await;
    assert_eq!(open["verdict"], "PROCESSING", "{open}");
    let why = refused_for_answer(&force(&app, &operator, &payment, "notified_success").await);
    assert!(why.contains("PROCESSING"), "{why}");
    refused_for_answer(&force(&app, &operator, &payment, "notified_failure").await);
    assert_eq!(app.payment(&key, &payment).await["status"], "AWAITING_CUSTOMER");

    // The customer pays; the notification is lost. Asked again, Alipay+ says paid.
    app.complete(&request_id, json!({ "outcome": "SUCCESS" })).await;
    let paid = ask(&app, &operator, &payment).await;
    assert_eq!(paid["verdict"], "SUCCESS", "{paid}");
    refused_for_answer(&force(&app, &operator, &payment, "notified_failure").await);
    // Settling a payment by hand takes two operators (four eyes, on for payments by default):
    // the force is a request until another operator approves it.
    let asked = force(&app, &operator, &payment, "notified_success").await;
    assert_eq!(
        asked["errors"][0]["extensions"]["code"], "APPROVAL_REQUIRED",
        "{asked}"
    );
    let request = asked["errors"][0]["extensions"]["forceRequestId"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(app.payment(&key, &payment).await["status"], "AWAITING_CUSTOMER");
    let approve = |by: String, note: &'static str| {
        let (app, request) = (&app, request.clone());
        async move {
            app.gql(
                Some(&by),
                "mutation($id: ID!, $note: String!) { approveForce(forceRequestId: $id, note: $note) { state } }",
                json!({ "id": request, "note": note }),
            )
            .await
        }
    };
    let own = approve(operator.clone(), "looks right to me").await;
    assert_eq!(own["errors"][0]["extensions"]["code"], "SAME_OPERATOR", "{own}");
    let pending = app
        .gql(
            Some(&operator),
            "{ forceRequests(status: \"PENDING\") { edges { node { id event requestedBy note status workflow { id } } } } }",
            json!({}),
        )
        .await;
    let waiting = &pending["data"]["forceRequests"]["edges"][0]["node"];
    assert_eq!(
        (
            &waiting["id"],
            &waiting["event"],
            &waiting["requestedBy"],
            &waiting["workflow"]["id"]
        ),
        (
            &json!(request),
            &json!("notified_success"),
            &json!("careful"),
            &json!(payment)
        ),
        "{pending}"
    );
    let second = operator_key(&app, "second-pair");
    let forced = approve(second, "checked Alipay+'s answer: paid").await;
    assert_eq!(forced["data"]["approveForce"]["state"], "succeeded", "{forced}");
    assert_eq!(app.payment(&key, &payment).await["status"], "SUCCEEDED");
    let again = approve(operator_key(&app, "third"), "once more").await;
    assert_eq!(
        again["errors"][0]["extensions"]["code"], "INVALID_TRANSITION",
        "{again}"
    );

    let history = history(&app, &operator, &payment).await;
    let last = history.last().unwrap();
    assert_eq!(
        (last["event"].as_str(), last["actor"].as_str()),
        (Some("notified_success"), Some("admin:second-pair"))
    );
    let detail: Value = serde_json::from_str(last["detail"].as_str().unwrap()).unwrap();
    assert_eq!(detail["alipayplusAnswer"], "SUCCESS", "{detail}");
    assert_eq!(detail["note"], "settling it by hand");
    assert_eq!(
        (
            &detail["requestedBy"],
            &detail["approvedBy"],
            &detail["approvalNote"]
        ),
        (
            &json!("careful"),
            &json!("second-pair"),
            &json!("checked Alipay+'s answer: paid")
        ),
        "{detail}"
    );
    // Both acts are in the activity log, newest first.
    let activity = app
        .gql(
            Some(&operator),
            "query($kind: String) { operatorActivity(kind: $kind, first: 5) { edges { node { operator role action objectIds note } } } }",
            json!({ "kind": "payment" }),
        )
        .await;
    let actions: Vec<(String, String)> = activity["data"]["operatorActivity"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|edge| {
            let node = &edge["node"];
            (
                node["operator"].as_str().unwrap().to_string(),
                node["action"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        &actions[..2],
        &[
            ("second-pair".to_string(), "approveForce".to_string()),
            ("careful".to_string(), "forceTransition".to_string()),
        ],
        "{activity}"
    );
}
