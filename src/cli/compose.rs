//! The composition root: connects and migrates, builds the engine on the right clock, registers
//! every kind's effects and webhook (from `kinds::ALL`), and starts this process's part (API,
//! relay and workers, or one of them) until a signal stops it.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::ValueEnum;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::info;

use super::alipayplus;
use crate::app::kind::{KindEffects, KindList, KindServices, statuses_outside_vocabulary};
use crate::app::{EffectRegistry, Engine};
use crate::clock::{SharedClock, SystemClock};
use crate::config::{Config, redact};
use crate::store::db_clock::DatabaseClock;
use crate::{api, jobs, store};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Role {
    /// API, relay and workers.
    All,
    /// HTTP only.
    Api,
    /// Relay and workers only.
    Worker,
}

async fn connect(config: &Config) -> anyhow::Result<crate::store::Db> {
    store::connect(config)
        .await
        .with_context(|| format!("connecting to {}", redact(&config.database_url)))
}

/// The handlers of every effect this binary can execute.
fn effect_registry(
    config: &Config,
    engine: &Engine,
    client: crate::alipayplus::client::Client,
    public_url: &url::Url,
) -> anyhow::Result<EffectRegistry> {
    let services = KindServices {
        engine,
        client: &client,
        public_url,
    };
    let mut effects = EffectRegistry::default();
    for kind in crate::kinds::ALL {
        let KindEffects { names, handler } = kind.effects(&services)?;
        effects.register_each(names, handler);
    }
    jobs::webhooks::register(&mut effects, engine.clone());
    let wrong_statuses = statuses_outside_vocabulary(&crate::kinds::ALL, &config.definitions);
    anyhow::ensure!(
        wrong_statuses.is_empty(),
        "workflows give states statuses their kind does not have:\n  - {}",
        wrong_statuses.join("\n  - ")
    );
    let unknown: Vec<&String> = config
        .four_eyes
        .iter()
        .filter(|name| !crate::kinds::ALL.iter().any(|kind| kind.name() == name.as_str()))
        .collect();
    anyhow::ensure!(
        unknown.is_empty(),
        "admin.four_eyes names kinds plusflow does not have: {unknown:?}"
    );
    let missing = effects.missing_for(&config.definitions);
    anyhow::ensure!(
        missing.is_empty(),
        "workflows name effects this binary cannot run:\n  - {}",
        missing.join("\n  - ")
    );
    Ok(effects)
}

/// Connects and migrates.
pub(super) async fn migrated(config: &Config) -> anyhow::Result<crate::store::Db> {
    let db = connect(config).await?;
    store::migrate(&db).await.context("applying migrations")?;
    Ok(db)
}

/// Connects, migrates and builds the engine on `clock`, every kind announcing its changes.
pub async fn boot(config: &Config, clock: SharedClock) -> anyhow::Result<Engine> {
    Ok(engine(migrated(config).await?, config, clock))
}

/// The engine of `config` on `db`, with every kind's announcements (`kinds::ALL`).
fn engine(db: crate::store::Db, config: &Config, clock: SharedClock) -> Engine {
    Engine::new(db, config.definitions.clone(), clock)
        .configured(config)
        .announcing(Arc::new(KindList(&crate::kinds::ALL)))
}

/// The engine on the configured database as it is, for the one-shot commands (merchants, keys,
/// the stuck list, reconcile): a database that does not exist, or lacks plusflow's tables, is
/// refused naming its URL, never created (`migrate`, `serve` and `demo` create and migrate).
pub async fn open_existing(config: &Config) -> anyhow::Result<Engine> {
    let url = redact(&config.database_url);
    if let Some(path) = sqlite_file(&config.database_url)
        && !path.exists()
    {
        anyhow::bail!(
            "no database at {url} ({} does not exist here): run `plusflow migrate` to create it, \
             or point database.url / PLUSFLOW__DATABASE__URL at yours",
            path.display()
        );
    }
    let db = connect(config).await?;
    if let Some(why) = store::not_migrated(&db).await? {
        anyhow::bail!("the database at {url} is not ready: {why}; run `plusflow migrate` first");
    }
    Ok(engine(db, config, Arc::new(SystemClock)))
}

/// The file of a `sqlite:` URL (`sqlite://plusflow.db?mode=rwc`), if it names one.
fn sqlite_file(url: &str) -> Option<std::path::PathBuf> {
    let path = url.strip_prefix("sqlite:")?.trim_start_matches("//");
    let path = path.split('?').next()?;
    (!path.is_empty() && path != ":memory:").then(|| path.into())
}

/// [`boot`] on the database's clock (see `store::db_clock`), as every process that runs jobs
/// next to others must be.
pub async fn boot_on_database_clock(config: &Config) -> anyhow::Result<Engine> {
    let db = migrated(config).await?;
    let clock = DatabaseClock::synced(&db, Arc::new(SystemClock))
        .await
        .context("reading the database's clock")?;
    clock.keep_synced(db.clone(), Duration::from_secs(60));
    Ok(engine(db, config, clock))
}

/// Whether this process may run its Alipay+ mode on this database. With a real gateway the
/// database is marked for good as holding real merchants' payments (`store::marks`); the
/// simulator never runs on a marked database, and on PostgreSQL only with `allow_simulator`.
pub(crate) async fn check_mode(
    config: &Config,
    engine: &Engine,
    allow_simulator: bool,
) -> anyhow::Result<()> {
    use crate::config::{AlipayPlusMode, Backend};
    use crate::store::marks::{self, SERVED_ALIPAYPLUS};
    match (&config.alipayplus.mode, &config.alipayplus.gateway) {
        (AlipayPlusMode::AlipayPlus, Some(gateway)) => {
            marks::set(
                &engine.db,
                SERVED_ALIPAYPLUS,
                gateway.url.as_str(),
                engine.clock.now(),
            )
            .await?;
            Ok(())
        }
        (AlipayPlusMode::AlipayPlus, None) => unreachable!("validated: the alipayplus mode has a gateway"),
        (AlipayPlusMode::Simulator, _) => {
            if let Some(mark) = marks::get(&engine.db, SERVED_ALIPAYPLUS).await? {
                anyhow::bail!(
                    "this database served the Alipay+ gateway {} (since {}): it holds real merchants' \
                     payments, and the simulator never runs on it",
                    mark.value,
                    mark.set_at
                );
            }
            anyhow::ensure!(
                config.backend == Backend::Sqlite || allow_simulator,
                "alipayplus.mode = \"simulator\" on a postgres:// database: pass --allow-simulator if \
                 this database holds no real payments, or set alipayplus.mode = \"alipayplus\""
            );
            Ok(())
        }
    }
}

/// A running process: its API address (if it serves one) and its background tasks.
pub struct Running {
    pub api_address: Option<std::net::SocketAddr>,
    /// The built-in simulator, in development mode.
    pub simulator: Option<std::net::SocketAddr>,
    pub shutdown: CancellationToken,
    pub tasks: JoinSet<()>,
}

impl Running {
    /// Stops the API, the relay and the workers, and waits for them.
    pub async fn stop(mut self) {
        self.shutdown.cancel();
        while self.tasks.join_next().await.is_some() {}
    }
}

/// Starts the parts of `role` on an already booted engine. With `server.port = 0` the API
/// picks a free port, and the URL Alipay+ notifies becomes that address.
pub async fn start(config: &Config, engine: Engine, role: Role) -> anyhow::Result<Running> {
    crate::metrics::install();
    let shutdown = CancellationToken::new();
    let mut tasks = JoinSet::new();
    let listener = match role {
        Role::Worker => None,
        _ => Some(
            api::bind(&config.host, config.port)
                .await
                .with_context(|| format!("binding {}:{}", config.host, config.port))?,
        ),
    };
    let api_address = listener.as_ref().map(|(_, address)| *address);
    let public_url = match api_address {
        Some(address) if config.port == 0 => format!("http://{address}").parse()?,
        _ => config.public_url.clone(),
    };
    let alipayplus = alipayplus::connect(config, &public_url, engine.clock.clone()).await?;
    let effects = effect_registry(config, &engine, alipayplus.client.clone(), &public_url)?;
    if let Some(redis_url) = &config.redis_url {
        api::fanout::spawn(engine.clone(), redis_url, shutdown.clone(), &mut tasks).await?;
    }
    if role != Role::Api {
        jobs::spawn(engine.clone(), effects, config, shutdown.clone(), &mut tasks).await?;
        if let Some(drop_dir) = &config.reconciliation.drop_dir {
            jobs::report_intake::spawn(
                engine.clone(),
                drop_dir.clone(),
                config.reconciliation.sftp.clone(),
                config.reconciliation.scan_interval,
                shutdown.clone(),
                &mut tasks,
            );
        }
    }
    if let Some((listener, _)) = listener {
        let router = api::router(engine, config, alipayplus.endpoint, alipayplus.client).await?;
        let (stop, limits) = (shutdown.clone(), config.connections);
        tasks.spawn(async move {
            if let Err(e) = api::serve(listener, router, limits, stop).await {
                tracing::error!("API server stopped: {e}");
            }
        });
    }
    Ok(Running {
        api_address,
        simulator: alipayplus.simulator,
        shutdown,
        tasks,
    })
}

pub(super) async fn serve(config: Config, role: Role, allow_simulator: bool) -> anyhow::Result<ExitCode> {
    let engine = boot_on_database_clock(&config).await?;
    check_mode(&config, &engine, allow_simulator).await?;
    let running = start(&config, engine, role).await?;
    let api = running.api_address.map(|a| format!("http://{a}"));
    let simulator = running.simulator.map(|a| format!("http://{a}"));
    info!(role = ?role, database = %redact(&config.database_url), api = ?api, "plusflow serving");
    // One machine-readable line, so scripts and tests know the process is ready and where.
    println!(
        "{}",
        serde_json::json!({ "ready": true, "role": format!("{role:?}").to_lowercase(), "api": api, "simulator": simulator })
    );
    shutdown_signal().await;
    info!("shutting down");
    running.stop().await;
    Ok(ExitCode::SUCCESS)
}

async fn shutdown_signal() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate => {}
    }
}
