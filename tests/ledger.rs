//! The ledger and merchant statements, on SQLite and on PostgreSQL + Redis, through the real
//! API, the simulator and the command line: payments, a refund and a dispute escalation's refund
//! of two merchants (one charged a 2.5% fee) leave every currency's debits equal to its credits;
//! each journal is written once whatever the notifications and polls repeat; a merchant's
//! statement is its payments less refunds, dispute refunds and fees, in GraphQL (its own only)
//! and in the CSV files `plusflow statements` writes.

mod common;

use std::time::Duration;

use plusflow::store::entity::ledger_entry;
use plusflow::store::ledger;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};

use common::app::*;
use common::{Backend, poll_until};

on_each_backend!(the_books_balance_and_a_statement_is_payments_less_refunds_and_fees);

const STATEMENT: &str = "query($merchant: ID!, $date: String!) { merchantStatement(merchantId: $merchant, date: $date) { \
                         merchantId date lines { currency gross { value } refunds { value } disputeRefunds { value } \
                         fees { value } net { currency value } } } }";

async fn statement(app: &App, key: &str, merchant: &str, date: &str) -> Value {
    app.gql(
        Some(key),
        STATEMENT,
        json!({ "merchant": merchant, "date": date }),
    )
    .await
}

/// Waits until the payment's dispute is `status`: the dispute as shown.
async fn dispute_in(app: &App, key: &str, payment: &str, status: &str) -> Value {
    let query = "query($id: ID!) { payment(id: $id) { disputes { id status } } }";
    poll_until(
        &format!("the dispute to be {status}"),
        Duration::from_secs(30),
        || async {
            let shown = app.gql(Some(key), query, json!({ "id": payment })).await;
            let dispute = shown["data"]["payment"]["disputes"][0].clone();
            (dispute["status"] == status).then_some(dispute)
        },
    )
    .await
}

async fn the_books_balance_and_a_statement_is_payments_less_refunds_and_fees(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let day = clearing_day_now().await;
    let date = format!("{}-{}-{}", &day[..4], &day[4..6], &day[6..]);
    let (shop, key) = app.merchant("Charged shop");
    let fee = app.plusflow(&["merchant", "fee", "--merchant", &shop, "--basis-points", "250"]);
    assert_eq!(fee["feeBasisPoints"], 250, "{fee}");
    let (other, other_key) = app.merchant("Free shop");

    // Shop: 10.00 and 20.00 paid; 5.00 of the first refunded; an escalation on the second
    // accepted for 4.00 (a dispute refund). Other: 3.00 paid.
    let (first, _) = app.paid_payment(&key, "first", "1000").await;
    let (second, second_request) = app.paid_payment(&key, "second", "2000").await;
    let refunded = app.refund(&key, "r-1", &first, "USD", "500").await;
    assert!(refunded["errors"].is_null(), "{refunded}");
    app.raise_dispute(
        &second_request,
        json!({ "kind": "ESCALATION", "amount": { "currency": "USD", "value": "400" } }),
    )
    .await;
    let dispute = dispute_in(&app, &key, &second, "NEEDS_RESPONSE").await;
    let accepted = app
        .gql(
            Some(&key),
            "mutation($input: RespondToEscalationInput!, $key: String!) { respondToEscalation(input: $input, idempotencyKey: $key) { status } }",
            json!({ "key": "accept-1", "input": { "disputeId": dispute["id"], "decision": "ACCEPT_REFUND",
                    "refundAmount": { "currency": "USD", "value": "400" }, "remarks": "damaged" } }),
        )
        .await;
    assert!(accepted["errors"].is_null(), "{accepted}");
    app.paid_payment(&other_key, "other", "300").await;
    app.settled_refunds(&key, &first).await;
    app.settled_refunds(&key, &second).await;

    // Every journal once: two payments and two refunds of the shop, one payment of the other.
    let db = &app.engine.db;
    let journals = |merchant: &str, source: ledger::Source| {
        let merchant: uuid::Uuid = merchant.parse().unwrap();
        ledger_entry::Entity::find()
            .filter(ledger_entry::Column::MerchantId.eq(merchant))
            .filter(ledger_entry::Column::Source.eq(source.as_str()))
            .filter(ledger_entry::Column::Account.eq("merchant_payable"))
            .count(db)
    };
    assert_eq!(
        journals(&shop, ledger::Source::PaymentSucceeded).await.unwrap(),
        2
    );
    assert_eq!(journals(&shop, ledger::Source::RefundSucceeded).await.unwrap(), 1);
    assert_eq!(
        journals(&shop, ledger::Source::DisputeRefundSucceeded)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        journals(&other, ledger::Source::PaymentSucceeded).await.unwrap(),
        1
    );
    // Debits equal credits in every currency, over the whole ledger and each merchant's.
    let whole = ledger::imbalance(db, None).await.unwrap();
    assert!(whole.values().all(|difference| *difference == 0), "{whole:?}");
    assert!(
        whole.contains_key("USD"),
        "the ledger has the day's lines: {whole:?}"
    );
    for merchant in [&shop, &other] {
        let of_merchant = ledger::imbalance(db, Some(merchant.parse().unwrap()))
            .await
            .unwrap();
        assert!(of_merchant.values().all(|d| *d == 0), "{of_merchant:?}");
    }

    // The shop's day: 3000 gross, 500 refunded, 400 by the dispute, fees 25 + 50, net 2025.
    let shown = statement(&app, &key, &shop, &date).await;
    let lines = &shown["data"]["merchantStatement"]["lines"];
    assert_eq!(lines.as_array().map(Vec::len), Some(1), "{shown}");
    let usd = &lines[0];
    assert_eq!(usd["currency"], "USD");
    assert_eq!(
        [
            &usd["gross"],
            &usd["refunds"],
            &usd["disputeRefunds"],
            &usd["fees"]
        ]
        .map(|m| m["value"].clone()),
        ["3000", "500", "400", "75"].map(Value::from)
    );
    assert_eq!(usd["net"], json!({ "currency": "USD", "value": "2025" }));
    // The same from an operator, given the reports' date form; the other merchant pays no fee.
    let by_operator = statement(&app, ADMIN_KEY, &shop, &day).await;
    assert_eq!(
        by_operator["data"]["merchantStatement"]["lines"], *lines,
        "{by_operator}"
    );
    let free = statement(&app, &other_key, &other, &date).await;
    assert_eq!(
        free["data"]["merchantStatement"]["lines"][0]["net"]["value"],
        "300"
    );
    assert_eq!(
        free["data"]["merchantStatement"]["lines"][0]["fees"]["value"],
        "0"
    );
    // A merchant reads only its own; a date that is not one is refused.
    let others = statement(&app, &other_key, &shop, &date).await;
    assert_eq!(others["errors"][0]["extensions"]["code"], "FORBIDDEN", "{others}");
    assert!(others["data"].is_null(), "{others}");
    let bad = statement(&app, &key, &shop, "yesterday").await;
    assert_eq!(bad["errors"][0]["extensions"]["code"], "VALIDATION", "{bad}");
    let before = statement(&app, &key, &shop, "2020-01-01").await;
    assert_eq!(before["data"]["merchantStatement"]["lines"], json!([]));

    // The command line writes one CSV per merchant of the day, with the same figures.
    let out = tempfile::tempdir().unwrap();
    let written = app.plusflow(&[
        "statements",
        "--date",
        &day,
        "--out",
        out.path().to_str().unwrap(),
    ]);
    assert_eq!(written["files"].as_array().map(Vec::len), Some(2), "{written}");
    let file = out.path().join(format!("statement-{date}-{shop}.csv"));
    assert!(
        written["files"]
            .as_array()
            .unwrap()
            .contains(&json!(file.display().to_string()))
    );
    let csv = std::fs::read_to_string(&file).unwrap();
    assert_eq!(
        csv.lines().collect::<Vec<_>>(),
        [
            "merchant_id,date,currency,gross,refunds,dispute_refunds,fees,net".to_string(),
            format!("{shop},{date},USD,3000,500,400,75,2025"),
        ]
    );
}
