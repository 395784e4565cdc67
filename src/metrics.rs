//! Prometheus metrics through the `metrics` facade, rendered by metrics-exporter-prometheus.
//! Events are counted where they happen: transitions where the write path commits them, effect
//! executions (with their latency) in the runner, Alipay+ calls (with their latency) in the
//! client. What is a state of the database (parked and stuck instances by kind, the outbox's
//! backlog and the age of its oldest due row, disputes due within a day, webhook endpoints
//! failing) is read at scrape time by `store::gauges` and
//! handed to [`render`]. This module knows nothing else of plusflow.

use std::sync::OnceLock;
use std::time::Duration;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

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

/// One attempt to send a merchant's webhook: `result` is `ok` or `failed`.
pub fn webhook_attempted(succeeded: bool) {
    let result = if succeeded { "ok" } else { "failed" };
    metrics::counter!("plusflow_webhook_attempts_total", "result" => result).increment(1);
}

/// A webhook endpoint disabled for failing every delivery for the retry horizon.
pub fn webhook_endpoint_disabled() {
    metrics::counter!("plusflow_webhook_endpoints_disabled_total").increment(1);
}

/// One call to Alipay+: `status` is S, F or U (U for every unknown outcome).
pub fn alipayplus_call(api: &str, status: &'static str, took: Duration) {
    metrics::counter!("plusflow_alipayplus_calls_total", "api" => api.to_string(), "status" => status)
        .increment(1);
    metrics::histogram!("plusflow_alipayplus_call_duration_seconds", "api" => api.to_string())
        .record(took.as_secs_f64());
}

/// Generation days of the last week whose Alipay+ report files were due (09:00 UTC+8) and
/// have not arrived, as the scheduled reconciliation last found them.
pub fn report_days_missing(days: usize) {
    metrics::gauge!("plusflow_report_days_missing").set(days as f64);
}

/// A fetch from Alipay+'s SFTP failed (unreachable, refused, cut off): tried again next scan.
pub fn report_fetch_failed() {
    metrics::counter!("plusflow_report_fetch_failures_total").increment(1);
}

/// What the database holds at scrape time (read by `store::gauges`), per workflow kind.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Gauges {
    /// Every kind, whatever its counts (a kind with none shows 0).
    pub kinds: Vec<String>,
    pub parked: Vec<(String, i64)>,
    /// Unfinished, in their state longer than [`STUCK_AFTER`].
    pub stuck: Vec<(String, i64)>,
    pub outbox_pending: i64,
    /// The age of the oldest due outbox row.
    pub outbox_lag_seconds: f64,
    /// Disputes not answered whose answer is due within 24 hours.
    pub disputes_due_within_24h: i64,
    /// Enabled webhook endpoints whose deliveries are failing.
    pub webhook_endpoints_failing: i64,
}

/// The Prometheus text: what was counted, and `gauges`.
pub fn render(gauges: &Gauges) -> String {
    let handle = install();
    for kind in &gauges.kinds {
        let count = |rows: &[(String, i64)]| rows.iter().find(|(k, _)| k == kind).map_or(0, |(_, n)| *n);
        metrics::gauge!("plusflow_parked_instances", "kind" => kind.clone())
            .set(count(&gauges.parked) as f64);
        metrics::gauge!("plusflow_stuck_instances", "kind" => kind.clone()).set(count(&gauges.stuck) as f64);
    }
    metrics::gauge!("plusflow_outbox_pending").set(gauges.outbox_pending as f64);
    metrics::gauge!("plusflow_outbox_lag_seconds").set(gauges.outbox_lag_seconds);
    metrics::gauge!("plusflow_disputes_due_within_24h").set(gauges.disputes_due_within_24h as f64);
    metrics::gauge!("plusflow_webhook_endpoints_failing").set(gauges.webhook_endpoints_failing as f64);
    handle.render()
}
