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

/// A client the measured queries never call (the schema wants one).
pub(super) fn offline_client(config: &Config) -> anyhow::Result<crate::alipayplus::client::Client> {
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

/// The scratch database: a temporary SQLite file, or a new PostgreSQL database.
/// A database of the configured kind made for one benchmark, dropped after it.
pub(super) struct Scratch {
    pub(super) url: String,
    /// PostgreSQL: the database's name, dropped afterwards. SQLite: the folder, removed.
    postgres_name: Option<String>,
    _dir: Option<tempfile::TempDir>,
}

impl Scratch {
    pub(super) async fn create(config: &Config) -> anyhow::Result<Self> {
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
    pub(super) async fn drop_it(self, config: &Config) {
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
