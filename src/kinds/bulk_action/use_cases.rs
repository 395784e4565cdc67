//! Bulk actions: an operator's filter, the exact number of workflows it selects (preview), and,
//! confirmed with a note, a workflow of its own that retries or resumes each of them through the
//! operators' write path with the note and the bulk action's id in its history row. It records
//! the ids it took when it started (at most [`MAX_WORKFLOWS`]), in the stuck list's order; its
//! effect goes through them item by item (`super::effects`, `super::rows`: each item once, a
//! restart resumes it), lists a refused item as failed with why, and never retries it.

use sea_orm::QuerySelect;
use serde_json::Value;
use uuid::Uuid;

use super::entity::{action as bulk_action, item as bulk_action_item};
use super::rows as bulk;
use crate::app::Engine;
use crate::app::errors::{AppError, invalid, require_note};
use crate::app::operator::Operator;
use crate::store::stuck::{WorkflowFilter, stuck_query};
use crate::store::{OperatorAction, StoreError};

/// The most workflows one bulk action takes (narrow the filter for more).
pub const MAX_WORKFLOWS: usize = 10_000;

/// The action a bulk action does: `RETRY` or `RESUME`.
pub fn action_named(name: &str) -> Result<OperatorAction, AppError> {
    match name {
        "RETRY" => Ok(OperatorAction::Retry),
        "RESUME" => Ok(OperatorAction::Resume),
        _ => Err(invalid("action", "must be RETRY or RESUME")),
    }
}

/// The ids of the workflows `filter` selects now, in the stuck list's order; VALIDATION if more
/// than [`MAX_WORKFLOWS`].
async fn selected(engine: &Engine, filter: &WorkflowFilter) -> Result<Vec<Uuid>, AppError> {
    let ids: Vec<Uuid> = stuck_query(filter, engine.clock.now(), MAX_WORKFLOWS as u64 + 1, None)
        .select_only()
        .column(crate::store::entity::instance::Column::Id)
        .into_tuple()
        .all(&engine.db)
        .await
        .map_err(StoreError::from)?;
    if ids.len() > MAX_WORKFLOWS {
        return Err(invalid(
            "filter",
            format!("selects more than {MAX_WORKFLOWS} workflows; narrow it"),
        ));
    }
    Ok(ids)
}

/// How many workflows `filter` selects now (what a bulk action started now would take).
pub async fn preview(engine: &Engine, filter: &WorkflowFilter) -> Result<usize, AppError> {
    Ok(selected(engine, filter).await?.len())
}

/// Starts `action` (RETRY or RESUME) on the workflows `filter` selects, as `operator` with `note`;
/// `filter_given` is kept with it as asked.
pub async fn start(
    engine: &Engine,
    operator: &Operator,
    filter: &WorkflowFilter,
    filter_given: Value,
    action: &str,
    note: &str,
) -> Result<bulk_action::Model, AppError> {
    action_named(action)?;
    let note = require_note(note)?;
    let ids = selected(engine, filter).await?;
    if ids.is_empty() {
        return Err(invalid("filter", "selects no workflow"));
    }
    let now = engine.clock.now();
    let row = bulk_action::Model {
        // Its workflow's id, given when it starts (`rows::insert`).
        id: Uuid::nil(),
        action: action.to_string(),
        filter: filter_given,
        note: note.to_string(),
        operator: operator.name.clone(),
        status: bulk_action::STATUS_RUNNING.into(),
        total: ids.len() as i32,
        done: 0,
        failed: 0,
        created_at: now,
        finished_at: None,
    };
    let activity = crate::store::entity::operator_activity::Model {
        kind: filter.kind.clone(),
        ..operator.activity(now, "startBulkAction", &[], note)
    };
    let row = bulk::insert(&engine.db, engine.decider(), row, &ids, activity).await?;
    engine.wake_relay();
    Ok(row)
}

pub async fn get(engine: &Engine, id: Uuid) -> Result<Option<bulk_action::Model>, AppError> {
    Ok(bulk::get(&engine.db, id).await?)
}

/// The items of bulk action `id` that failed, with why (at most `limit`).
pub async fn failed_items(
    engine: &Engine,
    id: Uuid,
    limit: u64,
) -> Result<Vec<bulk_action_item::Model>, AppError> {
    Ok(bulk::items(&engine.db, id, bulk_action_item::STATUS_FAILED, limit).await?)
}
