//! Executes one delivered outbox claim: checks it is still current, runs the timer or the
//! effect, and closes the claim through the store (done + event, stale, or failed with backoff).
//! Safe to run twice for the same claim: only the current lease holder can record anything.

use std::str::FromStr;
use std::time::Duration;

use tracing::{debug, warn};

use crate::app::{EffectContext, EffectError, EffectRegistry, EffectResult, Engine};
use crate::store::entity::outbox;
use crate::store::outbox::{self as claims, Claim, Closed};
use crate::store::{self, EventInput, StoreError};
use crate::workflow::{EffectName, EventName};

#[derive(Clone)]
pub struct Runner {
    pub engine: Engine,
    pub effects: EffectRegistry,
    /// An effect still running after this long is abandoned as failed (its lease ends too).
    pub effect_timeout: Duration,
}

impl Runner {
    pub async fn deliver(&self, claim: Claim) -> Result<Closed, StoreError> {
        let engine = &self.engine;
        let clock = engine.clock.as_ref();
        let Some((row, instance)) = claims::load_claimed(&engine.db, claim).await? else {
            debug!(outbox_id = %claim.id, "delivery superseded; acknowledged as stale");
            return Ok(Closed::Superseded);
        };
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

        let result = if row.kind == outbox::KIND_TIMER {
            EventName::from_str(&row.name)
                .map(|event| Some(EventInput::new(event, "timer")))
                .map_err(|_| EffectError::Permanent(format!("timer raises unknown event '{}'", row.name)))
        } else {
            self.run_effect(&row, instance.clone()).await
        };
        let closed = match result {
            Ok(event) => {
                let applies_event = event.is_some();
                let closed = claims::complete(
                    &engine.db,
                    &engine.definitions,
                    clock,
                    (&row, &instance),
                    claim,
                    event,
                )
                .await?;
                if applies_event && closed == Closed::Recorded {
                    engine.announce(row.instance_id);
                }
                closed
            }
            Err(error) => {
                let permanent = matches!(error, EffectError::Permanent(_));
                let (kind, name, attempt) = (&row.kind, &row.name, row.attempts + 1);
                if permanent || attempt >= row.max_attempts {
                    warn!(outbox_id = %row.id, instance = %row.instance_id, attempt, "{kind} '{name}' failed for good, instance parked: {error}");
                } else {
                    // Expected while polling or while Alipay+ answers U: retried per the policy.
                    debug!(outbox_id = %row.id, instance = %row.instance_id, attempt, "{kind} '{name}' will be retried: {error}");
                }
                let policy = EffectName::from_str(&row.name)
                    .map(|effect| definition.retry_policy(effect))
                    .unwrap_or(definition.default_retry);
                let error = error.to_string();
                let closed = claims::fail(&engine.db, clock, &row, claim, &error, policy, permanent).await?;
                engine.announce(row.instance_id);
                closed
            }
        };
        engine.wake_relay();
        Ok(closed)
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
            scheduled_at: row.created_at,
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
