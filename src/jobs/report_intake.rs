//! The scheduled reconciliation: every `reconciliation.scan_interval` this process looks in the
//! drop folder (the stand-in for Alipay+'s SFTP: one subfolder per generation date, YYYYMMDD,
//! holding the reports of the clearing day before) and reconciles each day's files of the last
//! [`RETENTION_DAYS`] days whose listing (names, sizes, modification times) changed since this
//! process last reconciled them: an unchanged folder is not read again, and a folder another
//! process reconciled costs a hash of each file (the same files are the same run). A corrected
//! file makes a run that supersedes. Settlement files follow their own calendar (business
//! days; a Monday's covers Friday to Sunday) in their own folder, `settlement/<date>` (as
//! Alipay+'s SFTP has `settlement/` beside `clearing/`), reconciled by their own date after the
//! clearing folders of the same scan, each clearing batch against its clearing day's run. A day
//! whose clearing files have not arrived an hour after Alipay+ produces them (08:00 UTC+8) is
//! warned about, once per day and process: Alipay+ deletes its files after 7 days. With
//! `[reconciliation.sftp]`, each scan first fetches what the folder lacks from Alipay+'s SFTP.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Duration, NaiveDate, Utc};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::alipayplus::sftp;
use crate::app::Engine;
use crate::app::reconciliation;
use crate::config::SftpConfig;

/// How long Alipay+ keeps a day's files.
pub const RETENTION_DAYS: i64 = 7;
/// The drop folder's subfolder of settlement files, by settlement date.
pub const SETTLEMENT_FOLDER: &str = "settlement";

/// The generation dates (YYYYMMDD) of the last `RETENTION_DAYS` days whose files should be
/// there at `now` (produced at 08:00 UTC+8, an hour's grace) but are not in `present`.
pub fn missing_days(now: DateTime<Utc>, present: &HashSet<String>) -> Vec<String> {
    let utc8 = now + Duration::hours(8);
    let today = utc8.date_naive();
    let due_today = utc8.time() >= chrono::NaiveTime::from_hms_opt(9, 0, 0).expect("09:00");
    (0..RETENTION_DAYS)
        .filter_map(|back| today.checked_sub_signed(Duration::days(back)))
        .filter(|day| *day < today || due_today)
        .map(|day| day.format("%Y%m%d").to_string())
        .filter(|day| !present.contains(day))
        .collect()
}

/// The clearing day a generation date's files report: the day before.
pub fn clearing_day_of(generation_date: &str) -> Option<String> {
    let day = NaiveDate::parse_from_str(generation_date, "%Y%m%d").ok()?;
    Some(day.pred_opt()?.format("%Y%m%d").to_string())
}

fn dated_folders(drop_dir: &Path) -> Vec<(String, PathBuf)> {
    let Ok(entries) = std::fs::read_dir(drop_dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter(|entry| entry.path().is_dir())
        .filter_map(|entry| {
            let name = entry.file_name().to_str()?.to_string();
            NaiveDate::parse_from_str(&name, "%Y%m%d").ok()?;
            Some((name, entry.path()))
        })
        .collect()
}

/// What this process remembers between scans: the days warned about, and each folder's files
/// (name, size, modification time) as they were when they were last reconciled in full.
#[derive(Default)]
struct Remembered {
    warned: HashSet<String>,
    reconciled: HashMap<PathBuf, Vec<(String, u64, Option<std::time::SystemTime>)>>,
}

/// The files of `folder` by name, size and modification time (sorted).
fn listing(folder: &Path) -> Vec<(String, u64, Option<std::time::SystemTime>)> {
    let mut files: Vec<_> = std::fs::read_dir(folder)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let metadata = entry.metadata().ok()?;
            metadata.is_file().then(|| {
                let name = entry.file_name().to_string_lossy().into_owned();
                (name, metadata.len(), metadata.modified().ok())
            })
        })
        .collect();
    files.sort();
    files
}

/// One scan: every dated folder within the retention whose files changed since this process
/// last reconciled them is reconciled (new runs logged); an unchanged one is not read again.
async fn scan(engine: &Engine, drop_dir: &Path, remembered: &mut Remembered) {
    let warned = &mut remembered.warned;
    let folders = blocking(dated_folders, drop_dir.to_path_buf()).await;
    let present: HashSet<String> = folders.iter().map(|(name, _)| name.clone()).collect();
    let missing = missing_days(engine.clock.now(), &present);
    crate::metrics::report_days_missing(missing.len());
    for day in missing {
        if warned.insert(day.clone()) {
            warn!(
                folder = %drop_dir.join(&day).display(),
                "Alipay+'s report files generated on {day} have not arrived; Alipay+ keeps them {RETENTION_DAYS} days"
            );
        }
    }
    let oldest = oldest_kept(engine.clock.now());
    // Clearing folders report the day before their name; settlement folders their own date.
    let mut due: Vec<(PathBuf, String)> = folders
        .into_iter()
        .filter(|(name, _)| *name >= oldest)
        .filter_map(|(generated, folder)| Some((folder, clearing_day_of(&generated)?)))
        .collect();
    due.extend(
        blocking(dated_folders, drop_dir.join(SETTLEMENT_FOLDER))
            .await
            .into_iter()
            .filter(|(name, _)| *name >= oldest)
            .map(|(date, folder)| (folder, date)),
    );
    for (folder, day) in due {
        let files = blocking(listing, folder.clone()).await;
        if remembered.reconciled.get(&folder) == Some(&files) {
            continue;
        }
        let mut all_done = true;
        let sets = match reconciliation::report_sets(&folder, &day).await {
            Ok(sets) => sets,
            Err(e) => {
                warn!(folder = %folder.display(), "report folder unreadable: {e}");
                continue;
            }
        };
        for set in sets {
            match reconciliation::reconcile(engine, &set, &|_| {}).await {
                // Another process's run still going (or abandoned): looked at again next scan.
                Ok(outcome) if outcome.again => all_done &= outcome.run.finished_at.is_some(),
                Ok(outcome) if outcome.run.discrepancy_count > 0 => warn!(
                    run = %outcome.run.id, day = %day, agreement = %set.agreement_id,
                    "reconciled with {} discrepancies", outcome.run.discrepancy_count
                ),
                Ok(outcome) => {
                    info!(run = %outcome.run.id, day = %day, agreement = %set.agreement_id, "reconciled")
                }
                Err(e) => {
                    all_done = false;
                    warn!(folder = %folder.display(), "reconciliation failed, tried again next scan: {e}")
                }
            }
        }
        if all_done {
            remembered.reconciled.insert(folder, files);
        }
    }
}

/// `read(folder)` on a blocking thread (folders are read off the runtime's threads); nothing if
/// that thread stopped.
async fn blocking<T: Default + Send + 'static>(read: fn(&Path) -> T, folder: PathBuf) -> T {
    tokio::task::spawn_blocking(move || read(&folder))
        .await
        .unwrap_or_default()
}

/// The oldest generation or settlement date (YYYYMMDD) Alipay+ still keeps at `now`.
fn oldest_kept(now: DateTime<Utc>) -> String {
    (now + Duration::hours(8) - Duration::days(RETENTION_DAYS))
        .format("%Y%m%d")
        .to_string()
}

/// Fetches from Alipay+'s SFTP what the drop folder lacks (see `alipayplus::sftp`); a server
/// that cannot be reached or refuses is logged and counted, and tried again next scan.
async fn fetch(engine: &Engine, sftp: &SftpConfig, drop_dir: &Path) {
    let local = sftp::Local {
        clearing: drop_dir,
        settlement: &drop_dir.join(SETTLEMENT_FOLDER),
    };
    let oldest = oldest_kept(engine.clock.now());
    match sftp::fetch(sftp, local, &oldest, engine.max_report_bytes).await {
        Ok(written) if written.is_empty() => {}
        Ok(written) => info!(files = written.len(), "report files fetched from Alipay+'s SFTP"),
        Err(e) => {
            crate::metrics::report_fetch_failed();
            warn!(host = %sftp.host, "report files not fetched, tried again next scan: {e}");
        }
    }
}

/// Starts the scheduled reconciliation of `drop_dir` (fetching from `sftp` first, if given),
/// every `interval`, until `shutdown`.
pub fn spawn(
    engine: Engine,
    drop_dir: PathBuf,
    sftp: Option<SftpConfig>,
    interval: std::time::Duration,
    shutdown: CancellationToken,
    tasks: &mut JoinSet<()>,
) {
    tasks.spawn(async move {
        let mut remembered = Remembered::default();
        loop {
            if let Some(sftp) = &sftp {
                fetch(&engine, sftp, &drop_dir).await;
            }
            scan(&engine, &drop_dir, &mut remembered).await;
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(interval) => {}
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_day_is_missing_only_once_alipayplus_should_have_produced_it() {
        let at = |text: &str| text.parse::<DateTime<Utc>>().unwrap();
        let present: HashSet<String> = ["20261203".to_string()].into();
        // 08:30 UTC+8 on the 4th: today's files are not due yet; the 3rd is there.
        let early = missing_days(at("2026-12-04T00:30:00Z"), &present);
        assert!(!early.contains(&"20261204".to_string()));
        assert!(!early.contains(&"20261203".to_string()));
        assert!(early.contains(&"20261202".to_string()));
        assert_eq!(early.len(), 5, "{early:?}");
        // 09:30 UTC+8: today's are due.
        let late = missing_days(at("2026-12-04T01:30:00Z"), &present);
        assert!(late.contains(&"20261204".to_string()));
    }

    #[test]
    fn a_folder_reports_the_clearing_day_before_it() {
        assert_eq!(clearing_day_of("20261201").as_deref(), Some("20261130"));
        assert_eq!(clearing_day_of("notes"), None);
    }
}
