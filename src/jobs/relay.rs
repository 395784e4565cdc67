//! The outbox relay: claims due outbox rows under a lease and hands each claim to the queue.
//! The row stays the record; if a delivery is lost (a crash, Redis flushed), the lease runs out
//! and the row is claimed and delivered again.

use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

use super::queue::Queue;
use crate::app::Engine;
use crate::store::outbox::{Claim, claim_due, outstanding_claims};

pub struct Relay {
    pub engine: Engine,
    pub queue: Queue,
    pub worker_id: String,
    pub lease: Duration,
    pub batch: u32,
    pub interval: Duration,
    /// Back-pressure: at most this many of this relay's claims open at once (queued or
    /// running), so a claim waits in the queue for at most about one effect, never for its
    /// whole lease.
    pub max_outstanding: u32,
}

impl Relay {
    pub async fn run(mut self, shutdown: CancellationToken) {
        loop {
            let full_batch = match self.relay_once().await {
                Ok(claimed) => claimed == self.batch as usize,
                Err(e) => {
                    warn!("outbox relay: {e}");
                    false
                }
            };
            if full_batch {
                continue;
            }
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = self.engine.relay_woken() => {}
                _ = tokio::time::sleep(self.interval) => {}
            }
        }
    }

    async fn relay_once(&mut self) -> anyhow::Result<usize> {
        let engine = &self.engine;
        let outstanding = outstanding_claims(&engine.db, engine.clock.as_ref(), &self.worker_id).await?;
        let room = u64::from(self.max_outstanding).saturating_sub(outstanding);
        let batch = room.min(u64::from(self.batch)) as u32;
        if batch == 0 {
            return Ok(0);
        }
        let claims = claim_due(
            &engine.db,
            engine.clock.as_ref(),
            self.lease,
            batch,
            &self.worker_id,
        )
        .await?;
        if !claims.is_empty() {
            debug!(count = claims.len(), "relaying outbox claims");
            // Each claim is a moment of its row's trace (`crate::telemetry`).
            for (claim, trace_context) in claims.iter().filter(|(_, trace)| trace.is_some()) {
                let span = tracing::info_span!("relay", outbox_id = %claim.id);
                crate::telemetry::continue_trace(&span, trace_context.as_deref());
                span.in_scope(|| {});
            }
            let claims: Vec<Claim> = claims.iter().map(|(claim, _)| *claim).collect();
            self.queue.push(&claims).await?;
        }
        Ok(claims.len())
    }
}
