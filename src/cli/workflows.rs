//! `plusflow workflows check|graph`: validate the definitions, render one as Mermaid.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;

use crate::workflow;

#[derive(Debug, Subcommand)]
pub enum WorkflowsCommand {
    /// Validate every workflow file; lists every problem and exits non-zero if there is one.
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
}

pub fn run(command: &WorkflowsCommand) -> ExitCode {
    let dir = match command {
        WorkflowsCommand::Check { dir } | WorkflowsCommand::Graph { dir, .. } => dir,
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
    }
}
