//! Fans workflow updates out across processes through Redis pub/sub, so a subscription served
//! by one API process sees changes made by any worker process. A message carries
//! `<process>:<id>,<id>...`: the updates one process made within a few milliseconds.

use tokio::sync::broadcast::error::RecvError;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::warn;
use uuid::Uuid;

use crate::app::{Engine, Update};

const CHANNEL: &str = "plusflow:updates";

/// How long an update waits for others to share its message: under load a payment announces
/// several changes a second and every message is a round trip to Redis and one back from it
/// to each process, so they go together; a subscriber elsewhere sees a change this much later.
const COALESCE: std::time::Duration = std::time::Duration::from_millis(5);

/// At most this many workflows in one message.
const MAX_BATCH: usize = 200;

/// This process's updates waiting to be published, each workflow once.
#[derive(Default)]
struct Batch {
    ids: Vec<Uuid>,
}

impl Batch {
    /// Takes what the local channel gave; `false` once it is closed.
    fn take(&mut self, received: Result<Update, RecvError>) -> bool {
        match received {
            Ok(update) => {
                if !update.remote && !self.ids.contains(&update.instance_id) {
                    self.ids.push(update.instance_id);
                }
                true
            }
            Err(RecvError::Lagged(_)) => true,
            Err(RecvError::Closed) => false,
        }
    }
}

/// Publishes this process's updates and passes on everyone else's, until `shutdown`.
pub async fn spawn(
    engine: Engine,
    redis_url: &str,
    shutdown: CancellationToken,
    tasks: &mut JoinSet<()>,
) -> anyhow::Result<()> {
    let client = redis::Client::open(redis_url)?;
    let mut publisher = client.get_connection_manager().await?;
    let process = Uuid::new_v4().simple().to_string();
    let mut local = engine.updates();
    let (stop, me) = (shutdown.clone(), process.clone());
    tasks.spawn(async move {
        loop {
            let first = tokio::select! {
                _ = stop.cancelled() => return,
                update = local.recv() => update,
            };
            let mut batch = Batch::default();
            let mut open = batch.take(first);
            // What else this process announces within the next few milliseconds goes with it.
            let gathered = tokio::time::sleep(COALESCE);
            tokio::pin!(gathered);
            while open && batch.ids.len() < MAX_BATCH {
                tokio::select! {
                    _ = &mut gathered => break,
                    update = local.recv() => open = batch.take(update),
                }
            }
            if !batch.ids.is_empty() {
                let ids: Vec<String> = batch.ids.iter().map(Uuid::to_string).collect();
                let message = format!("{me}:{}", ids.join(","));
                if let Err(e) = redis::cmd("PUBLISH")
                    .arg(CHANNEL)
                    .arg(message)
                    .query_async::<i64>(&mut publisher)
                    .await
                {
                    warn!("publishing updates to Redis: {e}");
                }
            }
            if !open {
                return;
            }
        }
    });
    tasks.spawn(receive(client, engine, process, shutdown));
    Ok(())
}

/// Passes on other processes' updates; reconnects (with backoff) when Redis goes away.
async fn receive(client: redis::Client, engine: Engine, process: String, shutdown: CancellationToken) {
    use futures::StreamExt;
    let mut delay = std::time::Duration::from_millis(200);
    loop {
        let subscribed = match client.get_async_pubsub().await {
            Ok(mut pubsub) => pubsub.subscribe(CHANNEL).await.map(|_| pubsub),
            Err(e) => Err(e),
        };
        match subscribed {
            Ok(mut pubsub) => {
                delay = std::time::Duration::from_millis(200);
                let mut messages = pubsub.on_message();
                loop {
                    let message = tokio::select! {
                        _ = shutdown.cancelled() => return,
                        message = messages.next() => message,
                    };
                    let Some(message) = message else { break };
                    let Ok(text) = message.get_payload::<String>() else {
                        continue;
                    };
                    if let Some((sender, ids)) = text.split_once(':')
                        && sender != process
                    {
                        for id in ids.split(',').filter_map(|id| Uuid::parse_str(id).ok()) {
                            engine.announce_remote(id);
                        }
                    }
                }
                warn!("Redis update channel closed; reconnecting");
            }
            Err(e) => warn!("cannot subscribe to Redis updates ({e}); retrying in {delay:?}"),
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(delay) => {}
        }
        delay = (delay * 2).min(std::time::Duration::from_secs(10));
    }
}
