//! Reconciliation over the real command line and the operators' GraphQL, on SQLite and on
//! PostgreSQL + Redis: the simulator writes a day's four report files from its ledger
//! (`plusflow simulator reports`), `plusflow reconcile` matches them against plusflow's records.
//! A day of payments and refunds reconciles with no discrepancy, and the same files again are
//! the same run; each kind of discrepancy injected once is reported once with its reference; a
//! corrected file supersedes the run with the change recorded; a malformed row is reported with
//! its file and line; a payment Alipay+ reports but plusflow has not settled starts its inquiry,
//! and its reconciliation case closes when that settles it. Each discrepancy opens a case
//! (tests/reconciliation_cases.rs shows cases and settlement batches in full).

mod common;

use std::time::Duration;

use serde_json::{Value, json};

use common::app::*;
use common::{Backend, poll_until};

on_each_backend!(
    a_day_of_payments_and_refunds_reconciles_and_the_same_files_are_the_same_run,
    each_discrepancy_kind_injected_once_is_reported_once_with_its_reference,
    a_corrected_file_supersedes_the_run_with_what_changed,
    a_malformed_row_is_reported_with_its_file_and_line,
    a_payment_in_the_report_that_is_not_final_here_starts_its_inquiry,
    files_dropped_in_the_drop_folder_are_reconciled_on_schedule,
    a_day_in_several_currencies_reconciles_and_settlement_amounts_and_wallets_are_checked,
    only_regular_report_files_are_read_and_a_line_without_end_is_bounded,
    a_report_file_over_the_size_cap_is_not_read,
);

const RUN: &str = "id kind reportDate agreementId files status rowsRead matched discrepancyCount supersedes \
    supersededBy changes discrepancies(first: 100) { edges { node { kind reference ours theirs detail file line } } }";

async fn run(app: &App, id: &str) -> Value {
    let answer = app
        .gql(
            Some(ADMIN_KEY),
            &format!("query($id: ID!) {{ reconciliationRun(id: $id) {{ {RUN} }} }}"),
            json!({ "id": id }),
        )
        .await;
    answer["data"]["reconciliationRun"].clone()
}

fn discrepancies(run: &Value) -> Vec<Value> {
    run["discrepancies"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"].clone())
        .collect()
}

/// The discrepancy kinds of the open reconciliation cases (each discrepancy opens one).
async fn open_case_kinds(app: &App) -> Vec<String> {
    let answer = app
        .gql(
            Some(ADMIN_KEY),
            "{ reconciliationCases(status: \"OPEN\", first: 100) { edges { node { discrepancy { kind } } } } }",
            json!({}),
        )
        .await;
    let mut kinds: Vec<String> = answer["data"]["reconciliationCases"]["edges"]
        .as_array()
        .unwrap_or_else(|| panic!("{answer}"))
        .iter()
        .map(|edge| edge["node"]["discrepancy"]["kind"].as_str().unwrap().to_string())
        .collect();
    kinds.sort();
    kinds
}

/// Three paid payments (one refunded in two parts, one in full), one declined: their
/// paymentRequestIds in payment order, and the declined one's.
async fn a_day(app: &App) -> (Vec<String>, String) {
    let (_, key) = app.merchant("Reconciled Coffee");
    let mut paid = Vec::new();
    for (n, value) in ["1250", "800", "4200"].iter().enumerate() {
        let (id, request_id) = app.paid_payment(&key, &format!("rec-{n}"), value).await;
        paid.push((id, request_id));
    }
    app.refund(&key, "rec-r1", &paid[0].0, "USD", "500").await;
    app.refund(&key, "rec-r2", &paid[0].0, "USD", "750").await;
    app.refund(&key, "rec-r3", &paid[1].0, "USD", "800").await;
    for (id, _) in &paid[..2] {
        app.settled_refunds(&key, id).await;
    }
    let request_id = app.declined_payment(&key, "rec-declined", "999").await;
    (
        paid.into_iter().map(|(_, request_id)| request_id).collect(),
        request_id,
    )
}

async fn a_day_of_payments_and_refunds_reconciles_and_the_same_files_are_the_same_run(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let day = clearing_day_now().await;
    a_day(&app).await;
    let dir = tempfile::tempdir().unwrap();
    let files = app.simulator_reports(dir.path(), &day, &[]).await;
    assert_eq!(
        files.len(),
        3,
        "the clearing files (settlement has its own calendar): {files:?}"
    );
    let first = app.reconcile(dir.path(), &day).await;
    assert_eq!(first["discrepancies"], 0, "{first}");
    assert_eq!(first["rows_read"], 6, "3 payments and 3 refunds: {first}");
    assert_eq!(first["matched"], 6);
    let id = first["run_id"].as_str().unwrap();
    let reconciled = run(&app, id).await;
    assert_eq!(reconciled["status"], "RECONCILED", "{reconciled}");
    assert_eq!(reconciled["reportDate"], day);
    assert_eq!(reconciled["files"].as_array().unwrap().len(), 3);

    let again = app.reconcile(dir.path(), &day).await;
    assert_eq!(again["run_id"], id);
    assert_eq!(again["again"], true);
    let runs = app
        .gql(
            Some(ADMIN_KEY),
            "{ reconciliationRuns { edges { node { id } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        runs["data"]["reconciliationRuns"]["edges"]
            .as_array()
            .unwrap()
            .len(),
        1,
        "{runs}"
    );
    // Operators only.
    let (_, merchant_key) = app.merchant("Curious Merchant");
    let refused = app
        .gql(
            Some(&merchant_key),
            "{ reconciliationRuns { edges { node { id } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        refused["errors"][0]["extensions"]["code"], "FORBIDDEN",
        "{refused}"
    );
}

/// The reference a discrepancy must name, given the files written.
type Reference<'a> = Box<dyn Fn(&[String]) -> String + 'a>;

async fn each_discrepancy_kind_injected_once_is_reported_once_with_its_reference(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let day = clearing_day_now().await;
    let (paid, declined) = a_day(&app).await;
    let items_file = |files: &[String]| {
        files
            .iter()
            .find(|f| f.starts_with("transactionItems_"))
            .unwrap()
            .clone()
    };
    let fees_file = |files: &[String]| files.iter().find(|f| f.starts_with("feeItems_")).unwrap().clone();
    // The first payment row is the first paid payment.
    let cases: [(&str, &str, Reference); 8] = [
        (
            "missing-in-plusflow",
            "MISSING_IN_PLUSFLOW",
            Box::new(|_| format!("pf_{:032x}", 0xbad)),
        ),
        (
            "missing-in-report",
            "MISSING_IN_REPORT",
            Box::new(|_| paid[0].clone()),
        ),
        (
            "amount-mismatch",
            "AMOUNT_MISMATCH",
            Box::new(|_| paid[0].clone()),
        ),
        (
            "currency-mismatch",
            "CURRENCY_MISMATCH",
            Box::new(|_| paid[0].clone()),
        ),
        (
            "status-mismatch",
            "STATUS_MISMATCH",
            Box::new(|_| declined.clone()),
        ),
        (
            "duplicate-in-report",
            "DUPLICATE_IN_REPORT",
            Box::new(|_| paid[0].clone()),
        ),
        ("fee-mismatch", "FEE_MISMATCH", Box::new(fees_file)),
        ("totals-mismatch", "TOTALS_MISMATCH", Box::new(items_file)),
    ];
    for (injection, kind, reference) in cases {
        let dir = tempfile::tempdir().unwrap();
        let files = app.simulator_reports(dir.path(), &day, &[injection]).await;
        let outcome = app.reconcile(dir.path(), &day).await;
        assert_eq!(outcome["discrepancies"], 1, "{injection}: {outcome}");
        let found = discrepancies(&run(&app, outcome["run_id"].as_str().unwrap()).await);
        assert_eq!(found.len(), 1, "{injection}: {found:?}");
        assert_eq!(found[0]["kind"], kind, "{injection}: {found:?}");
        assert_eq!(found[0]["reference"], reference(&files), "{injection}: {found:?}");
    }
}

async fn a_corrected_file_supersedes_the_run_with_what_changed(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let day = clearing_day_now().await;
    a_day(&app).await;
    let dir = tempfile::tempdir().unwrap();
    app.simulator_reports(dir.path(), &day, &["amount-mismatch"])
        .await;
    let wrong = app.reconcile(dir.path(), &day).await;
    assert_eq!(wrong["discrepancies"], 1);
    // Alipay+ delivers the corrected files in their place.
    app.simulator_reports(dir.path(), &day, &[]).await;
    let corrected = app.reconcile(dir.path(), &day).await;
    assert_eq!(corrected["discrepancies"], 0, "{corrected}");
    assert_ne!(corrected["run_id"], wrong["run_id"]);
    let now = run(&app, corrected["run_id"].as_str().unwrap()).await;
    assert_eq!(now["supersedes"], wrong["run_id"]);
    let changes = now["changes"].as_str().unwrap();
    assert!(
        changes.contains("transactionItems_") && changes.contains("discrepancies 1 -> 0"),
        "{changes}"
    );
    let before = run(&app, wrong["run_id"].as_str().unwrap()).await;
    assert_eq!(before["supersededBy"], corrected["run_id"]);
}

async fn a_malformed_row_is_reported_with_its_file_and_line(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let day = clearing_day_now().await;
    let (paid, _) = a_day(&app).await;
    let dir = tempfile::tempdir().unwrap();
    let files = app.simulator_reports(dir.path(), &day, &[]).await;
    let items = files.iter().find(|f| f.starts_with("transactionItems_")).unwrap();
    let path = dir.path().join(items);
    let text = std::fs::read_to_string(&path).unwrap();
    let line = text.lines().position(|l| l.contains(&paid[1])).unwrap() + 1;
    let broken: Vec<String> = text
        .lines()
        .map(|l| {
            if l.contains(&paid[1]) {
                l.replace(",800,", ",8.00,")
            } else {
                l.to_string()
            }
        })
        .collect();
    std::fs::write(&path, broken.join("\n") + "\n").unwrap();
    let outcome = app.reconcile(dir.path(), &day).await;
    let found = discrepancies(&run(&app, outcome["run_id"].as_str().unwrap()).await);
    let malformed: Vec<&Value> = found.iter().filter(|d| d["kind"] == "MALFORMED_ROW").collect();
    assert_eq!(malformed.len(), 1, "{found:?}");
    assert_eq!(malformed[0]["file"], items.as_str());
    assert_eq!(malformed[0]["line"], line as i64);
    assert!(
        malformed[0]["detail"]
            .as_str()
            .unwrap()
            .contains("'8.00' is not an integer amount"),
        "{malformed:?}"
    );
    // A case for each discrepancy found, the malformed row's among them.
    let mut kinds: Vec<String> = found
        .iter()
        .map(|d| d["kind"].as_str().unwrap().to_string())
        .collect();
    kinds.sort();
    assert_eq!(open_case_kinds(&app).await, kinds);
}

async fn a_payment_in_the_report_that_is_not_final_here_starts_its_inquiry(backend: Backend) {
    let Some(app) = spawn_app_refusing(backend, "inquiryPayment").await else {
        return;
    };
    let day = clearing_day_now().await;
    let (_, key) = app.merchant("Unsettled Coffee");
    let (id, request_id) = app
        .create_ids(&key, "unsettled", input("unsettled", "1500"))
        .await;
    app.wait_status(&key, &id, "AWAITING_CUSTOMER").await;
    // Paid at Alipay+, its notification lost, and plusflow cannot ask.
    app.complete(&request_id, json!({ "outcome": "SUCCESS", "notify": false }))
        .await;
    let dir = tempfile::tempdir().unwrap();
    app.simulator_reports(dir.path(), &day, &[]).await;
    app.let_through("inquiryPayment");
    let outcome = app.reconcile(dir.path(), &day).await;
    let found = discrepancies(&run(&app, outcome["run_id"].as_str().unwrap()).await);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0]["kind"], "STATUS_MISMATCH");
    assert_eq!(found[0]["reference"], request_id.as_str());
    assert!(
        found[0]["detail"]
            .as_str()
            .unwrap()
            .contains("its inquiry starts now"),
        "{found:?}"
    );
    // The reconciliation's retry runs the waiting inquiry at once: SUCCEEDED long before its
    // backoff would have asked again.
    let paid = app.wait_status(&key, &id, "SUCCEEDED").await;
    let history = paid["workflow"]["history"].as_array().unwrap();
    assert!(
        history.iter().any(|h| h["actor"] == "reconciliation"),
        "{history:?}"
    );
    // Its reconciliation case waited for that inquiry and closed with it.
    let closed = poll_until("its case to close", Duration::from_secs(60), || async {
        let answer = app
            .gql(
                Some(ADMIN_KEY),
                "{ reconciliationCases { edges { node { status discrepancy { kind reference } \
                   workflow { history { event outcome detail } } } } } }",
                json!({}),
            )
            .await;
        let node = answer["data"]["reconciliationCases"]["edges"][0]["node"].clone();
        (node["status"] == "RESOLVED").then_some(node)
    })
    .await;
    assert_eq!(closed["discrepancy"]["kind"], "STATUS_MISMATCH");
    assert_eq!(closed["discrepancy"]["reference"], request_id.as_str());
    let settled_by_inquiry = closed["workflow"]["history"]
        .as_array()
        .unwrap()
        .iter()
        .any(|row| {
            row["event"] == "subject_settled"
                && row["outcome"] == "TRANSITIONED"
                && row["detail"].as_str().unwrap_or_default().contains(&id)
        });
    assert!(settled_by_inquiry, "{closed}");
}

async fn files_dropped_in_the_drop_folder_are_reconciled_on_schedule(backend: Backend) {
    let drop = tempfile::tempdir().unwrap();
    let config = format!(
        "[reconciliation]\ndrop_dir = \"{}\"\nscan_interval = \"200ms\"\n",
        drop.path().display()
    );
    let setup = Setup {
        extra_config: Box::leak(config.into_boxed_str()),
        ..Setup::default()
    };
    let Some(app) = spawn_app_with(backend, setup).await else {
        return;
    };
    let day = clearing_day_now().await;
    a_day(&app).await;
    // Alipay+ names the folder by the day it generated the files: the day after.
    let generated = (chrono::NaiveDate::parse_from_str(&day, "%Y%m%d").unwrap() + chrono::Duration::days(1))
        .format("%Y%m%d")
        .to_string();
    let staging = tempfile::tempdir().unwrap();
    app.simulator_reports(staging.path(), &day, &[]).await;
    // Moved in whole, as a download completes.
    std::fs::rename(staging.path(), drop.path().join(&generated)).unwrap();
    let reconciled = poll_until(
        "the dropped files to be reconciled",
        Duration::from_secs(60),
        || async {
            let runs = app
            .gql(
                Some(ADMIN_KEY),
                "{ reconciliationRuns { edges { node { reportDate status rowsRead discrepancyCount } } } }",
                json!({}),
            )
            .await;
            let node = runs["data"]["reconciliationRuns"]["edges"][0]["node"].clone();
            (node["status"] == "RECONCILED").then_some(node)
        },
    )
    .await;
    assert_eq!(reconciled["reportDate"], day);
    assert_eq!(reconciled["rowsRead"], 6);
    assert_eq!(reconciled["discrepancyCount"], 0);
}

/// Payments in dollars settled in won beside payments in won, and a payment in dollars: the won
/// agreement's items are in two currencies and its summary, fees and settlement in won; nothing
/// is added across currencies, so the day reconciles clean. A settlement amount other than the
/// one Alipay+ stated, and another wallet's pspId, are each reported against the payment.
async fn a_day_in_several_currencies_reconciles_and_settlement_amounts_and_wallets_are_checked(
    backend: Backend,
) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let day = clearing_day_now().await;
    let (_, key) = app.merchant("Seoul Coffee");
    let paid_with = |order: &str, currency: &str, value: &str, settle_in: Option<&str>, wallet: &str| {
        let mut payment = input(order, value);
        payment["amount"]["currency"] = json!(currency);
        if let Some(settle_in) = settle_in {
            payment["settlementCurrency"] = json!(settle_in);
        }
        let (app, key, order, wallet) = (&app, &key, order.to_string(), wallet.to_string());
        async move {
            app.paid_with(
                key,
                &order,
                payment,
                json!({ "outcome": "SUCCESS", "wallet": wallet }),
            )
            .await
        }
    };
    let (dollars_in_won, first) = paid_with("fx-1", "USD", "1000", Some("KRW"), "KAKAOPAY").await;
    paid_with("fx-2", "USD", "2550", Some("KRW"), "KAKAOPAY").await;
    paid_with("won-1", "KRW", "15000", None, "GCASH").await;
    paid_with("usd-1", "USD", "700", None, "GCASH").await;
    app.refund(&key, "fx-r1", &dollars_in_won, "USD", "400").await;
    app.settled_refunds(&key, &dollars_in_won).await;

    let dir = tempfile::tempdir().unwrap();
    let files = app.simulator_reports(dir.path(), &day, &[]).await;
    assert_eq!(files.len(), 6, "a won and a dollar agreement: {files:?}");
    let clean = app.reconcile(dir.path(), &day).await;
    let mut found = Vec::new();
    for id in clean["runs"].as_array().unwrap() {
        found.extend(discrepancies(&run(&app, id.as_str().unwrap()).await));
    }
    assert_eq!(clean["discrepancies"], 0, "{clean} {found:?}");
    assert_eq!(clean["matched"], 5, "4 payments and a refund: {clean}");

    for (injection, kind) in [
        ("settlement-amount-mismatch", "SETTLEMENT_AMOUNT_MISMATCH"),
        ("wallet-mismatch", "WALLET_MISMATCH"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        app.simulator_reports(dir.path(), &day, &[injection]).await;
        let outcome = app.reconcile(dir.path(), &day).await;
        assert_eq!(outcome["discrepancies"], 1, "{injection}: {outcome}");
        let runs = outcome["runs"].as_array().unwrap();
        let mut found = Vec::new();
        for id in runs {
            found.extend(discrepancies(&run(&app, id.as_str().unwrap()).await));
        }
        assert_eq!(found.len(), 1, "{injection}: {found:?}");
        assert_eq!(found[0]["kind"], kind, "{injection}: {found:?}");
        assert_eq!(found[0]["reference"], first.as_str(), "{injection}: {found:?}");
        // Its case is the one open: the run before's closed when this one no longer showed it.
        assert_eq!(open_case_kinds(&app).await, [kind], "{injection}");
    }
}

/// Issue 29, items 6 and 8 (in part): a symlink to `/etc/passwd`, a FIFO and a directory named
/// like reports, and a file whose name is not the grammar (a terminal escape), are left alone;
/// a report line without end is one bad row, cut, not a file held whole.
async fn only_regular_report_files_are_read_and_a_line_without_end_is_bounded(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let day = clearing_day_now().await;
    a_day(&app).await;
    let dir = tempfile::tempdir().unwrap();
    app.simulator_reports(dir.path(), &day, &[]).await;
    let hostile = |name: &str| {
        dir.path()
            .join(format!("feeItems_P1_USD_{day}EVIL_{name}_000.csv"))
    };
    std::os::unix::fs::symlink("/etc/passwd", hostile("LINK")).unwrap();
    std::fs::create_dir(hostile("DIR")).unwrap();
    let fifo = hostile("FIFO");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    std::fs::write(
        dir.path()
            .join(format!("summary_P1_USD_{day}_\u{1b}]0;pwned\u{7}_000.csv")),
        "x",
    )
    .unwrap();
    let outcome = app.reconcile(dir.path(), &day).await;
    assert_eq!(
        outcome["discrepancies"], 0,
        "only the real files were read: {outcome}"
    );
    assert_eq!(outcome["runs"].as_array().unwrap().len(), 1, "{outcome}");

    // One line of 300 KiB in place of the fee file: a bad row with its line, a detail cut short.
    let fees = std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .map(|entry| entry.path())
        .find(|path| {
            let name = path.file_name().unwrap().to_str().unwrap();
            name.starts_with("feeItems_") && path.is_file() && !path.is_symlink() && !name.contains("EVIL")
        })
        .unwrap();
    std::fs::write(&fees, vec![b'9'; 300 * 1024]).unwrap();
    let outcome = app.reconcile(dir.path(), &day).await;
    let found = discrepancies(&run(&app, outcome["run_id"].as_str().unwrap()).await);
    let bad: Vec<&Value> = found.iter().filter(|d| d["kind"] == "MALFORMED_ROW").collect();
    assert_eq!(bad.len(), 1, "{found:?}");
    assert!(
        bad[0]["detail"].as_str().unwrap().contains("longer than"),
        "{found:?}"
    );
    assert!(bad[0]["detail"].as_str().unwrap().len() < 2_000);
}

/// Issue 29, item 6: a file larger than `reconciliation.max_file_bytes` is one bad row (line 0)
/// naming the cap, and none of its rows is read.
async fn a_report_file_over_the_size_cap_is_not_read(backend: Backend) {
    let setup = Setup {
        extra_config: "\n[reconciliation]\nmax_file_bytes = 100000\n",
        ..Setup::default()
    };
    let Some(app) = spawn_app_with(backend, setup).await else {
        return;
    };
    let day = clearing_day_now().await;
    a_day(&app).await;
    let dir = tempfile::tempdir().unwrap();
    app.simulator_reports(dir.path(), &day, &[]).await;
    let fees = std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .map(|entry| entry.path())
        .find(|path| {
            path.file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .starts_with("feeItems_")
        })
        .unwrap();
    // Valid rows at first, then more than the cap allows.
    let mut text = std::fs::read_to_string(&fees).unwrap();
    while text.len() <= 100_000 {
        text.push('\n');
    }
    std::fs::write(&fees, text).unwrap();
    let outcome = app.reconcile(dir.path(), &day).await;
    let found = discrepancies(&run(&app, outcome["run_id"].as_str().unwrap()).await);
    let bad: Vec<&Value> = found.iter().filter(|d| d["kind"] == "MALFORMED_ROW").collect();
    assert_eq!(bad.len(), 1, "{found:?}");
    assert!(
        bad[0]["detail"].as_str().unwrap().contains("at most 100000"),
        "{found:?}"
    );
    assert_eq!(bad[0]["line"], 0, "{found:?}");
}
