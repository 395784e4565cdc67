//! What the benchmarks share: a scratch database of the configured kind, and percentiles.

use sea_orm::ConnectionTrait;
use uuid::Uuid;

use crate::config::{Backend, Config};

/// The value at percentile `p` (0-100) of `sorted`.
pub(super) fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

/// `value` to two decimals, for the JSON line.
pub(super) fn round(value: f64) -> f64 {
    (value * 100.0).round() / 100.0
}

/// The filled scratch database analysed (so its plans are the ones a loaded database gets), and
/// the GraphQL schema the measured queries go through.
pub(super) async fn analysed_schema(
    engine: &crate::app::Engine,
    config: &Config,
) -> anyhow::Result<crate::api::graphql::ApiSchema> {
    engine.db.execute_unprepared("ANALYZE").await?;
    Ok(crate::api::graphql::schema(
        engine.clone(),
        offline_client(config)?,
        config.payment_method_limits,
        config.connections.complexity_per_minute,
    ))
}

/// A client the measured queries never call (the schema wants one).
fn offline_client(config: &Config) -> anyhow::Result<crate::alipayplus::client::Client> {
    use crate::alipayplus::client::{Client, Credentials};
    use crate::alipayplus::signing::{SigningKey, VerifyingKeys};
    let key = SigningKey::generate("1");
    let credentials = Credentials {
        gateway: "http://127.0.0.1:9".parse()?,
        client_id: config.alipayplus.client_id.clone(),
        alipayplus_keys: VerifyingKeys::single(key.public_key(), "1"),
        signing_key: key,
    };
    Client::new(
        credentials,
        config.alipayplus.timeouts,
        std::sync::Arc::new(crate::clock::SystemClock),
    )
}

/// The database's plan for `statement` (PostgreSQL's `EXPLAIN ANALYZE`, SQLite's `EXPLAIN QUERY
/// PLAN`), a line each.
pub(super) async fn plan_of(
    db: &crate::store::Db,
    statement: sea_orm::Statement,
) -> anyhow::Result<Vec<String>> {
    let backend = db.get_database_backend();
    let explain = match backend {
        sea_orm::DbBackend::Postgres => "EXPLAIN ANALYZE ",
        _ => "EXPLAIN QUERY PLAN ",
    };
    let plan_statement = sea_orm::Statement::from_sql_and_values(
        backend,
        format!("{explain}{}", statement.sql),
        statement.values.map(|v| v.0).unwrap_or_default(),
    );
    Ok(db
        .query_all_raw(plan_statement)
        .await?
        .iter()
        .map(|row| {
            row.try_get_by_index::<String>(0)
                .or_else(|_| row.try_get_by_index::<String>(3))
                .unwrap_or_default()
        })
        .collect())
}

/// A progress bar of `len` `things` while a scratch database fills.
pub(super) fn progress_bar(len: usize, things: &str) -> indicatif::ProgressBar {
    let template = format!("{{bar:40}} {{pos}}/{{len}} {things} {{per_sec}} eta {{eta}}");
    indicatif::ProgressBar::new(len as u64)
        .with_style(indicatif::ProgressStyle::with_template(&template).expect("a valid template"))
}

/// Runs `measure` on a scratch database of `config`'s kind (its configuration, but for the
/// database), dropped afterwards whatever `measure` did.
pub(super) async fn in_scratch<F, Fut, T>(config: &Config, measure: F) -> anyhow::Result<T>
where
    F: FnOnce(Config) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<T>>,
{
    let scratch = Scratch::create(config).await?;
    let scratch_config = Config {
        database_url: scratch.url.clone(),
        ..config.clone()
    };
    let outcome = measure(scratch_config).await;
    scratch.drop_it(config).await;
    outcome
}

/// The scratch database: a temporary SQLite file, or a new PostgreSQL database.
/// A database of the configured kind made for one benchmark, dropped after it.
struct Scratch {
    url: String,
    /// PostgreSQL: the database's name, dropped afterwards. SQLite: the folder, removed.
    postgres_name: Option<String>,
    _dir: Option<tempfile::TempDir>,
}

impl Scratch {
    async fn create(config: &Config) -> anyhow::Result<Self> {
        match config.backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir()?;
                let url = format!("sqlite://{}?mode=rwc", dir.path().join("bench.db").display());
                Ok(Self {
                    url,
                    postgres_name: None,
                    _dir: Some(dir),
                })
            }
            Backend::Postgres => {
                let name = format!("plusflow_bench_{}", Uuid::new_v4().simple());
                let admin = sea_orm::Database::connect(&config.database_url).await?;
                admin
                    .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
                    .await?;
                let mut url = url::Url::parse(&config.database_url)?;
                url.set_path(&format!("/{name}"));
                Ok(Self {
                    url: url.to_string(),
                    postgres_name: Some(name),
                    _dir: None,
                })
            }
        }
    }

    /// Drops the scratch database, connected as `config` (the configured database) says.
    async fn drop_it(self, config: &Config) {
        if let Some(name) = &self.postgres_name {
            let dropped = async {
                let admin = sea_orm::Database::connect(&config.database_url).await?;
                admin
                    .execute_unprepared(&format!("DROP DATABASE \"{name}\" WITH (FORCE)"))
                    .await
            };
            if let Err(e) = dropped.await {
                tracing::warn!("could not drop the scratch database {name}: {e}");
            }
        }
    }
}
