//! `reconciliation_discrepancies`: what a reconciliation run found that does not agree.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "reconciliation_discrepancies")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub run_id: Uuid,
    /// MISSING_IN_PLUSFLOW, MISSING_IN_REPORT, AMOUNT_MISMATCH, CURRENCY_MISMATCH,
    /// STATUS_MISMATCH, DUPLICATE_IN_REPORT, FEE_MISMATCH, TOTALS_MISMATCH, MALFORMED_ROW.
    pub kind: String,
    /// The paymentRequestId / refundRequestId concerned (or the file, for totals).
    pub reference: String,
    pub ours: Option<String>,
    pub theirs: Option<String>,
    pub detail: String,
    /// Where in the files it was found, if in one row.
    pub file: Option<String>,
    pub line: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
