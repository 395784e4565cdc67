//! The delivery queue between the relay and the workers: apalis-redis when a Redis URL is
//! configured (every process sharing it shares the work), otherwise apalis's in-process queue.
//! Either way the queue only carries claims; losing one costs a lease period, never a record.

use std::sync::Arc;

use apalis::prelude::*;
use apalis_redis::RedisStorage;
use futures::SinkExt;
use futures::lock::Mutex;
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;
use tracing::warn;
use uuid::Uuid;

use super::runner::Runner;
use crate::store::outbox::Claim;

/// One outbox claim to execute; what travels through the queue.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct Delivery {
    pub outbox_id: Uuid,
    pub lease_token: Uuid,
}

impl From<Claim> for Delivery {
    fn from(claim: Claim) -> Self {
        Self {
            outbox_id: claim.id,
            lease_token: claim.lease_token,
        }
    }
}

impl From<Delivery> for Claim {
    fn from(delivery: Delivery) -> Self {
        Self {
            id: delivery.outbox_id,
            lease_token: delivery.lease_token,
        }
    }
}

/// The relay's end of the queue (one owner: pushes must not race).
pub enum Queue {
    InProcess(MemorySink<Delivery>),
    Redis(Box<RedisStorage<Delivery>>),
}

/// The workers' end of the queue.
pub enum WorkerSource {
    InProcess(MemoryStorage<Delivery>),
    Redis(Box<RedisStorage<Delivery>>),
}

/// Settings of a Redis queue.
#[derive(Debug, Clone)]
pub struct RedisQueue {
    pub url: String,
    pub queue: String,
    pub heartbeat: std::time::Duration,
}

impl RedisQueue {
    /// A new connection to the queue.
    pub async fn storage(&self) -> anyhow::Result<RedisStorage<Delivery>> {
        let connection = apalis_redis::connect(self.url.as_str()).await?;
        let config = apalis_redis::Config::default()
            .queue(&self.queue)
            .heartbeat_interval(self.heartbeat)
            .missed_heartbeats(3)
            .batch_size(32)
            // Its pub/sub events (a PUBLISH for each push, lock and ack) are for apalis'
            // listeners, and nobody here listens: workers poll.
            .emit_events(false);
        Ok(RedisStorage::<Delivery>::new(connection).with_config(config))
    }

    /// Removes the deliveries that are over from Redis: apalis keeps each one (its data, its
    /// metadata and its id in the queue's done set) until it is vacuumed, about half a KiB a
    /// payment, forever. Returns how many. The done set is only apalis' statistics; the
    /// deliveries still queued or running are left alone (vacuum takes finished ones only).
    pub async fn sweep_finished(&self) -> anyhow::Result<usize> {
        use apalis_core::backend::Vacuum;
        let mut storage = self.storage().await?;
        let swept = storage.vacuum().await?;
        let done_set = storage.get_config().done_jobs_set();
        let mut connection = storage.get_connection().clone();
        redis::cmd("UNLINK")
            .arg(done_set)
            .query_async::<i64>(&mut connection)
            .await?;
        Ok(swept)
    }
}

impl Queue {
    /// A queue inside this process. The relay and the worker get separate sink handles over one
    /// channel: apalis' `MemorySink` panics if two threads use the same handle at once.
    pub fn in_process() -> (Queue, WorkerSource) {
        let (sender, receiver) = futures::channel::mpsc::unbounded::<Task<Delivery>>();
        let sink = |sender: futures::channel::mpsc::UnboundedSender<Task<Delivery>>| {
            let sender: Box<
                dyn futures::Sink<Task<Delivery>, Error = MemoryStorageError> + Send + Sync + Unpin,
            > = Box::new(sender.sink_map_err(MemoryStorageError::from));
            MemorySink::new(Arc::new(Mutex::new(sender)))
        };
        let storage = MemoryStorage::new_with(sink(sender.clone()), Box::pin(receiver));
        (Queue::InProcess(sink(sender)), WorkerSource::InProcess(storage))
    }

    /// The relay's end of a Redis queue, shared by every process configured with it.
    pub async fn redis(settings: &RedisQueue) -> anyhow::Result<Queue> {
        Ok(Queue::Redis(Box::new(settings.storage().await?)))
    }

    /// Hands `claims` to the workers: to Redis in one call (one script run for the lot).
    pub async fn push(&mut self, claims: &[Claim]) -> anyhow::Result<()> {
        let deliveries = claims.iter().copied().map(Delivery::from);
        match self {
            Queue::InProcess(sink) => {
                for delivery in deliveries {
                    sink.send(Task::new(delivery)).await?;
                }
            }
            Queue::Redis(storage) => storage.push_bulk(deliveries.collect()).await?,
        }
        Ok(())
    }
}

/// The apalis job: execute one claim on its own tokio task (so jobs use every core, and a panic
/// stays inside its job). Errors are logged, not returned: the outbox row keeps the truth, and
/// an unfinished claim is delivered again when its lease runs out.
async fn execute(delivery: Delivery, runner: Data<Runner>) -> Result<(), BoxDynError> {
    let runner = (*runner).clone();
    let outcome = tokio::spawn(async move { runner.deliver(delivery.into()).await }).await;
    let error = match outcome {
        Ok(Ok(_)) => return Ok(()),
        Ok(Err(e)) => e.to_string(),
        Err(panic) => format!("the job panicked: {panic}"),
    };
    warn!(outbox_id = %delivery.outbox_id, "delivery not recorded, will be redelivered after its lease: {error}");
    Ok(())
}

/// Runs an apalis worker named `name` on `source` until `shutdown`.
pub async fn run_worker(
    source: WorkerSource,
    name: String,
    runner: Runner,
    concurrency: usize,
    shutdown: CancellationToken,
) -> Result<(), WorkerError> {
    let stop = async move {
        shutdown.cancelled().await;
        Ok::<(), WorkerError>(())
    };
    macro_rules! worker_on {
        ($backend:expr) => {
            WorkerBuilder::new(name)
                .backend($backend)
                .data(runner)
                .concurrency(concurrency)
                .build(execute)
                .run_until(stop)
                .await
        };
    }
    match source {
        WorkerSource::InProcess(storage) => worker_on!(storage),
        WorkerSource::Redis(storage) => {
            worker_on!(storage.poll_with_interval(std::time::Duration::from_millis(50)))
        }
    }
}
