//! `plusflow demo`: everything in one process on the embedded defaults. It starts the API, the
//! relay and the workers, runs `engine_probe` instances through every outcome (completed,
//! parked after exhausted retries, cancelled mid-way), and prints what happened to each.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use uuid::Uuid;

use super::{Role, boot, start};
use crate::app::Engine;
use crate::clock::SystemClock;
use crate::config::Config;
use crate::store::{self, EventInput};
use crate::workflow::EventName;

#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// Leave the server running afterwards.
    #[arg(long)]
    pub keep_running: bool,
    /// How many healthy probes to run.
    #[arg(long, default_value_t = 5)]
    pub instances: usize,
}

struct Scenario {
    name: &'static str,
    id: Uuid,
}

pub async fn run(mut config: Config, args: DemoArgs) -> anyhow::Result<ExitCode> {
    if !args.keep_running {
        config.port = 0;
    }
    let engine = boot(&config, Arc::new(SystemClock)).await?;
    let running = start(&config, engine.clone(), Role::All).await?;
    let base = format!("http://{}", running.api_address.expect("demo serves the API"));
    println!(
        "plusflow demo: API on {base}, database {}",
        crate::config::redact(&config.database_url)
    );

    let mut scenarios = Vec::new();
    for _ in 0..args.instances {
        scenarios.push(Scenario {
            name: "probe succeeds",
            id: probe(&engine, &format!("{base}/health/ready")).await?,
        });
    }
    scenarios.push(Scenario {
        name: "endpoint broken",
        id: probe(&engine, &format!("{base}/health/missing")).await?,
    });
    let cancelled = probe(&engine, &format!("{base}/health/ready")).await?;
    engine
        .apply(cancelled, EventInput::new(EventName::CancelRequested, "demo"))
        .await?;
    scenarios.push(Scenario {
        name: "cancelled",
        id: cancelled,
    });

    let deadline = Instant::now() + Duration::from_secs(60);
    let settled = wait_until_settled(&engine, &scenarios, deadline).await?;
    print_table(&engine, &scenarios).await?;

    if args.keep_running {
        println!("\nserver still running on {base} (health: {base}/health/ready); Ctrl-C to stop");
        tokio::signal::ctrl_c().await?;
    }
    running.stop().await;
    if !settled {
        eprintln!("some instances did not settle within 60s");
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

async fn probe(engine: &Engine, url: &str) -> anyhow::Result<Uuid> {
    Ok(engine
        .start("engine_probe", json!({ "url": url }), "demo")
        .await?
        .instance
        .id)
}

/// Waits until every instance is terminal or parked for an operator.
async fn wait_until_settled(
    engine: &Engine,
    scenarios: &[Scenario],
    deadline: Instant,
) -> anyhow::Result<bool> {
    loop {
        let mut settled = true;
        for scenario in scenarios {
            let instance = store::instance(&engine.db, scenario.id).await?;
            settled &= instance.terminal || instance.needs_attention;
        }
        if settled || Instant::now() > deadline {
            return Ok(settled);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn print_table(engine: &Engine, scenarios: &[Scenario]) -> anyhow::Result<()> {
    println!(
        "\n{:<16} {:<10} {:<10} {:<6} {:<24} NOTE",
        "SCENARIO", "INSTANCE", "STATE", "EVENTS", "PATH"
    );
    for scenario in scenarios {
        let instance = store::instance(&engine.db, scenario.id).await?;
        let history = store::history(&engine.db, scenario.id).await?;
        let path: Vec<String> = std::iter::once(
            history
                .first()
                .and_then(|h| h.to_state.clone())
                .unwrap_or_default(),
        )
        .chain(
            history
                .iter()
                .skip(1)
                .filter(|h| h.outcome == "TRANSITIONED")
                .filter_map(|h| h.to_state.clone()),
        )
        .collect();
        let note = if instance.needs_attention {
            format!("NEEDS ATTENTION: {}", instance.last_error.unwrap_or_default())
        } else {
            let ignored = history.iter().filter(|h| h.outcome != "TRANSITIONED").count();
            if ignored > 0 {
                format!("{ignored} late event(s) ignored or rejected")
            } else {
                String::new()
            }
        };
        println!(
            "{:<16} {:<10} {:<10} {:<6} {:<24} {note}",
            scenario.name,
            &instance.id.simple().to_string()[24..],
            instance.state,
            history.len(),
            path.join(">"),
        );
    }
    Ok(())
}
