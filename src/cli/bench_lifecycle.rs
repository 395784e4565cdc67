//! `bench lifecycle`: what a payment costs the database once retention runs, and whether a
//! database holding a year of history is slower than an empty one. PostgreSQL only (the figures
//! are ratios to pgbench run in the same minute), in a scratch database dropped afterwards.
//!
//! 1. On the empty database, `bench payments` twice: back-to-back clients with pgbench beside
//!    (payments per pgbench transaction), and open loop at `--rate` (createPayment p99).
//! 2. Each table's growth over the payments made, divided by them (after `VACUUM`, so reusable
//!    space is not counted twice), beside how long retention keeps the table's rows: the bytes
//!    one payment a day of traffic holds in the steady state.
//! 3. `--history` payments spread over the year before, copied inside PostgreSQL from one payment
//!    step 1 made: each table it wrote, with ids, references and times of their own; a table kept
//!    less than a year holds only its last days' share (events 30 days, the outbox 7...).
//! 4. Step 1 again on that database, and the ratios (goal: within 10%).

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use sea_orm::{ConnectionTrait, Statement};
use serde_json::json;
use uuid::Uuid;

use super::bench_payments::{Load, Measured, measure_payments};
use super::bench_scratch::{progress_bar, round};
use crate::config::{Backend, Config};
use crate::store::Db;

const YEAR_DAYS: u64 = 365;
/// config/default.toml's `archive.after`, assumed for the objects' own tables when `archive.dir`
/// is not set (without archival they are kept forever).
const ARCHIVE_AFTER_DEFAULT_DAYS: u64 = 400;
/// How long the books are assumed kept: the ledger is neither removed by retention nor
/// archived, and ten years is what many jurisdictions ask of an acquirer's books.
const LEDGER_KEPT_DAYS: u64 = 3_650;
/// Copies written by one statement per table.
const CHUNK: u64 = 500_000;

/// The arguments of `bench lifecycle`.
pub(super) struct Lifecycle {
    pub history: usize,
    pub payments: usize,
    pub concurrency: usize,
    pub rate: f64,
}

/// Runs the four steps of the module doc on the scratch database `config` names.
pub(super) async fn run(config: &Config, asked: Lifecycle) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(
        config.backend == Backend::Postgres,
        "bench lifecycle compares with pgbench: set a postgres:// database.url"
    );
    let db = crate::cli::compose::boot(config, std::sync::Arc::new(crate::clock::SystemClock))
        .await?
        .db;
    let sizes_before = table_sizes(&db).await?;
    let empty = measure_both(config, &asked).await?;
    let made = count(&db, "SELECT COUNT(*) FROM payments").await?;
    let kept = kept_days(config);
    let growth = bytes_per_payment(&db, &sizes_before, made, &kept).await?;
    print_steady_state(&growth, &kept);

    let template = template_payment(&db).await?;
    let started = Instant::now();
    fill_history(&db, &template, asked.history as u64, &kept).await?;
    let fill_seconds = started.elapsed().as_secs_f64();
    let database_bytes = count(&db, "SELECT pg_database_size(current_database())").await?;
    println!(
        "history: {} payments of a year written in {fill_seconds:.0}s; the database is now {:.1} GB",
        asked.history,
        database_bytes as f64 / 1e9
    );
    let full = measure_both(config, &asked).await?;
    print_comparison(
        &asked,
        &empty,
        &full,
        &growth,
        &kept,
        fill_seconds,
        database_bytes,
    );
    Ok(ExitCode::SUCCESS)
}

/// Step 1: the closed loop with pgbench, then the open loop.
async fn measure_both(config: &Config, asked: &Lifecycle) -> anyhow::Result<[Measured; 2]> {
    let clients = Load::Clients(asked.concurrency.max(1));
    let closed = measure_payments(config.clone(), asked.payments, clients, true).await?;
    println!("{}", closed.report(config));
    let offered = (asked.rate * 10.0).ceil() as usize;
    let open = measure_payments(config.clone(), offered, Load::Rate(asked.rate), false).await?;
    println!("{}", open.report(config));
    Ok([closed, open])
}

async fn count(db: &Db, sql: &str) -> anyhow::Result<i64> {
    let row = db
        .query_one_raw(Statement::from_string(db.get_database_backend(), sql))
        .await?
        .ok_or_else(|| anyhow::anyhow!("no answer to {sql}"))?;
    Ok(row.try_get_by_index(0)?)
}

/// Every table of the schema and its size with indexes and TOAST, in bytes.
async fn table_sizes(db: &Db) -> anyhow::Result<BTreeMap<String, i64>> {
    let sql = "SELECT relname::text, pg_total_relation_size(relid) FROM pg_stat_user_tables \
               WHERE schemaname = current_schema()";
    let rows = db
        .query_all_raw(Statement::from_string(db.get_database_backend(), sql))
        .await?;
    rows.iter()
        .map(|row| Ok((row.try_get_by_index(0)?, row.try_get_by_index(1)?)))
        .collect()
}

/// Step 2: the growth since `before` of each table a payment writes rows to (`kept`'s), over
/// the `made` payments, in bytes a payment. The others (merchants, keys...) grow by a page
/// whatever the payments.
async fn bytes_per_payment(
    db: &Db,
    before: &BTreeMap<String, i64>,
    made: i64,
    kept: &BTreeMap<&str, u64>,
) -> anyhow::Result<BTreeMap<String, f64>> {
    db.execute_unprepared("VACUUM").await?;
    Ok(table_sizes(db)
        .await?
        .into_iter()
        .filter(|(table, _)| kept.contains_key(table.as_str()))
        .filter_map(|(table, size)| {
            let grown = size - before.get(&table).copied().unwrap_or(0);
            (grown > 0).then(|| (table, grown as f64 / made.max(1) as f64))
        })
        .collect())
}

/// How long each table's payment rows stay, in days (the retention settings; the objects' own
/// tables until archival).
fn kept_days(config: &Config) -> BTreeMap<&'static str, u64> {
    let days = |kept: Duration| kept.as_secs().div_ceil(86_400);
    let retention = &config.retention;
    let archived = retention
        .archive
        .as_ref()
        .map_or(ARCHIVE_AFTER_DEFAULT_DAYS, |archive| days(archive.after));
    BTreeMap::from([
        ("outbox", days(retention.outbox)),
        ("idempotency_keys", days(retention.idempotency_keys)),
        ("events", days(retention.events)),
        ("webhook_deliveries", days(retention.webhook_deliveries)),
        ("webhook_delivery_attempts", days(retention.webhook_deliveries)),
        ("alipayplus_inbound", days(retention.inbound_journal)),
        ("payments", archived),
        ("workflow_instances", archived),
        ("workflow_history", archived),
        ("payment_results", archived),
        ("ledger_entries", LEDGER_KEPT_DAYS),
    ])
}

/// Bytes one payment a day of traffic holds once every table is at its retention.
fn steady_bytes(growth: &BTreeMap<String, f64>, kept: &BTreeMap<&str, u64>) -> f64 {
    growth
        .iter()
        .map(|(table, bytes)| {
            bytes
                * kept
                    .get(table.as_str())
                    .copied()
                    .unwrap_or(ARCHIVE_AFTER_DEFAULT_DAYS) as f64
        })
        .sum()
}

fn print_steady_state(growth: &BTreeMap<String, f64>, kept: &BTreeMap<&str, u64>) {
    println!(
        "{:<28} {:>14} {:>10} {:>22}",
        "table", "bytes/payment", "kept days", "bytes per payment/day"
    );
    for (table, bytes) in growth {
        let days = kept
            .get(table.as_str())
            .copied()
            .unwrap_or(ARCHIVE_AFTER_DEFAULT_DAYS);
        println!(
            "{table:<28} {bytes:>14.0} {days:>10} {:>22.0}",
            bytes * days as f64
        );
    }
    let per_payment: f64 = growth.values().sum();
    let steady = steady_bytes(growth, kept);
    println!(
        "one payment writes {per_payment:.0} bytes; at 1,000,000 payments a day the database holds {:.2} TB in \
         the steady state ({:.0} GB more every day without retention or archival)",
        steady * 1e6 / 1e12,
        per_payment * 1e6 / 1e9
    );
}

/// The payment the history is copied from: the first step 1 made that SUCCEEDED, its id and
/// request id.
struct Template {
    id: Uuid,
    request_id: String,
}

async fn template_payment(db: &Db) -> anyhow::Result<Template> {
    let sql = "SELECT p.id, p.payment_request_id FROM payments p JOIN workflow_instances i ON i.id = p.id \
               WHERE i.state = 'succeeded' ORDER BY p.created_at LIMIT 1";
    let row = db
        .query_one_raw(Statement::from_string(db.get_database_backend(), sql))
        .await?
        .ok_or_else(|| anyhow::anyhow!("no SUCCEEDED payment to copy the history from"))?;
    Ok(Template {
        id: row.try_get_by_index(0)?,
        request_id: row.try_get_by_index(1)?,
    })
}

/// One table's share of a payment of history: which rows of the template are its, and the
/// columns each copy changes (`{n}` copy number `g`'s expression helpers: see `copy_sql`).
struct Copied {
    table: &'static str,
    /// Over the template's rows, `t`.
    template_rows: String,
    changed: Vec<(&'static str, String)>,
}

/// A uuid column's value for copy `g`: `g` in the first half (time-ordered, as v7 ids are), a
/// digest of the template row's own in the second (so two rows of one copy differ, and a row
/// names the same copied payment as the payment's own id does).
fn copied_id(column: &str) -> String {
    format!("(lpad(to_hex(g), 16, '0') || left(md5(t.{column}::text), 16))::uuid")
}

/// A time column's value for copy `g` of `n`: as far before the template's time as copy `g` is
/// from the last of the year.
fn copied_time(column: &str, n: u64) -> String {
    let seconds_apart = (YEAR_DAYS * 86_400) as f64 / n.max(1) as f64;
    format!("t.{column} - make_interval(secs => ({n} - g) * {seconds_apart})")
}

fn copies(template: &Template, n: u64) -> Vec<Copied> {
    let id = format!("'{}'::uuid", template.id);
    // The payment's request id is its own (Alipay+'s payment id is the simulator's, counted
    // afresh by each simulator, so another run's payment may have the same).
    let request_id = format!("'{}'", template.request_id.replace('\'', "''"));
    let times = |columns: &[&'static str]| {
        columns
            .iter()
            .map(|c| (*c, copied_time(c, n)))
            .collect::<Vec<_>>()
    };
    let ids = |columns: &[&'static str]| columns.iter().map(|c| (*c, copied_id(c))).collect::<Vec<_>>();
    let alipay_payment_id =
        "CASE WHEN t.alipay_payment_id IS NULL THEN NULL ELSE 'history-ap-' || g END".to_string();
    let step_ms = (YEAR_DAYS * 86_400_000) as f64 / n.max(1) as f64;
    vec![
        Copied {
            table: "payments",
            template_rows: format!("t.id = {id}"),
            changed: [
                ids(&["id"]),
                times(&["created_at", "expires_at"]),
                vec![
                    ("merchant_order_id", "'history-' || g".into()),
                    ("payment_request_id", "'history-pr-' || g".into()),
                    ("alipay_payment_id", alipay_payment_id.clone()),
                ],
            ]
            .concat(),
        },
        Copied {
            table: "payment_results",
            template_rows: format!("t.payment_id = {id}"),
            changed: [
                ids(&["payment_id"]),
                times(&[
                    "payment_time",
                    "quote_start_time",
                    "quote_expiry_time",
                    "recorded_at",
                ]),
                vec![("alipay_payment_id", alipay_payment_id)],
            ]
            .concat(),
        },
        Copied {
            table: "workflow_instances",
            template_rows: format!("t.id = {id}"),
            changed: [ids(&["id"]), times(&["created_at", "updated_at", "state_since"])].concat(),
        },
        Copied {
            table: "ledger_entries",
            template_rows: format!("t.object_id = {id}"),
            changed: [
                ids(&["id", "object_id"]),
                times(&["created_at"]),
                vec![("journal", "t.journal || '-h' || g".into())],
            ]
            .concat(),
        },
        Copied {
            table: "workflow_history",
            template_rows: format!("t.instance_id = {id}"),
            changed: [ids(&["instance_id"]), times(&["at"])].concat(),
        },
        Copied {
            table: "alipayplus_inbound",
            template_rows: format!("(t.reference = {request_id} OR t.related_reference = {request_id})"),
            // Both references changed, so no copy is ever taken for the template.
            changed: [
                ids(&["id"]),
                times(&["received_at"]),
                vec![
                    ("reference", "t.reference || '-h' || g".into()),
                    ("related_reference", "t.related_reference || '-h' || g".into()),
                ],
            ]
            .concat(),
        },
        Copied {
            table: "idempotency_keys",
            template_rows: format!("t.resource_id = {id}"),
            changed: [
                ids(&["resource_id"]),
                times(&["created_at"]),
                vec![("key", "t.key || '-h' || g".into())],
            ]
            .concat(),
        },
        Copied {
            table: "events",
            template_rows: format!("t.instance_id = {id}"),
            changed: [
                ids(&["id", "object_id", "subject_id", "instance_id"]),
                times(&["created_at"]),
                vec![("sequence", "g::bigint * 1000000 + t.sequence".into())],
            ]
            .concat(),
        },
        Copied {
            table: "outbox",
            template_rows: format!("t.instance_id = {id}"),
            changed: [
                ids(&["id", "instance_id"]),
                times(&["created_at", "updated_at"]),
                vec![(
                    "due_at_ms",
                    format!("t.due_at_ms - (({n} - g) * {step_ms})::bigint"),
                )],
            ]
            .concat(),
        },
    ]
}

/// `INSERT ... SELECT` writing copies `first..=last` of `copied`, every other column as the
/// template row has it (but a serial or identity id, which the table numbers).
async fn copy_sql(db: &Db, copied: &Copied, first: u64, last: u64) -> anyhow::Result<String> {
    let backend = db.get_database_backend();
    let columns = db
        .query_all_raw(Statement::from_sql_and_values(
            backend,
            "SELECT column_name::text FROM information_schema.columns WHERE table_schema = current_schema() \
             AND table_name = $1 AND is_identity = 'NO' \
             AND coalesce(column_default, '') NOT LIKE 'nextval%' ORDER BY ordinal_position",
            [copied.table.into()],
        ))
        .await?
        .iter()
        .map(|row| row.try_get_by_index::<String>(0))
        .collect::<Result<Vec<_>, _>>()?;
    for (column, _) in &copied.changed {
        anyhow::ensure!(
            columns.iter().any(|c| c == column),
            "{}.{column} is not a column: the history's copy rules are out of date",
            copied.table
        );
    }
    let values: Vec<String> = columns
        .iter()
        .map(|column| {
            copied
                .changed
                .iter()
                .find(|(changed, _)| changed == column)
                .map_or_else(|| format!("t.{column}"), |(_, value)| value.clone())
        })
        .collect();
    // The template's rows are read once (MATERIALIZED), not once a copy.
    Ok(format!(
        "WITH t AS MATERIALIZED (SELECT * FROM {table} t WHERE {rows}) \
         INSERT INTO {table} ({columns}) SELECT {values} FROM t CROSS JOIN generate_series({first}, {last}) g",
        table = copied.table,
        columns = columns.join(", "),
        values = values.join(", "),
        rows = copied.template_rows,
    ))
}

/// Step 3: `n` payments of history, as the module doc says; then vacuumed and analysed.
async fn fill_history(
    db: &Db,
    template: &Template,
    n: u64,
    kept: &BTreeMap<&str, u64>,
) -> anyhow::Result<()> {
    let bar = progress_bar(n as usize, "payments of history");
    let tables = copies(template, n);
    let mut template_rows = BTreeMap::new();
    for copied in &tables {
        let rows = count(
            db,
            &format!(
                "SELECT COUNT(*) FROM {} t WHERE {}",
                copied.table, copied.template_rows
            ),
        )
        .await?;
        template_rows.insert(copied.table, rows);
    }
    for table in [
        "payments",
        "workflow_instances",
        "workflow_history",
        "alipayplus_inbound",
    ] {
        anyhow::ensure!(
            template_rows[table] > 0,
            "the template payment has no {table} rows to copy"
        );
    }
    for first in (1..=n).step_by(CHUNK as usize) {
        let last = (first + CHUNK - 1).min(n);
        for copied in &tables {
            // A table kept `days` holds the copies of its last `days` of the year.
            let days = kept
                .get(copied.table)
                .copied()
                .unwrap_or(YEAR_DAYS)
                .min(YEAR_DAYS);
            let kept_from = n - n * days / YEAR_DAYS + 1;
            if last < kept_from {
                continue;
            }
            let from = first.max(kept_from);
            let sql = copy_sql(db, copied, from, last).await?;
            let written = db.execute_unprepared(&sql).await?.rows_affected();
            let expected = template_rows[copied.table] as u64 * (last - from + 1);
            anyhow::ensure!(
                written == expected,
                "{} copies of {} wrote {written} rows, not {expected}: a copy was taken for the template",
                last - from + 1,
                copied.table
            );
        }
        bar.set_position(last);
    }
    bar.finish_and_clear();
    let names: Vec<&str> = tables.iter().map(|copied| copied.table).collect();
    db.execute_unprepared(&format!("VACUUM ANALYZE {}", names.join(", ")))
        .await?;
    Ok(())
}

fn thousandths(value: f64) -> f64 {
    (value * 1000.0).round() / 1000.0
}

fn print_comparison(
    asked: &Lifecycle,
    [empty_closed, empty_open]: &[Measured; 2],
    [full_closed, full_open]: &[Measured; 2],
    growth: &BTreeMap<String, f64>,
    kept: &BTreeMap<&str, u64>,
    fill_seconds: f64,
    database_bytes: i64,
) {
    let ratio_of = |m: &Measured| m.payments_per_pgbench_tps().unwrap_or(0.0);
    let (empty_ratio, full_ratio) = (ratio_of(empty_closed), ratio_of(full_closed));
    let (empty_p99, full_p99) = (empty_open.create_ms[2], full_open.create_ms[2]);
    let throughput_kept = full_ratio / empty_ratio;
    let p99_grew = full_p99 / empty_p99;
    let verdict = |ok: bool| if ok { "within 10%" } else { "NOT within 10%" };
    println!(
        "{:<40} {:>12} {:>22} {:>8}",
        "",
        "empty",
        format!("{} of history", asked.history),
        "ratio"
    );
    println!(
        "{:<40} {empty_ratio:>12.3} {full_ratio:>22.3} {throughput_kept:>8.2}  {}",
        "payments per pgbench transaction",
        verdict(throughput_kept >= 0.9)
    );
    println!(
        "{:<40} {empty_p99:>9.1} ms {full_p99:>19.1} ms {p99_grew:>8.2}  {}",
        format!("createPayment p99 at {:.0}/s", asked.rate),
        verdict(p99_grew <= 1.1)
    );
    let per_payment: f64 = growth.values().sum();
    println!(
        "{}",
        json!({
            "bench": "lifecycle", "history": asked.history, "history_fill_s": round(fill_seconds),
            "database_bytes_with_history": database_bytes,
            "bytes_per_payment": per_payment.round(),
            "bytes_per_payment_per_day_steady": steady_bytes(growth, kept).round(),
            "bytes_per_payment_by_table": growth.iter().map(|(t, b)| (t.clone(), json!(b.round()))).collect::<serde_json::Map<_, _>>(),
            "empty": { "payments_per_pgbench_tps": thousandths(empty_ratio), "pgbench_tps": empty_closed.pgbench_tps,
                       "payments_per_s": empty_closed.per_second.round(), "create_p99_ms": round(empty_p99) },
            "history_db": { "payments_per_pgbench_tps": thousandths(full_ratio), "pgbench_tps": full_closed.pgbench_tps,
                            "payments_per_s": full_closed.per_second.round(), "create_p99_ms": round(full_p99) },
            "throughput_ratio": round(throughput_kept), "p99_ratio": round(p99_grew),
        })
    );
}
