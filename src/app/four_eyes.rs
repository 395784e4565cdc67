//! Four eyes: an operator's forced event into a state that moves or settles money
//! (`settles_money` in the definition), in a kind `admin.four_eyes` names, is a request until a
//! second operator approves it. The request names the state it was asked from; approved after
//! the workflow left that state, it is STALE and nothing happens. The history row of the forced
//! event names both operators with their notes; both acts are in the activity log.

use serde_json::json;
use uuid::Uuid;

use super::Engine;
use super::errors::{AppError, require_note};
use super::operator::{Operator, id_page};
use crate::store::entity::{force_request, instance};
use crate::store::force::ForceRefused;
use crate::store::force_requests::{self, Approval};
use crate::store::{self, EventInput};
use crate::workflow::{self, Decision, EventName};

/// The kinds `admin.four_eyes` names unless configured otherwise (config/default.toml says the
/// same; a test holds them together): an engine built without a configuration uses these.
pub const DEFAULT_KINDS: [&str; 2] = ["payment", "refund"];

/// Whether forcing `event` on `current` needs a second operator.
pub fn needs_approval(engine: &Engine, current: &instance::Model, event: EventName) -> bool {
    if !engine.four_eyes.contains(&current.kind) {
        return false;
    }
    let Some(definition) = engine
        .definitions
        .get(&current.kind, current.definition_version as u32)
    else {
        return false;
    };
    match workflow::apply(definition, &current.state, event) {
        Decision::Transition { to, .. } => definition.state(&to).is_some_and(|state| state.settles_money),
        _ => false,
    }
}

/// Records `operator`'s request to force `event` (already checked) on `current`, and answers
/// APPROVAL_REQUIRED naming it.
pub async fn request(
    engine: &Engine,
    operator: &Operator,
    current: &instance::Model,
    event: EventName,
    note: &str,
) -> AppError {
    let now = engine.clock.now();
    let request = force_request::Model {
        id: Uuid::now_v7(),
        instance_id: current.id,
        kind: current.kind.clone(),
        from_state: current.state.clone(),
        event: event.to_string(),
        requested_by: operator.name.clone(),
        note: note.to_string(),
        status: force_request::STATUS_PENDING.into(),
        decided_by: None,
        decision_note: None,
        created_at: now,
        decided_at: None,
    };
    let activity = crate::store::entity::operator_activity::Model {
        kind: Some(current.kind.clone()),
        ..operator.activity(
            now,
            "forceTransition",
            &[current.id.to_string(), request.id.to_string()],
            note,
        )
    };
    let id = request.id;
    match force_requests::insert(&engine.db, request, activity).await {
        Ok(()) => AppError::ApprovalRequired { force_request_id: id },
        Err(error) => error.into(),
    }
}

/// `operator` approves request `id`: the forced event is applied (through the same checks as
/// any forced event) unless `operator` asked for it (SAME_OPERATOR) or the workflow moved on.
pub async fn approve(
    engine: &Engine,
    operator: &Operator,
    id: Uuid,
    note: &str,
) -> Result<instance::Model, AppError> {
    let note = require_note(note)?;
    let request = force_requests::get(&engine.db, id)
        .await?
        .ok_or(AppError::NotFound)?;
    if request.requested_by == operator.name {
        return Err(AppError::SameOperator);
    }
    let event: EventName = request
        .event
        .parse()
        .map_err(|_| AppError::InvalidTransition(format!("'{}' is no longer an event", request.event)))?;
    let now = engine.clock.now();
    let event_of = |request: &force_request::Model| {
        EventInput::new(event, operator.actor())
            .with_detail(json!({
                "note": request.note,
                "forced": true,
                "forceRequestId": request.id.to_string(),
                "requestedBy": request.requested_by,
                "approvedBy": operator.name,
                "approvalNote": note,
            }))
            .with_activity(operator.activity(
                now,
                "approveForce",
                &[request.instance_id.to_string(), request.id.to_string()],
                note,
            ))
    };
    let approval = force_requests::approve(&engine.db, engine.decider(), id, &operator.name, note, event_of)
        .await?
        .ok_or(AppError::NotFound)?;
    match approval {
        Approval::Applied(applied) => forced_outcome(engine, *applied),
        Approval::NotPending(status) => Err(AppError::InvalidTransition(format!(
            "this force request is {status}, not waiting for approval"
        ))),
        Approval::Stale { from, now } => Err(AppError::InvalidTransition(format!(
            "the workflow left {from} (it is {now}) since the force was asked for; the request is STALE"
        ))),
        Approval::Refused(why) => Err(refused(why)),
    }
}

/// One page of force requests (with `status`, if given), newest first, and whether more follow.
pub async fn list(
    engine: &Engine,
    status: Option<&str>,
    first: Option<i32>,
    after: Option<&str>,
) -> Result<(Vec<force_request::Model>, bool), AppError> {
    let (first, before) = id_page(first, after)?;
    let rows = force_requests::list(&engine.db, status, first + 1, before).await?;
    Ok(super::page::cut(rows, first))
}

/// Why a forced event was refused, as the API says it.
pub(super) fn refused(why: ForceRefused) -> AppError {
    match why {
        ForceRefused::NoTransition(why) => AppError::InvalidTransition(why),
        ForceRefused::NeedsAnswer(why) => AppError::AlipayPlusAnswerRequired(why),
    }
}

/// The instance a forced event moved (waking what it scheduled and announcing it), or why it
/// did not move.
pub(super) fn forced_outcome(engine: &Engine, applied: store::Applied) -> Result<instance::Model, AppError> {
    engine.wake_if_scheduled(&applied);
    engine.announce(applied.instance.id);
    match applied.outcome {
        store::Outcome::Transitioned { .. } => Ok(applied.instance),
        store::Outcome::Ignored { reason } | store::Outcome::Rejected { reason } => {
            Err(AppError::InvalidTransition(reason))
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_engine_without_configuration_holds_the_kinds_the_default_configuration_names() {
        let configured = crate::config::Config::load(None).expect("the built-in configuration");
        assert_eq!(configured.four_eyes, super::DEFAULT_KINDS);
    }
}
