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

use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::json;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::Engine;
use super::auth::Principal;
use super::errors::AppError;
use crate::alipayplus::reports::{self, Record, ReportKind, ReportName, TransactionItem, TransactionType};
use crate::store::entity::{reconciliation_discrepancy as discrepancy, reconciliation_run as run};
use crate::store::reconciliation::{self as rows, OurRecord, SUCCEEDED};
use crate::store::{self, OperatorAction};

/// The kinds of discrepancy, as the API names them.
pub const KINDS: [&str; 11] = [
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
];

/// Rows compared with our records per query.
const BATCH: usize = 10_000;
/// Discrepancies written per insert.
const WRITE_BATCH: usize = 500;
/// A discrepancy's detail and each side are kept at most this long (a file decides them).
const MAX_DETAIL_CHARS: usize = 1_000;
const MAX_SIDE_CHARS: usize = 300;

/// The report files of one date and agreement: a clearing day's (transaction items, summary,
/// fees), or a settlement file, which follows its own calendar (business days) and may cover
/// several clearing days.
#[derive(Debug, Clone)]
pub struct ReportSet {
    /// `CLEARING` or `SETTLEMENT` (`reconciliation_run::{CLEARING, SETTLEMENT}`).
    pub kind: &'static str,
    /// The clearing day of clearing files, the settlement date of a settlement file, YYYYMMDD.
    pub report_date: String,
    pub agreement_id: String,
    pub settlement_currency: String,
    /// In name order.
    pub files: Vec<(ReportName, PathBuf)>,
}

/// The report sets in `dir` for `report_date`, one per agreement and kind (files that are not
/// reports are left alone), the folder read on a blocking thread.
pub async fn report_sets(dir: &Path, report_date: &str) -> Result<Vec<ReportSet>, AppError> {
    let (dir, report_date) = (dir.to_path_buf(), report_date.to_string());
    tokio::task::spawn_blocking(move || report_sets_in(&dir, &report_date))
        .await
        .map_err(|e| AppError::Unavailable(format!("reading the report folder stopped: {e}")))?
}

fn report_sets_in(dir: &Path, report_date: &str) -> Result<Vec<ReportSet>, AppError> {
    parse_report_date(report_date)?;
    let entries = std::fs::read_dir(dir).map_err(|e| AppError::Validation {
        field: "dir".into(),
        message: format!("{}: {e}", dir.display()),
    })?;
    // By (kind, agreement, settlement currency).
    type SetKey = (&'static str, String, String);
    let mut sets: BTreeMap<SetKey, Vec<(ReportName, PathBuf)>> = BTreeMap::new();
    for entry in entries.flatten() {
        // Regular files only: never a symlink (to /etc/passwd), a FIFO (blocks a reader forever)
        // or a directory named like a report.
        if !entry.file_type().is_ok_and(|kind| kind.is_file()) {
            continue;
        }
        let path = entry.path();
        let Some(name) = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(ReportName::parse)
        else {
            continue;
        };
        let kind = if name.kind == ReportKind::Settlement {
            run::SETTLEMENT
        } else {
            run::CLEARING
        };
        sets.entry((kind, name.agreement_id.clone(), name.settlement_currency.clone()))
            .or_default()
            .push((name, path));
    }
    Ok(sets
        .into_iter()
        .map(|((kind, agreement_id, settlement_currency), mut files)| {
            files.sort_by_key(|(name, _)| name.file_name());
            ReportSet {
                kind,
                report_date: report_date.to_string(),
                agreement_id,
                settlement_currency,
                files,
            }
        })
        .collect())
}

/// The clearing cycle of a report date (see [`reports::clearing_cycle`]).
pub fn clearing_cycle(report_date: &str) -> Result<(DateTime<Utc>, DateTime<Utc>), AppError> {
    Ok(reports::clearing_cycle(parse_report_date(report_date)?))
}

fn parse_report_date(report_date: &str) -> Result<NaiveDate, AppError> {
    NaiveDate::parse_from_str(report_date, "%Y%m%d").map_err(|_| AppError::Validation {
        field: "date".into(),
        message: format!("'{report_date}' is not a date YYYYMMDD"),
    })
}

/// The request ids of the transaction rows read, with where the first of each was (file,
/// line): ours (`pf_` / `pfr_` and 32 hex digits) in 16 bytes, anything else as it is.
#[derive(Default)]
struct SeenIds {
    ours: HashMap<u128, (u32, u32)>,
    others: HashMap<String, (u32, u32)>,
}

fn ours_of(request_id: &str) -> Option<u128> {
    let hex = request_id
        .strip_prefix("pfr_")
        .or_else(|| request_id.strip_prefix("pf_"))?;
    (hex.len() == 32)
        .then(|| u128::from_str_radix(hex, 16).ok())
        .flatten()
}

impl SeenIds {
    fn get(&self, request_id: &str) -> Option<(u32, u64)> {
        let at = match ours_of(request_id) {
            Some(key) => self.ours.get(&key),
            None => self.others.get(request_id),
        };
        at.map(|&(file, line)| (file, u64::from(line)))
    }

    fn contains(&self, request_id: &str) -> bool {
        self.get(request_id).is_some()
    }

    fn insert(&mut self, request_id: &str, (file, line): (u32, u64)) {
        let at = (file, u32::try_from(line).unwrap_or(u32::MAX));
        match ours_of(request_id) {
            Some(key) => self.ours.insert(key, at),
            None => self.others.insert(request_id.to_string(), at),
        };
    }
}

/// What a finished run came to.
#[derive(Debug, Clone)]
pub struct RunOutcome {
    pub run: run::Model,
    /// These files were reconciled before: the earlier run, unchanged.
    pub again: bool,
    /// Payments and refunds whose inquiry the run started.
    pub inquiries_started: usize,
}

/// One run in the making.
struct Run<'a> {
    engine: &'a Engine,
    id: Uuid,
    agreement_id: String,
    found: Vec<discrepancy::Model>,
    discrepancies: i64,
    rows_read: i64,
    matched: i64,
    /// Request ids seen in the transaction rows, with the file and line of the first.
    seen: SeenIds,
    file_names: Vec<String>,
    pending: Vec<(TransactionItem, u32)>,
    /// Per type: rows and the sum of what they settle for (signed, settlement currency).
    items: HashMap<TransactionType, (u64, i64)>,
    /// Per transaction currency: rows and the sum of their (signed) amounts.
    items_by_currency: BTreeMap<String, (u64, i64)>,
    fee_total: i64,
    fee_count: u64,
    /// The files' own totals, checked once every row is read.
    stated: Vec<(Stated, u32)>,
    /// Payments and refunds not final here that the report has.
    not_final: Vec<Uuid>,
    /// The clearing cycle, and how many of our payments and refunds (by kind) that succeeded in
    /// it and settle in the report's currency the rows named.
    cycle: (DateTime<Utc>, DateTime<Utc>),
    currency: String,
    found_in_cycle: HashMap<TransactionType, u64>,
}

impl<'a> Run<'a> {
    async fn discrepancy(
        &mut self,
        kind: &str,
        reference: &str,
        (ours, theirs): (Option<String>, Option<String>),
        detail: String,
        at: Option<(u32, u64)>,
    ) -> Result<(), AppError> {
        // A file decides what these hold: they are kept cut to a fixed length.
        let cut = |text: String, max: usize| match text.char_indices().nth(max) {
            Some((end, _)) => format!("{}…", &text[..end]),
            None => text,
        };
        self.found.push(discrepancy::Model {
            id: 0,
            run_id: self.id,
            kind: kind.to_string(),
            reference: reference.chars().take(128).collect(),
            ours: ours.map(|text| cut(text, MAX_SIDE_CHARS)),
            theirs: theirs.map(|text| cut(text, MAX_SIDE_CHARS)),
            detail: cut(detail, MAX_DETAIL_CHARS),
            file: at.map(|(file, _)| self.file_names[file as usize].clone()),
            line: at.map(|(_, line)| line as i64),
        });
        self.discrepancies += 1;
        if self.found.len() >= WRITE_BATCH {
            self.flush_found().await?;
        }
        Ok(())
    }

    async fn flush_found(&mut self) -> Result<(), AppError> {
        let batch = std::mem::take(&mut self.found);
        rows::insert_discrepancies(&self.engine.db, batch).await?;
        Ok(())
    }

    /// Takes one transaction row: a duplicate is reported at once, the rest compared in batches.
    async fn item(&mut self, item: TransactionItem, file: u32) -> Result<(), AppError> {
        self.rows_read += 1;
        let in_currency = self.items_by_currency.entry(item.currency.clone()).or_default();
        in_currency.0 += 1;
        in_currency.1 += item.amount;
        let settled = item.settled_in(&self.currency);
        let totals = self.items.entry(item.transaction_type).or_default();
        totals.0 += 1;
        totals.1 += settled.unwrap_or_default();
        if settled.is_none() {
            let detail = format!(
                "a {} row in {} states no settlementAmountValue in the settlement currency {}",
                kind_word(item.transaction_type),
                item.currency,
                self.currency
            );
            let reference = item.transaction_request_id.clone();
            self.discrepancy(
                "MALFORMED_ROW",
                &reference,
                (None, None),
                detail,
                Some((file, item.line)),
            )
            .await?;
        }
        if let Some((first_file, first_line)) = self.seen.get(&item.transaction_request_id) {
            let detail = format!(
                "also on line {first_line} of {}",
                self.file_names[first_file as usize]
            );
            let reference = item.transaction_request_id.clone();
            let theirs = Some(describe(&item));
            return self
                .discrepancy(
                    "DUPLICATE_IN_REPORT",
                    &reference,
                    (None, theirs),
                    detail,
                    Some((file, item.line)),
                )
                .await;
        }
        self.seen.insert(&item.transaction_request_id, (file, item.line));
        self.pending.push((item, file));
        if self.pending.len() >= BATCH {
            self.compare_pending().await?;
        }
        Ok(())
    }

    /// Compares the rows waiting with our records, two queries for the batch.
    async fn compare_pending(&mut self) -> Result<(), AppError> {
        let pending = std::mem::take(&mut self.pending);
        let of_type = |wanted: TransactionType| -> Vec<&str> {
            pending
                .iter()
                .filter(|(item, _)| item.transaction_type == wanted)
                .map(|(item, _)| item.transaction_request_id.as_str())
                .collect()
        };
        let db = &self.engine.db;
        let mut ours: HashMap<String, OurRecord> = HashMap::new();
        for chunk in of_type(TransactionType::Payment).chunks(BATCH) {
            ours.extend(
                rows::payments_by_request_id(db, chunk)
                    .await?
                    .into_iter()
                    .map(|r| (r.request_id.clone(), r)),
            );
        }
        for chunk in of_type(TransactionType::Refund).chunks(BATCH) {
            ours.extend(
                rows::refunds_by_request_id(db, chunk)
                    .await?
                    .into_iter()
                    .map(|r| (r.request_id.clone(), r)),
            );
        }
        for (item, file) in pending {
            self.compare(&item, file, ours.get(&item.transaction_request_id))
                .await?;
        }
        Ok(())
    }

    async fn compare(
        &mut self,
        item: &TransactionItem,
        file: u32,
        ours: Option<&OurRecord>,
    ) -> Result<(), AppError> {
        let at = Some((file, item.line));
        let reference = item.transaction_request_id.as_str();
        let theirs = Some(describe(item));
        let Some(ours) = ours else {
            let detail = format!(
                "no {} of ours has this request id",
                kind_word(item.transaction_type)
            );
            return self
                .discrepancy("MISSING_IN_PLUSFLOW", reference, (None, theirs), detail, at)
                .await;
        };
        // Named by the report, whatever else differs: not missing from it.
        let succeeded_in_cycle = ours.state == SUCCEEDED
            && ours.settles_in == self.currency
            && ours
                .state_since
                .is_some_and(|at| at >= self.cycle.0 && at < self.cycle.1);
        if succeeded_in_cycle {
            *self.found_in_cycle.entry(item.transaction_type).or_default() += 1;
        }
        let described = Some(format!(
            "{} {} {}",
            ours.state.to_uppercase(),
            ours.amount,
            ours.currency
        ));
        if ours.currency != item.currency {
            let sides = (Some(ours.currency.clone()), Some(item.currency.clone()));
            let detail = "the report's currency is not ours".to_string();
            return self
                .discrepancy("CURRENCY_MISMATCH", reference, sides, detail, at)
                .await;
        }
        if ours.amount != item.amount.abs() {
            let sides = (Some(ours.amount.to_string()), Some(item.amount.abs().to_string()));
            let detail = format!("amounts differ by {}", item.amount.abs() - ours.amount);
            return self
                .discrepancy("AMOUNT_MISMATCH", reference, sides, detail, at)
                .await;
        }
        if let (Some(theirs), Some(ours_psp)) = (&item.counter_participant_id, &ours.psp_id)
            && theirs != ours_psp
        {
            let sides = (Some(ours_psp.clone()), Some(theirs.clone()));
            let detail =
                "the file names another wallet (counterParticipantId) than the payment's pspId".to_string();
            return self
                .discrepancy("WALLET_MISMATCH", reference, sides, detail, at)
                .await;
        }
        if let (Some(theirs), Some(stated)) = (&item.settlement, &ours.settlement)
            && theirs != stated
        {
            let sides = (
                Some(format!("{} {}", stated.0, stated.1)),
                Some(format!("{} {}", theirs.0.abs(), theirs.1)),
            );
            let detail =
                "the file settles it for another amount than Alipay+ stated when it settled".to_string();
            if item.transaction_type == TransactionType::Payment {
                return self
                    .discrepancy("SETTLEMENT_AMOUNT_MISMATCH", reference, sides, detail, at)
                    .await;
            }
        }
        if ours.state != SUCCEEDED {
            let detail = if ours.terminal {
                format!("succeeded at Alipay+, {} here", ours.state)
            } else {
                self.not_final.push(ours.id);
                format!(
                    "succeeded at Alipay+, not final here ({}): its inquiry starts now",
                    ours.state
                )
            };
            return self
                .discrepancy("STATUS_MISMATCH", reference, (described, theirs), detail, at)
                .await;
        }
        self.matched += 1;
        Ok(())
    }

    /// Our succeeded payments and refunds of the cycle that no row named.
    /// (A count first: when the rows named every one, nothing more is read.)
    async fn missing_in_report(&mut self) -> Result<(), AppError> {
        let (currency, cycle) = (self.currency.clone(), self.cycle);
        for (kind, transaction_type) in [
            ("payment", TransactionType::Payment),
            ("refund", TransactionType::Refund),
        ] {
            let succeeded = rows::count_succeeded_between(&self.engine.db, kind, &currency, cycle).await?;
            if succeeded == self.found_in_cycle.get(&transaction_type).copied().unwrap_or(0) {
                continue;
            }
            let mut after = None;
            loop {
                let page =
                    rows::succeeded_between(&self.engine.db, kind, &currency, cycle, after, BATCH as u64)
                        .await?;
                let Some(last) = page.last() else { break };
                after = Some(last.id);
                for ours in page {
                    if self.seen.contains(&ours.request_id) {
                        continue;
                    }
                    let described = Some(format!("SUCCEEDED {} {}", ours.amount, ours.currency));
                    let detail =
                        format!("a {kind} that succeeded in this clearing cycle is not in the report");
                    self.discrepancy(
                        "MISSING_IN_REPORT",
                        &ours.request_id,
                        (described, None),
                        detail,
                        None,
                    )
                    .await?;
                }
            }
        }
        Ok(())
    }

    /// A settlement file's clearing batch against the run of that clearing day's files: what
    /// the day settles for and its fees (settlement currency), and the net of the two.
    async fn settlement_detail(
        &mut self,
        name: &str,
        detail: reports::SettlementDetail,
        file: u32,
    ) -> Result<(), AppError> {
        let at = Some((file, detail.line));
        self.rows_read += 1;
        let batch = detail.clearing_batch_id.as_str();
        let before = self.discrepancies;
        match rows::clearing_run_of_batch(&self.engine.db, &self.agreement_id, batch).await? {
            None => {
                let detail = format!("clearing batch {batch}: no reconciled clearing files to settle");
                self.discrepancy("TOTALS_MISMATCH", name, (None, None), detail, at)
                    .await?;
            }
            Some(clearing) => {
                let what = |column: &str| format!("{column} of clearing batch {batch}");
                let (settled, fees) = (
                    clearing.settled_net.unwrap_or_default(),
                    clearing.fee_total.unwrap_or_default(),
                );
                self.totals(
                    name,
                    &what("transactionAmountValue"),
                    settled,
                    detail.transaction_amount,
                    at,
                )
                .await?;
                self.totals(name, &what("feeAmountValue"), fees, detail.fee_amount, at)
                    .await?;
            }
        }
        let net = detail.transaction_amount - detail.fee_amount;
        self.totals(
            name,
            "netAmountValue (transactions less fees)",
            net,
            detail.net_amount,
            at,
        )
        .await?;
        if self.discrepancies == before {
            self.matched += 1;
        }
        Ok(())
    }

    async fn totals(
        &mut self,
        reference: &str,
        what: &str,
        ours: i64,
        theirs: i64,
        at: Option<(u32, u64)>,
    ) -> Result<(), AppError> {
        if ours == theirs {
            return Ok(());
        }
        let detail = format!("{what}: the rows add up to {ours}, the file states {theirs}");
        self.discrepancy(
            "TOTALS_MISMATCH",
            reference,
            (Some(ours.to_string()), Some(theirs.to_string())),
            detail,
            at,
        )
        .await
    }
}

/// A total a file states about its rows.
enum Stated {
    Items(reports::Totals),
    Fees(reports::Totals),
    Summary(reports::SummaryRow),
    Settlement(reports::SettlementSummary),
    SettlementDetail(reports::SettlementDetail),
}

impl Run<'_> {
    /// Takes a row that is not a transaction: a fee is checked against the items at once, the
    /// files' totals are kept for [`Run::check_totals`].
    async fn other(&mut self, record: Record, file: u32) -> Result<(), AppError> {
        let stated = match record {
            Record::Fee(fee) => {
                self.fee_total += fee.amount;
                self.fee_count += 1;
                let at = Some((file, fee.line));
                if !self.seen.contains(&fee.transaction_request_id) {
                    let detail = "a fee for a transaction that is not in the transaction items".to_string();
                    let theirs = Some(format!("{} {} {}", fee.fee_type, fee.amount, fee.currency));
                    self.discrepancy(
                        "FEE_MISMATCH",
                        &fee.transaction_request_id,
                        (None, theirs),
                        detail,
                        at,
                    )
                    .await?;
                }
                return Ok(());
            }
            Record::ItemTotals(totals) => Stated::Items(totals),
            Record::FeeTotals(totals) => Stated::Fees(totals),
            Record::Summary(row) => Stated::Summary(row),
            Record::SettlementSummary(summary) => Stated::Settlement(summary),
            Record::SettlementDetail(detail) => Stated::SettlementDetail(detail),
            Record::Item(_) | Record::Bad(_) => unreachable!("taken by the caller"),
        };
        self.stated.push((stated, file));
        Ok(())
    }

    /// The files' totals against their rows.
    async fn check_totals(&mut self) -> Result<(), AppError> {
        let mut unstated: Vec<String> = self.items_by_currency.keys().cloned().collect();
        let items_file = self.stated.iter().find_map(|(stated, file)| match stated {
            Stated::Items(totals) => Some((*file, totals.line)),
            _ => None,
        });
        let settlement_net: i64 = self
            .stated
            .iter()
            .filter_map(|(stated, _)| match stated {
                Stated::SettlementDetail(detail) => Some(detail.net_amount),
                _ => None,
            })
            .sum();
        for (stated, file) in std::mem::take(&mut self.stated) {
            let name = self.file_names[file as usize].clone();
            match stated {
                Stated::Items(totals) => {
                    let at = Some((file, totals.line));
                    let (count, amount) = self
                        .items_by_currency
                        .get(&totals.currency)
                        .copied()
                        .unwrap_or_default();
                    unstated.retain(|currency| *currency != totals.currency);
                    let what = |column: &str| format!("{column} ({})", totals.currency);
                    self.totals(&name, &what("totalCount"), count as i64, totals.count as i64, at)
                        .await?;
                    self.totals(&name, &what("totalAmountValue"), amount, totals.amount, at)
                        .await?;
                }
                Stated::Fees(totals) => {
                    let at = Some((file, totals.line));
                    for (what, ours, theirs) in [
                        ("totalCount", self.fee_count as i64, totals.count as i64),
                        ("totalAmountValue", self.fee_total, totals.amount),
                    ] {
                        if ours != theirs {
                            let detail = format!(
                                "fee {what}: the fee lines add up to {ours}, the file states {theirs}"
                            );
                            let sides = (Some(ours.to_string()), Some(theirs.to_string()));
                            self.discrepancy("FEE_MISMATCH", &name, sides, detail, at).await?;
                        }
                    }
                }
                Stated::Summary(row) => {
                    let at = Some((file, row.line));
                    let (count, sum) = self.items.get(&row.transaction_type).copied().unwrap_or_default();
                    let what = row.transaction_type.as_str();
                    self.totals(
                        &name,
                        &format!("{what} totalCount"),
                        count as i64,
                        row.count as i64,
                        at,
                    )
                    .await?;
                    self.totals(
                        &name,
                        &format!("{what} totalAmountValue"),
                        sum.abs(),
                        row.amount,
                        at,
                    )
                    .await?;
                    let expected_credit = row.transaction_type == TransactionType::Payment;
                    if row.count > 0 && row.credit != expected_credit {
                        let detail = format!(
                            "{what} rows with direction {}",
                            if row.credit { "C" } else { "D" }
                        );
                        self.discrepancy("TOTALS_MISMATCH", &name, (None, None), detail, at)
                            .await?;
                    }
                }
                Stated::Settlement(summary) => {
                    let at = Some((file, summary.line));
                    self.totals(
                        &name,
                        "settlementAmountValue (the details' net)",
                        settlement_net,
                        summary.amount,
                        at,
                    )
                    .await?;
                }
                Stated::SettlementDetail(detail) => {
                    self.settlement_detail(&name, detail, file).await?;
                }
            }
        }
        // Rows in a currency the items' summary states no total for.
        if let Some((file, line)) = items_file {
            let name = self.file_names[file as usize].clone();
            for currency in unstated {
                let (count, amount) = self.items_by_currency[&currency];
                let detail =
                    format!("{count} rows in {currency} ({amount}) have no total in the summary section");
                self.discrepancy(
                    "TOTALS_MISMATCH",
                    &name,
                    (Some(amount.to_string()), None),
                    detail,
                    Some((file, line)),
                )
                .await?;
            }
        }
        Ok(())
    }
}

fn kind_word(transaction_type: TransactionType) -> &'static str {
    match transaction_type {
        TransactionType::Payment => "payment",
        TransactionType::Refund => "refund",
    }
}

fn describe(item: &TransactionItem) -> String {
    format!(
        "{} {} {}",
        item.transaction_type.as_str(),
        item.amount,
        item.currency
    )
}

/// SHA-256 of a file's first `max_bytes` (more is never read), read in pieces on a blocking
/// thread.
async fn file_hash(path: &Path, max_bytes: u64) -> Result<String, AppError> {
    let path = path.to_path_buf();
    tokio::task::spawn_blocking(move || hash_of(&path, max_bytes))
        .await
        .map_err(|e| AppError::Unavailable(format!("reading a report file stopped: {e}")))?
}

fn hash_of(path: &Path, max_bytes: u64) -> Result<String, AppError> {
    let mut file = std::fs::File::open(path)
        .map_err(|e| unreadable(path, e))?
        .take(max_bytes);
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 16];
    loop {
        let read = file.read(&mut buffer).map_err(|e| unreadable(path, e))?;
        if read == 0 {
            break;
        }
        hasher.update(&buffer[..read]);
    }
    Ok(hex::encode(hasher.finalize()))
}

fn unreadable(path: &Path, error: std::io::Error) -> AppError {
    AppError::Validation {
        field: "dir".into(),
        message: format!("{}: {error}", path.display()),
    }
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
    for id in std::mem::take(&mut run.not_final) {
        let note = format!("in Alipay+'s report of {} as succeeded", set.report_date);
        let done = store::operator_action(
            &engine.db,
            &engine.definitions,
            engine.clock.as_ref(),
            id,
            OperatorAction::Retry,
            "reconciliation",
            &note,
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
    rows::finish_run(&engine.db, &record).await?;
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
