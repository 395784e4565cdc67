//! `plusflow admin activity`: the operators' activity log at a terminal, newest first (a table,
//! or one JSON line each with --json), filtered by operator, kind and time.

use std::process::ExitCode;

use chrono::{DateTime, Utc};
use clap::Args;

use crate::app::Engine;
use crate::store::activity::{self, ActivityFilter};

#[derive(Debug, Args)]
pub struct ActivityArgs {
    /// Only this operator's actions.
    #[arg(long)]
    operator: Option<String>,
    /// Only actions on workflows of this kind (payment, refund...).
    #[arg(long)]
    kind: Option<String>,
    /// Only actions at or after this time (RFC 3339).
    #[arg(long)]
    since: Option<DateTime<Utc>>,
    /// How many actions to list.
    #[arg(long, default_value_t = 50)]
    limit: u64,
    /// One JSON line per action instead of a table.
    #[arg(long)]
    json: bool,
}

pub async fn run(engine: &Engine, args: ActivityArgs) -> anyhow::Result<ExitCode> {
    let filter = ActivityFilter {
        operator: args.operator,
        kind: args.kind,
        since: args.since,
    };
    let rows = activity::list(&engine.db, &filter, args.limit.clamp(1, 10_000), None).await?;
    if args.json {
        for row in &rows {
            let line = serde_json::json!({
                "at": row.at, "operator": row.operator, "role": row.role, "action": row.action,
                "kind": row.kind, "objectIds": row.object_ids, "note": row.note,
            });
            println!("{line}");
        }
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{:<20}  {:<16}  {:<8}  {:<18}  {:<12}  {:<38}  note",
        "at", "operator", "role", "action", "kind", "objects"
    );
    for row in &rows {
        let objects: Vec<&str> = row
            .object_ids
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|id| id.as_str())
            .collect();
        println!(
            "{:<20}  {:<16}  {:<8}  {:<18}  {:<12}  {:<38}  {}",
            row.at.format("%Y-%m-%d %H:%M:%S"),
            row.operator,
            row.role,
            row.action,
            row.kind.as_deref().unwrap_or("-"),
            objects.join(","),
            row.note.replace('\n', " ")
        );
    }
    println!("{} actions", rows.len());
    Ok(ExitCode::SUCCESS)
}
