//! Bulk actions' rows: a bulk action, its workflow and the workflows it took, written with its
//! activity row in one transaction; each item is acted on in ONE transaction that marks it (done
//! or failed, conditionally on it still waiting), acts through the operators' write path and
//! counts it, so a process killed at any point leaves each workflow acted on once or not yet.

use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde_json::{Map, Value};
use uuid::Uuid;

use super::entity::{action as bulk_action, item as bulk_action_item};
use crate::store::entity::operator_activity;
use crate::store::operator_actions::{ActedBy, OperatorAction, operator_action_in};
use crate::store::start::{NewInstance, start_instance_in};
use crate::store::{Db, Decider, StoreError, activity, retry_transient};

/// Items inserted per statement.
const INSERT_CHUNK: usize = 500;

/// Starts the workflow of a bulk action and records `action` (under the workflow's id) with the
/// workflows `ids` it took, in that order, and `activity`, in one transaction; the row as
/// written.
pub async fn insert(
    db: &Db,
    decider: Decider<'_>,
    action: bulk_action::Model,
    ids: &[Uuid],
    activity: operator_activity::Model,
) -> Result<bulk_action::Model, StoreError> {
    let txn = db.begin().await?;
    let new = NewInstance {
        actor: format!("admin:{}", action.operator),
        data: serde_json::json!({}),
    };
    let started = start_instance_in(&txn, decider, super::KIND, &new).await?;
    let action = bulk_action::Model {
        id: started.instance.id,
        ..action
    };
    let bulk_id = action.id;
    bulk_action::Entity::insert(bulk_action::ActiveModel::from(action.clone()))
        .exec_without_returning(&txn)
        .await?;
    for (chunk_index, chunk) in ids.chunks(INSERT_CHUNK).enumerate() {
        let rows = chunk.iter().enumerate().map(|(i, id)| {
            bulk_action_item::ActiveModel::from(bulk_action_item::Model {
                bulk_action_id: bulk_id,
                position: (chunk_index * INSERT_CHUNK + i) as i32,
                instance_id: *id,
                status: bulk_action_item::STATUS_PENDING.into(),
                error: None,
                done_at: None,
            })
        });
        bulk_action_item::Entity::insert_many(rows)
            .exec_without_returning(&txn)
            .await?;
    }
    let activity = operator_activity::Model {
        object_ids: serde_json::Value::from(vec![bulk_id.to_string()]),
        ..activity
    };
    activity::insert_in(&txn, activity).await?;
    txn.commit().await?;
    Ok(action)
}

pub async fn get(db: &impl ConnectionTrait, id: Uuid) -> Result<Option<bulk_action::Model>, StoreError> {
    Ok(bulk_action::Entity::find_by_id(id).one(db).await?)
}

/// Up to `limit` items of bulk action `id` with `status`, in order.
pub async fn items(
    db: &impl ConnectionTrait,
    id: Uuid,
    status: &str,
    limit: u64,
) -> Result<Vec<bulk_action_item::Model>, StoreError> {
    Ok(bulk_action_item::Entity::find()
        .filter(bulk_action_item::Column::BulkActionId.eq(id))
        .filter(bulk_action_item::Column::Status.eq(status))
        .order_by_asc(bulk_action_item::Column::Position)
        .limit(limit)
        .all(db)
        .await?)
}

/// How acting on one item went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ItemOutcome {
    Done,
    Failed(String),
    /// Another process acted on it first.
    Taken,
}

/// Acts on `item` of `bulk` (see the module docs), the history row carrying the bulk's note and
/// id with `actor`.
pub async fn act_on_item(
    db: &Db,
    decider: Decider<'_>,
    bulk: &bulk_action::Model,
    action: OperatorAction,
    actor: &str,
    item: &bulk_action_item::Model,
) -> Result<ItemOutcome, StoreError> {
    let by = ActedBy {
        actor: actor.to_string(),
        detail: Map::from_iter([
            ("note".to_string(), Value::String(bulk.note.clone())),
            ("bulkActionId".to_string(), Value::String(bulk.id.to_string())),
        ]),
        activity: None,
    };
    retry_transient(|| async {
        let txn = db.begin().await?;
        let now = decider.clock.now();
        let mark = |status: &'static str, error: Option<String>| {
            bulk_action_item::Entity::update_many()
                .col_expr(bulk_action_item::Column::Status, Expr::value(status))
                .col_expr(bulk_action_item::Column::Error, Expr::value(error))
                .col_expr(bulk_action_item::Column::DoneAt, Expr::value(now))
                .filter(bulk_action_item::Column::BulkActionId.eq(item.bulk_action_id))
                .filter(bulk_action_item::Column::Position.eq(item.position))
                .filter(bulk_action_item::Column::Status.eq(bulk_action_item::STATUS_PENDING))
        };
        // Taking the item first makes a second process wait here, then find it taken.
        if mark(bulk_action_item::STATUS_DONE, None)
            .exec(&txn)
            .await?
            .rows_affected
            != 1
        {
            return Ok(ItemOutcome::Taken);
        }
        let acted = match operator_action_in(&txn, decider, item.instance_id, action, &by).await {
            Ok(acted) => acted,
            Err(StoreError::NotFound(_)) => Err("no such workflow".to_string()),
            Err(other) => return Err(other),
        };
        let (counter, outcome) = match acted {
            Ok(_) => (bulk_action::Column::Done, ItemOutcome::Done),
            Err(why) => {
                bulk_action_item::Entity::update_many()
                    .col_expr(
                        bulk_action_item::Column::Status,
                        Expr::value(bulk_action_item::STATUS_FAILED),
                    )
                    .col_expr(bulk_action_item::Column::Error, Expr::value(why.clone()))
                    .filter(bulk_action_item::Column::BulkActionId.eq(item.bulk_action_id))
                    .filter(bulk_action_item::Column::Position.eq(item.position))
                    .exec(&txn)
                    .await?;
                (bulk_action::Column::Failed, ItemOutcome::Failed(why))
            }
        };
        bulk_action::Entity::update_many()
            .col_expr(counter, Expr::col(counter).add(1))
            .filter(bulk_action::Column::Id.eq(bulk.id))
            .exec(&txn)
            .await?;
        txn.commit().await?;
        Ok(outcome)
    })
    .await
}

/// Marks bulk action `id` finished if no item of it waits.
pub async fn finish_if_done(
    db: &Db,
    id: Uuid,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<bool, StoreError> {
    if !items(db, id, bulk_action_item::STATUS_PENDING, 1)
        .await?
        .is_empty()
    {
        return Ok(false);
    }
    bulk_action::Entity::update_many()
        .col_expr(
            bulk_action::Column::Status,
            Expr::value(bulk_action::STATUS_FINISHED),
        )
        .col_expr(bulk_action::Column::FinishedAt, Expr::value(now))
        .filter(bulk_action::Column::Id.eq(id))
        .filter(bulk_action::Column::Status.eq(bulk_action::STATUS_RUNNING))
        .exec(db)
        .await?;
    Ok(true)
}
