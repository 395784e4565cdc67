//! Retention: what plusflow keeps how long once it has served its purpose, each horizon tied to
//! the business deadline it serves (`[retention]`, `events.retention`), and the job that
//! removes the rest: on a schedule in every process running workers ([`keep_running`]), or by
//! hand (`plusflow retention run [--dry-run]`). Each rule removes a batch at a time until a
//! batch comes back short, so the job never holds a lock long and several processes running it
//! at once only share the work.

use std::time::Duration;

use chrono::{DateTime, Utc};
use strum::IntoEnumIterator;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use super::Engine;
use super::errors::AppError;
use crate::config::RetentionConfig;
use crate::kinds::customs_declaration::rows as declarations;
use crate::store::StoreError;
use crate::store::retention::{self as rows, Removal};

/// The most objects a dry run counts as due for archival.
const DRY_RUN_ARCHIVE_LIMIT: u64 = 1_000_000;

/// One rule of retention: rows of a table the store removes, or buyers' identities erased
/// from the customs declarations customs has decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    Rows(Removal),
    CustomsIdentity,
}

impl Rule {
    /// Every rule, in the order the job runs them.
    pub fn all() -> Vec<Rule> {
        let mut rules: Vec<Rule> = Removal::iter().map(Rule::Rows).collect();
        rules.push(Rule::CustomsIdentity);
        rules
    }

    /// The rule's name, as printed and logged.
    pub fn name(self) -> String {
        match self {
            Rule::Rows(removal) => removal.to_string(),
            Rule::CustomsIdentity => "customs_identity".into(),
        }
    }

    /// How long what this rule removes is kept.
    pub fn kept_for(self, config: &RetentionConfig) -> Duration {
        match self {
            Rule::Rows(Removal::Outbox) => config.outbox,
            Rule::Rows(Removal::IdempotencyKeys) => config.idempotency_keys,
            Rule::Rows(Removal::Events) => config.events,
            Rule::Rows(Removal::WebhookDeliveries) => config.webhook_deliveries,
            Rule::Rows(Removal::InboundJournal) => config.inbound_journal,
            Rule::CustomsIdentity => config.customs_identity,
        }
    }

    async fn count(self, engine: &Engine, before: DateTime<Utc>) -> Result<u64, StoreError> {
        match self {
            Rule::Rows(removal) => rows::count(&engine.db, removal, before).await,
            Rule::CustomsIdentity => declarations::identities_to_erase(&engine.db, before).await,
        }
    }

    async fn remove_batch(
        self,
        engine: &Engine,
        before: DateTime<Utc>,
        batch: u64,
    ) -> Result<u64, StoreError> {
        match self {
            Rule::Rows(removal) => rows::remove_batch(&engine.db, removal, before, batch).await,
            Rule::CustomsIdentity => declarations::erase_identities(&engine.db, before, batch).await,
        }
    }
}

/// What one rule removed (or, in a dry run, would remove).
#[derive(Debug, Clone)]
pub struct Removed {
    pub rule: Rule,
    pub kept_for: Duration,
    /// Rows older than this are removed.
    pub before: DateTime<Utc>,
    pub rows: u64,
}

/// What a run of retention removed, rule by rule.
#[derive(Debug, Clone)]
pub struct Report {
    pub at: DateTime<Utc>,
    pub dry_run: bool,
    pub removed: Vec<Removed>,
    /// Objects archived (or due, in a dry run); `None` without `archive.dir`.
    pub archived: Option<u64>,
}

impl Report {
    /// The rows `rule` removed.
    pub fn rows(&self, rule: Rule) -> u64 {
        self.removed
            .iter()
            .find(|removed| removed.rule == rule)
            .map_or(0, |removed| removed.rows)
    }

    /// The report as one JSON object: `{"at", "dryRun", "removed": {rule: rows}, "archived"}`.
    pub fn to_json(&self) -> serde_json::Value {
        let removed: serde_json::Map<String, serde_json::Value> = self
            .removed
            .iter()
            .map(|removed| (removed.rule.name(), removed.rows.into()))
            .collect();
        serde_json::json!({
            "at": self.at, "dryRun": self.dry_run, "removed": removed, "archived": self.archived,
        })
    }
}

/// Runs every rule at the engine's time: removes what each keeps no longer, then archives the
/// objects due (with `archive.dir`); with `dry_run` only counts them.
pub async fn run(engine: &Engine, config: &RetentionConfig, dry_run: bool) -> Result<Report, AppError> {
    let at = engine.clock.now();
    let mut removed = Vec::new();
    for rule in Rule::all() {
        let kept_for = rule.kept_for(config);
        let before = at - chrono::Duration::from_std(kept_for).unwrap_or(chrono::Duration::MAX);
        let rows = if dry_run {
            rule.count(engine, before).await?
        } else {
            let batch = u64::from(config.batch);
            let mut rows = 0;
            loop {
                let removed = rule.remove_batch(engine, before, batch).await?;
                rows += removed;
                if removed < batch {
                    break;
                }
                // Other work on this runtime goes first between batches.
                tokio::task::yield_now().await;
            }
            rows
        };
        removed.push(Removed {
            rule,
            kept_for,
            before,
            rows,
        });
    }
    let archived = match &config.archive {
        Some(archive) if dry_run => {
            Some(super::archive::due_count(engine, archive, DRY_RUN_ARCHIVE_LIMIT).await?)
        }
        Some(archive) => Some(super::archive::archive_due(engine, archive).await?),
        None => None,
    };
    Ok(Report {
        at,
        dry_run,
        removed,
        archived,
    })
}

/// Runs retention every `config.interval` until `shutdown`; a failed run is logged and tried
/// again at the next interval.
pub async fn keep_running(engine: Engine, config: RetentionConfig, shutdown: CancellationToken) {
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(config.interval) => {}
        }
        match run(&engine, &config, false).await {
            Ok(report)
                if report.removed.iter().any(|removed| removed.rows > 0) || report.archived > Some(0) =>
            {
                let summary = report.to_json();
                info!(removed = %summary["removed"], archived = %summary["archived"], "retention: removed what is kept no longer");
            }
            Ok(_) => {}
            Err(e) => warn!("retention: {e}; trying again in {:?}", config.interval),
        }
    }
}
