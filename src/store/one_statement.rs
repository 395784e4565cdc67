//! PostgreSQL's one-statement write of a transition decided on a copy (data-modifying CTEs, see
//! [`super::statement_parts`]): the versioned instance update, the disarm, the new outbox rows, the journal
//! and history rows, and with a closing claim its outbox row, in one round trip.

use sea_orm::{ConnectionTrait as _, DbBackend};

use super::Decider;
use super::entity::outbox::Claim;
use super::entity::{instance, outbox};
use super::event::{Applied, EventInput};
use super::plan::{Plan, plan};
use super::schedule::Disarm;
use super::statement_parts::{self, Params};
use super::{StoreError, retry_transient};
use crate::store::Db;

/// What [`apply_as_one_statement`] did.
pub(crate) enum OneStatement {
    Written(Box<Applied>),
    /// Nothing written: the instance moved on since `seen` was read (or, when closing a claim,
    /// the claim no longer holds its row). Decide again on the locked instance.
    Missed,
    /// Nothing written or tried: not PostgreSQL, the event does not transition `seen` (an
    /// ignored or rejected outcome is recorded only against a locked, current instance), or the
    /// transition writes its merchant's event.
    NotTried,
}

/// On PostgreSQL, applies `event` to `seen` as one statement (see [`write_as_one_statement`]),
/// marking the `closing` claim's row done with it when the event came from that effect.
pub(crate) async fn apply_as_one_statement(
    db: &Db,
    decider: Decider<'_>,
    seen: &instance::Model,
    event: &EventInput,
    closing: Option<Claim>,
) -> Result<OneStatement, StoreError> {
    if db.get_database_backend() != DbBackend::Postgres {
        return Ok(OneStatement::NotTried);
    }
    let plan = plan(decider, seen, event)?;
    // A transition that writes its merchant's event or a journal of the ledger needs the kind's
    // announcement or journal, read in the transaction: it takes the multi-statement path.
    let books = decider.announcer.is_some_and(|a| a.books(&plan.after));
    if !plan.transitions() || plan.event.is_some() || books {
        return Ok(OneStatement::NotTried);
    }
    let written = retry_transient(|| write_as_one_statement(db, &plan, closing)).await?;
    Ok(written.map_or(OneStatement::Missed, |applied| {
        OneStatement::Written(Box::new(applied))
    }))
}

/// Writes a transition `plan` as ONE statement, in its own implicit transaction (PostgreSQL:
/// data-modifying CTEs): the versioned instance update, the disarm, the new outbox rows, the
/// inbound call's journal row, the operator's activity row and the history row, each but the first conditional on the
/// update having hit. Saves the BEGIN/COMMIT and three round trips of [`write`]. `None`, with nothing written, if the
/// instance moved on.
///
/// With `closing`, the claimed outbox row whose effect produced the event is marked done in the
/// same statement, and nothing is written unless the claim still holds it (its row is locked
/// first, so the claim cannot change hands while the instance moves).
pub(super) async fn write_as_one_statement(
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
            statement_parts::insert_if("moved", &plan.scheduled, &mut params)
        );
    }
    if let Some(row) = &plan.kept_row {
        sql += &format!(
            ", kept AS ({} ON CONFLICT DO NOTHING)",
            statement_parts::insert_kept_if("moved", row, &mut params)
        );
    }
    if let Some(row) = &plan.activity {
        sql += &format!(
            ", recorded AS ({})",
            statement_parts::insert_if("moved", std::slice::from_ref(row), &mut params)
        );
    }
    if let Some(call) = &plan.inbound {
        sql += &format!(
            ", journaled AS ({})",
            statement_parts::insert_if("moved", std::slice::from_ref(call), &mut params)
        );
    }
    sql += " ";
    sql += &plan.history.insert_for("moved", &mut params);
    let written = statement_parts::wrote_one_row(db, sql, params).await?;
    if written {
        plan.history.counted(&plan.before.kind);
    }
    Ok(written.then(|| plan.applied()))
}
