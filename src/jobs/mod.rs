//! Background work: the outbox [`relay`] claims due effects and timers, the [`queue`] carries the
//! claims (apalis-redis or in-process), and apalis workers hand them to the [`runner`], which
//! executes them and records the outcome through the store. Beside them run the webhook
//! dispatcher (`crate::webhooks::dispatcher`) and retention (`crate::app::retention`).

pub mod queue;
pub mod relay;
pub mod report_intake;
pub mod runner;
pub mod webhooks;

use std::time::Duration;

use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::{debug, error, info, warn};

use crate::app::{EffectRegistry, Engine};
use crate::config::{Config, redact};
use queue::{Queue, RedisQueue, WorkerSource, run_worker};
use relay::Relay;
use runner::Runner;

/// The longest an effect may run before it is abandoned as failed (and retried). Its lease is
/// renewed meanwhile, so this is independent of the lease: longer than any Alipay+ call (8 s)
/// or webhook (10 s), short enough that a stuck call does not hold its instance for long.
pub const EFFECT_TIMEOUT: Duration = Duration::from_secs(60);

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
    let runner = Runner {
        engine: engine.clone(),
        effects,
        lease: config.jobs.lease,
        effect_timeout: EFFECT_TIMEOUT,
    };
    let concurrency = config.jobs.concurrency;
    let queue = match &config.redis_url {
        Some(url) => {
            info!(redis = %redact(url), queue = %config.redis_queue, worker = %worker_id, "jobs: apalis-redis queue");
            let settings = RedisQueue {
                url: url.clone(),
                queue: config.redis_queue.clone(),
                heartbeat: config.jobs.heartbeat,
            };
            let queue = Queue::redis(&settings).await?;
            tasks.spawn(sweep_redis(
                settings.clone(),
                config.jobs.redis_sweep_interval,
                shutdown.clone(),
            ));
            tasks.spawn(supervise_redis_worker(
                settings,
                runner,
                concurrency,
                shutdown.clone(),
            ));
            queue
        }
        None => {
            info!(worker = %worker_id, "jobs: in-process queue");
            let (queue, source) = Queue::in_process();
            let stop = shutdown.clone();
            tasks.spawn(async move {
                if let Err(e) =
                    run_worker(source, unique_worker_id(), runner, concurrency, stop.clone()).await
                {
                    // The in-process channel cannot be rebuilt; stop so a supervisor restarts us.
                    error!("in-process jobs worker failed, stopping the process: {e}");
                    stop.cancel();
                }
            });
            queue
        }
    };
    let dispatcher = crate::webhooks::dispatcher::Dispatcher {
        engine: engine.clone(),
        interval: config.jobs.relay_interval,
    };
    tasks.spawn(dispatcher.run(shutdown.clone()));
    tasks.spawn(crate::app::retention::keep_running(
        engine.clone(),
        config.retention.clone(),
        shutdown.clone(),
    ));
    let relay = Relay {
        engine,
        queue,
        worker_id,
        lease: config.jobs.lease,
        batch: config.jobs.relay_batch,
        interval: config.jobs.relay_interval,
        max_outstanding: (concurrency as u32).saturating_mul(2),
    };
    tasks.spawn(relay.run(shutdown));
    Ok(())
}

/// Every `interval`, removes the finished deliveries from Redis (see
/// [`RedisQueue::sweep_finished`]); a failed sweep is logged and tried again next time.
async fn sweep_redis(settings: RedisQueue, interval: Duration, shutdown: CancellationToken) {
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(interval) => {}
        }
        match settings.sweep_finished().await {
            Ok(swept) => debug!(swept, "finished deliveries removed from Redis"),
            Err(e) => warn!("sweeping finished deliveries from Redis: {e}"),
        }
    }
}

/// Keeps an apalis-redis worker running: if it dies (Redis restarted or flushed, which also
/// forgets its registration), a new one registers under a fresh name after a backoff. Deliveries
/// lost with it come back from the outbox when their leases run out.
async fn supervise_redis_worker(
    settings: RedisQueue,
    runner: Runner,
    concurrency: usize,
    shutdown: CancellationToken,
) {
    let mut delay = Duration::from_millis(500);
    loop {
        let name = unique_worker_id();
        let outcome = match settings.storage().await {
            Ok(storage) => {
                let source = WorkerSource::Redis(Box::new(storage));
                run_worker(
                    source,
                    name.clone(),
                    runner.clone(),
                    concurrency,
                    shutdown.clone(),
                )
                .await
                .map_err(anyhow::Error::from)
            }
            Err(e) => Err(e),
        };
        if shutdown.is_cancelled() {
            return;
        }
        match outcome {
            Ok(()) => warn!(worker = %name, "apalis worker stopped; restarting in {delay:?}"),
            Err(e) => warn!(worker = %name, "apalis worker failed: {e}; restarting in {delay:?}"),
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(delay) => {}
        }
        delay = (delay * 2).min(Duration::from_secs(30));
    }
}
