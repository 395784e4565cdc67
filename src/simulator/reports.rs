//! The four report files Alipay+ delivers each day (ALIPAYPLUS.md 7.1), written from a running
//! simulator's ledger (`plusflow simulator reports`): the payments that succeeded and the
//! refunds Alipay+ made in the clearing day (UTC+8), one set per settlement agreement (AlipayCN
//! has its own; one agreement per currency), a fee of [`FEE_PER_MILLE`] per payment, and the
//! settlement of the day's net. Each [`Injection`] adds one discrepancy of its kind, for tests.

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
    items: Vec<(TransactionItem, String)>,
}

fn fee_of(item: &TransactionItem) -> Option<FeeItem> {
    (item.transaction_type == TransactionType::Payment).then(|| FeeItem {
        line: 0,
        fee_id: format!("F{}", item.transaction_id),
        transaction_request_id: item.transaction_request_id.clone(),
        fee_type: "PROCESSING_FEE".into(),
        amount: item.amount * FEE_PER_MILLE / 1000,
        currency: item.currency.clone(),
    })
}

/// Writes the day's report files into `out`; their paths.
pub fn write(
    ledger: &LedgerFacts,
    report_date: &str,
    out: &Path,
    injections: &[Injection],
) -> anyhow::Result<Vec<PathBuf>> {
    let day = chrono::NaiveDate::parse_from_str(report_date, "%Y%m%d")
        .map_err(|_| anyhow::anyhow!("--date: '{report_date}' is not a date YYYYMMDD"))?;
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
            .entry(agreement(&payment.wallet, &payment.amount.currency))
            .or_default();
        rows.currency = payment.amount.currency.clone();
        rows.items.push((
            TransactionItem {
                line: 0,
                transaction_id: payment.payment_id.clone(),
                transaction_request_id: request_id.clone(),
                original_transaction_id: None,
                transaction_type: TransactionType::Payment,
                transaction_time: paid_at,
                amount: payment.amount.value,
                currency: payment.amount.currency.clone(),
                psp_name: Some(payment.wallet.clone()),
            },
            String::new(),
        ));
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
        let rows = agreements
            .entry(agreement(wallet, &refund.amount.currency))
            .or_default();
        rows.currency = refund.amount.currency.clone();
        rows.items.push((
            TransactionItem {
                line: 0,
                transaction_id: refund.refund_id.clone().unwrap_or_default(),
                transaction_request_id: request_id.clone(),
                original_transaction_id: payment.map(|p| p.payment_id.clone()),
                transaction_type: TransactionType::Refund,
                transaction_time: refunded_at,
                amount: -refund.amount.value,
                currency: refund.amount.currency.clone(),
                psp_name: payment.map(|p| p.wallet.clone()),
            },
            String::new(),
        ));
    }
    if !injections.is_empty() && agreements.is_empty() {
        anyhow::bail!("nothing settled on {report_date}: no row to inject a discrepancy into");
    }
    let mut written = Vec::new();
    let mut first = true;
    for (agreement_id, mut rows) in agreements {
        rows.items.sort_by(|a, b| {
            a.0.transaction_time
                .cmp(&b.0.transaction_time)
                .then(a.0.transaction_request_id.cmp(&b.0.transaction_request_id))
        });
        // Every injection goes into the first agreement's files, once.
        let applied = if first { injections } else { &[] };
        first = false;
        written.extend(write_agreement(
            ledger,
            (report_date, (from, to)),
            out,
            &agreement_id,
            rows,
            applied,
        )?);
    }
    Ok(written)
}

fn write_agreement(
    ledger: &LedgerFacts,
    (report_date, cycle): (&str, (DateTime<Utc>, DateTime<Utc>)),
    out: &Path,
    agreement_id: &str,
    mut rows: AgreementRows,
    injections: &[Injection],
) -> anyhow::Result<Vec<PathBuf>> {
    let first_payment = rows
        .items
        .iter()
        .position(|(item, _)| item.transaction_type == TransactionType::Payment);
    let mut fee_offset = 0;
    let mut totals_offset = 0;
    for injection in injections {
        let need =
            || first_payment.ok_or_else(|| anyhow::anyhow!("no payment row to inject {injection:?} into"));
        match injection {
            Injection::MissingInPlusflow => {
                let template = rows.items[need()?].clone();
                rows.items.push((
                    TransactionItem {
                        transaction_id: "2026INJECTED".into(),
                        transaction_request_id: format!("pf_{:032x}", 0xbad),
                        ..template.0
                    },
                    template.1,
                ));
            }
            // Its fee line goes with it (fees are written from the rows).
            Injection::MissingInReport => drop(rows.items.remove(need()?)),
            Injection::AmountMismatch => rows.items[need()?].0.amount += 1,
            Injection::CurrencyMismatch => {
                let item = &mut rows.items[need()?].0;
                item.currency = if item.currency == "EUR" { "GBP" } else { "EUR" }.into();
            }
            Injection::StatusMismatch => {
                let (request_id, payment) = ledger
                    .payments
                    .iter()
                    .find(|(_, p)| p.status != "SUCCEEDED" && p.amount.currency == rows.currency)
                    .ok_or_else(|| {
                        anyhow::anyhow!("no payment that did not succeed to report as succeeded")
                    })?;
                let template = rows.items[need()?].0.clone();
                rows.items.push((
                    TransactionItem {
                        transaction_id: payment.payment_id.clone(),
                        transaction_request_id: request_id.clone(),
                        amount: payment.amount.value,
                        ..template
                    },
                    String::new(),
                ));
            }
            Injection::DuplicateInReport => {
                let copy = rows.items[need()?].clone();
                rows.items.push(copy);
            }
            Injection::FeeMismatch => fee_offset = 1,
            Injection::TotalsMismatch => totals_offset = 1,
        }
    }
    let currency = rows.currency.clone();
    let batch = format!("{report_date}{agreement_id}");
    let name = |kind: ReportKind, batch_id: &str| ReportName {
        kind,
        // The parts of a file name are separated by '_'.
        participant_id: ledger.participant_id.replace('_', ""),
        settlement_currency: currency.clone(),
        batch_id: batch_id.to_string(),
        agreement_id: agreement_id.to_string(),
        seq: "000".into(),
    };
    let open = |report: &ReportName| -> anyhow::Result<(PathBuf, Writer<std::io::BufWriter<std::fs::File>>)> {
        let path = out.join(report.file_name());
        let file = std::fs::File::create(&path)?;
        Ok((path, Writer::new(std::io::BufWriter::new(file))))
    };
    let mut paths = Vec::new();
    let items = &rows.items;
    let net: i64 = items.iter().map(|(item, _)| item.amount).sum();
    let (path, mut writer) = open(&name(ReportKind::TransactionItems, &batch))?;
    writer.totals(&Totals {
        line: 0,
        count: items.len() as u64,
        amount: net + totals_offset,
        currency: currency.clone(),
    })?;
    writer.item_header()?;
    for (item, merchant) in items {
        writer.item(item, merchant)?;
    }
    writer.end()?;
    paths.push(path);

    let (path, mut writer) = open(&name(ReportKind::Summary, &batch))?;
    writer.summary_header()?;
    for transaction_type in [TransactionType::Payment, TransactionType::Refund] {
        let of_type: Vec<&TransactionItem> = items
            .iter()
            .map(|(item, _)| item)
            .filter(|item| item.transaction_type == transaction_type)
            .collect();
        writer.summary(&SummaryRow {
            line: 0,
            clearing_batch_id: batch.clone(),
            transaction_type,
            count: of_type.len() as u64,
            amount: of_type.iter().map(|item| item.amount.abs()).sum(),
            currency: currency.clone(),
            credit: transaction_type == TransactionType::Payment,
        })?;
    }
    writer.end()?;
    paths.push(path);

    let fees: Vec<FeeItem> = items.iter().filter_map(|(item, _)| fee_of(item)).collect();
    let fee_total: i64 = fees.iter().map(|fee| fee.amount).sum();
    let (path, mut writer) = open(&name(ReportKind::FeeItems, &batch))?;
    writer.totals(&Totals {
        line: 0,
        count: fees.len() as u64,
        amount: fee_total + fee_offset,
        currency: currency.clone(),
    })?;
    writer.fee_header()?;
    for fee in &fees {
        writer.fee(fee)?;
    }
    writer.end()?;
    paths.push(path);

    let settlement_batch = format!("S{report_date}{agreement_id}");
    let (path, mut writer) = open(&name(ReportKind::Settlement, &settlement_batch))?;
    let value_date = cycle.1 + chrono::Duration::days(1);
    writer.settlement_summary(&SettlementSummary {
        line: 0,
        settlement_batch_id: settlement_batch.clone(),
        amount: net - fee_total,
        currency: currency.clone(),
        value_date: value_date.format("%Y%m%d").to_string(),
    })?;
    writer.settlement_detail(&SettlementDetail {
        line: 0,
        clearing_batch_id: batch.clone(),
        transaction_amount: net,
        fee_amount: fee_total,
        net_amount: net - fee_total,
        currency,
    })?;
    writer.end()?;
    paths.push(path);
    Ok(paths)
}
