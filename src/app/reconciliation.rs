//! Reconciliation of Alipay+'s report files (ALIPAYPLUS.md 7) against our records: a run per
//! report date, settlement agreement and kind, persisted with every discrepancy found, so an
//! operator can prove the books agree or see where they do not. A clearing run reads a clearing
//! day's (UTC+8) transaction items, summary and fees; a settlement run reads a settlement file by
//! its own date (business days; it may cover several clearing days) and checks each clearing
//! batch it names against that day's clearing run, which keeps what the day settles for and its
//! fees (a batch not reconciled yet is a TOTALS_MISMATCH saying so).
//!
//! * The same files again are the same run (SHA-256 over their names and contents); other files
//!   for the same date and agreement (a corrected one) make a new run that supersedes the
//!   earlier, with what changed recorded.
//! * Every transaction row is matched to our payment or refund by its request id
//!   (`transactionRequestId`), read a batch at a time: not ours (MISSING_IN_PLUSFLOW), another
//!   currency or amount (CURRENCY_MISMATCH, AMOUNT_MISMATCH), not succeeded here
//!   (STATUS_MISMATCH), twice in the report (DUPLICATE_IN_REPORT), a payment settling for
//!   another amount than its result stated (SETTLEMENT_AMOUNT_MISMATCH), a payment of another
//!   wallet than its result's pspId (`counterParticipantId`, WALLET_MISMATCH).
//! * Currencies are never added together: a transaction row is in its transaction's currency
//!   (the items' summary states a total per transaction currency); the summary, fee and
//!   settlement files are in the set's settlement currency, checked against what each row
//!   settles for in it (its `settlementAmountValue`, or its amount when it is in that currency;
//!   a row in another currency without one is a MALFORMED_ROW). A row for a payment or refund
//!   that is not final here starts its inquiry now, through its workflow (the operators' retry:
//!   its pending effects run at once, recorded in its history), never by writing its state.
//! * Every succeeded payment and refund of the cycle that the report lacks: MISSING_IN_REPORT.
//!   UNCONFIRMED: our time of a success is when plusflow learnt it (its instance entered
//!   `succeeded`), Alipay+'s is the payment's; one learnt just after midnight (UTC+8) of a
//!   payment just before is looked for in the wrong day.
//! * The files' own arithmetic: the transaction summary section (per transaction currency) and
//!   the summary file (per type, with its direction, in the settlement currency) against the
//!   items, a settlement's batches against their clearing days and its total against its
//!   batches (TOTALS_MISMATCH); fee lines against their summary and against the items they
//!   charge (FEE_MISMATCH).
//! * A row that cannot be read is a MALFORMED_ROW discrepancy with its file and line.
//!
//! Memory stays flat: rows are read one at a time, compared a batch at a time, and what is kept
//! per row is the set of request ids seen (24 bytes each for ours).

mod batches;
mod files;
mod matching;
mod totals;

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use serde_json::json;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::Engine;
use super::auth::Principal;
use super::errors::AppError;
use crate::alipayplus::reports::{self, Record, ReportKind};
use crate::kinds::reconciliation_case::use_cases as cases;
use crate::store::entity::{reconciliation_discrepancy as discrepancy, reconciliation_run as run};
use crate::store::reconciliation::{self as rows};
use crate::store::{self, OperatorAction};
use files::file_hash;
pub use files::{ReportSet, clearing_cycle, report_sets};
use matching::{Run, SeenIds};

/// The kinds of discrepancy, as the API names them.
pub const KINDS: [&str; 12] = [
    "MISSING_IN_PLUSFLOW",
    "MISSING_IN_REPORT",
    "AMOUNT_MISMATCH",
    "CURRENCY_MISMATCH",
    "STATUS_MISMATCH",
    "DUPLICATE_IN_REPORT",
    "FEE_MISMATCH",
    "TOTALS_MISMATCH",
    "MALFORMED_ROW",
    "SETTLEMENT_AMOUNT_MISMATCH",
    "WALLET_MISMATCH",
    "SETTLEMENT_BATCH_MISMATCH",
];

/// What a finished run came to.
#[derive(Debug, Clone)]
pub struct RunOutcome {
    pub run: run::Model,
    /// These files were reconciled before: the earlier run, unchanged.
    pub again: bool,
    /// Payments and refunds whose inquiry the run started.
    pub inquiries_started: usize,
}

/// An unfinished run this much older was abandoned (its process stopped): it is run again.
const ABANDONED_AFTER_MINUTES: i64 = 10;

/// Reconciles `set`, telling `progress` how many transaction rows were read so far.
pub async fn reconcile(
    engine: &Engine,
    set: &ReportSet,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<RunOutcome, AppError> {
    let cycle = clearing_cycle(&set.report_date)?;
    let mut hashes = Vec::new();
    for (name, path) in &set.files {
        hashes.push((name.file_name(), file_hash(path, engine.max_report_bytes).await?));
    }
    let content_hash = hex::encode(Sha256::digest(
        hashes
            .iter()
            .map(|(name, hash)| format!("{name}:{hash}\n"))
            .collect::<String>(),
    ));
    let now = engine.clock.now();
    let earlier = rows::current_run(&engine.db, &set.report_date, &set.agreement_id, set.kind).await?;
    let clearing_batch_id = set
        .files
        .iter()
        .find(|(name, _)| name.kind == ReportKind::TransactionItems)
        .map(|(name, _)| name.batch_id.clone());
    let new = run::Model {
        id: Uuid::now_v7(),
        report_date: set.report_date.clone(),
        agreement_id: set.agreement_id.clone(),
        settlement_currency: set.settlement_currency.clone(),
        content_hash: content_hash.clone(),
        files: json!(
            hashes
                .iter()
                .map(|(name, hash)| json!({ "name": name, "sha256": hash }))
                .collect::<Vec<_>>()
        ),
        status: "RUNNING".into(),
        rows_read: 0,
        matched: 0,
        discrepancy_count: 0,
        supersedes: earlier
            .as_ref()
            .filter(|e| e.content_hash != content_hash)
            .map(|e| e.id),
        superseded_by: None,
        changes: None,
        started_at: now,
        finished_at: None,
        kind: set.kind.to_string(),
        clearing_batch_id,
        settled_net: None,
        fee_total: None,
    };
    let (mut record, inserted) = rows::insert_run(&engine.db, new).await?;
    if !inserted {
        let abandoned = record.finished_at.is_none()
            && now - record.started_at > chrono::Duration::minutes(ABANDONED_AFTER_MINUTES);
        if !abandoned {
            // Cases follow the current run of the day (again: a process that died after
            // finishing the run and before its cases left them behind).
            if record.finished_at.is_some() && record.superseded_by.is_none() {
                cases::follow_run(engine, &record, &HashMap::new()).await?;
            }
            return Ok(RunOutcome {
                run: record,
                again: true,
                inquiries_started: 0,
            });
        }
        rows::delete_discrepancies(&engine.db, record.id).await?;
    }
    let read_from = std::time::Instant::now();
    let mut run = Run {
        engine,
        id: record.id,
        found: Vec::new(),
        discrepancies: 0,
        rows_read: 0,
        matched: 0,
        seen: SeenIds::default(),
        file_names: set.files.iter().map(|(name, _)| name.file_name()).collect(),
        pending: Vec::new(),
        agreement_id: set.agreement_id.clone(),
        items: HashMap::new(),
        items_by_currency: BTreeMap::new(),
        fee_total: 0,
        fee_count: 0,
        stated: Vec::new(),
        not_final: Vec::new(),
        cycle,
        currency: set.settlement_currency.clone(),
        found_in_cycle: HashMap::new(),
        settlement: None,
        clearing_days: Vec::new(),
        clearing_unknown: false,
    };
    let kinds: &[ReportKind] = if set.kind == run::SETTLEMENT {
        &[ReportKind::Settlement]
    } else {
        &[
            ReportKind::TransactionItems,
            ReportKind::Summary,
            ReportKind::FeeItems,
        ]
    };
    for &kind in kinds {
        let files: Vec<(u32, &PathBuf)> = set
            .files
            .iter()
            .enumerate()
            .filter(|(_, (name, _))| name.kind == kind)
            .map(|(index, (_, path))| (index as u32, path))
            .collect();
        if files.is_empty() {
            let detail =
                format!("no {kind:?} file for this date and agreement: its totals cannot be checked");
            run.discrepancy("TOTALS_MISMATCH", &set.agreement_id, (None, None), detail, None)
                .await?;
            continue;
        }
        for (file, path) in files {
            let mut records = reports::read_file(kind, path.clone(), engine.max_report_bytes);
            while let Some(record) = records.recv().await {
                match record {
                    Record::Item(item) => {
                        run.item(item, file).await?;
                        if run.rows_read % 10_000 == 0 {
                            progress(run.rows_read as u64);
                        }
                    }
                    Record::Bad(bad) => {
                        let name = run.file_names[file as usize].clone();
                        run.discrepancy(
                            "MALFORMED_ROW",
                            &name,
                            (None, None),
                            bad.message,
                            Some((file, bad.line)),
                        )
                        .await?;
                    }
                    other => {
                        run.compare_pending().await?;
                        run.other(other, file).await?;
                    }
                }
            }
            run.compare_pending().await?;
        }
    }
    progress(run.rows_read as u64);
    run.check_totals().await?;
    let batch = match set.kind {
        run::SETTLEMENT => run.check_batch(&set.report_date).await?,
        _ => None,
    };
    let read_for = read_from.elapsed();
    let matched_at = std::time::Instant::now();
    if set.kind == run::CLEARING {
        run.missing_in_report().await?;
    }
    tracing::debug!(
        rows = run.rows_read,
        "rows read and compared in {read_for:?}, our records checked in {:?}",
        matched_at.elapsed()
    );
    run.flush_found().await?;
    let mut inquiries_started = 0;
    let not_final = std::mem::take(&mut run.not_final);
    for &(id, _) in &not_final {
        let note = format!("in Alipay+'s report of {} as succeeded", set.report_date);
        let done = store::operator_action(
            &engine.db,
            engine.decider(),
            id,
            OperatorAction::Retry,
            &store::ActedBy::noted("reconciliation", &note),
        )
        .await?;
        if done.is_ok() {
            inquiries_started += 1;
            engine.wake_relay();
            engine.announce(id);
        }
    }
    let changes = match &earlier {
        Some(earlier) if record.supersedes == Some(earlier.id) => {
            Some(changes_from(earlier, &hashes, run.discrepancies))
        }
        _ => None,
    };
    record = run::Model {
        status: if run.discrepancies == 0 {
            "RECONCILED"
        } else {
            "DISCREPANCIES"
        }
        .into(),
        rows_read: run.rows_read,
        matched: run.matched,
        discrepancy_count: run.discrepancies,
        changes,
        finished_at: Some(engine.clock.now()),
        settled_net: (set.kind == run::CLEARING).then(|| run.items.values().map(|(_, sum)| sum).sum()),
        fee_total: (set.kind == run::CLEARING).then_some(run.fee_total),
        ..record
    };
    let journals = match set.kind {
        run::CLEARING => {
            let superseded = earlier.as_ref().filter(|e| record.supersedes == Some(e.id));
            batches::fee_journals(&record, superseded, cycle.0)
        }
        _ => Vec::new(),
    };
    store::retry_transient(|| async {
        let txn = engine.db.begin().await?;
        rows::finish_run(&txn, &record).await?;
        for journal in &journals {
            store::ledger::post_in(&txn, journal).await?;
        }
        if let Some(batch) = &batch {
            store::settlement::record_batch_in(&txn, batch.clone()).await?;
        }
        txn.commit().await?;
        Ok(())
    })
    .await?;
    let waiting: HashMap<String, Uuid> = not_final
        .into_iter()
        .map(|(id, reference)| (reference, id))
        .collect();
    cases::follow_run(engine, &record, &waiting).await?;
    Ok(RunOutcome {
        run: record,
        again: false,
        inquiries_started,
    })
}

/// What changed from `earlier`: the files whose contents differ, and the discrepancy count.
fn changes_from(earlier: &run::Model, hashes: &[(String, String)], discrepancies: i64) -> String {
    let before: HashMap<String, String> = earlier
        .files
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|f| Some((f["name"].as_str()?.to_string(), f["sha256"].as_str()?.to_string())))
        .collect();
    let mut changed: Vec<String> = hashes
        .iter()
        .filter(|(name, hash)| before.get(name) != Some(hash))
        .map(|(name, _)| name.clone())
        .collect();
    changed.extend(
        before
            .keys()
            .filter(|name| !hashes.iter().any(|(n, _)| n == *name))
            .map(|name| format!("{name} (gone)")),
    );
    format!(
        "supersedes run {}: files changed: {}; discrepancies {} -> {discrepancies}",
        earlier.id,
        changed.join(", "),
        earlier.discrepancy_count
    )
}

/// The most runs or discrepancies one page holds.
pub const MAX_PAGE: u64 = 100;

fn page_size(first: Option<i32>) -> u64 {
    first.map_or(20, |n| n.clamp(1, MAX_PAGE as i32) as u64)
}

/// Runs newest first: a page after `after`, and whether more follow (operators only).
pub async fn runs(
    engine: &Engine,
    principal: &Principal,
    first: Option<i32>,
    after: Option<Uuid>,
) -> Result<(Vec<run::Model>, bool), AppError> {
    principal.operators_only()?;
    let size = page_size(first);
    let mut found = rows::runs(&engine.db, after, size + 1).await?;
    let more = found.len() as u64 > size;
    found.truncate(size as usize);
    Ok((found, more))
}

/// Run `id` (operators only).
pub async fn run(engine: &Engine, principal: &Principal, id: Uuid) -> Result<run::Model, AppError> {
    principal.operators_only()?;
    rows::run(&engine.db, id).await?.ok_or(AppError::NotFound)
}

/// A run's discrepancies in the order found (of `kind`, if given): a page after `after`, and
/// whether more follow.
pub async fn discrepancies(
    engine: &Engine,
    run_id: Uuid,
    kind: Option<&str>,
    first: Option<i32>,
    after: Option<i64>,
) -> Result<(Vec<discrepancy::Model>, bool), AppError> {
    let size = page_size(first);
    let mut found = rows::discrepancies(&engine.db, run_id, kind, after, size + 1).await?;
    let more = found.len() as u64 > size;
    found.truncate(size as usize);
    Ok((found, more))
}
