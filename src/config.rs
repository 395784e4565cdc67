//! Configuration: raw [`Settings`] layered from `config/default.toml` (built in), the
//! `config/$PLUSFLOW_ENV.toml` overlay, an optional `--config FILE` and `PLUSFLOW__A__B`
//! environment variables, then validated once into a typed [`Config`]. Validation lists every
//! problem with the key it concerns; nothing downstream parses a string again.

use std::path::{Path, PathBuf};
use std::time::Duration;

use figment::Figment;
use figment::providers::{Env, Format, Toml};
use secrecy::SecretString;

use crate::alipayplus::signing::{SigningKey, VerifyingKeys};
use crate::alipayplus::wallets::Wallets;
use crate::crypto::DataKeys;
use crate::workflow::Definitions;

mod settings;
mod validate;

pub use settings::*;

const DEFAULTS: &str = include_str!("../config/default.toml");

/// The shortest configured admin key taken: a guessable one gives away every operator power.
pub const MIN_ADMIN_KEY_CHARS: usize = 32;

/// The scheduled reconciliation (`[reconciliation]`).
#[derive(Debug, Clone)]
pub struct ReconciliationConfig {
    /// `None`: no scheduled reconciliation.
    pub drop_dir: Option<PathBuf>,
    pub scan_interval: Duration,
    /// A report file larger than this is not read (`reconciliation.max_file_bytes`).
    pub max_file_bytes: u64,
    /// Business days a reconciliation case has before it is due.
    pub case_due_business_days: u32,
    /// Alipay+'s SFTP, polled each scan into the drop folder (`reconciliation.sftp`).
    pub sftp: Option<SftpConfig>,
}

/// Where Alipay+'s report files are fetched from (`[reconciliation.sftp]`): a server, a user
/// with its private key (a file; never logged), the server's own public key (checked on each
/// connection), and the remote folders holding one subfolder per date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SftpConfig {
    pub host: String,
    pub port: u16,
    pub user: String,
    pub key_file: PathBuf,
    pub host_key_file: PathBuf,
    pub clearing_dir: String,
    pub settlement_dir: String,
}

/// Client timeouts (ALIPAYPLUS.md 1.7): 8 s for pay, refund and cancelPayment, 5 s for the rest.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    pub slow: Duration,
    pub normal: Duration,
}

/// `[payment_methods]` settings.
#[derive(Debug, Clone, Copy)]
pub struct PaymentMethodLimits {
    pub cache_for: Duration,
    pub consults_per_merchant_per_minute: u32,
}

/// What clients may hold of the server (`[server]`): connections, how long each may take to
/// send a request or sit idle, subscription sockets, and GraphQL work per key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// Connections served at once; more wait in the listen queue.
    pub max_connections: usize,
    /// A request's headers must arrive within this, counted from when the connection waits for
    /// a request (new, or kept alive after a response: also the idle timeout).
    pub header_read_timeout: Duration,
    /// A request's body must arrive within this.
    pub body_read_timeout: Duration,
    /// A subscription socket must send `connection_init` within this.
    pub socket_init_timeout: Duration,
    pub max_sockets_per_address: usize,
    pub max_sockets_per_key: usize,
    pub max_subscriptions_per_socket: usize,
    /// GraphQL complexity (fields, aliases counted) one key may spend a minute.
    pub complexity_per_minute: usize,
}

/// Which database the service runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// One SQLite file, in-process queue unless Redis is configured.
    Sqlite,
    /// PostgreSQL: several processes share it.
    Postgres,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Pretty,
    Json,
}

/// The validated configuration. Its `Debug` shows the database and Redis URLs with their
/// passwords replaced; keys and the admin key are `secrecy` values or print as redacted.
#[derive(Clone)]
pub struct Config {
    pub database_url: String,
    pub backend: Backend,
    pub max_connections: u32,
    pub redis_url: Option<String>,
    pub redis_queue: String,
    pub host: String,
    pub port: u16,
    pub public_url: url::Url,
    /// Largest request body accepted on any route (`server.max_request_bytes`), and the
    /// largest WebSocket frame and message.
    pub max_request_bytes: usize,
    pub connections: ConnectionLimits,
    pub alipayplus: AlipayPlusConfig,
    pub definitions: Definitions,
    pub jobs: JobConfig,
    pub admin_api_key: Option<SecretString>,
    /// Kinds whose forced money moves need a second operator (`admin.four_eyes`).
    pub four_eyes: Vec<String>,
    pub webhooks: WebhookConfig,
    pub payment_method_limits: PaymentMethodLimits,
    /// How long a merchant has to answer an escalation.
    pub escalation_response_window: Duration,
    /// Inquiry rounds before a declaration with an unknown status is parked (`customs.*`).
    pub customs_unknown_status_rounds: u32,
    pub registration: RegistrationConfig,
    pub reconciliation: ReconciliationConfig,
    /// The wallet table: built in, with `[[wallets]]` applied.
    pub wallets: Wallets,
    pub log_format: LogFormat,
    pub log_level: String,
    /// What `/metrics` requires as `Authorization: Bearer <token>` (`telemetry.metrics_token`).
    pub metrics_token: Option<SecretString>,
    /// The OTLP/HTTP collector traces are exported to (`telemetry.otlp_endpoint`).
    pub otlp_endpoint: Option<url::Url>,
    /// What is kept how long (`[retention]`, `events.retention`).
    pub retention: RetentionConfig,
    /// The keys sealing personal data at rest (`[crypto]`).
    pub data_keys: std::sync::Arc<DataKeys>,
}

/// How long each kind of row is kept before the retention job removes it (`[retention]`).
#[derive(Debug, Clone)]
pub struct RetentionConfig {
    /// How often the scheduled job runs in a process running workers.
    pub interval: Duration,
    /// Rows removed by one statement.
    pub batch: u32,
    pub outbox: Duration,
    pub idempotency_keys: Duration,
    pub events: Duration,
    pub webhook_deliveries: Duration,
    pub inbound_journal: Duration,
    pub customs_identity: Duration,
    /// Archival (`[archive]`), when `archive.dir` is set.
    pub archive: Option<ArchiveConfig>,
}

/// Archival (`[archive]`): where, after how long, how many objects a part.
#[derive(Debug, Clone)]
pub struct ArchiveConfig {
    pub dir: PathBuf,
    /// How long after every workflow of an object is final it is archived.
    pub after: Duration,
    /// Objects per part file (and per transaction).
    pub batch: u32,
}

/// Merchant registration (`[registration]`).
#[derive(Debug, Clone)]
pub struct RegistrationConfig {
    /// How often a registration in review is asked about, at Alipay+'s own pace (the built-in
    /// simulator's `time_scale` shortens it with the simulator's delays).
    pub inquiry_interval: Duration,
    /// The markets (userRegion, upper case) whose payments need a completed registration.
    pub required_regions: Vec<String>,
}

impl RegistrationConfig {
    /// Whether a payment for `user_region` needs the merchant registered: one in a market that
    /// requires it, and one without a region (its customer may pay in any market) once any does.
    pub fn required_for(&self, user_region: Option<&str>) -> bool {
        match user_region {
            _ if self.required_regions.is_empty() => false,
            Some(region) => self
                .required_regions
                .iter()
                .any(|r| r.eq_ignore_ascii_case(region)),
            None => true,
        }
    }
}

/// Merchant webhooks (`[webhooks]`): where they may go and how long they are retried.
#[derive(Debug, Clone)]
pub struct WebhookConfig {
    /// Whether webhooks may go to loopback, private and link-local addresses.
    pub allow_private_targets: bool,
    /// The delay after a first failed attempt, doubled after each further one up to `retry_cap`.
    pub retry_backoff: Duration,
    pub retry_cap: Duration,
    /// How long a delivery is retried, and an endpoint failing every delivery stays enabled.
    pub retry_for: Duration,
}

impl Default for WebhookConfig {
    fn default() -> Self {
        Self {
            allow_private_targets: false,
            retry_backoff: Duration::from_secs(2),
            retry_cap: Duration::from_secs(3600),
            retry_for: Duration::from_secs(3 * 24 * 3600),
        }
    }
}

#[derive(Debug, Clone)]
pub struct JobConfig {
    pub concurrency: usize,
    pub relay_interval: Duration,
    pub relay_batch: u32,
    pub lease: Duration,
    pub heartbeat: Duration,
    /// How often a worker process removes finished deliveries from Redis.
    pub redis_sweep_interval: Duration,
}

/// Whom plusflow talks to as Alipay+ (`alipayplus.mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlipayPlusMode {
    /// Development: the built-in simulator (in-process, or `plusflow simulator` at
    /// `gateway_url`); plain http allowed, keys generated when no gateway is named.
    Simulator,
    /// Production: a real Alipay+ gateway over https with configured keys.
    AlipayPlus,
}

/// How plusflow talks to Alipay+.
#[derive(Debug, Clone)]
pub struct AlipayPlusConfig {
    pub mode: AlipayPlusMode,
    pub client_id: String,
    /// keyVersion of our private key, sent in every Signature header we write.
    pub key_version: String,
    /// keyVersion of Alipay+'s public key (`public_key_file`), expected in its Signature headers.
    pub alipayplus_key_version: String,
    pub timeouts: Timeouts,
    /// How far an inbound call's `Request-Time` may be from our clock.
    pub request_time_window: Duration,
    /// `None`: development mode, with the built-in simulator and keys generated at start.
    pub gateway: Option<Gateway>,
    /// The built-in simulator's `time_scale` (1: Alipay+'s own schedules; `demo` runs faster).
    pub simulator_time_scale: f64,
}

/// A real (or external) Alipay+ gateway and the keys to talk to it.
#[derive(Debug, Clone)]
pub struct Gateway {
    pub url: url::Url,
    pub signing_key: SigningKey,
    pub alipayplus_keys: VerifyingKeys,
}

/// Every problem found while loading, one per line.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration:\n  - {}", .0.join("\n  - "))]
pub struct ConfigError(pub Vec<String>);

impl Config {
    /// Loads the layers and validates them; `extra_file` is `--config FILE`.
    pub fn load(extra_file: Option<&Path>) -> Result<Config, ConfigError> {
        let mut figment = Figment::new().merge(Toml::string(DEFAULTS));
        if let Ok(environment) = std::env::var("PLUSFLOW_ENV") {
            figment = figment.merge(Toml::file(
                Path::new("config").join(format!("{environment}.toml")),
            ));
        }
        if let Some(file) = extra_file {
            if !file.is_file() {
                return Err(ConfigError(vec![format!(
                    "--config: no such file {}",
                    file.display()
                )]));
            }
            figment = figment.merge(Toml::file(file));
        }
        figment = figment.merge(Env::prefixed("PLUSFLOW__").split("__"));
        let settings: Settings = figment.extract().map_err(|errors| {
            ConfigError(errors.into_iter().map(|e| describe_figment_error(&e)).collect())
        })?;
        settings.validate()
    }
}

fn describe_figment_error(error: &figment::Error) -> String {
    let key = error.path.join(".");
    let source = error
        .metadata
        .as_ref()
        .map(|m| format!(" (from {})", m.name))
        .unwrap_or_default();
    if key.is_empty() {
        format!("{}{source}", error.kind)
    } else {
        format!("{key}: {}{source}", error.kind)
    }
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("database_url", &redact(&self.database_url))
            .field("backend", &self.backend)
            .field("max_connections", &self.max_connections)
            .field("redis_url", &self.redis_url.as_deref().map(redact))
            .field("redis_queue", &self.redis_queue)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("public_url", &self.public_url.as_str())
            .field("max_request_bytes", &self.max_request_bytes)
            .field("alipayplus", &self.alipayplus)
            .field("jobs", &self.jobs)
            .field("admin_api_key", &self.admin_api_key)
            .field("four_eyes", &self.four_eyes)
            .field("webhooks", &self.webhooks)
            .field("payment_method_limits", &self.payment_method_limits)
            .field("escalation_response_window", &self.escalation_response_window)
            .field(
                "customs_unknown_status_rounds",
                &self.customs_unknown_status_rounds,
            )
            .field("registration", &self.registration)
            .field("reconciliation", &self.reconciliation)
            .field("log_format", &self.log_format)
            .field("log_level", &self.log_level)
            .field(
                "otlp_endpoint",
                &self.otlp_endpoint.as_ref().map(|url| redact(url.as_str())),
            )
            .field("retention", &self.retention)
            .field("data_keys", &self.data_keys)
            .finish_non_exhaustive()
    }
}

/// A URL fit for a log line: its password replaced.
pub fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_string(),
    }
}
