//! The ledger's side of reconciliation. A settlement run checks its batch against the ledger:
//! what the receivable lines of the clearing days the batch covers (in its currency, net of
//! Alipay+'s fees) say Alipay+ owes, against what the file says it pays; a difference is a
//! SETTLEMENT_BATCH_MISMATCH stating it, a match settles those lines (a batch naming a clearing
//! batch not reconciled yet is INCOMPLETE: its TOTALS_MISMATCH says which). A clearing run books
//! Alipay+'s fees of its day (its fee file's total) and takes back those of the run it
//! supersedes. UNCONFIRMED: one settlement agreement per settlement currency (the ledger does
//! not know agreements), and a day's lines are those plusflow learnt of that day (UTC+8).

use chrono::{DateTime, Utc};
use serde_json::json;

use super::matching::Run;
use crate::app::errors::AppError;
use crate::store::entity::{reconciliation_run as run, settlement_batch as batch};
use crate::store::ledger::{ACQUIRER, Account, Journal, Line, Source};
use crate::store::settlement;

impl Run<'_> {
    /// The batch of a settlement file (none without a summary) as the ledger sees it, with a
    /// SETTLEMENT_BATCH_MISMATCH found if the two differ.
    pub(super) async fn check_batch(
        &mut self,
        settlement_date: &str,
    ) -> Result<Option<batch::Model>, AppError> {
        let Some((summary, file)) = self.settlement.clone() else {
            return Ok(None);
        };
        let mut days = self.clearing_days.clone();
        days.sort();
        days.dedup();
        let expected = settlement::receivable(&self.engine.db, &summary.currency, &days).await?;
        let reported = summary.amount;
        let status = if self.clearing_unknown {
            batch::INCOMPLETE
        } else if expected == reported {
            batch::MATCHED
        } else {
            batch::MISMATCH
        };
        if status == batch::MISMATCH {
            let detail = format!(
                "settlement batch {}: the ledger expects {expected} {} for clearing days {}, the file \
                 reports {reported}: a difference of {}",
                summary.settlement_batch_id,
                summary.currency,
                days.join(", "),
                reported - expected
            );
            self.discrepancy(
                "SETTLEMENT_BATCH_MISMATCH",
                &summary.settlement_batch_id,
                (Some(expected.to_string()), Some(reported.to_string())),
                detail,
                Some((file, summary.line)),
            )
            .await?;
        }
        Ok(Some(batch::Model {
            id: self.id,
            agreement_id: self.agreement_id.clone(),
            settlement_date: settlement_date.to_string(),
            settlement_batch_id: summary.settlement_batch_id,
            currency: summary.currency,
            clearing_dates: json!(days),
            expected,
            reported,
            status: status.into(),
            created_at: self.engine.clock.now(),
        }))
    }
}

/// What finished clearing run `finished` books: Alipay+'s fees of its day (dated `day_start`,
/// the start of its clearing day), and the reversal of those of `superseded`, the run it
/// replaces.
pub(super) fn fee_journals(
    finished: &run::Model,
    superseded: Option<&run::Model>,
    day_start: DateTime<Utc>,
) -> Vec<Journal> {
    let currency = finished.settlement_currency.as_str();
    let journal = |source: Source, of: &run::Model, lines: fn(&str, i64) -> Vec<Line>| Journal {
        source,
        merchant_id: ACQUIRER,
        object_id: of.id,
        at: day_start,
        lines: lines(currency, of.fee_total.unwrap_or_default()),
    };
    let mut journals = vec![journal(Source::AlipayplusFees, finished, |currency, fees| {
        vec![
            Line::debit(Account::AlipayplusFees, currency, fees),
            Line::credit(Account::AlipayplusReceivable, currency, fees),
        ]
    })];
    if let Some(earlier) = superseded {
        journals.push(journal(
            Source::AlipayplusFeesReversed,
            earlier,
            |currency, fees| {
                vec![
                    Line::debit(Account::AlipayplusReceivable, currency, fees),
                    Line::credit(Account::AlipayplusFees, currency, fees),
                ]
            },
        ));
    }
    journals
}
