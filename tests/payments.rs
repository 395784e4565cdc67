//! Accepting payments end to end, over real HTTP: a merchant's GraphQL calls, plusflow's
//! workers, the Alipay+ simulator (real signatures) and its notifications, on SQLite and on
//! PostgreSQL + Redis.

mod common;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use plusflow::cli::{Role, boot, start};
use plusflow::clock::SystemClock;
use plusflow::simulator::Chaos;
use serde_json::{Value, json};

use common::app::*;
use common::{Backend, poll_within, wait_for};
on_each_backend!(
    each_path_reaches_its_final_status_and_the_simulator_ledger_agrees,
    late_duplicate_and_reordered_notifications_change_nothing_and_are_recorded_as_ignored,
    create_payment_is_idempotent_even_under_concurrency,
    merchants_see_only_their_own_payments_and_need_a_key,
    bad_input_is_refused_with_the_field_named_and_nothing_stored,
    a_subscriber_sees_the_payment_succeed_even_through_another_api_process,
    merchants_get_signed_webhooks_for_each_status_retried_until_accepted,
    a_merchant_without_webhook_endpoints_costs_no_webhook_work,
    partial_refunds_stop_at_the_paid_amount_before_alipayplus_is_asked,
    concurrent_refunds_never_take_more_than_was_paid,
    refunds_succeed_through_unknown_answers_and_timeouts_once_each,
    refunds_of_unpaid_foreign_or_other_currency_payments_are_refused,
    a_payment_alipayplus_never_received_is_cancelled_only_after_no_pay_call_can_still_arrive,
    a_chaos_run_ends_with_every_record_agreeing_with_the_ledger,
);

async fn each_path_reaches_its_final_status_and_the_simulator_ledger_agrees(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let (_, key) = app.merchant("Cafe");
    let mut created = Vec::new();
    for (n, expires) in [(0, 599), (1, 599), (2, 599), (3, 3), (4, 599)] {
        let mut payment_input = input(&format!("order-{n}"), "1000");
        payment_input["expiresInSeconds"] = expires.into();
        let answer = app.create(&key, &format!("key-{n}"), payment_input).await;
        created.push(answer["data"]["createPayment"].clone());
    }
    let id = |n: usize| created[n]["id"].as_str().unwrap().to_string();
    let request_id = |n: usize| created[n]["paymentRequestId"].as_str().unwrap().to_string();
    for n in [0, 1, 2, 4] {
        let awaiting = app.wait_status(&key, &id(n), "AWAITING_CUSTOMER").await;
        assert!(awaiting["checkoutUrl"].as_str().unwrap().contains("/checkout/"));
    }

    app.complete(
        &request_id(0),
        json!({ "outcome": "SUCCESS", "wallet": "KAKAOPAY" }),
    )
    .await;
    app.complete(&request_id(1), json!({ "outcome": "SUCCESS", "notify": false }))
        .await;
    app.complete(
        &request_id(2),
        json!({ "outcome": "FAIL", "resultCode": "USER_BALANCE_NOT_ENOUGH" }),
    )
    .await;
    let cancel = app
        .gql(
            Some(&key),
            "mutation($id: ID!) { cancelPayment(id: $id) { id } }",
            json!({ "id": id(4) }),
        )
        .await;
    assert!(cancel["errors"].is_null(), "{cancel}");

    let by_notification = app.wait_status(&key, &id(0), "SUCCEEDED").await;
    assert_eq!(by_notification["walletBrandName"], "Kakao Pay");
    let events = |p: &Value| {
        p["workflow"]["history"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h["event"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    assert!(events(&by_notification).contains(&"notified_success".to_string()));
    let by_polling = app.wait_status(&key, &id(1), "SUCCEEDED").await;
    assert!(
        events(&by_polling).contains(&"inquiry_success".to_string()),
        "found by polling"
    );
    let declined = app.wait_status(&key, &id(2), "FAILED").await;
    assert_eq!(declined["failureCode"], "USER_BALANCE_NOT_ENOUGH");
    let expired = app.wait_status(&key, &id(3), "CANCELLED").await;
    assert!(events(&expired).contains(&"expired".to_string()));
    app.wait_status(&key, &id(4), "CANCELLED").await;

    let ledger = app.ledger().await;
    let entry = |n: usize| ledger["payments"][request_id(n)].clone();
    for n in 0..5 {
        assert_eq!(entry(n)["payCalls"], 1, "payment {n} charged once");
    }
    assert_eq!(
        (
            entry(0)["status"].as_str(),
            entry(0)["notificationsAcknowledged"].as_u64()
        ),
        (Some("SUCCEEDED"), Some(1))
    );
    assert_eq!(entry(1)["status"], "SUCCEEDED");
    assert_eq!(entry(2)["status"], "FAILED");
    for n in [3, 4] {
        assert_eq!(
            (entry(n)["status"].as_str(), entry(n)["cancelCount"].as_u64()),
            (Some("CANCELLED"), Some(1)),
            "payment {n}"
        );
    }
}

async fn late_duplicate_and_reordered_notifications_change_nothing_and_are_recorded_as_ignored(
    backend: Backend,
) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let (_, key) = app.merchant("Cafe");
    let paid = app.create(&key, "k-paid", input("paid", "1000")).await["data"]["createPayment"].clone();
    let cancelled =
        app.create(&key, "k-cancel", input("cancelled", "1000")).await["data"]["createPayment"].clone();
    let (paid_id, paid_request) = (
        paid["id"].as_str().unwrap(),
        paid["paymentRequestId"].as_str().unwrap(),
    );
    let (cancelled_id, cancelled_request) = (
        cancelled["id"].as_str().unwrap(),
        cancelled["paymentRequestId"].as_str().unwrap(),
    );
    app.wait_status(&key, paid_id, "AWAITING_CUSTOMER").await;
    app.complete(paid_request, json!({ "outcome": "SUCCESS" })).await;
    app.wait_status(&key, paid_id, "SUCCEEDED").await;
    app.wait_status(&key, cancelled_id, "AWAITING_CUSTOMER").await;
    app.gql(
        Some(&key),
        "mutation($id: ID!) { cancelPayment(id: $id) { id } }",
        json!({ "id": cancelled_id }),
    )
    .await;
    app.wait_status(&key, cancelled_id, "CANCELLED").await;

    for (request_id, status, code) in [
        (paid_request, "S", "SUCCESS"),         // duplicate
        (paid_request, "F", "ORDER_IS_CLOSED"), // reordered: a failure after the success
        (cancelled_request, "S", "SUCCESS"),    // late success after the cancel
    ] {
        let answer = send_notification(&app, request_id, status, code).await;
        assert_eq!(answer["result"]["resultStatus"], "S", "acknowledged: {answer}");
    }
    let paid = app.payment(&key, paid_id).await;
    let cancelled = app.payment(&key, cancelled_id).await;
    assert_eq!(
        (paid["status"].as_str(), cancelled["status"].as_str()),
        (Some("SUCCEEDED"), Some("CANCELLED"))
    );
    let ignored = |p: &Value, event: &str| {
        p["workflow"]["history"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|h| h["event"] == event && h["outcome"] == "IGNORED")
            .count()
    };
    assert!(ignored(&paid, "notified_success") >= 1, "{paid:#}");
    assert_eq!(ignored(&paid, "notified_failure"), 1);
    assert_eq!(ignored(&cancelled, "notified_success"), 1);
    let ledger = app.ledger().await;
    assert_eq!(ledger["payments"][cancelled_request]["status"], "CANCELLED");
    // Every notification is journaled once, whether it moved the payment or was ignored: the
    // simulator's success and the two sent here about one, the late success about the other.
    let journaled = |reference: &str| {
        use plusflow::store::entity::inbound;
        use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
        inbound::Entity::find()
            .filter(inbound::Column::Api.eq("notifyPayment"))
            .filter(inbound::Column::Reference.eq(reference))
            .count(&app.engine.db)
    };
    assert_eq!(
        (
            journaled(paid_request).await.unwrap(),
            journaled(cancelled_request).await.unwrap()
        ),
        (3, 1)
    );
}

async fn create_payment_is_idempotent_even_under_concurrency(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let (_, key) = app.merchant("Cafe");
    let first =
        app.create(&key, "same-key", input("o-1", "1000")).await["data"]["createPayment"]["id"].clone();
    let replay =
        app.create(&key, "same-key", input("o-1", "1000")).await["data"]["createPayment"]["id"].clone();
    assert_eq!(first, replay);
    let mismatch = app.create(&key, "same-key", input("o-1", "2000")).await;
    assert_eq!(
        mismatch["errors"][0]["extensions"]["code"],
        "IDEMPOTENCY_KEY_REUSED"
    );

    let app = Arc::new(app);
    let mut calls = tokio::task::JoinSet::new();
    for _ in 0..10 {
        let (app, key) = (app.clone(), key.clone());
        calls.spawn(async move { app.create(&key, "concurrent-key", input("o-2", "500")).await });
    }
    let mut ids = std::collections::HashSet::new();
    while let Some(answer) = calls.join_next().await {
        let answer = answer.unwrap();
        assert!(answer["errors"].is_null(), "{answer}");
        ids.insert(
            answer["data"]["createPayment"]["paymentRequestId"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    assert_eq!(ids.len(), 1, "ten identical requests, one payment");
    assert_eq!(app.payment_count().await, 2);
    let request_id = ids.into_iter().next().unwrap();
    wait_for(
        "the payment to reach Alipay+",
        Duration::from_secs(30),
        || async { app.ledger().await["payments"][&request_id]["payCalls"] == 1 },
    )
    .await;
    assert_eq!(
        app.ledger().await["payments"].as_object().unwrap().len(),
        2,
        "one pay per payment"
    );
}

async fn merchants_see_only_their_own_payments_and_need_a_key(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let (_, key_a) = app.merchant("A");
    let (_, key_b) = app.merchant("B");
    let id = app.create(&key_a, "k", input("a-1", "1000")).await["data"]["createPayment"]["id"].clone();
    let seen_by_b = app
        .gql(
            Some(&key_b),
            "query($id: ID!) { payment(id: $id) { id } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(seen_by_b["data"]["payment"], Value::Null);
    let list_b = app
        .gql(
            Some(&key_b),
            "{ payments(first: 10) { edges { node { id } } } }",
            json!({}),
        )
        .await;
    assert_eq!(list_b["data"]["payments"]["edges"].as_array().unwrap().len(), 0);
    let cancel_by_b = app
        .gql(
            Some(&key_b),
            "mutation($id: ID!) { cancelPayment(id: $id) { id } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(cancel_by_b["errors"][0]["extensions"]["code"], "NOT_FOUND");
    assert_eq!(
        app.payment(&key_a, id.as_str().unwrap()).await["workflow"]["state"]
            .as_str()
            .map(|s| s != "cancelling"),
        Some(true)
    );
    let admin = app
        .gql(
            Some(ADMIN_KEY),
            "query($id: ID!) { payment(id: $id) { id } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(admin["data"]["payment"]["id"], id, "the admin sees every payment");
    // A missing key and a key nobody has are both UNAUTHENTICATED, each saying which it is.
    for (key, says) in [
        (None, "send 'Authorization: Bearer <api key>'"),
        (Some("pk_wrong"), "the API key is unknown or revoked"),
    ] {
        let answer = app
            .gql(key, "{ payments { edges { node { id } } } }", json!({}))
            .await;
        assert_eq!(
            answer["errors"][0]["extensions"]["code"], "UNAUTHENTICATED",
            "{key:?}"
        );
        assert_eq!(answer["errors"][0]["message"], says, "{key:?}");
    }
}

async fn bad_input_is_refused_with_the_field_named_and_nothing_stored(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let (_, key) = app.merchant("Cafe");
    let with = |field: &str, value: Value| {
        let mut payment = input("bad", "1000");
        payment[field] = value;
        payment
    };
    let cases = [
        (
            with("amount", json!({ "currency": "USD", "value": "0" })),
            "amount.value",
        ),
        (
            with("amount", json!({ "currency": "USD", "value": "-5" })),
            "amount.value",
        ),
        (
            with("amount", json!({ "currency": "USD", "value": "12.5" })),
            "amount.value",
        ),
        (
            with(
                "amount",
                json!({ "currency": "USD", "value": "1234567890123456789" }),
            ),
            "amount.value",
        ),
        (
            with("amount", json!({ "currency": "XXX", "value": "100" })),
            "amount.currency",
        ),
        (
            with("amount", json!({ "currency": "JPY", "value": "10.50" })),
            "amount.value",
        ),
        (with("merchantOrderId", json!("x".repeat(65))), "merchantOrderId"),
        (with("expiresInSeconds", json!(601)), "expiresInSeconds"),
        (with("terminalType", json!("WAP")), "osType"),
        (with("terminalType", json!("APP")), "osType"),
        (with("redirectUrl", json!("not a url")), "redirectUrl"),
        // Two capitals, but no country or territory has them.
        (with("userRegion", json!("XX")), "userRegion"),
        (with("userRegion", json!("kr")), "userRegion"),
    ];
    for (n, (payment, field)) in cases.into_iter().enumerate() {
        let answer = app.create(&key, &format!("bad-{n}"), payment).await;
        let error = &answer["errors"][0];
        assert_eq!(
            (
                error["extensions"]["code"].as_str(),
                error["extensions"]["field"].as_str()
            ),
            (Some("VALIDATION"), Some(field)),
            "{answer}"
        );
    }
    let long_key = app.create(&key, &"k".repeat(256), input("ok", "100")).await;
    assert_eq!(long_key["errors"][0]["extensions"]["field"], "idempotencyKey");
    assert_eq!(app.payment_count().await, 0, "nothing stored");
    assert_eq!(
        app.ledger().await["payments"].as_object().unwrap().len(),
        0,
        "nothing sent"
    );
}

async fn a_subscriber_sees_the_payment_succeed_even_through_another_api_process(backend: Backend) {
    use common::subscriptions::Subscription;
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let (_, key) = app.merchant("Cafe");
    let created = app.create(&key, "k", input("sub", "1000")).await["data"]["createPayment"].clone();
    let (id, request_id) = (
        created["id"].as_str().unwrap(),
        created["paymentRequestId"].as_str().unwrap(),
    );
    app.wait_status(&key, id, "AWAITING_CUSTOMER").await;

    // With Redis, a second API process (its own engine) serves the subscription: the update
    // made by the first one's workers reaches it through Redis pub/sub.
    let second = match backend {
        Backend::PostgresRedis => {
            let config = app.env.config();
            let engine = boot(&config, Arc::new(SystemClock)).await.unwrap();
            Some(start(&config, engine, Role::Api).await.unwrap())
        }
        Backend::Sqlite => None,
    };
    let api = second
        .as_ref()
        .map(|r| format!("ws://{}/graphql/ws", r.api_address.unwrap()))
        .unwrap_or(app.base.replace("http://", "ws://") + "/graphql/ws");
    let query = "subscription($id: ID!) { paymentUpdated(id: $id) { id status } }";
    let mut updates = Subscription::open(&api, &key, query, json!({ "id": id })).await;
    let mut statuses = Vec::new();
    while statuses.last().map(String::as_str) != Some("SUCCEEDED") {
        let status = updates.next().await["paymentUpdated"]["status"]
            .as_str()
            .unwrap()
            .to_string();
        if status == "AWAITING_CUSTOMER" && statuses.is_empty() {
            app.complete(request_id, json!({ "outcome": "SUCCESS" })).await;
        }
        statuses.push(status);
    }
    assert_eq!(statuses, ["AWAITING_CUSTOMER", "SUCCEEDED"]);
    if let Some(second) = second {
        second.stop().await;
    }
}

async fn merchants_get_signed_webhooks_for_each_status_retried_until_accepted(backend: Backend) {
    use hmac::{Hmac, KeyInit, Mac};
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    // Refuses the first delivery (503), accepts the rest.
    let receiver = common::webhooks::WebhookReceiver::start(|n| (if n == 1 { 503 } else { 200 }, None)).await;
    let received = receiver.received.clone();
    let merchant = app.create_merchant(&["--name", "Hooked", "--webhook-url", &receiver.url]);
    let (key, secret) = (
        merchant["apiKey"].as_str().unwrap(),
        merchant["webhookSecret"].as_str().unwrap(),
    );
    let created = app.create(key, "k", input("hook", "1000")).await["data"]["createPayment"].clone();
    let (id, request_id) = (
        created["id"].as_str().unwrap(),
        created["paymentRequestId"].as_str().unwrap(),
    );
    let delivered = |status: &'static str| {
        let received = received.clone();
        move || {
            let received = received.clone();
            async move {
                received.lock().unwrap().iter().any(|(_, body)| {
                    serde_json::from_slice::<Value>(body).unwrap()["payment"]["status"] == status
                })
            }
        }
    };
    // Every event is delivered, in order: the refused AWAITING_CUSTOMER delivery is retried
    // and accepted, and the SUCCEEDED one waits for it.
    app.wait_status(key, id, "AWAITING_CUSTOMER").await;
    let awaiting_retried = || async {
        let received = received.lock().unwrap();
        let awaiting = received.iter().filter(|(_, body)| {
            serde_json::from_slice::<Value>(body).unwrap()["payment"]["status"] == "AWAITING_CUSTOMER"
        });
        awaiting.count() >= 2
    };
    wait_for(
        "the AWAITING_CUSTOMER webhook, refused once then retried",
        Duration::from_secs(30),
        awaiting_retried,
    )
    .await;
    app.complete(request_id, json!({ "outcome": "SUCCESS" })).await;
    app.wait_status(key, id, "SUCCEEDED").await;
    wait_for(
        "the SUCCEEDED webhook",
        Duration::from_secs(30),
        delivered("SUCCEEDED"),
    )
    .await;

    let received_log = received.clone();
    let received = received.lock().unwrap().clone();
    for (signature, body) in &received {
        let (t, v1) = signature.split_once(",v1=").unwrap();
        let t = t.strip_prefix("t=").unwrap();
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(format!("{t}.").as_bytes());
        mac.update(body);
        assert_eq!(
            hex::encode(mac.finalize().into_bytes()),
            v1,
            "signed with the merchant's secret"
        );
    }
    let first: Value = serde_json::from_slice(&received[0].1).unwrap();
    assert_eq!(first["payment"]["id"], id);
    // Each body carries the payment's version and updatedAt: a merchant can drop one older
    // than what it has. The SUCCEEDED one is newer than the AWAITING_CUSTOMER one.
    let version_of = |status: &str| {
        received
            .iter()
            .map(|(_, body)| serde_json::from_slice::<Value>(body).unwrap())
            .find(|body| body["payment"]["status"] == status)
            .map(|body| {
                assert!(body["payment"]["updatedAt"].is_string(), "{body}");
                body["payment"]["version"].as_i64().unwrap()
            })
            .unwrap()
    };
    assert!(version_of("SUCCEEDED") > version_of("AWAITING_CUSTOMER"));
    let refund = app.refund(key, "hook-refund", id, "USD", "400").await;
    assert!(refund["errors"].is_null(), "{refund}");
    let refunded = || async {
        received_log.lock().unwrap().iter().any(|(_, body)| {
            let body: Value = serde_json::from_slice(body).unwrap();
            body["type"] == "refund.updated"
                && body["refund"]["status"] == "SUCCEEDED"
                && body["refund"]["amount"]["value"] == "400"
        })
    };
    wait_for("the refund webhook", Duration::from_secs(30), refunded).await;
    // The receiver sees a delivery a moment before plusflow records its answer; the merchant
    // reads every delivery and its attempts.
    let deliveries = || async {
        let answer = app
            .gql(
                Some(key),
                "{ webhookDeliveries(first: 20) { edges { node { status event { type data } attempts { httpStatus } } } } }",
                json!({}),
            )
            .await;
        answer["data"]["webhookDeliveries"]["edges"]
            .as_array()
            .unwrap()
            .clone()
    };
    wait_for("every delivery accepted", Duration::from_secs(30), || async {
        let all = deliveries().await;
        all.len() == 3 && all.iter().all(|edge| edge["node"]["status"] == "SUCCEEDED")
    })
    .await;
    let all = deliveries().await;
    let events: Vec<(&Value, &Value)> = all
        .iter()
        .rev()
        .map(|edge| {
            (
                &edge["node"]["event"]["type"],
                &edge["node"]["event"]["data"]["status"],
            )
        })
        .collect();
    let expected = [
        ("payment.updated", "AWAITING_CUSTOMER"),
        ("payment.updated", "SUCCEEDED"),
        ("refund.updated", "SUCCEEDED"),
    ];
    let expected: Vec<(Value, Value)> = expected.iter().map(|(t, s)| (json!(t), json!(s))).collect();
    let expected: Vec<(&Value, &Value)> = expected.iter().map(|(t, s)| (t, s)).collect();
    assert_eq!(events, expected, "oldest first");
    let attempts: Vec<Vec<Value>> = all
        .iter()
        .rev()
        .map(|edge| {
            edge["node"]["attempts"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a["httpStatus"].clone())
                .collect()
        })
        .collect();
    assert_eq!(
        attempts[0],
        [json!(503), json!(200)],
        "the refused attempt is recorded, then the accepted one"
    );
    assert!(attempts[1..].iter().all(|a| a == &[json!(200)]), "{attempts:?}");
}

async fn a_merchant_without_webhook_endpoints_costs_no_webhook_work(backend: Backend) {
    use plusflow::store::entity::outbox;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let merchant = app.create_merchant(&["--name", "No webhooks"]);
    let key = merchant["apiKey"].as_str().unwrap();
    let (payment_id, _) = app.paid_payment(key, "quiet", "1000").await;
    let refund = app.refund(key, "quiet-refund", &payment_id, "USD", "1000").await;
    let refund_id = refund["data"]["createRefund"]["id"]
        .as_str()
        .expect("a refund")
        .to_string();
    let refunds = app.settled_refunds(key, &payment_id).await;
    assert_eq!(refunds["refunds"][0]["status"], "SUCCEEDED", "{refunds}");
    for (instance, its_call) in [(&payment_id, "submit_pay"), (&refund_id, "submit_refund")] {
        let jobs: Vec<String> = outbox::Entity::find()
            .filter(outbox::Column::InstanceId.eq(instance.parse::<uuid::Uuid>().unwrap()))
            .all(&app.engine.db)
            .await
            .unwrap()
            .into_iter()
            .map(|row| row.name)
            .collect();
        assert!(jobs.iter().any(|name| name == its_call), "{jobs:?}");
        assert!(!jobs.iter().any(|name| name == "notify_merchant"), "{jobs:?}");
    }
    let deliveries = app
        .gql(
            Some(key),
            "{ webhookDeliveries { edges { node { id } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        deliveries["data"]["webhookDeliveries"]["edges"],
        json!([]),
        "{deliveries}"
    );
}

/// The simulator's refunds of `request_id`: (refundRequestId, status, amount).
fn ledger_refunds(ledger: &Value, request_id: &str) -> Vec<(String, String, i64)> {
    ledger["refunds"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, r)| r["paymentRequestId"] == request_id)
        .map(|(id, r)| {
            (
                id.clone(),
                r["resultStatus"].as_str().unwrap().to_string(),
                r["amount"]["value"].as_str().unwrap().parse().unwrap(),
            )
        })
        .collect()
}

async fn partial_refunds_stop_at_the_paid_amount_before_alipayplus_is_asked(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let (_, key) = app.merchant("Cafe");
    let (id, request_id) = app.paid_payment(&key, "r-1", "1000").await;
    for (n, value) in ["300", "500"].iter().enumerate() {
        let refund = app.refund(&key, &format!("refund-{n}"), &id, "USD", value).await;
        assert!(refund["errors"].is_null(), "{refund}");
    }
    let third = app.refund(&key, "refund-2", &id, "USD", "201").await;
    assert_eq!(
        third["errors"][0]["extensions"]["code"], "REFUND_EXCEEDS_REFUNDABLE",
        "{third}"
    );
    let payment = app.settled_refunds(&key, &id).await;
    assert_eq!(
        (
            payment["refundedAmount"]["value"].as_str(),
            payment["refundableAmount"]["value"].as_str()
        ),
        (Some("800"), Some("200"))
    );
    let statuses: Vec<&str> = payment["refunds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["SUCCEEDED", "SUCCEEDED"]);
    let refunds = ledger_refunds(&app.ledger().await, &request_id);
    assert_eq!(refunds.len(), 2, "exactly the two reached Alipay+: {refunds:?}");
    assert_eq!(app.ledger().await["payments"][&request_id]["refundedTotal"], 800);
    let full_rest = app.refund(&key, "refund-3", &id, "USD", "200").await;
    assert!(
        full_rest["errors"].is_null(),
        "the rest can still be refunded: {full_rest}"
    );
    assert_eq!(
        app.settled_refunds(&key, &id).await["refundableAmount"]["value"],
        "0"
    );
}

async fn concurrent_refunds_never_take_more_than_was_paid(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let (_, key) = app.merchant("Cafe");
    let (id, request_id) = app.paid_payment(&key, "r-2", "1000").await;
    let app = Arc::new(app);
    let mut calls = tokio::task::JoinSet::new();
    for n in 0..20 {
        let (app, key, id) = (app.clone(), key.clone(), id.clone());
        calls.spawn(async move {
            app.refund(&key, &format!("concurrent-{n}"), &id, "USD", "150")
                .await
        });
    }
    let (mut accepted, mut refused) = (0, 0);
    while let Some(answer) = calls.join_next().await {
        let answer = answer.unwrap();
        if answer["errors"].is_null() {
            accepted += 1;
        } else {
            assert_eq!(
                answer["errors"][0]["extensions"]["code"], "REFUND_EXCEEDS_REFUNDABLE",
                "{answer}"
            );
            refused += 1;
        }
    }
    assert_eq!(
        (accepted, refused),
        (6, 14),
        "6 x 150 fit in 1000, the 7th would not"
    );
    let payment = app.settled_refunds(&key, &id).await;
    assert_eq!(payment["refundedAmount"]["value"], "900");
    let ledger = app.ledger().await;
    assert_eq!(ledger["payments"][&request_id]["refundedTotal"], 900);
    let succeeded: i64 = ledger_refunds(&ledger, &request_id)
        .iter()
        .filter(|r| r.1 == "S")
        .map(|r| r.2)
        .sum();
    assert!(succeeded <= 1000);
}

async fn refunds_succeed_through_unknown_answers_and_timeouts_once_each(backend: Backend) {
    let chaos = Chaos {
        unknown_rate: 0.3,
        timeout_rate: 0.15,
        ..Chaos::default()
    };
    let Some(app) = spawn_app_with_chaos(backend, chaos).await else {
        return;
    };
    let (_, key) = app.merchant("Cafe");
    let (id, request_id) = app.paid_payment(&key, "r-3", "1000").await;
    let mut refund_ids = Vec::new();
    for n in 0..5 {
        let refund = app.refund(&key, &format!("chaos-{n}"), &id, "USD", "100").await;
        assert!(refund["errors"].is_null(), "{refund}");
        refund_ids.push(
            refund["data"]["createRefund"]["refundRequestId"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    let payment = app.settled_refunds(&key, &id).await;
    assert!(
        payment["refunds"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["status"] == "SUCCEEDED"),
        "{payment:#}"
    );
    let ledger = app.ledger().await;
    let mut in_ledger: Vec<String> = ledger_refunds(&ledger, &request_id)
        .into_iter()
        .map(|r| r.0)
        .collect();
    in_ledger.sort();
    refund_ids.sort();
    assert_eq!(in_ledger, refund_ids, "exactly one refund per refundRequestId");
    assert_eq!(ledger["payments"][&request_id]["refundedTotal"], 500);
}

async fn refunds_of_unpaid_foreign_or_other_currency_payments_are_refused(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let (_, key) = app.merchant("Cafe");
    let (_, other_key) = app.merchant("Elsewhere");
    let (paid, _) = app.paid_payment(&key, "r-4", "1000").await;
    let pending = app.create(&key, "pending", input("r-5", "1000")).await["data"]["createPayment"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let declined = app.create(&key, "declined", input("r-6", "1000")).await["data"]["createPayment"].clone();
    let declined_id = declined["id"].as_str().unwrap().to_string();
    app.wait_status(&key, &declined_id, "AWAITING_CUSTOMER").await;
    app.complete(
        declined["paymentRequestId"].as_str().unwrap(),
        json!({ "outcome": "FAIL" }),
    )
    .await;
    app.wait_status(&key, &declined_id, "FAILED").await;
    let cancelled = app.create(&key, "cancelled", input("r-7", "1000")).await["data"]["createPayment"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    app.gql(
        Some(&key),
        "mutation($id: ID!) { cancelPayment(id: $id) { id } }",
        json!({ "id": cancelled }),
    )
    .await;
    app.wait_status(&key, &cancelled, "CANCELLED").await;

    let cases = [
        (&key, &pending, "USD", "PAYMENT_NOT_REFUNDABLE"),
        (&key, &declined_id, "USD", "PAYMENT_NOT_REFUNDABLE"),
        (&key, &cancelled, "USD", "PAYMENT_NOT_REFUNDABLE"),
        (&key, &paid, "EUR", "VALIDATION"),
        (&other_key, &paid, "USD", "NOT_FOUND"),
    ];
    for (n, (who, payment, currency, code)) in cases.into_iter().enumerate() {
        let answer = app
            .refund(who, &format!("bad-{n}"), payment, currency, "100")
            .await;
        assert_eq!(
            answer["errors"][0]["extensions"]["code"], code,
            "case {n}: {answer}"
        );
    }
    use sea_orm::{EntityTrait, PaginatorTrait};
    assert_eq!(
        plusflow::store::entity::refund::Entity::find()
            .count(&app.engine.db)
            .await
            .unwrap(),
        0,
        "nothing stored"
    );
    assert_eq!(
        app.ledger().await["refunds"].as_object().unwrap().len(),
        0,
        "nothing sent"
    );
}

/// Every `pay` is lost on the way (503), so Alipay+ never hears of the payment and answers
/// cancelPayment with ORDER_NOT_EXIST. plusflow must not believe that while a pay request could
/// still be in flight (up to the 2 s call timeout here): it asks again, and only then cancels.
async fn a_payment_alipayplus_never_received_is_cancelled_only_after_no_pay_call_can_still_arrive(
    backend: Backend,
) {
    let Some(app) = spawn_app_refusing(backend, "pay").await else {
        return;
    };
    let (_, key) = app.merchant("Unreachable");
    let (id, request_id) = app.create_ids(&key, "lost-pay", input("lost-pay", "1000")).await;
    let cancel = app
        .gql(
            Some(&key),
            "mutation($id: ID!) { cancelPayment(id: $id) { id } }",
            json!({ "id": id }),
        )
        .await;
    assert!(cancel["errors"].is_null(), "{cancel}");
    app.wait_status(&key, &id, "CANCELLED").await;

    let query = "query($id: ID!) { payment(id: $id) { workflow { history { at event toState } } } }";
    let history = app.gql(Some(&key), query, json!({ "id": id })).await;
    let history = history["data"]["payment"]["workflow"]["history"]
        .as_array()
        .unwrap()
        .clone();
    let entered = |state: &str| {
        let at = history.iter().find(|h| h["toState"] == state).unwrap()["at"]
            .as_str()
            .unwrap();
        chrono::DateTime::parse_from_rfc3339(at).unwrap()
    };
    let waited = entered("cancelled") - entered("cancelling");
    assert!(
        waited > chrono::Duration::seconds(2),
        "ORDER_NOT_EXIST believed after {waited}, within the 2 s a pay call may take"
    );
    let ledger = app.ledger().await;
    assert!(
        ledger["payments"][&request_id].is_null(),
        "Alipay+ never had it: {ledger}"
    );
}

/// A retrieval raised on a paid payment, as plusflow and the simulator each recorded it: known
/// to both; answered once in plusflow, and every response Alipay+ received the same request (a
/// retry through unknown answers resends, never changes); or, left `unanswered`, expired with
/// nothing sent, acknowledged by the operator (in `acted`).
fn check_dispute_agrees(
    payment: &Value,
    theirs: &Value,
    unanswered: bool,
    acted: &HashMap<String, Vec<&str>>,
    request_id: &str,
) {
    let ours = &payment["disputes"];
    assert_eq!(
        theirs["initiateAnswer"], "S SUCCESS",
        "{request_id}: the retrieval was acknowledged: {theirs}"
    );
    assert_eq!(
        ours.as_array().unwrap().len(),
        1,
        "{request_id}: one dispute: {ours}"
    );
    let dispute = &ours[0];
    let responses = theirs["responses"].as_array().unwrap();
    if unanswered {
        assert_eq!(dispute["status"], "EXPIRED", "{request_id}: {dispute}");
        assert!(
            responses.is_empty(),
            "{request_id}: nothing was sent: {responses:#?}"
        );
        let id = dispute["id"].as_str().unwrap();
        assert!(
            acted
                .get(id)
                .is_some_and(|actions| actions.contains(&"resumeWorkflow")),
            "{request_id}: the operator acknowledged the expired dispute: {acted:?}"
        );
        return;
    }
    assert_eq!(dispute["status"], "RESPONDED", "{request_id}: {dispute}");
    assert!(!responses.is_empty(), "{request_id}: Alipay+ has the response");
    assert!(
        responses.iter().all(|r| *r == responses[0]),
        "{request_id}: one response, resent unchanged: {responses:#?}"
    );
}

/// A customs declaration made in the chaos run, as plusflow and the simulator each recorded it:
/// accepted once, at Alipay+ for the same amount.
fn check_declaration_agrees(declaration: &Value, ledger: &Value, request_id: &str) {
    let id = declaration["customsDeclarationRequestId"].as_str().unwrap();
    let theirs = &ledger["declarations"][id];
    assert_eq!(declaration["status"], "ACCEPTED", "{request_id}: {declaration}");
    assert_eq!(
        theirs["status"], "CUSTOMS_ACCEPT_SUCCESS",
        "{request_id}: {theirs}"
    );
    assert_eq!(theirs["amount"]["value"], declaration["amount"]["value"]);
    let for_payment = ledger["declarations"]
        .as_object()
        .unwrap()
        .values()
        .filter(|d| d["paymentRequestId"] == request_id)
        .count();
    assert_eq!(for_payment, 1, "{request_id}: one declaration at Alipay+");
}

/// Payments in the chaos run: `PLUSFLOW_CHAOS_PAYMENTS` (30 by default, CI's size).
fn chaos_size() -> usize {
    std::env::var("PLUSFLOW_CHAOS_PAYMENTS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(30)
}

/// The merchant's payments as one sweep of `payments` pages sees them, by id. A few requests
/// per sweep however many payments there are, so thousands of customers can wait on it.
struct StatusBoard {
    latest: tokio::sync::watch::Receiver<HashMap<String, Value>>,
    sweeper: tokio::task::JoinHandle<()>,
}

/// What the board reads of each payment while customers wait.
const BOARD_FIELDS: &str = "id status workflow { needsAttention } refunds { status }";

impl StatusBoard {
    fn start(app: Arc<App>, key: String) -> StatusBoard {
        let (publish, latest) = tokio::sync::watch::channel(HashMap::new());
        let sweeper = tokio::spawn(async move {
            loop {
                publish.send_replace(app.all_payments(&key, BOARD_FIELDS).await);
                tokio::time::sleep(Duration::from_millis(200)).await; // poll
            }
        });
        StatusBoard { latest, sweeper }
    }

    /// Waits until the board shows payment `id` in `status` (true) or parked for an operator
    /// (false: its retries ran out, so nobody but an operator moves it on); panics after
    /// `patience`.
    async fn wait_status(&self, id: &str, status: &str, patience: Duration) -> bool {
        let seen = self.wait_until(patience, |payments| {
            payments
                .get(id)
                .is_some_and(|p| p["status"] == status || p["workflow"]["needsAttention"] == true)
        });
        assert!(
            seen.await,
            "payment {id} did not reach {status} within {patience:?}"
        );
        self.latest.borrow()[id]["status"] == status
    }

    /// Whether the board showed `condition` holding before `timeout`.
    async fn wait_until(
        &self,
        timeout: Duration,
        condition: impl Fn(&HashMap<String, Value>) -> bool,
    ) -> bool {
        let mut latest = self.latest.clone();
        let holds = latest.wait_for(condition);
        matches!(tokio::time::timeout(timeout, holds).await, Ok(Ok(_)))
    }
}

impl Drop for StatusBoard {
    fn drop(&mut self) {
        self.sweeper.abort();
    }
}

impl App {
    /// Every payment of the merchant with `fields` (which must include `id`), by id.
    async fn all_payments(&self, key: &str, fields: &str) -> HashMap<String, Value> {
        let query = format!(
            "query($after: String) {{ payments(first: 50, after: $after) {{ edges {{ node {{ {fields} }} }} \
             pageInfo {{ hasNextPage endCursor }} }} }}"
        );
        let mut payments = HashMap::new();
        let mut after = Value::Null;
        loop {
            let answer = self.gql(Some(key), &query, json!({ "after": after })).await;
            let page = &answer["data"]["payments"];
            for edge in page["edges"]
                .as_array()
                .unwrap_or_else(|| panic!("a page: {answer}"))
            {
                let node = edge["node"].clone();
                payments.insert(node["id"].as_str().unwrap().to_string(), node);
            }
            if page["pageInfo"]["hasNextPage"] != true {
                return payments;
            }
            after = page["pageInfo"]["endCursor"].clone();
        }
    }
}

/// Final, and so are its refunds, disputes and declarations, with nothing waiting for an
/// operator.
fn settled(payment: &Value) -> bool {
    let done = |object: &Value, finals: &[&str]| {
        finals.contains(&object["status"].as_str().unwrap_or(""))
            && object["workflow"]["needsAttention"] == false
    };
    let all_done = |objects: &Value, finals: &[&str]| {
        objects
            .as_array()
            .is_none_or(|objects| objects.iter().all(|object| done(object, finals)))
    };
    done(payment, &["SUCCEEDED", "FAILED", "CANCELLED"])
        && all_done(&payment["refunds"], &["SUCCEEDED", "FAILED"])
        && all_done(&payment["disputes"], &["RESPONDED", "EXPIRED"])
        && all_done(&payment["customsDeclarations"], &["ACCEPTED", "REJECTED"])
}

async fn a_chaos_run_ends_with_every_record_agreeing_with_the_ledger(backend: Backend) {
    let chaos = Chaos {
        unknown_rate: 0.2,
        timeout_rate: 0.1,
        http5xx_rate: 0.05,
        notify_drop_rate: 0.3,
        notify_duplicate_rate: 0.2,
    };
    let setup = Setup {
        chaos,
        // Alipay+'s notification schedule (0 s, 2 min, 10 min...) at 1/100: a dropped
        // initiation is re-sent after 1.2 s, not 2 minutes.
        simulator_time_scale: Some(0.01),
        // Its one merchant stands for a whole shop's customers, polling and reading its feed
        // without pause: far above one caller's GraphQL budget (tested in graphql_budget.rs).
        server: "complexity_per_minute = 1000000000",
        ..Setup::default()
    };
    let Some(app) = spawn_app_with(backend, setup).await else {
        return;
    };
    let day = clearing_day_now().await;
    // The merchant takes its updates by webhook and reads its event feed too.
    let receiver = common::webhooks::WebhookReceiver::accepting().await;
    let merchant = app.create_merchant(&["--name", "Chaos", "--webhook-url", &receiver.url]);
    let key = merchant["apiKey"].as_str().unwrap().to_string();
    let app = Arc::new(app);
    let board = Arc::new(StatusBoard::start(app.clone(), key.clone()));
    let count = chaos_size();
    // A customer waits as long as the run may take: pay is retried through every fault with
    // growing backoff (1 s, 2 s, 4 s, ... 30 s), and several faults in a row happen at this rate.
    let patience = Duration::from_secs(300 + count as u64 / 2);
    let mut customers = tokio::task::JoinSet::new();
    // Payments Alipay+ raised a retrieval on: their disputeRequestId, and whether the merchant
    // leaves it unanswered.
    let disputed = Arc::new(std::sync::Mutex::new(HashMap::<String, (String, bool)>::new()));
    for n in 0..count {
        let (app, key, board, disputed) = (app.clone(), key.clone(), board.clone(), disputed.clone());
        customers.spawn(async move {
            let mut payment = input(&format!("chaos-{n}"), "1000");
            payment["expiresInSeconds"] = json!(if n % 5 == 4 { 8 } else { 599 });
            let created = app.create(&key, &format!("chaos-{n}"), payment).await;
            let created = &created["data"]["createPayment"];
            let (id, request_id) = (
                created["id"].as_str().unwrap().to_string(),
                created["paymentRequestId"].as_str().unwrap().to_string(),
            );
            if n % 5 == 4 {
                return (id, request_id); // walks away: expiry, then cancel
            }
            if !board.wait_status(&id, "AWAITING_CUSTOMER", patience).await {
                return (id, request_id); // parked before the checkout opened
            }
            let outcome = if n % 5 == 3 {
                json!({ "outcome": "FAIL", "resultCode": "USER_BALANCE_NOT_ENOUGH" })
            } else {
                json!({ "outcome": "SUCCESS" })
            };
            app.complete(&request_id, outcome).await;
            if n % 3 == 0 && n % 5 < 3 {
                if !board.wait_status(&id, "SUCCEEDED", patience).await {
                    return (id, request_id);
                }
                let refund = app
                    .refund(&key, &format!("chaos-refund-{n}"), &id, "USD", "400")
                    .await;
                assert!(refund["errors"].is_null(), "{refund}");
            }
            if n % 6 == 2 && n % 5 < 3 {
                // Paid with AlipayCN (the simulator's default wallet): declared to customs whole.
                if !board.wait_status(&id, "SUCCEEDED", patience).await {
                    return (id, request_id);
                }
                let declared = app
                    .gql(
                        Some(&key),
                        "mutation($input: DeclareCustomsInput!, $key: String!) { declareCustoms(input: $input, idempotencyKey: $key) { id } }",
                        json!({ "key": format!("chaos-customs-{n}"), "input": { "paymentId": id, "customsCode": "HANGZHOU",
                                "merchantCustomsCode": "MC-1", "merchantCustomsName": "Chaos Trading",
                                "amount": { "currency": "CNY", "value": "1000" } } }),
                    )
                    .await;
                assert!(declared["errors"].is_null(), "{declared}");
            }
            if n % 4 == 1 && n % 5 < 3 {
                // Alipay+ raises a retrieval on a share of the paid payments; the merchant answers,
                // but for one in two of every fourth: raised 20 days after it occurred, a few
                // seconds before its deadline, it expires unanswered (parked for an operator).
                if !board.wait_status(&id, "SUCCEEDED", patience).await {
                    return (id, request_id);
                }
                let unanswered = n % 8 == 5;
                let mut retrieval = json!({ "kind": "RETRIEVAL" });
                if unanswered {
                    let occurred = chrono::Utc::now() - chrono::Duration::days(20) + chrono::Duration::seconds(3);
                    retrieval["disputeOccurTime"] = json!(occurred.to_rfc3339());
                }
                let raised = app.raise_dispute(&request_id, retrieval).await;
                disputed.lock().unwrap().insert(id.clone(), (raised, unanswered));
                if unanswered {
                    return (id, request_id);
                }
                let open = poll_within(patience, || async {
                    let query = "query($id: ID!) { payment(id: $id) { disputes { id status } } }";
                    let payment = app.gql(Some(&key), query, json!({ "id": id })).await;
                    let dispute = payment["data"]["payment"]["disputes"][0].clone();
                    (dispute["status"] == "NEEDS_RESPONSE").then_some(dispute)
                })
                .await;
                if let Some(open) = open {
                    let dispute = open["id"].as_str().unwrap();
                    let answered = app
                        .respond_to_retrieval(&key, dispute, &format!("chaos-answer-{n}"), "id")
                        .await;
                    assert!(answered["errors"].is_null(), "{answered}");
                }
            }
            (id, request_id)
        });
    }
    // Meanwhile an operator registers a few merchants with Alipay+ and its wallets.
    let mut registrations = Vec::new();
    for n in 0..(count / 10).max(2) {
        let (merchant, _) = app.merchant(&format!("Chaos registered {n}"));
        let registered = app
            .gql(
                Some(ADMIN_KEY),
                "mutation($m: ID!, $input: RegistrationInput!, $key: String!) { registerMerchant(merchantId: $m, input: $input, idempotencyKey: $key) { id registrationRequestId } }",
                json!({ "m": merchant, "key": format!("chaos-registration-{n}"), "input": {
                    "productCodes": ["CASHIER_PAYMENT"], "merchantDisplayName": format!("Chaos {n}"),
                    "websites": [{ "url": "https://chaos.example" }] } }),
            )
            .await;
        let registration = &registered["data"]["registerMerchant"];
        assert!(registration["id"].is_string(), "{registered}");
        registrations.push((
            registration["id"].as_str().unwrap().to_string(),
            registration["registrationRequestId"]
                .as_str()
                .unwrap()
                .to_string(),
        ));
    }
    let mut payments = Vec::new();
    while let Some(done) = customers.join_next().await {
        payments.push(done.unwrap());
    }
    let disputed = Arc::into_inner(disputed).unwrap().into_inner().unwrap();
    assert!(
        count < 10 || !disputed.is_empty(),
        "a share of the paid payments is disputed"
    );

    // The check reads everything itself: the board's last sweep may predate the last refund.
    drop(board);
    let workflow = "workflow { state needsAttention lastError nextRunAt }";
    let fields = format!(
        "id status {workflow} refundedAmount {{ value }} refunds {{ refundRequestId status {workflow} }} \
         disputes {{ id disputeRequestId status {workflow} }} \
         customsDeclarations {{ customsDeclarationRequestId status amount {{ value }} {workflow} }}"
    );
    // A disputed payment is settled once its dispute reached plusflow (an initiation Alipay+
    // dropped is re-sent later) and is final.
    let all_settled = |ours: &HashMap<String, Value>| {
        payments.iter().all(|(id, _)| {
            ours.get(id).is_some_and(|payment| {
                settled(payment)
                    && (!disputed.contains_key(id)
                        || payment["disputes"].as_array().is_some_and(|d| !d.is_empty()))
            })
        })
    };
    // A cancel that meets a run of faults waits out its own backoff (2 s doubling to 2 min): ten
    // failures in a row (about one in 36,000 cancels at these rates) alone take ten minutes.
    let cancel = app
        .engine
        .definitions
        .current("payment")
        .expect("the payment workflow")
        .retry_policy(plusflow::kinds::payment::names::CANCEL_PAYMENT);
    let deadline = patience
        + (1..=10)
            .map(|failures| cancel.delay_after(failures))
            .sum::<Duration>();
    // Meanwhile an operator works the stuck list until nothing waits for one: what ran out of
    // retries is retried, the retrievals left unanswered past their deadline are acknowledged.
    let acted = std::sync::Mutex::new(HashMap::<String, Vec<&str>>::new());
    let finished = poll_within(deadline, || async {
        let ours = app.all_payments(&key, &fields).await;
        let final_here = all_settled(&ours) && registrations_final(&app, &registrations).await;
        let stuck = app.stuck_list().await;
        for workflow in &stuck {
            let action = app.operator_resolves(workflow).await;
            let id = workflow["id"].as_str().unwrap().to_string();
            acted.lock().unwrap().entry(id).or_default().push(action);
        }
        (final_here && stuck.is_empty()).then_some(ours)
    })
    .await;
    let Some(ours) = finished else {
        let ours = app.all_payments(&key, &fields).await;
        let stuck: Vec<_> = ours.values().filter(|p| !settled(p)).collect();
        panic!("not final after {deadline:?}: {stuck:#?}");
    };
    let acted = acted.into_inner().unwrap();
    eprintln!("the operator resolved {} workflows: {acted:?}", acted.len());

    let ledger = app.ledger().await;
    for (id, request_id) in &payments {
        let payment = &ours[id];
        let entry = &ledger["payments"][request_id];
        let theirs = entry["status"].as_str().unwrap_or("NEVER RECEIVED");
        match payment["status"].as_str().unwrap() {
            "SUCCEEDED" => assert_eq!(
                theirs, "SUCCEEDED",
                "{request_id}: paid exactly once, at Alipay+ too"
            ),
            "CANCELLED" => assert!(
                theirs == "CANCELLED" || theirs == "NEVER RECEIVED",
                "{request_id}: cancelled there too, not {theirs}"
            ),
            "FAILED" => assert!(theirs == "FAILED" || theirs == "CLOSED", "{request_id}: {theirs}"),
            other => panic!("{request_id} ended {other}"),
        }
        if let Some((dispute_request_id, unanswered)) = disputed.get(id) {
            let theirs = &ledger["disputes"][dispute_request_id];
            check_dispute_agrees(payment, theirs, *unanswered, &acted, request_id);
        }
        for declaration in payment["customsDeclarations"].as_array().into_iter().flatten() {
            check_declaration_agrees(declaration, &ledger, request_id);
        }
        let refunded: i64 = payment["refundedAmount"]["value"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(
            entry["refundedTotal"].as_i64().unwrap_or(0),
            refunded,
            "{request_id}: refunds agree"
        );
    }
    for id in acted.keys() {
        let query = "query($id: ID!) { workflow(id: $id) { kind needsAttention history { actor note } } }";
        let found = app.gql(Some(ADMIN_KEY), query, json!({ "id": id })).await;
        let workflow = &found["data"]["workflow"];
        assert_eq!(workflow["needsAttention"], false, "{id}: {workflow}");
        let history = workflow["history"].as_array().unwrap();
        assert!(
            history.iter().any(|event| event["actor"] == "admin:config"
                && event["note"]
                    .as_str()
                    .is_some_and(|note| note.starts_with("looked at"))),
            "{id}: the operator's action and note are in its history: {workflow:#}"
        );
    }
    check_registrations(&app, &registrations).await;
    check_feed_and_webhooks_agree(&app, &key, &ours, &receiver).await;
    check_books(&app, merchant["id"].as_str().unwrap(), &ours, &day).await;
    reconcile_the_day(&app, &day).await;
}

/// The ledger balances in every currency after the chaos, and the merchant's statement of the
/// day is its succeeded payments (1000 each) less their refunds, with no fee charged.
async fn check_books(app: &App, merchant_id: &str, ours: &HashMap<String, Value>, day: &str) {
    let imbalance = plusflow::store::ledger::imbalance(&app.engine.db, None)
        .await
        .unwrap();
    assert!(
        imbalance.values().all(|difference| *difference == 0),
        "the books balance: {imbalance:?}"
    );
    if clearing_day_now().await != day {
        eprintln!("the chaos run crossed midnight UTC+8: its statement is not checked");
        return;
    }
    let paid = 1000 * ours.values().filter(|p| p["status"] == "SUCCEEDED").count() as i64;
    let refunded: i64 = ours
        .values()
        .map(|p| {
            p["refundedAmount"]["value"]
                .as_str()
                .unwrap()
                .parse::<i64>()
                .unwrap()
        })
        .sum();
    let query = "query($merchant: ID!, $date: String!) { merchantStatement(merchantId: $merchant, date: $date) { \
                 lines { currency gross { value } refunds { value } fees { value } net { value } } } }";
    let statement = app
        .gql(
            Some(ADMIN_KEY),
            query,
            json!({ "merchant": merchant_id, "date": day }),
        )
        .await;
    let line = &statement["data"]["merchantStatement"]["lines"][0];
    assert_eq!(
        [&line["gross"], &line["refunds"], &line["fees"], &line["net"]].map(|m| m["value"].clone()),
        [paid, refunded, 0, paid - refunded].map(|v| Value::from(v.to_string())),
        "the statement is the day's payments less refunds: {statement}"
    );
}

/// Each object's newest state by `version`, among `objects` (payments and refunds as the feed
/// and the webhooks carry them), by id.
fn newest(objects: impl Iterator<Item = Value>) -> HashMap<String, Value> {
    let mut newest: HashMap<String, Value> = HashMap::new();
    for object in objects {
        let id = object["id"].as_str().unwrap().to_string();
        let version = object["version"].as_i64().unwrap();
        if newest
            .get(&id)
            .is_none_or(|kept| kept["version"].as_i64().unwrap() < version)
        {
            newest.insert(id, object);
        }
    }
    newest
}

/// The merchant's event feed and its webhooks say what its records (and so the ledger) say: the
/// feed numbered 1, 2, 3... without gaps, the newest event and the newest webhook of every
/// payment and refund show its final status, and every event was delivered once, each object's
/// in order.
async fn check_feed_and_webhooks_agree(
    app: &App,
    key: &str,
    ours: &HashMap<String, Value>,
    receiver: &common::webhooks::WebhookReceiver,
) {
    let feed = app.events_after(key, &mut None, 100).await;
    let sequences: Vec<i64> = feed.iter().map(|e| e["sequence"].as_i64().unwrap()).collect();
    assert_eq!(
        sequences,
        (1..=feed.len() as i64).collect::<Vec<_>>(),
        "the feed has no gaps"
    );
    let final_statuses = |newest: &HashMap<String, Value>| -> Result<(), String> {
        for (id, payment) in ours {
            let told = newest.get(id).map(|p| p["status"].clone());
            if told.as_ref() != Some(&payment["status"]) {
                return Err(format!(
                    "payment {id} is {} here, told {told:?}",
                    payment["status"]
                ));
            }
            for refund in payment["refunds"].as_array().into_iter().flatten() {
                let told = newest
                    .values()
                    .find(|r| r["refundRequestId"] == refund["refundRequestId"])
                    .map(|r| r["status"].clone());
                if told.as_ref() != Some(&refund["status"]) {
                    return Err(format!(
                        "refund {} is {} here, told {told:?}",
                        refund["refundRequestId"], refund["status"]
                    ));
                }
            }
        }
        Ok(())
    };
    let from_feed = newest(feed.iter().map(|event| event["data"].clone()));
    final_statuses(&from_feed).unwrap_or_else(|why| panic!("the feed: {why}"));
    // Payments' and refunds' webhooks (disputes and declarations have theirs too).
    let from_webhooks = || {
        let objects = receiver.bodies().into_iter().filter_map(|mut body| {
            [body["payment"].take(), body["refund"].take()]
                .into_iter()
                .find(Value::is_object)
        });
        newest(objects)
    };
    let agreed = poll_within(Duration::from_secs(60), || async {
        final_statuses(&from_webhooks()).is_ok().then_some(())
    })
    .await;
    if agreed.is_none() {
        panic!("the webhooks: {}", final_statuses(&from_webhooks()).unwrap_err());
    }
    let sequence_of: HashMap<&str, i64> = feed
        .iter()
        .map(|e| (e["id"].as_str().unwrap(), e["sequence"].as_i64().unwrap()))
        .collect();
    let every_event_delivered = poll_within(Duration::from_secs(60), || async {
        (receiver.hits() >= feed.len()).then_some(())
    })
    .await;
    let bodies = receiver.bodies();
    assert!(
        every_event_delivered.is_some(),
        "{} events, {} webhooks",
        feed.len(),
        bodies.len()
    );
    let mut last_of_object: HashMap<String, i64> = HashMap::new();
    let mut delivered = HashSet::new();
    for body in &bodies {
        let event = body["eventId"].as_str().unwrap();
        assert!(
            delivered.insert(event.to_string()),
            "event {event} delivered twice"
        );
        let sequence = *sequence_of
            .get(event)
            .unwrap_or_else(|| panic!("{event} is not in the feed"));
        let object = feed.iter().find(|e| e["id"] == event).unwrap()["objectId"]
            .as_str()
            .unwrap();
        let last = last_of_object.entry(object.to_string()).or_insert(0);
        assert!(
            sequence > *last,
            "{object}: event {sequence} delivered after {last}"
        );
        *last = sequence;
    }
    assert_eq!(delivered.len(), feed.len(), "every event delivered");
}

/// Whether every registration made under chaos is final (COMPLETED or REJECTED) or parked.
async fn registrations_final(app: &App, registrations: &[(String, String)]) -> bool {
    let query = "query($id: ID!) { registration(id: $id) { status workflow { needsAttention } } }";
    for (id, _) in registrations {
        let found =
            app.gql(Some(ADMIN_KEY), query, json!({ "id": id })).await["data"]["registration"].clone();
        let done = ["COMPLETED", "REJECTED"].contains(&found["status"].as_str().unwrap_or(""));
        if !done && found["workflow"]["needsAttention"] != true {
            return false;
        }
    }
    true
}

/// Each registration made under chaos ends COMPLETED with every wallet's approval, and Alipay+
/// holds one registration per request id, whatever was retried.
async fn check_registrations(app: &App, registrations: &[(String, String)]) {
    let query = "query($id: ID!) { registration(id: $id) { status wallets { pspName status } workflow { needsAttention } } }";
    for (id, request_id) in registrations {
        let done = app.gql(Some(ADMIN_KEY), query, json!({ "id": id })).await["data"]["registration"].clone();
        assert_eq!(done["status"], "COMPLETED", "{request_id}: {done}");
        let wallets = done["wallets"].as_array().unwrap();
        assert_eq!(wallets.len(), 3, "{request_id}: {done}");
        assert!(
            wallets.iter().all(|w| w["status"] == "APPROVED"),
            "{request_id}: {done}"
        );
    }
    let ledger = app.ledger().await;
    let taken = ledger["registrations"].as_object().unwrap();
    assert_eq!(
        taken.len(),
        registrations.len(),
        "one registration per request id at Alipay+"
    );
    for (_, request_id) in registrations {
        assert!(
            taken.contains_key(request_id),
            "{request_id} never reached Alipay+"
        );
    }
}

/// The day's report files (the simulator's) reconcile with plusflow's records: no discrepancy.
/// Skipped when the run crossed midnight UTC+8 (its payments are then in two days' files).
async fn reconcile_the_day(app: &App, day: &str) {
    if clearing_day_now().await != day {
        eprintln!("the chaos run crossed midnight UTC+8: its day is not reconciled");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    app.simulator_reports(dir.path(), day, &[]).await;
    let outcome = app.reconcile(dir.path(), day).await;
    assert!(outcome["rows_read"].as_i64().unwrap() > 0, "{outcome}");
    let query = "query($id: ID!) { reconciliationRun(id: $id) { discrepancies(first: 100) { edges { node { kind reference detail } } } } }";
    let run = app
        .gql(Some(ADMIN_KEY), query, json!({ "id": outcome["run_id"] }))
        .await;
    let found = run["data"]["reconciliationRun"]["discrepancies"]["edges"]
        .as_array()
        .unwrap()
        .clone();
    assert!(found.is_empty(), "the day does not reconcile: {found:#?}");
}
