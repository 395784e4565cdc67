//! Report files' names (the documented grammar, nothing else) and kinds, and the clearing
//! cycle a clearing day covers.

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
