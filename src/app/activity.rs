//! The operators' activity log: what every operator did, system-wide (who, with which role,
//! what, on which objects, with the note, when). A workflow action's row is written in the
//! action's own transaction (`store::operator_action`, a forced event, a bulk action's start);
//! an action outside the workflows (a key, a webhook endpoint) records its row once it is done.

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::Engine;
use super::errors::AppError;
use super::operator::{Operator, id_page};
use crate::store::activity::{self, ActivityFilter};
use crate::store::entity::operator_activity;

impl Operator {
    /// The activity row of this operator doing `action` (the mutation's or command's name) on
    /// `object_ids` with `note`, at `at`; its kind is the workflow's, where one is acted on.
    pub fn activity(
        &self,
        at: DateTime<Utc>,
        action: &str,
        object_ids: &[String],
        note: &str,
    ) -> operator_activity::Model {
        operator_activity::Model {
            id: activity::id_at(at),
            at,
            operator: self.name.clone(),
            role: self.role.to_string(),
            action: action.to_string(),
            kind: None,
            object_ids: Value::from(object_ids.to_vec()),
            note: note.to_string(),
        }
    }
}

/// Records `operator` doing `action` on `object_ids` (of `kind`, if a workflow kind) now, for an
/// action that is not a workflow's event (those record their row in their own transaction).
pub async fn record(
    engine: &Engine,
    operator: &Operator,
    action: &str,
    kind: Option<&str>,
    object_ids: &[String],
    note: &str,
) -> Result<(), AppError> {
    let row = operator_activity::Model {
        kind: kind.map(str::to_string),
        ..operator.activity(engine.clock.now(), action, object_ids, note)
    };
    activity::insert_in(&engine.db, row).await?;
    Ok(())
}

/// One page of the activity log matching `filter`, newest first, and whether more follow.
pub async fn list(
    engine: &Engine,
    filter: &ActivityFilter,
    first: Option<i32>,
    after: Option<&str>,
) -> Result<(Vec<operator_activity::Model>, bool), AppError> {
    let (first, before) = id_page(first, after)?;
    let rows = activity::list(&engine.db, filter, first + 1, before).await?;
    Ok(super::page::cut(rows, first))
}
