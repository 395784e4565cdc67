//! Alipay+'s settlement report files (ALIPAYPLUS.md 7.1): their names, sections and columns,
//! read a row at a time (memory does not grow with the file) and written (by the simulator).
//!
//! UNCONFIRMED: the column lists of all four reports are not published where we could read
//! them; the layout is: CSV (UTF-8) of sections, each a header row of camelCase names then its
//! rows, an optional `<END>` line; amounts in integer minor units; transaction rows signed
//! (refunds negative, as the sibling Antom file), summary rows unsigned with a `direction` (`C`
//! credit, `D` debit). Reading is by header name: unknown columns are ignored, a missing money
//! column or a value that is not what it must be is a bad row, reported with its file and line,
//! never skipped silently and never a panic.
//!
//! | File | Sections (first column) |
//! |---|---|
//! | `transactionItems_…` | summary (`totalCount`), detail (`transactionId`) |
//! | `summary_…` | detail only (`clearingBatchId`) |
//! | `feeItems_…` | summary (`totalCount`), detail (`feeId`) |
//! | `settlement_…` | summary (`settlementBatchId`), detail (`clearingBatchId`) |

mod layout;
mod names;
mod read;
mod records;
mod write;

pub use names::{ReportKind, ReportName, clearing_cycle};
pub use read::{LineBound, MAX_LINE_BYTES, Records, read, read_file};
pub use records::{
    BadRow, FeeItem, Record, SettlementDetail, SettlementSummary, SummaryRow, Totals, TransactionItem,
    TransactionType,
};
pub use write::Writer;

#[cfg(test)]
mod tests {
    use super::*;

    fn records(kind: ReportKind, text: &str) -> Vec<Record> {
        read(kind, text.as_bytes()).collect()
    }

    #[test]
    fn a_line_without_end_is_a_bad_row_not_a_file_held_whole() {
        let endless = vec![b'a'; MAX_LINE_BYTES * 3];
        let records: Vec<Record> = read(ReportKind::TransactionItems, endless.as_slice()).collect();
        assert_eq!(records.len(), 1, "{} records", records.len());
        let Record::Bad(bad) = &records[0] else {
            panic!("{:?}", records[0]);
        };
        assert!(bad.message.contains("longer than"), "{}", bad.message);
    }

    #[test]
    fn names_are_read_back_as_they_are_written() {
        let name = "transactionItems_1022P_USD_2026120401_AGR01_000.csv";
        let parsed = ReportName::parse(name).unwrap();
        assert_eq!(parsed.kind, ReportKind::TransactionItems);
        assert_eq!(parsed.agreement_id, "AGR01");
        assert_eq!(parsed.file_name(), name);
        assert!(ReportName::parse("notes.txt").is_none());
        assert!(ReportName::parse("summary_1022P_usd_2026120401_AGR01_000.csv").is_none());
        // Issue 29, item 8: HTML, line breaks and terminal escapes are not the grammar.
        for hostile in [
            "summary_1022P_USD_2026120401_<img src=x>_000.csv",
            "summary_1022P_USD_2026120401_AGR\n01_000.csv",
            "summary_1022P_USD_2026120401_\u{1b}]0;pwned\u{7}_000.csv",
            "summary_1022P_USD_2026120401_\u{1b}[2J_000.csv",
        ] {
            assert!(ReportName::parse(hostile).is_none(), "{hostile:?}");
        }
    }

    #[test]
    fn every_bad_row_is_reported_with_its_line_and_the_rest_are_read() {
        let text = "totalCount,totalAmountValue,currency\n2,700,USD\n\
            transactionId,transactionRequestId,transactionType,transactionTime,transactionAmountValue,transactionCurrency,somethingNew\n\
            2026A,pf_1,PAYMENT,2026-12-04T10:00:00+08:00,1000,USD,x\n\
            2026B,pf_2,PAYMENT,2026-12-04T10:00:00+08:00,12.50,USD,x\n\
            2026C,pfr_3,REFUND,2026-12-04T11:00:00+08:00,300,USD,x\n\
            2026D,pf_4,PAYMENT,yesterday,1000,USD,x\n\
            <END>\n";
        let found = records(ReportKind::TransactionItems, text);
        let bad: Vec<(u64, &str)> = found
            .iter()
            .filter_map(|r| match r {
                Record::Bad(bad) => Some((bad.line, bad.message.as_str())),
                _ => None,
            })
            .collect();
        assert_eq!(bad.len(), 3, "{found:?}");
        assert_eq!(bad[0].0, 5);
        assert!(bad[0].1.contains("'12.50' is not an integer amount"), "{bad:?}");
        assert_eq!(bad[1].0, 6);
        assert!(bad[1].1.contains("refunds negative"), "{bad:?}");
        assert_eq!(bad[2].0, 7);
        let items = found.iter().filter(|r| matches!(r, Record::Item(_))).count();
        assert_eq!(items, 1);
        assert!(matches!(&found[0], Record::ItemTotals(t) if t.count == 2 && t.amount == 700));
    }

    #[test]
    fn a_section_whose_header_lacks_a_money_column_reports_each_of_its_rows() {
        let text = "feeId,transactionRequestId,feeCurrency\nF1,pf_1,USD\nF2,pf_2,USD\n";
        let found = records(ReportKind::FeeItems, text);
        assert_eq!(found.len(), 3, "{found:?}");
        assert!(
            found
                .iter()
                .all(|r| matches!(r, Record::Bad(b) if b.message.contains("feeAmountValue")))
        );
    }

    #[test]
    fn what_the_writer_writes_the_reader_reads() {
        let mut bytes = Vec::new();
        let mut writer = Writer::new(&mut bytes);
        let item = TransactionItem {
            line: 0,
            transaction_id: "2026P1".into(),
            transaction_request_id: "pf_1".into(),
            original_transaction_id: None,
            transaction_type: TransactionType::Payment,
            transaction_time: "2026-12-04T02:00:00Z".parse().unwrap(),
            amount: 1250,
            currency: "USD".into(),
            counter_participant_id: Some("1022172000000000001".into()),
            settlement: None,
        };
        writer
            .totals(&Totals {
                line: 0,
                count: 1,
                amount: 1250,
                currency: "USD".into(),
            })
            .unwrap();
        writer.item_header().unwrap();
        writer.item(&item).unwrap();
        writer.end().unwrap();
        let found = records(ReportKind::TransactionItems, std::str::from_utf8(&bytes).unwrap());
        assert_eq!(found.len(), 2, "{found:?}");
        assert_eq!(found[1], Record::Item(TransactionItem { line: 4, ..item }));
    }
}
