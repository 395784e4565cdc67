//! Turning the [`Settings`] as written into a typed [`Config`], once: every problem listed with
//! the key it concerns.

use std::time::Duration;

use crate::alipayplus::signing::{SigningKey, VerifyingKeys};
use crate::alipayplus::wallets::Wallets;
use crate::workflow::{self, Definitions};

use super::*;

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
        let webhooks = WebhookConfig {
            allow_private_targets: self.webhooks.allow_private_targets,
            retry_backoff: duration(
                &mut problems,
                "webhooks.retry_backoff",
                &self.webhooks.retry_backoff,
            ),
            retry_cap: duration(&mut problems, "webhooks.retry_cap", &self.webhooks.retry_cap),
            retry_for: duration(&mut problems, "webhooks.retry_for", &self.webhooks.retry_for),
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
            case_due_business_days: self.reconciliation.case_due_business_days,
            sftp: self.reconciliation.sftp.validate(&mut problems),
        };
        if reconciliation.sftp.is_some() && reconciliation.drop_dir.is_none() {
            problems
                .push("reconciliation.sftp: files are fetched into reconciliation.drop_dir; set it".into());
        }
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
        let otlp_endpoint = Some(self.telemetry.otlp_endpoint.trim())
            .filter(|url| !url.is_empty())
            .and_then(|url| match url::Url::parse(url) {
                Ok(parsed) if matches!(parsed.scheme(), "http" | "https") => Some(parsed),
                _ => {
                    problems.push(format!("telemetry.otlp_endpoint: '{url}' is not an http(s) URL"));
                    None
                }
            });
        let retention = self
            .retention
            .validate(&self.events, &self.archive, &mut problems, &mut duration);
        let data_keys = self.crypto.data_keys(alipayplus.mode, &mut problems);
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
            four_eyes: self.admin.four_eyes,
            webhooks,
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
            otlp_endpoint,
            retention,
            data_keys: std::sync::Arc::new(data_keys),
        })
    }
}

impl RetentionSettings {
    fn validate(
        &self,
        events: &EventSettings,
        archive: &ArchiveSettings,
        problems: &mut Vec<String>,
        duration: &mut impl FnMut(&mut Vec<String>, &str, &str) -> Duration,
    ) -> RetentionConfig {
        let settings = self;
        let mut kept_for = |key: &str, value: &str| match workflow::parse_duration(value) {
            Ok(kept) if kept >= Duration::from_secs(3600) => kept,
            Ok(_) => {
                problems.push(format!("{key}: at least an hour (is '{value}')"));
                Duration::from_secs(3600)
            }
            Err(e) => {
                problems.push(format!("{key}: {e}"));
                Duration::from_secs(3600)
            }
        };
        let config = RetentionConfig {
            interval: Duration::ZERO,
            batch: settings.batch,
            outbox: kept_for("retention.outbox", &settings.outbox),
            idempotency_keys: kept_for("retention.idempotency_keys", &settings.idempotency_keys),
            events: kept_for("events.retention", &events.retention),
            webhook_deliveries: kept_for("retention.webhook_deliveries", &settings.webhook_deliveries),
            inbound_journal: kept_for("retention.inbound_journal", &settings.inbound_journal),
            customs_identity: kept_for("retention.customs_identity", &settings.customs_identity),
            archive: None,
        };
        let archive_after = kept_for("archive.after", &archive.after);
        if !(1..=100_000).contains(&config.batch) {
            problems.push("retention.batch: between 1 and 100000".into());
        }
        if !(1..=10_000).contains(&archive.batch) {
            problems.push("archive.batch: between 1 and 10000".into());
        }
        // Archived objects leave the database: never before every deadline of a payment
        // (refunds within 365 days, disputes raised within 360 and answered within 20).
        if archive_after < Duration::from_secs(380 * 86_400) {
            problems.push(format!(
                "archive.after: at least 380 days, past a payment's refund and dispute deadlines (is '{}')",
                archive.after
            ));
        }
        RetentionConfig {
            interval: duration(problems, "retention.interval", &settings.interval),
            archive: Some(archive.dir.clone())
                .filter(|dir| !dir.as_os_str().is_empty())
                .map(|dir| ArchiveConfig {
                    dir,
                    after: archive_after,
                    batch: archive.batch,
                }),
            ..config
        }
    }
}

impl CryptoSettings {
    /// The data keys: from `key_file`, else from `keys`, else (simulator mode only) the
    /// development key.
    fn data_keys(&self, mode: AlipayPlusMode, problems: &mut Vec<String>) -> DataKeys {
        use secrecy::ExposeSecret;
        let loaded = if !self.key_file.as_os_str().is_empty() {
            DataKeys::from_file(&self.key_file).map_err(|e| format!("crypto.key_file: {e}"))
        } else if !self.keys.expose_secret().trim().is_empty() {
            // Never the list itself in the message: only where it is wrong.
            DataKeys::parse(self.keys.expose_secret()).map_err(|e| format!("crypto.keys: {e}"))
        } else if mode == AlipayPlusMode::AlipayPlus {
            Err("crypto.key_file: required with alipayplus.mode = \"alipayplus\" (or crypto.keys)".into())
        } else {
            Ok(DataKeys::development())
        };
        loaded.unwrap_or_else(|problem| {
            problems.push(problem);
            DataKeys::development()
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

impl super::settings::SftpSettings {
    /// The SFTP source, if a host is set (then a user, a key file and the server's public key
    /// file are required).
    fn validate(&self, problems: &mut Vec<String>) -> Option<super::SftpConfig> {
        if self.host.trim().is_empty() {
            return None;
        }
        if self.user.trim().is_empty() {
            problems.push("reconciliation.sftp.user: required with a host".into());
        }
        for (key, path) in [
            ("key_file", &self.key_file),
            ("host_key_file", &self.host_key_file),
        ] {
            if path.as_os_str().is_empty() {
                problems.push(format!("reconciliation.sftp.{key}: required with a host"));
            } else if !path.is_file() {
                problems.push(format!(
                    "reconciliation.sftp.{key}: {} is not a readable file",
                    path.display()
                ));
            }
        }
        Some(super::SftpConfig {
            host: self.host.clone(),
            port: self.port,
            user: self.user.clone(),
            key_file: self.key_file.clone(),
            host_key_file: self.host_key_file.clone(),
            clearing_dir: self.clearing_dir.clone(),
            settlement_dir: self.settlement_dir.clone(),
        })
    }
}
