//! `bench reconcile --rows N`: reconciliation at scale. Fills a scratch database (see
//! `bench_scratch::in_scratch`) with N succeeded payments of one clearing day, writes that day's four
//! report files with a row for each (1 in [`MISMATCH_EVERY`] one minor unit off), reconciles them
//! as `plusflow reconcile` does (a case opened for each discrepancy, Alipay+'s fees booked in the
//! ledger), and prints the rows per second and the peak memory of the run (the process's
//! high-water mark, reset before it starts).

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use sea_orm::EntityTrait;
use serde_json::json;
use uuid::Uuid;

use super::bench_scratch::progress_bar;
use super::boot;
use crate::alipayplus::reports::{TransactionItem, TransactionType};
use crate::app::reconciliation;
use crate::clock::SystemClock;
use crate::config::Config;
use crate::simulator::reports::{FileSet, Offsets, write_files as write_report_files};
use crate::store::entity::{instance, payment};

/// One row in this many states an amount one minor unit more than ours.
pub const MISMATCH_EVERY: usize = 1_000;
const DAY: &str = "20261201";
const AGREEMENT: &str = "AGRUSD";

fn amount_of(n: usize) -> i64 {
    100 + (n as i64 * 37) % 100_000
}

/// When payment `n` was paid: spread over the day that starts at `from`.
fn paid_at(from: chrono::DateTime<chrono::Utc>, n: usize) -> chrono::DateTime<chrono::Utc> {
    from + chrono::Duration::milliseconds((n as i64 * 80_000) % 86_000_000)
}

fn request_id(n: usize) -> String {
    format!("pf_{:032x}", n as u128 + 1)
}

/// Fills the scratch database of `config` and measures (see the module doc).
pub(super) async fn run(config: &Config, rows: usize) -> anyhow::Result<ExitCode> {
    let engine = boot(config, Arc::new(SystemClock)).await?;
    let (from, _) = reconciliation::clearing_cycle(DAY).map_err(|e| anyhow::anyhow!("{e}"))?;
    let bar = progress_bar(rows, "payments written");
    let filled = Instant::now();
    let merchant = Uuid::now_v7();
    for first in (0..rows).step_by(1_000) {
        let range = first..(first + 1_000).min(rows);
        let paid_at = |n: usize| paid_at(from, n);
        let instances: Vec<instance::ActiveModel> = range
            .clone()
            .map(|n| {
                instance::Model {
                    id: Uuid::from_u128(n as u128 + 1),
                    kind: "payment".into(),
                    definition_version: 1,
                    state: "succeeded".into(),
                    terminal: true,
                    version: 3,
                    needs_attention: false,
                    last_error: None,
                    data: json!({ "bench": "reconcile" }),
                    created_at: paid_at(n),
                    updated_at: paid_at(n),
                    state_since: Some(paid_at(n)),
                    trace_context: None,
                }
                .into()
            })
            .collect();
        let payments: Vec<payment::ActiveModel> = range
            .clone()
            .map(|n| {
                payment::Model {
                    id: Uuid::from_u128(n as u128 + 1),
                    merchant_id: merchant,
                    merchant_order_id: format!("bench-{n}"),
                    payment_request_id: request_id(n),
                    order_description: "bench".into(),
                    currency: "USD".into(),
                    amount: amount_of(n),
                    terminal_type: "WEB".into(),
                    os_type: None,
                    redirect_url: "https://shop.example/return".into(),
                    user_region: None,
                    settlement_currency: None,
                    expires_at: paid_at(n),
                    checkout_url: None,
                    alipay_payment_id: Some(format!("2026{n:016}")),
                    wallet_brand_name: Some("KAKAOPAY".into()),
                    failure_code: None,
                    created_at: paid_at(n),
                    buyer_reference: None,
                    metadata: None,
                }
                .into()
            })
            .collect();
        instance::Entity::insert_many(instances)
            .exec_without_returning(&engine.db)
            .await?;
        payment::Entity::insert_many(payments)
            .exec_without_returning(&engine.db)
            .await?;
        bar.inc(range.len() as u64);
    }
    bar.finish_and_clear();
    let fill_seconds = filled.elapsed().as_secs_f64();
    if config.backend == crate::config::Backend::Postgres {
        use sea_orm::ConnectionTrait;
        engine.db.execute_unprepared("ANALYZE").await?;
    }

    let dir = tempfile::tempdir()?;
    let mismatched = write_files(dir.path(), rows, from)?;
    let sets = reconciliation::report_sets(dir.path(), DAY)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    reset_peak_memory();
    let bar = progress_bar(rows, "rows reconciled");
    let started = Instant::now();
    let outcome = reconciliation::reconcile(&engine, &sets[0], &|read| bar.set_position(read))
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let seconds = started.elapsed().as_secs_f64();
    bar.finish_and_clear();
    let peak_mb = peak_memory_kb().map(|kb| kb as f64 / 1024.0);
    let run = &outcome.run;
    anyhow::ensure!(
        run.discrepancy_count as usize == mismatched && run.matched as usize == rows - mismatched,
        "expected {mismatched} discrepancies and {} matched, found {} and {}",
        rows - mismatched,
        run.discrepancy_count,
        run.matched
    );
    let cases = {
        use sea_orm::PaginatorTrait;
        crate::kinds::reconciliation_case::entity::Entity::find()
            .count(&engine.db)
            .await?
    };
    anyhow::ensure!(
        cases as usize == mismatched,
        "expected a case for each of the {mismatched} discrepancies, found {cases}"
    );
    let name = format!("{:?}", config.backend).to_lowercase();
    let rate = rows as f64 / seconds;
    println!(
        "bench reconcile on {name}: {rows} report rows against {rows} payments ({fill_seconds:.1}s to write them): \
         {seconds:.1}s, {rate:.0} rows/s, {} discrepancies found as injected, a case opened for each; \
         peak memory {}",
        run.discrepancy_count,
        peak_mb.map_or("unknown".into(), |mb| format!("{mb:.0} MB"))
    );
    println!(
        "{}",
        json!({ "bench": "reconcile", "backend": name, "rows": rows, "seconds": (seconds * 100.0).round() / 100.0,
                "rows_per_s": rate.round(), "discrepancies": run.discrepancy_count, "cases": cases, "peak_rss_mb": peak_mb.map(f64::round),
                "fill_s": fill_seconds.round() })
    );
    Ok(ExitCode::SUCCESS)
}

/// The day's four files for `rows` payments (the simulator's writer); how many rows were
/// written off by one.
fn write_files(
    dir: &std::path::Path,
    rows: usize,
    from: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<usize> {
    let items = (0..rows).map(move |n| TransactionItem {
        line: 0,
        transaction_id: format!("2026{n:016}"),
        transaction_request_id: request_id(n),
        original_transaction_id: None,
        transaction_type: TransactionType::Payment,
        transaction_time: paid_at(from, n),
        amount: amount_of(n) + i64::from(n.is_multiple_of(MISMATCH_EVERY)),
        currency: "USD".into(),
        counter_participant_id: Some("1022172000000000001".into()),
        settlement: None,
    });
    let set = FileSet {
        participant_id: "PLUSFLOWBENCH",
        agreement_id: AGREEMENT,
        currency: "USD",
        report_date: DAY,
    };
    write_report_files(dir, &set, items, Offsets::default())?;
    Ok(rows.div_ceil(MISMATCH_EVERY))
}

/// Resets this process's memory high-water mark (Linux), so the peak is the run's.
fn reset_peak_memory() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// This process's memory high-water mark since the reset, in KiB (Linux `VmHWM`).
fn peak_memory_kb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}
