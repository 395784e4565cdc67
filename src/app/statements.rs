//! Merchant statements: what a merchant's business day (the clearing day, UTC+8) adds to what
//! the acquirer owes it, per currency, from the ledger (`store::ledger`): gross payments,
//! refunds, dispute refunds, fees, net. Read by the merchant itself and by operators
//! (`merchantStatement`), and written as one CSV file per merchant by `plusflow statements`.

use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use uuid::Uuid;

use super::Engine;
use super::auth::Principal;
use super::errors::{AppError, invalid};
use crate::store::ledger::{self, DayTotals};

/// A merchant's business day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    pub merchant_id: Uuid,
    /// `YYYY-MM-DD`.
    pub date: String,
    /// One per currency the merchant moved money in that day, in currency order.
    pub lines: Vec<DayTotals>,
}

/// `date` as `YYYY-MM-DD`, given as that or as `YYYYMMDD` (the reports' form); `field` names
/// it in the error.
pub fn business_day(field: &str, date: &str) -> Result<String, AppError> {
    NaiveDate::parse_from_str(date, "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(date, "%Y%m%d"))
        .map(|day| day.format("%Y-%m-%d").to_string())
        .map_err(|_| invalid(field, "a date, YYYY-MM-DD or YYYYMMDD"))
}

/// Merchant `merchant_id`'s statement of `date`, for `principal` (a merchant reads its own).
pub async fn statement(
    engine: &Engine,
    principal: &Principal,
    merchant_id: Uuid,
    date: &str,
) -> Result<Statement, AppError> {
    let date = business_day("date", date)?;
    if !principal.may_see_owner(merchant_id) {
        return Err(AppError::Forbidden);
    }
    Ok(Statement {
        merchant_id,
        lines: ledger::day_totals(&engine.db, merchant_id, &date).await?,
        date,
    })
}

/// The ledger's balances up to and including business day `date`: a merchant its own accounts;
/// an operator one merchant's (`merchant_id`) or every account, the acquirer's own included.
pub async fn balances(
    engine: &Engine,
    principal: &Principal,
    merchant_id: Option<Uuid>,
    date: &str,
) -> Result<Vec<ledger::Balance>, AppError> {
    let date = business_day("date", date)?;
    let merchant_id = match principal {
        Principal::Admin => merchant_id,
        Principal::Merchant(_) => Some(principal.merchant_named(merchant_id)?),
    };
    Ok(ledger::balances(&engine.db, merchant_id, &date).await?)
}

/// Settlement batches newest first (operators only): a page of `size` after `after`, and
/// whether more follow.
pub async fn settlement_batches(
    engine: &Engine,
    principal: &Principal,
    size: u64,
    after: Option<Uuid>,
) -> Result<(Vec<crate::store::entity::settlement_batch::Model>, bool), AppError> {
    principal.operators_only()?;
    let mut found = crate::store::settlement::batches(&engine.db, after, size + 1).await?;
    let more = found.len() as u64 > size;
    found.truncate(size as usize);
    Ok((found, more))
}

/// Writes `DIR/statement-<date>-<merchant id>.csv` for each merchant with ledger lines on
/// `date` (`YYYYMMDD` or `YYYY-MM-DD`): a header and a row per currency, amounts in minor units.
/// Returns the files written.
pub async fn write_day(engine: &Engine, date: &str, dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let date = business_day("--date", date).map_err(|e| anyhow::anyhow!("{e}"))?;
    std::fs::create_dir_all(dir)?;
    let mut written = Vec::new();
    for merchant_id in ledger::merchants_of_day(&engine.db, &date).await? {
        let lines = ledger::day_totals(&engine.db, merchant_id, &date).await?;
        let path = dir.join(format!("statement-{date}-{merchant_id}.csv"));
        let mut csv = csv::Writer::from_path(&path)?;
        csv.write_record([
            "merchant_id",
            "date",
            "currency",
            "gross",
            "refunds",
            "dispute_refunds",
            "fees",
            "net",
        ])?;
        for line in &lines {
            csv.write_record([
                merchant_id.to_string(),
                date.clone(),
                line.currency.clone(),
                line.gross.to_string(),
                line.refunds.to_string(),
                line.dispute_refunds.to_string(),
                line.fees.to_string(),
                line.net().to_string(),
            ])?;
        }
        csv.flush()?;
        written.push(path);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_business_day_is_taken_in_either_form_and_nothing_else() {
        assert_eq!(business_day("date", "20261207").unwrap(), "2026-12-07");
        assert_eq!(business_day("date", "2026-12-07").unwrap(), "2026-12-07");
        for bad in ["2026-13-01", "yesterday", "", "2026120"] {
            assert!(business_day("date", bad).is_err(), "{bad}");
        }
    }
}
