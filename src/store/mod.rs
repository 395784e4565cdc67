//! Persistence with sea-orm, on SQLite or PostgreSQL: entities, [`apply_event`] (the one write
//! path of workflow state), the outbox of effects and timers, and read queries.
//!
//! Concurrency: every write of an instance checks its version. An event on an instance the
//! caller has already read is decided on that copy and written only if the version still
//! matches (optimistic; on PostgreSQL a transition is then one statement). Otherwise the
//! instance is locked and read first: on PostgreSQL `SELECT ... FOR UPDATE`; on SQLite the
//! database write lock is taken first (a no-op `UPDATE` of the row), so a read never has to be
//! upgraded. A transaction that lost a race is retried from the start.

mod apply;
mod cte;
pub mod entity;
pub mod inbound;
pub mod outbox;
pub mod payments;
mod queries;
pub mod refunds;

use std::time::Duration;

use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbErr};
use uuid::Uuid;

pub use apply::{Applied, EventInput, NewInstance, Outcome, apply_event, park_instance, start_instance};
pub use outbox::outbox_backlog;
pub use queries::{EngineGauges, InstanceCounts, count_instances, engine_gauges, history, instance};

use crate::config::{Backend, Config};
use entity::instance;

/// A row that belongs to a workflow instance (a payment or refund has its instance's id).
pub(crate) trait OfInstance {
    fn instance_id(&self) -> Uuid;
}

impl OfInstance for entity::payment::Model {
    fn instance_id(&self) -> Uuid {
        self.id
    }
}

impl OfInstance for entity::refund::Model {
    fn instance_id(&self) -> Uuid {
        self.id
    }
}

impl OfInstance for entity::outbox::Model {
    fn instance_id(&self) -> Uuid {
        self.instance_id
    }
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
}

/// Opens the pool. SQLite runs in WAL mode with a busy timeout, so several processes may share
/// the file.
pub async fn connect(config: &Config) -> Result<DatabaseConnection, DbErr> {
    let mut options = ConnectOptions::new(config.database_url.clone());
    options
        .max_connections(config.max_connections)
        .min_connections(1)
        .acquire_timeout(Duration::from_secs(10))
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
    Database::connect(options).await
}

/// Applies every pending migration.
pub async fn migrate(db: &DatabaseConnection) -> Result<(), DbErr> {
    use plusflow_migrations::MigratorTrait;
    plusflow_migrations::Migrator::up(db, None).await
}

/// Whether the database answers (readiness).
pub async fn ping(db: &DatabaseConnection) -> Result<(), DbErr> {
    db.execute_unprepared("SELECT 1").await.map(|_| ())
}

/// Errors a transaction may hit when another one got there first; retrying is correct.
fn is_transient(error: &StoreError) -> bool {
    match error {
        StoreError::Conflict => true,
        StoreError::Db(e) => {
            let text = e.to_string();
            [
                "database is locked",
                "(code: 5)",
                "(code: 517)",
                "40001",
                "40P01",
                "deadlock",
            ]
            .iter()
            .any(|needle| text.contains(needle))
        }
        _ => false,
    }
}

/// Runs `attempt` again while it fails with a transient error.
async fn retry_transient<T, F, Fut>(mut attempt: F) -> Result<T, StoreError>
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
