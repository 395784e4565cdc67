//! Money and state defects found in review (issue "Trust what is there"), each shown over real
//! HTTP against the simulator with real signatures, on SQLite and on PostgreSQL + Redis: an
//! amount that is not ours never settles a payment, a cancel that cannot succeed does not
//! swallow a success, Alipay+ losing an order never fails it, one payment per order, lenient
//! informational fields, app links, the expiry limit and the refund window.

mod common;

use std::path::PathBuf;
use std::time::Duration;

use plusflow::clock::ManualClock;
use serde_json::{Value, json};

use common::app::*;
use common::{Backend, wait_for};

on_each_backend!(
    a_notification_for_another_amount_holds_the_payment_and_no_later_answer_settles_it,
    an_inquiry_that_states_another_amount_holds_the_payment,
    a_success_notification_without_an_amount_settles_nothing,
    a_notification_that_is_not_final_still_leaves_a_history_row,
    a_cancel_refused_after_the_customer_paid_settles_the_payment_as_succeeded_and_refundable,
    a_cancel_still_unknown_on_its_last_attempt_settles_on_what_the_inquiry_says,
    a_payment_alipayplus_no_longer_finds_is_never_failed_and_is_parked_when_nobody_can_tell,
    a_second_payment_of_the_same_order_is_refused_as_a_duplicate_order,
    a_malformed_settlement_amount_does_not_make_a_paid_notification_unreadable,
    an_app_payment_shows_the_links_that_open_the_wallet,
    an_expiry_of_ten_minutes_or_more_is_refused,
    the_refund_window_counts_from_the_success_not_from_the_creation,
);

/// A payment expiring in 3 s whose customer paid, the notification lost: (id, paymentRequestId).
async fn paid_with_the_notice_lost(app: &App, key: &str, order: &str) -> (String, String) {
    let (id, request_id) = awaiting_payment(app, key, order, 3).await;
    app.complete(&request_id, json!({ "outcome": "SUCCESS", "notify": false }))
        .await;
    (id, request_id)
}

/// Once the expired payment is cancelling, lets inquiries through: the cancel that cannot be
/// done settles the payment on the inquiry's success. The payment as it ends.
async fn settled_by_the_inquiry_once_cancelling(app: &App, key: &str, id: &str) -> Value {
    wait_for(
        "the expired payment to be cancelling",
        Duration::from_secs(60),
        || async { app.payment(key, id).await["workflow"]["state"] == "cancelling" },
    )
    .await;
    app.let_through("inquiryPayment");
    let settled = app.wait_status(key, id, "SUCCEEDED").await;
    assert_eq!(
        history_rows(&settled, "confirmed_success", "TRANSITIONED"),
        1,
        "{settled:#}"
    );
    settled
}

/// The history rows of `payment` (as [`App::payment`] reads it) with this event and outcome.
fn history_rows(payment: &Value, event: &str, outcome: &str) -> usize {
    payment["workflow"]["history"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|h| h["event"] == event && h["outcome"] == outcome)
        .count()
}

async fn wait_history(app: &App, key: &str, id: &str, event: &str, outcome: &str) -> Value {
    let what = format!("payment {id} to record {event} {outcome}");
    wait_for(&what, Duration::from_secs(60), || async {
        history_rows(&app.payment(key, id).await, event, outcome) > 0
    })
    .await;
    app.payment(key, id).await
}

async fn wait_parked(app: &App, key: &str, id: &str) -> Value {
    wait_for("the payment to be parked", Duration::from_secs(60), || async {
        app.payment(key, id).await["workflow"]["needsAttention"] == true
    })
    .await;
    app.payment(key, id).await
}

fn notification(request_id: &str, status: &str, amount: Option<&str>) -> Value {
    let mut body = json!({
        "paymentResult": { "resultCode": if status == "S" { "SUCCESS" } else { "PAYMENT_IN_PROCESS" }, "resultStatus": status },
        "paymentRequestId": request_id, "paymentId": "2026TEST",
    });
    if let Some(value) = amount {
        body["paymentAmount"] = json!({ "currency": "USD", "value": value });
    }
    body
}

async fn a_notification_for_another_amount_holds_the_payment_and_no_later_answer_settles_it(
    backend: Backend,
) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let (_, key) = app.merchant("Cafe");
    let (id, request_id) = awaiting_payment(&app, &key, "held", 599).await;
    let answer = send_signed_notification(&app, notification(&request_id, "S", Some("999"))).await;
    assert_eq!(answer["result"]["resultStatus"], "S", "acknowledged: {answer}");
    let parked = app.payment(&key, &id).await;
    assert_eq!(parked["workflow"]["needsAttention"], true, "{parked:#}");
    assert_eq!(
        history_rows(&parked, "parked", "PARKED"),
        1,
        "the park is in the history: {parked:#}"
    );
    // The merchant sees its payment under review; why is for operators.
    assert_eq!(parked["status"], "UNDER_REVIEW", "{parked:#}");
    assert_eq!(parked["workflow"]["lastError"], Value::Null);
    assert!(!parked.to_string().contains("999 USD"), "{parked:#}");
    assert!(app.reason(&id).await.contains("999 USD"));

    // The customer did pay the real amount: the poll's inquiry and a matching notification say
    // so, and neither may settle what waits for an operator.
    app.complete(&request_id, json!({ "outcome": "SUCCESS", "notify": false }))
        .await;
    let after = wait_history(&app, &key, &id, "inquiry_success", "REJECTED").await;
    send_signed_notification(&app, notification(&request_id, "S", Some("1000"))).await;
    let after_notice = wait_history(&app, &key, &id, "notified_success", "REJECTED").await;
    for payment in [&after, &after_notice] {
        assert_eq!(payment["status"], "UNDER_REVIEW", "{payment:#}");
        assert_eq!(payment["workflow"]["needsAttention"], true);
    }
}

async fn an_inquiry_that_states_another_amount_holds_the_payment(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let (_, key) = app.merchant("Cafe");
    let (id, request_id) = awaiting_payment(&app, &key, "misreported", 599).await;
    let url = format!("{}/simulator/payments/{request_id}/misreport", app.simulator_base);
    let answer = app
        .http
        .post(url)
        .json(&json!({ "amount": { "currency": "USD", "value": "1" } }))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    app.complete(&request_id, json!({ "outcome": "SUCCESS", "notify": false }))
        .await;
    let parked = wait_parked(&app, &key, &id).await;
    assert_eq!(parked["status"], "UNDER_REVIEW", "{parked:#}");
    let reason = app.reason(&id).await;
    assert!(reason.contains("inquiryPayment says 1 USD"), "{reason}");
    assert_eq!(history_rows(&parked, "inquiry_success", "TRANSITIONED"), 0);
}

async fn a_success_notification_without_an_amount_settles_nothing(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let (_, key) = app.merchant("Cafe");
    let (id, request_id) = awaiting_payment(&app, &key, "no-amount", 599).await;
    let answer = send_signed_notification(&app, notification(&request_id, "S", None)).await;
    assert_eq!(answer["result"]["resultStatus"], "S", "{answer}");
    let payment = app.payment(&key, &id).await;
    assert_eq!(payment["status"], "UNDER_REVIEW", "{payment:#}");
    assert_eq!(payment["workflow"]["needsAttention"], true);
    assert!(app.reason(&id).await.contains("without a paymentAmount"));
}

async fn a_notification_that_is_not_final_still_leaves_a_history_row(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let (_, key) = app.merchant("Cafe");
    let (id, request_id) = awaiting_payment(&app, &key, "not-final", 599).await;
    let answer = send_signed_notification(&app, notification(&request_id, "U", Some("1000"))).await;
    assert_eq!(answer["result"]["resultStatus"], "S", "{answer}");
    let payment = app.payment(&key, &id).await;
    assert_eq!(
        history_rows(&payment, "notification", "IGNORED"),
        1,
        "{payment:#}"
    );
    assert_eq!(payment["status"], "AWAITING_CUSTOMER");
}

/// The customer pays, the notification is lost and inquiries cannot get through; the payment
/// expires here and is cancelled, but Alipay+'s clock is past the cancel window
/// (CANCEL_WINDOW_EXCEED). Once inquiries get through, the success they report decides.
async fn a_cancel_refused_after_the_customer_paid_settles_the_payment_as_succeeded_and_refundable(
    backend: Backend,
) {
    let alipayplus_time = ManualClock::starting_at(chrono::Utc::now());
    let setup = Setup {
        refused: vec!["inquiryPayment"],
        simulator_clock: Some(alipayplus_time.clone()),
        ..Setup::default()
    };
    let Some(app) = spawn_app_with(backend, setup).await else {
        return;
    };
    let (_, key) = app.merchant("Cafe");
    let (id, request_id) = paid_with_the_notice_lost(&app, &key, "late-cancel").await;
    alipayplus_time.advance(Duration::from_secs(2 * 24 * 3600));
    let settled = settled_by_the_inquiry_once_cancelling(&app, &key, &id).await;
    assert_eq!(settled["workflow"]["needsAttention"], false);
    let refund = app.refund(&key, "refund-late", &id, "USD", "1000").await;
    assert!(refund["errors"].is_null(), "refundable: {refund}");
    let refunds = app.settled_refunds(&key, &id).await;
    assert_eq!(refunds["refundedAmount"]["value"], "1000", "{refunds:#}");
    let ledger = app.ledger().await;
    assert_eq!(
        ledger["payments"][&request_id]["status"], "SUCCEEDED",
        "{ledger:#}"
    );
    assert_eq!(ledger["payments"][&request_id]["refundedTotal"], 1000);
}

/// The shipped workflows, with cancelPayment given two attempts instead of 200.
fn workflows_with_two_cancel_attempts() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir("workflows").unwrap() {
        let path: PathBuf = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let text = text.replace(
            "[effects.cancel_payment]\nattempts = 200",
            "[effects.cancel_payment]\nattempts = 2",
        );
        std::fs::write(dir.path().join(path.file_name().unwrap()), text).unwrap();
    }
    dir
}

async fn a_cancel_still_unknown_on_its_last_attempt_settles_on_what_the_inquiry_says(backend: Backend) {
    let workflows = workflows_with_two_cancel_attempts();
    let setup = Setup {
        refused: vec!["inquiryPayment", "cancelPayment"],
        workflows: Some(workflows.path().to_path_buf()),
        ..Setup::default()
    };
    let Some(app) = spawn_app_with(backend, setup).await else {
        return;
    };
    let (_, key) = app.merchant("Cafe");
    let (id, request_id) = paid_with_the_notice_lost(&app, &key, "unknown-cancel").await;
    // cancelPayment stays unreachable; the inquiry of its last attempt gets through.
    settled_by_the_inquiry_once_cancelling(&app, &key, &id).await;
    assert_eq!(app.ledger().await["payments"][&request_id]["cancelCount"], 0);
}

async fn a_payment_alipayplus_no_longer_finds_is_never_failed_and_is_parked_when_nobody_can_tell(
    backend: Backend,
) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let (_, key) = app.merchant("Cafe");
    let (id, request_id) = awaiting_payment(&app, &key, "forgotten", 3).await;
    let url = format!("{}/simulator/payments/{request_id}/forget", app.simulator_base);
    assert_eq!(app.http.post(url).send().await.unwrap().status(), 200);
    let parked = wait_parked(&app, &key, &id).await;
    // The merchant sees its payment under review, not PENDING or CANCELLING.
    assert_eq!(parked["status"], "UNDER_REVIEW", "{parked:#}");
    assert_eq!(parked["workflow"]["state"], "cancelling");
    let reason = app.reason(&id).await;
    assert!(
        reason.contains("ORDER_NOT_EXIST") && reason.contains("cannot tell"),
        "{reason}"
    );
    assert_eq!(history_rows(&parked, "inquiry_failure", "TRANSITIONED"), 0);
    assert_eq!(history_rows(&parked, "cancel_succeeded", "TRANSITIONED"), 0);
}

async fn a_second_payment_of_the_same_order_is_refused_as_a_duplicate_order(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let (_, key) = app.merchant("Cafe");
    let (_, other_key) = app.merchant("Bakery");
    let first = app.create(&key, "first-key", input("order-7", "1000")).await;
    assert!(first["errors"].is_null(), "{first}");
    let again = app.create(&key, "fresh-key", input("order-7", "1000")).await;
    assert_eq!(
        again["errors"][0]["extensions"]["code"], "DUPLICATE_ORDER",
        "{again}"
    );
    let replay = app.create(&key, "first-key", input("order-7", "1000")).await;
    assert_eq!(
        replay["data"]["createPayment"]["id"], first["data"]["createPayment"]["id"],
        "the same key still replays"
    );
    let elsewhere = app
        .create(&other_key, "first-key", input("order-7", "1000"))
        .await;
    assert!(
        elsewhere["errors"].is_null(),
        "another merchant's order 7: {elsewhere}"
    );
    assert_eq!(app.payment_count().await, 2);
}

async fn a_malformed_settlement_amount_does_not_make_a_paid_notification_unreadable(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let (_, key) = app.merchant("Cafe");
    let (id, request_id) = awaiting_payment(&app, &key, "fx", 599).await;
    let mut malformed_money = notification(&request_id, "S", Some("1000"));
    malformed_money["paymentAmount"]["value"] = json!("10.00");
    let refused = send_signed_notification(&app, malformed_money).await;
    assert_ne!(
        refused["result"]["resultStatus"], "S",
        "a money field is strict: {refused}"
    );

    let mut body = notification(&request_id, "S", Some("1000"));
    body["settlementAmount"] = json!({ "currency": "KRW", "value": "13,450.5" });
    body["settlementQuote"] = json!({ "quoteId": 12, "quotePrice": "1345.05" });
    let answer = send_signed_notification(&app, body).await;
    assert_eq!(answer["result"]["resultStatus"], "S", "{answer}");
    let payment = app.payment(&key, &id).await;
    assert_eq!(payment["status"], "SUCCEEDED", "{payment:#}");
}

async fn an_app_payment_shows_the_links_that_open_the_wallet(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let (_, key) = app.merchant("Cafe");
    let mut payment = input("in-app", "1000");
    payment["terminalType"] = json!("APP");
    payment["osType"] = json!("ANDROID");
    let created = app.create(&key, "in-app", payment).await;
    let id = created["data"]["createPayment"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    app.wait_status(&key, &id, "AWAITING_CUSTOMER").await;
    let query = "query($id: ID!) { payment(id: $id) { checkoutUrl applinkUrl schemeUrl paymentData } }";
    let links = app.gql(Some(&key), query, json!({ "id": id })).await["data"]["payment"].clone();
    for field in ["checkoutUrl", "applinkUrl", "schemeUrl", "paymentData"] {
        assert!(links[field].is_string(), "{field}: {links:#}");
    }
    assert!(
        links["schemeUrl"]
            .as_str()
            .unwrap()
            .starts_with("alipayplus-simulator://")
    );
}

async fn an_expiry_of_ten_minutes_or_more_is_refused(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let (_, key) = app.merchant("Cafe");
    let mut payment = input("ten-minutes", "1000");
    payment["expiresInSeconds"] = json!(600);
    let refused = app.create(&key, "ten-minutes", payment.clone()).await;
    let error = &refused["errors"][0]["extensions"];
    assert_eq!(
        (error["code"].as_str(), error["field"].as_str()),
        (Some("VALIDATION"), Some("expiresInSeconds"))
    );
    assert_eq!(app.payment_count().await, 0);
    payment["expiresInSeconds"] = json!(599);
    let accepted = app.create(&key, "just-under", payment).await;
    assert!(accepted["errors"].is_null(), "{accepted}");
}

/// A payment created a year and a day ago but paid only now (settled late, as after a refused
/// cancel or by an operator) still has its whole refund year.
async fn the_refund_window_counts_from_the_success_not_from_the_creation(backend: Backend) {
    use sea_orm::{ConnectionTrait, Statement};
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let (_, key) = app.merchant("Cafe");
    let (id, _) = app.paid_payment(&key, "old-order", "1000").await;
    let long_ago = chrono::Utc::now() - chrono::Duration::days(366);
    let db = &app.engine.db;
    let backend = db.get_database_backend();
    let sql = match backend {
        sea_orm::DbBackend::Postgres => "UPDATE payments SET created_at = $1 WHERE id = $2",
        _ => "UPDATE payments SET created_at = ? WHERE id = ?",
    };
    let id_value = uuid::Uuid::parse_str(&id).unwrap();
    db.execute_raw(Statement::from_sql_and_values(
        backend,
        sql,
        [long_ago.into(), id_value.into()],
    ))
    .await
    .unwrap();
    let refund = app.refund(&key, "late-refund", &id, "USD", "400").await;
    assert!(
        refund["errors"].is_null(),
        "within a year of the success: {refund}"
    );
}
