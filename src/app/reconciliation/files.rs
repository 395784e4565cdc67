//! Finding a date's report files in a folder (regular files of the documented names only) and
//! hashing them, off the runtime's threads.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDate, Utc};
use sha2::{Digest, Sha256};

use crate::alipayplus::reports::{self, ReportKind, ReportName};
use crate::app::errors::AppError;
use crate::store::entity::reconciliation_run as run;

/// The report files of one date and agreement: a clearing day's (transaction items, summary,
/// fees), or a settlement file, which follows its own calendar (business days) and may cover
/// several clearing days.
#[derive(Debug, Clone)]
pub struct ReportSet {
    /// `CLEARING` or `SETTLEMENT` (`reconciliation_run::{CLEARING, SETTLEMENT}`).
    pub kind: &'static str,
    /// The clearing day of clearing files, the settlement date of a settlement file, YYYYMMDD.
    pub report_date: String,
    pub agreement_id: String,
    pub settlement_currency: String,
    /// In name order.
    pub files: Vec<(ReportName, PathBuf)>,
}

/// The report sets in `dir` for `report_date`, one per agreement and kind (files that are not
/// reports are left alone), the folder read on a blocking thread.
pub async fn report_sets(dir: &Path, report_date: &str) -> Result<Vec<ReportSet>, AppError> {
    let (dir, report_date) = (dir.to_path_buf(), report_date.to_string());
    tokio::task::spawn_blocking(move || report_sets_in(&dir, &report_date))
        .await
        .map_err(|e| AppError::Unavailable(format!("reading the report folder stopped: {e}")))?
}

pub(super) fn report_sets_in(dir: &Path, report_date: &str) -> Result<Vec<ReportSet>, AppError> {
    parse_report_date(report_date)?;
    let entries = std::fs::read_dir(dir).map_err(|e| AppError::Validation {
        field: "dir".into(),
        message: format!("{}: {e}", dir.display()),
    })?;
    // By (kind, agreement, settlement currency).
    type SetKey = (&'static str, String, String);
    let mut sets: BTreeMap<SetKey, Vec<(ReportName, PathBuf)>> = BTreeMap::new();
    for entry in entries.flatten() {
        // Regular files only: never a symlink (to /etc/passwd), a FIFO (blocks a reader forever)
        // or a directory named like a report.
        if !entry.file_type().is_ok_and(|kind| kind.is_file()) {
            continue;
        }
        let path = entry.path();
        let Some(name) = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(ReportName::parse)
        else {
            continue;
        };
        let kind = if name.kind == ReportKind::Settlement {
            run::SETTLEMENT
        } else {
            run::CLEARING
        };
        sets.entry((kind, name.agreement_id.clone(), name.settlement_currency.clone()))
            .or_default()
            .push((name, path));
    }
    Ok(sets
        .into_iter()
        .map(|((kind, agreement_id, settlement_currency), mut files)| {
            files.sort_by_key(|(name, _)| name.file_name());
            ReportSet {
                kind,
                report_date: report_date.to_string(),
                agreement_id,
                settlement_currency,
                files,
            }
        })
        .collect())
}

/// The clearing cycle of a report date (see [`reports::clearing_cycle`]).
pub fn clearing_cycle(report_date: &str) -> Result<(DateTime<Utc>, DateTime<Utc>), AppError> {
    Ok(reports::clearing_cycle(parse_report_date(report_date)?))
}

pub(super) fn parse_report_date(report_date: &str) -> Result<NaiveDate, AppError> {
    NaiveDate::parse_from_str(report_date, "%Y%m%d").map_err(|_| AppError::Validation {
        field: "date".into(),
        message: format!("'{report_date}' is not a date YYYYMMDD"),
    })
}

/// SHA-256 of a file's first `max_bytes` (more is never read), read in pieces on a blocking
/// thread.
pub(super) async fn file_hash(path: &Path, max_bytes: u64) -> Result<String, AppError> {
    let path = path.to_path_buf();
    tokio::task::spawn_blocking(move || hash_of(&path, max_bytes))
        .await
        .map_err(|e| AppError::Unavailable(format!("reading a report file stopped: {e}")))?
}

pub(super) fn hash_of(path: &Path, max_bytes: u64) -> Result<String, AppError> {
    let mut file = std::fs::File::open(path)
        .map_err(|e| unreadable(path, e))?
        .take(max_bytes);
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 16];
    loop {
        let read = file.read(&mut buffer).map_err(|e| unreadable(path, e))?;
        if read == 0 {
            break;
        }
        hasher.update(&buffer[..read]);
    }
    Ok(hex::encode(hasher.finalize()))
}

pub(super) fn unreadable(path: &Path, error: std::io::Error) -> AppError {
    AppError::Validation {
        field: "dir".into(),
        message: format!("{}: {error}", path.display()),
    }
}
