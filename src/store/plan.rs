//! Deciding an event on an instance before anything is written ([`Plan`]): the pure decision of
//! `workflow::apply`, held instances (only an operator moves one), the instance after it, the
//! rows it schedules and disarms, and its history entry.

use serde_json::Value;
use uuid::Uuid;

use super::Decider;
use super::StoreError;
use super::entity::{inbound, instance, operator_activity, outbox};
use super::event::{Applied, EventInput, KeptRow, Outcome};
use super::feed::plan_event;
use super::history::{HistoryEntry, history_detail};
use super::schedule::{Disarm, effects_among, scheduled_rows};
use crate::workflow::{self, Decision, Definition, Definitions};

/// The actor prefix of operators (`admin:<name>`): the only ones who may move a held instance.
pub(super) const OPERATOR_ACTOR: &str = "admin";

/// What an event does to an instance, decided on a copy of it before anything is written.
pub(super) struct Plan {
    pub(super) outcome: Outcome,
    /// The instance as it was decided on, and as it is after the event.
    pub(super) before: instance::Model,
    pub(super) after: instance::Model,
    /// Whether the left state's pending rows are marked stale: its timers always, its unstarted
    /// effects too when the state is left (the runner would only find them stale).
    pub(super) disarm: Option<Disarm>,
    pub(super) scheduled: Vec<outbox::Model>,
    pub(super) history: HistoryEntry,
    /// The inbound call that carried the event, journaled with the history row.
    pub(super) inbound: Option<inbound::Model>,
    /// Written when the plan transitions (see [`EventInput::kept_row`]).
    pub(super) kept_row: Option<KeptRow>,
    /// The operator's action recorded when the plan transitions (see [`EventInput::activity`]).
    pub(super) activity: Option<operator_activity::Model>,
    /// The id of the merchant's event the transition writes, if it announces (`super::feed`).
    pub(super) event: Option<Uuid>,
}

impl Plan {
    pub(super) fn transitions(&self) -> bool {
        matches!(self.outcome, Outcome::Transitioned { .. })
    }

    pub(super) fn applied(&self) -> Applied {
        Applied {
            outcome: self.outcome.clone(),
            instance: self.after.clone(),
            effects_scheduled: effects_among(&self.scheduled),
        }
    }
}

/// The definition (kind and version) `instance` runs on.
pub(super) fn definition_of<'a>(
    definitions: &'a Definitions,
    instance: &instance::Model,
) -> Result<&'a Definition, StoreError> {
    let version = instance.definition_version as u32;
    definitions
        .get(&instance.kind, version)
        .ok_or_else(|| StoreError::UnknownDefinition {
            kind: instance.kind.clone(),
            version,
        })
}

/// Decides `event` on `current` (pure: nothing is read or written).
pub(super) fn plan(
    decider: Decider<'_>,
    current: &instance::Model,
    event: &EventInput,
) -> Result<Plan, StoreError> {
    let Decider {
        definitions,
        clock,
        announcer,
    } = decider;
    let definition = definition_of(definitions, current)?;
    let now = clock.now();
    let decision = match hold_of(current) {
        // Held for a money reason: only an operator moves it (DESIGN 9).
        Some(hold) if !event.actor.starts_with(OPERATOR_ACTOR) => Decision::Rejected {
            reason: format!("held for an operator: {hold}"),
        },
        _ => workflow::apply(definition, &current.state, event.name),
    };
    let (outcome, after, disarm, scheduled, feed_event) = match decision {
        Decision::Transition {
            to,
            effects,
            timer,
            terminal,
        } => {
            let mut data = current.data.clone();
            if let Value::Object(fields) = &mut data {
                fields.extend(event.data_patch.clone().unwrap_or_default());
                // An operator's move settles what the hold was waiting for.
                if event.actor.starts_with(OPERATOR_ACTOR) {
                    fields.remove(HOLD_KEY);
                }
            }
            let leaving = to != current.state;
            let disarm = if leaving {
                Some(Disarm::TimersAndEffects)
            } else {
                let has_timer = definition
                    .state(&current.state)
                    .is_some_and(|s| s.timer.is_some());
                has_timer.then_some(Disarm::Timers)
            };
            // A state that means a missed deadline parks the instance as it is entered.
            let attention = definition.state(&to).and_then(|state| state.attention.clone());
            let after = instance::Model {
                state: to.clone(),
                terminal,
                version: current.version + 1,
                needs_attention: attention.is_some(),
                last_error: attention,
                data,
                updated_at: now,
                state_since: if leaving { Some(now) } else { current.state_since },
                ..current.clone()
            };
            let scheduled = scheduled_rows(definition, &after, &effects, timer.as_ref());
            let feed_event = announcer.and_then(|_| plan_event(&effects));
            let outcome = Outcome::Transitioned {
                from: current.state.clone(),
                to,
            };
            (outcome, after, disarm, scheduled, feed_event)
        }
        Decision::Ignored { reason } => (Outcome::Ignored { reason }, current.clone(), None, vec![], None),
        Decision::Rejected { reason } => (Outcome::Rejected { reason }, current.clone(), None, vec![], None),
    };
    let to_state = match &outcome {
        Outcome::Transitioned { to, .. } => Some(to.clone()),
        _ => None,
    };
    let history = HistoryEntry {
        instance_id: current.id,
        event: event.name.into(),
        from_state: Some(current.state.clone()),
        to_state,
        outcome: outcome.label(),
        actor: event.actor.clone(),
        detail: history_detail(&outcome, event.detail.clone()),
        at: now,
    };
    Ok(Plan {
        outcome,
        before: current.clone(),
        after,
        disarm,
        scheduled,
        history,
        inbound: event.inbound.clone(),
        kept_row: event.kept_row.clone(),
        activity: event.activity.clone().map(|row| operator_activity::Model {
            kind: Some(current.kind.clone()),
            ..row
        }),
        event: feed_event,
    })
}

/// The instance-data key of a hold (see [`Park::hold`]); an operator's action clears it.
pub(super) const HOLD_KEY: &str = "hold";

/// The instance data's hold reason, if it is held.
pub(super) fn hold_of(instance: &instance::Model) -> Option<&str> {
    instance.data.get(HOLD_KEY).and_then(Value::as_str)
}
