//! Creating an instance: its row, its `created` history entry and the outbox rows its start
//! schedules, decided first ([`StartPlan`]) and written in one transaction, or on PostgreSQL
//! with a payment's idempotency key and row as one statement ([`start_as_one_statement`]).

use sea_orm::{DatabaseTransaction, EntityTrait, Iterable, ModelTrait};
use serde_json::Value;
use uuid::Uuid;

use super::Decider;
use super::StoreError;
use super::entity::{instance, outbox};
use super::event::{Applied, Outcome};
use super::feed::{plan_event, record_in};
use super::history::HistoryEntry;
use super::schedule::{effects_among, insert_outbox, scheduled_rows};
use super::statement_parts::{self, Params};
use crate::store::Db;
use crate::workflow::{self, Decision};

/// Who creates an instance, and the data it starts with.
#[derive(Debug, Clone)]
pub struct NewInstance {
    pub actor: String,
    pub data: Value,
}

/// Creates an instance of the newest definition of `kind` in its start state.
pub async fn start_instance(
    db: &Db,
    decider: Decider<'_>,
    kind: &str,
    data: Value,
    actor: &str,
) -> Result<Applied, StoreError> {
    let new_instance = NewInstance {
        actor: actor.to_string(),
        data,
    };
    let txn = db.begin().await?;
    let applied = start_instance_in(&txn, decider, kind, &new_instance).await?;
    txn.commit().await?;
    Ok(applied)
}

/// [`start_instance`] inside the caller's transaction (creating a refund and its instance, and
/// recording the idempotency key, happen together or not at all).
pub(crate) async fn start_instance_in(
    txn: &DatabaseTransaction,
    decider: Decider<'_>,
    kind: &str,
    new_instance: &NewInstance,
) -> Result<Applied, StoreError> {
    StartPlan::new(decider, kind, new_instance)?.write_in(txn).await
}

/// A new instance as it will be written, decided before anything is: its row, its `created`
/// history entry, the outbox rows its start schedules, and its merchant's event if the start
/// announces (written last, after the caller's own rows of it).
pub(crate) struct StartPlan<'a> {
    decider: Decider<'a>,
    instance: instance::Model,
    history: HistoryEntry,
    scheduled: Vec<outbox::Model>,
    event: Option<Uuid>,
}

impl<'a> StartPlan<'a> {
    /// An instance of the newest definition of `kind`, in its start state.
    pub(crate) fn new(
        decider: Decider<'a>,
        kind: &str,
        new_instance: &NewInstance,
    ) -> Result<Self, StoreError> {
        let Decider {
            definitions,
            clock,
            announcer,
        } = decider;
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
            trace_context: crate::telemetry::current_traceparent(),
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
        let event = announcer.and_then(|_| plan_event(&effects));
        Ok(Self {
            decider,
            instance,
            history,
            scheduled,
            event,
        })
    }

    pub(crate) fn instance_id(&self) -> Uuid {
        self.instance.id
    }

    /// Whether the start writes its merchant's event (it then needs the transaction: PostgreSQL's
    /// one-statement start is not for it).
    pub(crate) fn announces(&self) -> bool {
        self.event.is_some()
    }

    /// Writes the plan in the caller's transaction; a caller writing the kind's own row of the
    /// instance writes it first, so the event announces it.
    pub(crate) async fn write_in(&self, txn: &DatabaseTransaction) -> Result<Applied, StoreError> {
        instance::Entity::insert(instance::ActiveModel::from(self.instance.clone()))
            .exec_without_returning(txn)
            .await?;
        self.history.append(txn).await?;
        insert_outbox(txn, self.scheduled.clone()).await?;
        if let (Some(id), Some(announcer)) = (self.event, self.decider.announcer) {
            record_in(txn, announcer, self.decider.definitions, &self.instance, id).await?;
        }
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
    plan: &StartPlan<'_>,
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
    let mut sql = format!(
        "WITH keyed AS ({})",
        statement_parts::insert_new(key, &mut params)
    );
    sql += &format!(
        ", created AS ({} RETURNING id)",
        statement_parts::insert_if("keyed", std::slice::from_ref(&plan.instance), &mut params)
    );
    if !plan.scheduled.is_empty() {
        sql += &format!(
            ", scheduled AS ({})",
            statement_parts::insert_if("created", &plan.scheduled, &mut params)
        );
    }
    sql += &format!(
        ", alongside AS ({}) ",
        statement_parts::insert_if("created", std::slice::from_ref(alongside), &mut params)
    );
    sql += &plan.history.insert_for("created", &mut params);
    let wrote = statement_parts::wrote_one_row(db, sql, params).await?;
    if wrote {
        plan.history.counted(&plan.instance.kind);
    }
    Ok(wrote)
}
