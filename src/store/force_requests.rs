//! Forced events waiting for a second operator ([`force_request`]): asked for with the activity
//! row of the request in one transaction, approved with the event applied through the forced
//! write path (`super::force`) and the request marked in the same transaction, so an approval
//! applies its event once or not at all.

use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use super::activity;
use super::entity::{force_request, operator_activity};
use super::event::{Applied, EventInput};
use super::force::{ForceRefused, force_event_in};
use super::instance_write::lock_instance;
use super::{Db, Decider, StoreError, retry_transient};

/// Records `request` and the operator's `activity` row asking for it, in one transaction.
pub async fn insert(
    db: &Db,
    request: force_request::Model,
    activity: operator_activity::Model,
) -> Result<(), StoreError> {
    let txn = db.begin().await?;
    force_request::Entity::insert(force_request::ActiveModel::from(request))
        .exec_without_returning(&txn)
        .await?;
    activity::insert_in(&txn, activity).await?;
    txn.commit().await?;
    Ok(())
}

pub async fn get(db: &impl ConnectionTrait, id: Uuid) -> Result<Option<force_request::Model>, StoreError> {
    Ok(force_request::Entity::find_by_id(id).one(db).await?)
}

/// Up to `limit` requests (with `status`, if given), newest first, older than `before`.
pub async fn list(
    db: &impl ConnectionTrait,
    status: Option<&str>,
    limit: u64,
    before: Option<Uuid>,
) -> Result<Vec<force_request::Model>, StoreError> {
    let mut select = force_request::Entity::find();
    if let Some(status) = status {
        select = select.filter(force_request::Column::Status.eq(status));
    }
    if let Some(before) = before {
        select = select.filter(force_request::Column::Id.lt(before));
    }
    Ok(select
        .order_by_desc(force_request::Column::Id)
        .limit(limit)
        .all(db)
        .await?)
}

/// What came of an approval.
#[derive(Debug)]
pub enum Approval {
    Applied(Box<Applied>),
    /// Not waiting (approved already, or stale): its status.
    NotPending(String),
    /// The workflow left the state the force was asked from (the request is now STALE).
    Stale {
        from: String,
        now: String,
    },
    /// The forced write path refused it (nothing written; the request still waits).
    Refused(ForceRefused),
}

/// Approves request `id` by `decided_by` with `note`: the event `event_of` makes of it is forced
/// through [`force_event_in`] and the request marked APPROVED in the same transaction.
pub async fn approve(
    db: &Db,
    decider: Decider<'_>,
    id: Uuid,
    decided_by: &str,
    note: &str,
    event_of: impl Fn(&force_request::Model) -> EventInput,
) -> Result<Option<Approval>, StoreError> {
    retry_transient(|| async {
        let txn = db.begin().await?;
        let Some(request) = get(&txn, id).await? else {
            return Ok(None);
        };
        let current = lock_instance(&txn, request.instance_id).await?;
        let status = if current.state == request.from_state {
            force_request::STATUS_APPROVED
        } else {
            force_request::STATUS_STALE
        };
        let marked = force_request::Entity::update_many()
            .col_expr(force_request::Column::Status, Expr::value(status))
            .col_expr(force_request::Column::DecidedBy, Expr::value(decided_by))
            .col_expr(force_request::Column::DecisionNote, Expr::value(note))
            .col_expr(force_request::Column::DecidedAt, Expr::value(decider.clock.now()))
            .filter(force_request::Column::Id.eq(id))
            .filter(force_request::Column::Status.eq(force_request::STATUS_PENDING))
            .exec(&txn)
            .await?;
        if marked.rows_affected != 1 {
            return Ok(Some(Approval::NotPending(request.status)));
        }
        if status == force_request::STATUS_STALE {
            txn.commit().await?;
            return Ok(Some(Approval::Stale {
                from: request.from_state,
                now: current.state,
            }));
        }
        match force_event_in(&txn, decider, request.instance_id, &event_of(&request)).await? {
            Ok(applied) => {
                txn.commit().await?;
                Ok(Some(Approval::Applied(Box::new(applied))))
            }
            Err(refused) => Ok(Some(Approval::Refused(refused))),
        }
    })
    .await
}
