//! Prometheus metrics through the `metrics` facade, rendered by metrics-exporter-prometheus.
//! Events are counted where they happen: transitions where the write path commits them, effect
//! executions (with their latency) in the runner, Alipay+ calls (with their latency) in the
//! client. What is a state of the database (parked and stuck instances by kind, the outbox's
//! backlog and the age of its oldest due row) is read at scrape time, each by a query one of the
//! partial indexes answers (only parked, unfinished or pending rows are read, never the whole
//! table), so a scrape stays cheap at a million instances.

use std::sync::OnceLock;
use std::time::Duration;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use sea_orm::{ConnectionTrait, Statement};

use crate::store::Db;
use crate::store::StoreError;
use crate::workflow::Definitions;

/// An unfinished instance in its state longer than this counts as stuck.
pub const STUCK_AFTER: Duration = Duration::from_secs(3600);

/// Latency buckets, in seconds: 1 ms to 10 s.
const BUCKETS: [f64; 13] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// This process's recorder, installed the first time (by `cli::start`); later calls reuse it.
pub fn install() -> &'static PrometheusHandle {
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &BUCKETS)
            .expect("static buckets")
            .build_recorder();
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!(
                "a metrics recorder was installed already; /metrics shows only the database gauges"
            );
        }
        handle
    })
}

/// A transition the write path committed (or an ignored or rejected event it recorded).
pub fn transition(kind: &str, event: &str, outcome: &str) {
    metrics::counter!("plusflow_transitions_total", "kind" => kind.to_string(), "event" => event.to_string(),
        "outcome" => outcome.to_string())
    .increment(1);
}

/// One execution of an effect (or timer): `result` is ok, retry, permanent or hold.
pub fn effect_executed(kind: &str, effect: &str, result: &'static str, took: Duration) {
    let labels = [("kind", kind.to_string()), ("effect", effect.to_string())];
    metrics::counter!("plusflow_effect_executions_total", &labels).increment(1);
    metrics::counter!("plusflow_effect_results_total", "kind" => kind.to_string(), "effect" => effect.to_string(),
        "result" => result)
    .increment(1);
    metrics::histogram!("plusflow_effect_duration_seconds", &labels).record(took.as_secs_f64());
}

/// One call to Alipay+: `status` is S, F or U (U for every unknown outcome).
pub fn alipayplus_call(api: &str, status: &'static str, took: Duration) {
    metrics::counter!("plusflow_alipayplus_calls_total", "api" => api.to_string(), "status" => status)
        .increment(1);
    metrics::histogram!("plusflow_alipayplus_call_duration_seconds", "api" => api.to_string())
        .record(took.as_secs_f64());
}

/// The Prometheus text: what was counted, and the database gauges read now.
pub async fn render(db: &Db, definitions: &Definitions, now_ms: i64) -> Result<String, StoreError> {
    use crate::store::entity::instance;
    use sea_orm::sea_query::Expr;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};
    let backend = db.get_database_backend();
    let by_kind = |select: sea_orm::Select<instance::Entity>| async move {
        select
            .select_only()
            .column(instance::Column::Kind)
            .column_as(instance::Column::Id.count(), "n")
            .group_by(instance::Column::Kind)
            .into_tuple::<(String, i64)>()
            .all(db)
            .await
    };
    let parked =
        by_kind(instance::Entity::find().filter(Expr::cust(plusflow_migrations::NEEDS_ATTENTION))).await?;
    let stuck_before = chrono::DateTime::from_timestamp_millis(now_ms - STUCK_AFTER.as_millis() as i64)
        .expect("a time in range");
    let stuck = by_kind(
        instance::Entity::find()
            .filter(Expr::cust(plusflow_migrations::NOT_TERMINAL))
            .filter(instance::Column::StateSince.lt(stuck_before)),
    )
    .await?;
    let outbox = db
        .query_one_raw(Statement::from_string(
            backend,
            format!(
                "SELECT COUNT(*) AS n, MIN(CASE WHEN due_at_ms <= {now_ms} THEN due_at_ms END) AS oldest_due \
                 FROM outbox WHERE status = 'pending' AND due_at_ms IS NOT NULL"
            ),
        ))
        .await?;
    let (pending, oldest_due) = match outbox {
        Some(row) => (
            row.try_get::<i64>("", "n")?,
            row.try_get::<Option<i64>>("", "oldest_due")?,
        ),
        None => (0, None),
    };
    let handle = install();
    let mut kinds: Vec<&str> = definitions.iter().map(|d| d.kind.as_str()).collect();
    kinds.dedup();
    for kind in kinds {
        let count = |rows: &[(String, i64)]| rows.iter().find(|(k, _)| k == kind).map_or(0, |(_, n)| *n);
        metrics::gauge!("plusflow_parked_instances", "kind" => kind.to_string()).set(count(&parked) as f64);
        metrics::gauge!("plusflow_stuck_instances", "kind" => kind.to_string()).set(count(&stuck) as f64);
    }
    metrics::gauge!("plusflow_outbox_pending").set(pending as f64);
    let lag = oldest_due.map_or(0.0, |due| (now_ms - due).max(0) as f64 / 1000.0);
    metrics::gauge!("plusflow_outbox_lag_seconds").set(lag);
    Ok(handle.render())
}
