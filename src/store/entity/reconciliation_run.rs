//! `reconciliation_runs`: one reconciliation of Alipay+'s report files for a report date and
//! settlement agreement against our records: a clearing day's files, or a settlement file.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "reconciliation_runs")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The clearing day (UTC+8), YYYYMMDD.
    pub report_date: String,
    /// `participantAgreementId` of the files.
    pub agreement_id: String,
    pub settlement_currency: String,
    /// SHA-256 over the files' names and contents: the same files are the same run.
    pub content_hash: String,
    /// `[{"name": ..., "sha256": ...}]`, in name order.
    pub files: Json,
    /// RUNNING, RECONCILED (no discrepancy), DISCREPANCIES.
    pub status: String,
    pub rows_read: i64,
    pub matched: i64,
    pub discrepancy_count: i64,
    /// The earlier run of the same date and agreement this one replaces (a corrected file).
    pub supersedes: Option<Uuid>,
    pub superseded_by: Option<Uuid>,
    /// What changed from the superseded run (files, counts).
    pub changes: Option<String>,
    pub started_at: ChronoDateTimeUtc,
    pub finished_at: Option<ChronoDateTimeUtc>,
    /// [`CLEARING`] (a clearing day's files; `report_date` the clearing day) or [`SETTLEMENT`]
    /// (a settlement file; `report_date` its own date).
    pub kind: String,
    /// A clearing run's clearing batch, and what it found the day settles for (net of refunds)
    /// and costs in fees, in the settlement currency.
    pub clearing_batch_id: Option<String>,
    pub settled_net: Option<i64>,
    pub fee_total: Option<i64>,
}

pub const CLEARING: &str = "CLEARING";
pub const SETTLEMENT: &str = "SETTLEMENT";

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
