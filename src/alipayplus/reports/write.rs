//! Writing report files (the simulator's side).

use std::io::Write;

use super::layout::{
    FEE_COLUMNS, ITEM_COLUMNS, SETTLEMENT_DETAIL_COLUMNS, SETTLEMENT_SUMMARY_COLUMNS, SUMMARY_COLUMNS,
    TOTALS_COLUMNS,
};
use super::records::{FeeItem, SettlementDetail, SettlementSummary, SummaryRow, Totals, TransactionItem};
use chrono::FixedOffset;

/// Writes report files in the layout [`read`] reads (the simulator's side).
pub struct Writer<W: Write> {
    csv: csv::Writer<W>,
}

impl<W: Write> Writer<W> {
    pub fn new(output: W) -> Self {
        Writer {
            csv: csv::WriterBuilder::new().flexible(true).from_writer(output),
        }
    }

    fn row<I: AsRef<[u8]>>(&mut self, fields: impl IntoIterator<Item = I>) -> std::io::Result<()> {
        self.csv.write_record(fields).map_err(std::io::Error::other)
    }

    pub fn totals(&mut self, totals: &Totals) -> std::io::Result<()> {
        self.row(TOTALS_COLUMNS)?;
        self.row([
            totals.count.to_string(),
            totals.amount.to_string(),
            totals.currency.clone(),
        ])
    }

    pub fn item_header(&mut self) -> std::io::Result<()> {
        self.row(ITEM_COLUMNS)
    }

    pub fn item(&mut self, item: &TransactionItem) -> std::io::Result<()> {
        let time = item
            .transaction_time
            .with_timezone(&FixedOffset::east_opt(8 * 3600).expect("UTC+8"))
            .to_rfc3339();
        let (settled, settlement_currency) = match &item.settlement {
            Some((amount, currency)) => (amount.to_string(), currency.as_str()),
            None => (String::new(), ""),
        };
        self.row([
            item.transaction_id.as_str(),
            item.original_transaction_id.as_deref().unwrap_or_default(),
            item.transaction_request_id.as_str(),
            item.counter_participant_id.as_deref().unwrap_or_default(),
            item.transaction_type.as_str(),
            time.as_str(),
            item.amount.to_string().as_str(),
            item.currency.as_str(),
            settled.as_str(),
            settlement_currency,
        ])
    }

    pub fn summary_header(&mut self) -> std::io::Result<()> {
        self.row(SUMMARY_COLUMNS)
    }

    pub fn summary(&mut self, row: &SummaryRow) -> std::io::Result<()> {
        self.row([
            row.clearing_batch_id.clone(),
            row.transaction_type.as_str().into(),
            row.count.to_string(),
            row.amount.to_string(),
            row.currency.clone(),
            if row.credit { "C" } else { "D" }.into(),
        ])
    }

    pub fn fee_header(&mut self) -> std::io::Result<()> {
        self.row(FEE_COLUMNS)
    }

    pub fn fee(&mut self, fee: &FeeItem) -> std::io::Result<()> {
        self.row([
            fee.fee_id.clone(),
            fee.transaction_request_id.clone(),
            fee.fee_type.clone(),
            fee.amount.to_string(),
            fee.currency.clone(),
        ])
    }

    pub fn settlement_summary(&mut self, summary: &SettlementSummary) -> std::io::Result<()> {
        self.row(SETTLEMENT_SUMMARY_COLUMNS)?;
        self.row([
            summary.settlement_batch_id.clone(),
            summary.amount.to_string(),
            summary.currency.clone(),
            summary.value_date.clone(),
        ])
    }

    pub fn settlement_detail(&mut self, detail: &SettlementDetail) -> std::io::Result<()> {
        self.row(SETTLEMENT_DETAIL_COLUMNS)?;
        self.row([
            detail.clearing_batch_id.clone(),
            detail.transaction_amount.to_string(),
            detail.fee_amount.to_string(),
            detail.net_amount.to_string(),
            detail.currency.clone(),
            if detail.net_amount >= 0 { "C" } else { "D" }.into(),
        ])
    }

    /// The `<END>` line, and everything flushed.
    pub fn end(mut self) -> std::io::Result<()> {
        self.row(["<END>"])?;
        self.csv.flush()
    }
}
