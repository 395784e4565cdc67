//! `bench console`: the operators' search box and overview at scale. Fills a scratch database
//! (see `bench_scratch`) with N payments and their workflow instances, as a payment business
//! keeps them: spread over a year, 1 in 1,000 unfinished (the open ones of the last minutes) and
//! 1 in 10,000 of those parked; vacuums them as autovacuum would; then asks `search(text)` for random paymentRequestIds and
//! `overview` through the GraphQL schema, 100 times each, and prints the latencies.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use rand::Rng;
use sea_orm::EntityTrait;
use serde_json::json;
use uuid::Uuid;

use super::bench_scratch::{analysed_schema, percentile, progress_bar, round};
use super::boot;
use crate::app::auth::Principal;
use crate::app::console::Operator;
use crate::clock::SystemClock;
use crate::config::Config;
use crate::store::entity::{instance, payment};

const SEARCH: &str = "query($text: String!) { search(text: $text) { kind id label workflow { id state } } }";
const OVERVIEW: &str = "{ overview { unfinished { kind name count } finishedLastDay { kind name count } \
                        parked { kind name count } disputesDueWithin48Hours webhookEndpointsFailing outboxPending } }";

fn request_id(n: usize) -> String {
    format!("bench-pr-{n}")
}

/// Payment `n` and its instance.
fn generated(
    n: usize,
    merchant: Uuid,
    now: chrono::DateTime<chrono::Utc>,
) -> (payment::Model, instance::Model) {
    let unfinished = n.is_multiple_of(1000);
    let parked = n.is_multiple_of(10_000);
    // The open ones were created in the last 10 minutes; the rest over a year.
    let age = if unfinished {
        n % 600
    } else {
        (n * 7919) % (365 * 86_400)
    };
    let since = now - chrono::Duration::seconds(age as i64);
    let id = Uuid::now_v7();
    let state = if unfinished {
        "awaiting_customer"
    } else {
        ["succeeded", "succeeded", "succeeded", "failed"][n % 4]
    };
    let row = payment::Model {
        id,
        merchant_id: merchant,
        merchant_order_id: format!("order-{n}"),
        payment_request_id: request_id(n),
        order_description: "bench".into(),
        currency: "USD".into(),
        amount: 1250,
        terminal_type: "WEB".into(),
        os_type: None,
        redirect_url: "https://shop.example/return".into(),
        user_region: None,
        settlement_currency: None,
        expires_at: since,
        checkout_url: None,
        alipay_payment_id: None,
        wallet_brand_name: None,
        failure_code: None,
        created_at: since,
        buyer_reference: None,
        metadata: None,
    };
    let workflow = instance::Model {
        id,
        kind: "payment".into(),
        definition_version: 1,
        state: state.into(),
        terminal: !unfinished,
        version: 3,
        needs_attention: parked,
        last_error: parked.then(|| "effect 'poll_payment' failed 60 times; last error: HTTP 503".into()),
        data: json!({ "bench": "console" }),
        created_at: since,
        updated_at: since,
        state_since: Some(since),
        trace_context: None,
    };
    (row, workflow)
}

/// 100 answers to `query` (with the variables `variables` makes), their p50 and p99 in ms.
async fn timed(
    schema: &crate::api::graphql::ApiSchema,
    query: &str,
    mut variables: impl FnMut() -> serde_json::Value,
    check: impl Fn(&serde_json::Value) -> bool,
) -> anyhow::Result<(f64, f64)> {
    let mut latencies = Vec::new();
    for _ in 0..100 {
        let request = async_graphql::Request::new(query)
            .variables(async_graphql::Variables::from_json(variables()))
            .data(Principal::Admin)
            .data(Operator::from_config());
        let asked = Instant::now();
        let answer = schema.execute(request).await;
        latencies.push(asked.elapsed().as_secs_f64() * 1000.0);
        anyhow::ensure!(answer.errors.is_empty(), "{:?}", answer.errors);
        let data = answer.data.into_json()?;
        anyhow::ensure!(check(&data), "unexpected answer: {data}");
    }
    latencies.sort_by(f64::total_cmp);
    Ok((percentile(&latencies, 50.0), percentile(&latencies, 99.0)))
}

/// Fills the scratch database of `config` and measures (see the module doc).
pub(super) async fn run(config: &Config, payments: usize) -> anyhow::Result<ExitCode> {
    let engine = boot(config, Arc::new(SystemClock)).await?;
    let merchant =
        crate::app::merchants::create_merchant(&engine, "Console bench", None, Default::default()).await?;
    let bar = progress_bar(payments, "payments");
    let now = chrono::Utc::now();
    let started = Instant::now();
    let batch = 1_000;
    for first in (0..payments).step_by(batch) {
        let (rows, workflows): (Vec<_>, Vec<_>) = (first..(first + batch).min(payments))
            .map(|n| generated(n, merchant.id, now))
            .map(|(row, workflow)| {
                (
                    payment::ActiveModel::from(row),
                    instance::ActiveModel::from(workflow),
                )
            })
            .unzip();
        instance::Entity::insert_many(workflows)
            .exec_without_returning(&engine.db)
            .await?;
        payment::Entity::insert_many(rows)
            .exec_without_returning(&engine.db)
            .await?;
        bar.inc((payments.min(first + batch) - first) as u64);
    }
    bar.finish_and_clear();
    let fill_seconds = started.elapsed().as_secs_f64();
    let schema = analysed_schema(&engine, config).await?;
    let mut random = rand::rng();
    let (search_p50, search_p99) = timed(
        &schema,
        SEARCH,
        || json!({ "text": request_id(random.random_range(0..payments)) }),
        |data| data["search"].as_array().is_some_and(|hits| hits.len() == 1),
    )
    .await?;
    let (overview_p50, overview_p99) = timed(
        &schema,
        OVERVIEW,
        || json!({}),
        |data| data["overview"].is_object(),
    )
    .await?;
    let name = format!("{:?}", config.backend).to_lowercase();
    println!(
        "bench console on {name}: {payments} payments ({} unfinished, {} parked) written in {fill_seconds:.1}s; \
         search(paymentRequestId): p50 {search_p50:.2} ms, p99 {search_p99:.2} ms; overview: p50 {overview_p50:.2} ms, p99 {overview_p99:.2} ms",
        payments.div_ceil(1000),
        payments.div_ceil(10_000)
    );
    println!(
        "{}",
        json!({ "bench": "console", "backend": name, "payments": payments, "fill_s": round(fill_seconds),
                "search_p50_ms": round(search_p50), "search_p99_ms": round(search_p99),
                "overview_p50_ms": round(overview_p50), "overview_p99_ms": round(overview_p99) })
    );
    Ok(ExitCode::SUCCESS)
}
