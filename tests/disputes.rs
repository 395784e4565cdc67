//! Disputes over real HTTP, on SQLite and on PostgreSQL + Redis: Alipay+ (the simulator) raises
//! a retrieval, the merchant is told by webhook, answers, and the simulator's ledger holds the
//! answer; an initiation beyond Alipay+'s limits as we count them (one open at a time, five
//! retrievals a payment) is acknowledged, recorded and shown to operators; a duplicated or replayed initiation changes nothing and the same id for another payment
//! is REPEAT_REQ_INCONSISTENT; a dispute whose deadline has passed expires, parked for an
//! operator, and can no longer be answered; merchant B sees none of A's disputes; an escalation
//! accepted in part refunds the payment through the refund workflow, and refunds and dispute
//! refunds together never exceed the paid amount.

mod common;

use std::time::Duration;

use chrono::Utc;
use plusflow::alipayplus::signing::timestamp;
use plusflow::clock::ManualClock;
use serde_json::{Value, json};

use common::app::*;
use common::subscriptions::Subscription;
use common::webhooks::WebhookReceiver;
use common::{Backend, poll_until, wait_for};

on_each_backend!(
    a_retrieval_raised_by_alipayplus_is_answered_and_the_simulator_holds_the_answer,
    initiations_beyond_alipayplus_limits_are_acknowledged_and_shown_to_operators,
    an_escalation_we_would_not_expect_is_acknowledged_and_shown_to_operators,
    a_retrieval_answer_carries_our_receipt_and_the_documents_and_keeps_remarks_as_a_note,
    a_duplicated_or_replayed_initiation_changes_nothing,
    a_dispute_past_its_deadline_expires_for_an_operator_and_cannot_be_answered,
    an_escalation_is_refused_with_remarks_and_merchant_b_sees_none_of_it,
    an_escalation_accepted_in_part_refunds_through_the_refund_workflow_within_the_paid_amount,
);

const DISPUTE: &str = "id disputeRequestId kind status reason respondBy escalationAmount { currency value } \
    payment { id } workflow { state needsAttention attentionReason }";

async fn disputes_of(app: &App, key: &str, payment: &str) -> Value {
    let query = format!("query($id: ID!) {{ payment(id: $id) {{ disputes {{ {DISPUTE} }} }} }}");
    app.gql(Some(key), &query, json!({ "id": payment })).await["data"]["payment"]["disputes"].clone()
}

async fn wait_dispute_status(app: &App, key: &str, payment: &str, status: &str) -> Value {
    poll_until(
        &format!("the dispute to be {status}"),
        Duration::from_secs(30),
        || async {
            let disputes = disputes_of(app, key, payment).await;
            (disputes[0]["status"] == status).then(|| disputes[0].clone())
        },
    )
    .await
}

/// Initiates a dispute as Alipay+ does (signed with its key) straight to plusflow: the answer.
async fn initiate(app: &App, api: &str, body: Value) -> Value {
    let time = timestamp(Utc::now());
    let response = signed_call(
        app,
        &format!("/alipayplus/{api}"),
        "",
        &time,
        serde_json::to_vec(&body).unwrap(),
    )
    .await;
    response.json().await.unwrap()
}

/// The operators' stuck list of disputes.
async fn stuck_disputes(app: &App) -> Value {
    app.gql(
        Some(ADMIN_KEY),
        "{ workflows(filter: {needsAttention: true, kind: \"dispute\"}) { edges { node { id attentionReason } } } }",
        json!({}),
    )
    .await
}

async fn respond_to_retrieval(app: &App, key: &str, dispute: &str, idempotency_key: &str) -> Value {
    app.respond_to_retrieval(key, dispute, idempotency_key, DISPUTE)
        .await
}

async fn a_retrieval_raised_by_alipayplus_is_answered_and_the_simulator_holds_the_answer(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let webhooks = WebhookReceiver::accepting().await;
    let merchant = app.create_merchant(&["--name", "Disputed", "--webhook-url", &webhooks.url]);
    let key = merchant["apiKey"].as_str().unwrap().to_string();
    let (payment, request_id) = app.paid_payment(&key, "disputed", "1250").await;
    raise(
        &app,
        &request_id,
        json!({ "kind": "RETRIEVAL", "disputeRequestId": "dsp-r-1" }),
    )
    .await;
    let dispute = wait_dispute_status(&app, &key, &payment, "NEEDS_RESPONSE").await;
    assert_eq!(dispute["kind"], "RETRIEVAL");
    assert_eq!(dispute["disputeRequestId"], "dsp-r-1");
    assert_eq!(dispute["reason"], "TRANSACTION_RECEIPT");
    let respond_by = chrono::DateTime::parse_from_rfc3339(dispute["respondBy"].as_str().unwrap()).unwrap();
    let days = (respond_by.with_timezone(&Utc) - Utc::now()).num_hours();
    assert!((479..=480).contains(&days), "20 days to answer: {days} h");
    wait_for("the dispute.created webhook", Duration::from_secs(30), || async {
        webhooks
            .bodies()
            .iter()
            .any(|body| body["type"] == "dispute.created")
    })
    .await;
    let ledger = app.ledger().await;
    assert_eq!(
        ledger["disputes"]["dsp-r-1"]["initiateAnswer"], "S SUCCESS",
        "{ledger:#}"
    );

    let id = dispute["id"].as_str().unwrap();
    let mut updates = Subscription::open(
        &(app.base.replace("http://", "ws://") + "/graphql/ws"),
        &key,
        "subscription($id: ID!) { disputeUpdated(id: $id) { status } }",
        json!({ "id": id }),
    )
    .await;
    assert_eq!(updates.next().await["disputeUpdated"]["status"], "NEEDS_RESPONSE");
    let answered = respond_to_retrieval(&app, &key, id, "answer-1").await;
    assert!(answered["errors"].is_null(), "{answered}");
    let mut seen = vec![];
    while seen.last() != Some(&"RESPONDED".to_string()) {
        seen.push(
            updates.next().await["disputeUpdated"]["status"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    // RESPONDING may be passed before the subscriber reads it; nothing else comes between.
    assert!(
        seen.iter()
            .all(|status| status == "RESPONDING" || status == "RESPONDED"),
        "{seen:?}"
    );
    let responses = app.ledger().await["disputes"]["dsp-r-1"]["responses"].clone();
    assert_eq!(responses.as_array().unwrap().len(), 1, "{responses:#}");
    assert_eq!(responses[0]["responseCode"], "0001");
    assert_eq!(
        responses[0]["otherDocumentation"][0]["attachmentType"],
        "TRANSACTION_RECEIPT"
    );
    // The same request again is the same answer; another one is refused.
    let again = respond_to_retrieval(&app, &key, id, "answer-1").await;
    assert!(again["errors"].is_null(), "{again}");
    let twice = respond_to_retrieval(&app, &key, id, "answer-2").await;
    assert_eq!(
        twice["errors"][0]["extensions"]["code"], "ALREADY_RESPONDED",
        "{twice}"
    );
    assert_eq!(
        app.ledger().await["disputes"]["dsp-r-1"]["responses"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    wait_for("the dispute.updated webhook", Duration::from_secs(30), || async {
        webhooks
            .bodies()
            .iter()
            .any(|body| body["type"] == "dispute.updated" && body["dispute"]["status"] == "RESPONDED")
    })
    .await;
}

async fn raise(app: &App, payment_request_id: &str, body: Value) -> String {
    app.raise_dispute(payment_request_id, body).await
}

async fn initiations_beyond_alipayplus_limits_are_acknowledged_and_shown_to_operators(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let (_, key) = app.merchant("Limits");
    let (payment, request_id) = app.paid_payment(&key, "limits", "1000").await;
    let retrieval = |n: usize| json!({ "kind": "RETRIEVAL", "disputeRequestId": format!("lim-{n}") });
    for n in 1..=5 {
        raise(&app, &request_id, retrieval(n)).await;
        let open = poll_until("the retrieval", Duration::from_secs(30), || async {
            let disputes = disputes_of(&app, &key, &payment).await;
            (disputes.as_array().unwrap().len() == n).then(|| disputes[n - 1].clone())
        })
        .await;
        assert_eq!(
            open["workflow"]["needsAttention"], false,
            "within the limits: {open}"
        );
        respond_to_retrieval(&app, &key, open["id"].as_str().unwrap(), &format!("k{n}")).await;
        wait_for("the retrieval answered", Duration::from_secs(30), || async {
            disputes_of(&app, &key, &payment)
                .await
                .as_array()
                .unwrap()
                .iter()
                .all(|d| d["status"] == "RESPONDED")
        })
        .await;
    }
    // A sixth retrieval (Alipay+ counts none that was cancelled, and we are never told of a
    // cancelled one): acknowledged, recorded, answerable, and shown to operators.
    raise(&app, &request_id, retrieval(6)).await;
    let answer = poll_until(
        "the sixth retrieval's answer",
        Duration::from_secs(30),
        || async {
            let answer = app.ledger().await["disputes"]["lim-6"]["initiateAnswer"].clone();
            answer.as_str().map(str::to_string)
        },
    )
    .await;
    assert_eq!(answer, "S SUCCESS", "the sixth is acknowledged");
    let disputes = disputes_of(&app, &key, &payment).await;
    let sixth = &disputes[5];
    assert_eq!(
        (&sixth["disputeRequestId"], &sixth["status"]),
        (&json!("lim-6"), &json!("NEEDS_RESPONSE"))
    );
    assert_eq!(sixth["workflow"]["needsAttention"], true, "{sixth}");
    assert_eq!(
        sixth["workflow"]["attentionReason"],
        Value::Null,
        "operators only"
    );
    let reason = app.reason(sixth["id"].as_str().unwrap()).await;
    assert!(reason.contains("at most 5 retrievals"), "{reason}");
    // One more while the sixth is open: acknowledged too, flagged as a second open one.
    let second_open = initiate(
        &app,
        "initiateRetrieval",
        json!({ "disputeRequestId": "lim-open", "paymentRequestId": request_id }),
    )
    .await;
    assert_eq!(second_open["result"]["resultStatus"], "S", "{second_open}");
    let stuck = stuck_disputes(&app).await;
    let reasons: Vec<&str> = stuck["data"]["workflows"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|edge| edge["node"]["attentionReason"].as_str().unwrap())
        .collect();
    assert_eq!(reasons.len(), 2, "{stuck}");
    assert!(reasons.iter().any(|r| r.contains("still open")), "{reasons:?}");
    // The flagged dispute is answered as any other; the answer clears the flag.
    respond_to_retrieval(&app, &key, sixth["id"].as_str().unwrap(), "k6").await;
    let answered = poll_until("the sixth answered", Duration::from_secs(30), || async {
        let disputes = disputes_of(&app, &key, &payment).await;
        (disputes[5]["status"] == "RESPONDED").then(|| disputes[5].clone())
    })
    .await;
    assert_eq!(answered["workflow"]["needsAttention"], false, "{answered}");
    assert_eq!(
        app.ledger().await["disputes"]["lim-6"]["responses"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    // Nothing is opened about a payment that is not ours.
    let stranger = initiate(
        &app,
        "initiateRetrieval",
        json!({ "disputeRequestId": "x", "paymentRequestId": "nope" }),
    )
    .await;
    assert_eq!(stranger["result"]["resultCode"], "ORDER_NOT_EXIST", "{stranger}");
}

async fn a_duplicated_or_replayed_initiation_changes_nothing(backend: Backend) {
    use plusflow::kinds::dispute::entity as dispute;
    use sea_orm::{EntityTrait, PaginatorTrait};
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let (_, key) = app.merchant("Dup");
    let (payment, request_id) = app.paid_payment(&key, "dup", "1000").await;
    let (_, other_request) = app.paid_payment(&key, "dup-other", "1000").await;
    let body = json!({ "disputeRequestId": "dup-1", "paymentRequestId": request_id,
                       "escalationAmount": { "currency": "USD", "value": "400" } });
    for _ in 0..3 {
        let answer = initiate(&app, "initiateEscalation", body.clone()).await;
        assert_eq!(answer["result"]["resultStatus"], "S", "{answer}");
    }
    let moved = json!({ "disputeRequestId": "dup-1", "paymentRequestId": other_request });
    let inconsistent = initiate(&app, "initiateEscalation", moved).await;
    assert_eq!(
        inconsistent["result"]["resultCode"], "REPEAT_REQ_INCONSISTENT",
        "{inconsistent}"
    );
    assert_eq!(dispute::Entity::find().count(&app.engine.db).await.unwrap(), 1);
    let disputes = disputes_of(&app, &key, &payment).await;
    assert_eq!(disputes.as_array().unwrap().len(), 1);
    assert_eq!(
        disputes[0]["escalationAmount"],
        json!({ "currency": "USD", "value": "400" })
    );
    let days = (chrono::DateTime::parse_from_rfc3339(disputes[0]["respondBy"].as_str().unwrap())
        .unwrap()
        .with_timezone(&Utc)
        - Utc::now())
    .num_hours();
    assert!((239..=240).contains(&days), "10 days for an escalation: {days} h");
}

async fn a_dispute_past_its_deadline_expires_for_an_operator_and_cannot_be_answered(backend: Backend) {
    let clock = ManualClock::starting_at(Utc::now());
    let setup = Setup {
        engine_clock: Some(clock.clone()),
        ..Setup::default()
    };
    let Some(app) = spawn_app_with(backend, setup).await else {
        return;
    };
    let webhooks = WebhookReceiver::accepting().await;
    let merchant = app.create_merchant(&["--name", "Late", "--webhook-url", &webhooks.url]);
    let (merchant_id, key) = (
        merchant["id"].as_str().unwrap().to_string(),
        merchant["apiKey"].as_str().unwrap().to_string(),
    );
    let (payment, request_id) = app.paid_payment(&key, "late", "1000").await;
    raise(&app, &request_id, json!({ "kind": "RETRIEVAL" })).await;
    let open = wait_dispute_status(&app, &key, &payment, "NEEDS_RESPONSE").await;
    // Operators see the deadline on the workflow.
    let dispute_id = open["id"].clone();
    let workflow = || async {
        app.gql(
            Some(ADMIN_KEY),
            "query($id: ID!) { workflow(id: $id) { state deadline needsAttention } }",
            json!({ "id": dispute_id }),
        )
        .await["data"]["workflow"]
            .clone()
    };
    let seen = workflow().await;
    assert_eq!(seen["deadline"], open["respondBy"], "{seen}");

    // 80% of the 20 days: the merchant is reminded, and may still answer.
    clock.advance(Duration::from_secs(16 * 86_400 + 60));
    app.engine.wake_relay();
    wait_for("the reminder", Duration::from_secs(30), || async {
        workflow().await["state"] == "reminded"
    })
    .await;
    wait_for("the reminder webhook", Duration::from_secs(30), || async {
        webhooks
            .bodies()
            .iter()
            .any(|body| body["type"] == "dispute.updated" && body["dispute"]["status"] == "NEEDS_RESPONSE")
    })
    .await;
    assert_eq!(
        disputes_of(&app, &key, &payment).await[0]["status"],
        "NEEDS_RESPONSE"
    );
    // Past the deadline: expired, parked for an operator.
    clock.advance(Duration::from_secs(4 * 86_400));
    app.engine.wake_relay();
    let expired = wait_dispute_status(&app, &key, &payment, "EXPIRED").await;
    assert_eq!(expired["workflow"]["state"], "expired");
    assert_eq!(expired["workflow"]["needsAttention"], true, "{expired}");
    // The operator still sees the deadline it missed.
    let seen = workflow().await;
    assert_eq!(seen["deadline"], open["respondBy"], "{seen}");
    let refused = respond_to_retrieval(&app, &key, expired["id"].as_str().unwrap(), "too-late").await;
    assert_eq!(
        refused["errors"][0]["extensions"]["code"], "DISPUTE_EXPIRED",
        "{refused}"
    );
    let stuck = stuck_disputes(&app).await;
    let node = &stuck["data"]["workflows"]["edges"][0]["node"];
    assert_eq!(node["id"], expired["id"], "{stuck}");
    assert!(node["attentionReason"].as_str().unwrap().contains("deadline"));
    // The stuck list's merchant filter finds the merchant's disputes too.
    let by_merchant = app
        .gql(
            Some(ADMIN_KEY),
            "query($m: ID!) { workflows(filter: {needsAttention: true, merchantId: $m}) { edges { node { id kind } } } }",
            json!({ "m": merchant_id }),
        )
        .await;
    assert_eq!(
        by_merchant["data"]["workflows"]["edges"][0]["node"]["kind"], "dispute",
        "{by_merchant}"
    );
}

async fn an_escalation_is_refused_with_remarks_and_merchant_b_sees_none_of_it(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let (_, a) = app.merchant("A");
    let (_, b) = app.merchant("B");
    let (payment, request_id) = app.paid_payment(&a, "esc", "1000").await;
    let raised = raise(
        &app,
        &request_id,
        json!({ "kind": "ESCALATION", "amount": { "currency": "USD", "value": "1000" } }),
    )
    .await;
    let dispute = wait_dispute_status(&app, &a, &payment, "NEEDS_RESPONSE").await;
    let id = dispute["id"].as_str().unwrap();
    // B sees nothing of it and cannot answer it.
    let seen = app
        .gql(
            Some(&b),
            "query($id: ID!) { dispute(id: $id) { id } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(seen["data"]["dispute"], Value::Null, "{seen}");
    let listed = app
        .gql(Some(&b), "{ disputes { edges { node { id } } } }", json!({}))
        .await;
    assert_eq!(listed["data"]["disputes"]["edges"], json!([]), "{listed}");
    let refuse = "mutation($input: RespondToEscalationInput!, $key: String!) { respondToEscalation(input: $input, idempotencyKey: $key) { status } }";
    let input = json!({ "disputeId": id, "decision": "REFUSE_REFUND", "remarks": "delivered, signed for" });
    let by_b = app
        .gql(Some(&b), refuse, json!({ "key": "k", "input": input }))
        .await;
    assert_eq!(by_b["errors"][0]["extensions"]["code"], "NOT_FOUND", "{by_b}");
    let by_a = app
        .gql(Some(&a), refuse, json!({ "key": "k", "input": input }))
        .await;
    assert!(by_a["errors"].is_null(), "{by_a}");
    wait_dispute_status(&app, &a, &payment, "RESPONDED").await;
    let response = &app.ledger().await["disputes"][&raised]["responses"][0];
    assert_eq!(response["refundType"], "REFUSE_REFUND", "{response}");
    assert_eq!(response["remarks"], "delivered, signed for");
    let mine = app
        .gql(
            Some(&a),
            "{ disputes { edges { node { id kind status } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        mine["data"]["disputes"]["edges"][0]["node"]["kind"], "ESCALATION",
        "{mine}"
    );
    let by_status = |status: &'static str| {
        app.gql(
            Some(&a),
            "query($s: DisputeStatus) { disputes(status: $s) { edges { node { id } } } }",
            json!({ "s": status }),
        )
    };
    let responded = by_status("RESPONDED").await;
    assert_eq!(
        responded["data"]["disputes"]["edges"][0]["node"]["id"], id,
        "{responded}"
    );
    let waiting = by_status("NEEDS_RESPONSE").await;
    assert_eq!(waiting["data"]["disputes"]["edges"], json!([]), "{waiting}");
}

async fn an_escalation_accepted_in_part_refunds_through_the_refund_workflow_within_the_paid_amount(
    backend: Backend,
) {
    let setup = Setup {
        extra_config: "[disputes]\nescalation_response_window = \"5days\"\n",
        ..Setup::default()
    };
    let Some(app) = spawn_app_with(backend, setup).await else {
        return;
    };
    let (_, key) = app.merchant("Accepting");
    let (payment, request_id) = app.paid_payment(&key, "accepted", "1000").await;
    let refunded = app.refund(&key, "r-1", &payment, "USD", "700").await;
    assert!(refunded["errors"].is_null(), "{refunded}");
    let raised = raise(
        &app,
        &request_id,
        json!({ "kind": "ESCALATION", "amount": { "currency": "USD", "value": "500" } }),
    )
    .await;
    let dispute = wait_dispute_status(&app, &key, &payment, "NEEDS_RESPONSE").await;
    let respond_by = chrono::DateTime::parse_from_rfc3339(dispute["respondBy"].as_str().unwrap()).unwrap();
    let hours = (respond_by.with_timezone(&Utc) - Utc::now()).num_hours();
    assert!((119..=120).contains(&hours), "the configured 5 days: {hours} h");
    let accept = |value: &str, decision: &str| {
        json!({ "disputeId": dispute["id"], "decision": decision,
                "refundAmount": { "currency": "USD", "value": value }, "remarks": "partly damaged" })
    };
    let mutation = "mutation($input: RespondToEscalationInput!, $key: String!) { respondToEscalation(input: $input, idempotencyKey: $key) \
                    { status refund { id status amount { value } } } }";
    let answer = |input: Value, idempotency_key: &'static str| {
        app.gql(
            Some(&key),
            mutation,
            json!({ "input": input, "key": idempotency_key }),
        )
    };
    // 700 refunded already: 400 more would take 1100 of 1000.
    let over = answer(accept("400", "ACCEPT_PARTIAL_REFUND"), "a-1").await;
    assert_eq!(
        over["errors"][0]["extensions"]["code"], "REFUND_EXCEEDS_REFUNDABLE",
        "{over}"
    );
    // Over the escalation amount, or a "full" refund of another amount: refused as input.
    for (value, decision) in [("600", "ACCEPT_PARTIAL_REFUND"), ("300", "ACCEPT_REFUND")] {
        let invalid = answer(accept(value, decision), "a-2").await;
        assert_eq!(
            invalid["errors"][0]["extensions"]["code"], "VALIDATION",
            "{invalid}"
        );
    }
    assert!(
        app.ledger().await["disputes"][&raised]["responses"]
            .as_array()
            .unwrap()
            .is_empty(),
        "nothing refused was sent"
    );
    assert_eq!(
        disputes_of(&app, &key, &payment).await[0]["status"],
        "NEEDS_RESPONSE"
    );
    let accepted = answer(accept("300", "ACCEPT_PARTIAL_REFUND"), "a-3").await;
    assert!(accepted["errors"].is_null(), "{accepted}");
    let refund_id = accepted["data"]["respondToEscalation"]["refund"]["id"].clone();
    assert_eq!(
        accepted["data"]["respondToEscalation"]["refund"]["amount"]["value"],
        "300"
    );
    wait_dispute_status(&app, &key, &payment, "RESPONDED").await;
    let settled = app.settled_refunds(&key, &payment).await;
    let refunds = settled["refunds"].as_array().unwrap();
    let dispute_refund = refunds.iter().find(|r| r["id"] == refund_id).unwrap();
    assert_eq!(dispute_refund["status"], "SUCCEEDED", "{settled:#}");
    assert_eq!(settled["refundedAmount"]["value"], "1000");
    assert_eq!(settled["refundableAmount"]["value"], "0");
    let ledger = app.ledger().await;
    let response = &ledger["disputes"][&raised]["responses"][0];
    assert_eq!(response["refundType"], "ACCEPT_PARTIAL_REFUND", "{response}");
    assert_eq!(
        response["refundAmount"],
        json!({ "currency": "USD", "value": "300" })
    );
    assert!(response["plannedRefundTime"].is_string());
    // The same answer again is the same dispute and the same refund; a createRefund now finds
    // nothing left.
    let again = answer(accept("300", "ACCEPT_PARTIAL_REFUND"), "a-3").await;
    assert_eq!(
        again["data"]["respondToEscalation"]["refund"]["id"], refund_id,
        "{again}"
    );
    let more = app.refund(&key, "r-2", &payment, "USD", "1").await;
    assert_eq!(
        more["errors"][0]["extensions"]["code"], "REFUND_EXCEEDS_REFUNDABLE",
        "{more}"
    );
    let shown = disputes_of(&app, &key, &payment).await;
    assert_eq!(shown.as_array().unwrap().len(), 1);
}

/// An escalation about a payment that has not succeeded here, in another currency than the
/// payment's: Alipay+ decided to send it, so it is recorded and answered S, and an operator looks.
async fn an_escalation_we_would_not_expect_is_acknowledged_and_shown_to_operators(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let (_, key) = app.merchant("Unexpected");
    let (payment, request_id) = awaiting_payment(&app, &key, "unexpected", 599).await;
    let answer = initiate(
        &app,
        "initiateEscalation",
        json!({ "disputeRequestId": "odd-1", "paymentRequestId": request_id,
                "escalationAmount": { "currency": "KRW", "value": "13500" } }),
    )
    .await;
    assert_eq!(answer["result"]["resultStatus"], "S", "{answer}");
    let disputes = disputes_of(&app, &key, &payment).await;
    let escalation = &disputes[0];
    assert_eq!(escalation["status"], "NEEDS_RESPONSE", "{disputes}");
    assert_eq!(
        escalation["escalationAmount"],
        json!({ "currency": "KRW", "value": "13500" })
    );
    assert_eq!(escalation["workflow"]["needsAttention"], true);
    let reason = app.reason(escalation["id"].as_str().unwrap()).await;
    assert!(
        reason.contains("not succeeded") && reason.contains("KRW"),
        "{reason}"
    );
    // The same id with another amount is not the same initiation.
    let changed = initiate(
        &app,
        "initiateEscalation",
        json!({ "disputeRequestId": "odd-1", "paymentRequestId": request_id,
                "escalationAmount": { "currency": "KRW", "value": "1" } }),
    )
    .await;
    assert_eq!(
        changed["result"]["resultCode"], "REPEAT_REQ_INCONSISTENT",
        "{changed}"
    );
}

/// A retrieval asks for the transaction receipt; the merchant answers ALL_DOCUMENTS with a
/// delivery document and a remark but no receipt: Alipay+ receives the receipt of our records
/// (refunds included) and the document, and the remark stays ours.
async fn a_retrieval_answer_carries_our_receipt_and_the_documents_and_keeps_remarks_as_a_note(
    backend: Backend,
) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let (_, key) = app.merchant("Evidence");
    let (payment, request_id) = app.paid_payment(&key, "evidence", "1000").await;
    let refund = app.refund(&key, "r-1", &payment, "USD", "400").await;
    assert!(refund["errors"].is_null(), "{refund}");
    wait_for("the refund", Duration::from_secs(30), || async {
        app.refunds_of(&key, &payment).await["refundedAmount"]["value"] == "400"
    })
    .await;
    raise(
        &app,
        &request_id,
        json!({ "kind": "RETRIEVAL", "disputeRequestId": "ev-1" }),
    )
    .await;
    let dispute = wait_dispute_status(&app, &key, &payment, "NEEDS_RESPONSE").await;
    let answer = |documents: Value, idempotency_key: &str| {
        let input = json!({ "disputeId": dispute["id"], "responseCode": "ALL_DOCUMENTS",
            "remarks": "customer called, parcel signed for", "documents": documents });
        let (app, key, idempotency_key) = (&app, &key, idempotency_key.to_string());
        async move {
            app.gql(
                Some(key),
                "mutation($input: RespondToRetrievalInput!, $key: String!) { respondToRetrieval(input: $input, idempotencyKey: $key) { status } }",
                json!({ "input": input, "key": idempotency_key }),
            )
            .await
        }
    };
    let unreadable = answer(
        json!([{ "name": "pod.pdf", "type": "PROOF_OF_DELIVERY", "contentType": "application/pdf", "contentBase64": "%%%" }]),
        "bad",
    )
    .await;
    assert_eq!(
        unreadable["errors"][0]["extensions"]["code"], "VALIDATION",
        "{unreadable}"
    );
    assert!(
        unreadable["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("input.documents[0].contentBase64"),
        "{unreadable}"
    );
    let pdf = "JVBERi0xLjcK";
    let answered = answer(
        json!([{ "name": "pod.pdf", "type": "PROOF_OF_DELIVERY", "contentType": "application/pdf", "contentBase64": pdf }]),
        "good",
    )
    .await;
    assert!(answered["errors"].is_null(), "{answered}");
    let responded = wait_dispute_status(&app, &key, &payment, "RESPONDED").await;
    assert_eq!(responded["workflow"]["needsAttention"], false, "{responded}");
    let sent = app.ledger().await["disputes"]["ev-1"]["responses"][0].clone();
    assert_eq!(
        sent["transactionReceipt"],
        json!({ "referenceOrderId": "evidence", "orderAmount": { "currency": "USD", "value": "1000" },
                "orderStatus": "PARTIAL_REFUND" })
    );
    assert_eq!(
        sent["otherDocumentation"],
        json!([{ "attachmentName": "pod.pdf", "attachmentType": "PROOF_OF_DELIVERY",
                 "contentType": "application/pdf", "content": pdf }])
    );
    assert!(
        sent.get("remarks").is_none(),
        "not a field of responseRetrieval: {sent}"
    );
    let history = app
        .gql(
            Some(&key),
            "query($id: ID!) { dispute(id: $id) { workflow { history { event note } } } }",
            json!({ "id": dispute["id"] }),
        )
        .await;
    let notes: Vec<&Value> = history["data"]["dispute"]["workflow"]["history"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|h| h["event"] == "dispute_responded")
        .map(|h| &h["note"])
        .collect();
    assert_eq!(notes, [&json!("customer called, parcel signed for")], "{history}");
}
