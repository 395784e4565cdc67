//! Fans workflow updates out across processes through Redis pub/sub, so a subscription served
//! by one API process sees changes made by any worker process.

use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::warn;
use uuid::Uuid;

use crate::app::Engine;

const CHANNEL: &str = "plusflow:updates";

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
            let update = tokio::select! {
                _ = stop.cancelled() => return,
                update = local.recv() => update,
            };
            match update {
                Ok(update) if !update.remote => {
                    let message = format!("{me}:{}", update.instance_id);
                    if let Err(e) = redis::cmd("PUBLISH")
                        .arg(CHANNEL)
                        .arg(message)
                        .query_async::<i64>(&mut publisher)
                        .await
                    {
                        warn!("publishing an update to Redis: {e}");
                    }
                }
                Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
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
                    if let Some((sender, id)) = text.split_once(':')
                        && sender != process
                        && let Ok(id) = Uuid::parse_str(id)
                    {
                        engine.announce_remote(id);
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
