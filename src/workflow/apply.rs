//! The pure decision: given a definition, the state an instance is in and an event, what happens.
//! No I/O, no clock: `store::apply_event` persists whatever this returns.

use super::definition::{Definition, Timer};
use super::names::{EffectName, EventName};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Move to `to`, schedule `effects`, arm `timer` (the timer of `to`, if it has one).
    Transition {
        to: String,
        effects: Vec<EffectName>,
        timer: Option<Timer>,
        terminal: bool,
    },
    /// Accepted and recorded, but changes nothing (duplicate, late or stale).
    Ignored { reason: String },
    /// Not allowed in this state; recorded, changes nothing.
    Rejected { reason: String },
}

/// Decides what `event` does to an instance in `state`.
pub fn apply(definition: &Definition, state: &str, event: EventName) -> Decision {
    let Some(current) = definition.state(state) else {
        return Decision::Rejected {
            reason: format!(
                "state '{state}' is not part of {} v{}",
                definition.kind, definition.version
            ),
        };
    };
    if let Some(step) = definition.transitions.get(&(state.to_string(), event)) {
        let target = definition
            .state(&step.to)
            .expect("validated: transitions lead to known states");
        return Decision::Transition {
            to: step.to.clone(),
            effects: step.effects.clone(),
            timer: target.timer.clone(),
            terminal: target.terminal,
        };
    }
    if current.ignore.contains(&event) {
        return Decision::Ignored {
            reason: format!("'{event}' is ignored in state '{state}'"),
        };
    }
    let reason = if current.terminal {
        format!("'{state}' is terminal; '{event}' cannot change it")
    } else {
        format!("'{event}' is not allowed in state '{state}'")
    };
    Decision::Rejected { reason }
}

/// What creating an instance decides: the start state, its effects and its timer.
pub fn start(definition: &Definition) -> Decision {
    let target = definition
        .state(&definition.start.to)
        .expect("validated: start leads to a known state");
    Decision::Transition {
        to: definition.start.to.clone(),
        effects: definition.start.effects.clone(),
        timer: target.timer.clone(),
        terminal: target.terminal,
    }
}
