//! `plusflow workflows check|graph`: validate the definitions, render one as Mermaid.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;

use crate::workflow;

#[derive(Debug, Subcommand)]
pub enum WorkflowsCommand {
    /// Validate every workflow file; lists every problem and exits non-zero if there is one.
    Check {
        #[arg(long, default_value = "workflows")]
        dir: PathBuf,
    },
    /// Print a workflow as a Mermaid state diagram.
    Graph {
        /// The workflow kind, e.g. engine_probe.
        name: String,
        #[arg(long, default_value = "workflows")]
        dir: PathBuf,
    },
}

pub fn run(command: &WorkflowsCommand) -> ExitCode {
    let dir = match command {
        WorkflowsCommand::Check { dir } | WorkflowsCommand::Graph { dir, .. } => dir,
    };
    let definitions = match workflow::load_dir(dir) {
        Ok(definitions) => definitions,
        Err(problems) => {
            eprintln!("{} problem(s) in {}:", problems.len(), dir.display());
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
                eprintln!("no workflow named '{name}' in {}", dir.display());
                ExitCode::FAILURE
            }
        },
    }
}
