//! What the write path takes and gives back: an event with who caused it and what came with
//! it ([`EventInput`]), how it was decided ([`Outcome`]), and the instance after it ([`Applied`]).

use serde_json::{Map, Value};

use sea_orm::sea_query::{Alias, OnConflict, Query};
use sea_orm::{ConnectionTrait, DbErr, EntityName, EntityTrait, IdenStatic, Iterable, ModelTrait};

use super::entity::{inbound, instance, operator_activity};
use crate::workflow::EventName;

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
    /// A row the event brings (e.g. what Alipay+'s answer stated of a payment's result), written
    /// with the transition and kept as it was first written: a later copy changes nothing.
    pub kept_row: Option<KeptRow>,
    /// The operator's action the event is, recorded in the activity log when it transitions.
    pub activity: Option<operator_activity::Model>,
}

impl EventInput {
    pub fn new(name: EventName, actor: impl Into<String>) -> Self {
        Self {
            name,
            actor: actor.into(),
            detail: None,
            data_patch: None,
            inbound: None,
            kept_row: None,
            activity: None,
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

    /// Records `row` in the activity log with the transition (see [`EventInput::activity`]).
    pub fn with_activity(mut self, row: operator_activity::Model) -> Self {
        self.activity = Some(row);
        self
    }

    pub fn with_inbound(mut self, call: inbound::Model) -> Self {
        self.inbound = Some(call);
        self
    }

    /// Writes `row` with the transition (see [`EventInput::kept_row`]).
    pub fn with_kept_row<M>(mut self, row: &M) -> Self
    where
        M: ModelTrait,
        <M::Entity as EntityTrait>::Column: Iterable,
    {
        self.kept_row = Some(KeptRow::of(row));
        self
    }
}

/// A whole row of any table, as column names and values, to insert unless a row with its key is
/// there already (see [`EventInput::kept_row`]).
#[derive(Debug, Clone)]
pub struct KeptRow {
    pub(super) table: &'static str,
    pub(super) columns: Vec<&'static str>,
    pub(super) values: Vec<sea_orm::Value>,
}

impl KeptRow {
    pub fn of<M>(row: &M) -> Self
    where
        M: ModelTrait,
        <M::Entity as EntityTrait>::Column: Iterable,
    {
        let columns: Vec<_> = <M::Entity as EntityTrait>::Column::iter().collect();
        Self {
            table: M::Entity::default().table_name(),
            columns: columns.iter().map(|column| column.as_str()).collect(),
            values: columns.iter().map(|column| row.get(*column)).collect(),
        }
    }

    /// Inserts the row in `db` (a transaction) unless its key is taken.
    pub(super) async fn insert(&self, db: &impl ConnectionTrait) -> Result<(), DbErr> {
        let statement = Query::insert()
            .into_table(Alias::new(self.table))
            .columns(self.columns.iter().map(|name| Alias::new(*name)))
            .values_panic(self.values.iter().cloned().map(Into::into))
            .on_conflict(OnConflict::new().do_nothing().to_owned())
            .to_owned();
        db.execute(&statement).await?;
        Ok(())
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
