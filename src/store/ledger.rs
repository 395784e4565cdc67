//! The ledger: a double-entry journal of every money event, written in the transaction of the
//! change that made it ([`post_in`], called by the write path for a change its kind books), so
//! the books cannot drift from the state machines. Accounts are per merchant and currency:
//! what Alipay+ owes the acquirer, what the acquirer owes the merchant, the acquirer's fees, and
//! a conversion account where Alipay+ settles in another currency than the merchant's. A
//! journal's lines balance per currency (checked here, before anything is written: an
//! unbalanced journal fails the whole change) and a journal is written once (its name is unique
//! with each line). Statements and balances are sums over the lines.

use std::collections::BTreeMap;

use chrono::{DateTime, FixedOffset, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::sea_query::{Alias, Expr, ExprTrait, SimpleExpr};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};
use uuid::Uuid;

use super::StoreError;
use super::entity::ledger_entry;
use crate::store::Db;

/// An account of a merchant in a currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Account {
    /// What Alipay+ owes the acquirer (settled by Alipay+'s settlement batches).
    AlipayplusReceivable,
    /// What the acquirer owes the merchant.
    MerchantPayable,
    /// The acquirer's fees taken from the merchant's payments.
    Fees,
    /// Between the currency Alipay+ settles in and the merchant's.
    Conversion,
    /// What Alipay+ charges the acquirer (its fee files; the acquirer's, not a merchant's).
    AlipayplusFees,
}

impl Account {
    pub fn as_str(self) -> &'static str {
        match self {
            Account::AlipayplusReceivable => "alipayplus_receivable",
            Account::MerchantPayable => "merchant_payable",
            Account::Fees => "fees",
            Account::Conversion => "conversion",
            Account::AlipayplusFees => "alipayplus_fees",
        }
    }
}

/// What a journal records: the money events, as statements group them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    PaymentSucceeded,
    RefundSucceeded,
    /// The refund an accepted dispute escalation made.
    DisputeRefundSucceeded,
    /// Alipay+'s fees of a clearing day, from its fee file (booked by the clearing run).
    AlipayplusFees,
    /// The fees of a run a corrected file superseded, taken back.
    AlipayplusFeesReversed,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::PaymentSucceeded => "payment_succeeded",
            Source::RefundSucceeded => "refund_succeeded",
            Source::DisputeRefundSucceeded => "dispute_refund_succeeded",
            Source::AlipayplusFees => "alipayplus_fees",
            Source::AlipayplusFeesReversed => "alipayplus_fees_reversed",
        }
    }
}

/// One debit or credit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub account: Account,
    pub currency: String,
    pub debit: i64,
    pub credit: i64,
}

impl Line {
    pub fn debit(account: Account, currency: &str, amount: i64) -> Self {
        Self {
            account,
            currency: currency.to_string(),
            debit: amount,
            credit: 0,
        }
    }

    pub fn credit(account: Account, currency: &str, amount: i64) -> Self {
        Self {
            account,
            currency: currency.to_string(),
            debit: 0,
            credit: amount,
        }
    }
}

/// The lines of one money event of one object of a merchant.
#[derive(Debug, Clone)]
pub struct Journal {
    pub source: Source,
    pub merchant_id: Uuid,
    pub object_id: Uuid,
    /// When the money event happened (its clearing day is the business date).
    pub at: DateTime<Utc>,
    pub lines: Vec<Line>,
}

impl Journal {
    /// The journal's unique name: one journal per event and object.
    pub fn name(&self) -> String {
        format!("{}:{}", self.source.as_str(), self.object_id)
    }

    /// Debits less credits, per currency, where they differ (empty when balanced). A line with
    /// a negative side, or both sides, is refused too.
    pub fn imbalance(&self) -> Result<BTreeMap<String, i64>, String> {
        let mut sums = BTreeMap::<String, i64>::new();
        for line in &self.lines {
            if line.debit < 0 || line.credit < 0 || (line.debit != 0 && line.credit != 0) {
                return Err(format!("{}: a line is one positive side: {line:?}", self.name()));
            }
            *sums.entry(line.currency.clone()).or_default() += line.debit - line.credit;
        }
        sums.retain(|_, difference| *difference != 0);
        Ok(sums)
    }
}

/// The clearing day (UTC+8) of `at`, as Alipay+'s reports date it: `YYYY-MM-DD`.
pub fn business_date(at: DateTime<Utc>) -> String {
    let utc8 = FixedOffset::east_opt(8 * 3600).expect("a valid offset");
    at.with_timezone(&utc8).format("%Y-%m-%d").to_string()
}

/// The business date (`YYYY-MM-DD`) of clearing day `day` (`YYYYMMDD`).
pub fn business_date_of_day(day: &str) -> Option<String> {
    let date = chrono::NaiveDate::parse_from_str(day, "%Y%m%d").ok()?;
    Some(date.format("%Y-%m-%d").to_string())
}

/// The merchant id of the acquirer's own lines (Alipay+'s fees): no merchant.
pub const ACQUIRER: Uuid = Uuid::nil();

/// Writes `journal` in `txn` if it balances in every currency (else nothing, and the change
/// fails); a journal already written (the same event of the same object) is left as it is.
pub async fn post_in(txn: &DatabaseTransaction, journal: &Journal) -> Result<(), StoreError> {
    let imbalance = journal.imbalance().map_err(StoreError::Unbalanced)?;
    if !imbalance.is_empty() {
        return Err(StoreError::Unbalanced(format!(
            "{}: debits less credits {imbalance:?}",
            journal.name()
        )));
    }
    let name = journal.name();
    let business_date = business_date(journal.at);
    let rows = journal
        .lines
        .iter()
        .enumerate()
        .filter(|(_, line)| line.debit != 0 || line.credit != 0)
        .map(|(n, line)| {
            ledger_entry::ActiveModel::from(ledger_entry::Model {
                id: Uuid::now_v7(),
                journal: name.clone(),
                line: n as i32,
                source: journal.source.as_str().to_string(),
                merchant_id: journal.merchant_id,
                object_id: journal.object_id,
                account: line.account.as_str().to_string(),
                currency: line.currency.clone(),
                debit: line.debit,
                credit: line.credit,
                business_date: business_date.clone(),
                created_at: journal.at,
                settlement_batch_id: None,
            })
        })
        .collect::<Vec<_>>();
    if rows.is_empty() {
        return Ok(());
    }
    ledger_entry::Entity::insert_many(rows)
        .on_conflict(
            OnConflict::columns([ledger_entry::Column::Journal, ledger_entry::Column::Line])
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(txn)
        .await?;
    Ok(())
}

/// `SUM(column)` as a BIGINT (PostgreSQL sums integers as NUMERIC), 0 over no rows.
pub(crate) fn total(column: ledger_entry::Column) -> SimpleExpr {
    Expr::col(column).sum().if_null(0).cast_as(Alias::new("BIGINT"))
}

/// Debits less credits of every currency over the whole ledger (or one merchant's): all zero
/// when the books balance.
pub async fn imbalance(db: &Db, merchant_id: Option<Uuid>) -> Result<BTreeMap<String, i64>, StoreError> {
    let mut query = ledger_entry::Entity::find();
    if let Some(merchant_id) = merchant_id {
        query = query.filter(ledger_entry::Column::MerchantId.eq(merchant_id));
    }
    let rows: Vec<(String, i64, i64)> = query
        .select_only()
        .column(ledger_entry::Column::Currency)
        .expr(total(ledger_entry::Column::Debit))
        .expr(total(ledger_entry::Column::Credit))
        .group_by(ledger_entry::Column::Currency)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(currency, debits, credits)| (currency, debits - credits))
        .collect())
}

/// An account's totals up to a business date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Balance {
    /// [`ACQUIRER`] for the acquirer's own accounts.
    pub merchant_id: Uuid,
    pub account: String,
    pub currency: String,
    pub debits: i64,
    pub credits: i64,
}

impl Balance {
    /// Debits less credits.
    pub fn balance(&self) -> i64 {
        self.debits - self.credits
    }
}

/// Every account's totals (of merchant `merchant_id`, if given) over business dates up to and
/// including `date` (`YYYY-MM-DD`), by merchant, account and currency.
pub async fn balances(
    db: &impl ConnectionTrait,
    merchant_id: Option<Uuid>,
    date: &str,
) -> Result<Vec<Balance>, StoreError> {
    let mut query = ledger_entry::Entity::find().filter(ledger_entry::Column::BusinessDate.lte(date));
    if let Some(merchant_id) = merchant_id {
        query = query.filter(ledger_entry::Column::MerchantId.eq(merchant_id));
    }
    let rows: Vec<(Uuid, String, String, i64, i64)> = query
        .select_only()
        .column(ledger_entry::Column::MerchantId)
        .column(ledger_entry::Column::Account)
        .column(ledger_entry::Column::Currency)
        .expr(total(ledger_entry::Column::Debit))
        .expr(total(ledger_entry::Column::Credit))
        .group_by(ledger_entry::Column::MerchantId)
        .group_by(ledger_entry::Column::Account)
        .group_by(ledger_entry::Column::Currency)
        .order_by_asc(ledger_entry::Column::MerchantId)
        .order_by_asc(ledger_entry::Column::Account)
        .order_by_asc(ledger_entry::Column::Currency)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(merchant_id, account, currency, debits, credits)| Balance {
            merchant_id,
            account,
            currency,
            debits,
            credits,
        })
        .collect())
}

/// One currency of a merchant's day: what statements show (minor units).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DayTotals {
    pub currency: String,
    /// Payments credited to the merchant before fees.
    pub gross: i64,
    pub refunds: i64,
    pub dispute_refunds: i64,
    pub fees: i64,
}

impl DayTotals {
    /// What the day adds to what the acquirer owes the merchant.
    pub fn net(&self) -> i64 {
        self.gross - self.refunds - self.dispute_refunds - self.fees
    }
}

/// A merchant's totals of business day `date` (`YYYY-MM-DD`), per currency (in currency order),
/// from its `merchant_payable` and `fees` lines.
pub async fn day_totals(db: &Db, merchant_id: Uuid, date: &str) -> Result<Vec<DayTotals>, StoreError> {
    let accounts = [Account::MerchantPayable.as_str(), Account::Fees.as_str()];
    let rows: Vec<(String, String, String, i64, i64)> = ledger_entry::Entity::find()
        .filter(ledger_entry::Column::MerchantId.eq(merchant_id))
        .filter(ledger_entry::Column::BusinessDate.eq(date))
        .filter(ledger_entry::Column::Account.is_in(accounts))
        .select_only()
        .column(ledger_entry::Column::Currency)
        .column(ledger_entry::Column::Source)
        .column(ledger_entry::Column::Account)
        .expr(total(ledger_entry::Column::Debit))
        .expr(total(ledger_entry::Column::Credit))
        .group_by(ledger_entry::Column::Currency)
        .group_by(ledger_entry::Column::Source)
        .group_by(ledger_entry::Column::Account)
        .into_tuple()
        .all(db)
        .await?;
    let mut days = BTreeMap::<String, DayTotals>::new();
    for (currency, source, account, debits, credits) in rows {
        let day = days.entry(currency.clone()).or_insert_with(|| DayTotals {
            currency,
            ..DayTotals::default()
        });
        match (source.as_str(), account.as_str()) {
            ("payment_succeeded", "merchant_payable") => day.gross += credits - debits,
            // The fee is part of what the customer paid, kept by the acquirer.
            ("payment_succeeded", "fees") => {
                day.gross += credits - debits;
                day.fees += credits - debits;
            }
            ("refund_succeeded", "merchant_payable") => day.refunds += debits - credits,
            ("dispute_refund_succeeded", "merchant_payable") => day.dispute_refunds += debits - credits,
            _ => {}
        }
    }
    Ok(days.into_values().collect())
}

/// The merchants with ledger lines on business day `date`.
pub async fn merchants_of_day(db: &Db, date: &str) -> Result<Vec<Uuid>, StoreError> {
    Ok(ledger_entry::Entity::find()
        .filter(ledger_entry::Column::BusinessDate.eq(date))
        .filter(ledger_entry::Column::MerchantId.ne(ACQUIRER))
        .select_only()
        .column(ledger_entry::Column::MerchantId)
        .distinct()
        .order_by_asc(ledger_entry::Column::MerchantId)
        .into_tuple()
        .all(db)
        .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn journal(lines: Vec<Line>) -> Journal {
        Journal {
            source: Source::PaymentSucceeded,
            merchant_id: Uuid::nil(),
            object_id: Uuid::nil(),
            at: Utc::now(),
            lines,
        }
    }

    #[test]
    fn a_journal_balances_per_currency_not_across_currencies() {
        let balanced = journal(vec![
            Line::debit(Account::AlipayplusReceivable, "USD", 1000),
            Line::credit(Account::MerchantPayable, "USD", 970),
            Line::credit(Account::Fees, "USD", 30),
        ]);
        assert!(balanced.imbalance().unwrap().is_empty());
        let across = journal(vec![
            Line::debit(Account::AlipayplusReceivable, "USD", 1000),
            Line::credit(Account::MerchantPayable, "KRW", 1000),
        ]);
        assert_eq!(
            across.imbalance().unwrap(),
            BTreeMap::from([("KRW".to_string(), -1000), ("USD".to_string(), 1000)])
        );
    }

    #[test]
    fn a_line_with_a_negative_side_or_both_sides_is_refused() {
        assert!(
            journal(vec![Line::debit(Account::Fees, "USD", -5)])
                .imbalance()
                .is_err()
        );
        let both = Line {
            account: Account::Fees,
            currency: "USD".into(),
            debit: 5,
            credit: 5,
        };
        assert!(journal(vec![both]).imbalance().is_err());
    }

    #[test]
    fn the_business_date_is_the_clearing_day_in_utc_plus_8() {
        let at = "2026-12-06T16:30:00Z".parse().unwrap();
        assert_eq!(business_date(at), "2026-12-07");
        let at = "2026-12-06T15:59:59Z".parse().unwrap();
        assert_eq!(business_date(at), "2026-12-06");
    }
}
