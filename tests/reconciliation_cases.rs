//! Reconciliation cases and settlement batches over the real command line and GraphQL, on
//! SQLite and on PostgreSQL + Redis: each discrepancy kind opens one case and a later run of the
//! day that no longer shows it closes it, naming the run; settlement files, on business days,
//! cover several clearing days, each checked against its day's run; finance's work needs the `finance`
//! role and a note; cases are in the stuck list and the overview, and one past its due date is
//! parked there as overdue (a case about a payment not final here closing with its inquiry is
//! in tests/reconciliation.rs); a settlement batch covering a weekend matches the ledger and settles its lines,
//! and one cent less in the file is reported with its difference.

mod common;

use std::time::Duration;

use chrono::{DateTime, Utc};
use plusflow::clock::ManualClock;
use serde_json::{Value, json};

use common::app::*;
use common::operators::key_with_role;
use common::{Backend, poll_until};

on_each_backend!(
    each_discrepancy_kind_opens_one_case_and_a_later_run_without_it_closes_it,
    finance_assigns_and_writes_off_a_case_with_a_note_and_nobody_else_can,
    a_weekend_batch_matches_the_ledger_and_one_cent_less_is_reported_with_its_difference,
);

const CASE: &str = "id status owner dueAt reportDate runKind runId discrepancy { kind reference ours theirs detail } \
    workflow { state history { event actor outcome detail } }";

async fn cases(app: &App, status: Option<&str>) -> Vec<Value> {
    let answer = app
        .gql(
            Some(ADMIN_KEY),
            &format!(
                "query($s: String) {{ reconciliationCases(status: $s, first: 100) {{ edges {{ node {{ {CASE} }} }} }} }}"
            ),
            json!({ "s": status }),
        )
        .await;
    answer["data"]["reconciliationCases"]["edges"]
        .as_array()
        .unwrap_or_else(|| panic!("{answer}"))
        .iter()
        .map(|edge| edge["node"].clone())
        .collect()
}

async fn case(app: &App, id: &str) -> Value {
    cases(app, None)
        .await
        .into_iter()
        .find(|case| case["id"] == id)
        .unwrap_or_else(|| panic!("no case {id}"))
}

/// Two paid payments, a refund of the first and a declined payment.
async fn a_day(app: &App) {
    let (_, key) = app.merchant("Cased Coffee");
    let (first, _) = app.paid_payment(&key, "case-0", "1250").await;
    app.paid_payment(&key, "case-1", "800").await;
    app.refund(&key, "case-r1", &first, "USD", "500").await;
    app.settled_refunds(&key, &first).await;
    app.declined_payment(&key, "case-declined", "999").await;
}

/// The history row of `case` that `event` wrote.
fn history_of<'a>(case: &'a Value, event: &str) -> Option<&'a Value> {
    case["workflow"]["history"]
        .as_array()
        .unwrap()
        .iter()
        .find(|row| row["event"] == event && row["outcome"] == "TRANSITIONED")
}

async fn each_discrepancy_kind_opens_one_case_and_a_later_run_without_it_closes_it(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let day = clearing_day_now().await;
    a_day(&app).await;
    let injections = [
        ("missing-in-plusflow", "MISSING_IN_PLUSFLOW"),
        ("missing-in-report", "MISSING_IN_REPORT"),
        ("amount-mismatch", "AMOUNT_MISMATCH"),
        ("currency-mismatch", "CURRENCY_MISMATCH"),
        ("status-mismatch", "STATUS_MISMATCH"),
        ("duplicate-in-report", "DUPLICATE_IN_REPORT"),
        ("fee-mismatch", "FEE_MISMATCH"),
        ("totals-mismatch", "TOTALS_MISMATCH"),
    ];
    let mut earlier: Option<String> = None;
    for (injection, kind) in injections {
        let dir = tempfile::tempdir().unwrap();
        app.simulator_reports(dir.path(), &day, &[injection]).await;
        let outcome = app.reconcile(dir.path(), &day).await;
        assert_eq!(outcome["discrepancies"], 1, "{injection}: {outcome}");
        let run_id = outcome["run_id"].as_str().unwrap();
        let open = cases(&app, Some("OPEN")).await;
        assert_eq!(open.len(), 1, "{injection}: one case open: {open:?}");
        assert_eq!(open[0]["discrepancy"]["kind"], kind, "{injection}: {open:?}");
        assert_eq!(open[0]["runId"], run_id);
        assert_eq!(open[0]["reportDate"], day);
        // The case the run before opened is closed by this run, which no longer shows it.
        if let Some(earlier) = earlier.replace(open[0]["id"].as_str().unwrap().to_string()) {
            let closed = case(&app, &earlier).await;
            assert_eq!(closed["status"], "RESOLVED", "{injection}: {closed}");
            let row = history_of(&closed, "discrepancy_cleared").expect("closed by a run");
            assert_eq!(row["actor"], "reconciliation");
            assert!(row["detail"].as_str().unwrap().contains(run_id), "{row}");
        }
    }
    // The corrected files close the last one; the same files again change nothing.
    let dir = tempfile::tempdir().unwrap();
    app.simulator_reports(dir.path(), &day, &[]).await;
    let clean = app.reconcile(dir.path(), &day).await;
    assert_eq!(clean["discrepancies"], 0, "{clean}");
    assert!(cases(&app, Some("OPEN")).await.is_empty());
    let last = case(&app, earlier.as_deref().unwrap()).await;
    assert_eq!(last["status"], "RESOLVED", "{last}");
    assert_eq!(cases(&app, Some("RESOLVED")).await.len(), injections.len());
    let again = app.reconcile(dir.path(), &day).await;
    assert_eq!(again["again"], true);
    assert_eq!(cases(&app, None).await.len(), injections.len());
}

async fn finance_assigns_and_writes_off_a_case_with_a_note_and_nobody_else_can(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let day = clearing_day_now().await;
    a_day(&app).await;
    let dir = tempfile::tempdir().unwrap();
    app.simulator_reports(dir.path(), &day, &["amount-mismatch"])
        .await;
    app.reconcile(dir.path(), &day).await;
    let open = cases(&app, Some("OPEN")).await;
    assert_eq!(open.len(), 1, "{open:?}");
    let id = open[0]["id"].as_str().unwrap().to_string();
    let due: DateTime<Utc> = open[0]["dueAt"].as_str().unwrap().parse().unwrap();
    assert!(
        due > Utc::now() + chrono::Duration::days(1),
        "two business days: {due}"
    );
    // Operators see it where they see every workflow: the stuck list and the overview.
    let seen = app
        .gql(
            Some(ADMIN_KEY),
            "{ workflows(filter: {kind: \"reconciliation_case\"}) { edges { node { id } } } \
               overview { unfinished { kind name count } } }",
            json!({}),
        )
        .await;
    assert_eq!(seen["data"]["workflows"]["edges"][0]["node"]["id"], id, "{seen}");
    let unfinished = seen["data"]["overview"]["unfinished"].as_array().unwrap();
    assert!(
        unfinished
            .iter()
            .any(|row| row["kind"] == "reconciliation_case" && row["name"] == "open" && row["count"] == 1),
        "{seen}"
    );

    let finance = key_with_role(&app, "fiona", "finance");
    let operator = key_with_role(&app, "oscar", "operator");
    let write_off = "mutation($id: ID!, $note: String!) { writeOffCase(id: $id, note: $note) { id status } }";
    let code = |answer: &Value| answer["errors"][0]["extensions"]["code"].clone();
    let refused = app
        .gql(
            Some(&operator),
            write_off,
            json!({ "id": id, "note": "accepted" }),
        )
        .await;
    assert_eq!(code(&refused), "FORBIDDEN", "{refused}");
    assert_eq!(refused["errors"][0]["extensions"]["role"], "FINANCE");
    let unnoted = app
        .gql(Some(&finance), write_off, json!({ "id": id, "note": "  " }))
        .await;
    assert_eq!(code(&unnoted), "VALIDATION", "{unnoted}");
    let assign = "mutation($id: ID!, $owner: String!) { assignCase(id: $id, owner: $owner, note: \"mine\") { status owner } }";
    let to_operator = app
        .gql(Some(&finance), assign, json!({ "id": id, "owner": "oscar" }))
        .await;
    assert_eq!(
        code(&to_operator),
        "VALIDATION",
        "an owner has the finance role: {to_operator}"
    );
    assert_eq!(case(&app, &id).await["status"], "OPEN", "nothing changed");

    let assigned = app
        .gql(Some(&finance), assign, json!({ "id": id, "owner": "fiona" }))
        .await;
    assert_eq!(
        assigned["data"]["assignCase"]["status"], "INVESTIGATING",
        "{assigned}"
    );
    assert_eq!(assigned["data"]["assignCase"]["owner"], "fiona");
    let written_off = app
        .gql(
            Some(&finance),
            write_off,
            json!({ "id": id, "note": "a one-cent rounding difference, accepted" }),
        )
        .await;
    assert_eq!(
        written_off["data"]["writeOffCase"]["status"], "WRITTEN_OFF",
        "{written_off}"
    );
    let closed = case(&app, &id).await;
    let row = history_of(&closed, "case_written_off").unwrap();
    assert_eq!(row["actor"], "admin:fiona");
    assert!(
        row["detail"].as_str().unwrap().contains("rounding difference"),
        "{row}"
    );
    let resolve = "mutation($id: ID!) { resolveCase(id: $id, note: \"fixed\") { id } }";
    let late = app.gql(Some(&finance), resolve, json!({ "id": id })).await;
    assert_eq!(code(&late), "INVALID_TRANSITION", "{late}");
    // Written off stays written off, whatever later runs show.
    app.simulator_reports(dir.path(), &day, &[]).await;
    app.reconcile(dir.path(), &day).await;
    assert_eq!(case(&app, &id).await["status"], "WRITTEN_OFF");
}

/// The summary row of a settlement file in `dir` with its amount lowered by one minor unit.
fn one_cent_less(dir: &std::path::Path) {
    let file = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .find(|path| {
            path.file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .starts_with("settlement")
        })
        .expect("a settlement file");
    let text = std::fs::read_to_string(&file).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let header = lines
        .iter()
        .position(|line| line.starts_with("settlementBatchId,"))
        .expect("the summary section");
    let column = lines[header]
        .split(',')
        .position(|name| name == "settlementAmountValue")
        .unwrap();
    let mut fields: Vec<String> = lines[header + 1].split(',').map(str::to_string).collect();
    fields[column] = (fields[column].parse::<i64>().unwrap() - 1).to_string();
    lines[header + 1] = fields.join(",");
    std::fs::write(&file, lines.join("\n") + "\n").unwrap();
}

async fn batches(app: &App) -> Vec<Value> {
    let answer = app
        .gql(
            Some(ADMIN_KEY),
            "{ settlementBatches(first: 10) { edges { node { id settlementDate currency clearingDates \
              expected { value } reported { value } difference { value } status settledLines } } } }",
            json!({}),
        )
        .await;
    answer["data"]["settlementBatches"]["edges"]
        .as_array()
        .unwrap_or_else(|| panic!("{answer}"))
        .iter()
        .map(|edge| edge["node"].clone())
        .collect()
}

async fn a_weekend_batch_matches_the_ledger_and_one_cent_less_is_reported_with_its_difference(
    backend: Backend,
) {
    // Friday 4 December 2026, 10:00 UTC+8, on both sides' clocks.
    let friday: DateTime<Utc> = "2026-12-04T02:00:00Z".parse().unwrap();
    let (ours, theirs) = (ManualClock::starting_at(friday), ManualClock::starting_at(friday));
    let setup = Setup {
        engine_clock: Some(ours.clone()),
        simulator_clock: Some(theirs.clone()),
        ..Setup::default()
    };
    let Some(app) = spawn_app_with(backend, setup).await else {
        return;
    };
    let (_, key) = app.merchant("Weekend Noodles");
    let weekend = ["20261204", "20261205", "20261206"];
    for (n, clearing_day) in weekend.iter().enumerate() {
        app.paid_payment(&key, &format!("noodles-{n}"), &format!("{}", 2000 + n * 125))
            .await;
        let dir = tempfile::tempdir().unwrap();
        app.simulator_reports(dir.path(), clearing_day, &[]).await;
        let cleared = app.reconcile(dir.path(), clearing_day).await;
        assert_eq!(cleared["discrepancies"], 0, "{clearing_day}: {cleared}");
        ours.advance(Duration::from_secs(86_400));
        theirs.advance(Duration::from_secs(86_400));
    }
    let covers: Vec<String> = weekend.iter().map(|d| d.to_string()).collect();
    let monday = tempfile::tempdir().unwrap();
    app.simulator_settlement(monday.path(), "20261207", &covers).await;
    let settled = app.reconcile(monday.path(), "20261207").await;
    assert_eq!(settled["discrepancies"], 0, "{settled}");
    // Read by its own date, each of the three clearing batches checked against its day's run.
    assert_eq!(settled["rows_read"], 3, "a clearing batch a day: {settled}");
    assert_eq!(settled["matched"], 3);
    let found = batches(&app).await;
    assert_eq!(found.len(), 1, "{found:?}");
    let batch = &found[0];
    assert_eq!(batch["status"], "MATCHED", "{batch}");
    assert_eq!(batch["settlementDate"], "20261207");
    assert_eq!(batch["clearingDates"], json!(weekend));
    assert_eq!(batch["expected"], batch["reported"]);
    assert_eq!(batch["difference"]["value"], "0");
    assert!(
        batch["settledLines"].as_i64().unwrap() >= 3,
        "each day's receivable: {batch}"
    );
    let expected: i64 = batch["expected"]["value"].as_str().unwrap().parse().unwrap();
    assert!(expected > 0, "{batch}");

    // Monday's payment, its clearing files not reconciled, settled on Tuesday: the file's
    // clearing batch has no run to check against, and the batch is not checked with the ledger.
    app.paid_payment(&key, "monday", "900").await;
    let tuesday = tempfile::tempdir().unwrap();
    app.simulator_settlement(tuesday.path(), "20261208", &["20261207".to_string()])
        .await;
    let early = app.reconcile(tuesday.path(), "20261208").await;
    assert_eq!(early["discrepancies"], 1, "{early}");
    let early_case = cases(&app, Some("OPEN")).await;
    assert_eq!(
        early_case[0]["discrepancy"]["kind"], "TOTALS_MISMATCH",
        "{early_case:?}"
    );
    assert!(
        early_case[0]["discrepancy"]["detail"]
            .as_str()
            .unwrap()
            .contains("no reconciled clearing files"),
        "{early_case:?}"
    );
    assert_eq!(batches(&app).await[0]["status"], "INCOMPLETE");

    one_cent_less(monday.path());
    let short = app.reconcile(monday.path(), "20261207").await;
    let run = app
        .gql(
            Some(ADMIN_KEY),
            "query($id: ID!) { reconciliationRun(id: $id) { discrepancies(first: 10, kind: SETTLEMENT_BATCH_MISMATCH) \
              { edges { node { reference ours theirs detail } } } } }",
            json!({ "id": short["run_id"] }),
        )
        .await;
    let mismatch = &run["data"]["reconciliationRun"]["discrepancies"]["edges"][0]["node"];
    assert_eq!(mismatch["ours"], expected.to_string(), "{run}");
    assert_eq!(mismatch["theirs"], (expected - 1).to_string());
    assert!(
        mismatch["detail"]
            .as_str()
            .unwrap()
            .contains("a difference of -1"),
        "{mismatch}"
    );
    let newest = &batches(&app).await[0];
    assert_eq!(newest["status"], "MISMATCH", "{newest}");
    assert_eq!(newest["difference"]["value"], "-1");
    assert_eq!(newest["settledLines"], 0);
    let open = cases(&app, Some("OPEN")).await;
    let short_case = open
        .iter()
        .find(|case| case["discrepancy"]["kind"] == "SETTLEMENT_BATCH_MISMATCH")
        .unwrap_or_else(|| panic!("{open:?}"));
    // Nobody took it: past its due date (two business days) it is overdue, parked for operators.
    let id = short_case["id"].as_str().unwrap().to_string();
    ours.advance(Duration::from_secs(5 * 86_400));
    let parked = poll_until("the case to be overdue", Duration::from_secs(30), || async {
        let answer = app
            .gql(
                Some(ADMIN_KEY),
                "{ workflows(filter: {needsAttention: true, kind: \"reconciliation_case\"}) \
                   { edges { node { id state attentionReason } } } }",
                json!({}),
            )
            .await;
        let edges = answer["data"]["workflows"]["edges"].as_array()?.clone();
        edges
            .into_iter()
            .map(|edge| edge["node"].clone())
            .find(|node| node["id"] == id)
    })
    .await;
    assert_eq!(parked["state"], "overdue", "{parked}");
    assert_eq!(case(&app, &id).await["status"], "OPEN");
}
