//! Settlement against the ledger: what Alipay+ owes for clearing days (the receivable lines of
//! those business dates in a currency, net of Alipay+'s fees booked from the fee files), the
//! batches settlement runs checked, and the receivable lines a matching batch settled.

use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};
use uuid::Uuid;

use super::StoreError;
use super::entity::{ledger_entry, settlement_batch as batch};
use super::ledger::{Account, business_date_of_day, total};

/// The receivable lines in `currency` of `clearing_days` (YYYYMMDD).
fn receivable_of(currency: &str, clearing_days: &[String]) -> Condition {
    let dates: Vec<String> = clearing_days
        .iter()
        .filter_map(|day| business_date_of_day(day))
        .collect();
    Condition::all()
        .add(ledger_entry::Column::Account.eq(Account::AlipayplusReceivable.as_str()))
        .add(ledger_entry::Column::Currency.eq(currency))
        .add(ledger_entry::Column::BusinessDate.is_in(dates))
}

/// Debits less credits of Alipay+'s receivable in `currency` on `clearing_days` (YYYYMMDD):
/// what Alipay+ owes for those days.
pub async fn receivable(
    db: &impl ConnectionTrait,
    currency: &str,
    clearing_days: &[String],
) -> Result<i64, StoreError> {
    let (debits, credits): (i64, i64) = ledger_entry::Entity::find()
        .filter(receivable_of(currency, clearing_days))
        .select_only()
        .expr(total(ledger_entry::Column::Debit))
        .expr(total(ledger_entry::Column::Credit))
        .into_tuple()
        .one(db)
        .await?
        .unwrap_or((0, 0));
    Ok(debits - credits)
}

/// Records `checked` in `txn` (once: a run's batch is written with its run) and, if it matched,
/// marks the receivable lines of its clearing days as settled by it.
pub async fn record_batch_in(txn: &DatabaseTransaction, checked: batch::Model) -> Result<(), StoreError> {
    let days: Vec<String> = serde_json::from_value(checked.clearing_dates.clone()).unwrap_or_default();
    if checked.status == batch::MATCHED {
        ledger_entry::Entity::update_many()
            .col_expr(ledger_entry::Column::SettlementBatchId, Expr::value(checked.id))
            .filter(receivable_of(&checked.currency, &days))
            .exec(txn)
            .await?;
    }
    batch::Entity::insert(batch::ActiveModel::from(checked))
        .on_conflict(OnConflict::column(batch::Column::Id).do_nothing().to_owned())
        .exec_without_returning(txn)
        .await?;
    Ok(())
}

/// Batches newest first, after `after` (an id), at most `limit`.
pub async fn batches(
    db: &impl ConnectionTrait,
    after: Option<Uuid>,
    limit: u64,
) -> Result<Vec<batch::Model>, StoreError> {
    let mut query = batch::Entity::find();
    if let Some(after) = after {
        query = query.filter(batch::Column::Id.lt(after));
    }
    Ok(query
        .order_by_desc(batch::Column::Id)
        .limit(limit)
        .all(db)
        .await?)
}

/// How many receivable lines batch `id` settled.
pub async fn settled_lines(db: &impl ConnectionTrait, id: Uuid) -> Result<u64, StoreError> {
    use sea_orm::PaginatorTrait;
    Ok(ledger_entry::Entity::find()
        .filter(ledger_entry::Column::SettlementBatchId.eq(id))
        .count(db)
        .await?)
}
