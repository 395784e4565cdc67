//! One run in the making ([`Run`]): each transaction row matched to our payment or refund by its
//! request id, a batch at a time, and every discrepancy found written as it goes.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::alipayplus::reports::{self, TransactionItem, TransactionType};
use crate::app::Engine;
use crate::app::errors::AppError;
use crate::store::entity::reconciliation_discrepancy as discrepancy;
use crate::store::reconciliation::{self as rows, OurRecord, SUCCEEDED};

/// Rows compared with our records per query.
pub(super) const BATCH: usize = 10_000;

/// Discrepancies written per insert.
pub(super) const WRITE_BATCH: usize = 500;

/// A discrepancy's detail and each side are kept at most this long (a file decides them).
pub(super) const MAX_DETAIL_CHARS: usize = 1_000;
pub(super) const MAX_SIDE_CHARS: usize = 300;

/// The request ids of the transaction rows read, with where the first of each was (file,
/// line): ours (`pf_` / `pfr_` and 32 hex digits) in 16 bytes, anything else as it is.
#[derive(Default)]
pub(super) struct SeenIds {
    pub(super) ours: HashMap<u128, (u32, u32)>,
    pub(super) others: HashMap<String, (u32, u32)>,
}

pub(super) fn ours_of(request_id: &str) -> Option<u128> {
    let hex = request_id
        .strip_prefix("pfr_")
        .or_else(|| request_id.strip_prefix("pf_"))?;
    (hex.len() == 32)
        .then(|| u128::from_str_radix(hex, 16).ok())
        .flatten()
}

impl SeenIds {
    pub(super) fn get(&self, request_id: &str) -> Option<(u32, u64)> {
        let at = match ours_of(request_id) {
            Some(key) => self.ours.get(&key),
            None => self.others.get(request_id),
        };
        at.map(|&(file, line)| (file, u64::from(line)))
    }

    pub(super) fn contains(&self, request_id: &str) -> bool {
        self.get(request_id).is_some()
    }

    pub(super) fn insert(&mut self, request_id: &str, (file, line): (u32, u64)) {
        let at = (file, u32::try_from(line).unwrap_or(u32::MAX));
        match ours_of(request_id) {
            Some(key) => self.ours.insert(key, at),
            None => self.others.insert(request_id.to_string(), at),
        };
    }
}

/// One run in the making.
pub(super) struct Run<'a> {
    pub(super) engine: &'a Engine,
    pub(super) id: Uuid,
    pub(super) agreement_id: String,
    pub(super) found: Vec<discrepancy::Model>,
    pub(super) discrepancies: i64,
    pub(super) rows_read: i64,
    pub(super) matched: i64,
    /// Request ids seen in the transaction rows, with the file and line of the first.
    pub(super) seen: SeenIds,
    pub(super) file_names: Vec<String>,
    pub(super) pending: Vec<(TransactionItem, u32)>,
    /// Per type: rows and the sum of what they settle for (signed, settlement currency).
    pub(super) items: HashMap<TransactionType, (u64, i64)>,
    /// Per transaction currency: rows and the sum of their (signed) amounts.
    pub(super) items_by_currency: BTreeMap<String, (u64, i64)>,
    pub(super) fee_total: i64,
    pub(super) fee_count: u64,
    /// The files' own totals, checked once every row is read.
    pub(super) stated: Vec<(Stated, u32)>,
    /// Payments and refunds not final here that the report has.
    pub(super) not_final: Vec<(Uuid, String)>,
    /// The clearing cycle, and how many of our payments and refunds (by kind) that succeeded in
    /// it and settle in the report's currency the rows named.
    pub(super) cycle: (DateTime<Utc>, DateTime<Utc>),
    pub(super) currency: String,
    pub(super) found_in_cycle: HashMap<TransactionType, u64>,
    /// A settlement file's summary (and its file), and the clearing days (YYYYMMDD) of the
    /// clearing batches it names that were reconciled: what `batches` checks with the ledger.
    pub(super) settlement: Option<(reports::SettlementSummary, u32)>,
    pub(super) clearing_days: Vec<String>,
    /// A clearing batch it names was not reconciled: the ledger's side cannot be told.
    pub(super) clearing_unknown: bool,
}

impl<'a> Run<'a> {
    pub(super) async fn discrepancy(
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

    pub(super) async fn flush_found(&mut self) -> Result<(), AppError> {
        let batch = std::mem::take(&mut self.found);
        rows::insert_discrepancies(&self.engine.db, batch).await?;
        Ok(())
    }

    /// Takes one transaction row: a duplicate is reported at once, the rest compared in batches.
    pub(super) async fn item(&mut self, item: TransactionItem, file: u32) -> Result<(), AppError> {
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
    pub(super) async fn compare_pending(&mut self) -> Result<(), AppError> {
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

    pub(super) async fn compare(
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
                self.not_final.push((ours.id, ours.request_id.clone()));
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
    pub(super) async fn missing_in_report(&mut self) -> Result<(), AppError> {
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
    pub(super) async fn settlement_detail(
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
                self.clearing_unknown = true;
                let detail = format!("clearing batch {batch}: no reconciled clearing files to settle");
                self.discrepancy("TOTALS_MISMATCH", name, (None, None), detail, at)
                    .await?;
            }
            Some(clearing) => {
                self.clearing_days.push(clearing.report_date.clone());
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

    pub(super) async fn totals(
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

pub(super) fn kind_word(transaction_type: TransactionType) -> &'static str {
    match transaction_type {
        TransactionType::Payment => "payment",
        TransactionType::Refund => "refund",
    }
}

pub(super) fn describe(item: &TransactionItem) -> String {
    format!(
        "{} {} {}",
        item.transaction_type.as_str(),
        item.amount,
        item.currency
    )
}

/// A total a file states about its rows.
pub(super) enum Stated {
    Items(reports::Totals),
    Fees(reports::Totals),
    Summary(reports::SummaryRow),
    Settlement(reports::SettlementSummary),
    SettlementDetail(reports::SettlementDetail),
}
