//! `bench events`: the merchants' event feed at scale. Fills a scratch database (see
//! `bench_scratch`) with N events, nine in ten of them one merchant's (1 in 100 of its events a
//! `refund.updated`, the rest `payment.updated`), the others spread over 99 merchants; then that
//! merchant reads `events(after:, first: 100)` from random cursors through the GraphQL schema,
//! and pages of its rare type, 200 times each, and the latencies are printed with the
//! database's plan for the page.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use rand::Rng;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, QueryTrait};
use serde_json::json;
use uuid::Uuid;

use super::bench_scratch::{analysed_schema, percentile, plan_of, progress_bar, round};
use super::boot;
use crate::app::auth::Principal;
use crate::clock::SystemClock;
use crate::config::Config;
use crate::store::entity::feed_event;

const PAGE: &str = "query($after: String, $types: [String!]) { events(after: $after, types: $types, first: 100) { edges { cursor node { id sequence type objectId data } } } }";

/// Fills the scratch database of `config` and measures (see the module doc).
pub(super) async fn run(config: &Config, events: usize) -> anyhow::Result<ExitCode> {
    let engine = boot(config, Arc::new(SystemClock)).await?;
    let reader =
        crate::app::merchants::create_merchant(&engine, "Feed reader", None, Default::default()).await?;
    let others: Vec<Uuid> = (0..99).map(|_| Uuid::now_v7()).collect();
    let bar = progress_bar(events, "events");
    let started = Instant::now();
    let now = chrono::Utc::now();
    let mut sequences = vec![0i64; others.len() + 1];
    let mut readers_events = 0i64;
    let batch = 1_000;
    for first in (0..events).step_by(batch) {
        let rows: Vec<feed_event::ActiveModel> = (first..(first + batch).min(events))
            .map(|n| {
                let owner = if n % 10 == 9 { 1 + n / 10 % others.len() } else { 0 };
                let merchant_id = if owner == 0 { reader.id } else { others[owner - 1] };
                sequences[owner] += 1;
                if owner == 0 {
                    readers_events += 1;
                }
                let refund = owner == 0 && sequences[owner] % 100 == 0;
                let object_id = Uuid::now_v7();
                let event_type = if refund { "refund.updated" } else { "payment.updated" };
                feed_event::Model {
                    id: Uuid::now_v7(),
                    merchant_id,
                    sequence: sequences[owner],
                    event_type: event_type.into(),
                    object_id,
                    subject_id: object_id,
                    announced: "SUCCEEDED".into(),
                    instance_id: object_id,
                    instance_version: 3,
                    data: json!({ "id": object_id, "status": "SUCCEEDED", "amount": { "currency": "USD", "value": "1250" },
                                  "version": 3, "updatedAt": now }),
                    created_at: now,
                }
                .into()
            })
            .collect();
        let count = rows.len();
        feed_event::Entity::insert_many(rows)
            .exec_without_returning(&engine.db)
            .await?;
        bar.inc(count as u64);
    }
    bar.finish_and_clear();
    let fill_seconds = started.elapsed().as_secs_f64();
    let schema = analysed_schema(&engine, config).await?;
    let merchant = crate::store::merchants::merchant(&engine.db, reader.id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("the reader merchant is gone"))?;
    let mut random = rand::rng();
    let mut measure = async |types: Option<Vec<&str>>| -> anyhow::Result<(f64, f64, usize)> {
        let mut latencies = Vec::new();
        let mut listed = 0;
        for _ in 0..200 {
            let after = random.random_range(0..readers_events.max(1));
            let request = async_graphql::Request::new(PAGE)
                .variables(async_graphql::Variables::from_json(
                    json!({ "after": after.to_string(), "types": types }),
                ))
                .data(Principal::Merchant(Box::new(merchant.clone())));
            let asked = Instant::now();
            let answer = schema.execute(request).await;
            latencies.push(asked.elapsed().as_secs_f64() * 1000.0);
            anyhow::ensure!(answer.errors.is_empty(), "{:?}", answer.errors);
            listed = answer.data.into_json()?["events"]["edges"]
                .as_array()
                .map_or(0, Vec::len);
        }
        latencies.sort_by(f64::total_cmp);
        Ok((percentile(&latencies, 50.0), percentile(&latencies, 99.0), listed))
    };
    let (p50, p99, listed) = measure(None).await?;
    let (typed_p50, typed_p99, typed_listed) = measure(Some(vec!["refund.updated"])).await?;

    let backend = engine.db.get_database_backend();
    let page = feed_event::Entity::find()
        .filter(feed_event::Column::MerchantId.eq(reader.id))
        .filter(feed_event::Column::Sequence.gt(readers_events / 2))
        .order_by_asc(feed_event::Column::Sequence)
        .limit(101)
        .build(backend);
    let plan = plan_of(&engine.db, page).await?;
    let name = format!("{:?}", config.backend).to_lowercase();
    println!(
        "bench events on {name}: {events} events ({readers_events} of the reader) written in {fill_seconds:.1}s; \
         events(after: random, first: 100) -> {listed}: p50 {p50:.2} ms, p99 {p99:.2} ms; \
         of one type (1 in 100) -> {typed_listed}: p50 {typed_p50:.2} ms, p99 {typed_p99:.2} ms"
    );
    println!("plan:\n  {}", plan.join("\n  "));
    println!(
        "{}",
        json!({ "bench": "events", "backend": name, "events": events, "reader_events": readers_events,
                "p50_ms": round(p50), "p99_ms": round(p99), "typed_p50_ms": round(typed_p50),
                "typed_p99_ms": round(typed_p99), "fill_s": round(fill_seconds) })
    );
    Ok(ExitCode::SUCCESS)
}
