//! What a report file holds, a row at a time ([`Record`]).

use chrono::{DateTime, Utc};

/// A payment or a refund.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TransactionType {
    Payment,
    Refund,
}

impl TransactionType {
    pub fn as_str(self) -> &'static str {
        match self {
            TransactionType::Payment => "PAYMENT",
            TransactionType::Refund => "REFUND",
        }
    }

    pub(super) fn parse(text: &str) -> Option<Self> {
        match text {
            "PAYMENT" => Some(TransactionType::Payment),
            "REFUND" => Some(TransactionType::Refund),
            _ => None,
        }
    }
}

/// One payment or refund completed in the clearing cycle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransactionItem {
    pub line: u64,
    /// Alipay+'s paymentId / refundId.
    pub transaction_id: String,
    /// Ours: paymentRequestId / refundRequestId.
    pub transaction_request_id: String,
    /// The payment's paymentId, on a refund.
    pub original_transaction_id: Option<String>,
    pub transaction_type: TransactionType,
    pub transaction_time: DateTime<Utc>,
    /// Minor units in the transaction's currency; a refund's is negative.
    pub amount: i64,
    pub currency: String,
    /// The wallet's pspId (`counterParticipantId`).
    pub counter_participant_id: Option<String>,
    /// What it settles for in the file's settlement currency (signed like `amount`), when that
    /// differs from the transaction's; absent, the amount itself.
    pub settlement: Option<(i64, String)>,
}

impl TransactionItem {
    /// Its amount in `settlement_currency`, if the row says it: the amount itself when the
    /// transaction is in that currency, else the row's settlement amount in it.
    pub fn settled_in(&self, settlement_currency: &str) -> Option<i64> {
        match &self.settlement {
            Some((amount, currency)) if currency == settlement_currency => Some(*amount),
            _ if self.currency == settlement_currency => Some(self.amount),
            _ => None,
        }
    }
}

/// A file's summary: how many rows and their total (fees: the total fee).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Totals {
    pub line: u64,
    pub count: u64,
    pub amount: i64,
    pub currency: String,
}

/// One row of the summary file: a transaction type's total in the clearing batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SummaryRow {
    pub line: u64,
    pub clearing_batch_id: String,
    pub transaction_type: TransactionType,
    pub count: u64,
    /// Unsigned; `credit` says which way.
    pub amount: i64,
    pub currency: String,
    /// `C`: owed to the ACQP (payments); `D`: owed by it (refunds).
    pub credit: bool,
}

/// One fee line, of one transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeeItem {
    pub line: u64,
    pub fee_id: String,
    pub transaction_request_id: String,
    pub fee_type: String,
    pub amount: i64,
    pub currency: String,
}

/// The settlement file's summary: what Alipay+ pays, before `value_date`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettlementSummary {
    pub line: u64,
    pub settlement_batch_id: String,
    pub amount: i64,
    pub currency: String,
    pub value_date: String,
}

/// One clearing batch in a settlement: its transactions, its fees, and the net.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettlementDetail {
    pub line: u64,
    pub clearing_batch_id: String,
    pub transaction_amount: i64,
    pub fee_amount: i64,
    pub net_amount: i64,
    pub currency: String,
}

/// A row that could not be read: where, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadRow {
    pub line: u64,
    pub message: String,
}

/// What a report file holds, a row at a time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    Item(TransactionItem),
    ItemTotals(Totals),
    Summary(SummaryRow),
    Fee(FeeItem),
    FeeTotals(Totals),
    SettlementSummary(SettlementSummary),
    SettlementDetail(SettlementDetail),
    Bad(BadRow),
}
