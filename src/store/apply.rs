//! The one write path of workflow state. [`start_instance`] and [`apply_event`] each run ONE
//! transaction that locks the instance, asks the pure `workflow::apply`, writes the new state,
//! appends exactly one history row, and inserts the outbox rows for the effects and the timer
//! the decision scheduled.

use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction, EntityTrait,
    QueryFilter, QuerySelect, TransactionTrait,
};
use serde_json::{Map, Value};
use uuid::Uuid;

use super::entity::{history, instance, outbox};
use super::{StoreError, retry_transient};
use crate::clock::Clock;
use crate::workflow::{self, Decision, Definition, Definitions, EffectName, EventName, Timer};

/// An event to apply, with who caused it.
#[derive(Debug, Clone)]
pub struct EventInput {
    pub name: EventName,
    /// `timer`, `effect:<name>`, `merchant:<id>`, `alipayplus`, `admin:<who>`...
    pub actor: String,
    /// Recorded in the history row.
    pub detail: Option<Value>,
    /// Merged into the instance data (top-level keys) when the event transitions.
    pub data_patch: Option<Map<String, Value>>,
}

impl EventInput {
    pub fn new(name: EventName, actor: impl Into<String>) -> Self {
        Self {
            name,
            actor: actor.into(),
            detail: None,
            data_patch: None,
        }
    }

    pub fn with_detail(mut self, detail: Value) -> Self {
        self.detail = Some(detail);
        self
    }

    pub fn with_data(mut self, patch: Map<String, Value>) -> Self {
        self.data_patch = Some(patch);
        self
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Transitioned { from: String, to: String },
    Ignored { reason: String },
    Rejected { reason: String },
}

impl Outcome {
    /// The history label: TRANSITIONED, IGNORED or REJECTED.
    pub fn label(&self) -> &'static str {
        match self {
            Outcome::Transitioned { .. } => "TRANSITIONED",
            Outcome::Ignored { .. } => "IGNORED",
            Outcome::Rejected { .. } => "REJECTED",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Applied {
    pub outcome: Outcome,
    /// The instance as it is after the event.
    pub instance: instance::Model,
    /// Outbox rows that became due at once (effects), so a relay may be woken.
    pub effects_scheduled: usize,
}

/// Creates an instance of the newest definition of `kind` in its start state.
pub async fn start_instance(
    db: &DatabaseConnection,
    definitions: &Definitions,
    clock: &dyn Clock,
    kind: &str,
    data: Value,
    actor: &str,
) -> Result<Applied, StoreError> {
    let txn = db.begin().await?;
    let applied = start_instance_in(&txn, definitions, clock, kind, data, actor).await?;
    txn.commit().await?;
    Ok(applied)
}

/// [`start_instance`] inside the caller's transaction (creating a payment and its instance, and
/// recording the idempotency key, happen together or not at all).
pub(crate) async fn start_instance_in(
    txn: &DatabaseTransaction,
    definitions: &Definitions,
    clock: &dyn Clock,
    kind: &str,
    data: Value,
    actor: &str,
) -> Result<Applied, StoreError> {
    let definition = definitions
        .current(kind)
        .ok_or_else(|| StoreError::UnknownDefinition {
            kind: kind.into(),
            version: 0,
        })?;
    let Decision::Transition {
        to,
        effects,
        timer,
        terminal,
    } = workflow::start(definition)
    else {
        unreachable!("start always transitions")
    };
    let now = clock.now();
    let row = instance::Model {
        id: Uuid::now_v7(),
        kind: kind.to_string(),
        definition_version: definition.version as i32,
        state: to.clone(),
        terminal,
        version: 1,
        needs_attention: false,
        last_error: None,
        data,
        created_at: now,
        updated_at: now,
    };
    instance::Entity::insert(instance::ActiveModel::from(row.clone()))
        .exec_without_returning(txn)
        .await?;
    append_history(
        txn,
        row.id,
        "created",
        None,
        Some(&to),
        "TRANSITIONED",
        actor,
        None,
        clock,
    )
    .await?;
    let effects_scheduled = schedule(txn, definition, row.id, &to, &effects, timer.as_ref(), clock).await?;
    Ok(Applied {
        outcome: Outcome::Transitioned {
            from: String::new(),
            to,
        },
        instance: row,
        effects_scheduled,
    })
}

/// Applies `event` to instance `id` in its own transaction, retried if it lost a race.
///
/// `seen` is the instance as the caller read it earlier, if it did: the decision is then taken
/// on that copy and written only if the instance is still at that version (one round trip less
/// than locking and reading it again); otherwise, or if the event would not transition from
/// there, the instance is locked, read and decided on afresh.
pub async fn apply_event(
    db: &DatabaseConnection,
    definitions: &Definitions,
    clock: &dyn Clock,
    id: Uuid,
    event: EventInput,
    seen: Option<&instance::Model>,
) -> Result<Applied, StoreError> {
    retry_transient(|| async {
        let txn = db.begin().await?;
        let applied = apply_event_in(&txn, definitions, clock, id, &event, seen).await?;
        txn.commit().await?;
        Ok(applied)
    })
    .await
}

/// The body of [`apply_event`], for callers that must change more in the same transaction
/// (completing an outbox row, recording a refund).
pub(crate) async fn apply_event_in(
    txn: &DatabaseTransaction,
    definitions: &Definitions,
    clock: &dyn Clock,
    id: Uuid,
    event: &EventInput,
    seen: Option<&instance::Model>,
) -> Result<Applied, StoreError> {
    if let Some(seen) = seen.filter(|seen| seen.id == id)
        && let Some(applied) = decide_and_write(txn, definitions, clock, seen, event, Read::Seen).await?
    {
        return Ok(applied);
    }
    let current = lock_instance(txn, id).await?;
    decide_and_write(txn, definitions, clock, &current, event, Read::Locked)
        .await?
        .ok_or(StoreError::Conflict)
}

/// How the instance a decision is taken on was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Read {
    /// Locked in this transaction: it is current.
    Locked,
    /// Read earlier without a lock: it may be out of date.
    Seen,
}

/// Decides `event` on `current` and writes the outcome. Returns `None`, having written
/// nothing, when `current` was only [`Read::Seen`] and is out of date, or when the event does
/// not transition from it (an ignored or rejected outcome is recorded only against a locked,
/// current instance).
async fn decide_and_write(
    txn: &DatabaseTransaction,
    definitions: &Definitions,
    clock: &dyn Clock,
    current: &instance::Model,
    event: &EventInput,
    read: Read,
) -> Result<Option<Applied>, StoreError> {
    let id = current.id;
    let version = current.definition_version as u32;
    let definition =
        definitions
            .get(&current.kind, version)
            .ok_or_else(|| StoreError::UnknownDefinition {
                kind: current.kind.clone(),
                version,
            })?;
    let event_name: &'static str = event.name.into();
    let now = clock.now();

    let (outcome, after, effects_scheduled) = match workflow::apply(definition, &current.state, event.name) {
        Decision::Transition {
            to,
            effects,
            timer,
            terminal,
        } => {
            let mut data = current.data.clone();
            if let (Some(patch), Value::Object(fields)) = (&event.data_patch, &mut data) {
                fields.extend(patch.clone());
            }
            // The version check makes this the first and only write when `current` is stale.
            let updated = instance::Entity::update_many()
                .col_expr(instance::Column::State, Expr::value(to.clone()))
                .col_expr(instance::Column::Terminal, Expr::value(terminal))
                .col_expr(instance::Column::Version, Expr::value(current.version + 1))
                .col_expr(instance::Column::NeedsAttention, Expr::value(false))
                .col_expr(instance::Column::LastError, Expr::value(Option::<String>::None))
                .col_expr(instance::Column::Data, Expr::value(data.clone()))
                .col_expr(instance::Column::UpdatedAt, Expr::value(now))
                .filter(instance::Column::Id.eq(id))
                .filter(instance::Column::Version.eq(current.version))
                .exec(txn)
                .await?;
            if updated.rows_affected != 1 {
                return Ok(None);
            }
            let leaving = to != current.state;
            if leaving
                || definition
                    .state(&current.state)
                    .is_some_and(|s| s.timer.is_some())
            {
                disarm(txn, id, &current.state, leaving, clock).await?;
            }
            let scheduled = schedule(txn, definition, id, &to, &effects, timer.as_ref(), clock).await?;
            let after = instance::Model {
                state: to.clone(),
                terminal,
                version: current.version + 1,
                needs_attention: false,
                last_error: None,
                data,
                updated_at: now,
                ..current.clone()
            };
            (
                Outcome::Transitioned {
                    from: current.state.clone(),
                    to,
                },
                after,
                scheduled,
            )
        }
        Decision::Ignored { .. } | Decision::Rejected { .. } if read == Read::Seen => return Ok(None),
        Decision::Ignored { reason } => (Outcome::Ignored { reason }, current.clone(), 0),
        Decision::Rejected { reason } => (Outcome::Rejected { reason }, current.clone(), 0),
    };

    let (from, to) = match &outcome {
        Outcome::Transitioned { from, to } => (Some(from.as_str()), Some(to.as_str())),
        _ => (Some(current.state.as_str()), None),
    };
    let detail = history_detail(&outcome, event.detail.clone());
    append_history(
        txn,
        id,
        event_name,
        from,
        to,
        outcome.label(),
        &event.actor,
        detail,
        clock,
    )
    .await?;
    Ok(Some(Applied {
        outcome,
        instance: after,
        effects_scheduled,
    }))
}

pub(crate) async fn lock_instance(
    txn: &DatabaseTransaction,
    id: Uuid,
) -> Result<instance::Model, StoreError> {
    if txn.get_database_backend() == sea_orm::DbBackend::Sqlite {
        // Take SQLite's write lock before reading, so the transaction never upgrades a read.
        instance::Entity::update_many()
            .col_expr(instance::Column::Version, Expr::col(instance::Column::Version))
            .filter(instance::Column::Id.eq(id))
            .exec(txn)
            .await?;
    }
    instance::Entity::find_by_id(id)
        .lock_exclusive()
        .one(txn)
        .await?
        .ok_or(StoreError::NotFound(id))
}

/// Ignored and rejected events keep their reason in the history detail.
fn history_detail(outcome: &Outcome, detail: Option<Value>) -> Option<Value> {
    let reason = match outcome {
        Outcome::Ignored { reason } | Outcome::Rejected { reason } => reason,
        Outcome::Transitioned { .. } => return detail,
    };
    let mut fields = match detail {
        Some(Value::Object(fields)) => fields,
        Some(other) => Map::from_iter([("detail".to_string(), other)]),
        None => Map::new(),
    };
    fields.insert("reason".into(), Value::String(reason.clone()));
    Some(Value::Object(fields))
}

#[allow(clippy::too_many_arguments)]
async fn append_history(
    txn: &DatabaseTransaction,
    instance_id: Uuid,
    event: &str,
    from: Option<&str>,
    to: Option<&str>,
    outcome: &str,
    actor: &str,
    detail: Option<Value>,
    clock: &dyn Clock,
) -> Result<(), StoreError> {
    let row = history::ActiveModel {
        instance_id: Set(instance_id),
        event: Set(event.to_string()),
        from_state: Set(from.map(str::to_string)),
        to_state: Set(to.map(str::to_string)),
        outcome: Set(outcome.to_string()),
        actor: Set(actor.to_string()),
        detail: Set(detail),
        at: Set(clock.now()),
        ..Default::default()
    };
    history::Entity::insert(row).exec_without_returning(txn).await?;
    Ok(())
}

/// Inserts the outbox rows of a decision: each effect due now, the state's timer due later.
/// Returns how many effects were scheduled.
async fn schedule(
    txn: &DatabaseTransaction,
    definition: &Definition,
    instance_id: Uuid,
    state: &str,
    effects: &[EffectName],
    timer: Option<&Timer>,
    clock: &dyn Clock,
) -> Result<usize, StoreError> {
    let now = clock.now();
    let row = |kind: &str, name: &str, due_at_ms: i64, max_attempts: u32| outbox::ActiveModel {
        id: Set(Uuid::now_v7()),
        instance_id: Set(instance_id),
        kind: Set(kind.to_string()),
        name: Set(name.to_string()),
        scheduled_in_state: Set(state.to_string()),
        payload: Set(Value::Object(Map::new())),
        due_at_ms: Set(due_at_ms),
        attempts: Set(0),
        max_attempts: Set(max_attempts as i32),
        status: Set(outbox::STATUS_PENDING.to_string()),
        lease_token: Set(None),
        lease_until_ms: Set(None),
        claimed_by: Set(None),
        last_error: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    };
    let mut rows: Vec<outbox::ActiveModel> = effects
        .iter()
        .map(|effect| {
            let policy = definition.retry_policy(*effect);
            let due = now.timestamp_millis() + policy.first_after.as_millis() as i64;
            row(outbox::KIND_EFFECT, (*effect).into(), due, policy.attempts)
        })
        .collect();
    if let Some(timer) = timer {
        let due = now.timestamp_millis() + timer.after.as_millis() as i64;
        rows.push(row(
            outbox::KIND_TIMER,
            timer.on_timeout.into(),
            due,
            definition.default_retry.attempts,
        ));
    }
    if !rows.is_empty() {
        outbox::Entity::insert_many(rows)
            .exec_without_returning(txn)
            .await?;
    }
    Ok(effects.len())
}

/// Marks stale what `state` scheduled and nobody has started: its timers always (a move back
/// into the state arms a fresh one), and when `leaving` also its effects, which the runner
/// would otherwise claim only to find them stale.
async fn disarm(
    txn: &DatabaseTransaction,
    instance_id: Uuid,
    state: &str,
    leaving: bool,
    clock: &dyn Clock,
) -> Result<(), StoreError> {
    let mut update = outbox::Entity::update_many()
        .col_expr(outbox::Column::Status, Expr::value(outbox::STATUS_STALE))
        .col_expr(outbox::Column::UpdatedAt, Expr::value(clock.now()))
        .filter(outbox::Column::InstanceId.eq(instance_id))
        .filter(outbox::Column::ScheduledInState.eq(state))
        .filter(outbox::Column::Status.eq(outbox::STATUS_PENDING));
    if !leaving {
        update = update.filter(outbox::Column::Kind.eq(outbox::KIND_TIMER));
    }
    update.exec(txn).await?;
    Ok(())
}

/// Parks an instance for an operator without moving it (e.g. a notification whose amount does
/// not match): `needs_attention` with the reason.
pub async fn park_instance(
    db: &DatabaseConnection,
    clock: &dyn Clock,
    id: Uuid,
    reason: &str,
) -> Result<(), StoreError> {
    instance::Entity::update_many()
        .col_expr(instance::Column::NeedsAttention, Expr::value(true))
        .col_expr(instance::Column::LastError, Expr::value(reason.to_string()))
        .col_expr(instance::Column::UpdatedAt, Expr::value(clock.now()))
        .filter(instance::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}
