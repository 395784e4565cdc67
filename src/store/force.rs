//! An operator's forced event, and the Alipay+ answers it is checked against: one transaction
//! that locks the instance and its calls to Alipay+ (the effects that change something there),
//! refuses to end the instance while such a call may still land, and otherwise applies the event
//! through the write path.
//!
//! The rule (issue 29): a forced end (a terminal state) is refused
//! - while a call that changes something at Alipay+ is claimed (in flight), whatever was asked;
//! - into a state with `force_needs_answer`, unless the latest Alipay+ answer an operator asked
//!   for (recorded by [`record_answer`]) was asked after every such call ended and is one of
//!   those answers;
//! - elsewhere (no inquiry exists for the kind), while such a call was sent without a final
//!   answer (retried or parked): retry it until Alipay+ answers.
//!
//! The calls are locked with the instance (`FOR UPDATE`; SQLite's write lock is taken first), so
//! a relay cannot claim one between the check and the write; the transition then marks the
//! unstarted ones stale like any transition. The money they reserve stays reserved until the
//! event is written.

use sea_orm::{ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde_json::{Value, json};
use uuid::Uuid;

use super::Decider;
use super::apply::apply_event_in;
use super::entity::{history, instance, outbox};
use super::event::{Applied, EventInput};
use super::history::HistoryEntry;
use super::instance_write::lock_instance;
use super::plan::definition_of;
use super::{StoreError, retry_transient};
use crate::clock::Clock;
use crate::store::Db;
use crate::workflow::{self, AlipayPlusVerdict, Decision, EffectName};

/// The history event of an operator's askAlipayPlus.
pub const ANSWER_EVENT: &str = "alipayplus_answer";

/// Why a forced event was not applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ForceRefused {
    /// The definition has no such transition from the current state.
    NoTransition(String),
    /// Alipay+ may still act, or has not been asked (see the module doc).
    NeedsAnswer(String),
}

/// Applies `event` (an operator's) to instance `id` if the definition allows it and the rule of
/// the module doc holds; `Ok(Err(_))`, with nothing written, when refused.
pub async fn force_event(
    db: &Db,
    decider: Decider<'_>,
    id: Uuid,
    event: &EventInput,
) -> Result<Result<Applied, ForceRefused>, StoreError> {
    retry_transient(|| async {
        let txn = db.begin().await?;
        let forced = force_event_in(&txn, decider, id, event).await?;
        if forced.is_ok() {
            txn.commit().await?;
        }
        Ok(forced)
    })
    .await
}

/// The body of [`force_event`] in the caller's transaction (an approval marks its request in the
/// same one); writes nothing when refused.
pub(crate) async fn force_event_in(
    txn: &DatabaseTransaction,
    decider: Decider<'_>,
    id: Uuid,
    event: &EventInput,
) -> Result<Result<Applied, ForceRefused>, StoreError> {
    let (current, event) = match allowed(txn, decider, id, event).await? {
        Ok(allowed) => allowed,
        Err(refused) => return Ok(Err(refused)),
    };
    Ok(Ok(apply_event_in(txn, decider, id, &event, Some(&current)).await?))
}

/// Whether `event` could be forced on instance `id` now (the rule of the module doc), without
/// writing anything: what a request for a second operator's approval is checked with.
pub async fn would_force(
    db: &Db,
    decider: Decider<'_>,
    id: Uuid,
    event: &EventInput,
) -> Result<Result<(), ForceRefused>, StoreError> {
    let txn = db.begin().await?;
    let allowed = allowed(&txn, decider, id, event).await?;
    txn.rollback().await?;
    Ok(allowed.map(|_| ()))
}

/// The instance, locked, and the event as it would be forced (naming the answer relied on), or
/// why it may not be.
async fn allowed(
    txn: &DatabaseTransaction,
    decider: Decider<'_>,
    id: Uuid,
    event: &EventInput,
) -> Result<Result<(instance::Model, EventInput), ForceRefused>, StoreError> {
    let current = lock_instance(txn, id).await?;
    let definition = definition_of(decider.definitions, &current)?;
    let Decision::Transition { to, .. } = workflow::apply(definition, &current.state, event.name) else {
        return Ok(Err(ForceRefused::NoTransition(format!(
            "{} {} has no transition on '{}' from {}",
            current.kind, definition.version, event.name, current.state
        ))));
    };
    let mut event = event.clone();
    // Not an end: the state entered talks to Alipay+ itself (a cancel, an inquiry).
    if let Some(target) = definition.state(&to).filter(|state| state.terminal)
        && let Err(refused) = check_end(txn, &current, target, &to, &mut event).await?
    {
        return Ok(Err(refused));
    }
    Ok(Ok((current, event)))
}

/// Whether `current` may be forced into the terminal state `target` (named `to`); when an
/// answer is relied on, `event`'s detail names it.
async fn check_end(
    txn: &DatabaseTransaction,
    current: &instance::Model,
    target: &workflow::State,
    to: &str,
    event: &mut EventInput,
) -> Result<Result<(), ForceRefused>, StoreError> {
    let calls = calls_to_alipayplus(txn, current).await?;
    if let Some(in_flight) = calls.iter().find(|call| call.status == outbox::STATUS_CLAIMED) {
        return Ok(Err(ForceRefused::NeedsAnswer(format!(
            "{} is being sent to Alipay+ now; wait for its answer (what it holds stays held)",
            in_flight.name
        ))));
    }
    let ended_at = calls
        .iter()
        .filter(|call| was_sent(call))
        .map(|call| call.updated_at)
        .max();
    if target.force_needs_answer.is_empty() {
        if let Some(open) = calls.iter().find(|call| sent_without_final_answer(call)) {
            return Ok(Err(ForceRefused::NeedsAnswer(format!(
                "{} was sent to Alipay+ without a final answer; retry it until Alipay+ answers",
                open.name
            ))));
        }
    } else {
        let answer = latest_answer(txn, current.id).await?;
        let verdict = answer
            .as_ref()
            .filter(|answer| ended_at.is_none_or(|ended| answer.at >= ended))
            .and_then(verdict_of);
        let accepted: Vec<&str> = target.force_needs_answer.iter().map(|v| v.into()).collect();
        match verdict {
            None => {
                return Ok(Err(ForceRefused::NeedsAnswer(format!(
                    "ask Alipay+ first (askAlipayPlus, after its last call ended): {} needs it to answer {}",
                    to,
                    accepted.join(" or ")
                ))));
            }
            Some(verdict) if !target.force_needs_answer.contains(&verdict) => {
                return Ok(Err(ForceRefused::NeedsAnswer(format!(
                    "Alipay+ answered {verdict}; {to} needs {}",
                    accepted.join(" or ")
                ))));
            }
            Some(verdict) => with_answer(event, verdict),
        }
    }
    Ok(Ok(()))
}

/// Records in instance `id`'s history what Alipay+ answered an operator (`actor`), so a forced
/// end can be checked against it; `detail` is shown with it. The instance is not written.
pub async fn record_answer(
    db: &Db,
    clock: &dyn Clock,
    id: Uuid,
    actor: &str,
    verdict: AlipayPlusVerdict,
    mut detail: serde_json::Map<String, Value>,
) -> Result<(), StoreError> {
    detail.insert("verdict".into(), Value::String(verdict.to_string()));
    let entry = HistoryEntry {
        instance_id: id,
        event: ANSWER_EVENT,
        from_state: None,
        to_state: None,
        outcome: "ANSWER",
        actor: actor.to_string(),
        detail: Some(Value::Object(detail)),
        at: clock.now(),
    };
    retry_transient(|| async {
        let txn = db.begin().await?;
        entry.append(&txn).await?;
        txn.commit().await?;
        Ok(())
    })
    .await
}

/// The instance's calls that change something at Alipay+, in any state, locked.
async fn calls_to_alipayplus(
    txn: &DatabaseTransaction,
    current: &instance::Model,
) -> Result<Vec<outbox::Model>, StoreError> {
    let rows = outbox::Entity::find()
        .filter(outbox::Column::InstanceId.eq(current.id))
        .filter(outbox::Column::Kind.eq(outbox::KIND_EFFECT))
        .lock_exclusive()
        .all(txn)
        .await?;
    Ok(rows
        .into_iter()
        .filter(|row| {
            row.name
                .parse::<EffectName>()
                .is_ok_and(EffectName::changes_alipayplus)
        })
        .collect())
}

/// Whether a call reached (or may have reached) Alipay+: it finished, or failed at least once.
fn was_sent(call: &outbox::Model) -> bool {
    call.status == outbox::STATUS_DONE || call.attempts > 0
}

/// A call tried and waiting for another try, or parked: Alipay+ may have done it.
fn sent_without_final_answer(call: &outbox::Model) -> bool {
    call.attempts > 0 && [outbox::STATUS_PENDING, outbox::STATUS_FAILED].contains(&call.status.as_str())
}

async fn latest_answer(txn: &DatabaseTransaction, id: Uuid) -> Result<Option<history::Model>, StoreError> {
    Ok(history::Entity::find()
        .filter(history::Column::InstanceId.eq(id))
        .filter(history::Column::Event.eq(ANSWER_EVENT))
        .order_by_desc(history::Column::Id)
        .one(txn)
        .await?)
}

fn verdict_of(answer: &history::Model) -> Option<AlipayPlusVerdict> {
    answer.detail.as_ref()?.get("verdict")?.as_str()?.parse().ok()
}

/// The forced event's history detail names the answer it relied on.
fn with_answer(event: &mut EventInput, verdict: AlipayPlusVerdict) {
    let mut detail = match event.detail.take() {
        Some(Value::Object(fields)) => fields,
        Some(other) => serde_json::Map::from_iter([("detail".to_string(), other)]),
        None => serde_json::Map::new(),
    };
    detail.insert("alipayplusAnswer".into(), json!(verdict.to_string()));
    event.detail = Some(Value::Object(detail));
}
