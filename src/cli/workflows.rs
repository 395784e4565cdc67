//! `plusflow workflows check|graph|stuck`: validate the definitions, render one as Mermaid,
//! and list what is stuck (the operators' list, for a terminal).

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;

use crate::app::kind::statuses_outside_vocabulary;
use crate::workflow;

#[derive(Debug, Subcommand)]
pub enum WorkflowsCommand {
    /// Validate every workflow file (and each state's status against its kind's statuses); lists
    /// every problem and exits non-zero if there is one.
    Check {
        /// A folder of workflow files; the built-in definitions without it.
        #[arg(long)]
        dir: Option<PathBuf>,
    },
    /// Print a workflow as a Mermaid state diagram.
    Graph {
        /// The workflow kind, e.g. engine_probe.
        name: String,
        /// A folder of workflow files; the built-in definitions without it.
        #[arg(long)]
        dir: Option<PathBuf>,
    },
    /// The stuck list on the configured database, oldest in its state first (as the
    /// `workflows` GraphQL query): a table, or one JSON line per workflow with --json.
    Stuck(StuckArgs),
}

#[derive(Debug, clap::Args)]
pub struct StuckArgs {
    /// Only workflows waiting for an operator.
    #[arg(long)]
    needs_attention: bool,
    /// Only workflows of this kind (payment, refund, dispute, customs_declaration, registration,
    /// engine_probe).
    #[arg(long)]
    kind: Option<String>,
    /// Only workflows in this state (e.g. awaiting_customer).
    #[arg(long)]
    state: Option<String>,
    /// Only those in their state at least this long (e.g. 10m).
    #[arg(long, value_parser = crate::workflow::parse_duration)]
    stuck_for: Option<std::time::Duration>,
    /// At most this many, oldest in their state first (1 to 1000).
    #[arg(long, default_value_t = 50)]
    limit: u64,
    /// One JSON line per workflow instead of a table.
    #[arg(long)]
    json: bool,
}

/// A `--kind` or `--state` no loaded workflow has is a mistake to say, not an empty list.
fn refuse_unknown(definitions: &workflow::Definitions, args: &StuckArgs) -> anyhow::Result<()> {
    let kinds: BTreeSet<&str> = definitions.iter().map(|d| d.kind.as_str()).collect();
    if let Some(kind) = &args.kind {
        let known = kinds.iter().copied().collect::<Vec<_>>().join(", ");
        anyhow::ensure!(
            kinds.contains(kind.as_str()),
            "no workflow kind '{kind}' (kinds: {known})"
        );
    }
    if let Some(state) = &args.state {
        let states: BTreeSet<String> = definitions
            .iter()
            .filter(|d| args.kind.as_ref().is_none_or(|kind| *kind == d.kind))
            .flat_map(|d| d.state_names())
            .collect();
        let known = states.iter().cloned().collect::<Vec<_>>().join(", ");
        anyhow::ensure!(
            states.contains(state),
            "no state '{state}' in those workflows (states: {known})"
        );
    }
    Ok(())
}

/// `workflows stuck`: prints the list.
pub async fn stuck(engine: &crate::app::Engine, args: &StuckArgs) -> anyhow::Result<ExitCode> {
    use crate::store::stuck::{WorkflowFilter, stuck_workflows};
    refuse_unknown(&engine.definitions, args)?;
    let filter = WorkflowFilter {
        kind: args.kind.clone(),
        state: args.state.clone(),
        needs_attention: args.needs_attention.then_some(true),
        stuck_for: args.stuck_for.map(chrono::Duration::from_std).transpose()?,
        merchant_id: None,
    };
    let now = engine.clock.now();
    let rows = stuck_workflows(&engine.db, &filter, now, args.limit.clamp(1, 1000), None).await?;
    if !args.json {
        println!(
            "{:<36}  {:<12}  {:<22}  {:>10}  {:<9}  reason",
            "id", "kind", "state", "in state", "attention"
        );
    }
    for row in rows {
        let since = row.state_since.unwrap_or(row.updated_at);
        let seconds = (now - since).num_seconds().max(0);
        if args.json {
            let line = serde_json::json!({
                "id": row.id, "kind": row.kind, "state": row.state, "stateSince": since,
                "secondsInState": seconds, "needsAttention": row.needs_attention, "reason": row.last_error,
            });
            println!("{line}");
        } else {
            let in_state =
                humantime::format_duration(std::time::Duration::from_secs(seconds as u64)).to_string();
            let reason: String = row.last_error.unwrap_or_default().chars().take(60).collect();
            println!(
                "{:<36}  {:<12}  {:<22}  {:>10}  {:<9}  {reason}",
                row.id,
                row.kind,
                row.state,
                in_state.split(' ').take(2).collect::<Vec<_>>().join(" "),
                if row.needs_attention { "yes" } else { "" },
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn run(command: &WorkflowsCommand) -> ExitCode {
    let dir = match command {
        WorkflowsCommand::Check { dir } | WorkflowsCommand::Graph { dir, .. } => dir,
        WorkflowsCommand::Stuck(_) => unreachable!("run with the service configuration"),
    };
    let dir = dir.clone().unwrap_or_default();
    let source = if dir.as_os_str().is_empty() {
        "the built-in workflows".to_string()
    } else {
        dir.display().to_string()
    };
    let definitions = match workflow::load(&dir) {
        Ok(definitions) => definitions,
        Err(problems) => {
            eprintln!("{} problem(s) in {source}:", problems.len());
            for problem in problems {
                eprintln!("  - {problem}");
            }
            return ExitCode::FAILURE;
        }
    };
    match command {
        WorkflowsCommand::Check { .. } => {
            let wrong = statuses_outside_vocabulary(&crate::kinds::ALL, &definitions);
            if !wrong.is_empty() {
                eprintln!("{} problem(s) in {source}:", wrong.len());
                for problem in wrong {
                    eprintln!("  - {problem}");
                }
                return ExitCode::FAILURE;
            }
            for definition in definitions.iter() {
                println!(
                    "ok  {} v{}: {} states, {} transitions",
                    definition.kind,
                    definition.version,
                    definition.states.len(),
                    definition.transitions.len()
                );
            }
            ExitCode::SUCCESS
        }
        WorkflowsCommand::Graph { name, .. } => match definitions.current(name) {
            Some(definition) => {
                print!("{}", workflow::mermaid(definition));
                ExitCode::SUCCESS
            }
            None => {
                eprintln!("no workflow named '{name}' in {source}");
                ExitCode::FAILURE
            }
        },
        WorkflowsCommand::Stuck(_) => unreachable!("run with the service configuration"),
    }
}
