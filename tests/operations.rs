//! Operators over real HTTP, on SQLite and on PostgreSQL + Redis: a refund parked after its
//! attempts is found by the stuck list's filter, retried with a note, succeeds, and its history
//! names the operator and the note; forcing an event the definition has no transition for is
//! refused, and a forced end is checked against Alipay+'s answer; a merchant key gets FORBIDDEN
//! on every operator field; every action wants a note; "ask Alipay+" shows Alipay+'s answer,
//! records it, and moves nothing; the list pages with cursors.

mod common;

use std::time::Duration;

use serde_json::{Value, json};

use common::app::*;
use common::operators::*;
use common::{Backend, wait_for};

on_each_backend!(
    a_parked_refund_is_found_retried_with_a_note_and_succeeds_with_the_operator_in_history,
    a_refund_is_forced_to_no_end_alipayplus_has_not_stated_and_is_settled_by_resending_it,
    a_merchant_key_is_forbidden_every_operator_field,
    the_stuck_list_filters_and_pages_oldest_first,
);

const WORKFLOW: &str = "id kind state subjectId stateSince needsAttention attentionReason deadline \
    allowedEvents pendingEffects { name status attempts maxAttempts nextRunAt claimedBy lastError } \
    history { event outcome actor note }";

async fn stuck(app: &App, key: &str, filter: Value) -> Value {
    let query = format!(
        "query($filter: WorkflowFilter) {{ workflows(filter: $filter, first: 50) {{ edges {{ cursor node {{ {WORKFLOW} }} }} pageInfo {{ hasNextPage }} }} }}"
    );
    app.gql(Some(key), &query, json!({ "filter": filter })).await
}

async fn workflow(app: &App, key: &str, id: &str) -> Value {
    let query = format!("query($id: ID!) {{ workflow(id: $id) {{ {WORKFLOW} }} }}");
    app.gql(Some(key), &query, json!({ "id": id })).await["data"]["workflow"].clone()
}

async fn action(app: &App, key: &str, mutation: &str, id: &str, note: &str) -> Value {
    let query =
        format!("mutation($id: ID!, $note: String!) {{ {mutation}(id: $id, note: $note) {{ {WORKFLOW} }} }}");
    app.gql(Some(key), &query, json!({ "id": id, "note": note }))
        .await
}

async fn a_parked_refund_is_found_retried_with_a_note_and_succeeds_with_the_operator_in_history(
    backend: Backend,
) {
    let workflows = quickly_parking_workflows();
    let Some(app) = spawn_parking_refunds(backend, &workflows).await else {
        return;
    };
    let operator = operator_key(&app, "ana");
    let (merchant_key, payment, refund) = parked_refund(&app).await;

    let found = stuck(
        &app,
        &operator,
        json!({ "needsAttention": true, "kind": "refund" }),
    )
    .await;
    let edges = found["data"]["workflows"]["edges"].as_array().unwrap().clone();
    assert_eq!(edges.len(), 1, "{found:#}");
    let node = &edges[0]["node"];
    assert_eq!(node["id"], refund.as_str());
    assert_eq!(node["subjectId"], refund.as_str());
    assert_eq!(node["state"], "submitting");
    assert!(
        node["attentionReason"]
            .as_str()
            .unwrap()
            .contains("failed 2 times"),
        "{node:#}"
    );
    let effect = &node["pendingEffects"][0];
    assert_eq!(effect["name"], "submit_refund");
    assert_eq!(effect["status"], "failed");
    assert_eq!(
        (effect["attempts"].as_i64(), effect["maxAttempts"].as_i64()),
        (Some(2), Some(2))
    );
    assert!(effect["lastError"].as_str().is_some());
    // The refund still holds its amount.
    assert_eq!(
        app.refunds_of(&merchant_key, &payment).await["refundableAmount"]["value"],
        "700"
    );

    // No note, no action.
    let refused = action(&app, &operator, "retryWorkflow", &refund, "  ").await;
    assert_eq!(
        refused["errors"][0]["extensions"]["code"], "VALIDATION",
        "{refused}"
    );
    assert_eq!(refused["errors"][0]["extensions"]["field"], "note");

    app.let_through("refund");
    let note = "Alipay+ refund API was down 10:00-10:20 (status page); retrying";
    let retried = action(&app, &operator, "retryWorkflow", &refund, note).await;
    assert!(retried["errors"].is_null(), "{retried}");
    assert_eq!(retried["data"]["retryWorkflow"]["needsAttention"], false);
    wait_for(
        "the retried refund to succeed",
        Duration::from_secs(30),
        || async { workflow(&app, &operator, &refund).await["state"] == "succeeded" },
    )
    .await;
    let after = workflow(&app, &operator, &refund).await;
    let by_operator: Vec<&Value> = after["history"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|event| event["actor"] == "admin:ana")
        .collect();
    assert_eq!(by_operator.len(), 1, "{after:#}");
    assert_eq!(by_operator[0]["event"], "operator_retry");
    assert_eq!(by_operator[0]["note"], note);
    assert_eq!(
        app.refunds_of(&merchant_key, &payment).await["refundedAmount"]["value"],
        "300"
    );
    assert_eq!(app.ledger().await["refunds"].as_object().unwrap().len(), 1);
    let left = stuck(&app, &operator, json!({ "needsAttention": true })).await;
    assert_eq!(
        left["data"]["workflows"]["edges"],
        json!([]),
        "nothing waits any more"
    );
    // A finished workflow has nothing to retry.
    let again = action(&app, &operator, "retryWorkflow", &refund, "once more").await;
    assert_eq!(
        again["errors"][0]["extensions"]["code"], "INVALID_TRANSITION",
        "{again}"
    );
}

async fn a_refund_is_forced_to_no_end_alipayplus_has_not_stated_and_is_settled_by_resending_it(
    backend: Backend,
) {
    // Alipay+ refunds, but every answer to our refund calls is lost: the refund parks.
    let workflows = quickly_parking_workflows();
    let setup = Setup {
        answers_lost: vec!["refund"],
        workflows: Some(workflows.path().into()),
        ..Setup::default()
    };
    let Some(app) = spawn_app_with(backend, setup).await else {
        return;
    };
    let operator = operator_key(&app, "bo");
    let (_, _, refund) = parked_refund(&app).await;
    let force = |event: &'static str, note: &'static str| {
        let (app, operator, refund) = (&app, operator.clone(), refund.clone());
        async move {
            app.gql(
                Some(&operator),
                "mutation($id: ID!, $event: String!, $note: String!) { forceTransition(id: $id, event: $event, note: $note) { state } }",
                json!({ "id": refund, "event": event, "note": note }),
            )
            .await
        }
    };
    for event in ["inquiry_success", "pay_accepted", "no_such_event"] {
        let refused = force(event, "trying").await;
        assert_eq!(
            refused["errors"][0]["extensions"]["code"], "INVALID_TRANSITION",
            "{event}: {refused}"
        );
    }
    let unchanged = workflow(&app, &operator, &refund).await;
    assert_eq!(unchanged["state"], "submitting");
    assert_eq!(unchanged["needsAttention"], true);
    assert!(
        unchanged["history"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["actor"] != "admin:bo")
    );
    // Resume clears needs-attention; the effect stays failed until retried.
    let resumed = action(
        &app,
        &operator,
        "resumeWorkflow",
        &refund,
        "looked at it; waiting",
    )
    .await;
    assert_eq!(
        resumed["data"]["resumeWorkflow"]["needsAttention"], false,
        "{resumed}"
    );
    let twice = action(&app, &operator, "resumeWorkflow", &refund, "again").await;
    assert_eq!(
        twice["errors"][0]["extensions"]["code"], "INVALID_TRANSITION",
        "{twice}"
    );

    // Alipay+ is asked and our state does not move; its answer is recorded.
    let asked = app
        .gql(
            Some(&operator),
            "query($id: ID!) { askAlipayPlus(id: $id) { api outcome paymentResult refundStatus verdict ourState } }",
            json!({ "id": refund }),
        )
        .await;
    let answer = &asked["data"]["askAlipayPlus"];
    assert_eq!(answer["api"], "inquiryPayment", "{asked}");
    assert_eq!(answer["outcome"], "SUCCEEDED");
    assert!(
        answer["paymentResult"].as_str().unwrap().contains("SUCCESS"),
        "{answer}"
    );
    // Our simulator, like Alipay+ as far as anyone has confirmed, lists no refunds there.
    assert_eq!(answer["refundStatus"], Value::Null, "{answer}");
    assert_eq!(answer["verdict"], "UNKNOWN");
    assert_eq!(answer["ourState"], "submitting");
    assert_eq!(workflow(&app, &operator, &refund).await["state"], "submitting");

    // Without Alipay+ saying so, the refund is forced to neither end...
    for event in ["refund_failed", "refund_succeeded"] {
        let refused = force(event, "settling it by hand").await;
        assert_eq!(
            refused["errors"][0]["extensions"]["code"], "ALIPAYPLUS_ANSWER_REQUIRED",
            "{event}: {refused}"
        );
    }
    // ...it is sent again with its refundRequestId, and Alipay+'s answer settles it: refunded
    // once, as Alipay+ did the first time.
    app.let_through("refund");
    let retried = action(
        &app,
        &operator,
        "retryWorkflow",
        &refund,
        "Alipay+ is answering again",
    )
    .await;
    assert!(retried["errors"].is_null(), "{retried}");
    wait_for(
        "the re-sent refund to succeed",
        Duration::from_secs(30),
        || async { workflow(&app, &operator, &refund).await["state"] == "succeeded" },
    )
    .await;
    assert_eq!(app.ledger().await["refunds"].as_object().unwrap().len(), 1);
    let history = workflow(&app, &operator, &refund).await["history"].clone();
    let history = history.as_array().unwrap();
    assert!(
        history.iter().all(|e| e["note"] != "settling it by hand"),
        "{history:#?}"
    );
    let answered: Vec<&Value> = history
        .iter()
        .filter(|e| e["event"] == "alipayplus_answer")
        .collect();
    assert_eq!(answered.len(), 1, "{history:#?}");
    assert_eq!(
        (answered[0]["outcome"].as_str(), answered[0]["actor"].as_str()),
        (Some("ANSWER"), Some("admin:bo"))
    );
}

async fn a_merchant_key_is_forbidden_every_operator_field(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let (_, key) = app.merchant("Curious");
    let (payment, _) = app.paid_payment(&key, "curious", "1000").await;
    let fields = [
        "{ workflows { edges { node { id } } } }".to_string(),
        format!("{{ workflow(id: \"{payment}\") {{ id }} }}"),
        "{ workflowDefinitions { kind } }".to_string(),
        format!("{{ askAlipayPlus(id: \"{payment}\") {{ outcome }} }}"),
        format!("mutation {{ retryWorkflow(id: \"{payment}\", note: \"x\") {{ id }} }}"),
        format!("mutation {{ resumeWorkflow(id: \"{payment}\", note: \"x\") {{ id }} }}"),
        format!(
            "mutation {{ forceTransition(id: \"{payment}\", event: \"expired\", note: \"x\") {{ id }} }}"
        ),
    ];
    for query in &fields {
        let answer = app.gql(Some(&key), query, json!({})).await;
        assert_eq!(
            answer["errors"][0]["extensions"]["code"], "FORBIDDEN",
            "{query}: {answer}"
        );
        let nobody = app.gql(None, query, json!({})).await;
        assert_eq!(
            nobody["errors"][0]["extensions"]["code"], "UNAUTHENTICATED",
            "{query}: {nobody}"
        );
    }
    // The configured admin key is the operator `config`; a revoked operator key is refused.
    let definitions = app
        .gql(
            Some(ADMIN_KEY),
            "{ workflowDefinitions { kind mermaid } }",
            json!({}),
        )
        .await;
    let kinds: Vec<&str> = definitions["data"]["workflowDefinitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["kind"].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains(&"payment") && kinds.contains(&"refund"),
        "{definitions}"
    );
    assert!(definitions.to_string().contains("stateDiagram-v2"));
    let revoked = operator_key(&app, "leaver");
    app.plusflow(&["admin", "key", "revoke", "--name", "leaver"]);
    let answer = app
        .gql(Some(&revoked), "{ workflowDefinitions { kind } }", json!({}))
        .await;
    assert_eq!(
        answer["errors"][0]["extensions"]["code"], "UNAUTHENTICATED",
        "{answer}"
    );
    let (code, _, stderr) =
        app.plusflow_exit(&["admin", "key", "create", "--name", "leaver", "--role", "viewer"]);
    assert_ne!(code, 0, "a name is never given twice");
    assert!(stderr.contains("leaver"), "{stderr}");
}

async fn the_stuck_list_filters_and_pages_oldest_first(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let operator = operator_key(&app, "cy");
    let (_, key) = app.merchant("Waits");
    let mut ids = Vec::new();
    for n in 0..5 {
        let created = app
            .create(&key, &format!("k{n}"), input(&format!("wait-{n}"), "1000"))
            .await;
        let id = created["data"]["createPayment"]["id"]
            .as_str()
            .unwrap()
            .to_string();
        app.wait_status(&key, &id, "AWAITING_CUSTOMER").await;
        ids.push(id);
    }
    let all = stuck(
        &app,
        &operator,
        json!({ "kind": "payment", "state": "awaiting_customer" }),
    )
    .await;
    let listed: Vec<String> = all["data"]["workflows"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(listed, ids, "oldest in their state first");
    assert!(
        all["data"]["workflows"]["edges"][0]["node"]["deadline"].is_string(),
        "a payment's expiry"
    );
    // Two pages of three and two.
    let page = |after: Option<String>| {
        let (app, operator) = (&app, operator.clone());
        async move {
            app.gql(
                Some(&operator),
                "query($after: String) { workflows(filter: {kind: \"payment\"}, first: 3, after: $after) { edges { cursor node { id } } pageInfo { hasNextPage } } }",
                json!({ "after": after }),
            )
            .await["data"]["workflows"]
                .clone()
        }
    };
    let first = page(None).await;
    assert_eq!(first["edges"].as_array().unwrap().len(), 3);
    assert_eq!(first["pageInfo"]["hasNextPage"], true);
    let cursor = first["edges"][2]["cursor"].as_str().unwrap().to_string();
    let second = page(Some(cursor)).await;
    let rest: Vec<&str> = second["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["id"].as_str().unwrap())
        .collect();
    assert_eq!(rest, [ids[3].as_str(), ids[4].as_str()]);
    assert_eq!(second["pageInfo"]["hasNextPage"], false);
    // None waits for an operator; none has been in its state for an hour; another merchant has none.
    let attention = stuck(&app, &operator, json!({ "needsAttention": true })).await;
    assert_eq!(attention["data"]["workflows"]["edges"], json!([]));
    let old = stuck(&app, &operator, json!({ "stuckForSeconds": 3600 })).await;
    assert_eq!(old["data"]["workflows"]["edges"], json!([]));
    let any_time = stuck(
        &app,
        &operator,
        json!({ "kind": "payment", "stuckForSeconds": 0 }),
    )
    .await;
    assert_eq!(
        any_time["data"]["workflows"]["edges"].as_array().unwrap().len(),
        5,
        "{any_time}"
    );
    let (other, _) = app.merchant("Other");
    let theirs = stuck(&app, &operator, json!({ "merchantId": other })).await;
    assert_eq!(theirs["data"]["workflows"]["edges"], json!([]));
    let bad = app
        .gql(
            Some(&operator),
            "{ workflows(after: \"garbage\") { edges { cursor } } }",
            json!({}),
        )
        .await;
    assert_eq!(bad["errors"][0]["extensions"]["code"], "VALIDATION", "{bad}");
    // The terminal list says the same.
    let (_, stdout, _) = app.plusflow_exit(&["workflows", "stuck", "--kind", "payment", "--json"]);
    let printed: Vec<Value> = stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(printed.len(), 5, "{stdout}");
    assert_eq!(printed[0]["id"], ids[0].as_str());
    let (_, table, _) = app.plusflow_exit(&["workflows", "stuck", "--kind", "payment"]);
    assert!(table.lines().next().unwrap().starts_with("id"), "{table}");
    assert!(
        table.contains(&ids[4]) && table.contains("awaiting_customer"),
        "{table}"
    );
}
