//! Cases' rows: the key that names a discrepancy across runs, a day's cases with their states,
//! and a case opened (its workflow, its row and, for a payment or refund not final here, the
//! inquiry it waits for) or refreshed from a later run, each in the caller's transaction.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};
use serde_json::json;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::entity::{self as case, Model as Case};
use super::names;
use crate::store::apply::apply_event_in;
use crate::store::entity::{instance, reconciliation_discrepancy as discrepancy, reconciliation_run as run};
use crate::store::start::{NewInstance, start_instance_in};
use crate::store::{Decider, EventInput, StoreError};

/// Who opens, refreshes and closes cases in history.
pub const ACTOR: &str = "reconciliation";

/// The name of `found` across the runs of its day, agreement and run kind: its kind, its
/// reference and its detail without digits (a corrected amount is the same discrepancy; another
/// total of the same file is another one), as 64 hex digits.
pub fn case_key(run: &run::Model, found: &discrepancy::Model) -> String {
    let detail: String = found.detail.chars().filter(|c| !c.is_ascii_digit()).collect();
    let text = [
        run.kind.as_str(),
        &run.report_date,
        &run.agreement_id,
        &found.kind,
        &found.reference,
        &detail,
    ]
    .join("\u{1f}");
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// The case `found` (of `run`) opens, due at `due_at`, waiting for `object_id`'s inquiry if given.
pub fn new_case(
    run: &run::Model,
    found: &discrepancy::Model,
    object_id: Option<Uuid>,
    due_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Case {
    Case {
        id: Uuid::nil(),
        case_key: case_key(run, found),
        run_kind: run.kind.clone(),
        report_date: run.report_date.clone(),
        agreement_id: run.agreement_id.clone(),
        kind: found.kind.clone(),
        reference: found.reference.clone(),
        ours: found.ours.clone(),
        theirs: found.theirs.clone(),
        detail: found.detail.clone(),
        file: found.file.clone(),
        line: found.line,
        run_id: run.id,
        object_id,
        owner: None,
        due_at,
        created_at: now,
    }
}

/// A case of a day as a later run weighs it: its id, key and workflow state.
#[derive(Debug, Clone)]
pub struct Known {
    pub id: Uuid,
    pub key: String,
    pub state: String,
}

/// The cases of `run`'s day, agreement and run kind, with their states.
pub async fn of_day(db: &impl ConnectionTrait, run: &run::Model) -> Result<Vec<Known>, StoreError> {
    let cases: Vec<(Uuid, String)> = case::Entity::find()
        .select_only()
        .column(case::Column::Id)
        .column(case::Column::CaseKey)
        .filter(case::Column::ReportDate.eq(run.report_date.clone()))
        .filter(case::Column::AgreementId.eq(run.agreement_id.clone()))
        .filter(case::Column::RunKind.eq(run.kind.clone()))
        .into_tuple()
        .all(db)
        .await?;
    let mut known = Vec::with_capacity(cases.len());
    for chunk in cases.chunks(500) {
        let states: std::collections::HashMap<Uuid, String> = instance::Entity::find()
            .select_only()
            .column(instance::Column::Id)
            .column(instance::Column::State)
            .filter(instance::Column::Id.is_in(chunk.iter().map(|(id, _)| *id)))
            .into_tuple::<(Uuid, String)>()
            .all(db)
            .await?
            .into_iter()
            .collect();
        known.extend(chunk.iter().filter_map(|(id, key)| {
            Some(Known {
                id: *id,
                key: key.clone(),
                state: states.get(id)?.clone(),
            })
        }));
    }
    Ok(known)
}

/// Opens `case` in `txn`: its workflow (started by the run), its row under the workflow's id
/// and, if it waits for a payment or refund, the inquiry it waits for. Its id.
pub async fn open_in(
    txn: &DatabaseTransaction,
    decider: Decider<'_>,
    case: Case,
) -> Result<Uuid, StoreError> {
    let new = NewInstance {
        actor: ACTOR.to_string(),
        data: json!({
            "runId": case.run_id, "kind": case.kind, "reference": case.reference,
            "dueAt": case.due_at.to_rfc3339(),
        }),
    };
    let started = start_instance_in(txn, decider, super::KIND, &new).await?;
    let id = started.instance.id;
    let object_id = case.object_id;
    case::Entity::insert(case::ActiveModel::from(Case { id, ..case }))
        .exec_without_returning(txn)
        .await?;
    if let Some(object_id) = object_id {
        let waiting =
            EventInput::new(names::INQUIRY_STARTED, ACTOR).with_detail(json!({ "objectId": object_id }));
        apply_event_in(txn, decider, id, &waiting, Some(&started.instance)).await?;
    }
    Ok(id)
}

/// Copies `latest` (a later run's sighting of case `id`) into its row.
pub async fn refresh_in(txn: &DatabaseTransaction, id: Uuid, latest: &Case) -> Result<(), StoreError> {
    case::Entity::update_many()
        .col_expr(case::Column::Ours, Expr::value(latest.ours.clone()))
        .col_expr(case::Column::Theirs, Expr::value(latest.theirs.clone()))
        .col_expr(case::Column::Detail, Expr::value(latest.detail.clone()))
        .col_expr(case::Column::File, Expr::value(latest.file.clone()))
        .col_expr(case::Column::Line, Expr::value(latest.line))
        .col_expr(case::Column::RunId, Expr::value(latest.run_id))
        .filter(case::Column::Id.eq(id))
        .exec(txn)
        .await?;
    Ok(())
}

/// Sets resolved case `id` aside (its key made its own) so that a new case may take `key`.
pub async fn set_aside_in(txn: &DatabaseTransaction, id: Uuid, key: &str) -> Result<(), StoreError> {
    case::Entity::update_many()
        .col_expr(
            case::Column::CaseKey,
            Expr::value(format!("{key}:{}", id.simple())),
        )
        .filter(case::Column::Id.eq(id))
        .exec(txn)
        .await?;
    Ok(())
}

/// Case `id`, if there is one.
pub async fn get(db: &impl ConnectionTrait, id: Uuid) -> Result<Option<Case>, StoreError> {
    Ok(case::Entity::find_by_id(id).one(db).await?)
}

/// Sets case `id`'s owner in `txn`.
pub async fn set_owner_in(txn: &DatabaseTransaction, id: Uuid, owner: &str) -> Result<(), StoreError> {
    case::Entity::update_many()
        .col_expr(case::Column::Owner, Expr::value(owner))
        .filter(case::Column::Id.eq(id))
        .exec(txn)
        .await?;
    Ok(())
}

/// Up to `limit` cases newest first after `after` (an id), whose workflow is in one of `states`
/// (any, if `None`), each with its workflow.
pub async fn page(
    db: &impl ConnectionTrait,
    states: Option<&[&str]>,
    after: Option<Uuid>,
    limit: u64,
) -> Result<Vec<(Case, instance::Model)>, StoreError> {
    let mut query = case::Entity::find();
    if let Some(states) = states {
        let of_state = sea_orm::sea_query::Query::select()
            .column(instance::Column::Id)
            .from(instance::Entity)
            .and_where(instance::Column::Kind.eq(super::KIND))
            .and_where(instance::Column::State.is_in(states.iter().copied()))
            .to_owned();
        query = query.filter(case::Column::Id.in_subquery(of_state));
    }
    if let Some(after) = after {
        query = query.filter(case::Column::Id.lt(after));
    }
    let cases = query.order_by_desc(case::Column::Id).limit(limit).all(db).await?;
    let mut instances: std::collections::HashMap<Uuid, instance::Model> = instance::Entity::find()
        .filter(instance::Column::Id.is_in(cases.iter().map(|c| c.id)))
        .all(db)
        .await?
        .into_iter()
        .map(|row| (row.id, row))
        .collect();
    Ok(cases
        .into_iter()
        .filter_map(|case| {
            let workflow = instances.remove(&case.id)?;
            Some((case, workflow))
        })
        .collect())
}
