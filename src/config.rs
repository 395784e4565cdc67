//! Configuration: raw [`Settings`] layered from `config/default.toml` (built in), the
//! `config/$PLUSFLOW_ENV.toml` overlay, an optional `--config FILE` and `PLUSFLOW__A__B`
//! environment variables, then validated once into a typed [`Config`]. Validation lists every
//! problem with the key it concerns; nothing downstream parses a string again.

use std::path::{Path, PathBuf};
use std::time::Duration;

use figment::Figment;
use figment::providers::{Env, Format, Toml};
use secrecy::SecretString;
use serde::Deserialize;

use crate::alipayplus::signing::{SigningKey, VerifyingKeys};
use crate::alipayplus::wallets::{WalletEntry, Wallets};
use crate::workflow::{self, Definitions};

const DEFAULTS: &str = include_str!("../config/default.toml");

/// The shortest configured admin key taken: a guessable one gives away every operator power.
pub const MIN_ADMIN_KEY_CHARS: usize = 32;

/// The settings as written: strings where people write durations and URLs.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub database: DatabaseSettings,
    pub redis: RedisSettings,
    pub server: ServerSettings,
    pub alipayplus: AlipayPlusSettings,
    pub workflows: WorkflowSettings,
    pub jobs: JobSettings,
    pub admin: AdminSettings,
    pub webhooks: WebhookSettings,
    pub payment_methods: PaymentMethodSettings,
    pub disputes: DisputeSettings,
    pub customs: CustomsSettings,
    pub registration: RegistrationSettings,
    pub reconciliation: ReconciliationSettings,
    pub telemetry: TelemetrySettings,
    /// Entries replacing or extending the built-in wallet table (`alipayplus::wallets`).
    #[serde(default)]
    pub wallets: Vec<WalletEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReconciliationSettings {
    pub drop_dir: PathBuf,
    pub scan_interval: String,
    pub max_file_bytes: u64,
}

/// The scheduled reconciliation (`[reconciliation]`).
#[derive(Debug, Clone)]
pub struct ReconciliationConfig {
    /// `None`: no scheduled reconciliation.
    pub drop_dir: Option<PathBuf>,
    pub scan_interval: Duration,
    /// A report file larger than this is not read (`reconciliation.max_file_bytes`).
    pub max_file_bytes: u64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegistrationSettings {
    pub inquiry_interval: String,
    pub required_regions: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomsSettings {
    pub unknown_status_rounds: u32,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DisputeSettings {
    pub escalation_response_window: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PaymentMethodSettings {
    pub cache_for: String,
    pub consults_per_merchant_per_minute: u32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookSettings {
    /// Whether merchant webhooks may go to loopback, private and link-local addresses.
    pub allow_private_targets: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    pub url: String,
    pub max_connections: u32,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedisSettings {
    pub url: String,
    pub queue: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSettings {
    pub host: String,
    pub port: u16,
    pub public_url: String,
    pub max_request_bytes: usize,
    pub max_connections: usize,
    pub header_read_timeout: String,
    pub body_read_timeout: String,
    pub socket_init_timeout: String,
    pub max_sockets_per_address: usize,
    pub max_sockets_per_key: usize,
    pub max_subscriptions_per_socket: usize,
    pub complexity_per_minute: usize,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlipayPlusSettings {
    pub mode: String,
    pub gateway_url: String,
    pub client_id: String,
    pub private_key_file: PathBuf,
    pub public_key_file: PathBuf,
    pub key_version: String,
    pub alipayplus_key_version: String,
    pub slow_call_timeout: String,
    pub call_timeout: String,
    pub request_time_window: String,
    #[serde(default)]
    pub extra_public_keys: std::collections::BTreeMap<String, PathBuf>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkflowSettings {
    /// Empty: the definitions built into the binary.
    pub dir: PathBuf,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobSettings {
    pub concurrency: usize,
    pub relay_interval: String,
    pub relay_batch: u32,
    pub lease: String,
    pub heartbeat: String,
    pub redis_sweep_interval: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminSettings {
    pub api_key: SecretString,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TelemetrySettings {
    pub format: String,
    pub level: String,
    /// The bearer token `/metrics` requires (empty: none).
    pub metrics_token: SecretString,
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
    pub webhooks: WebhookSettings,
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

impl Settings {
    pub fn validate(self) -> Result<Config, ConfigError> {
        let mut problems = Vec::new();
        let mut duration =
            |problems: &mut Vec<String>, key: &str, text: &str| match workflow::parse_duration(text) {
                Ok(d) if !d.is_zero() => d,
                Ok(_) => {
                    problems.push(format!("{key}: must be longer than zero"));
                    Duration::from_secs(1)
                }
                Err(e) => {
                    problems.push(format!("{key}: {e}"));
                    Duration::from_secs(1)
                }
            };
        let jobs = JobConfig {
            concurrency: self.jobs.concurrency,
            relay_interval: duration(&mut problems, "jobs.relay_interval", &self.jobs.relay_interval),
            relay_batch: self.jobs.relay_batch,
            lease: duration(&mut problems, "jobs.lease", &self.jobs.lease),
            heartbeat: duration(&mut problems, "jobs.heartbeat", &self.jobs.heartbeat),
            redis_sweep_interval: duration(
                &mut problems,
                "jobs.redis_sweep_interval",
                &self.jobs.redis_sweep_interval,
            ),
        };
        if jobs.concurrency == 0 {
            problems.push("jobs.concurrency: must be at least 1".into());
        }
        if jobs.relay_batch == 0 {
            problems.push("jobs.relay_batch: must be at least 1".into());
        }

        let url = self.database.url.trim().to_string();
        let backend = if url.starts_with("sqlite:") {
            Some(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(Backend::Postgres)
        } else {
            let scheme = url.split(':').next().unwrap_or_default();
            problems.push(format!(
                "database.url: unknown database scheme '{scheme}' (expected sqlite: or postgres://)"
            ));
            None
        };
        if self.database.max_connections == 0 {
            problems.push("database.max_connections: must be at least 1".into());
        }

        let redis_url = match self.redis.url.trim() {
            "" => None,
            url if url.starts_with("redis://") || url.starts_with("rediss://") => Some(url.to_string()),
            other => {
                problems.push(format!("redis.url: '{}' is not a redis:// URL", redact(other)));
                None
            }
        };
        if self.server.max_request_bytes < 1024 {
            problems.push("server.max_request_bytes: must be at least 1024".into());
        }
        let server = &self.server;
        let connections = ConnectionLimits {
            max_connections: server.max_connections,
            header_read_timeout: duration(
                &mut problems,
                "server.header_read_timeout",
                &server.header_read_timeout,
            ),
            body_read_timeout: duration(
                &mut problems,
                "server.body_read_timeout",
                &server.body_read_timeout,
            ),
            socket_init_timeout: duration(
                &mut problems,
                "server.socket_init_timeout",
                &server.socket_init_timeout,
            ),
            max_sockets_per_address: server.max_sockets_per_address,
            max_sockets_per_key: server.max_sockets_per_key,
            max_subscriptions_per_socket: server.max_subscriptions_per_socket,
            complexity_per_minute: server.complexity_per_minute,
        };
        if connections.max_connections > 1_000_000 {
            problems.push("server.max_connections: at most 1000000".into());
        }
        for (key, value) in [
            ("server.max_connections", connections.max_connections),
            (
                "server.max_sockets_per_address",
                connections.max_sockets_per_address,
            ),
            ("server.max_sockets_per_key", connections.max_sockets_per_key),
            (
                "server.max_subscriptions_per_socket",
                connections.max_subscriptions_per_socket,
            ),
        ] {
            if value == 0 {
                problems.push(format!("{key}: must be at least 1"));
            }
        }
        if connections.complexity_per_minute == 0 {
            problems.push("server.complexity_per_minute: must be at least 1".into());
        }
        if self.redis.queue.trim().is_empty() {
            problems.push("redis.queue: must not be empty".into());
        }

        let public_url = url::Url::parse(&self.server.public_url).unwrap_or_else(|e| {
            problems.push(format!(
                "server.public_url: '{}' is not a URL ({e})",
                self.server.public_url
            ));
            url::Url::parse("http://invalid").expect("static URL")
        });

        let payment_method_limits = PaymentMethodLimits {
            cache_for: duration(
                &mut problems,
                "payment_methods.cache_for",
                &self.payment_methods.cache_for,
            ),
            consults_per_merchant_per_minute: self.payment_methods.consults_per_merchant_per_minute,
        };
        if payment_method_limits.consults_per_merchant_per_minute == 0 {
            problems.push("payment_methods.consults_per_merchant_per_minute: must be at least 1".into());
        }
        let escalation_response_window = duration(
            &mut problems,
            "disputes.escalation_response_window",
            &self.disputes.escalation_response_window,
        );
        let registration = RegistrationConfig {
            inquiry_interval: duration(
                &mut problems,
                "registration.inquiry_interval",
                &self.registration.inquiry_interval,
            ),
            required_regions: self
                .registration
                .required_regions
                .iter()
                .map(|region| region.trim().to_ascii_uppercase())
                .collect(),
        };
        for region in &registration.required_regions {
            if region.len() != 2 || !region.chars().all(|c| c.is_ascii_alphabetic()) {
                problems.push(format!(
                    "registration.required_regions: '{region}' is not a two-letter region code"
                ));
            }
        }
        let reconciliation = ReconciliationConfig {
            drop_dir: Some(self.reconciliation.drop_dir.clone()).filter(|dir| !dir.as_os_str().is_empty()),
            scan_interval: duration(
                &mut problems,
                "reconciliation.scan_interval",
                &self.reconciliation.scan_interval,
            ),
            max_file_bytes: self.reconciliation.max_file_bytes,
        };
        if reconciliation.max_file_bytes == 0 {
            problems.push("reconciliation.max_file_bytes: must be at least 1".into());
        }
        let alipayplus = self.alipayplus.validate(&mut problems, &mut duration);
        if alipayplus.mode == AlipayPlusMode::AlipayPlus && public_url.scheme() != "https" {
            problems.push(format!(
                "server.public_url: must be https with alipayplus.mode = \"alipayplus\" (is '{public_url}')"
            ));
        }

        let log_format = match self.telemetry.format.as_str() {
            "pretty" => LogFormat::Pretty,
            "json" => LogFormat::Json,
            other => {
                problems.push(format!(
                    "telemetry.format: '{other}' is neither \"pretty\" nor \"json\""
                ));
                LogFormat::Pretty
            }
        };

        let definitions = workflow::load(&self.workflows.dir).unwrap_or_else(|found| {
            problems.extend(found.into_iter().map(|p| format!("workflows.dir: {p}")));
            Definitions::default()
        });

        use secrecy::ExposeSecret;
        let admin_api_key = Some(self.admin.api_key).filter(|key| !key.expose_secret().is_empty());
        if admin_api_key
            .as_ref()
            .is_some_and(|key| key.expose_secret().chars().count() < MIN_ADMIN_KEY_CHARS)
        {
            problems.push(format!(
                "admin.api_key: must be at least {MIN_ADMIN_KEY_CHARS} characters (e.g. `openssl rand -hex 32`)"
            ));
        }

        for (i, wallet) in self.wallets.iter().enumerate() {
            for (key, value) in [
                ("brand", &wallet.brand),
                ("name", &wallet.name),
                ("psp_id", &wallet.psp_id),
            ] {
                if value.trim().is_empty() {
                    problems.push(format!("wallets[{i}].{key}: must not be empty"));
                }
            }
        }
        if self.customs.unknown_status_rounds == 0 {
            problems.push("customs.unknown_status_rounds: must be at least 1".into());
        }
        if !problems.is_empty() {
            return Err(ConfigError(problems));
        }
        Ok(Config {
            database_url: url,
            backend: backend.expect("checked above"),
            max_connections: self.database.max_connections,
            redis_url,
            redis_queue: self.redis.queue,
            host: self.server.host,
            port: self.server.port,
            public_url,
            max_request_bytes: self.server.max_request_bytes,
            connections,
            alipayplus,
            definitions,
            jobs,
            admin_api_key,
            webhooks: self.webhooks,
            payment_method_limits,
            escalation_response_window,
            customs_unknown_status_rounds: self.customs.unknown_status_rounds,
            registration,
            reconciliation,
            wallets: Wallets::with_overrides(&self.wallets),
            log_format,
            log_level: self.telemetry.level,
            metrics_token: Some(self.telemetry.metrics_token)
                .filter(|token| !token.expose_secret().is_empty()),
        })
    }
}

impl AlipayPlusSettings {
    fn validate(
        self,
        problems: &mut Vec<String>,
        duration: &mut impl FnMut(&mut Vec<String>, &str, &str) -> Duration,
    ) -> AlipayPlusConfig {
        let timeouts = Timeouts {
            slow: duration(problems, "alipayplus.slow_call_timeout", &self.slow_call_timeout),
            normal: duration(problems, "alipayplus.call_timeout", &self.call_timeout),
        };
        let request_time_window = duration(
            problems,
            "alipayplus.request_time_window",
            &self.request_time_window,
        );
        if self.client_id.trim().is_empty() {
            problems.push("alipayplus.client_id: must not be empty".into());
        }
        for (key, version) in [
            ("alipayplus.key_version", &self.key_version),
            ("alipayplus.alipayplus_key_version", &self.alipayplus_key_version),
        ] {
            if version.trim().is_empty() || version.contains([',', '=']) {
                problems.push(format!("{key}: must be a non-empty version without ',' or '='"));
            }
        }
        let mode = match self.mode.as_str() {
            "simulator" => AlipayPlusMode::Simulator,
            "alipayplus" => AlipayPlusMode::AlipayPlus,
            other => {
                problems.push(format!(
                    "alipayplus.mode: '{other}' is neither \"simulator\" nor \"alipayplus\""
                ));
                AlipayPlusMode::Simulator
            }
        };
        let gateway = if self.gateway_url.trim().is_empty() {
            if mode == AlipayPlusMode::AlipayPlus {
                problems
                    .push("alipayplus.gateway_url: required with alipayplus.mode = \"alipayplus\"".into());
            }
            None
        } else {
            self.gateway(mode, problems)
        };
        AlipayPlusConfig {
            mode,
            client_id: self.client_id,
            key_version: self.key_version,
            alipayplus_key_version: self.alipayplus_key_version,
            timeouts,
            request_time_window,
            gateway,
            simulator_time_scale: 1.0,
        }
    }

    fn gateway(&self, mode: AlipayPlusMode, problems: &mut Vec<String>) -> Option<Gateway> {
        let url = url::Url::parse(&self.gateway_url)
            .map_err(|e| format!("'{}' is not a URL ({e})", self.gateway_url))
            .and_then(|url| match (mode, url.scheme()) {
                (AlipayPlusMode::AlipayPlus, "https") | (AlipayPlusMode::Simulator, "http" | "https") => {
                    Ok(url)
                }
                (AlipayPlusMode::AlipayPlus, _) => Err(format!(
                    "must be https with alipayplus.mode = \"alipayplus\" (is '{url}')"
                )),
                (AlipayPlusMode::Simulator, scheme) => Err(format!("'{scheme}' is not http or https")),
            })
            .map_err(|problem| problems.push(format!("alipayplus.gateway_url: {problem}")));
        let signing_key = SigningKey::from_pem_file(&self.private_key_file, &self.key_version)
            .map_err(|e| problems.push(format!("alipayplus.private_key_file: {e}")));
        let mut alipayplus_keys = VerifyingKeys::read_pem(&self.public_key_file)
            .map_err(|e| problems.push(format!("alipayplus.public_key_file: {e}")))
            .map(|key| VerifyingKeys::single(key, &self.alipayplus_key_version));
        for (version, path) in &self.extra_public_keys {
            match VerifyingKeys::read_pem(path) {
                Ok(key) => {
                    if let Ok(keys) = alipayplus_keys.as_mut() {
                        keys.add(version, key);
                    }
                }
                Err(e) => problems.push(format!("alipayplus.extra_public_keys.{version}: {e}")),
            }
        }
        Some(Gateway {
            url: url.ok()?,
            signing_key: signing_key.ok()?,
            alipayplus_keys: alipayplus_keys.ok()?,
        })
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
