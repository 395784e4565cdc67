//! Parking an instance for an operator ([`park_in`]) and recording an event that changes
//! nothing ([`record_unchanged`]), each with the inbound call that caused it journaled alongside.

use sea_orm::DatabaseTransaction;
use serde_json::Value;
use uuid::Uuid;

use super::entity::inbound;
use super::event::Outcome;
use super::history::{HistoryEntry, history_detail};
use super::instance_write::{lock_instance, touch};
use super::plan::HOLD_KEY;
use super::{StoreError, retry_transient};
use crate::clock::Clock;
use crate::store::Db;

/// Why an instance is parked for an operator, and what it waits for.
#[derive(Debug, Clone)]
pub struct Park {
    pub reason: String,
    /// A money reason (an amount that does not match ours): until an operator acts, every
    /// automatic event is refused, so nothing settles what a person has to look at.
    pub hold: bool,
    /// Park only while the instance is in this state (an effect scheduled there that ran out of
    /// attempts): once it has moved on, the reason would be stale and nothing is written.
    pub in_state: Option<String>,
    pub actor: String,
}

/// Parks an instance for an operator through the write path, in the caller's transaction: the
/// instance locked, `needs_attention` with the reason, the version bumped, one history row
/// (event `parked`, outcome `PARKED`, the reason in its detail), and `inbound`, the call that
/// caused it, journaled with it. Nothing but the journal row is written when [`Park::in_state`]
/// no longer holds.
pub(crate) async fn park_in(
    txn: &DatabaseTransaction,
    clock: &dyn Clock,
    id: Uuid,
    park: &Park,
    inbound: Option<inbound::Model>,
) -> Result<(), StoreError> {
    if let Some(call) = inbound {
        super::inbound::insert(txn, call).await?;
    }
    let current = lock_instance(txn, id).await?;
    if park
        .in_state
        .as_ref()
        .is_some_and(|state| *state != current.state)
    {
        return Ok(());
    }
    let mut data = current.data.clone();
    if park.hold
        && let Value::Object(fields) = &mut data
    {
        fields.insert(HOLD_KEY.into(), Value::String(park.reason.clone()));
    }
    let now = clock.now();
    touch(txn, &current, Some(park.reason.clone()), data, now).await?;
    let entry = HistoryEntry {
        instance_id: id,
        event: "parked",
        from_state: Some(current.state.clone()),
        to_state: None,
        outcome: "PARKED",
        actor: park.actor.clone(),
        detail: Some(serde_json::json!({ "reason": park.reason, "hold": park.hold })),
        at: now,
    };
    entry.append(txn).await?;
    entry.counted(&current.kind);
    Ok(())
}

/// [`park_in`] in its own transaction, retried if it lost a race.
pub async fn park_instance(
    db: &Db,
    clock: &dyn Clock,
    id: Uuid,
    park: &Park,
    inbound: Option<inbound::Model>,
) -> Result<(), StoreError> {
    retry_transient(|| async {
        let txn = db.begin().await?;
        park_in(&txn, clock, id, park, inbound.clone()).await?;
        txn.commit().await?;
        Ok(())
    })
    .await
}

/// An event that changed nothing and has no workflow event of its own (a notification that is
/// not a final result), recorded in the instance's history all the same (guarantee 4).
#[derive(Debug, Clone)]
pub struct Note {
    pub event: &'static str,
    pub actor: String,
    pub reason: String,
    pub detail: Value,
}

/// Appends `note` to instance `id`'s history as IGNORED, with `inbound`, the call that carried
/// it, journaled in the same transaction; the instance itself is not written.
pub async fn record_unchanged(
    db: &Db,
    clock: &dyn Clock,
    id: Uuid,
    note: &Note,
    inbound: Option<inbound::Model>,
) -> Result<(), StoreError> {
    retry_transient(|| async {
        let txn = db.begin().await?;
        record_unchanged_in(&txn, clock, id, note, inbound.clone()).await?;
        txn.commit().await?;
        Ok(())
    })
    .await
}

/// The body of [`record_unchanged`], for callers that decided in their own transaction.
pub(crate) async fn record_unchanged_in(
    txn: &DatabaseTransaction,
    clock: &dyn Clock,
    id: Uuid,
    note: &Note,
    inbound: Option<inbound::Model>,
) -> Result<(), StoreError> {
    let entry = HistoryEntry {
        instance_id: id,
        event: note.event,
        from_state: None,
        to_state: None,
        outcome: "IGNORED",
        actor: note.actor.clone(),
        detail: history_detail(
            &Outcome::Ignored {
                reason: note.reason.clone(),
            },
            Some(note.detail.clone()),
        ),
        at: clock.now(),
    };
    if let Some(call) = inbound {
        super::inbound::insert(txn, call).await?;
    }
    entry.append(txn).await
}
