//! `ledger_entries`: one line of a journal of the ledger (see `store::ledger`).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "ledger_entries")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The journal the line is part of, e.g. `payment:<id>`: written once.
    pub journal: String,
    pub line: i32,
    /// The money event, e.g. `payment_succeeded`.
    pub source: String,
    pub merchant_id: Uuid,
    /// The payment or refund the event is about.
    pub object_id: Uuid,
    pub account: String,
    pub currency: String,
    /// Minor units; one of the two is zero.
    pub debit: i64,
    pub credit: i64,
    /// The clearing day (UTC+8), `YYYY-MM-DD`.
    pub business_date: String,
    pub created_at: ChronoDateTimeUtc,
    /// The settlement batch that settled it (receivable lines only), once one matched.
    pub settlement_batch_id: Option<Uuid>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
