//! Background work: the outbox [`relay`] claims due effects and timers, the [`queue`] carries the
//! claims (apalis-redis or in-process), and apalis workers hand them to the [`runner`], which
//! executes them and records the outcome through the store.

pub mod probe;
pub mod queue;
pub mod relay;
pub mod runner;

use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::{error, info};

use crate::app::{EffectRegistry, Engine};
use crate::config::{Config, redact};
use queue::{Queue, RedisQueue};
use relay::Relay;
use runner::Runner;

/// A name no other process shares: apalis refuses (Redis) or strands (SQL) a worker that
/// reuses a live name.
pub fn unique_worker_id() -> String {
    let host = hostname::get()
        .map(|h| h.to_string_lossy().into_owned())
        .unwrap_or_else(|_| "host".into());
    format!(
        "{host}-{}-{}",
        std::process::id(),
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    )
}

/// Starts this process's relay and workers; they stop when `shutdown` is cancelled.
pub async fn spawn(
    engine: Engine,
    effects: EffectRegistry,
    config: &Config,
    shutdown: CancellationToken,
    tasks: &mut JoinSet<()>,
) -> anyhow::Result<()> {
    let worker_id = unique_worker_id();
    let (queue, source) = match &config.redis_url {
        Some(url) => {
            info!(redis = %redact(url), queue = %config.redis_queue, worker = %worker_id, "jobs: apalis-redis queue");
            Queue::redis(RedisQueue {
                url,
                queue: &config.redis_queue,
                heartbeat: config.jobs.heartbeat,
            })
            .await?
        }
        None => {
            info!(worker = %worker_id, "jobs: in-process queue");
            Queue::in_process()
        }
    };
    let runner = Runner {
        engine: engine.clone(),
        effects,
        effect_timeout: config.jobs.lease.mul_f64(0.8),
    };
    let relay = Relay {
        engine,
        queue,
        worker_id: worker_id.clone(),
        lease: config.jobs.lease,
        batch: config.jobs.relay_batch,
        interval: config.jobs.relay_interval,
    };
    tasks.spawn(relay.run(shutdown.clone()));
    let concurrency = config.jobs.concurrency;
    tasks.spawn(async move {
        if let Err(e) = queue::run_worker(source, worker_id, runner, concurrency, shutdown).await {
            error!("jobs worker stopped: {e}");
        }
    });
    Ok(())
}
