//! Applying an event: the one write path of workflow state after an instance's start
//! (`super::start`). [`apply_event`] writes in ONE transaction the decision of the pure
//! `workflow::apply` (planned first, `super::plan`), the new state under a version check,
//! exactly one history row (`super::history`), and the outbox rows for the effects and the timer
//! the decision scheduled (`super::schedule`). An event is decided either on the instance locked
//! in the transaction, or on a copy the caller read earlier, written only if the instance is
//! still at that version; on PostgreSQL such a transition is one statement
//! (`super::one_statement`). Parks, unchanged events and operators' actions are written by
//! `super::park` and `super::operator_actions`, forced events by `super::force`.

use sea_orm::{ColumnTrait, DatabaseTransaction, QueryFilter};
use uuid::Uuid;

use super::Decider;
use super::entity::instance;
use super::event::{Applied, EventInput};
use super::feed::record_in;
use super::instance_write::{instance_update, lock_instance};
use super::one_statement::{OneStatement, apply_as_one_statement};
use super::plan::{Plan, plan};
use super::schedule::{disarm_update, insert_outbox};
use super::{StoreError, retry_transient};
use crate::store::Db;

/// Applies `event` to instance `id` in its own transaction, retried if it lost a race.
///
/// `seen` is the instance as the caller read it earlier, if it did: the decision is then taken
/// on that copy and written only if the instance is still at that version (on PostgreSQL a
/// transition is then one statement of data-modifying CTEs); otherwise, or if the
/// event would not transition from there, the instance is locked, read and decided on afresh.
pub async fn apply_event(
    db: &Db,
    decider: Decider<'_>,
    id: Uuid,
    event: EventInput,
    seen: Option<&instance::Model>,
) -> Result<Applied, StoreError> {
    let mut seen = seen.filter(|seen| seen.id == id);
    if let Some(copy) = seen {
        match apply_as_one_statement(db, decider, copy, &event, None).await? {
            OneStatement::Written(applied) => return Ok(*applied),
            OneStatement::Missed => seen = None,
            OneStatement::NotTried => {}
        }
    }
    retry_transient(|| async {
        let txn = db.begin().await?;
        let applied = apply_event_in(&txn, decider, id, &event, seen).await?;
        txn.commit().await?;
        Ok(applied)
    })
    .await
}

/// The body of [`apply_event`], for callers that must change more in the same transaction
/// (completing an outbox row, recording a refund).
pub(crate) async fn apply_event_in(
    txn: &DatabaseTransaction,
    decider: Decider<'_>,
    id: Uuid,
    event: &EventInput,
    seen: Option<&instance::Model>,
) -> Result<Applied, StoreError> {
    if let Some(seen) = seen.filter(|seen| seen.id == id) {
        let plan = plan(decider, seen, event)?;
        // An ignored or rejected outcome is recorded only against a locked, current instance.
        if plan.transitions()
            && let Some(applied) = write(txn, decider, &plan).await?
        {
            return Ok(applied);
        }
    }
    let current = lock_instance(txn, id).await?;
    let plan = plan(decider, &current, event)?;
    write(txn, decider, &plan).await?.ok_or(StoreError::Conflict)
}

/// Writes `plan` in the caller's transaction, with the journal of a money event (`super::ledger`)
/// and its merchant's event last (`super::feed`). Returns
/// `None`, having written nothing, if the instance is no longer at the version the plan was
/// decided on.
pub(super) async fn write(
    txn: &DatabaseTransaction,
    decider: Decider<'_>,
    plan: &Plan,
) -> Result<Option<Applied>, StoreError> {
    if plan.transitions() {
        let after = &plan.after;
        // The version check makes this the first and only write when the plan is out of date.
        let updated = instance_update(after)
            .filter(instance::Column::Id.eq(after.id))
            .filter(instance::Column::Version.eq(plan.before.version))
            .exec(txn)
            .await?;
        if updated.rows_affected != 1 {
            return Ok(None);
        }
        if let Some(disarm) = plan.disarm {
            disarm_update(&plan.before, disarm, after.updated_at)
                .exec(txn)
                .await?;
        }
        if let Some(row) = &plan.kept_row {
            row.insert(txn).await?;
        }
        if let Some(row) = &plan.activity {
            super::activity::insert_in(txn, row.clone()).await?;
        }
    }
    plan.history.append(txn).await?;
    if let Some(call) = &plan.inbound {
        super::inbound::insert(txn, call.clone()).await?;
    }
    insert_outbox(txn, plan.scheduled.clone()).await?;
    if let Some(announcer) = decider
        .announcer
        .filter(|a| plan.transitions() && plan.before.state != plan.after.state && a.books(&plan.after))
    {
        book_in(txn, announcer, decider.definitions, &plan.after).await?;
    }
    if let (Some(id), Some(announcer)) = (plan.event, decider.announcer) {
        record_in(txn, announcer, decider.definitions, &plan.after, id).await?;
    }
    plan.history.counted(&plan.before.kind);
    Ok(Some(plan.applied()))
}

/// Writes the journal `announcer` books for the change leaving `instance` as it is, in `txn`
/// (`super::ledger`).
async fn book_in(
    txn: &DatabaseTransaction,
    announcer: &dyn super::feed::Announcer,
    definitions: &crate::workflow::Definitions,
    instance: &instance::Model,
) -> Result<(), StoreError> {
    let change = super::feed::Change {
        txn,
        definitions,
        instance,
    };
    match announcer.book(change).await? {
        Some(journal) => super::ledger::post_in(txn, &journal).await,
        None => Ok(()),
    }
}
