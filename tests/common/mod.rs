//! Test harness: a fresh database per test (a SQLite file, or a new PostgreSQL database with a
//! private Redis queue), the config file that points `plusflow` at it, the real binary as a
//! child process, a local HTTP endpoint for probe effects, and polling with deadlines.
#![allow(dead_code)] // each test file uses part of the harness

pub mod app;
pub mod browser;
pub mod operators;
pub mod subscriptions;
pub mod webhooks;

use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use plusflow::alipayplus::wire::*;
use plusflow::config::Config;
use sea_orm::{ConnectionTrait, Database};

pub const DATABASE_ENV: &str = "PLUSFLOW_TEST_DATABASE_URL";
pub const REDIS_ENV: &str = "PLUSFLOW_TEST_REDIS_URL";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A SQLite file and the in-process queue.
    Sqlite,
    /// PostgreSQL and Redis, from the environment.
    PostgresRedis,
}

/// Where a test's `plusflow` keeps its state, and the config file that says so.
pub struct TestEnv {
    pub backend: Backend,
    pub dir: tempfile::TempDir,
    pub database_url: String,
    pub redis_url: Option<String>,
    /// The apalis queue's name in Redis (the test's own).
    pub redis_queue: String,
    pub config_path: PathBuf,
}

pub struct Options<'a> {
    pub workflows: &'a Path,
    pub lease: &'a str,
    /// A Redis database index of the test's own (for tests that flush it).
    pub redis_db: Option<u8>,
    /// More `[server]` settings (TOML lines).
    pub server: &'a str,
}

impl Default for Options<'_> {
    fn default() -> Self {
        Self {
            workflows: Path::new("workflows"),
            lease: "2s",
            redis_db: None,
            server: "",
        }
    }
}

impl TestEnv {
    /// A fresh environment, or `None` (after printing why) when the backend is not configured.
    pub async fn new(backend: Backend, options: Options<'_>) -> Option<TestEnv> {
        let mut dir = tempfile::tempdir().expect("temp dir");
        if std::env::var_os("PLUSFLOW_TEST_KEEP").is_some() {
            eprintln!("keeping the test folder {}", dir.path().display());
            dir.disable_cleanup(true);
        }
        let (database_url, redis_url) = match backend {
            Backend::Sqlite => (
                format!("sqlite://{}?mode=rwc", dir.path().join("plusflow.db").display()),
                None,
            ),
            Backend::PostgresRedis => {
                let (Ok(admin_url), Ok(redis)) = (std::env::var(DATABASE_ENV), std::env::var(REDIS_ENV))
                else {
                    println!(
                        "skipped: set {DATABASE_ENV} and {REDIS_ENV} to run this test on PostgreSQL + Redis"
                    );
                    return None;
                };
                let redis = match options.redis_db {
                    Some(index) => format!("{}/{index}", redis.trim_end_matches('/')),
                    None => redis,
                };
                (fresh_postgres_database(&admin_url).await, Some(redis))
            }
        };
        let workflows = std::fs::canonicalize(options.workflows).expect("workflow folder exists");
        let queue = format!("plusflow-test:{}", uuid::Uuid::new_v4().simple());
        let config = format!(
            r#"
[database]
url = "{database_url}"
max_connections = 8
[redis]
url = "{redis}"
queue = "{queue}"
[server]
port = 0
{server}
[workflows]
dir = "{workflows}"
[jobs]
lease = "{lease}"
relay_interval = "50ms"
heartbeat = "1s"
redis_sweep_interval = "1s"
[telemetry]
level = "warn"
"#,
            redis = redis_url.clone().unwrap_or_default(),
            workflows = workflows.display(),
            lease = options.lease,
            server = options.server,
        );
        let config_path = dir.path().join("plusflow.toml");
        std::fs::write(&config_path, config).expect("write config");
        Some(TestEnv {
            backend,
            dir,
            database_url,
            redis_url,
            redis_queue: queue,
            config_path,
        })
    }

    /// Appends `extra` (TOML) to the environment's config file.
    pub fn append_config(&self, extra: &str) {
        let mut text = std::fs::read_to_string(&self.config_path).unwrap();
        text.push_str(extra);
        std::fs::write(&self.config_path, text).unwrap();
    }

    pub fn config(&self) -> Config {
        Config::load(Some(&self.config_path)).expect("test config is valid")
    }

    /// Starts `plusflow serve --role ROLE` on this environment and waits for its ready line.
    pub fn spawn(&self, role: &str) -> ChildProcess {
        self.spawn_with(role, &[])
    }

    /// `plusflow serve --role ROLE` at a port of its own, its public URL (the notify URL Alipay+
    /// is given) that address: a process restarted at the same port is found where Alipay+
    /// sends its notifications and disputes, as behind a real deployment's stable address.
    pub fn spawn_at(&self, role: &str, port: u16) -> ChildProcess {
        let public_url = format!("http://127.0.0.1:{port}");
        self.spawn_with(
            role,
            &[
                ("PLUSFLOW__SERVER__PORT", port.to_string()),
                ("PLUSFLOW__SERVER__PUBLIC_URL", public_url),
            ],
        )
    }

    /// [`TestEnv::spawn`] with these environment variables (settings as `PLUSFLOW__A__B`).
    pub fn spawn_with(&self, role: &str, env: &[(&str, String)]) -> ChildProcess {
        let log = self
            .dir
            .path()
            .join(format!("{role}-{}.log", uuid::Uuid::new_v4().simple()));
        spawn_plusflow(
            &[
                "--config",
                self.config_path.to_str().unwrap(),
                "serve",
                "--role",
                role,
                // Tests run the simulator on PostgreSQL too.
                "--allow-simulator",
            ],
            env,
            &log,
        )
    }
}

/// A port nobody listens on now (the system's pick, released at once).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port()
}

/// Creates an empty database next to the one `admin_url` names, and returns its URL.
async fn fresh_postgres_database(admin_url: &str) -> String {
    let name = format!("plusflow_test_{}", uuid::Uuid::new_v4().simple());
    let admin = Database::connect(admin_url)
        .await
        .expect("connect to the test PostgreSQL");
    admin
        .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
        .await
        .expect("create test database");
    admin.close().await.ok();
    let mut url = url::Url::parse(admin_url).expect("PostgreSQL URL");
    url.set_path(&name);
    url.to_string()
}

/// A running `plusflow` child process; killed when dropped.
pub struct ChildProcess {
    pub child: Child,
    pub log: PathBuf,
    /// The API base URL from the ready line, if the process serves one.
    pub api: Option<String>,
    /// Kept open so the process never writes into a closed pipe.
    _stdout: BufReader<std::process::ChildStdout>,
}

impl ChildProcess {
    /// SIGKILL: no chance to finish or clean anything up.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for ChildProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

pub fn plusflow_binary() -> &'static str {
    env!("CARGO_BIN_EXE_plusflow")
}

fn spawn_plusflow(args: &[&str], env: &[(&str, String)], log: &Path) -> ChildProcess {
    let stderr = std::fs::File::create(log).expect("log file");
    let mut child = Command::new(plusflow_binary())
        .args(args)
        .envs(env.iter().map(|(name, value)| (name, value)))
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .expect("start plusflow");
    let stdout = child.stdout.take().expect("stdout");
    let mut stdout = BufReader::new(stdout);
    let mut line = String::new();
    stdout.read_line(&mut line).expect("read the ready line");
    let api = serde_json::from_str::<serde_json::Value>(&line)
        .ok()
        .and_then(|v| v["api"].as_str().map(str::to_string));
    let process = ChildProcess {
        child,
        log: log.to_path_buf(),
        api,
        _stdout: stdout,
    };
    assert!(
        line.contains("\"ready\":true"),
        "plusflow did not start: {line}\n{}",
        process.log_text()
    );
    process
}

/// Polls `probe` every 50 ms until it yields a value, or `None` once `timeout` has passed.
pub async fn poll_within<T, F, Fut>(timeout: Duration, mut probe: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = probe().await {
            return Some(value);
        }
        if Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(50)).await; // poll
    }
}

/// Polls `probe` until it yields a value; panics with `what` at the deadline.
pub async fn poll_until<T, F, Fut>(what: &str, timeout: Duration, probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    poll_within(timeout, probe)
        .await
        .unwrap_or_else(|| panic!("timed out after {timeout:?} waiting for {what}"))
}

/// Polls `condition` until it holds; panics with `what` at the deadline.
pub async fn wait_for<F, Fut>(what: &str, timeout: Duration, mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    poll_until(what, timeout, || {
        let holds = condition();
        async move { holds.await.then_some(()) }
    })
    .await
}

/// An HTTP endpoint for probe effects: `/ok`; `/flaky/{key}`, which answers 503 the first time
/// a key is asked and 200 after that; `/gated`, which answers 200 only once the test lets the
/// call through ([`ProbeTarget::let_through`], [`ProbeTarget::open`]), so effects stay in
/// flight exactly as long as a test wants; anything else is 404.
pub struct ProbeTarget {
    pub address: SocketAddr,
    gate: Arc<tokio::sync::Semaphore>,
    gated_calls: Arc<std::sync::atomic::AtomicUsize>,
}

impl ProbeTarget {
    pub async fn start() -> ProbeTarget {
        use axum::extract::Path as UrlPath;
        use axum::http::StatusCode;
        use axum::routing::get;
        let seen = Arc::new(Mutex::new(HashSet::new()));
        let gate = Arc::new(tokio::sync::Semaphore::new(0));
        let gated = gate.clone();
        let gated_calls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counted = gated_calls.clone();
        let router = axum::Router::new()
            .route("/ok", get(|| async { StatusCode::OK }))
            .route(
                "/flaky/{key}",
                get(move |UrlPath(key): UrlPath<String>| async move {
                    let first_time = seen.lock().unwrap().insert(key);
                    if first_time {
                        StatusCode::SERVICE_UNAVAILABLE
                    } else {
                        StatusCode::OK
                    }
                }),
            )
            .route(
                "/gated",
                get(move || {
                    let gate = gated.clone();
                    counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    async move {
                        // A closed gate (`open`) lets every call through.
                        if let Ok(permit) = gate.acquire().await {
                            permit.forget();
                        }
                        StatusCode::OK
                    }
                }),
            );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, router).await });
        ProbeTarget {
            address,
            gate,
            gated_calls,
        }
    }

    /// Calls that reached `/gated` so far, let through or still waiting.
    pub fn gated_calls(&self) -> usize {
        self.gated_calls.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Lets `calls` more calls to `/gated` through.
    pub fn let_through(&self, calls: usize) {
        self.gate.add_permits(calls);
    }

    /// Lets every call to `/gated` through from now on.
    pub fn open(&self) {
        self.gate.close();
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }
}

/// Runs `plusflow ARGS` to completion: (exit code, stdout, stderr).
pub fn run_plusflow(args: &[&str]) -> (i32, String, String) {
    let output = Command::new(plusflow_binary())
        .args(args)
        .output()
        .expect("run plusflow");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Declares one test per backend from an `async fn(Backend)`.
#[macro_export]
macro_rules! on_each_backend {
    ($($name:ident),* $(,)?) => {
        mod on_sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() { super::$name($crate::common::Backend::Sqlite).await }
            )*
        }
        mod on_postgres_and_redis {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() { super::$name($crate::common::Backend::PostgresRedis).await }
            )*
        }
    };
}

/// A Cashier `pay` request for `value` minor units of USD ("Two lattes", order `order-<id>`).
pub fn pay_request(id: &str, value: i64, notify_url: Option<String>) -> PayRequest {
    PayRequest {
        order: Order {
            reference_order_id: format!("order-{id}"),
            order_description: "Two lattes".into(),
            order_amount: Amount::new("USD", value),
            merchant: Some(Merchant {
                reference_merchant_id: Some("M1".into()),
                merchant_name: Some("Demo Coffee Ltd".into()),
                merchant_display_name: Some("Demo Coffee".into()),
                merchant_mcc: Some("5812".into()),
                merchant_address: Some(Address {
                    region: Some("SG".into()),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            goods: None,
            shipping: None,
            buyer: None,
            env: Some(Env {
                terminal_type: Some("WEB".into()),
                ..Default::default()
            }),
        },
        payment_request_id: id.into(),
        payment_amount: Amount::new("USD", value),
        payment_method: PaymentMethod {
            payment_method_type: "CONNECT_WALLET".into(),
            payment_method_id: None,
            customer_id: None,
        },
        payment_factor: PaymentFactor::cashier(),
        payment_expiry_time: None,
        payment_notify_url: notify_url,
        payment_redirect_url: Some("https://merchant.example/return".into()),
        settlement_strategy: None,
        user_region: None,
        allowed_psp_regions: None,
    }
}
