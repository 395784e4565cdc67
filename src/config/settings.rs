//! The settings as people write them (`config/default.toml` and its overlays): strings where
//! they write durations and URLs, checked by `super::validate`.

use std::path::PathBuf;

use secrecy::SecretString;
use serde::Deserialize;

use crate::alipayplus::wallets::WalletEntry;

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
    pub retention: RetentionSettings,
    pub archive: ArchiveSettings,
    pub events: EventSettings,
    pub crypto: CryptoSettings,
    /// Entries replacing or extending the built-in wallet table (`alipayplus::wallets`).
    #[serde(default)]
    pub wallets: Vec<WalletEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetentionSettings {
    pub interval: String,
    pub batch: u32,
    pub outbox: String,
    pub idempotency_keys: String,
    pub webhook_deliveries: String,
    pub inbound_journal: String,
    pub customs_identity: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArchiveSettings {
    /// Empty: nothing is archived.
    pub dir: PathBuf,
    pub after: String,
    pub batch: u32,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventSettings {
    pub retention: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CryptoSettings {
    /// A file holding the data key list (`crate::crypto`).
    pub key_file: PathBuf,
    /// The key list itself, for an environment variable (PLUSFLOW__CRYPTO__KEYS).
    pub keys: SecretString,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReconciliationSettings {
    pub drop_dir: PathBuf,
    pub scan_interval: String,
    pub max_file_bytes: u64,
    pub case_due_business_days: u32,
    pub sftp: SftpSettings,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SftpSettings {
    /// Empty: no SFTP.
    pub host: String,
    pub port: u16,
    pub user: String,
    pub key_file: PathBuf,
    pub host_key_file: PathBuf,
    pub clearing_dir: String,
    pub settlement_dir: String,
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
    pub retry_backoff: String,
    pub retry_cap: String,
    pub retry_for: String,
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
    pub four_eyes: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TelemetrySettings {
    pub format: String,
    pub level: String,
    /// The bearer token `/metrics` requires (empty: none).
    pub metrics_token: SecretString,
    /// The OTLP/HTTP collector's base URL (empty: traces are not exported).
    pub otlp_endpoint: String,
}
