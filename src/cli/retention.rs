//! `plusflow retention run [--dry-run]`: retention by hand (`app::retention`, which also runs on
//! a schedule in every process running workers): a table of what each rule removed (or would
//! remove), then the same as one JSON line.

use std::process::ExitCode;

use clap::Subcommand;

use crate::app::retention;
use crate::config::Config;

#[derive(Debug, Subcommand)]
pub enum RetentionCommand {
    /// Removes what each rule of `[retention]` (and `events.retention`) keeps no longer, in
    /// batches; prints a table per rule and a last JSON line `{"at", "dryRun", "removed"}`.
    Run {
        /// Count what would be removed; remove nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

pub async fn run(config: &Config, command: RetentionCommand) -> anyhow::Result<ExitCode> {
    let RetentionCommand::Run { dry_run } = command;
    let engine = super::compose::open_existing(config).await?;
    let report = retention::run(&engine, &config.retention, dry_run).await?;
    let verb = if dry_run { "would remove" } else { "removed" };
    println!(
        "{:<20} {:>10}  {:<24} {:>12}",
        "rule", "kept for", "older than", verb
    );
    for removed in &report.removed {
        println!(
            "{:<20} {:>10}  {:<24} {:>12}",
            removed.rule.name(),
            humantime::format_duration(removed.kept_for).to_string(),
            removed.before.format("%Y-%m-%dT%H:%M:%SZ"),
            removed.rows
        );
    }
    if let Some(archived) = report.archived {
        let verb = if dry_run { "due" } else { "archived" };
        println!(
            "{:<20} {:>10}  {:<24} {:>12}",
            "archive",
            "",
            "(objects)",
            format!("{archived} {verb}")
        );
    }
    println!("{}", report.to_json());
    Ok(ExitCode::SUCCESS)
}
