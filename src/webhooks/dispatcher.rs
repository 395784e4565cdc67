//! The dispatcher, one in every process that runs background work: sends each delivery when it
//! is due (a delivery of an event only after every earlier event of its object to the same
//! endpoint went out, see `store::webhooks::due_deliveries`), records the attempt, and retries a
//! failed one with backoff and jitter for `webhooks.retry_for` before giving it up. It also works
//! through `redeliverFailed` requests a batch at a time, so a restart resumes one where it was.
//!
//! It looks for due work every `jobs.relay_interval`, and soon after any change this process
//! makes or hears of (an event may have been written). Several processes share the work: a
//! delivery is claimed before it is sent, for [`LEASE`], so one process sends it (a process
//! that dies mid-send leaves it to be sent again once the lease runs out: deliveries are at
//! least once, and a receiver tells them apart by `Plusflow-Delivery`).

use std::time::Duration;

use chrono::{DateTime, SubsecRound, Utc};
use futures::StreamExt;
use sea_orm::{ConnectionTrait, DbBackend};
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

use super::Attempt;
use crate::app::Engine;
use crate::store::StoreError;
use crate::store::entity::webhook_delivery;
use crate::store::feed;
use crate::store::webhooks::{self as rows, Attempted, Next, Recorded};
use crate::workflow::RetryPolicy;

/// How long a claimed delivery is held by its process: far beyond one attempt's 10 s.
const LEASE: Duration = Duration::from_secs(60);
/// Deliveries read per query.
const BATCH: u64 = 64;
/// Deliveries sent at once: on SQLite, whose writes take turns, few (each recorded attempt
/// holds a pooled connection while it waits its turn, and requests need them too).
const CONCURRENCY: usize = 16;
const CONCURRENCY_ON_SQLITE: usize = 2;
/// Failed deliveries queued again per transaction of a redelivery request.
const REDELIVERY_BATCH: u64 = 500;
/// After a change wakes it, how long it waits for more before looking (so a burst of changes
/// costs one look, not one each).
const GATHER: Duration = Duration::from_millis(25);

pub struct Dispatcher {
    pub engine: Engine,
    /// How often it looks for due work without being woken.
    pub interval: Duration,
}

impl Dispatcher {
    pub async fn run(self, shutdown: CancellationToken) {
        let mut changes = self.engine.updates();
        loop {
            if let Err(e) = self.pass().await {
                warn!("webhook dispatcher: {e}");
            }
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(self.interval) => {}
                _ = self.engine.webhooks_woken() => {}
                _ = changes.recv() => {
                    tokio::time::sleep(GATHER).await;
                    changes = changes.resubscribe();
                }
            }
        }
    }

    /// Sends every delivery due now (and those that come due as earlier ones go out), then
    /// works through the open redelivery requests; how many attempts it made.
    pub async fn pass(&self) -> Result<usize, StoreError> {
        let mut attempted = 0;
        loop {
            let now = self.engine.clock.now();
            let due = rows::due_deliveries(&self.engine.db, now, BATCH).await?;
            if due.is_empty() {
                break;
            }
            let concurrency = match self.engine.db.get_database_backend() {
                DbBackend::Sqlite => CONCURRENCY_ON_SQLITE,
                _ => CONCURRENCY,
            };
            let sent = futures::stream::iter(due)
                .map(|row| self.deliver(row))
                .buffer_unordered(concurrency)
                .collect::<Vec<_>>()
                .await;
            let made = sent.iter().filter(|made| matches!(made, Ok(true))).count();
            if let Some(Err(e)) = sent.into_iter().find(Result::is_err) {
                return Err(e);
            }
            if made == 0 {
                // Every one was taken by another process meanwhile.
                break;
            }
            attempted += made;
        }
        for mut request in rows::open_redeliveries(&self.engine.db).await? {
            let now = self.engine.clock.now();
            while let Some(moved) =
                rows::redeliver_batch(&self.engine.db, &request, now, REDELIVERY_BATCH).await?
            {
                debug!(request = %moved.id, queued = moved.queued, "failed deliveries queued again");
                if moved.finished_at.is_some() {
                    break;
                }
                request = moved;
            }
        }
        Ok(attempted)
    }

    /// Claims `row`, sends it and records the attempt; false if another process had it. In the
    /// trace of the change it announces (`crate::telemetry`).
    async fn deliver(&self, row: webhook_delivery::Model) -> Result<bool, StoreError> {
        let span = tracing::info_span!("webhook", delivery_id = %row.id, purpose = %row.purpose);
        crate::telemetry::continue_trace(&span, row.trace_context.as_deref());
        tracing::Instrument::instrument(self.send_claimed(row), span).await
    }

    async fn send_claimed(&self, row: webhook_delivery::Model) -> Result<bool, StoreError> {
        let engine = &self.engine;
        let now = engine.clock.now();
        // Whole microseconds, as PostgreSQL keeps it: the claim is compared when recorded.
        let claimed_until = (now + chrono::Duration::from_std(LEASE).expect("a minute")).trunc_subsecs(6);
        if !rows::claim(&engine.db, &row, claimed_until).await? {
            return Ok(false);
        }
        let Some(endpoint) = rows::endpoint(&engine.db, row.endpoint_id).await? else {
            // Deleted meanwhile: its deliveries are cancelled with it.
            return Ok(false);
        };
        let event = match row.event_id {
            Some(id) => feed::event(&engine.db, id).await?,
            None => None,
        };
        let attempt = if row.event_id.is_some() && event.is_none() {
            Attempt {
                at: now,
                http_status: None,
                error: Some("the event is no longer kept".into()),
                duration_ms: 0,
            }
        } else {
            engine
                .webhooks
                .attempt(&endpoint, &row, event.as_ref(), now)
                .await
        };
        let next = self.next(&row, &attempt, event.is_none() && row.event_id.is_some());
        let retry_for =
            chrono::Duration::from_std(engine.webhooks.config.retry_for).unwrap_or(chrono::Duration::MAX);
        let recorded = rows::record_attempt(
            &engine.db,
            Attempted {
                delivery: &row,
                claimed_until,
                record: attempt.row(row.id),
                next,
                disable_if_failing_since: attempt.at - retry_for,
            },
        )
        .await?;
        crate::metrics::webhook_attempted(attempt.succeeded());
        match recorded {
            Recorded::Superseded => Ok(false),
            Recorded::Written => Ok(true),
            Recorded::EndpointDisabled(event) => {
                crate::metrics::webhook_endpoint_disabled();
                warn!(endpoint = %endpoint.id, merchant = %endpoint.merchant_id, event = %event.id,
                    "webhook endpoint disabled: every delivery failed for {:?}", engine.webhooks.config.retry_for);
                Ok(true)
            }
        }
    }

    /// What `attempt` leaves `row` as: sent; given up (a ping, an event no longer kept, or
    /// failing for `retry_for`); or tried again after the backoff.
    fn next(&self, row: &webhook_delivery::Model, attempt: &Attempt, event_gone: bool) -> Next {
        let config = &self.engine.webhooks.config;
        if attempt.succeeded() {
            return Next::Succeeded;
        }
        let first_failed: DateTime<Utc> = row.first_failed_at.unwrap_or(attempt.at);
        let failing_for = (attempt.at - first_failed).to_std().unwrap_or_default();
        if row.purpose == webhook_delivery::PURPOSE_PING || event_gone || failing_for >= config.retry_for {
            return Next::GiveUp;
        }
        let policy = RetryPolicy {
            attempts: u32::MAX,
            backoff: config.retry_backoff,
            cap: config.retry_cap,
            first_after: Duration::ZERO,
        };
        let failures = u32::try_from(row.attempts).unwrap_or(0) + 1;
        let delay = policy.delay_with_jitter(failures, rand::random());
        Next::RetryAt(attempt.at + chrono::Duration::from_std(delay).unwrap_or(chrono::Duration::MAX))
    }
}
