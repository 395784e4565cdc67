//! The contract between workflows and the code that acts on the world. A transition names
//! effects; a handler per effect name executes one, and answers with the event to apply (or
//! none), or an error. A retryable error is never a business outcome: it means "unknown, try
//! again" and is retried per the workflow's policy until the instance is parked (ALIPAYPLUS
//! "unknown is an outcome"). A permanent error parks the instance at once: a human must look.

use std::collections::HashMap;
use std::sync::Arc;

use futures::future::BoxFuture;
use uuid::Uuid;

use serde_json::{Map, Value};

use crate::store::entity::instance;
use crate::store::{EventInput, StoreError};
use crate::workflow::{Definitions, EffectName, EventName};

/// What a handler knows about the execution it is asked for.
#[derive(Debug, Clone)]
pub struct EffectContext {
    pub effect: EffectName,
    pub instance: instance::Model,
    /// Stable across every retry of this effect: use it as the idempotency key of outside calls.
    pub execution_id: Uuid,
    /// Failed executions before this one.
    pub previous_failures: u32,
    /// No attempt is left after this one: an effect that can still find out what happened
    /// another way (an inquiry) does so now, before the instance is parked.
    pub last_attempt: bool,
    /// When the transition that decided this effect committed.
    pub scheduled_at: chrono::DateTime<chrono::Utc>,
    /// What the transition gave it (`notify_merchant`: its event's id).
    pub payload: serde_json::Value,
}

/// The effect could not be completed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum EffectError {
    /// Unknown outcome: try again later, with the same idempotency key.
    #[error("{0}")]
    Retry(String),
    /// Trying again cannot help: park the instance for an operator now.
    #[error("{0}")]
    Permanent(String),
    /// Alipay+ states an amount that differs from ours: park the instance and hold it, so no
    /// automatic event settles it before an operator has looked.
    #[error("{0}")]
    Hold(String),
}

/// What a handler answers: the event to apply, if any.
pub type EffectResult = Result<Option<EventInput>, EffectError>;

/// Runs the effects it is registered for (a kind's effects, dispatched on `context.effect`).
pub trait EffectHandler: Send + Sync + 'static {
    fn run(self: Arc<Self>, context: EffectContext) -> BoxFuture<'static, EffectResult>;
}

/// The handler of every effect name this process can execute.
#[derive(Clone, Default)]
pub struct EffectRegistry {
    handlers: HashMap<EffectName, Arc<dyn EffectHandler>>,
}

impl EffectRegistry {
    pub fn register(&mut self, effect: EffectName, handler: Arc<dyn EffectHandler>) -> &mut Self {
        self.handlers.insert(effect, handler);
        self
    }

    /// Registers `handler` for each of `effects`.
    pub fn register_each(&mut self, effects: &[EffectName], handler: Arc<dyn EffectHandler>) -> &mut Self {
        for effect in effects {
            self.register(*effect, handler.clone());
        }
        self
    }

    pub fn get(&self, effect: EffectName) -> Option<Arc<dyn EffectHandler>> {
        self.handlers.get(&effect).cloned()
    }

    /// Every effect a loaded workflow names must have a handler; the missing ones otherwise.
    pub fn missing_for(&self, definitions: &Definitions) -> Vec<String> {
        let mut missing: Vec<String> = definitions
            .iter()
            .flat_map(|d| {
                let used = d.start.effects.iter().chain(
                    d.ordered_transitions
                        .iter()
                        .flat_map(|(_, _, s)| s.effects.iter()),
                );
                used.filter(|e| !self.handlers.contains_key(e))
                    .map(|e| {
                        format!(
                            "workflow '{}' v{} uses effect '{e}', which has no handler",
                            d.kind, d.version
                        )
                    })
                    .collect::<Vec<_>>()
            })
            .collect();
        missing.sort();
        missing.dedup();
        missing
    }
}

/// An unknown outcome: try again later.
pub fn retry(error: impl std::fmt::Display) -> EffectError {
    EffectError::Retry(error.to_string())
}

/// A database error while running an effect: tried again later.
pub fn store_error(error: StoreError) -> EffectError {
    retry(error)
}

/// What an Alipay+ answer means for a workflow: the event, what to record of it (`detail`) and
/// what to learn (`data`); or (`Err`) why it is not known yet, so the call is made again with
/// the same request id. Each kind reads its answers into this with a pure function.
pub type Decided = Result<(EventName, Value, Map<String, Value>), String>;

/// The result of effect `effect` that read an answer as `decided`.
pub fn decided(effect: EffectName, decided: Decided) -> EffectResult {
    let (name, detail, data) = decided.map_err(retry)?;
    event(name, effect, detail, data)
}

/// The event `effect` reports, with what to record (`detail`) and what to learn (`data`).
pub fn event(name: EventName, effect: EffectName, detail: Value, data: Map<String, Value>) -> EffectResult {
    Ok(Some(
        EventInput::new(name, format!("effect:{effect}"))
            .with_detail(detail)
            .with_data(data),
    ))
}
