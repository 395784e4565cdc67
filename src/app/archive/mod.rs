//! Archival: an object whose every business deadline has passed (a payment with its refunds,
//! disputes and declarations; a bulk action; an engine probe: every workflow final for
//! `archive.after`) is written with its rows and history to the day's archive part
//! ([`files`]), then removed from the database in the same transaction, which also records
//! where it went (`archived_objects`). One process writes at a time: the transaction starts by
//! locking the writer's state (`archive_state`). Legal holds keep an object out; `restore`
//! brings one back, read-only, for a late dispute or an audit.

pub mod files;
mod rows;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, Query};
use sea_orm::{ConnectionTrait, DatabaseTransaction};
use serde_json::Value;
use uuid::Uuid;

use super::Engine;
use super::errors::AppError;
use super::operator::Operator;
use crate::config::ArchiveConfig;
use crate::store::entity::instance;
use crate::store::{StoreError, activity};

/// The archive writer's state.
struct WriterState {
    day: Option<String>,
    next_part: i64,
    chain: Option<String>,
}

/// Takes the writer's lock (an update of its one row, held to commit) and reads its state.
async fn lock_writer(txn: &DatabaseTransaction) -> Result<WriterState, StoreError> {
    let backend = txn.get_database_backend();
    let touch = Query::update()
        .table("archive_state")
        .value("next_part", Expr::col("next_part"))
        .and_where(Expr::col("id").eq(1))
        .to_owned();
    txn.execute_raw(backend.build(&touch)).await?;
    let read = Query::select()
        .columns(["day", "next_part", "chain_sha256"])
        .from("archive_state")
        .and_where(Expr::col("id").eq(1))
        .to_owned();
    let row = txn
        .query_one_raw(backend.build(&read))
        .await?
        .ok_or_else(|| StoreError::Db(sea_orm::DbErr::RecordNotFound("archive_state".into())))?;
    Ok(WriterState {
        day: row.try_get("", "day")?,
        next_part: row.try_get("", "next_part")?,
        chain: row.try_get("", "chain_sha256")?,
    })
}

fn day_of(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d").to_string()
}

/// How many objects are due for archival now (at most `limit`).
pub async fn due_count(engine: &Engine, archive: &ArchiveConfig, limit: u64) -> Result<u64, StoreError> {
    Ok(rows::due_count(&engine.db, cutoff(engine, archive), limit).await?)
}

fn cutoff(engine: &Engine, archive: &ArchiveConfig) -> DateTime<Utc> {
    engine.clock.now() - chrono::Duration::from_std(archive.after).unwrap_or(chrono::Duration::MAX)
}

/// Archives every object due, a part (`archive.batch` objects, one transaction) at a time;
/// answers how many objects.
pub async fn archive_due(engine: &Engine, archive: &ArchiveConfig) -> Result<u64, AppError> {
    let mut archived = 0;
    loop {
        let part = archive_part(engine, archive).await?;
        archived += part;
        if part < u64::from(archive.batch) {
            return Ok(archived);
        }
        tokio::task::yield_now().await;
    }
}

/// One part: the due objects written to the day's part file and manifest, then removed.
async fn archive_part(engine: &Engine, archive: &ArchiveConfig) -> Result<u64, AppError> {
    let now = engine.clock.now();
    let txn = engine.db.begin().await.map_err(StoreError::from)?;
    let state = lock_writer(&txn).await?;
    let units = rows::due(&txn, cutoff(engine, archive), u64::from(archive.batch))
        .await
        .map_err(StoreError::from)?;
    if units.is_empty() {
        txn.rollback().await.map_err(StoreError::from)?;
        return Ok(0);
    }
    let day = day_of(now);
    // The day's manifest chains to the last day written before it, now closed.
    let chain = match &state.day {
        Some(last) if *last == day => state.chain.clone(),
        Some(last) => Some(files::manifest_digest(&archive.dir, last).map_err(archive_error)?),
        None => None,
    };
    let mut objects = Vec::with_capacity(units.len());
    let mut row_count = 0;
    for unit in &units {
        let (object, count) = rows::object(&txn, unit, now).await.map_err(StoreError::from)?;
        objects.push(object);
        row_count += count;
    }
    let part = files::part_name(state.next_part);
    let head = {
        let (dir, day, part, chain) = (archive.dir.clone(), day.clone(), part.clone(), chain.clone());
        tokio::task::spawn_blocking(move || {
            files::write_part(&dir, &day, &part, &objects, row_count, chain.as_deref())
        })
        .await
        .map_err(|e| AppError::Unavailable(format!("writing the archive: {e}")))?
        .map_err(archive_error)?
    };
    let backend = txn.get_database_backend();
    for unit in &units {
        rows::remove(&txn, unit).await.map_err(StoreError::from)?;
        let placed = Query::insert()
            .into_table("archived_objects")
            .columns(["id", "kind", "day", "part", "archived_at"])
            .values_panic([
                unit.root.into(),
                unit.kind.clone().into(),
                day.clone().into(),
                part.clone().into(),
                now.into(),
            ])
            .to_owned();
        txn.execute_raw(backend.build(&placed))
            .await
            .map_err(StoreError::from)?;
    }
    let moved_on = Query::update()
        .table("archive_state")
        .value("day", day)
        .value("next_part", state.next_part + 1)
        .value("chain_sha256", chain)
        .value("head_sha256", head)
        .and_where(Expr::col("id").eq(1))
        .to_owned();
    txn.execute_raw(backend.build(&moved_on))
        .await
        .map_err(StoreError::from)?;
    txn.commit().await.map_err(StoreError::from)?;
    Ok(units.len() as u64)
}

fn archive_error(e: std::io::Error) -> AppError {
    AppError::Unavailable(format!("the archive: {e}"))
}

/// Brings archived object `id` back read-only: read from its part (its digest checked against
/// the manifest), kept in `archive_restores` for operators to read, and answered.
pub async fn restore(engine: &Engine, archive: &ArchiveConfig, id: Uuid) -> Result<Value, AppError> {
    let backend = engine.db.get_database_backend();
    let find = Query::select()
        .columns(["kind", "day", "part", "archived_at"])
        .from("archived_objects")
        .and_where(Expr::col("id").eq(id))
        .to_owned();
    let row = engine
        .db
        .query_one_raw(backend.build(&find))
        .await
        .map_err(StoreError::from)?
        .ok_or(AppError::NotFound)?;
    let (kind, day, part, archived_at): (String, String, String, DateTime<Utc>) = (
        row.try_get("", "kind").map_err(StoreError::from)?,
        row.try_get("", "day").map_err(StoreError::from)?,
        row.try_get("", "part").map_err(StoreError::from)?,
        row.try_get("", "archived_at").map_err(StoreError::from)?,
    );
    let dir = archive.dir.clone();
    let object = tokio::task::spawn_blocking(move || files::find_object(&dir, &day, &part, &id.to_string()))
        .await
        .map_err(|e| AppError::Unavailable(format!("reading the archive: {e}")))?
        .map_err(AppError::Unavailable)?;
    let restored = Query::insert()
        .into_table("archive_restores")
        .columns(["id", "kind", "content", "archived_at", "restored_at"])
        .values_panic([
            id.into(),
            kind.into(),
            object.clone().into(),
            archived_at.into(),
            engine.clock.now().into(),
        ])
        .on_conflict(
            OnConflict::column("id")
                .update_columns(["content", "restored_at"])
                .to_owned(),
        )
        .to_owned();
    engine
        .db
        .execute_raw(backend.build(&restored))
        .await
        .map_err(StoreError::from)?;
    Ok(object)
}

/// A restored object: its kind, when it was archived and restored, and its rows as archived.
#[derive(Debug, Clone)]
pub struct Restored {
    pub id: Uuid,
    pub kind: String,
    pub archived_at: DateTime<Utc>,
    pub restored_at: DateTime<Utc>,
    pub content: Value,
}

/// The restored object `id`, if it was restored.
pub async fn restored(engine: &Engine, id: Uuid) -> Result<Option<Restored>, AppError> {
    let backend = engine.db.get_database_backend();
    let find = Query::select()
        .columns(["kind", "content", "archived_at", "restored_at"])
        .from("archive_restores")
        .and_where(Expr::col("id").eq(id))
        .to_owned();
    let Some(row) = engine
        .db
        .query_one_raw(backend.build(&find))
        .await
        .map_err(StoreError::from)?
    else {
        return Ok(None);
    };
    let read = |column: &str| row.try_get::<DateTime<Utc>>("", column).map_err(StoreError::from);
    Ok(Some(Restored {
        id,
        kind: row.try_get("", "kind").map_err(StoreError::from)?,
        archived_at: read("archived_at")?,
        restored_at: read("restored_at")?,
        content: row.try_get("", "content").map_err(StoreError::from)?,
    }))
}

/// Places (`hold`) or releases a legal hold on workflow `id` with the operator's note, recorded
/// in the activity log in the same transaction. A held object is never archived.
pub async fn legal_hold(
    engine: &Engine,
    operator: &Operator,
    id: Uuid,
    hold: bool,
    note: &str,
) -> Result<instance::Model, AppError> {
    let note = super::errors::require_note(note)?;
    super::errors::check_length("note", note, 2000)?;
    let instance = match crate::store::instance(&engine.db, id).await {
        Err(StoreError::NotFound(_)) => return Err(AppError::NotFound),
        found => found?,
    };
    let now = engine.clock.now();
    let txn = engine.db.begin().await.map_err(StoreError::from)?;
    let backend = txn.get_database_backend();
    let change = if hold {
        let placed = Query::insert()
            .into_table("legal_holds")
            .columns(["instance_id", "kind", "note", "placed_by", "placed_at"])
            .values_panic([
                id.into(),
                instance.kind.clone().into(),
                note.into(),
                operator.actor().into(),
                now.into(),
            ])
            .on_conflict(OnConflict::column("instance_id").do_nothing().to_owned())
            .to_owned();
        backend.build(&placed)
    } else {
        let released = Query::delete()
            .from_table("legal_holds")
            .and_where(Expr::col("instance_id").eq(id))
            .to_owned();
        backend.build(&released)
    };
    txn.execute_raw(change).await.map_err(StoreError::from)?;
    let action = if hold {
        "placeLegalHold"
    } else {
        "releaseLegalHold"
    };
    let row = crate::store::entity::operator_activity::Model {
        kind: Some(instance.kind.clone()),
        ..operator.activity(now, action, &[id.to_string()], note)
    };
    activity::insert_in(&txn, row).await?;
    txn.commit().await.map_err(StoreError::from)?;
    Ok(instance)
}

/// The legal hold on workflow `id`: (note, placed by, placed at).
pub async fn hold_of(
    engine: &Engine,
    id: Uuid,
) -> Result<Option<(String, String, DateTime<Utc>)>, StoreError> {
    let backend = engine.db.get_database_backend();
    let find = Query::select()
        .columns(["note", "placed_by", "placed_at"])
        .from("legal_holds")
        .and_where(Expr::col("instance_id").eq(id))
        .to_owned();
    let Some(row) = engine.db.query_one_raw(backend.build(&find)).await? else {
        return Ok(None);
    };
    Ok(Some((
        row.try_get("", "note")?,
        row.try_get("", "placed_by")?,
        row.try_get("", "placed_at")?,
    )))
}
