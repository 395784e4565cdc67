//! The operators' console beyond one workflow (issue 32), over real HTTP on SQLite and on
//! PostgreSQL + Redis: search finds each object by each of its ids; the overview counts what
//! waits, what finished and what is due; a bulk retry takes exactly the workflows its preview
//! counted, acts on each once with the note and its id in history, and lists the ones it could
//! not act on; a bulk retry of 500 parked refunds whose process is SIGKILLed mid-batch ends, once
//! a new process takes it over, with every refund retried exactly once; every action is in the
//! activity log (GraphQL and `plusflow admin activity`).

mod common;

use std::time::Duration;

use chrono::Utc;
use plusflow::clock::ManualClock;
use plusflow::kinds::bulk_action::entity::action as bulk_action;
use sea_orm::{ConnectionTrait, Statement};
use serde_json::{Value, json};

use common::app::*;
use common::operators::{key_with_role, quickly_parking_workflows, spawn_parking_refunds};
use common::{Backend, poll_until, wait_for};

on_each_backend!(
    search_finds_each_object_by_each_of_its_ids_and_the_overview_counts_them,
    a_bulk_retry_takes_what_its_preview_counted_and_lists_what_it_could_not_do,
    a_bulk_retry_of_500_parked_refunds_survives_a_sigkill_mid_batch,
);

const SEARCH: &str = "query($text: String!, $merchant: ID) { search(text: $text, merchantId: $merchant) \
                      { kind id label workflow { id kind } } }";

async fn search(app: &App, key: &str, text: &str) -> Vec<Value> {
    let answer = app.gql(Some(key), SEARCH, json!({ "text": text })).await;
    answer["data"]["search"]
        .as_array()
        .unwrap_or_else(|| panic!("{text}: {answer}"))
        .clone()
}

async fn search_finds_each_object_by_each_of_its_ids_and_the_overview_counts_them(backend: Backend) {
    let clock = ManualClock::starting_at(Utc::now());
    let setup = Setup {
        engine_clock: Some(clock.clone()),
        ..Setup::default()
    };
    let Some(app) = spawn_app_with(backend, setup).await else {
        return;
    };
    let viewer = key_with_role(&app, "looker", "viewer");
    let (merchant, key) = app.merchant("Searched");
    let (payment, request_id) = app.paid_payment(&key, "order-77", "1000").await;
    let refund = app.refund(&key, "r-1", &payment, "USD", "100").await;
    let refund = &refund["data"]["createRefund"];
    let (refund_id, refund_request) = (
        refund["id"].as_str().unwrap().to_string(),
        refund["refundRequestId"].as_str().unwrap().to_string(),
    );
    app.settled_refunds(&key, &payment).await;
    let dispute_request = app
        .raise_dispute(&request_id, json!({ "kind": "RETRIEVAL" }))
        .await;
    let dispute = poll_until("the dispute", Duration::from_secs(30), || async {
        let read = app
            .gql(
                Some(&key),
                "query($id: ID!) { payment(id: $id) { alipayPaymentId disputes { id } } }",
                json!({ "id": payment }),
            )
            .await;
        read["data"]["payment"]["disputes"][0]["id"]
            .as_str()
            .map(|id| (id.to_string(), read["data"]["payment"]["alipayPaymentId"].clone()))
    })
    .await;
    let (dispute_id, alipay_payment_id) = dispute;
    let alipay_payment_id = alipay_payment_id.as_str().unwrap().to_string();
    let event = app.events_after(&key, &mut None, 50).await[0].clone();
    let event_id = event["id"].as_str().unwrap().to_string();

    let order_with_merchant = format!("{merchant} order-77");
    let expected = [
        (
            payment.as_str(),
            "payment",
            payment.as_str(),
            Some(payment.as_str()),
        ),
        (
            request_id.as_str(),
            "payment",
            payment.as_str(),
            Some(payment.as_str()),
        ),
        (
            alipay_payment_id.as_str(),
            "payment",
            payment.as_str(),
            Some(payment.as_str()),
        ),
        (
            order_with_merchant.as_str(),
            "payment",
            payment.as_str(),
            Some(payment.as_str()),
        ),
        (
            refund_request.as_str(),
            "refund",
            refund_id.as_str(),
            Some(refund_id.as_str()),
        ),
        (
            dispute_request.as_str(),
            "dispute",
            dispute_id.as_str(),
            Some(dispute_id.as_str()),
        ),
        (
            event_id.as_str(),
            "event",
            event_id.as_str(),
            event["objectId"].as_str(),
        ),
        (merchant.as_str(), "merchant", merchant.as_str(), None),
    ];
    for (text, kind, id, workflow) in expected {
        let hits = search(&app, &viewer, text).await;
        assert_eq!(hits.len(), 1, "{text}: {hits:#?}");
        assert_eq!(
            (
                hits[0]["kind"].as_str(),
                hits[0]["id"].as_str(),
                hits[0]["workflow"]["id"].as_str()
            ),
            (Some(kind), Some(id), workflow),
            "{text}: {hits:#?}"
        );
        assert!(
            hits[0]["label"]
                .as_str()
                .unwrap()
                .contains(text.split(' ').next_back().unwrap())
        );
    }
    assert!(search(&app, &viewer, "no-such-id").await.is_empty());
    // An order id names a payment only with its merchant.
    assert!(search(&app, &viewer, "order-77").await.is_empty());
    let by_argument = app
        .gql(
            Some(&viewer),
            SEARCH,
            json!({ "text": "order-77", "merchant": merchant }),
        )
        .await;
    assert_eq!(
        by_argument["data"]["search"][0]["id"],
        payment.as_str(),
        "{by_argument}"
    );
    let empty = app.gql(Some(&viewer), SEARCH, json!({ "text": "  " })).await;
    assert_eq!(empty["errors"][0]["extensions"]["code"], "VALIDATION", "{empty}");

    const OVERVIEW: &str = "{ overview { unfinished { kind name count } finishedLastDay { kind name count } \
                            parked { kind name count } disputesDueWithin48Hours webhookEndpointsFailing \
                            webhookEndpointsDisabled outboxPending outboxLagSeconds reconciliation { id } } }";
    let overview = app.gql(Some(&viewer), OVERVIEW, json!({})).await;
    let seen = &overview["data"]["overview"];
    let count = |list: &str, kind: &str, name: &str| {
        seen[list]
            .as_array()
            .unwrap_or_else(|| panic!("{overview}"))
            .iter()
            .find(|row| row["kind"] == kind && row["name"] == name)
            .map(|row| row["count"].as_i64().unwrap())
    };
    assert_eq!(
        count("finishedLastDay", "payment", "succeeded"),
        Some(1),
        "{overview}"
    );
    assert_eq!(
        count("finishedLastDay", "refund", "succeeded"),
        Some(1),
        "{overview}"
    );
    assert_eq!(
        count("unfinished", "dispute", "needs_response"),
        Some(1),
        "{overview}"
    );
    assert_eq!(seen["parked"], json!([]), "{overview}");
    assert_eq!(seen["disputesDueWithin48Hours"], 0, "{overview}");
    assert_eq!(seen["webhookEndpointsFailing"], 0, "{overview}");

    // 19 of the retrieval's 20 days later it is due within 48 hours, and yesterday's finished
    // workflows are no longer "the last 24 hours".
    clock.advance(Duration::from_secs(19 * 86_400));
    let later = app.gql(Some(&viewer), OVERVIEW, json!({})).await;
    assert_eq!(
        later["data"]["overview"]["disputesDueWithin48Hours"], 1,
        "{later}"
    );
    assert_eq!(later["data"]["overview"]["finishedLastDay"], json!([]), "{later}");
    let merchant_asks = app.gql(Some(&key), OVERVIEW, json!({})).await;
    assert_eq!(merchant_asks["errors"][0]["extensions"]["code"], "FORBIDDEN");
    // The business context and the diagram are the operators' view of a workflow.
    let as_operator = app
        .gql(
            Some(&viewer),
            "query($id: ID!) { workflow(id: $id) { context { label value workflowId } diagramSvg } }",
            json!({ "id": payment }),
        )
        .await;
    let context = as_operator["data"]["workflow"]["context"]
        .as_array()
        .unwrap()
        .clone();
    let line = |label: &str| context.iter().find(|line| line["label"] == label).cloned();
    assert_eq!(
        line("merchantOrderId").unwrap()["value"],
        "order-77",
        "{as_operator}"
    );
    assert_eq!(line("amount").unwrap()["value"], "10.00 USD", "{as_operator}");
    assert_eq!(
        line("refund").unwrap()["workflowId"],
        refund_id.as_str(),
        "{as_operator}"
    );
    assert!(
        as_operator["data"]["workflow"]["diagramSvg"]
            .as_str()
            .unwrap()
            .contains("data-state=\"succeeded\"")
    );
    let as_merchant = app
        .gql(
            Some(&key),
            "query($id: ID!) { payment(id: $id) { workflow { context { label } diagramSvg } } }",
            json!({ "id": payment }),
        )
        .await;
    assert_eq!(
        as_merchant["data"]["payment"]["workflow"],
        json!({ "context": [], "diagramSvg": null }),
        "{as_merchant}"
    );

    // An operator answers the retrieval for the merchant, named in history and the activity log.
    let answerer = key_with_role(&app, "answerer", "operator");
    let answered = app
        .respond_to_retrieval(&answerer, &dispute_id, "op-1", "id status")
        .await;
    assert!(answered["errors"].is_null(), "{answered}");
    app.engine.wake_relay();
    let history = poll_until("the dispute responded", Duration::from_secs(30), || async {
        let read = app
            .gql(
                Some(&viewer),
                "query($id: ID!) { workflow(id: $id) { state history { event actor } } }",
                json!({ "id": dispute_id }),
            )
            .await;
        (read["data"]["workflow"]["state"] == "responded")
            .then(|| read["data"]["workflow"]["history"].clone())
    })
    .await;
    assert!(
        history
            .as_array()
            .unwrap()
            .iter()
            .any(|row| row["event"] == "dispute_responded" && row["actor"] == "admin:answerer"),
        "{history}"
    );
    let activity = app
        .gql(
            Some(&viewer),
            "{ operatorActivity(operator: \"answerer\") { edges { node { action objectIds } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        activity["data"]["operatorActivity"]["edges"][0]["node"],
        json!({ "action": "respondToRetrieval", "objectIds": [dispute_id] }),
        "{activity}"
    );
}

const START: &str = "mutation($filter: WorkflowFilter!, $action: String!, $note: String!) { \
                     startBulkAction(filter: $filter, action: $action, note: $note) { id total status } }";
const PROGRESS: &str = "query($id: ID!) { bulkAction(id: $id) { id action status total done failed note operator \
                        failures { workflowId error } } }";

async fn preview(app: &App, key: &str, filter: Value) -> Value {
    app.gql(
        Some(key),
        "query($filter: WorkflowFilter!) { bulkPreview(filter: $filter) }",
        json!({ "filter": filter }),
    )
    .await
}

/// Waits until bulk action `id` finished; its progress then.
async fn finished(app: &App, key: &str, id: &str) -> Value {
    poll_until("the bulk action to finish", Duration::from_secs(60), || async {
        let read = app.gql(Some(key), PROGRESS, json!({ "id": id })).await;
        let action = read["data"]["bulkAction"].clone();
        (action["status"] == "FINISHED").then_some(action)
    })
    .await
}

async fn parked_refunds(app: &App) -> i64 {
    let row = app
        .engine
        .db
        .query_one_raw(Statement::from_string(
            app.engine.db.get_database_backend(),
            "SELECT COUNT(*) FROM workflow_instances WHERE kind = 'refund' AND needs_attention = TRUE",
        ))
        .await
        .unwrap()
        .unwrap();
    row.try_get_by_index::<i64>(0).unwrap()
}

async fn a_bulk_retry_takes_what_its_preview_counted_and_lists_what_it_could_not_do(backend: Backend) {
    let workflows = quickly_parking_workflows();
    let Some(app) = spawn_parking_refunds(backend, &workflows).await else {
        return;
    };
    let operator = key_with_role(&app, "bulky", "operator");
    let viewer = key_with_role(&app, "looker", "viewer");
    let (_, key) = app.merchant("Bulk");
    let (payment, _) = app.paid_payment(&key, "bulk", "1000").await;
    let mut refunds = Vec::new();
    for n in 0..3 {
        let refund = app.refund(&key, &format!("b-{n}"), &payment, "USD", "10").await;
        refunds.push(refund["data"]["createRefund"]["id"].as_str().unwrap().to_string());
    }
    wait_for("3 refunds parked", Duration::from_secs(30), || async {
        parked_refunds(&app).await == 3
    })
    .await;

    let parked = json!({ "kind": "refund", "needsAttention": true });
    assert_eq!(
        preview(&app, &viewer, parked.clone()).await["data"]["bulkPreview"],
        3
    );
    let start = |key: String, filter: Value, action: &'static str, note: &'static str| {
        let app = &app;
        async move {
            app.gql(
                Some(&key),
                START,
                json!({ "filter": filter, "action": action, "note": note }),
            )
            .await
        }
    };
    let refused = start(viewer.clone(), parked.clone(), "RETRY", "go").await;
    assert_eq!(
        refused["errors"][0]["extensions"]["code"], "FORBIDDEN",
        "{refused}"
    );
    let no_note = start(operator.clone(), parked.clone(), "RETRY", " ").await;
    assert_eq!(no_note["errors"][0]["extensions"]["field"], "note", "{no_note}");
    let unknown = start(operator.clone(), parked.clone(), "DELETE", "go").await;
    assert_eq!(unknown["errors"][0]["extensions"]["field"], "action", "{unknown}");

    let started = start(operator.clone(), parked, "RETRY", "Alipay+ is back").await;
    let started = &started["data"]["startBulkAction"];
    assert_eq!(started["total"], 3, "{started}");
    let id = started["id"].as_str().unwrap().to_string();
    let done = finished(&app, &viewer, &id).await;
    assert_eq!(
        (&done["done"], &done["failed"], &done["operator"], &done["note"]),
        (&json!(3), &json!(0), &json!("bulky"), &json!("Alipay+ is back")),
        "{done}"
    );
    for refund in &refunds {
        let read = app
            .gql(
                Some(&viewer),
                "query($id: ID!) { workflow(id: $id) { history { event actor detail } } }",
                json!({ "id": refund }),
            )
            .await;
        let retries: Vec<Value> = read["data"]["workflow"]["history"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|row| row["event"] == "operator_retry")
            .cloned()
            .collect();
        assert_eq!(retries.len(), 1, "{read}");
        assert_eq!(retries[0]["actor"], "admin:bulky");
        let detail: Value = serde_json::from_str(retries[0]["detail"].as_str().unwrap()).unwrap();
        assert_eq!(
            (&detail["note"], &detail["bulkActionId"]),
            (&json!("Alipay+ is back"), &json!(id)),
            "{detail}"
        );
    }

    // A finished payment has nothing to retry: the item fails with why, and is not retried.
    let finished_payments = json!({ "kind": "payment", "state": "succeeded" });
    assert_eq!(
        preview(&app, &viewer, finished_payments.clone()).await["data"]["bulkPreview"],
        1
    );
    let second = start(operator.clone(), finished_payments, "RETRY", "try them all").await;
    let second_id = second["data"]["startBulkAction"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let failed = finished(&app, &viewer, &second_id).await;
    assert_eq!(
        (&failed["done"], &failed["failed"]),
        (&json!(0), &json!(1)),
        "{failed}"
    );
    assert_eq!(failed["failures"][0]["workflowId"], payment.as_str());
    assert!(
        failed["failures"][0]["error"]
            .as_str()
            .unwrap()
            .contains("finished"),
        "{failed}"
    );

    // Both are in the activity log, newest first, with the operator's role and note.
    let activity = app
        .gql(
            Some(&viewer),
            "{ operatorActivity(operator: \"bulky\") { edges { node { operator role action kind objectIds note } } } }",
            json!({}),
        )
        .await;
    let nodes: Vec<&Value> = activity["data"]["operatorActivity"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|edge| &edge["node"])
        .collect();
    assert_eq!(nodes.len(), 2, "{activity}");
    assert_eq!(
        (
            &nodes[0]["action"],
            &nodes[0]["role"],
            &nodes[0]["kind"],
            &nodes[0]["objectIds"]
        ),
        (
            &json!("startBulkAction"),
            &json!("OPERATOR"),
            &json!("payment"),
            &json!([second_id])
        ),
        "{activity}"
    );
    assert_eq!(
        (&nodes[1]["kind"], &nodes[1]["note"]),
        (&json!("refund"), &json!("Alipay+ is back"))
    );
    let lines = app.plusflow_lines(&["admin", "activity", "--operator", "bulky", "--json"]);
    let actions: Vec<&Value> = lines.iter().map(|line| &line["action"]).collect();
    assert_eq!(
        actions,
        [&json!("startBulkAction"), &json!("startBulkAction")],
        "{lines:#?}"
    );
    let created = app.plusflow_lines(&["admin", "activity", "--operator", "command-line", "--json"]);
    assert!(
        created
            .iter()
            .any(|line| line["action"] == "admin key create" && line["objectIds"] == json!(["bulky"])),
        "{created:#?}"
    );
}

/// The 500 refunds, each retried once by bulk action `id`: one `operator_retry` history row
/// each, naming the action.
async fn retries_by_refund(app: &App, id: &str) -> Vec<i64> {
    let rows = app
        .engine
        .db
        .query_all_raw(Statement::from_string(
            app.engine.db.get_database_backend(),
            "SELECT i.id, (SELECT COUNT(*) FROM workflow_history h WHERE h.instance_id = i.id \
             AND h.event = 'operator_retry') FROM workflow_instances i WHERE i.kind = 'refund'",
        ))
        .await
        .unwrap();
    let named = app
        .engine
        .db
        .query_one_raw(Statement::from_string(
            app.engine.db.get_database_backend(),
            format!("SELECT COUNT(*) FROM workflow_history WHERE event = 'operator_retry' AND CAST(detail AS TEXT) LIKE '%{id}%'"),
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get_by_index::<i64>(0)
        .unwrap();
    assert_eq!(named, rows.len() as i64, "every retry names the bulk action");
    rows.iter()
        .map(|row| row.try_get_by_index::<i64>(1).unwrap())
        .collect()
}

async fn a_bulk_retry_of_500_parked_refunds_survives_a_sigkill_mid_batch(backend: Backend) {
    const REFUNDS: usize = 500;
    let workflows = quickly_parking_workflows();
    let Some(mut app) = spawn_parking_refunds(backend, &workflows).await else {
        return;
    };
    let (_, key) = app.merchant("Many refunds");
    let (payment, _) = app.paid_payment(&key, "many", "100000").await;
    for n in 0..REFUNDS {
        let refund = app.refund(&key, &format!("m-{n}"), &payment, "USD", "1").await;
        assert!(refund["errors"].is_null(), "{refund}");
    }
    wait_for("500 refunds parked", Duration::from_secs(180), || async {
        parked_refunds(&app).await == REFUNDS as i64
    })
    .await;

    // From here on a `plusflow serve` process does the work, and is killed mid-batch.
    app.stop_serving().await;
    let mut serving = app.env.spawn("all");
    let api = format!("{}/graphql", serving.api.clone().unwrap());
    let started: Value = app
        .http
        .post(&api)
        .bearer_auth(ADMIN_KEY)
        .json(&json!({ "query": START, "variables": {
            "filter": { "kind": "refund", "needsAttention": true },
            "action": "RETRY", "note": "Alipay+ answers refunds again",
        } }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let started = &started["data"]["startBulkAction"];
    assert_eq!(started["total"], REFUNDS, "{started}");
    let id: uuid::Uuid = started["id"].as_str().unwrap().parse().unwrap();
    let progress = || async {
        plusflow::kinds::bulk_action::rows::get(&app.engine.db, id)
            .await
            .unwrap()
            .unwrap()
    };
    wait_for("the first items done", Duration::from_secs(60), || async {
        let now = progress().await;
        now.done + now.failed > 0
    })
    .await;
    serving.kill();
    let at_kill = progress().await;
    assert!(
        (at_kill.done as usize) < REFUNDS && at_kill.status == bulk_action::STATUS_RUNNING,
        "the process was killed mid-batch: {at_kill:?}"
    );

    let _worker = app.env.spawn("worker");
    let end = poll_until("the bulk action to finish", Duration::from_secs(120), || async {
        let now = progress().await;
        (now.status == bulk_action::STATUS_FINISHED).then_some(now)
    })
    .await;
    assert_eq!((end.done, end.failed), (REFUNDS as i32, 0), "{end:?}");
    let retries = retries_by_refund(&app, &id.to_string()).await;
    assert_eq!(retries.len(), REFUNDS);
    assert!(
        retries.iter().all(|&n| n == 1),
        "each refund retried exactly once: {retries:?}"
    );
}
