//! `/metrics` over real HTTP: Alipay+ calls by API and status with latency histograms, effect
//! executions by kind and effect, transitions by kind, event and outcome, and the gauges read
//! at scrape time (parked instances by kind, outbox backlog and lag). One test, SQLite then
//! PostgreSQL + Redis in turn: the recorder is the process's, and the gauges are set per scrape.

mod common;

use common::Backend;
use common::operators::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_calls_effects_and_transitions_and_gauge_what_is_parked() {
    for backend in [Backend::Sqlite, Backend::PostgresRedis] {
        let workflows = quickly_parking_workflows();
        let Some(app) = spawn_parking_refunds(backend, &workflows).await else {
            continue;
        };
        parked_refund(&app).await;
        let text = app
            .http
            .get(format!("{}/metrics", app.base))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let value = |series: &str| -> f64 {
            text.lines()
                .find_map(|line| line.strip_prefix(series)?.trim().parse().ok())
                .unwrap_or_else(|| panic!("no {series} in:\n{text}"))
        };
        assert_eq!(
            value("plusflow_parked_instances{kind=\"refund\"}"),
            1.0,
            "{backend:?}"
        );
        assert_eq!(value("plusflow_parked_instances{kind=\"payment\"}"), 0.0);
        assert!(value("plusflow_alipayplus_calls_total{api=\"pay\",status=\"S\"}") >= 1.0);
        assert!(value("plusflow_alipayplus_call_duration_seconds_count{api=\"pay\"}") >= 1.0);
        assert!(text.contains("plusflow_alipayplus_call_duration_seconds_bucket{api=\"pay\",le=\"0.25\"}"));
        assert!(
            value("plusflow_effect_results_total{kind=\"refund\",effect=\"submit_refund\",result=\"retry\"}")
                >= 2.0
        );
        assert!(
            value("plusflow_effect_duration_seconds_count{kind=\"refund\",effect=\"submit_refund\"}") >= 2.0
        );
        assert!(
            value("plusflow_transitions_total{kind=\"refund\",event=\"parked\",outcome=\"PARKED\"}") >= 1.0
        );
        assert!(
            value(
                "plusflow_transitions_total{kind=\"payment\",event=\"notified_success\",outcome=\"TRANSITIONED\"}"
            ) >= 1.0
        );
        assert!(value("plusflow_outbox_lag_seconds") >= 0.0);
        assert!(text.contains("plusflow_outbox_pending"));
        assert!(text.contains("plusflow_stuck_instances{kind=\"refund\"}"));
    }
}

/// Issue 29, item 12 (in part): with `telemetry.metrics_token` set, `/metrics` of a real `serve`
/// answers only the bearer of that token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_behind_a_token_answer_only_its_bearer() {
    use common::{Options, TestEnv};
    let Some(env) = TestEnv::new(Backend::Sqlite, Options::default()).await else {
        return;
    };
    let token = "scrape-token-0123456789abcdef";
    let serve = env.spawn_with(
        "api",
        &[("PLUSFLOW__TELEMETRY__METRICS_TOKEN", token.to_string())],
    );
    let url = format!("{}/metrics", serve.api.as_deref().expect("an API address"));
    let http = reqwest::Client::new();
    for authorization in [None, Some("Bearer wrong-token"), Some(token)] {
        let mut request = http.get(&url);
        if let Some(value) = authorization {
            request = request.header(
                "Authorization",
                format!("Bearer {}", value.trim_start_matches("Bearer ")),
            );
        }
        let status = request.send().await.unwrap().status();
        let expected = if authorization == Some(token) { 200 } else { 401 };
        assert_eq!(status.as_u16(), expected, "{authorization:?}");
    }
}
