//! `plusflow bench engine`: durable transitions per second through `store::apply_event` on the
//! configured database. Each instance is created and driven through its three events by one of
//! `concurrency` tasks; every transition is one committed transaction (lock, state update,
//! history row, outbox rows). Prints a progress bar, a summary, and a last line of JSON.

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use clap::Subcommand;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;

use super::boot;
use crate::clock::SystemClock;
use crate::config::Config;
use crate::store::EventInput;
use crate::workflow::EventName;

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Durable workflow transitions per second.
    Engine {
        #[arg(long, default_value_t = 2_000)]
        instances: usize,
        #[arg(long, default_value_t = 16)]
        concurrency: usize,
    },
}

/// The events that take an `engine_probe` instance from its start to `completed`.
const PATH: [EventName; 3] = [EventName::StepDone, EventName::Rested, EventName::FinishDone];

pub async fn run(config: Config, command: BenchCommand) -> anyhow::Result<ExitCode> {
    let BenchCommand::Engine {
        instances,
        concurrency,
    } = command;
    let engine = boot(&config, Arc::new(SystemClock)).await?;
    let transitions_per_instance = 1 + PATH.len();
    let total = (instances * transitions_per_instance) as u64;
    let bar = ProgressBar::new(total).with_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} transitions {per_sec} eta {eta}")
            .expect("static template"),
    );
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..concurrency.max(1) {
        let (engine, next, bar) = (engine.clone(), next.clone(), bar.clone());
        workers.spawn(async move {
            while next.fetch_add(1, Ordering::Relaxed) < instances {
                let id = engine
                    .start("engine_probe", json!({ "bench": true }), "bench")
                    .await?
                    .instance
                    .id;
                bar.inc(1);
                for event in PATH {
                    engine.apply(id, EventInput::new(event, "bench")).await?;
                    bar.inc(1);
                }
            }
            anyhow::Ok(())
        });
    }
    while let Some(result) = workers.join_next().await {
        result??;
    }
    bar.finish_and_clear();
    let seconds = started.elapsed().as_secs_f64();
    let per_second = total as f64 / seconds;
    let backend = format!("{:?}", config.backend).to_lowercase();
    println!(
        "bench engine on {backend}: {total} durable transitions ({instances} instances, concurrency {concurrency}) in {seconds:.2}s = {per_second:.0} transitions/s"
    );
    println!(
        "{}",
        json!({ "bench": "engine", "backend": backend, "instances": instances, "concurrency": concurrency,
                "transitions": total, "seconds": (seconds * 1000.0).round() / 1000.0, "transitions_per_s": per_second.round() })
    );
    Ok(ExitCode::SUCCESS)
}
