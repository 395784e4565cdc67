//! What effects return, the same for every kind: an event to apply, or a retry.

use serde_json::{Map, Value};

use crate::app::{EffectError, EffectResult};
use crate::store::{EventInput, StoreError};
use crate::workflow::{EffectName, EventName};

pub fn retry(error: impl std::fmt::Display) -> EffectError {
    EffectError::Retry(error.to_string())
}

/// A database error while running an effect: tried again later.
pub fn store_error(error: StoreError) -> EffectError {
    retry(error)
}

/// The event `effect` reports, with what to record and what to learn.
pub fn event(name: EventName, effect: EffectName, detail: Value, data: Map<String, Value>) -> EffectResult {
    Ok(Some(
        EventInput::new(name, format!("effect:{effect}"))
            .with_detail(detail)
            .with_data(data),
    ))
}
