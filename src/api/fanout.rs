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
    let mut pubsub = client.get_async_pubsub().await?;
    pubsub.subscribe(CHANNEL).await?;
    tasks.spawn(async move {
        use futures::StreamExt;
        let mut messages = pubsub.on_message();
        loop {
            let message = tokio::select! {
                _ = shutdown.cancelled() => return,
                message = messages.next() => message,
            };
            let Some(message) = message else {
                warn!("Redis update channel closed; cross-process subscriptions stop until restart");
                return;
            };
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
    });
    Ok(())
}
