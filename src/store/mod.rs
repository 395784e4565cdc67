//! Persistence with sea-orm, on SQLite or PostgreSQL: entities, [`apply_event`] (the one write
//! path of workflow state), the outbox of effects and timers, and read queries.
//!
//! Concurrency: every write of an instance checks its version. An event on an instance the
//! caller has already read is decided on that copy and written only if the version still
//! matches (optimistic; on PostgreSQL a transition is then one statement). Otherwise the
//! instance is locked and read first: on PostgreSQL `SELECT ... FOR UPDATE`; on SQLite the
//! database write lock is taken first (a no-op `UPDATE` of the row), so a read never has to be
//! upgraded. A transaction that lost a race is retried from the start.

pub mod activity;
pub mod apply;
pub mod credentials;
mod db;
pub mod db_clock;
mod deliveries;
pub mod entity;
pub mod event;
pub mod feed;
pub mod force;
pub mod force_requests;
mod gauges;
mod history;
pub mod idempotency;
pub mod inbound;
pub mod instance_write;
pub mod ledger;
pub mod marks;
pub mod merchant_lists;
pub mod merchants;
mod one_statement;
pub(crate) mod operator_actions;
pub mod outbox;
pub mod park;
mod plan;
mod queries;
pub mod reconciliation;
pub mod retention;
mod schedule;
pub mod search;
pub mod settlement;
pub mod start;
mod statement_parts;
pub mod stuck;
pub mod webhooks;

use std::time::Duration;

use sea_orm::{ConnectOptions, ConnectionTrait, Database, DbErr, RuntimeErr};
use uuid::Uuid;

pub use apply::apply_event;
pub use db::Db;
pub use event::{Applied, EventInput, KeptRow, Outcome};
pub use gauges::{gauges, pending_outbox};
pub use operator_actions::{ActedBy, ActionResult, OperatorAction, operator_action};
pub use outbox::outbox_backlog;
pub use park::{Note, Park, park_instance, record_unchanged};
pub use queries::{InstanceCounts, count_instances, history, instance, next_run_ms};
pub use start::{NewInstance, start_instance};

use crate::clock::Clock;
use crate::config::{Backend, Config};
use crate::workflow::Definitions;
use entity::{OfInstance, instance};

/// What a write of workflow state decides with besides its connection: the definitions, the
/// clock its rows are stamped with, and the kinds' announcements of changes.
#[derive(Clone, Copy)]
pub struct Decider<'a> {
    pub definitions: &'a Definitions,
    pub clock: &'a dyn Clock,
    /// What a change a merchant can see announces, written with it as an event (`None`: no
    /// events, as for a bare engine without kinds).
    pub announcer: Option<&'a dyn feed::Announcer>,
}

/// The row of `E` with id `id` and its instance, in one query.
pub async fn row_with_instance<E>(
    db: &Db,
    id: Uuid,
) -> Result<Option<(E::Model, instance::Model)>, StoreError>
where
    E: sea_orm::EntityTrait + sea_orm::Related<instance::Entity>,
    E::Model: OfInstance,
    <E::PrimaryKey as sea_orm::PrimaryKeyTrait>::ValueType: From<Uuid>,
{
    let found = E::find_by_id(id)
        .find_also_related(instance::Entity)
        .one(db)
        .await?;
    found.map(with_instance).transpose()
}

/// A row read joined with its instance, which must exist (every such row is written in the
/// transaction that starts or holds its instance).
pub(crate) fn with_instance<T: OfInstance>(
    (row, instance): (T, Option<instance::Model>),
) -> Result<(T, instance::Model), StoreError> {
    let instance = instance.ok_or_else(|| StoreError::NotFound(row.instance_id()))?;
    Ok((row, instance))
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Db(#[from] DbErr),
    #[error("workflow instance {0} not found")]
    NotFound(Uuid),
    #[error("no workflow definition '{kind}' version {version} is loaded")]
    UnknownDefinition { kind: String, version: u32 },
    #[error("the instance changed while the event was applied")]
    Conflict,
    /// A journal whose debits and credits differ in a currency: nothing of it is written.
    #[error("unbalanced journal {0}")]
    Unbalanced(String),
}

/// Opens the database: sea-orm's pool and, on PostgreSQL, the connections for single statements
/// (see [`Db`]); `max_connections` is shared between the two. SQLite runs in WAL mode with a
/// busy timeout, so several processes may share the file.
pub async fn connect(config: &Config) -> Result<Db, DbErr> {
    let (pool_size, statement_connections) = match config.backend {
        Backend::Sqlite => (config.max_connections, 0),
        Backend::Postgres => {
            let statements = (config.max_connections / 2).max(1);
            (
                config.max_connections.saturating_sub(statements).max(1),
                statements,
            )
        }
    };
    let mut options = ConnectOptions::new(config.database_url.clone());
    options
        .max_connections(pool_size)
        .min_connections(1)
        .acquire_timeout(Duration::from_secs(10))
        // sqlx pings a connection when it goes back to the pool, and (by default) again when it
        // is taken out. Pinging only connections idle for a second still finds those a
        // database restart broke (a restart takes longer than that) and saves a round trip a
        // transaction under load.
        .test_before_acquire_if_idle_for(Duration::from_secs(1))
        .sqlx_logging(false);
    if config.backend == Backend::Sqlite {
        options.map_sqlx_sqlite_opts(|sqlite| {
            use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
            sqlite
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(30))
        });
    }
    let pool = Database::connect(options).await?;
    match config.backend {
        Backend::Sqlite => Ok(Db::pooled(pool)),
        Backend::Postgres => Ok(Db::postgres(pool, statement_connections)),
    }
}

/// Applies every pending migration.
pub async fn migrate(db: &Db) -> Result<(), DbErr> {
    use plusflow_migrations::MigratorTrait;
    plusflow_migrations::Migrator::up(db.pool(), None).await
}

/// Why `db` is not a plusflow database with every migration this binary knows applied, if it
/// is not. Reads only: nothing is created where the migrations' table is missing.
pub async fn not_migrated(db: &Db) -> Result<Option<String>, DbErr> {
    use plusflow_migrations::MigratorTrait;
    let applied = db
        .query_all_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            "SELECT version FROM seaql_migrations",
        ))
        .await;
    let Ok(applied) = applied else {
        return Ok(Some("it has no plusflow tables".into()));
    };
    let applied: std::collections::HashSet<String> = applied
        .iter()
        .filter_map(|row| row.try_get::<String>("", "version").ok())
        .collect();
    let pending = plusflow_migrations::Migrator::migrations()
        .iter()
        .filter(|migration| !applied.contains(migration.name()))
        .count();
    Ok((pending > 0).then(|| format!("{pending} of its migrations are not applied")))
}

/// Whether the database answers (readiness).
pub async fn ping(db: &Db) -> Result<(), DbErr> {
    db.execute_unprepared("SELECT 1").await.map(|_| ())
}

/// The sqlx error under a database error, if the driver raised one.
fn sqlx_error(error: &DbErr) -> Option<&sea_orm::sqlx::Error> {
    match error {
        DbErr::Conn(RuntimeErr::SqlxError(e))
        | DbErr::Exec(RuntimeErr::SqlxError(e))
        | DbErr::Query(RuntimeErr::SqlxError(e)) => Some(e.as_ref()),
        _ => None,
    }
}

/// SQLSTATEs (PostgreSQL) and primary result codes (SQLite) of a transaction that lost a race:
/// serialization failure, deadlock; database busy or locked (SQLite's extended codes, such as
/// 517 SQLITE_BUSY_SNAPSHOT, carry the primary code in their low byte).
fn lost_a_race(code: &str) -> bool {
    match code {
        "40001" | "40P01" => true,
        sqlite => sqlite
            .parse::<i32>()
            .is_ok_and(|code| matches!(code & 0xff, 5 | 6)),
    }
}

/// Errors a transaction may hit when another one got there first; retrying is correct.
/// Recognised by the driver's error codes, never by the text of a message.
fn is_transient(error: &StoreError) -> bool {
    match error {
        StoreError::Conflict => true,
        StoreError::Db(e) => match sqlx_error(e) {
            Some(sea_orm::sqlx::Error::Database(database)) => {
                database.code().is_some_and(|code| lost_a_race(&code))
            }
            _ => false,
        },
        _ => false,
    }
}

/// The database could not be reached (connection refused, pool exhausted, I/O): nothing about
/// the row or its instance is wrong, and the work is delivered again once it answers.
pub fn is_unreachable(error: &StoreError) -> bool {
    use sea_orm::sqlx::Error as Sqlx;
    let StoreError::Db(e) = error else {
        return false;
    };
    if matches!(e, DbErr::ConnectionAcquire(_) | DbErr::Conn(_)) {
        return true;
    }
    matches!(
        sqlx_error(e),
        Some(
            Sqlx::Io(_)
                | Sqlx::PoolTimedOut
                | Sqlx::PoolClosed
                | Sqlx::WorkerCrashed
                | Sqlx::Tls(_)
                | Sqlx::Protocol(_)
        )
    ) || is_transient(error)
}

/// Runs `attempt` again while it fails with a transient error.
pub(crate) async fn retry_transient<T, F, Fut>(mut attempt: F) -> Result<T, StoreError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, StoreError>>,
{
    let mut tries = 0u32;
    loop {
        match attempt().await {
            Err(e) if is_transient(&e) && tries < 50 => {
                tries += 1;
                tokio::time::sleep(Duration::from_millis(u64::from(tries.min(20)) * 2)).await;
            }
            other => return other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::lost_a_race;

    #[test]
    fn a_lost_race_is_known_by_its_error_code() {
        // PostgreSQL: serialization failure, deadlock. SQLite: BUSY, LOCKED, BUSY_SNAPSHOT (517).
        for code in ["40001", "40P01", "5", "6", "517", "262"] {
            assert!(lost_a_race(code), "{code}");
        }
        // Unique violations (PostgreSQL 23505, SQLite 2067), syntax errors, I/O errors.
        for code in ["23505", "2067", "42601", "10", "1"] {
            assert!(!lost_a_race(code), "{code}");
        }
    }
}
