//! The one write path of workflow state. [`start_instance`] and [`apply_event`] each write in
//! ONE transaction: the decision of the pure `workflow::apply` (planned first, see [`Plan`] and
//! [`StartPlan`]), the new state under a version check, exactly one history row, and the outbox
//! rows for the effects and the timer the decision scheduled. An event is decided either on the
//! instance locked in the transaction, or on a copy the caller read earlier, written only if
//! the instance is still at that version. On PostgreSQL, a transition on such a copy and a
//! payment's creation are each written as one statement (data-modifying CTEs, see
//! [`super::cte`]): the same rows, in one round trip.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait as _, DatabaseTransaction, DbBackend, EntityTrait,
    Iterable, ModelTrait, QueryFilter, QuerySelect, UpdateMany,
};
use serde_json::{Map, Value};
use uuid::Uuid;

use super::cte::{self, Params};
use super::entity::outbox::Claim;
use super::entity::{history, inbound, instance, outbox, payment_result};
use super::{StoreError, retry_transient};
use crate::clock::Clock;
use crate::store::Db;
use crate::workflow::{self, Decision, Definition, Definitions, EffectName, EventName, Timer, TimerDue};

/// The actor prefix of operators (`admin:<name>`): the only ones who may move a held instance.
const OPERATOR_ACTOR: &str = "admin";

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
    /// The verified Alipay+ call that carried the event, journaled in the same write as the
    /// event's history row (one commit for a notification and what it did).
    pub inbound: Option<inbound::Model>,
    /// What the answer that carried the event stated of a payment's result, written with the
    /// transition (kept as it was first written: a later copy changes nothing).
    pub payment_result: Option<payment_result::Model>,
}

impl EventInput {
    pub fn new(name: EventName, actor: impl Into<String>) -> Self {
        Self {
            name,
            actor: actor.into(),
            detail: None,
            data_patch: None,
            inbound: None,
            payment_result: None,
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

    pub fn with_inbound(mut self, call: inbound::Model) -> Self {
        self.inbound = Some(call);
        self
    }

    pub fn with_payment_result(mut self, result: payment_result::Model) -> Self {
        self.payment_result = Some(result);
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

/// Who creates an instance, and the data it starts with.
#[derive(Debug, Clone)]
pub struct NewInstance {
    pub actor: String,
    pub data: Value,
}

/// Creates an instance of the newest definition of `kind` in its start state.
pub async fn start_instance(
    db: &Db,
    definitions: &Definitions,
    clock: &dyn Clock,
    kind: &str,
    data: Value,
    actor: &str,
) -> Result<Applied, StoreError> {
    let new_instance = NewInstance {
        actor: actor.to_string(),
        data,
    };
    let txn = db.begin().await?;
    let applied = start_instance_in(&txn, definitions, clock, kind, &new_instance).await?;
    txn.commit().await?;
    Ok(applied)
}

/// [`start_instance`] inside the caller's transaction (creating a refund and its instance, and
/// recording the idempotency key, happen together or not at all).
pub(crate) async fn start_instance_in(
    txn: &DatabaseTransaction,
    definitions: &Definitions,
    clock: &dyn Clock,
    kind: &str,
    new_instance: &NewInstance,
) -> Result<Applied, StoreError> {
    StartPlan::new(definitions, clock, kind, new_instance)?
        .write_in(txn)
        .await
}

/// A new instance as it will be written, decided before anything is: its row, its `created`
/// history entry, and the outbox rows its start schedules.
pub(crate) struct StartPlan {
    instance: instance::Model,
    history: HistoryEntry,
    scheduled: Vec<outbox::Model>,
}

impl StartPlan {
    /// An instance of the newest definition of `kind`, in its start state.
    pub(crate) fn new(
        definitions: &Definitions,
        clock: &dyn Clock,
        kind: &str,
        new_instance: &NewInstance,
    ) -> Result<Self, StoreError> {
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
        let instance = instance::Model {
            id: Uuid::now_v7(),
            kind: kind.to_string(),
            definition_version: definition.version as i32,
            state: to.clone(),
            terminal,
            version: 1,
            needs_attention: false,
            last_error: None,
            data: new_instance.data.clone(),
            created_at: now,
            updated_at: now,
            state_since: Some(now),
        };
        let history = HistoryEntry {
            instance_id: instance.id,
            event: "created",
            from_state: None,
            to_state: Some(to),
            outcome: "TRANSITIONED",
            actor: new_instance.actor.clone(),
            detail: None,
            at: now,
        };
        let scheduled = scheduled_rows(definition, &instance, &effects, timer.as_ref());
        Ok(Self {
            instance,
            history,
            scheduled,
        })
    }

    pub(crate) fn instance_id(&self) -> Uuid {
        self.instance.id
    }

    /// Writes the plan in the caller's transaction.
    pub(crate) async fn write_in(&self, txn: &DatabaseTransaction) -> Result<Applied, StoreError> {
        instance::Entity::insert(instance::ActiveModel::from(self.instance.clone()))
            .exec_without_returning(txn)
            .await?;
        self.history.append(txn).await?;
        insert_outbox(txn, self.scheduled.clone()).await?;
        self.history.counted(&self.instance.kind);
        Ok(self.applied())
    }

    pub(crate) fn applied(&self) -> Applied {
        Applied {
            outcome: Outcome::Transitioned {
                from: String::new(),
                to: self.instance.state.clone(),
            },
            instance: self.instance.clone(),
            effects_scheduled: effects_among(&self.scheduled),
        }
    }
}

/// On PostgreSQL, writes `plan` as ONE statement (data-modifying CTEs) together with `key`,
/// inserted first, and `alongside`, a row that belongs with the instance (the payment whose id
/// is the instance's). If a row with `key`'s primary key exists already, nothing at all is
/// written and this returns false. Saves the BEGIN/COMMIT and four round trips of a
/// transaction; a concurrent statement with the same key waits for this one to commit or roll
/// back, as an `INSERT` in a transaction would.
pub(crate) async fn start_as_one_statement<K, A>(
    db: &Db,
    plan: &StartPlan,
    key: &K,
    alongside: &A,
) -> Result<bool, StoreError>
where
    K: ModelTrait,
    <K::Entity as EntityTrait>::Column: Iterable,
    A: ModelTrait,
    <A::Entity as EntityTrait>::Column: Iterable,
{
    let mut params = Params::default();
    let mut sql = format!("WITH keyed AS ({})", cte::insert_new(key, &mut params));
    sql += &format!(
        ", created AS ({} RETURNING id)",
        cte::insert_if("keyed", std::slice::from_ref(&plan.instance), &mut params)
    );
    if !plan.scheduled.is_empty() {
        sql += &format!(
            ", scheduled AS ({})",
            cte::insert_if("created", &plan.scheduled, &mut params)
        );
    }
    sql += &format!(
        ", alongside AS ({}) ",
        cte::insert_if("created", std::slice::from_ref(alongside), &mut params)
    );
    sql += &plan.history.insert_for("created", &mut params);
    let wrote = cte::wrote_one_row(db, sql, params).await?;
    if wrote {
        plan.history.counted(&plan.instance.kind);
    }
    Ok(wrote)
}

/// Applies `event` to instance `id` in its own transaction, retried if it lost a race.
///
/// `seen` is the instance as the caller read it earlier, if it did: the decision is then taken
/// on that copy and written only if the instance is still at that version (on PostgreSQL a
/// transition is then one statement of data-modifying CTEs); otherwise, or if the
/// event would not transition from there, the instance is locked, read and decided on afresh.
pub async fn apply_event(
    db: &Db,
    definitions: &Definitions,
    clock: &dyn Clock,
    id: Uuid,
    event: EventInput,
    seen: Option<&instance::Model>,
) -> Result<Applied, StoreError> {
    let mut seen = seen.filter(|seen| seen.id == id);
    if let Some(copy) = seen {
        match apply_as_one_statement(db, definitions, clock, copy, &event, None).await? {
            OneStatement::Written(applied) => return Ok(*applied),
            OneStatement::Missed => seen = None,
            OneStatement::NotTried => {}
        }
    }
    retry_transient(|| async {
        let txn = db.begin().await?;
        let applied = apply_event_in(&txn, definitions, clock, id, &event, seen).await?;
        txn.commit().await?;
        Ok(applied)
    })
    .await
}

/// What [`apply_as_one_statement`] did.
pub(crate) enum OneStatement {
    Written(Box<Applied>),
    /// Nothing written: the instance moved on since `seen` was read (or, when closing a claim,
    /// the claim no longer holds its row). Decide again on the locked instance.
    Missed,
    /// Nothing written or tried: not PostgreSQL, or the event does not transition `seen` (an
    /// ignored or rejected outcome is recorded only against a locked, current instance).
    NotTried,
}

/// On PostgreSQL, applies `event` to `seen` as one statement (see [`write_as_one_statement`]),
/// marking the `closing` claim's row done with it when the event came from that effect.
pub(crate) async fn apply_as_one_statement(
    db: &Db,
    definitions: &Definitions,
    clock: &dyn Clock,
    seen: &instance::Model,
    event: &EventInput,
    closing: Option<Claim>,
) -> Result<OneStatement, StoreError> {
    if db.get_database_backend() != DbBackend::Postgres {
        return Ok(OneStatement::NotTried);
    }
    let plan = plan(definitions, clock, seen, event)?;
    if !plan.transitions() {
        return Ok(OneStatement::NotTried);
    }
    let written = retry_transient(|| write_as_one_statement(db, &plan, closing)).await?;
    Ok(written.map_or(OneStatement::Missed, |applied| {
        OneStatement::Written(Box::new(applied))
    }))
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
    if let Some(seen) = seen.filter(|seen| seen.id == id) {
        let plan = plan(definitions, clock, seen, event)?;
        // An ignored or rejected outcome is recorded only against a locked, current instance.
        if plan.transitions()
            && let Some(applied) = write(txn, &plan).await?
        {
            return Ok(applied);
        }
    }
    let current = lock_instance(txn, id).await?;
    let plan = plan(definitions, clock, &current, event)?;
    write(txn, &plan).await?.ok_or(StoreError::Conflict)
}

/// What an event does to an instance, decided on a copy of it before anything is written.
struct Plan {
    outcome: Outcome,
    /// The instance as it was decided on, and as it is after the event.
    before: instance::Model,
    after: instance::Model,
    /// Whether the left state's pending rows are marked stale: its timers always, its unstarted
    /// effects too when the state is left (the runner would only find them stale).
    disarm: Option<Disarm>,
    scheduled: Vec<outbox::Model>,
    history: HistoryEntry,
    /// The inbound call that carried the event, journaled with the history row.
    inbound: Option<inbound::Model>,
    /// Written when the plan transitions (see [`EventInput::payment_result`]).
    payment_result: Option<payment_result::Model>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Disarm {
    Timers,
    TimersAndEffects,
}

impl Plan {
    fn transitions(&self) -> bool {
        matches!(self.outcome, Outcome::Transitioned { .. })
    }

    fn applied(&self) -> Applied {
        Applied {
            outcome: self.outcome.clone(),
            instance: self.after.clone(),
            effects_scheduled: effects_among(&self.scheduled),
        }
    }
}

/// The definition (kind and version) `instance` runs on.
fn definition_of<'a>(
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
fn plan(
    definitions: &Definitions,
    clock: &dyn Clock,
    current: &instance::Model,
    event: &EventInput,
) -> Result<Plan, StoreError> {
    let definition = definition_of(definitions, current)?;
    let now = clock.now();
    let decision = match hold_of(current) {
        // Held for a money reason: only an operator moves it (DESIGN 9).
        Some(hold) if !event.actor.starts_with(OPERATOR_ACTOR) => Decision::Rejected {
            reason: format!("held for an operator: {hold}"),
        },
        _ => workflow::apply(definition, &current.state, event.name),
    };
    let (outcome, after, disarm, scheduled) = match decision {
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
            let outcome = Outcome::Transitioned {
                from: current.state.clone(),
                to,
            };
            (outcome, after, disarm, scheduled)
        }
        Decision::Ignored { reason } => (Outcome::Ignored { reason }, current.clone(), None, vec![]),
        Decision::Rejected { reason } => (Outcome::Rejected { reason }, current.clone(), None, vec![]),
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
        payment_result: event.payment_result.clone(),
    })
}

/// Writes `plan` in the caller's transaction. Returns `None`, having written nothing, if the
/// instance is no longer at the version the plan was decided on.
async fn write(txn: &DatabaseTransaction, plan: &Plan) -> Result<Option<Applied>, StoreError> {
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
        if let Some(result) = &plan.payment_result {
            payment_result::Entity::insert(payment_result::ActiveModel::from(result.clone()))
                .on_conflict(
                    sea_orm::sea_query::OnConflict::column(payment_result::Column::PaymentId)
                        .do_nothing()
                        .to_owned(),
                )
                .exec_without_returning(txn)
                .await?;
        }
    }
    plan.history.append(txn).await?;
    if let Some(call) = &plan.inbound {
        super::inbound::insert(txn, call.clone()).await?;
    }
    insert_outbox(txn, plan.scheduled.clone()).await?;
    plan.history.counted(&plan.before.kind);
    Ok(Some(plan.applied()))
}

/// Writes a transition `plan` as ONE statement, in its own implicit transaction (PostgreSQL:
/// data-modifying CTEs): the versioned instance update, the disarm, the new outbox rows, the
/// inbound call's journal row and the history row, each but the first conditional on the
/// update having hit. Saves the BEGIN/COMMIT and three round trips of [`write`]. `None`, with nothing written, if the
/// instance moved on.
///
/// With `closing`, the claimed outbox row whose effect produced the event is marked done in the
/// same statement, and nothing is written unless the claim still holds it (its row is locked
/// first, so the claim cannot change hands while the instance moves).
async fn write_as_one_statement(
    db: &Db,
    plan: &Plan,
    closing: Option<Claim>,
) -> Result<Option<Applied>, StoreError> {
    let (before, after) = (&plan.before, &plan.after);
    let mut params = Params::default();
    let now = params.bind(after.updated_at);
    let mut sql = String::from("WITH ");
    let mut held = String::new();
    if let Some(claim) = closing {
        sql += &format!(
            "held AS (SELECT id FROM outbox WHERE id = {} AND lease_token = {} AND status = '{}' FOR UPDATE), ",
            params.bind(claim.id),
            params.bind(claim.lease_token),
            outbox::STATUS_CLAIMED,
        );
        held = " AND EXISTS (SELECT 1 FROM held)".into();
    }
    sql += &format!(
        "moved AS (UPDATE workflow_instances SET state = {}, terminal = {}, version = {}, \
         needs_attention = {}, last_error = {}, data = {}, updated_at = {now}, state_since = {} \
         WHERE id = {} AND version = {}{held} RETURNING id)",
        params.bind(after.state.clone()),
        params.bind(after.terminal),
        params.bind(after.version),
        params.bind(after.needs_attention),
        params.bind(after.last_error.clone()),
        params.bind(after.data.clone()),
        params.bind(after.state_since),
        params.bind(after.id),
        params.bind(before.version),
    );
    if closing.is_some() {
        sql += &format!(
            ", closed AS (UPDATE outbox SET status = '{}', last_error = NULL, updated_at = {now} \
             WHERE id IN (SELECT id FROM held) AND EXISTS (SELECT 1 FROM moved))",
            outbox::STATUS_DONE,
        );
    }
    if let Some(disarm) = plan.disarm {
        sql += &format!(
            ", disarmed AS (UPDATE outbox SET status = '{}', updated_at = {now} WHERE instance_id IN (SELECT id FROM moved) \
             AND scheduled_in_state = {} AND status = '{}'{})",
            outbox::STATUS_STALE,
            params.bind(before.state.clone()),
            outbox::STATUS_PENDING,
            match disarm {
                Disarm::Timers => format!(" AND kind = '{}'", outbox::KIND_TIMER),
                Disarm::TimersAndEffects => String::new(),
            }
        );
    }
    if !plan.scheduled.is_empty() {
        sql += &format!(
            ", scheduled AS ({})",
            cte::insert_if("moved", &plan.scheduled, &mut params)
        );
    }
    if let Some(result) = &plan.payment_result {
        sql += &format!(
            ", resulted AS ({} ON CONFLICT DO NOTHING)",
            cte::insert_if("moved", std::slice::from_ref(result), &mut params)
        );
    }
    if let Some(call) = &plan.inbound {
        sql += &format!(
            ", journaled AS ({})",
            cte::insert_if("moved", std::slice::from_ref(call), &mut params)
        );
    }
    sql += " ";
    sql += &plan.history.insert_for("moved", &mut params);
    let written = cte::wrote_one_row(db, sql, params).await?;
    if written {
        plan.history.counted(&plan.before.kind);
    }
    Ok(written.then(|| plan.applied()))
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

/// One row of an instance's history.
#[derive(Debug, Clone)]
pub(super) struct HistoryEntry {
    pub(super) instance_id: Uuid,
    pub(super) event: &'static str,
    pub(super) from_state: Option<String>,
    pub(super) to_state: Option<String>,
    /// TRANSITIONED, IGNORED, REJECTED, PARKED, OPERATOR or ANSWER.
    pub(super) outcome: &'static str,
    pub(super) actor: String,
    pub(super) detail: Option<Value>,
    pub(super) at: DateTime<Utc>,
}

impl HistoryEntry {
    /// Counts the entry in the metrics, once written (`plusflow_transitions_total`; a
    /// transaction retried after a lost race may count its entry again).
    fn counted(&self, kind: &str) {
        crate::metrics::transition(kind, self.event, self.outcome);
    }

    /// The `INSERT` of this entry for the instance the `source` CTE returned (none if it
    /// returned none), values bound in `params`.
    fn insert_for(&self, source: &str, params: &mut Params) -> String {
        format!(
            "INSERT INTO workflow_history (instance_id, event, from_state, to_state, outcome, actor, detail, at) \
             SELECT id, {}, {}, {}, {}, {}, {}, {} FROM {source}",
            params.bind(self.event),
            params.bind(self.from_state.clone()),
            params.bind(self.to_state.clone()),
            params.bind(self.outcome),
            params.bind(self.actor.clone()),
            params.bind(self.detail.clone()),
            params.bind(self.at),
        )
    }

    pub(super) async fn append(&self, txn: &DatabaseTransaction) -> Result<(), StoreError> {
        let row = history::ActiveModel {
            instance_id: Set(self.instance_id),
            event: Set(self.event.to_string()),
            from_state: Set(self.from_state.clone()),
            to_state: Set(self.to_state.clone()),
            outcome: Set(self.outcome.to_string()),
            actor: Set(self.actor.clone()),
            detail: Set(self.detail.clone()),
            at: Set(self.at),
            ..Default::default()
        };
        history::Entity::insert(row).exec_without_returning(txn).await?;
        Ok(())
    }
}

/// The outbox rows of a decision that leaves the instance as `entered`: each effect its data
/// does not turn off, due per its retry policy (at once unless it says otherwise), and the
/// state's timer due later.
fn scheduled_rows(
    definition: &Definition,
    entered: &instance::Model,
    effects: &[EffectName],
    timer: Option<&Timer>,
) -> Vec<outbox::Model> {
    let now = entered.updated_at;
    let row = |kind: &str, name: &str, due_at_ms: i64, max_attempts: u32| outbox::Model {
        id: Uuid::now_v7(),
        instance_id: entered.id,
        kind: kind.to_string(),
        name: name.to_string(),
        scheduled_in_state: entered.state.clone(),
        payload: Value::Object(Map::new()),
        due_at_ms,
        attempts: 0,
        max_attempts: max_attempts as i32,
        status: outbox::STATUS_PENDING.to_string(),
        lease_token: None,
        lease_until_ms: None,
        claimed_by: None,
        last_error: None,
        created_at: now,
        updated_at: now,
    };
    let mut rows: Vec<outbox::Model> = effects
        .iter()
        .filter(|effect| definition.enabled_for(**effect, &entered.data))
        .map(|effect| {
            let policy = definition.retry_policy(*effect);
            let due = now.timestamp_millis() + policy.first_after.as_millis() as i64;
            row(outbox::KIND_EFFECT, (*effect).into(), due, policy.attempts)
        })
        .collect();
    if let Some(timer) = timer {
        let due = match &timer.due {
            TimerDue::After(after) => now.timestamp_millis() + after.as_millis() as i64,
            TimerDue::At(key) => entered
                .data
                .get(key)
                .and_then(Value::as_str)
                .and_then(|time| DateTime::parse_from_rfc3339(time).ok())
                .map_or(now.timestamp_millis(), |time| time.timestamp_millis()),
        };
        rows.push(row(
            outbox::KIND_TIMER,
            timer.on_timeout.into(),
            due,
            definition.default_retry.attempts,
        ));
    }
    rows
}

/// How many of the `scheduled` rows are effects (due now, so a relay may be woken).
fn effects_among(scheduled: &[outbox::Model]) -> usize {
    scheduled
        .iter()
        .filter(|row| row.kind == outbox::KIND_EFFECT)
        .count()
}

async fn insert_outbox(txn: &DatabaseTransaction, rows: Vec<outbox::Model>) -> Result<(), StoreError> {
    if !rows.is_empty() {
        outbox::Entity::insert_many(rows.into_iter().map(outbox::ActiveModel::from))
            .exec_without_returning(txn)
            .await?;
    }
    Ok(())
}

/// Marks stale what `left`'s state scheduled and nobody has started (see [`Disarm`]).
fn disarm_update(left: &instance::Model, disarm: Disarm, now: DateTime<Utc>) -> UpdateMany<outbox::Entity> {
    let update = outbox::Entity::update_many()
        .col_expr(outbox::Column::Status, Expr::value(outbox::STATUS_STALE))
        .col_expr(outbox::Column::UpdatedAt, Expr::value(now))
        .filter(outbox::Column::InstanceId.eq(left.id))
        .filter(outbox::Column::ScheduledInState.eq(left.state.clone()))
        .filter(outbox::Column::Status.eq(outbox::STATUS_PENDING));
    match disarm {
        Disarm::Timers => update.filter(outbox::Column::Kind.eq(outbox::KIND_TIMER)),
        Disarm::TimersAndEffects => update,
    }
}

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

/// The instance-data key of a hold (see [`Park::hold`]); an operator's action clears it.
const HOLD_KEY: &str = "hold";

/// The instance data's hold reason, if it is held.
fn hold_of(instance: &instance::Model) -> Option<&str> {
    instance.data.get(HOLD_KEY).and_then(Value::as_str)
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

/// Applies an operator's `action` to instance `id` through the write path, in one transaction:
/// the instance locked, its rows changed, the version bumped, and one history row (outcome
/// `OPERATOR`, the actor and the `note` in it). Refused, with nothing written, where it makes no
/// sense: a finished instance, no effect to retry, nothing waiting for an operator.
pub async fn operator_action(
    db: &Db,
    definitions: &Definitions,
    clock: &dyn Clock,
    id: Uuid,
    action: OperatorAction,
    actor: &str,
    note: &str,
) -> Result<ActionResult, StoreError> {
    retry_transient(|| async {
        let txn = db.begin().await?;
        let current = lock_instance(&txn, id).await?;
        let done = match action {
            OperatorAction::Retry => retry_effects_in(&txn, clock, &current).await?,
            OperatorAction::Resume => resume_in(&txn, definitions, clock, &current).await?,
        };
        let (detail, after) = match done {
            Ok(done) => done,
            Err(refused) => return Ok(Err(refused)),
        };
        let mut detail = detail;
        detail.insert("note".into(), Value::String(note.to_string()));
        let entry = HistoryEntry {
            instance_id: id,
            event: action.event(),
            from_state: Some(current.state.clone()),
            to_state: None,
            outcome: "OPERATOR",
            actor: actor.to_string(),
            detail: Some(Value::Object(detail)),
            at: after.updated_at,
        };
        entry.append(&txn).await?;
        txn.commit().await?;
        entry.counted(&current.kind);
        Ok(Ok(after))
    })
    .await
}

/// What an action changed (for its history row) and the instance after it, or why not.
type Done = Result<(Map<String, Value>, instance::Model), String>;

async fn retry_effects_in(
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

async fn resume_in(
    txn: &DatabaseTransaction,
    definitions: &Definitions,
    clock: &dyn Clock,
    current: &instance::Model,
) -> Result<Done, StoreError> {
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

/// Every column a write may change, set from `after` (filter it to the row, and to the version
/// decided on where that matters).
fn instance_update(after: &instance::Model) -> UpdateMany<instance::Entity> {
    instance::Entity::update_many()
        .col_expr(instance::Column::State, Expr::value(after.state.clone()))
        .col_expr(instance::Column::Terminal, Expr::value(after.terminal))
        .col_expr(instance::Column::Version, Expr::value(after.version))
        .col_expr(
            instance::Column::NeedsAttention,
            Expr::value(after.needs_attention),
        )
        .col_expr(instance::Column::LastError, Expr::value(after.last_error.clone()))
        .col_expr(instance::Column::Data, Expr::value(after.data.clone()))
        .col_expr(instance::Column::UpdatedAt, Expr::value(after.updated_at))
        .col_expr(instance::Column::StateSince, Expr::value(after.state_since))
}

/// The instance in its state with `data`, waiting for an operator for `attention` (or not), its
/// version bumped: a park, or an operator's change.
async fn touch(
    txn: &DatabaseTransaction,
    current: &instance::Model,
    attention: Option<String>,
    data: Value,
    now: DateTime<Utc>,
) -> Result<instance::Model, StoreError> {
    let after = instance::Model {
        version: current.version + 1,
        needs_attention: attention.is_some(),
        last_error: attention,
        data,
        updated_at: now,
        ..current.clone()
    };
    instance_update(&after)
        .filter(instance::Column::Id.eq(current.id))
        .exec(txn)
        .await?;
    Ok(after)
}
