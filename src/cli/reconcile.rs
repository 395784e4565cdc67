//! `plusflow reconcile --dir DIR [--date YYYYMMDD]`: reconciles the Alipay+ report files in a
//! folder (one run per settlement agreement found there) with a progress bar, then prints a
//! summary table, the discrepancies by kind, and a last JSON line (`rows_read`, `matched`,
//! `discrepancies`, `run_id`; the same files again are the same run, nothing counted twice).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use indicatif::{ProgressBar, ProgressStyle};

use crate::app::reconciliation::{self, KINDS};
use crate::config::Config;

/// The clearing day of `dir`: `date` if given, else the day before the folder's name (Alipay+'s
/// folders are named by the date it generated the files, the day after the clearing day).
fn report_date(dir: &Path, date: Option<String>) -> anyhow::Result<String> {
    if let Some(date) = date {
        return Ok(date);
    }
    let name = dir
        .canonicalize()?
        .file_name()
        .and_then(|n| n.to_str())
        .map(str::to_string)
        .unwrap_or_default();
    crate::jobs::report_intake::clearing_day_of(&name).ok_or_else(|| {
        anyhow::anyhow!(
            "{} is not named by its date: say which clearing day with --date YYYYMMDD",
            dir.display()
        )
    })
}

/// `text` with every control character escaped (`\u{1b}`).
fn printable(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_unicode().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

pub async fn run(config: &Config, dir: PathBuf, date: Option<String>) -> anyhow::Result<ExitCode> {
    let engine = super::compose::open_existing(config).await?;
    let date = report_date(&dir, date)?;
    let sets = reconciliation::report_sets(&dir, &date)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    anyhow::ensure!(!sets.is_empty(), "no Alipay+ report files in {}", dir.display());
    let mut outcomes = Vec::new();
    for set in &sets {
        let bar = ProgressBar::new_spinner().with_style(
            ProgressStyle::with_template("{spinner} {msg}: {pos} rows read, {per_sec}")
                .expect("static template"),
        );
        bar.set_message(format!("{} {}", set.agreement_id, set.settlement_currency));
        let progress = |rows: u64| bar.set_position(rows);
        let outcome = reconciliation::reconcile(&engine, set, &progress)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        bar.finish_and_clear();
        outcomes.push(outcome);
    }
    println!(
        "{:<16} {:<8} {:>10} {:>10} {:>13}  {:<14} RUN",
        "AGREEMENT", "CURRENCY", "ROWS", "MATCHED", "DISCREPANCIES", "STATUS"
    );
    for outcome in &outcomes {
        let run = &outcome.run;
        println!(
            "{:<16} {:<8} {:>10} {:>10} {:>13}  {:<14} {}{}",
            run.agreement_id,
            run.settlement_currency,
            run.rows_read,
            run.matched,
            run.discrepancy_count,
            run.status,
            run.id,
            if outcome.again {
                " (these files were reconciled before)"
            } else {
                ""
            }
        );
        if let Some(changes) = &run.changes {
            println!("  {changes}");
        }
        for kind in KINDS {
            let (found, _) = reconciliation::discrepancies(&engine, run.id, Some(kind), Some(1), None)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            if let Some(first) = found.first() {
                let at = match (&first.file, first.line) {
                    (Some(file), Some(line)) => format!(" ({file} line {line})"),
                    _ => String::new(),
                };
                // A file decided these: its control characters are shown escaped, never sent to
                // the terminal (no window title, no cleared screen).
                println!(
                    "  {kind}: {} {}{at}",
                    printable(&first.reference),
                    printable(&first.detail)
                );
            }
        }
        if outcome.inquiries_started > 0 {
            println!("  inquiries started: {}", outcome.inquiries_started);
        }
    }
    let sum = |field: fn(&crate::store::entity::reconciliation_run::Model) -> i64| -> i64 {
        outcomes.iter().map(|o| field(&o.run)).sum()
    };
    let runs: Vec<String> = outcomes.iter().map(|o| o.run.id.to_string()).collect();
    let line = serde_json::json!({
        "rows_read": sum(|r| r.rows_read),
        "matched": sum(|r| r.matched),
        "discrepancies": sum(|r| r.discrepancy_count),
        "run_id": (runs.len() == 1).then(|| runs[0].clone()),
        "runs": runs,
        "again": outcomes.iter().all(|o| o.again),
    });
    println!("{line}");
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::printable;

    #[test]
    fn what_a_file_decides_reaches_the_terminal_escaped() {
        assert_eq!(
            printable("amount '\u{1b}]0;pwned\u{7}'"),
            "amount '\\u{1b}]0;pwned\\u{7}'"
        );
        assert_eq!(printable("line\nbreak"), "line\\u{a}break");
        assert_eq!(printable("plain 12.50 USD"), "plain 12.50 USD");
    }
}
