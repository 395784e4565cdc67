//! What an operator does to an instance besides forcing an event ([`OperatorAction`]): retry
//! its effects or resume it, each in one transaction with one history row naming the operator.

use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter};
use serde_json::{Map, Value};
use uuid::Uuid;

use super::Decider;
use super::entity::{instance, operator_activity, outbox};
use super::history::HistoryEntry;
use super::instance_write::{lock_instance, touch};
use super::plan::{HOLD_KEY, definition_of, hold_of};
use super::schedule::{insert_outbox, scheduled_rows};
use super::{StoreError, retry_transient};
use crate::clock::Clock;
use crate::store::Db;

/// What an operator does to an instance besides forcing an event (an ordinary event whose actor
/// is the operator, through [`apply_event`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OperatorAction {
    /// Its current state's pending and failed effects run now, their attempts reset.
    Retry,
    /// Needs-attention (and a hold) cleared; the state's timer armed again if it has none.
    Resume,
}

impl OperatorAction {
    /// The mutation that asks for it (its name in the activity log).
    pub fn mutation(self) -> &'static str {
        match self {
            OperatorAction::Retry => "retryWorkflow",
            OperatorAction::Resume => "resumeWorkflow",
        }
    }

    /// The event name its history row carries.
    pub fn event(self) -> &'static str {
        match self {
            OperatorAction::Retry => "operator_retry",
            OperatorAction::Resume => "operator_resume",
        }
    }
}

/// An operator's action: done (the instance after it), or refused with why.
pub type ActionResult = Result<instance::Model, String>;

/// Who acts and why: the history row's actor and `detail` (the note, a bulk action's id...),
/// and the activity log's row, if the action is recorded there.
#[derive(Debug, Clone)]
pub struct ActedBy {
    pub actor: String,
    pub detail: Map<String, Value>,
    pub activity: Option<operator_activity::Model>,
}

impl ActedBy {
    /// `actor` acting with `note` (in the history row), not recorded in the activity log.
    pub fn noted(actor: impl Into<String>, note: &str) -> Self {
        Self {
            actor: actor.into(),
            detail: Map::from_iter([("note".to_string(), Value::String(note.to_string()))]),
            activity: None,
        }
    }
}

/// Applies an operator's `action` to instance `id` through the write path, in one transaction:
/// the instance locked, its rows changed, the version bumped, one history row (outcome
/// `OPERATOR`, the actor and the detail in it) and the activity row. Refused, with nothing
/// written, where it makes no sense: a finished instance, no effect to retry, nothing waiting
/// for an operator.
pub async fn operator_action(
    db: &Db,
    decider: Decider<'_>,
    id: Uuid,
    action: OperatorAction,
    by: &ActedBy,
) -> Result<ActionResult, StoreError> {
    retry_transient(|| async {
        let txn = db.begin().await?;
        let done = operator_action_in(&txn, decider, id, action, by).await?;
        if let Ok(after) = &done {
            if let Some(row) = &by.activity {
                let row = operator_activity::Model {
                    kind: Some(after.kind.clone()),
                    ..row.clone()
                };
                super::activity::insert_in(&txn, row).await?;
            }
            txn.commit().await?;
        }
        Ok(done)
    })
    .await
}

/// The body of [`operator_action`] without the activity row, in the caller's transaction (a
/// bulk action marks its item in the same one). Writes nothing when refused.
pub(crate) async fn operator_action_in(
    txn: &DatabaseTransaction,
    decider: Decider<'_>,
    id: Uuid,
    action: OperatorAction,
    by: &ActedBy,
) -> Result<ActionResult, StoreError> {
    let current = lock_instance(txn, id).await?;
    let done = match action {
        OperatorAction::Retry => retry_effects_in(txn, decider.clock, &current).await?,
        OperatorAction::Resume => resume_in(txn, decider, &current).await?,
    };
    let (mut detail, after) = match done {
        Ok(done) => done,
        Err(refused) => return Ok(Err(refused)),
    };
    detail.extend(by.detail.clone());
    let entry = HistoryEntry {
        instance_id: id,
        event: action.event(),
        from_state: Some(current.state.clone()),
        to_state: None,
        outcome: "OPERATOR",
        actor: by.actor.clone(),
        detail: Some(Value::Object(detail)),
        at: after.updated_at,
    };
    entry.append(txn).await?;
    entry.counted(&current.kind);
    Ok(Ok(after))
}

/// What an action changed (for its history row) and the instance after it, or why not.
pub(super) type Done = Result<(Map<String, Value>, instance::Model), String>;

pub(super) async fn retry_effects_in(
    txn: &DatabaseTransaction,
    clock: &dyn Clock,
    current: &instance::Model,
) -> Result<Done, StoreError> {
    if current.terminal {
        return Ok(Err(format!("the workflow is finished ({})", current.state)));
    }
    let retryable = outbox::Entity::find()
        .filter(outbox::Column::InstanceId.eq(current.id))
        .filter(outbox::Column::Kind.eq(outbox::KIND_EFFECT))
        .filter(outbox::Column::ScheduledInState.eq(current.state.clone()))
        .filter(outbox::Column::Status.is_in([outbox::STATUS_PENDING, outbox::STATUS_FAILED]))
        .all(txn)
        .await?;
    if retryable.is_empty() {
        return Ok(Err(format!(
            "no pending or failed effect in state {} to retry",
            current.state
        )));
    }
    let now = clock.now();
    outbox::Entity::update_many()
        .col_expr(outbox::Column::Status, Expr::value(outbox::STATUS_PENDING))
        .col_expr(outbox::Column::Attempts, Expr::value(0))
        .col_expr(outbox::Column::DueAtMs, Expr::value(now.timestamp_millis()))
        .col_expr(outbox::Column::LastError, Expr::value(Option::<String>::None))
        .col_expr(outbox::Column::UpdatedAt, Expr::value(now))
        .filter(outbox::Column::Id.is_in(retryable.iter().map(|row| row.id)))
        .exec(txn)
        .await?;
    // A held instance stays waiting for an operator: only an event settles a hold.
    let attention =
        hold_of(current).map(|hold| current.last_error.clone().unwrap_or_else(|| hold.to_string()));
    let after = touch(txn, current, attention, current.data.clone(), now).await?;
    let effects: Vec<Value> = retryable
        .iter()
        .map(|row| Value::String(row.name.clone()))
        .collect();
    Ok(Ok((
        Map::from_iter([("effects".to_string(), Value::Array(effects))]),
        after,
    )))
}

pub(super) async fn resume_in(
    txn: &DatabaseTransaction,
    decider: Decider<'_>,
    current: &instance::Model,
) -> Result<Done, StoreError> {
    let Decider {
        definitions, clock, ..
    } = decider;
    if !current.needs_attention {
        return Ok(Err("the workflow is not waiting for an operator".into()));
    }
    let definition = definition_of(definitions, current)?;
    let now = clock.now();
    let mut data = current.data.clone();
    if let Value::Object(fields) = &mut data {
        fields.remove(HOLD_KEY);
    }
    let after = touch(txn, current, None, data, now).await?;
    let mut detail = Map::new();
    let timer = definition
        .state(&current.state)
        .and_then(|state| state.timer.as_ref());
    if let Some(timer) = timer {
        let armed = outbox::Entity::find()
            .filter(outbox::Column::InstanceId.eq(current.id))
            .filter(outbox::Column::Kind.eq(outbox::KIND_TIMER))
            .filter(outbox::Column::ScheduledInState.eq(current.state.clone()))
            .filter(outbox::Column::Status.eq(outbox::STATUS_PENDING))
            .one(txn)
            .await?;
        if armed.is_none() {
            insert_outbox(txn, scheduled_rows(definition, &after, &[], Some(timer))).await?;
            detail.insert("timer".into(), Value::String(timer.on_timeout.to_string()));
        }
    }
    Ok(Ok((detail, after)))
}
