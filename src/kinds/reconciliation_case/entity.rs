//! `reconciliation_cases`: a discrepancy someone must close, the row of its workflow (same id).
//! The discrepancy is the copy of the latest run that showed it (`run_id`); `case_key` names it
//! across the runs of its day, agreement and run kind (see `super::rows::case_key`).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "reconciliation_cases")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub case_key: String,
    /// CLEARING or SETTLEMENT.
    pub run_kind: String,
    /// The run's report date, YYYYMMDD.
    pub report_date: String,
    pub agreement_id: String,
    /// The discrepancy: its kind (AMOUNT_MISMATCH...), reference, both sides, detail and where.
    pub kind: String,
    pub reference: String,
    pub ours: Option<String>,
    pub theirs: Option<String>,
    pub detail: String,
    pub file: Option<String>,
    pub line: Option<i64>,
    /// The latest run that showed it.
    pub run_id: Uuid,
    /// The payment or refund whose inquiry the run started, that the case waits for.
    pub object_id: Option<Uuid>,
    /// The finance operator on it.
    pub owner: Option<String>,
    pub due_at: ChronoDateTimeUtc,
    pub created_at: ChronoDateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
