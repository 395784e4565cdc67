//! [`Db`], the database handle every store function takes: transactions on sea-orm's pool, and
//! on PostgreSQL the statements outside a transaction on connections this module keeps itself.
//!
//! Why two: sqlx pings every connection that goes back to its pool (a Sync round trip, in sqlx
//! 0.9 unconditional), which was 7% of the process's CPU and as many PostgreSQL wake-ups as
//! statements, since most of a payment's statements are single statements outside a
//! transaction. Here a connection goes back without a round trip when its statement completed
//! (or PostgreSQL refused it: the connection is still in step); a connection whose statement
//! was cancelled half-way or failed on I/O is closed instead, which is what the ping was for.
//! A connection idle for a second is pinged before it is used again, so the ones a database
//! restart broke are found before a statement is sent (as the pool does, see `connect`).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sea_orm::sqlx::postgres::{PgConnectOptions, PgConnection, PgRow};
use sea_orm::sqlx::{self, Connection as _, Postgres};
use sea_orm::{
    ConnAcquireErr, ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr, ExecResult,
    QueryResult, RuntimeErr, Statement, TransactionTrait,
};
use sea_query_sqlx::SqlxValues;
use tokio::sync::Semaphore;

/// The database: sea-orm's pool, and on PostgreSQL the connections for single statements.
#[derive(Clone)]
pub struct Db {
    pool: DatabaseConnection,
    statements: Option<Arc<StatementConnections>>,
    /// Told of every statement the statement connections run (the pool tells its own).
    metric: Option<MetricCallback>,
}

type MetricCallback = Arc<dyn Fn(&sea_orm::metric::Info<'_>) + Send + Sync>;

impl Db {
    /// `pool` alone: every statement through sea-orm (SQLite).
    pub fn pooled(pool: DatabaseConnection) -> Self {
        Self {
            pool,
            statements: None,
            metric: None,
        }
    }

    /// `pool` (PostgreSQL) for transactions, and up to `max_connections` more connections for
    /// statements outside them, opened with the pool's own options and acquire timeout.
    pub fn postgres(pool: DatabaseConnection, max_connections: u32) -> Self {
        let sqlx_pool = pool.get_postgres_connection_pool();
        let statements = StatementConnections {
            options: (*sqlx_pool.connect_options()).clone(),
            idle: Mutex::new(Vec::new()),
            leases: Semaphore::new(max_connections as usize),
            acquire_timeout: sqlx_pool.options().get_acquire_timeout(),
        };
        Self {
            pool,
            statements: Some(Arc::new(statements)),
            metric: None,
        }
    }

    /// sea-orm's pool (migrations take it).
    pub fn pool(&self) -> &DatabaseConnection {
        &self.pool
    }

    /// Begins a transaction on sea-orm's pool.
    pub async fn begin(&self) -> Result<DatabaseTransaction, DbErr> {
        self.pool.begin().await
    }

    /// Calls `callback` after every statement, as [`DatabaseConnection::set_metric_callback`].
    pub fn set_metric_callback<F>(&mut self, callback: F)
    where
        F: Fn(&sea_orm::metric::Info<'_>) + Send + Sync + 'static,
    {
        let callback: MetricCallback = Arc::new(callback);
        let pool_callback = callback.clone();
        self.pool.set_metric_callback(move |info| pool_callback(info));
        self.metric = Some(callback);
    }

    /// `run`, the statement connections' execution of `statement`, reported to the metric
    /// callback if one is set.
    async fn measured<T>(
        &self,
        statement: &Statement,
        run: impl Future<Output = Result<T, DbErr>>,
    ) -> Result<T, DbErr> {
        let Some(callback) = &self.metric else {
            return run.await;
        };
        let started = Instant::now();
        let result = run.await;
        callback(&sea_orm::metric::Info {
            elapsed: started.elapsed(),
            statement,
            failed: result.is_err(),
        });
        result
    }

    /// Closes every connection, as a process does when it stops: a statement asked for after
    /// this fails as on a closed pool.
    pub async fn close(&self) -> Result<(), DbErr> {
        if let Some(connections) = &self.statements {
            connections.leases.close();
            connections.idle.lock().expect("idle list").clear();
        }
        self.pool.close_by_ref().await
    }
}

/// Connections to PostgreSQL for one statement at a time. At most as many are open as `leases`
/// has permits: a connection is opened only for a lease, when none is idle. Idle ones stay open
/// (PostgreSQL's idle backends cost nothing but their slot).
struct StatementConnections {
    options: PgConnectOptions,
    /// Last in, first out: the warmest connection is used first, and the others age into the
    /// idle ping.
    idle: Mutex<Vec<IdleConnection>>,
    leases: Semaphore,
    acquire_timeout: Duration,
}

struct IdleConnection {
    connection: PgConnection,
    since: Instant,
}

/// A connection idle for longer than this is pinged before use.
const PING_AFTER_IDLE: Duration = Duration::from_secs(1);

/// A connection lent to one statement. Dropped without [`Lease::settle`] (the statement's
/// future was cancelled), its connection is closed: it may be half-way through a message.
struct Lease<'a> {
    connections: &'a StatementConnections,
    connection: Option<PgConnection>,
    _permit: tokio::sync::SemaphorePermit<'a>,
}

impl Lease<'_> {
    fn connection(&mut self) -> &mut PgConnection {
        self.connection
            .as_mut()
            .expect("a lease holds its connection until settled")
    }

    /// Returns the connection if its statement completed or PostgreSQL refused it (sqlx reads
    /// the rest of that exchange before the next statement); closes it on any other error.
    fn settle<T>(mut self, result: &Result<T, sqlx::Error>) {
        let in_step = matches!(result, Ok(_) | Err(sqlx::Error::Database(_)));
        if in_step && !self.connections.leases.is_closed() {
            let connection = self.connection.take().expect("settled once");
            let idle = IdleConnection {
                connection,
                since: Instant::now(),
            };
            self.connections.idle.lock().expect("idle list").push(idle);
        }
    }
}

impl StatementConnections {
    async fn lease(&self) -> Result<Lease<'_>, DbErr> {
        tokio::time::timeout(self.acquire_timeout, self.lease_unbounded())
            .await
            .map_err(|_| DbErr::ConnectionAcquire(ConnAcquireErr::Timeout))?
    }

    async fn lease_unbounded(&self) -> Result<Lease<'_>, DbErr> {
        let permit = self
            .leases
            .acquire()
            .await
            .map_err(|_| DbErr::ConnectionAcquire(ConnAcquireErr::ConnectionClosed))?;
        let connection = loop {
            let idle = self.idle.lock().expect("idle list").pop();
            let Some(IdleConnection {
                mut connection,
                since,
            }) = idle
            else {
                break PgConnection::connect_with(&self.options)
                    .await
                    .map_err(|e| DbErr::Conn(RuntimeErr::SqlxError(e.into())))?;
            };
            if since.elapsed() < PING_AFTER_IDLE || connection.ping().await.is_ok() {
                break connection;
            }
            // Broken while idle (a database restart): dropped; the next one is tried.
        };
        Ok(Lease {
            connections: self,
            connection: Some(connection),
            _permit: permit,
        })
    }

    async fn execute(&self, statement: &Statement) -> Result<ExecResult, DbErr> {
        let mut lease = self.lease().await?;
        let result = query(statement).execute(lease.connection()).await;
        lease.settle(&result);
        result
            .map(ExecResult::from)
            .map_err(|e| DbErr::Exec(RuntimeErr::SqlxError(e.into())))
    }

    async fn query_one(&self, statement: &Statement) -> Result<Option<QueryResult>, DbErr> {
        let mut lease = self.lease().await?;
        let result = query(statement).fetch_optional(lease.connection()).await;
        lease.settle(&result);
        result
            .map(|row| row.map(QueryResult::from))
            .map_err(|e| DbErr::Query(RuntimeErr::SqlxError(e.into())))
    }

    async fn query_all(&self, statement: &Statement) -> Result<Vec<QueryResult>, DbErr> {
        let mut lease = self.lease().await?;
        let result: Result<Vec<PgRow>, _> = query(statement).fetch_all(lease.connection()).await;
        lease.settle(&result);
        result
            .map(|rows| rows.into_iter().map(QueryResult::from).collect())
            .map_err(|e| DbErr::Query(RuntimeErr::SqlxError(e.into())))
    }
}

/// `statement` as sqlx's prepared (and per-connection cached) query, as sea-orm sends it.
fn query(statement: &Statement) -> sqlx::query::Query<'_, Postgres, SqlxValues> {
    let values = statement.values.clone().unwrap_or(sea_orm::Values(Vec::new()));
    sqlx::query_with(sqlx::AssertSqlSafe(statement.sql.as_str()), SqlxValues(values))
}

#[async_trait::async_trait]
impl ConnectionTrait for Db {
    fn get_database_backend(&self) -> DbBackend {
        self.pool.get_database_backend()
    }

    async fn execute_raw(&self, statement: Statement) -> Result<ExecResult, DbErr> {
        match &self.statements {
            Some(connections) => self.measured(&statement, connections.execute(&statement)).await,
            None => self.pool.execute_raw(statement).await,
        }
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        self.pool.execute_unprepared(sql).await
    }

    async fn query_one_raw(&self, statement: Statement) -> Result<Option<QueryResult>, DbErr> {
        match &self.statements {
            Some(connections) => self.measured(&statement, connections.query_one(&statement)).await,
            None => self.pool.query_one_raw(statement).await,
        }
    }

    async fn query_all_raw(&self, statement: Statement) -> Result<Vec<QueryResult>, DbErr> {
        match &self.statements {
            Some(connections) => self.measured(&statement, connections.query_all(&statement)).await,
            None => self.pool.query_all_raw(statement).await,
        }
    }
}
