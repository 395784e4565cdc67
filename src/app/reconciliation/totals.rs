//! What the files state of themselves (summaries, fees, settlements), kept while the rows are
//! read and checked against them once every row is.

use super::matching::{Run, Stated};
use crate::alipayplus::reports::{Record, TransactionType};
use crate::app::errors::AppError;

impl Run<'_> {
    /// Takes a row that is not a transaction: a fee is checked against the items at once, the
    /// files' totals are kept for [`Run::check_totals`].
    pub(super) async fn other(&mut self, record: Record, file: u32) -> Result<(), AppError> {
        let stated = match record {
            Record::Fee(fee) => {
                self.fee_total += fee.amount;
                self.fee_count += 1;
                let at = Some((file, fee.line));
                if !self.seen.contains(&fee.transaction_request_id) {
                    let detail = "a fee for a transaction that is not in the transaction items".to_string();
                    let theirs = Some(format!("{} {} {}", fee.fee_type, fee.amount, fee.currency));
                    self.discrepancy(
                        "FEE_MISMATCH",
                        &fee.transaction_request_id,
                        (None, theirs),
                        detail,
                        at,
                    )
                    .await?;
                }
                return Ok(());
            }
            Record::ItemTotals(totals) => Stated::Items(totals),
            Record::FeeTotals(totals) => Stated::Fees(totals),
            Record::Summary(row) => Stated::Summary(row),
            Record::SettlementSummary(summary) => Stated::Settlement(summary),
            Record::SettlementDetail(detail) => Stated::SettlementDetail(detail),
            Record::Item(_) | Record::Bad(_) => unreachable!("taken by the caller"),
        };
        self.stated.push((stated, file));
        Ok(())
    }

    /// The files' totals against their rows.
    pub(super) async fn check_totals(&mut self) -> Result<(), AppError> {
        let mut unstated: Vec<String> = self.items_by_currency.keys().cloned().collect();
        let items_file = self.stated.iter().find_map(|(stated, file)| match stated {
            Stated::Items(totals) => Some((*file, totals.line)),
            _ => None,
        });
        let settlement_net: i64 = self
            .stated
            .iter()
            .filter_map(|(stated, _)| match stated {
                Stated::SettlementDetail(detail) => Some(detail.net_amount),
                _ => None,
            })
            .sum();
        for (stated, file) in std::mem::take(&mut self.stated) {
            let name = self.file_names[file as usize].clone();
            match stated {
                Stated::Items(totals) => {
                    let at = Some((file, totals.line));
                    let (count, amount) = self
                        .items_by_currency
                        .get(&totals.currency)
                        .copied()
                        .unwrap_or_default();
                    unstated.retain(|currency| *currency != totals.currency);
                    let what = |column: &str| format!("{column} ({})", totals.currency);
                    self.totals(&name, &what("totalCount"), count as i64, totals.count as i64, at)
                        .await?;
                    self.totals(&name, &what("totalAmountValue"), amount, totals.amount, at)
                        .await?;
                }
                Stated::Fees(totals) => {
                    let at = Some((file, totals.line));
                    for (what, ours, theirs) in [
                        ("totalCount", self.fee_count as i64, totals.count as i64),
                        ("totalAmountValue", self.fee_total, totals.amount),
                    ] {
                        if ours != theirs {
                            let detail = format!(
                                "fee {what}: the fee lines add up to {ours}, the file states {theirs}"
                            );
                            let sides = (Some(ours.to_string()), Some(theirs.to_string()));
                            self.discrepancy("FEE_MISMATCH", &name, sides, detail, at).await?;
                        }
                    }
                }
                Stated::Summary(row) => {
                    let at = Some((file, row.line));
                    let (count, sum) = self.items.get(&row.transaction_type).copied().unwrap_or_default();
                    let what = row.transaction_type.as_str();
                    self.totals(
                        &name,
                        &format!("{what} totalCount"),
                        count as i64,
                        row.count as i64,
                        at,
                    )
                    .await?;
                    self.totals(
                        &name,
                        &format!("{what} totalAmountValue"),
                        sum.abs(),
                        row.amount,
                        at,
                    )
                    .await?;
                    let expected_credit = row.transaction_type == TransactionType::Payment;
                    if row.count > 0 && row.credit != expected_credit {
                        let detail = format!(
                            "{what} rows with direction {}",
                            if row.credit { "C" } else { "D" }
                        );
                        self.discrepancy("TOTALS_MISMATCH", &name, (None, None), detail, at)
                            .await?;
                    }
                }
                Stated::Settlement(summary) => {
                    let at = Some((file, summary.line));
                    self.settlement = Some((summary.clone(), file));
                    self.totals(
                        &name,
                        "settlementAmountValue (the details' net)",
                        settlement_net,
                        summary.amount,
                        at,
                    )
                    .await?;
                }
                Stated::SettlementDetail(detail) => {
                    self.settlement_detail(&name, detail, file).await?;
                }
            }
        }
        // Rows in a currency the items' summary states no total for.
        if let Some((file, line)) = items_file {
            let name = self.file_names[file as usize].clone();
            for currency in unstated {
                let (count, amount) = self.items_by_currency[&currency];
                let detail =
                    format!("{count} rows in {currency} ({amount}) have no total in the summary section");
                self.discrepancy(
                    "TOTALS_MISMATCH",
                    &name,
                    (Some(amount.to_string()), None),
                    detail,
                    Some((file, line)),
                )
                .await?;
            }
        }
        Ok(())
    }
}
