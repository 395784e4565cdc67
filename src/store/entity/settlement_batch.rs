//! `settlement_batches`: a settlement file's batch as a run checked it against the ledger.

use sea_orm::entity::prelude::*;

pub const MATCHED: &str = "MATCHED";
pub const MISMATCH: &str = "MISMATCH";
/// A clearing batch it names was not reconciled: not checked against the ledger.
pub const INCOMPLETE: &str = "INCOMPLETE";

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "settlement_batches")]
pub struct Model {
    /// The settlement run's id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub agreement_id: String,
    /// The settlement file's date, YYYYMMDD.
    pub settlement_date: String,
    /// Alipay+'s `settlementBatchId`.
    pub settlement_batch_id: String,
    pub currency: String,
    /// The clearing days (YYYYMMDD) of the clearing batches it settles.
    pub clearing_dates: Json,
    /// What the ledger says Alipay+ owes for those days, and what the file says it pays.
    pub expected: i64,
    pub reported: i64,
    /// MATCHED, MISMATCH or INCOMPLETE.
    pub status: String,
    pub created_at: ChronoDateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
