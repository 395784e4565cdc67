//! Outbox operations: claiming due rows under a lease (`FOR UPDATE SKIP LOCKED` on PostgreSQL),
//! and closing a claim: done (with the event it produced, in the same transaction), stale, or
//! failed (rescheduled with backoff, or the instance parked as needs-attention).
//!
//! A claim is identified by `(row id, lease token)`. Only the holder of the current token may
//! close it, so a delivery that arrives twice (Redis redelivery, an expired lease re-claimed)
//! is recorded once.

use std::time::Duration;

use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, Statement};
use uuid::Uuid;

use super::Decider;
use super::apply::apply_event_in;
pub use super::entity::outbox::Claim;
use super::entity::{instance, outbox};
use super::event::EventInput;
use super::one_statement::{OneStatement, apply_as_one_statement};
use super::park::{Park, park_in};
use super::{StoreError, retry_transient, with_instance};
use crate::clock::Clock;
use crate::store::Db;
use crate::workflow::RetryPolicy;

/// Claims up to `batch` rows that are due, or whose lease expired, for `worker`; each with the
/// trace context it was written in.
pub async fn claim_due(
    db: &Db,
    clock: &dyn Clock,
    lease: Duration,
    batch: u32,
    worker: &str,
) -> Result<Vec<(Claim, Option<String>)>, StoreError> {
    let now_ms = clock.now_ms();
    let token = Uuid::now_v7();
    let lease_until = now_ms + lease.as_millis() as i64;
    let backend = db.get_database_backend();
    let sql = match backend {
        // Each kind of claimable row is read by its own ordered index scan (one `OR` made it a
        // bitmap scan): an index scan marks the entries of rows that have moved on as dead, so
        // the partial indexes stay small between vacuums instead of being re-read in full.
        // Expired leases come first: they are older work (and rare), and a steady stream of
        // due rows must not keep them waiting forever.
        DbBackend::Postgres => {
            "WITH due AS (SELECT id FROM outbox WHERE status = 'pending' AND due_at_ms <= $4 \
                 ORDER BY due_at_ms LIMIT $5 FOR UPDATE SKIP LOCKED), \
             expired AS (SELECT id FROM outbox WHERE status = 'claimed' AND lease_until_ms < $4 \
                 ORDER BY lease_until_ms LIMIT $5 FOR UPDATE SKIP LOCKED) \
             UPDATE outbox SET status = 'claimed', lease_token = $1, lease_until_ms = $2, claimed_by = $3 \
             WHERE id IN (SELECT id FROM (SELECT id FROM expired UNION ALL SELECT id FROM due) AS claimable LIMIT $5) \
             RETURNING id, trace_context"
        }
        _ => {
            // Numbered parameters throughout: a bare `?` after `?4` did not bind the limit.
            "UPDATE outbox SET status = 'claimed', lease_token = ?1, lease_until_ms = ?2, claimed_by = ?3 \
             WHERE id IN (SELECT id FROM outbox \
                 WHERE (status = 'pending' AND due_at_ms <= ?4) OR (status = 'claimed' AND lease_until_ms < ?4) \
                 ORDER BY due_at_ms LIMIT ?5) \
             RETURNING id, trace_context"
        }
    };
    let values: Vec<sea_orm::Value> = vec![
        token.into(),
        lease_until.into(),
        worker.to_string().into(),
        now_ms.into(),
        i64::from(batch).into(),
    ];
    let rows = retry_transient(|| async {
        Ok(db
            .query_all_raw(Statement::from_sql_and_values(backend, sql, values.clone()))
            .await?)
    })
    .await?;
    rows.iter()
        .map(|row| {
            let claim = Claim {
                id: row.try_get("", "id")?,
                lease_token: token,
            };
            Ok((claim, row.try_get("", "trace_context")?))
        })
        .collect()
}

/// Renews `claim`'s lease: its row is held for `lease` from now, if the claim still holds it
/// and its lease has not run out. `false` means the claim is over: the row may be claimed
/// again by anyone (or already is), so its effect must stop. With [`load_claimed`] refusing a
/// delivery whose lease ran out, a claim's effect never runs while a second claim of the same
/// row runs it too.
pub async fn extend_lease(
    db: &Db,
    clock: &dyn Clock,
    claim: Claim,
    lease: Duration,
) -> Result<bool, StoreError> {
    let now_ms = clock.now_ms();
    let result = retry_transient(|| async {
        Ok(outbox::Entity::update_many()
            .col_expr(
                outbox::Column::LeaseUntilMs,
                Expr::value(now_ms + lease.as_millis() as i64),
            )
            .filter(outbox::Column::Id.eq(claim.id))
            .filter(outbox::Column::LeaseToken.eq(claim.lease_token))
            .filter(outbox::Column::Status.eq(outbox::STATUS_CLAIMED))
            .filter(outbox::Column::LeaseUntilMs.gte(now_ms))
            .exec(db)
            .await?)
    })
    .await?;
    Ok(result.rows_affected == 1)
}

/// Rows `worker`'s relay claimed that are not closed yet and whose lease still runs: queued or
/// running somewhere. (A claim whose lease ran out no longer counts: it is claimable again, a
/// lost delivery among them.)
pub async fn outstanding_claims(db: &Db, clock: &dyn Clock, worker: &str) -> Result<u64, StoreError> {
    use sea_orm::PaginatorTrait;
    Ok(outbox::Entity::find()
        .filter(outbox::Column::Status.eq(outbox::STATUS_CLAIMED))
        .filter(outbox::Column::LeaseUntilMs.gte(clock.now_ms()))
        .filter(outbox::Column::ClaimedBy.eq(worker))
        .count(db)
        .await?)
}

/// Rows due now or held by a claim: work the relay and workers still have to do.
pub async fn outbox_backlog(db: &Db, now_ms: i64) -> Result<u64, StoreError> {
    use sea_orm::{Condition, PaginatorTrait};
    let due = Condition::all()
        .add(outbox::Column::Status.eq(outbox::STATUS_PENDING))
        .add(outbox::Column::DueAtMs.lte(now_ms));
    Ok(outbox::Entity::find()
        .filter(
            Condition::any()
                .add(due)
                .add(outbox::Column::Status.eq(outbox::STATUS_CLAIMED)),
        )
        .count(db)
        .await?)
}

/// The rows `claim` still holds (its token, still claimed).
fn held_by(claim: Claim) -> sea_orm::Select<outbox::Entity> {
    outbox::Entity::find_by_id(claim.id)
        .filter(outbox::Column::Status.eq(outbox::STATUS_CLAIMED))
        .filter(outbox::Column::LeaseToken.eq(claim.lease_token))
}

/// The claimed row and its instance (one query), if `claim` still holds the row and its lease
/// has not run out: a delivery that waited in the queue past its lease may have been claimed
/// again, and must not start.
pub async fn load_claimed(
    db: &Db,
    clock: &dyn Clock,
    claim: Claim,
) -> Result<Option<(outbox::Model, instance::Model)>, StoreError> {
    let found = held_by(claim)
        .filter(outbox::Column::LeaseUntilMs.gte(clock.now_ms()))
        .find_also_related(instance::Entity)
        .one(db)
        .await?;
    found.map(with_instance).transpose()
}

/// What closing a claim did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Closed {
    /// Recorded (and its event applied, if any).
    Recorded,
    /// Another claim holds the row now, or it was closed already: nothing recorded.
    Superseded,
}

/// Marks the claimed row done and applies `event` to its instance, in one transaction (one
/// statement when there is no event). `seen` is the instance as loaded with the claim.
pub async fn complete(
    db: &Db,
    decider: Decider<'_>,
    (row, seen): (&outbox::Model, &instance::Model),
    claim: Claim,
    event: Option<EventInput>,
) -> Result<Closed, StoreError> {
    let clock = decider.clock;
    let Some(event) = &event else {
        return retry_transient(|| close(db, claim, outbox::STATUS_DONE, clock)).await;
    };
    let seen = match apply_as_one_statement(db, decider, seen, event, Some(claim)).await? {
        OneStatement::Written(_) => return Ok(Closed::Recorded),
        OneStatement::Missed => None,
        OneStatement::NotTried => Some(seen),
    };
    retry_transient(|| async {
        let txn = db.begin().await?;
        if close(&txn, claim, outbox::STATUS_DONE, clock).await? == Closed::Superseded {
            return Ok(Closed::Superseded);
        }
        apply_event_in(&txn, decider, row.instance_id, event, seen).await?;
        txn.commit().await?;
        Ok(Closed::Recorded)
    })
    .await
}

/// Marks the claimed row stale: its instance moved on before it ran.
pub async fn mark_stale(db: &Db, clock: &dyn Clock, claim: Claim) -> Result<Closed, StoreError> {
    retry_transient(|| close(db, claim, outbox::STATUS_STALE, clock)).await
}

/// How an execution failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// Unknown outcome: due again after the policy's backoff, until the attempts are used up.
    Retryable,
    /// Trying again cannot help: parked at once.
    Permanent,
    /// A money answer that does not match ours: parked at once, and held (see [`Park::hold`]).
    Hold,
}

/// Records a failed execution: due again after the policy's backoff (with jitter), or, once
/// the attempts are used up (or at once when not retryable), failed for good with its instance
/// parked as needs-attention through the write path (if it is still in the state that
/// scheduled the row).
pub async fn fail(
    db: &Db,
    clock: &dyn Clock,
    row: &outbox::Model,
    claim: Claim,
    error: &str,
    policy: RetryPolicy,
    failure: Failure,
) -> Result<Closed, StoreError> {
    let attempts = row.attempts + 1;
    // The row's own limit, or the policy's when lower (a row that cannot be recorded).
    let max_attempts = row.max_attempts.min(policy.attempts as i32);
    let exhausted = failure != Failure::Retryable || attempts >= max_attempts;
    let delay = policy.delay_with_jitter(attempts as u32, rand::random());
    retry_transient(|| async {
        let txn = db.begin().await?;
        let now = clock.now();
        let mut update = outbox::Entity::update_many()
            .col_expr(outbox::Column::Attempts, Expr::value(attempts))
            .col_expr(outbox::Column::LastError, Expr::value(error.to_string()))
            .col_expr(outbox::Column::LeaseToken, Expr::value(Option::<Uuid>::None))
            .col_expr(outbox::Column::LeaseUntilMs, Expr::value(Option::<i64>::None))
            .col_expr(outbox::Column::UpdatedAt, Expr::value(now));
        update = if exhausted {
            update.col_expr(outbox::Column::Status, Expr::value(outbox::STATUS_FAILED))
        } else {
            let due = clock.now_ms() + delay.as_millis() as i64;
            update
                .col_expr(outbox::Column::Status, Expr::value(outbox::STATUS_PENDING))
                .col_expr(outbox::Column::DueAtMs, Expr::value(due))
        };
        let result = update
            .filter(outbox::Column::Id.eq(claim.id))
            .filter(outbox::Column::LeaseToken.eq(claim.lease_token))
            .filter(outbox::Column::Status.eq(outbox::STATUS_CLAIMED))
            .exec(&txn)
            .await?;
        if result.rows_affected != 1 {
            return Ok(Closed::Superseded);
        }
        if exhausted {
            let reason = match failure {
                Failure::Hold => error.to_string(),
                _ => format!(
                    "{} '{}' failed {attempts} times; last error: {error}",
                    row.kind, row.name
                ),
            };
            let park = Park {
                reason,
                hold: failure == Failure::Hold,
                in_state: Some(row.scheduled_in_state.clone()),
                actor: format!("{}:{}", row.kind, row.name),
            };
            match park_in(&txn, clock, row.instance_id, &park, None).await {
                // A row whose instance is gone has nobody to park: it is failed for good.
                Ok(()) | Err(StoreError::NotFound(_)) => {}
                Err(e) => return Err(e),
            }
        }
        txn.commit().await?;
        Ok(Closed::Recorded)
    })
    .await
}

/// The row `claim` still holds, without its instance (which may be what is missing).
pub async fn claimed_row(db: &Db, claim: Claim) -> Result<Option<outbox::Model>, StoreError> {
    Ok(held_by(claim).one(db).await?)
}

/// Sets the status of a row still held by `claim`; superseded if another claim holds it now.
async fn close(
    db: &impl ConnectionTrait,
    claim: Claim,
    status: &str,
    clock: &dyn Clock,
) -> Result<Closed, StoreError> {
    let result = outbox::Entity::update_many()
        .col_expr(outbox::Column::Status, Expr::value(status))
        .col_expr(outbox::Column::LastError, Expr::value(Option::<String>::None))
        .col_expr(outbox::Column::UpdatedAt, Expr::value(clock.now()))
        .filter(outbox::Column::Id.eq(claim.id))
        .filter(outbox::Column::LeaseToken.eq(claim.lease_token))
        .filter(outbox::Column::Status.eq(outbox::STATUS_CLAIMED))
        .exec(db)
        .await?;
    Ok(if result.rows_affected == 1 {
        Closed::Recorded
    } else {
        Closed::Superseded
    })
}
