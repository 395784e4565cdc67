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

use std::collections::HashMap;
use std::io::{Read, Write};

use chrono::{DateTime, FixedOffset, NaiveDate, TimeZone, Utc};

/// A clearing cycle, `[00:00, 24:00)` of `day` in UTC+8: the payments and refunds completed
/// then are in that day's files.
pub fn clearing_cycle(day: NaiveDate) -> (DateTime<Utc>, DateTime<Utc>) {
    let utc8 = FixedOffset::east_opt(8 * 3600).expect("UTC+8");
    let start = utc8
        .from_local_datetime(&day.and_hms_opt(0, 0, 0).expect("midnight"))
        .single()
        .expect("a fixed offset has no gaps")
        .with_timezone(&Utc);
    (start, start + chrono::Duration::days(1))
}

/// Which of the four files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ReportKind {
    TransactionItems,
    Summary,
    FeeItems,
    Settlement,
}

impl ReportKind {
    pub const ALL: [ReportKind; 4] = [
        ReportKind::TransactionItems,
        ReportKind::Summary,
        ReportKind::FeeItems,
        ReportKind::Settlement,
    ];

    fn prefix(self) -> &'static str {
        match self {
            ReportKind::TransactionItems => "transactionItems",
            ReportKind::Summary => "summary",
            ReportKind::FeeItems => "feeItems",
            ReportKind::Settlement => "settlement",
        }
    }
}

/// A report file's name: `<kind>_<participantId>_<settlementCurrency>_<batchId>_<agreementId>_<seq>.csv`
/// (the batch is the clearing batch, the settlement batch for a settlement file).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportName {
    pub kind: ReportKind,
    pub participant_id: String,
    pub settlement_currency: String,
    pub batch_id: String,
    pub agreement_id: String,
    pub seq: String,
}

impl ReportName {
    /// The name of a report file, if it is one (anything else in a folder is not).
    pub fn parse(file_name: &str) -> Option<ReportName> {
        let stem = file_name.strip_suffix(".csv")?;
        let parts: Vec<&str> = stem.split('_').collect();
        let [prefix, participant, currency, batch, agreement, seq] = parts[..] else {
            return None;
        };
        let kind = ReportKind::ALL.into_iter().find(|k| k.prefix() == prefix)?;
        // The documented grammar, nothing else: these parts are stored and printed to operators
        // (no HTML, line breaks or terminal escapes).
        let id =
            |part: &str| (1..=64).contains(&part.len()) && part.chars().all(|c| c.is_ascii_alphanumeric());
        let valid = currency.len() == 3
            && currency.chars().all(|c| c.is_ascii_uppercase())
            && seq.len() == 3
            && seq.chars().all(|c| c.is_ascii_digit())
            && [participant, batch, agreement].into_iter().all(id);
        valid.then(|| ReportName {
            kind,
            participant_id: participant.into(),
            settlement_currency: currency.into(),
            batch_id: batch.into(),
            agreement_id: agreement.into(),
            seq: seq.into(),
        })
    }

    pub fn file_name(&self) -> String {
        format!(
            "{}_{}_{}_{}_{}_{}.csv",
            self.kind.prefix(),
            self.participant_id,
            self.settlement_currency,
            self.batch_id,
            self.agreement_id,
            self.seq
        )
    }
}

/// A payment or a refund.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TransactionType {
    Payment,
    Refund,
}

impl TransactionType {
    pub fn as_str(self) -> &'static str {
        match self {
            TransactionType::Payment => "PAYMENT",
            TransactionType::Refund => "REFUND",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        match text {
            "PAYMENT" => Some(TransactionType::Payment),
            "REFUND" => Some(TransactionType::Refund),
            _ => None,
        }
    }
}

/// One payment or refund completed in the clearing cycle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransactionItem {
    pub line: u64,
    /// Alipay+'s paymentId / refundId.
    pub transaction_id: String,
    /// Ours: paymentRequestId / refundRequestId.
    pub transaction_request_id: String,
    /// The payment's paymentId, on a refund.
    pub original_transaction_id: Option<String>,
    pub transaction_type: TransactionType,
    pub transaction_time: DateTime<Utc>,
    /// Minor units in the transaction's currency; a refund's is negative.
    pub amount: i64,
    pub currency: String,
    /// The wallet's pspId (`counterParticipantId`).
    pub counter_participant_id: Option<String>,
    /// What it settles for in the file's settlement currency (signed like `amount`), when that
    /// differs from the transaction's; absent, the amount itself.
    pub settlement: Option<(i64, String)>,
}

impl TransactionItem {
    /// Its amount in `settlement_currency`, if the row says it: the amount itself when the
    /// transaction is in that currency, else the row's settlement amount in it.
    pub fn settled_in(&self, settlement_currency: &str) -> Option<i64> {
        match &self.settlement {
            Some((amount, currency)) if currency == settlement_currency => Some(*amount),
            _ if self.currency == settlement_currency => Some(self.amount),
            _ => None,
        }
    }
}

/// A file's summary: how many rows and their total (fees: the total fee).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Totals {
    pub line: u64,
    pub count: u64,
    pub amount: i64,
    pub currency: String,
}

/// One row of the summary file: a transaction type's total in the clearing batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SummaryRow {
    pub line: u64,
    pub clearing_batch_id: String,
    pub transaction_type: TransactionType,
    pub count: u64,
    /// Unsigned; `credit` says which way.
    pub amount: i64,
    pub currency: String,
    /// `C`: owed to the ACQP (payments); `D`: owed by it (refunds).
    pub credit: bool,
}

/// One fee line, of one transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeeItem {
    pub line: u64,
    pub fee_id: String,
    pub transaction_request_id: String,
    pub fee_type: String,
    pub amount: i64,
    pub currency: String,
}

/// The settlement file's summary: what Alipay+ pays, before `value_date`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettlementSummary {
    pub line: u64,
    pub settlement_batch_id: String,
    pub amount: i64,
    pub currency: String,
    pub value_date: String,
}

/// One clearing batch in a settlement: its transactions, its fees, and the net.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettlementDetail {
    pub line: u64,
    pub clearing_batch_id: String,
    pub transaction_amount: i64,
    pub fee_amount: i64,
    pub net_amount: i64,
    pub currency: String,
}

/// A row that could not be read: where, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadRow {
    pub line: u64,
    pub message: String,
}

/// What a report file holds, a row at a time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    Item(TransactionItem),
    ItemTotals(Totals),
    Summary(SummaryRow),
    Fee(FeeItem),
    FeeTotals(Totals),
    SettlementSummary(SettlementSummary),
    SettlementDetail(SettlementDetail),
    Bad(BadRow),
}

/// The columns of each section, as written (the reader needs the money ones).
const ITEM_COLUMNS: [&str; 10] = [
    "transactionId",
    "originalTransactionId",
    "transactionRequestId",
    "counterParticipantId",
    "transactionType",
    "transactionTime",
    "transactionAmountValue",
    "transactionCurrency",
    "settlementAmountValue",
    "settlementCurrency",
];
const TOTALS_COLUMNS: [&str; 3] = ["totalCount", "totalAmountValue", "currency"];
const SUMMARY_COLUMNS: [&str; 6] = [
    "clearingBatchId",
    "transactionType",
    "totalCount",
    "totalAmountValue",
    "currency",
    "direction",
];
const FEE_COLUMNS: [&str; 5] = [
    "feeId",
    "transactionRequestId",
    "feeType",
    "feeAmountValue",
    "feeCurrency",
];
const SETTLEMENT_SUMMARY_COLUMNS: [&str; 4] = [
    "settlementBatchId",
    "settlementAmountValue",
    "settlementCurrency",
    "valueDate",
];
const SETTLEMENT_DETAIL_COLUMNS: [&str; 6] = [
    "clearingBatchId",
    "transactionAmountValue",
    "feeAmountValue",
    "netAmountValue",
    "currency",
    "direction",
];

/// The sections a kind of file may hold, by the name of their first column.
fn sections(kind: ReportKind) -> &'static [(&'static str, Section)] {
    match kind {
        ReportKind::TransactionItems => &[
            ("totalCount", Section::ItemTotals),
            ("transactionId", Section::Items),
        ],
        ReportKind::Summary => &[("clearingBatchId", Section::Summary)],
        ReportKind::FeeItems => &[("totalCount", Section::FeeTotals), ("feeId", Section::Fees)],
        ReportKind::Settlement => &[
            ("settlementBatchId", Section::SettlementSummary),
            ("clearingBatchId", Section::SettlementDetails),
        ],
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Section {
    ItemTotals,
    Items,
    Summary,
    FeeTotals,
    Fees,
    SettlementSummary,
    SettlementDetails,
}

impl Section {
    fn required(self) -> &'static [&'static str] {
        match self {
            Section::ItemTotals | Section::FeeTotals => &TOTALS_COLUMNS,
            Section::Items => &[
                "transactionId",
                "transactionRequestId",
                "transactionType",
                "transactionTime",
                "transactionAmountValue",
                "transactionCurrency",
            ],
            Section::Summary => &SUMMARY_COLUMNS,
            Section::Fees => &["transactionRequestId", "feeAmountValue", "feeCurrency"],
            Section::SettlementSummary => &["settlementAmountValue", "settlementCurrency"],
            Section::SettlementDetails => &[
                "clearingBatchId",
                "transactionAmountValue",
                "feeAmountValue",
                "netAmountValue",
                "currency",
            ],
        }
    }
}

/// One row's values by column name.
struct Row<'a> {
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

fn read_row(section: Section, line: u64, row: &Row<'_>) -> Result<Record, String> {
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

/// Writes report files in the layout [`read`] reads (the simulator's side).
pub struct Writer<W: Write> {
    csv: csv::Writer<W>,
}

impl<W: Write> Writer<W> {
    pub fn new(output: W) -> Self {
        Writer {
            csv: csv::WriterBuilder::new().flexible(true).from_writer(output),
        }
    }

    fn row<I: AsRef<[u8]>>(&mut self, fields: impl IntoIterator<Item = I>) -> std::io::Result<()> {
        self.csv.write_record(fields).map_err(std::io::Error::other)
    }

    pub fn totals(&mut self, totals: &Totals) -> std::io::Result<()> {
        self.row(TOTALS_COLUMNS)?;
        self.row([
            totals.count.to_string(),
            totals.amount.to_string(),
            totals.currency.clone(),
        ])
    }

    pub fn item_header(&mut self) -> std::io::Result<()> {
        self.row(ITEM_COLUMNS)
    }

    pub fn item(&mut self, item: &TransactionItem) -> std::io::Result<()> {
        let time = item
            .transaction_time
            .with_timezone(&FixedOffset::east_opt(8 * 3600).expect("UTC+8"))
            .to_rfc3339();
        let (settled, settlement_currency) = match &item.settlement {
            Some((amount, currency)) => (amount.to_string(), currency.as_str()),
            None => (String::new(), ""),
        };
        self.row([
            item.transaction_id.as_str(),
            item.original_transaction_id.as_deref().unwrap_or_default(),
            item.transaction_request_id.as_str(),
            item.counter_participant_id.as_deref().unwrap_or_default(),
            item.transaction_type.as_str(),
            time.as_str(),
            item.amount.to_string().as_str(),
            item.currency.as_str(),
            settled.as_str(),
            settlement_currency,
        ])
    }

    pub fn summary_header(&mut self) -> std::io::Result<()> {
        self.row(SUMMARY_COLUMNS)
    }

    pub fn summary(&mut self, row: &SummaryRow) -> std::io::Result<()> {
        self.row([
            row.clearing_batch_id.clone(),
            row.transaction_type.as_str().into(),
            row.count.to_string(),
            row.amount.to_string(),
            row.currency.clone(),
            if row.credit { "C" } else { "D" }.into(),
        ])
    }

    pub fn fee_header(&mut self) -> std::io::Result<()> {
        self.row(FEE_COLUMNS)
    }

    pub fn fee(&mut self, fee: &FeeItem) -> std::io::Result<()> {
        self.row([
            fee.fee_id.clone(),
            fee.transaction_request_id.clone(),
            fee.fee_type.clone(),
            fee.amount.to_string(),
            fee.currency.clone(),
        ])
    }

    pub fn settlement_summary(&mut self, summary: &SettlementSummary) -> std::io::Result<()> {
        self.row(SETTLEMENT_SUMMARY_COLUMNS)?;
        self.row([
            summary.settlement_batch_id.clone(),
            summary.amount.to_string(),
            summary.currency.clone(),
            summary.value_date.clone(),
        ])
    }

    pub fn settlement_detail(&mut self, detail: &SettlementDetail) -> std::io::Result<()> {
        self.row(SETTLEMENT_DETAIL_COLUMNS)?;
        self.row([
            detail.clearing_batch_id.clone(),
            detail.transaction_amount.to_string(),
            detail.fee_amount.to_string(),
            detail.net_amount.to_string(),
            detail.currency.clone(),
            if detail.net_amount >= 0 { "C" } else { "D" }.into(),
        ])
    }

    /// The `<END>` line, and everything flushed.
    pub fn end(mut self) -> std::io::Result<()> {
        self.row(["<END>"])?;
        self.csv.flush()
    }
}

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
