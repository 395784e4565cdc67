//! The database's clock, for what several processes compare: lease expiries, due times, the
//! in-flight window of a pay request. Each process reads the database's time now and then and
//! keeps its own clock's offset to it, so a process whose clock is off by minutes still claims,
//! renews and schedules on the same time line as the others, without a query per reading.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbBackend, Statement};

use super::StoreError;
use crate::clock::{Clock, SharedClock};
use crate::store::Db;

/// The local clock corrected by its last measured offset to the database's clock.
pub struct DatabaseClock {
    local: SharedClock,
    offset_ms: AtomicI64,
}

impl DatabaseClock {
    /// A clock over `local`, synchronised with `db` once before it is returned.
    pub async fn synced(db: &Db, local: SharedClock) -> Result<Arc<Self>, StoreError> {
        let clock = Arc::new(Self {
            local,
            offset_ms: AtomicI64::new(0),
        });
        clock.sync(db).await?;
        Ok(clock)
    }

    /// Measures the offset again: the database's time against the middle of the round trip.
    pub async fn sync(&self, db: &Db) -> Result<(), StoreError> {
        let backend = db.get_database_backend();
        let sql = match backend {
            DbBackend::Postgres => "SELECT (EXTRACT(EPOCH FROM clock_timestamp()) * 1000)::BIGINT AS now_ms",
            _ => "SELECT CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER) AS now_ms",
        };
        let before = self.local.now_ms();
        let row = db
            .query_one_raw(Statement::from_string(backend, sql))
            .await?
            .ok_or_else(|| StoreError::Db(sea_orm::DbErr::Custom("the database returned no time".into())))?;
        let after = self.local.now_ms();
        let database_ms: i64 = row.try_get("", "now_ms")?;
        self.offset_ms
            .store(database_ms - (before + after) / 2, Ordering::Relaxed);
        Ok(())
    }

    /// Synchronises every `every` for as long as the process runs (a failed reading keeps the
    /// last offset).
    pub fn keep_synced(self: &Arc<Self>, db: Db, every: Duration) {
        let clock = Arc::downgrade(self);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                let Some(clock) = clock.upgrade() else { return };
                if let Err(e) = clock.sync(&db).await {
                    tracing::debug!("database clock not synchronised: {e}");
                }
            }
        });
    }
}

impl Clock for DatabaseClock {
    fn now(&self) -> DateTime<Utc> {
        self.local.now() + chrono::Duration::milliseconds(self.offset_ms.load(Ordering::Relaxed))
    }
}
