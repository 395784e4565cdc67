//! The four report files Alipay+ delivers each day (ALIPAYPLUS.md 7.1), written from a running
//! simulator's ledger (`plusflow simulator reports`): the payments that succeeded and the
//! refunds Alipay+ made in the clearing day (UTC+8), one set per settlement agreement (AlipayCN
//! has its own; one agreement per settlement currency), each row in its transaction's currency
//! with what it settles for in the settlement currency when that differs and the wallet's pspId
//! (`counterParticipantId`); the summary, fee and settlement files in the settlement currency
//! (a fee of [`FEE_PER_MILLE`] per payment), and the settlement of the day's net. Each
//! [`Injection`] adds one discrepancy of its kind, for tests.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::alipayplus::reports::{
    FeeItem, ReportKind, ReportName, SettlementDetail, SettlementSummary, SummaryRow, Totals,
    TransactionItem, TransactionType, Writer, clearing_cycle,
};
use crate::alipayplus::wire::Amount;

/// Alipay+'s (and the wallet's) fee on a payment, in thousandths of its amount.
pub const FEE_PER_MILLE: i64 = 15;

/// One discrepancy of a kind, put into the files on purpose.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Injection {
    /// A payment row no ACQP record has.
    MissingInPlusflow,
    /// A succeeded payment left out.
    MissingInReport,
    /// A payment's amount one minor unit more.
    AmountMismatch,
    /// A payment in another currency.
    CurrencyMismatch,
    /// A payment that did not succeed, reported as if it had.
    StatusMismatch,
    /// A payment row twice.
    DuplicateInReport,
    /// The fee summary one minor unit off its lines.
    FeeMismatch,
    /// The transaction summary one minor unit off its rows.
    TotalsMismatch,
    /// A payment settled in another currency, its settlement amount one minor unit more.
    SettlementAmountMismatch,
    /// A payment named with another wallet's pspId.
    WalletMismatch,
}

/// What the report files need of the ledger (`GET /simulator/ledger`).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LedgerFacts {
    pub participant_id: String,
    pub payments: BTreeMap<String, PaymentFacts>,
    pub refunds: BTreeMap<String, RefundFacts>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentFacts {
    pub payment_id: String,
    pub status: String,
    pub amount: Amount,
    pub paid_at: Option<DateTime<Utc>>,
    pub wallet: String,
    #[serde(default)]
    pub psp_id: Option<String>,
    /// In the settlement currency, when it is not the payment's.
    #[serde(default)]
    pub settlement_amount: Option<Amount>,
}

impl PaymentFacts {
    /// The currency it settles in.
    fn settles_in(&self) -> &str {
        self.settlement_amount
            .as_ref()
            .map_or(&self.amount.currency, |settled| &settled.currency)
    }

    /// `value` of its currency in its settlement currency, at the rate it settled at (signed as
    /// `value`); `None` when it settles in its own.
    fn settled(&self, value: i64) -> Option<(i64, String)> {
        let settled = self.settlement_amount.as_ref()?;
        let exact = i128::from(value) * i128::from(settled.value);
        let rounded = (2 * exact + i128::from(self.amount.value) * exact.signum())
            / (2 * i128::from(self.amount.value));
        Some((i64::try_from(rounded).ok()?, settled.currency.clone()))
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RefundFacts {
    pub refund_id: Option<String>,
    pub refund_time: Option<String>,
    pub payment_request_id: Option<String>,
    pub amount: Amount,
    pub result_status: String,
}

/// The agreement a payment settles under: AlipayCN's own, or the currency's.
fn agreement(wallet: &str, currency: &str) -> String {
    if wallet == "ALIPAY_CN" {
        format!("ACN{currency}")
    } else {
        format!("AGR{currency}")
    }
}

/// The rows of one agreement's files.
#[derive(Default)]
struct AgreementRows {
    currency: String,
    items: Vec<TransactionItem>,
}

/// The fee of a payment row, on what it settles for, in the settlement currency.
fn fee_of(item: &TransactionItem, settlement_currency: &str) -> Option<FeeItem> {
    let settled = item.settled_in(settlement_currency)?;
    (item.transaction_type == TransactionType::Payment).then(|| FeeItem {
        line: 0,
        fee_id: format!("F{}", item.transaction_id),
        transaction_request_id: item.transaction_request_id.clone(),
        fee_type: "PROCESSING_FEE".into(),
        amount: settled * FEE_PER_MILLE / 1000,
        currency: settlement_currency.to_string(),
    })
}

fn parse_day(date: &str) -> anyhow::Result<chrono::NaiveDate> {
    chrono::NaiveDate::parse_from_str(date, "%Y%m%d")
        .map_err(|_| anyhow::anyhow!("'{date}' is not a date YYYYMMDD"))
}

/// Writes the clearing files of day `report_date` into `out`; their paths.
pub fn write(
    ledger: &LedgerFacts,
    report_date: &str,
    out: &Path,
    injections: &[Injection],
) -> anyhow::Result<Vec<PathBuf>> {
    let agreements = day_rows(ledger, parse_day(report_date)?);
    if !injections.is_empty() && agreements.is_empty() {
        anyhow::bail!("nothing settled on {report_date}: no row to inject a discrepancy into");
    }
    let mut written = Vec::new();
    let mut first = true;
    for (agreement_id, mut rows) in agreements {
        // Every injection goes into the first agreement's files, once.
        let applied = if first { injections } else { &[] };
        first = false;
        let offsets = inject(ledger, &mut rows, applied)?;
        let set = FileSet {
            participant_id: &ledger.participant_id,
            agreement_id: &agreement_id,
            currency: &rows.currency,
            report_date,
        };
        written.extend(write_files(out, &set, rows.items.iter().cloned(), offsets)?);
    }
    Ok(written)
}

/// Writes into `out` the settlement file of each agreement dated `settlement_date` (a business
/// day) for the clearing days `covers` (a Monday's covers Friday to Sunday): one detail per
/// clearing batch, the summary their net; their paths.
pub fn write_settlement(
    ledger: &LedgerFacts,
    settlement_date: &str,
    covers: &[String],
    out: &Path,
) -> anyhow::Result<Vec<PathBuf>> {
    let value_date = parse_day(settlement_date)? + chrono::Duration::days(1);
    let mut batches: BTreeMap<String, (String, Vec<SettlementDetail>)> = BTreeMap::new();
    for day in covers {
        for (agreement_id, rows) in day_rows(ledger, parse_day(day)?) {
            let totals = DayTotals::of(rows.items.iter(), &rows.currency);
            let entry = batches.entry(agreement_id.clone()).or_default();
            entry.0 = rows.currency.clone();
            entry.1.push(SettlementDetail {
                line: 0,
                clearing_batch_id: clearing_batch_id(day, &agreement_id),
                transaction_amount: totals.net(),
                fee_amount: totals.fee_total,
                net_amount: totals.net() - totals.fee_total,
                currency: rows.currency,
            });
        }
    }
    let mut written = Vec::new();
    for (agreement_id, (currency, details)) in batches {
        let batch = format!("S{settlement_date}{agreement_id}");
        let name = ReportName {
            kind: ReportKind::Settlement,
            participant_id: ledger.participant_id.replace('_', ""),
            settlement_currency: currency.clone(),
            batch_id: batch.clone(),
            agreement_id,
            seq: "000".into(),
        };
        let path = out.join(name.file_name());
        let mut writer = Writer::new(std::io::BufWriter::new(std::fs::File::create(&path)?));
        writer.settlement_summary(&SettlementSummary {
            line: 0,
            settlement_batch_id: batch,
            amount: details.iter().map(|d| d.net_amount).sum(),
            currency,
            value_date: value_date.format("%Y%m%d").to_string(),
        })?;
        for detail in &details {
            writer.settlement_detail(detail)?;
        }
        writer.end()?;
        written.push(path);
    }
    Ok(written)
}

/// The clearing batch of an agreement's clearing day.
fn clearing_batch_id(day: &str, agreement_id: &str) -> String {
    format!("{day}{agreement_id}")
}

/// The rows of clearing day `day`, by agreement, in time order.
fn day_rows(ledger: &LedgerFacts, day: chrono::NaiveDate) -> BTreeMap<String, AgreementRows> {
    let (from, to) = clearing_cycle(day);
    let in_cycle = |at: DateTime<Utc>| at >= from && at < to;
    let mut agreements: BTreeMap<String, AgreementRows> = BTreeMap::new();
    for (request_id, payment) in &ledger.payments {
        let Some(paid_at) = payment.paid_at.filter(|at| in_cycle(*at)) else {
            continue;
        };
        if payment.status != "SUCCEEDED" {
            continue;
        }
        let rows = agreements
            .entry(agreement(&payment.wallet, payment.settles_in()))
            .or_default();
        rows.currency = payment.settles_in().to_string();
        rows.items.push(TransactionItem {
            line: 0,
            transaction_id: payment.payment_id.clone(),
            transaction_request_id: request_id.clone(),
            original_transaction_id: None,
            transaction_type: TransactionType::Payment,
            transaction_time: paid_at,
            amount: payment.amount.value,
            currency: payment.amount.currency.clone(),
            counter_participant_id: payment.psp_id.clone(),
            settlement: payment.settled(payment.amount.value),
        });
    }
    for (request_id, refund) in &ledger.refunds {
        let refunded_at = refund
            .refund_time
            .as_deref()
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.with_timezone(&Utc));
        let (Some(refunded_at), "S") = (
            refunded_at.filter(|at| in_cycle(*at)),
            refund.result_status.as_str(),
        ) else {
            continue;
        };
        let payment = refund
            .payment_request_id
            .as_deref()
            .and_then(|id| ledger.payments.get(id));
        let wallet = payment.map_or("", |p| p.wallet.as_str());
        let settles_in = payment.map_or(refund.amount.currency.as_str(), PaymentFacts::settles_in);
        let rows = agreements.entry(agreement(wallet, settles_in)).or_default();
        rows.currency = settles_in.to_string();
        rows.items.push(TransactionItem {
            line: 0,
            transaction_id: refund.refund_id.clone().unwrap_or_default(),
            transaction_request_id: request_id.clone(),
            original_transaction_id: payment.map(|p| p.payment_id.clone()),
            transaction_type: TransactionType::Refund,
            transaction_time: refunded_at,
            amount: -refund.amount.value,
            currency: refund.amount.currency.clone(),
            counter_participant_id: payment.and_then(|p| p.psp_id.clone()),
            settlement: payment.and_then(|p| p.settled(-refund.amount.value)),
        });
    }
    for rows in agreements.values_mut() {
        rows.items.sort_by(|a, b| {
            a.transaction_time
                .cmp(&b.transaction_time)
                .then(a.transaction_request_id.cmp(&b.transaction_request_id))
        });
    }
    agreements
}

/// One agreement's files of a clearing day: whose and which.
pub struct FileSet<'a> {
    /// The ACQP's id at Alipay+ ('_' separates the parts of a file name, so it is left out).
    pub participant_id: &'a str,
    pub agreement_id: &'a str,
    pub currency: &'a str,
    /// The clearing day, YYYYMMDD.
    pub report_date: &'a str,
}

/// How far an injection sets a file's stated totals off its rows.
#[derive(Debug, Clone, Copy, Default)]
pub struct Offsets {
    pub items_total: i64,
    pub fee_total: i64,
}

/// `rows` with `injections` applied (see [`Injection`]); what they set off the stated totals.
fn inject(
    ledger: &LedgerFacts,
    rows: &mut AgreementRows,
    injections: &[Injection],
) -> anyhow::Result<Offsets> {
    let first_payment = rows
        .items
        .iter()
        .position(|item| item.transaction_type == TransactionType::Payment);
    let mut offsets = Offsets::default();
    for injection in injections {
        let need =
            || first_payment.ok_or_else(|| anyhow::anyhow!("no payment row to inject {injection:?} into"));
        match injection {
            Injection::MissingInPlusflow => {
                let template = rows.items[need()?].clone();
                rows.items.push(TransactionItem {
                    transaction_id: "2026INJECTED".into(),
                    transaction_request_id: format!("pf_{:032x}", 0xbad),
                    ..template
                });
            }
            // Its fee line goes with it (fees are written from the rows).
            Injection::MissingInReport => drop(rows.items.remove(need()?)),
            Injection::AmountMismatch => rows.items[need()?].amount += 1,
            Injection::CurrencyMismatch => {
                // Still settling for what it did, in the settlement currency.
                let item = &mut rows.items[need()?];
                if item.settlement.is_none() {
                    item.settlement = Some((item.amount, item.currency.clone()));
                }
                item.currency = if item.currency == "EUR" { "GBP" } else { "EUR" }.into();
            }
            Injection::StatusMismatch => {
                let (request_id, payment) = ledger
                    .payments
                    .iter()
                    .find(|(_, p)| p.status != "SUCCEEDED" && p.settles_in() == rows.currency)
                    .ok_or_else(|| {
                        anyhow::anyhow!("no payment that did not succeed to report as succeeded")
                    })?;
                let template = rows.items[need()?].clone();
                rows.items.push(TransactionItem {
                    transaction_id: payment.payment_id.clone(),
                    transaction_request_id: request_id.clone(),
                    amount: payment.amount.value,
                    currency: payment.amount.currency.clone(),
                    settlement: payment.settled(payment.amount.value),
                    ..template
                });
            }
            Injection::DuplicateInReport => {
                let copy = rows.items[need()?].clone();
                rows.items.push(copy);
            }
            Injection::FeeMismatch => offsets.fee_total = 1,
            Injection::TotalsMismatch => offsets.items_total = 1,
            Injection::SettlementAmountMismatch => {
                let item = rows
                    .items
                    .iter_mut()
                    .find(|item| {
                        item.transaction_type == TransactionType::Payment && item.settlement.is_some()
                    })
                    .ok_or_else(|| {
                        anyhow::anyhow!("no payment settled in another currency to inject into")
                    })?;
                if let Some((amount, _)) = &mut item.settlement {
                    *amount += 1;
                }
            }
            Injection::WalletMismatch => {
                let item = &mut rows.items[need()?];
                item.counter_participant_id = Some(
                    if item.counter_participant_id.as_deref() == Some("1022170000000000000") {
                        "1022172000000000001"
                    } else {
                        "1022170000000000000"
                    }
                    .into(),
                );
            }
        }
    }
    Ok(offsets)
}

/// A clearing day's figures of one agreement: per type in the settlement currency, per
/// transaction currency for the items' summary, and the fees.
#[derive(Default)]
struct DayTotals {
    per_type: [(u64, i64); 2],
    per_currency: BTreeMap<String, (u64, i64)>,
    fee_count: u64,
    fee_total: i64,
}

impl DayTotals {
    fn of<T: std::borrow::Borrow<TransactionItem>>(items: impl Iterator<Item = T>, currency: &str) -> Self {
        let mut totals = Self::default();
        for item in items {
            let item = item.borrow();
            let of_type = &mut totals.per_type[usize::from(item.transaction_type == TransactionType::Refund)];
            of_type.0 += 1;
            of_type.1 += item.settled_in(currency).unwrap_or_default();
            let in_currency = totals.per_currency.entry(item.currency.clone()).or_default();
            in_currency.0 += 1;
            in_currency.1 += item.amount;
            if let Some(fee) = fee_of(item, currency) {
                totals.fee_count += 1;
                totals.fee_total += fee.amount;
            }
        }
        if totals.per_currency.is_empty() {
            totals.per_currency.insert(currency.to_string(), (0, 0));
        }
        totals
    }

    /// What the day's rows settle for, net of refunds (settlement currency).
    fn net(&self) -> i64 {
        self.per_type[0].1 + self.per_type[1].1
    }
}

/// Writes the three clearing files of `set` into `out` from its transaction rows (`items`,
/// read once per file, so a generated day need not be held in memory): a fee of
/// [`FEE_PER_MILLE`] per payment; their paths. Settlement files follow their own calendar
/// ([`write_settlement`]).
pub fn write_files<I>(
    out: &Path,
    set: &FileSet<'_>,
    items: I,
    offsets: Offsets,
) -> anyhow::Result<Vec<PathBuf>>
where
    I: Iterator<Item = TransactionItem> + Clone,
{
    let currency = set.currency.to_string();
    let batch = clearing_batch_id(set.report_date, set.agreement_id);
    let open = |kind: ReportKind,
                batch_id: &str|
     -> anyhow::Result<(PathBuf, Writer<std::io::BufWriter<std::fs::File>>)> {
        let name = ReportName {
            kind,
            participant_id: set.participant_id.replace('_', ""),
            settlement_currency: currency.clone(),
            batch_id: batch_id.to_string(),
            agreement_id: set.agreement_id.to_string(),
            seq: "000".into(),
        };
        let path = out.join(name.file_name());
        let file = std::fs::File::create(&path)?;
        Ok((path, Writer::new(std::io::BufWriter::new(file))))
    };
    let DayTotals {
        per_type,
        per_currency,
        fee_count,
        fee_total,
    } = DayTotals::of(items.clone(), &currency);
    let mut paths = Vec::new();

    let (path, mut writer) = open(ReportKind::TransactionItems, &batch)?;
    let mut offset = offsets.items_total;
    for (transaction_currency, (count, amount)) in per_currency {
        writer.totals(&Totals {
            line: 0,
            count,
            amount: amount + std::mem::take(&mut offset),
            currency: transaction_currency,
        })?;
    }
    writer.item_header()?;
    for item in items.clone() {
        writer.item(&item)?;
    }
    writer.end()?;
    paths.push(path);

    let (path, mut writer) = open(ReportKind::Summary, &batch)?;
    writer.summary_header()?;
    for (transaction_type, (count, sum)) in [TransactionType::Payment, TransactionType::Refund]
        .into_iter()
        .zip(per_type)
    {
        writer.summary(&SummaryRow {
            line: 0,
            clearing_batch_id: batch.clone(),
            transaction_type,
            count,
            amount: sum.abs(),
            currency: currency.clone(),
            credit: transaction_type == TransactionType::Payment,
        })?;
    }
    writer.end()?;
    paths.push(path);

    let (path, mut writer) = open(ReportKind::FeeItems, &batch)?;
    writer.totals(&Totals {
        line: 0,
        count: fee_count,
        amount: fee_total + offsets.fee_total,
        currency: currency.clone(),
    })?;
    writer.fee_header()?;
    for fee in items.filter_map(|item| fee_of(&item, &currency)) {
        writer.fee(&fee)?;
    }
    writer.end()?;
    paths.push(path);

    Ok(paths)
}
