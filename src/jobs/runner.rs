//! Executes one delivered outbox claim: checks it is still current, runs the timer or the
//! effect, and closes the claim through the store (done + event, stale, or failed with backoff).
//! Safe to run twice for the same claim: only the current lease holder can record anything.

use std::str::FromStr;
use std::time::Duration;

use tracing::{Instrument, debug, warn};

use crate::app::{EffectContext, EffectError, EffectRegistry, EffectResult, Engine};
use crate::store::entity::outbox;
use crate::store::outbox::{self as claims, Claim, Closed};
use crate::store::{self, EventInput, StoreError};
use crate::workflow::{EffectName, EventName, RetryPolicy};

#[derive(Clone)]
pub struct Runner {
    pub engine: Engine,
    pub effects: EffectRegistry,
    /// How long a claim holds its row: started when its delivery begins, renewed every third
    /// of it while the effect runs.
    pub lease: Duration,
    /// An effect still running after this long is abandoned as failed.
    pub effect_timeout: Duration,
}

impl Runner {
    /// Executes `claim` and records its outcome. A claim whose delivery or completion fails in
    /// the store for a reason other than the database being unreachable (an unknown definition
    /// version, a missing instance, a constraint) counts as a failed attempt, so such a poison
    /// row ends parked with the error instead of being re-claimed and re-executed forever.
    pub async fn deliver(&self, claim: Claim) -> Result<Closed, StoreError> {
        match self.execute(claim).await {
            Err(error) if !store::is_unreachable(&error) => self.record_poison(claim, &error).await,
            other => other,
        }
    }

    async fn record_poison(&self, claim: Claim, error: &StoreError) -> Result<Closed, StoreError> {
        let engine = &self.engine;
        let Some(row) = claims::claimed_row(&engine.db, claim).await? else {
            return Ok(Closed::Superseded);
        };
        warn!(outbox_id = %row.id, instance = %row.instance_id, "{} '{}' could not be recorded: {error}", row.kind, row.name);
        let error = format!("recording failed: {error}");
        let closed = claims::fail(
            &engine.db,
            engine.clock.as_ref(),
            &row,
            claim,
            &error,
            RetryPolicy::POISON,
            claims::Failure::Retryable,
        )
        .await?;
        engine.announce(row.instance_id);
        Ok(closed)
    }

    async fn execute(&self, claim: Claim) -> Result<Closed, StoreError> {
        let engine = &self.engine;
        let clock = engine.clock.as_ref();
        let Some((row, instance)) = claims::load_claimed(&engine.db, clock, claim).await? else {
            debug!(outbox_id = %claim.id, "delivery superseded or past its lease; acknowledged as stale");
            return Ok(Closed::Superseded);
        };
        // In the trace of what scheduled it (`crate::telemetry`).
        let span = tracing::info_span!("effect", kind = %instance.kind, effect = %row.name, instance_id = %row.instance_id);
        crate::telemetry::continue_trace(&span, row.trace_context.as_deref());
        self.execute_loaded(claim, row, instance).instrument(span).await
    }

    /// [`Runner::execute`] once the claimed row and its instance are read.
    async fn execute_loaded(
        &self,
        claim: Claim,
        row: outbox::Model,
        instance: store::entity::instance::Model,
    ) -> Result<Closed, StoreError> {
        let engine = &self.engine;
        let clock = engine.clock.as_ref();
        // Effects scheduled by a move INTO a terminal state (merchant webhooks) still run.
        if instance.state != row.scheduled_in_state {
            debug!(outbox_id = %row.id, state = %instance.state, "instance moved on; {} '{}' is stale", row.kind, row.name);
            return claims::mark_stale(&engine.db, clock, claim).await;
        }
        let definition = engine
            .definitions
            .get(&instance.kind, instance.definition_version as u32)
            .ok_or_else(|| StoreError::UnknownDefinition {
                kind: instance.kind.clone(),
                version: instance.definition_version as u32,
            })?;

        let started = std::time::Instant::now();
        let result = if row.kind == outbox::KIND_TIMER {
            EventName::from_str(&row.name)
                .map(|event| Some(EventInput::new(event, "timer")))
                .map_err(|_| EffectError::Permanent(format!("timer raises unknown event '{}'", row.name)))
        } else {
            self.run_renewing(&row, claim, self.run_effect(&row, instance.clone()))
                .await
        };
        let outcome = match &result {
            Ok(_) => "ok",
            Err(EffectError::Retry(_)) => "retry",
            Err(EffectError::Permanent(_)) => "permanent",
            Err(EffectError::Hold(_)) => "hold",
        };
        crate::metrics::effect_executed(&instance.kind, &row.name, outcome, started.elapsed());
        let closed = match result {
            Ok(event) => {
                let applies_event = event.is_some();
                let closed =
                    claims::complete(&engine.db, engine.decider(), (&row, &instance), claim, event).await?;
                if applies_event && closed == Closed::Recorded {
                    engine.announce(row.instance_id);
                }
                closed
            }
            Err(error) => {
                let failure = match error {
                    EffectError::Retry(_) => claims::Failure::Retryable,
                    EffectError::Permanent(_) => claims::Failure::Permanent,
                    EffectError::Hold(_) => claims::Failure::Hold,
                };
                let (kind, name, attempt) = (&row.kind, &row.name, row.attempts + 1);
                if failure != claims::Failure::Retryable || attempt >= row.max_attempts {
                    warn!(outbox_id = %row.id, instance = %row.instance_id, attempt, "{kind} '{name}' failed for good, instance parked: {error}");
                } else {
                    // Expected while polling or while Alipay+ answers U: retried per the policy.
                    debug!(outbox_id = %row.id, instance = %row.instance_id, attempt, "{kind} '{name}' will be retried: {error}");
                }
                let policy = EffectName::from_str(&row.name)
                    .map(|effect| definition.retry_policy(effect))
                    .unwrap_or(definition.default_retry);
                let error = error.to_string();
                let closed = claims::fail(&engine.db, clock, &row, claim, &error, policy, failure).await?;
                engine.announce(row.instance_id);
                closed
            }
        };
        engine.wake_relay();
        Ok(closed)
    }

    /// Runs `effect` while renewing `claim`'s lease of `row`: a delivery that waited in the
    /// queue for more than half a lease renews it before the effect starts (and does not start
    /// it if the claim is over), so an effect never starts on a lease about to run out; then
    /// after half of what is left, then every third of a lease. If a renewal finds the claim
    /// over (the process stalled past its lease), the effect is abandoned: another claim may be
    /// running it, and only that one can record anything.
    async fn run_renewing(
        &self,
        row: &outbox::Model,
        claim: Claim,
        effect: impl Future<Output = EffectResult>,
    ) -> EffectResult {
        let engine = &self.engine;
        let lease_ms = self.lease.as_millis() as i64;
        let mut left_ms = row.lease_until_ms.unwrap_or_default() - engine.clock.now_ms();
        if left_ms < lease_ms / 2 {
            match claims::extend_lease(&engine.db, engine.clock.as_ref(), claim, self.lease).await {
                Ok(true) => left_ms = lease_ms,
                Ok(false) => {
                    return Err(EffectError::Retry(
                        "the claim ran out before the effect started".into(),
                    ));
                }
                Err(e) => return Err(EffectError::Retry(format!("the lease could not be renewed: {e}"))),
            }
        }
        let first = Duration::from_millis((left_ms / 2).max(0) as u64).min(self.lease / 3);
        let renew = async {
            tokio::time::sleep(first).await;
            loop {
                match claims::extend_lease(&engine.db, engine.clock.as_ref(), claim, self.lease).await {
                    Ok(true) => {}
                    Ok(false) => return,
                    // The database is away: keep trying while the lease lasts.
                    Err(e) => debug!(outbox_id = %claim.id, "lease renewal failed: {e}"),
                }
                tokio::time::sleep(self.lease / 3).await;
            }
        };
        tokio::select! {
            result = effect => result,
            () = renew => Err(EffectError::Retry("the lease ran out while the effect ran".into())),
        }
    }

    async fn run_effect(
        &self,
        row: &outbox::Model,
        instance: store::entity::instance::Model,
    ) -> EffectResult {
        let effect = EffectName::from_str(&row.name)
            .map_err(|_| EffectError::Permanent(format!("unknown effect '{}'", row.name)))?;
        let handler = self
            .effects
            .get(effect)
            .ok_or_else(|| EffectError::Permanent(format!("no handler for effect '{effect}'")))?;
        let context = EffectContext {
            effect,
            instance,
            execution_id: row.id,
            previous_failures: row.attempts.max(0) as u32,
            last_attempt: row.attempts + 1 >= row.max_attempts,
            scheduled_at: row.created_at,
            payload: row.payload.clone(),
        };
        match tokio::time::timeout(self.effect_timeout, handler.run(context)).await {
            Ok(result) => result,
            Err(_) => Err(EffectError::Retry(format!(
                "timed out after {:?}",
                self.effect_timeout
            ))),
        }
    }
}
