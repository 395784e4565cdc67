//! `/metrics` over real HTTP: Alipay+ calls by API and status with latency histograms, effect
//! executions by kind and effect, transitions by kind, event and outcome, and the gauges read
//! at scrape time (parked instances by kind, outbox backlog and lag, disputes due within a
//! day, failing webhook endpoints); the alert rules shipped over them, checked with promtool. One test, SQLite then
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
        assert_eq!(value("plusflow_disputes_due_within_24h"), 0.0);
        assert_eq!(value("plusflow_webhook_endpoints_failing"), 0.0);
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

/// The shipped alert rules (config/prometheus/alerts.yml) are valid and behave as their unit
/// tests say (promtool, from Debian's `prometheus` package), and every metric they read is one
/// plusflow exports (src/metrics.rs names it): a rule over a misspelt metric never fires.
#[test]
fn the_alert_rules_pass_promtool_and_read_only_metrics_plusflow_exports() {
    let rules = std::fs::read_to_string("config/prometheus/alerts.yml").unwrap();
    let exported = std::fs::read_to_string("src/metrics.rs").unwrap();
    let mut read = 0;
    for (at, _) in rules.match_indices("plusflow_") {
        let name: String = rules[at..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        assert!(
            exported.contains(&format!("\"{name}\"")),
            "{name} is not a metric plusflow exports"
        );
        read += 1;
    }
    assert!(read >= 7, "the rules read plusflow's metrics");
    if std::process::Command::new("promtool")
        .arg("--version")
        .output()
        .is_err()
    {
        println!("skipped: install promtool (Debian's prometheus package) to check the alert rules");
        return;
    }
    for args in [
        ["check", "rules", "config/prometheus/alerts.yml"],
        ["test", "rules", "config/prometheus/alerts_test.yml"],
    ] {
        let run = std::process::Command::new("promtool")
            .args(args)
            .output()
            .unwrap();
        assert!(
            run.status.success(),
            "promtool {args:?}:\n{}{}",
            String::from_utf8_lossy(&run.stdout),
            String::from_utf8_lossy(&run.stderr)
        );
    }
}
