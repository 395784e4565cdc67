//! `bench stuck`: the operators' stuck list at scale. Fills a scratch database (a new SQLite file,
//! or a new PostgreSQL database next to the configured one, dropped afterwards) with N workflow
//! instances, 1 in 1,000 parked for an operator and 4 in 100 unfinished, spread over 30 days in
//! their states; then answers `workflows(filter: {needsAttention: true}, first: 50)` through the
//! GraphQL schema 50 times and prints the latencies and the database's plan for the query, and
//! what a `/metrics` scrape costs there.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use sea_orm::{ConnectionTrait, EntityTrait, QueryTrait};
use serde_json::json;
use uuid::Uuid;

use super::bench_scratch::{analysed_schema, percentile, plan_of, progress_bar, round};
use super::boot;
use crate::clock::SystemClock;
use crate::config::Config;
use crate::store::entity::instance;
use crate::store::stuck::{WorkflowFilter, stuck_query};

const QUERY: &str = "{ workflows(filter: {needsAttention: true}, first: 50) { edges { node { id kind state stateSince attentionReason } } } }";

/// Fills the scratch database of `config` and measures (see the module doc).
pub(super) async fn run(config: &Config, instances: usize) -> anyhow::Result<ExitCode> {
    let engine = boot(config, Arc::new(SystemClock)).await?;
    let bar = progress_bar(instances, "instances");
    let now = chrono::Utc::now();
    let started = Instant::now();
    let batch = 1_000;
    for first in (0..instances).step_by(batch) {
        let rows: Vec<instance::ActiveModel> = (first..(first + batch).min(instances))
            .map(|n| generated(n, now).into())
            .collect();
        let count = rows.len();
        instance::Entity::insert_many(rows)
            .exec_without_returning(&engine.db)
            .await?;
        bar.inc(count as u64);
    }
    bar.finish_and_clear();
    let fill_seconds = started.elapsed().as_secs_f64();
    let schema = analysed_schema(&engine, config).await?;
    let mut latencies = Vec::new();
    let mut listed = 0;
    for _ in 0..50 {
        let request = async_graphql::Request::new(QUERY)
            .data(crate::app::auth::Principal::Admin)
            .data(crate::app::console::Operator::from_config());
        let asked = Instant::now();
        let answer = schema.execute(request).await;
        latencies.push(asked.elapsed().as_secs_f64() * 1000.0);
        anyhow::ensure!(answer.errors.is_empty(), "{:?}", answer.errors);
        listed = answer.data.into_json()?["workflows"]["edges"]
            .as_array()
            .map_or(0, Vec::len);
    }
    latencies.sort_by(f64::total_cmp);
    let (p50, p99, max) = (
        percentile(&latencies, 50.0),
        percentile(&latencies, 99.0),
        latencies[latencies.len() - 1],
    );
    let mut scrapes = Vec::new();
    for _ in 0..10 {
        let scraped = Instant::now();
        let gauges = crate::store::gauges(
            &engine.db,
            &engine.definitions,
            chrono::Utc::now().timestamp_millis(),
        )
        .await?;
        crate::metrics::render(&gauges);
        scrapes.push(scraped.elapsed().as_secs_f64() * 1000.0);
    }
    scrapes.sort_by(f64::total_cmp);
    let scrape_p50 = percentile(&scrapes, 50.0);
    let filter = WorkflowFilter {
        needs_attention: Some(true),
        ..WorkflowFilter::default()
    };
    let backend = engine.db.get_database_backend();
    let statement = stuck_query(&filter, chrono::Utc::now(), 51, None).build(backend);
    let plan = plan_of(&engine.db, statement).await?;
    let name = format!("{:?}", config.backend).to_lowercase();
    println!(
        "bench stuck on {name}: {instances} instances ({} parked) written in {fill_seconds:.1}s; \
         workflows(needsAttention, first 50) -> {listed} rows: p50 {p50:.2} ms, p99 {p99:.2} ms, max {max:.2} ms; \
         a /metrics scrape {scrape_p50:.1} ms",
        instances.div_ceil(1000)
    );
    println!("plan:\n  {}", plan.join("\n  "));
    println!(
        "{}",
        json!({ "bench": "stuck", "backend": name, "instances": instances, "listed": listed,
                "p50_ms": round(p50), "p99_ms": round(p99), "max_ms": round(max), "fill_s": round(fill_seconds),
                "metrics_scrape_ms": round(scrape_p50) })
    );
    Ok(ExitCode::SUCCESS)
}

/// Instance `n` of the generated population.
fn generated(n: usize, now: chrono::DateTime<chrono::Utc>) -> instance::Model {
    let parked = n.is_multiple_of(1000);
    let unfinished = parked || n.is_multiple_of(25);
    let (kind, state) = match (n % 2, unfinished) {
        (0, true) => ("payment", "awaiting_customer"),
        (0, false) => ("payment", "succeeded"),
        (_, true) => ("refund", "submitting"),
        (_, false) => ("refund", "succeeded"),
    };
    // Spread over 30 days in their state, deterministically.
    let since = now - chrono::Duration::seconds(((n * 7919) % (30 * 86_400)) as i64);
    instance::Model {
        id: Uuid::now_v7(),
        kind: kind.into(),
        definition_version: 1,
        state: state.into(),
        terminal: !unfinished,
        version: 2,
        needs_attention: parked,
        last_error: parked.then(|| "effect 'submit_refund' failed 100 times; last error: HTTP 503".into()),
        data: json!({ "bench": "stuck" }),
        created_at: since,
        updated_at: since,
        state_since: Some(since),
        trace_context: None,
    }
}
