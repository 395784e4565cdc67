//! Finance's GraphQL: merchant statements from the ledger (`merchantStatement`, a merchant its
//! own, operators any).

use async_graphql::{Context, ID, Object, Result, SimpleObject};

use super::console::operators_need;
use super::context::{engine, graphql_error, parse_id, principal};
use super::shared::Money;
use crate::app::roles::AdminRole;
use crate::app::statements;

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
        let money = |currency: &str, value: i64| Money {
            currency: currency.to_string(),
            value: value.to_string(),
        };
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
}
