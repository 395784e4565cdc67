//! The sections of each report kind and their columns, as written (the reader needs the money
//! ones).

use super::names::ReportKind;

/// The columns of each section, as written (the reader needs the money ones).
pub(super) const ITEM_COLUMNS: [&str; 10] = [
    "transactionId",
    "originalTransactionId",
    "transactionRequestId",
    "counterParticipantId",
    "transactionType",
    "transactionTime",
    "transactionAmountValue",
    "transactionCurrency",
    "settlementAmountValue",
    "settlementCurrency",
];

pub(super) const TOTALS_COLUMNS: [&str; 3] = ["totalCount", "totalAmountValue", "currency"];

pub(super) const SUMMARY_COLUMNS: [&str; 6] = [
    "clearingBatchId",
    "transactionType",
    "totalCount",
    "totalAmountValue",
    "currency",
    "direction",
];

pub(super) const FEE_COLUMNS: [&str; 5] = [
    "feeId",
    "transactionRequestId",
    "feeType",
    "feeAmountValue",
    "feeCurrency",
];

pub(super) const SETTLEMENT_SUMMARY_COLUMNS: [&str; 4] = [
    "settlementBatchId",
    "settlementAmountValue",
    "settlementCurrency",
    "valueDate",
];

pub(super) const SETTLEMENT_DETAIL_COLUMNS: [&str; 6] = [
    "clearingBatchId",
    "transactionAmountValue",
    "feeAmountValue",
    "netAmountValue",
    "currency",
    "direction",
];

/// The sections a kind of file may hold, by the name of their first column.
pub(super) fn sections(kind: ReportKind) -> &'static [(&'static str, Section)] {
    match kind {
        ReportKind::TransactionItems => &[
            ("totalCount", Section::ItemTotals),
            ("transactionId", Section::Items),
        ],
        ReportKind::Summary => &[("clearingBatchId", Section::Summary)],
        ReportKind::FeeItems => &[("totalCount", Section::FeeTotals), ("feeId", Section::Fees)],
        ReportKind::Settlement => &[
            ("settlementBatchId", Section::SettlementSummary),
            ("clearingBatchId", Section::SettlementDetails),
        ],
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Section {
    ItemTotals,
    Items,
    Summary,
    FeeTotals,
    Fees,
    SettlementSummary,
    SettlementDetails,
}

impl Section {
    pub(super) fn required(self) -> &'static [&'static str] {
        match self {
            Section::ItemTotals | Section::FeeTotals => &TOTALS_COLUMNS,
            Section::Items => &[
                "transactionId",
                "transactionRequestId",
                "transactionType",
                "transactionTime",
                "transactionAmountValue",
                "transactionCurrency",
            ],
            Section::Summary => &SUMMARY_COLUMNS,
            Section::Fees => &["transactionRequestId", "feeAmountValue", "feeCurrency"],
            Section::SettlementSummary => &["settlementAmountValue", "settlementCurrency"],
            Section::SettlementDetails => &[
                "clearingBatchId",
                "transactionAmountValue",
                "feeAmountValue",
                "netAmountValue",
                "currency",
            ],
        }
    }
}
