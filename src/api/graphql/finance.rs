//! Finance's GraphQL: merchant statements and balances from the ledger (`merchantStatement`,
//! `ledgerBalances`: a merchant its own, operators any) and settlement batches
//! (`settlementBatches`, operators).

use async_graphql::connection::{Connection, EmptyFields};
use async_graphql::{Context, ID, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};

use super::console::operators_need;
use super::context::{engine, graphql_error, parse_id, principal};
use super::shared::Money;
use crate::app::operator::id_page;
use crate::app::roles::AdminRole;
use crate::app::statements;
use crate::store::entity::settlement_batch;
use crate::store::ledger::ACQUIRER;

/// One currency of a merchant's day.
#[derive(SimpleObject)]
pub struct StatementLine {
    currency: String,
    /// Payments that succeeded, before fees.
    gross: Money,
    refunds: Money,
    /// Refunds accepted dispute escalations made.
    dispute_refunds: Money,
    fees: Money,
    /// gross - refunds - disputeRefunds - fees: what the day adds to what the merchant is owed.
    net: Money,
}

/// What a merchant's business day (clearing day, UTC+8) moved, per currency.
#[derive(SimpleObject)]
pub struct MerchantStatement {
    merchant_id: ID,
    /// `YYYY-MM-DD`.
    date: String,
    lines: Vec<StatementLine>,
}

#[derive(Default)]
pub struct FinanceQueries;

#[Object]
impl FinanceQueries {
    /// Merchant `merchantId`'s statement of business day `date` (`YYYY-MM-DD` or `YYYYMMDD`):
    /// a merchant reads its own, an operator any.
    async fn merchant_statement(
        &self,
        ctx: &Context<'_>,
        merchant_id: ID,
        date: String,
    ) -> Result<MerchantStatement> {
        operators_need(ctx, AdminRole::Viewer)?;
        let statement = statements::statement(engine(ctx), principal(ctx)?, parse_id(&merchant_id)?, &date)
            .await
            .map_err(graphql_error)?;
        Ok(MerchantStatement {
            merchant_id: ID(statement.merchant_id.to_string()),
            date: statement.date,
            lines: statement
                .lines
                .iter()
                .map(|line| StatementLine {
                    currency: line.currency.clone(),
                    gross: money(&line.currency, line.gross),
                    refunds: money(&line.currency, line.refunds),
                    dispute_refunds: money(&line.currency, line.dispute_refunds),
                    fees: money(&line.currency, line.fees),
                    net: money(&line.currency, line.net()),
                })
                .collect(),
        })
    }

    /// Every account's debits, credits and balance over business days up to and including
    /// `date`, by merchant, account and currency: a merchant its own; an operator one
    /// merchant's (`merchantId`) or all, the acquirer's own accounts included.
    async fn ledger_balances(
        &self,
        ctx: &Context<'_>,
        date: String,
        merchant_id: Option<ID>,
    ) -> Result<Vec<LedgerBalance>> {
        operators_need(ctx, AdminRole::Viewer)?;
        let merchant_id = merchant_id.as_ref().map(parse_id).transpose()?;
        let balances = statements::balances(engine(ctx), principal(ctx)?, merchant_id, &date)
            .await
            .map_err(graphql_error)?;
        Ok(balances
            .into_iter()
            .map(|balance| LedgerBalance {
                merchant_id: (balance.merchant_id != ACQUIRER).then(|| ID(balance.merchant_id.to_string())),
                debits: money(&balance.currency, balance.debits),
                credits: money(&balance.currency, balance.credits),
                balance: money(&balance.currency, balance.balance()),
                account: balance.account,
            })
            .collect())
    }

    /// Settlement batches, newest first (operators; Relay connection, `first` at most 100).
    #[graphql(complexity = "super::limits::page_cost(first, child_complexity)")]
    async fn settlement_batches(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Connection<String, SettlementBatch, EmptyFields, EmptyFields>> {
        super::console::operator(ctx, AdminRole::Viewer)?;
        let (size, after_id) = id_page(first, after.as_deref()).map_err(graphql_error)?;
        let (rows, more) = statements::settlement_batches(engine(ctx), principal(ctx)?, size, after_id)
            .await
            .map_err(graphql_error)?;
        Ok(super::lists::page(rows, more, after.is_some(), |row| {
            (row.id.to_string(), SettlementBatch(row))
        }))
    }
}

/// A settlement file's batch against the ledger: what the ledger says Alipay+ owes for the
/// clearing days it covers, what the file reports, and MATCHED (its receivable lines are
/// settled by it) or MISMATCH (a SETTLEMENT_BATCH_MISMATCH discrepancy says so).
pub struct SettlementBatch(settlement_batch::Model);

#[Object]
impl SettlementBatch {
    /// Its settlement run's id.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// Alipay+'s `settlementBatchId`.
    async fn settlement_batch_id(&self) -> &str {
        &self.0.settlement_batch_id
    }
    /// YYYYMMDD.
    async fn settlement_date(&self) -> &str {
        &self.0.settlement_date
    }
    async fn agreement_id(&self) -> &str {
        &self.0.agreement_id
    }
    async fn currency(&self) -> &str {
        &self.0.currency
    }
    /// The clearing days (YYYYMMDD) it settles.
    async fn clearing_dates(&self) -> Vec<String> {
        serde_json::from_value(self.0.clearing_dates.clone()).unwrap_or_default()
    }
    async fn expected(&self) -> Money {
        money(&self.0.currency, self.0.expected)
    }
    async fn reported(&self) -> Money {
        money(&self.0.currency, self.0.reported)
    }
    /// reported - expected.
    async fn difference(&self) -> Money {
        money(&self.0.currency, self.0.reported - self.0.expected)
    }
    /// MATCHED, MISMATCH, or INCOMPLETE (a clearing batch it names is not reconciled yet).
    async fn status(&self) -> &str {
        &self.0.status
    }
    /// The receivable lines it settled (none unless MATCHED).
    async fn settled_lines(&self, ctx: &Context<'_>) -> Result<i64> {
        let count = crate::store::settlement::settled_lines(&engine(ctx).db, self.0.id)
            .await
            .map_err(|e| graphql_error(e.into()))?;
        Ok(count as i64)
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// An account's totals up to a business day.
#[derive(SimpleObject)]
pub struct LedgerBalance {
    /// None for the acquirer's own accounts (Alipay+'s fees).
    merchant_id: Option<ID>,
    /// alipayplus_receivable, merchant_payable, fees, conversion, alipayplus_fees.
    account: String,
    debits: Money,
    credits: Money,
    /// debits - credits.
    balance: Money,
}

fn money(currency: &str, value: i64) -> Money {
    Money {
        currency: currency.to_string(),
        value: value.to_string(),
    }
}
