//! The history row every write appends ([`HistoryEntry`]): exactly one per event, park or
//! operator's action, counted in the metrics once written.

use chrono::{DateTime, Utc};
use sea_orm::{ActiveValue::Set, DatabaseTransaction, EntityTrait};
use serde_json::{Map, Value};
use uuid::Uuid;

use super::StoreError;
use super::entity::history;
use super::event::Outcome;
use super::statement_parts::Params;

/// Ignored and rejected events keep their reason in the history detail.
pub(super) fn history_detail(outcome: &Outcome, detail: Option<Value>) -> Option<Value> {
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
    pub(super) fn counted(&self, kind: &str) {
        crate::metrics::transition(kind, self.event, self.outcome);
    }

    /// The `INSERT` of this entry for the instance the `source` CTE returned (none if it
    /// returned none), values bound in `params`.
    pub(super) fn insert_for(&self, source: &str, params: &mut Params) -> String {
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
