//! Bulk actions: an operator's filter, the exact number of workflows it selects (preview), and,
//! confirmed with a note, a durable batch that retries or resumes each of them through the
//! operators' write path with the note and the batch's id in its history row. The batch records
//! the ids it took when it started (at most [`MAX_WORKFLOWS`]), in the stuck list's order; the
//! [`Worker`] in every process that runs background work goes through them item by item (see
//! `store::bulk`: each item once, a restart resumes the batch), lists a refused item as failed
//! with why, and never retries it.

use std::time::Duration;

use serde_json::Value;
use tokio_util::sync::CancellationToken;
use tracing::warn;
use uuid::Uuid;

use super::Engine;
use super::errors::{AppError, invalid, require_note};
use super::operator::Operator;
use crate::store::bulk::{self, ItemOutcome};
use crate::store::entity::{bulk_action, bulk_action_item};
use crate::store::stuck::{WorkflowFilter, stuck_query};
use crate::store::{OperatorAction, StoreError};
use sea_orm::QuerySelect;

/// The most workflows one bulk action takes (narrow the filter for more).
pub const MAX_WORKFLOWS: usize = 10_000;
/// Items read per query of the worker.
const ITEMS_PER_READ: u64 = 100;

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
        id: Uuid::now_v7(),
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
        ..operator.activity(now, "startBulkAction", &[row.id.to_string()], note)
    };
    bulk::insert(&engine.db, row.clone(), &ids, activity).await?;
    engine.wake_bulk();
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

/// Works through the running bulk actions (see the module docs): every `interval`, and at once
/// when this process starts one.
pub struct Worker {
    pub engine: Engine,
    pub interval: Duration,
}

impl Worker {
    pub async fn run(self, shutdown: CancellationToken) {
        loop {
            if let Err(e) = self.pass(&shutdown).await {
                warn!("bulk actions: {e}");
            }
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(self.interval) => {}
                _ = self.engine.bulk_woken() => {}
            }
        }
    }

    async fn pass(&self, shutdown: &CancellationToken) -> Result<(), StoreError> {
        let engine = &self.engine;
        for action in bulk::running(&engine.db).await? {
            let Ok(operator_action) = action_named(&action.action) else {
                warn!(bulk = %action.id, "bulk action with an unknown action {}", action.action);
                continue;
            };
            let actor = format!("admin:{}", action.operator);
            loop {
                let items = bulk::items(
                    &engine.db,
                    action.id,
                    bulk_action_item::STATUS_PENDING,
                    ITEMS_PER_READ,
                )
                .await?;
                if items.is_empty() || shutdown.is_cancelled() {
                    break;
                }
                for item in &items {
                    let outcome = bulk::act_on_item(
                        &engine.db,
                        engine.decider(),
                        &action,
                        operator_action,
                        &actor,
                        item,
                    )
                    .await?;
                    if outcome == ItemOutcome::Done {
                        engine.wake_relay();
                        engine.announce(item.instance_id);
                    }
                }
            }
            bulk::finish_if_done(&engine.db, action.id, engine.clock.now()).await?;
        }
        Ok(())
    }
}
