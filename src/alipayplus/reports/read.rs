//! Reading a report file a row at a time (memory does not grow with the file; a line is bounded),
//! off the runtime's threads for a file on disk ([`read_file`]).

use std::collections::HashMap;
use std::io::Read;

use super::layout::{Section, sections};
use super::names::ReportKind;
use super::records::{
    BadRow, FeeItem, Record, SettlementDetail, SettlementSummary, SummaryRow, Totals, TransactionItem,
    TransactionType,
};
use chrono::{DateTime, FixedOffset, Utc};

/// One row's values by column name.
pub(super) struct Row<'a> {
    columns: &'a HashMap<String, usize>,
    record: &'a csv::StringRecord,
}

impl Row<'_> {
    fn text(&self, column: &str) -> Result<&str, String> {
        let value = self
            .optional(column)
            .ok_or_else(|| format!("{column} is empty"))?;
        Ok(value)
    }

    fn optional(&self, column: &str) -> Option<&str> {
        let value = self.record.get(*self.columns.get(column)?)?.trim();
        (!value.is_empty()).then_some(value)
    }

    /// An integer amount in minor units (signed only where `signed`).
    fn amount(&self, column: &str, signed: bool) -> Result<i64, String> {
        let text = self.text(column)?;
        let digits = text.strip_prefix('-').filter(|_| signed).unwrap_or(text);
        if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
            return Err(format!(
                "{column} '{text}' is not an integer amount in minor units"
            ));
        }
        text.parse()
            .map_err(|_| format!("{column} '{text}' is out of range"))
    }

    fn count(&self, column: &str) -> Result<u64, String> {
        let text = self.text(column)?;
        text.parse()
            .map_err(|_| format!("{column} '{text}' is not a count"))
    }

    fn currency(&self, column: &str) -> Result<String, String> {
        let text = self.text(column)?;
        if text.len() == 3 && text.chars().all(|c| c.is_ascii_uppercase()) {
            Ok(text.to_string())
        } else {
            Err(format!("{column} '{text}' is not a currency code"))
        }
    }

    fn transaction_type(&self) -> Result<TransactionType, String> {
        let text = self.text("transactionType")?;
        TransactionType::parse(text)
            .ok_or_else(|| format!("transactionType '{text}' is neither PAYMENT nor REFUND"))
    }
}

pub(super) fn read_row(section: Section, line: u64, row: &Row<'_>) -> Result<Record, String> {
    Ok(match section {
        Section::ItemTotals | Section::FeeTotals => {
            let totals = Totals {
                line,
                count: row.count("totalCount")?,
                amount: row.amount("totalAmountValue", true)?,
                currency: row.currency("currency")?,
            };
            if section == Section::ItemTotals {
                Record::ItemTotals(totals)
            } else {
                Record::FeeTotals(totals)
            }
        }
        Section::Items => {
            let transaction_type = row.transaction_type()?;
            let amount = row.amount("transactionAmountValue", true)?;
            let sign_ok = match transaction_type {
                TransactionType::Payment => amount > 0,
                TransactionType::Refund => amount < 0,
            };
            if !sign_ok {
                return Err(format!(
                    "transactionAmountValue {amount} of a {}: payments are positive, refunds negative",
                    transaction_type.as_str()
                ));
            }
            let settlement = match row.optional("settlementAmountValue") {
                None => None,
                Some(_) => {
                    let settled = row.amount("settlementAmountValue", true)?;
                    if (settled > 0) != (amount > 0) {
                        return Err(format!(
                            "settlementAmountValue {settled} has another sign than transactionAmountValue {amount}"
                        ));
                    }
                    Some((settled, row.currency("settlementCurrency")?))
                }
            };
            let time = row.text("transactionTime")?;
            let transaction_time = DateTime::<FixedOffset>::parse_from_rfc3339(time)
                .map_err(|_| format!("transactionTime '{time}' is not an ISO 8601 time with its offset"))?
                .with_timezone(&Utc);
            Record::Item(TransactionItem {
                line,
                transaction_id: row.text("transactionId")?.to_string(),
                transaction_request_id: row.text("transactionRequestId")?.to_string(),
                original_transaction_id: row.optional("originalTransactionId").map(str::to_string),
                transaction_type,
                transaction_time,
                amount,
                currency: row.currency("transactionCurrency")?,
                counter_participant_id: row.optional("counterParticipantId").map(str::to_string),
                settlement,
            })
        }
        Section::Summary => {
            let credit = match row.text("direction")? {
                "C" => true,
                "D" => false,
                other => return Err(format!("direction '{other}' is neither C nor D")),
            };
            Record::Summary(SummaryRow {
                line,
                clearing_batch_id: row.text("clearingBatchId")?.to_string(),
                transaction_type: row.transaction_type()?,
                count: row.count("totalCount")?,
                amount: row.amount("totalAmountValue", false)?,
                currency: row.currency("currency")?,
                credit,
            })
        }
        Section::Fees => Record::Fee(FeeItem {
            line,
            fee_id: row.optional("feeId").unwrap_or_default().to_string(),
            transaction_request_id: row.text("transactionRequestId")?.to_string(),
            fee_type: row.optional("feeType").unwrap_or("PROCESSING_FEE").to_string(),
            amount: row.amount("feeAmountValue", false)?,
            currency: row.currency("feeCurrency")?,
        }),
        Section::SettlementSummary => Record::SettlementSummary(SettlementSummary {
            line,
            settlement_batch_id: row.optional("settlementBatchId").unwrap_or_default().to_string(),
            amount: row.amount("settlementAmountValue", true)?,
            currency: row.currency("settlementCurrency")?,
            value_date: row.optional("valueDate").unwrap_or_default().to_string(),
        }),
        Section::SettlementDetails => Record::SettlementDetail(SettlementDetail {
            line,
            clearing_batch_id: row.text("clearingBatchId")?.to_string(),
            transaction_amount: row.amount("transactionAmountValue", true)?,
            fee_amount: row.amount("feeAmountValue", false)?,
            net_amount: row.amount("netAmountValue", true)?,
            currency: row.currency("currency")?,
        }),
    })
}

/// The records of a `kind` report, read from its input one row at a time.
pub struct Records<R: Read> {
    reader: csv::Reader<LineBound<R>>,
    known: &'static [(&'static str, Section)],
    current: Option<(Section, HashMap<String, usize>)>,
    header_problem: Option<String>,
    record: csv::StringRecord,
    ended: bool,
    done: bool,
}

/// The longest line a report may have: a longer one ends the file as a bad row, so a file
/// without line breaks cannot make the reader hold it whole.
pub const MAX_LINE_BYTES: usize = 64 * 1024;

/// `input`, failing once a line runs past [`MAX_LINE_BYTES`].
pub struct LineBound<R> {
    input: R,
    since_newline: usize,
}

impl<R: Read> Read for LineBound<R> {
    fn read(&mut self, buffer: &mut [u8]) -> std::io::Result<usize> {
        let read = self.input.read(buffer)?;
        for byte in &buffer[..read] {
            self.since_newline = if *byte == b'\n' { 0 } else { self.since_newline + 1 };
            if self.since_newline > MAX_LINE_BYTES {
                return Err(std::io::Error::other(format!(
                    "a line longer than {MAX_LINE_BYTES} bytes"
                )));
            }
        }
        Ok(read)
    }
}

/// Reads a `kind` report from `input` (see [`Records`]).
/// Reads the `kind` report at `path` on a blocking thread, never a runtime thread (a slow disk
/// stalls only that thread), its records handed over a bounded channel as they are read. A file
/// that is not a regular file once opened, or is larger than `max_bytes`, is one bad row (line
/// 0) and is not read.
pub fn read_file(
    kind: ReportKind,
    path: std::path::PathBuf,
    max_bytes: u64,
) -> tokio::sync::mpsc::Receiver<Record> {
    let (records, received) = tokio::sync::mpsc::channel(1024);
    tokio::task::spawn_blocking(move || {
        let refuse = |message: String| {
            let _ = records.blocking_send(Record::Bad(BadRow { line: 0, message }));
        };
        let file = match std::fs::File::open(&path) {
            Ok(file) => file,
            Err(e) => return refuse(format!("the file cannot be read: {}", e.kind())),
        };
        match file.metadata() {
            Ok(metadata) if !metadata.is_file() => return refuse("not a regular file".into()),
            Ok(metadata) if metadata.len() > max_bytes => {
                return refuse(format!(
                    "the file is {} bytes; at most {max_bytes} (reconciliation.max_file_bytes) are read",
                    metadata.len()
                ));
            }
            Ok(_) => {}
            Err(e) => return refuse(format!("the file cannot be read: {}", e.kind())),
        }
        for record in read(kind, std::io::BufReader::new(file)) {
            if records.blocking_send(record).is_err() {
                return;
            }
        }
    });
    received
}

pub fn read<R: Read>(kind: ReportKind, input: R) -> Records<R> {
    Records {
        reader: csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(LineBound {
                input,
                since_newline: 0,
            }),
        known: sections(kind),
        current: None,
        header_problem: None,
        record: csv::StringRecord::new(),
        ended: false,
        done: false,
    }
}

impl<R: Read> Iterator for Records<R> {
    type Item = Record;

    fn next(&mut self) -> Option<Record> {
        while !self.done {
            let line = self.reader.position().line();
            match self.reader.read_record(&mut self.record) {
                Ok(false) => self.done = true,
                Ok(true) => {
                    if let Some(record) = self.take_row() {
                        return Some(record);
                    }
                }
                Err(e) => {
                    let line = e.position().map_or(line, |p| p.line());
                    self.done = matches!(e.kind(), csv::ErrorKind::Io(_));
                    return Some(Record::Bad(BadRow {
                        line,
                        message: format!("not CSV: {e}"),
                    }));
                }
            }
        }
        None
    }
}

impl<R: Read> Records<R> {
    /// What the row just read is: a record, or nothing (a header, a blank line, `<END>`).
    fn take_row(&mut self) -> Option<Record> {
        let record = &self.record;
        let line = record.position().map_or(0, |p| p.line());
        let first = record.get(0).unwrap_or_default().trim();
        if record.iter().all(|field| field.trim().is_empty()) {
            return None;
        }
        let bad = |message: String| Some(Record::Bad(BadRow { line, message }));
        if self.ended {
            return bad("a row after <END>".into());
        }
        if first == "<END>" {
            self.ended = true;
            return None;
        }
        if let Some((_, section)) = self.known.iter().find(|(name, _)| *name == first) {
            let columns: HashMap<String, usize> = record
                .iter()
                .enumerate()
                .map(|(index, name)| (name.trim().to_string(), index))
                .collect();
            let missing: Vec<&str> = section
                .required()
                .iter()
                .filter(|column| !columns.contains_key(**column))
                .copied()
                .collect();
            self.header_problem =
                (!missing.is_empty()).then(|| format!("its header lacks {}", missing.join(", ")));
            self.current = Some((*section, columns));
            return self
                .header_problem
                .as_ref()
                .and_then(|problem| bad(format!("header: {problem}")));
        }
        let Some((section, columns)) = &self.current else {
            return bad(format!(
                "a row before any section header (first column '{first}')"
            ));
        };
        if let Some(problem) = &self.header_problem {
            return bad(format!("unreadable: {problem}"));
        }
        let row = Row { columns, record };
        match read_row(*section, line, &row) {
            Ok(parsed) => Some(parsed),
            Err(message) => bad(message),
        }
    }
}
