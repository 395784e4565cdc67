//! Benchmarks on the configured backend, each with a progress bar, a summary and a last line
//! of JSON: the `plusflow bench` subcommands, each in its own module but `bench engine`.
//!
//! `bench engine`: durable transitions per second through `store::apply_event`. Each instance
//! is created and driven through its three events by one of `concurrency` tasks; every
//! transition is one committed transaction (lock, state update, history row, outbox rows).

use super::bench_scratch::in_scratch;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;

use super::bench_payments::{Load, payments_end_to_end};
use super::compose::{boot, check_mode};
use crate::clock::SystemClock;
use crate::config::Config;
use crate::store::EventInput;
use crate::workflow::EventName;

pub use super::bench_command::BenchCommand;

/// The events that take an `engine_probe` instance from its start to `completed`.
const PATH: [EventName; 3] = [
    crate::kinds::engine_probe::names::STEP_DONE,
    crate::kinds::engine_probe::names::RESTED,
    crate::kinds::engine_probe::names::FINISH_DONE,
];

pub async fn run(config: Config, command: BenchCommand) -> anyhow::Result<ExitCode> {
    // A bench writes made-up payments and runs workers against its own simulator: never where
    // real merchants' payments are (a database that served Alipay+ is refused by check_mode).
    anyhow::ensure!(
        config.alipayplus.mode == crate::config::AlipayPlusMode::Simulator,
        "bench runs against its own simulator: not with alipayplus.mode = \"alipayplus\""
    );
    check_mode(&config, &boot(&config, Arc::new(SystemClock)).await?, true).await?;
    match command {
        BenchCommand::Engine {
            instances,
            concurrency,
        } => engine(config, instances, concurrency).await,
        BenchCommand::Payments {
            payments,
            concurrency,
            rate,
            compare_pgbench,
        } => {
            let load = match rate {
                Some(rate) if rate > 0.0 && rate.is_finite() => Load::Rate(rate),
                Some(rate) => {
                    anyhow::bail!("--rate must be a positive number of payments per second, not {rate}")
                }
                None => Load::Clients(concurrency.max(1)),
            };
            payments_end_to_end(config, payments, load, compare_pgbench).await
        }
        BenchCommand::Stuck { instances } => {
            in_scratch(&config, |scratch| async move {
                super::bench_stuck::run(&scratch, instances.max(1)).await
            })
            .await
        }
        BenchCommand::Console { payments } => {
            in_scratch(&config, |scratch| async move {
                super::bench_console::run(&scratch, payments.max(1)).await
            })
            .await
        }
        BenchCommand::Reconcile { rows } => {
            in_scratch(&config, |scratch| async move {
                super::bench_reconcile::run(&scratch, rows.max(1)).await
            })
            .await
        }
        BenchCommand::Lifecycle {
            history,
            payments,
            concurrency,
            rate,
        } => {
            anyhow::ensure!(
                rate > 0.0 && rate.is_finite(),
                "--rate must be a positive number of payments per second"
            );
            let asked = super::bench_lifecycle::Lifecycle {
                history,
                payments: payments.max(1),
                concurrency,
                rate,
            };
            in_scratch(&config, |scratch| async move {
                super::bench_lifecycle::run(&scratch, asked).await
            })
            .await
        }
        BenchCommand::Events { events } => {
            in_scratch(&config, |scratch| async move {
                super::bench_events::run(&scratch, events.max(1)).await
            })
            .await
        }
    }
}

async fn engine(config: Config, instances: usize, concurrency: usize) -> anyhow::Result<ExitCode> {
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
