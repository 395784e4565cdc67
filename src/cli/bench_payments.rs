//! `bench payments`: the whole product in this process (API, relay, workers) against an
//! in-process simulator that pays at once: createPayment over GraphQL (from `concurrency`
//! back-to-back clients, or open loop at `--rate` per second), `pay`, the notification,
//! SUCCEEDED. Reports payments/s, createPayment latency percentiles and time-to-final-status
//! percentiles (from the database's own timestamps); it starts and ends with a drained outbox,
//! after a warm-up at the same load that is not measured. [`measure_payments`] is also
//! `bench lifecycle`'s measurement.

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};
use sea_orm::ConnectionTrait as _;
use serde_json::json;
use uuid::Uuid;

use super::bench_scratch::percentile;
use super::compose::boot;
use crate::clock::SystemClock;
use crate::config::Config;

/// How `bench payments` offers its load.
#[derive(Debug, Clone, Copy)]
pub(super) enum Load {
    /// This many clients, each sending its next createPayment when the last one is answered.
    Clients(usize),
    /// A createPayment started every 1/rate s, answered or not.
    Rate(f64),
}

pub(super) async fn payments_end_to_end(
    config: Config,
    count: usize,
    load: Load,
    compare_pgbench: bool,
) -> anyhow::Result<ExitCode> {
    let measured = measure_payments(config.clone(), count, load, compare_pgbench).await?;
    println!("{}", measured.report(&config));
    Ok(ExitCode::SUCCESS)
}

/// What one `bench payments` run measured.
#[derive(Debug, Clone)]
pub(super) struct Measured {
    pub count: usize,
    pub load: Load,
    /// Until the last payment SUCCEEDED, and until no effect was left.
    pub seconds: f64,
    pub drained_seconds: f64,
    pub per_second: f64,
    /// createPayment latency percentiles 50, 95 and 99, in ms.
    pub create_ms: [f64; 3],
    /// Creation to SUCCEEDED percentiles 50 and 99, in ms.
    pub final_ms: [f64; 2],
    pub cpu_per_payment: Option<CpuTime>,
    /// pgbench's transactions per second on the same database, right after the run.
    pub pgbench_tps: Option<f64>,
}

impl Measured {
    pub fn payments_per_pgbench_tps(&self) -> Option<f64> {
        self.pgbench_tps.map(|tps| self.per_second / tps)
    }

    /// The summary lines and the last line of JSON.
    pub fn report(&self, config: &Config) -> String {
        let Measured {
            count,
            load,
            seconds,
            drained_seconds: drained,
            per_second,
            create_ms: [p50, p95, p99],
            final_ms: [f50, f99],
            ..
        } = *self;
        let backend = format!("{:?}", config.backend).to_lowercase();
        let load_text = match load {
            Load::Clients(clients) => format!("{clients} clients"),
            Load::Rate(rate) => format!("offered {rate:.0}/s"),
        };
        let mut lines = vec![format!(
            "bench payments on {backend}{} ({load_text}): {count} payments SUCCEEDED in {seconds:.2}s = {per_second:.0} payments/s \
             (every effect done after {drained:.2}s); createPayment p50 {p50:.1} ms, p95 {p95:.1} ms, p99 {p99:.1} ms; \
             to SUCCEEDED p50 {f50:.0} ms, p99 {f99:.0} ms",
            if config.redis_url.is_some() {
                " + redis"
            } else {
                ""
            }
        )];
        let mut summary = json!({
            "bench": "payments", "backend": backend, "redis": config.redis_url.is_some(), "payments": count,
            "seconds": (seconds * 1000.0).round() / 1000.0, "drained_seconds": (drained * 1000.0).round() / 1000.0,
            "payments_per_s": per_second.round(),
            "create_p50_ms": p50, "create_p95_ms": p95, "create_p99_ms": p99, "final_p50_ms": f50, "final_p99_ms": f99,
        });
        match load {
            Load::Clients(clients) => summary["concurrency"] = json!(clients),
            Load::Rate(rate) => summary["rate"] = json!(rate),
        }
        if let Some(cpu) = self.cpu_per_payment {
            lines.push(format!(
                "CPU per payment: {:.2} ms in plusflow (API, workers and the simulator), {:.2} ms on the whole machine \
                 (every process, the database's included)",
                cpu.process_ms, cpu.machine_ms
            ));
            summary["cpu_ms_per_payment_process"] = json!((cpu.process_ms * 100.0).round() / 100.0);
            summary["cpu_ms_per_payment_machine"] = json!((cpu.machine_ms * 100.0).round() / 100.0);
        }
        if let (Some(tps), Some(ratio)) = (self.pgbench_tps, self.payments_per_pgbench_tps()) {
            lines.push(format!(
                "pgbench on the same database: {tps:.0} tps; plusflow does {ratio:.3} payments per pgbench transaction"
            ));
            summary["pgbench_tps"] = json!(tps.round());
            summary["payments_per_pgbench_tps"] = json!((ratio * 1000.0).round() / 1000.0);
        }
        lines.push(summary.to_string());
        lines.join("\n")
    }
}

/// Runs `bench payments` (see the module doc) and returns what it measured.
pub(super) async fn measure_payments(
    mut config: Config,
    count: usize,
    load: Load,
    compare_pgbench: bool,
) -> anyhow::Result<Measured> {
    use crate::alipayplus::signing::{SigningKey, VerifyingKeys};
    use crate::config::Gateway;
    use crate::simulator::{AutoComplete, Simulator, SimulatorConfig};

    // Alipay+: a simulator in this process that pays every payment at once.
    let ours = SigningKey::generate("1");
    let simulator_key = SigningKey::generate("1");
    let mut simulator_config = SimulatorConfig::new(
        &config.alipayplus.client_id,
        VerifyingKeys::single(ours.public_key(), "1"),
        simulator_key.clone(),
    );
    simulator_config.auto_complete = AutoComplete::Success;
    simulator_config.auto_complete_after = std::time::Duration::ZERO;
    let simulator = Simulator::new(simulator_config, Arc::new(SystemClock));
    let (address, _) = simulator.serve("127.0.0.1", 0).await?;
    config.alipayplus.gateway = Some(Gateway {
        url: format!("http://{address}").parse()?,
        signing_key: ours,
        alipayplus_keys: VerifyingKeys::single(simulator_key.public_key(), "1"),
    });
    config.port = 0;
    let engine = boot(&config, Arc::new(SystemClock)).await?;
    wait_for_drained_outbox(&engine, "work left over from an earlier run").await?;
    vacuum(&engine).await?;
    let running = super::start(&config, engine.clone(), super::Role::All).await?;
    let api = format!(
        "http://{}/graphql",
        running.api_address.expect("the bench serves the API")
    );
    let http = reqwest::Client::new();
    let creator = |merchant: &crate::app::merchants::CreatedMerchant| Creator {
        http: http.clone(),
        graphql: api.clone(),
        key: merchant.api_key.clone(),
        run: Uuid::now_v7().simple().to_string(),
    };
    // Warm-up, not measured: the same load for about two seconds, by a merchant of its own, so
    // the measured run starts with the pool's connections open and their statements prepared
    // (opening them under load made the first half second's calls 50-200 ms).
    let warm_up =
        crate::app::merchants::create_merchant(&engine, "bench warm-up", None, Default::default()).await?;
    let warm_up_count = match load {
        Load::Clients(clients) => clients * 10,
        Load::Rate(rate) => (rate * 2.0).ceil() as usize,
    };
    offer(&creator(&warm_up), warm_up_count, load).await?;
    until_succeeded(&engine, warm_up.id, warm_up_count, |_| {}).await?;
    wait_for_drained_outbox(&engine, "the warm-up's remaining effects").await?;

    let merchant = crate::app::merchants::create_merchant(&engine, "bench", None, Default::default()).await?;
    let creator = creator(&merchant);
    let bar = ProgressBar::new(count as u64).with_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} payments SUCCEEDED {per_sec} eta {eta}")
            .expect("static template"),
    );
    let started_at = chrono::Utc::now();
    let cpu_before = CpuTime::now();
    let created = offer(&creator, count, load);
    let watch = until_succeeded(&engine, merchant.id, count, |done| bar.set_position(done as u64));
    let (created, watched) = tokio::join!(created, watch);
    let mut latencies = created?;
    watched?;
    let finals = succeeded_of(&engine, merchant.id).await?;
    // The run lasted until the last payment SUCCEEDED (its database timestamp, not the poll
    // that noticed it).
    let last_succeeded = finals
        .iter()
        .map(|(_, finished)| *finished)
        .max()
        .unwrap_or(started_at);
    let seconds = ms_between(started_at, last_succeeded) / 1000.0;
    bar.finish_and_clear();
    // Webhook bookkeeping and disarmed timers may still be queued: the run ends when the
    // outbox has nothing due, so no work spills into the next run's numbers.
    wait_for_drained_outbox(&engine, "this run's remaining effects").await?;
    let drained = ms_between(started_at, chrono::Utc::now()) / 1000.0;
    let cpu_per_payment = CpuTime::now()
        .zip(cpu_before)
        .map(|(after, before)| after.since(before).per(count));
    running.stop().await;

    latencies.sort_by(f64::total_cmp);
    let mut to_final: Vec<f64> = finals
        .iter()
        .map(|(created, finished)| ms_between(*created, *finished))
        .collect();
    to_final.sort_by(f64::total_cmp);
    let pgbench_tps = if compare_pgbench {
        // pgbench gets as many clients as the bench had, or, in open loop, as plusflow's pool has.
        let clients = match load {
            Load::Clients(clients) => clients,
            Load::Rate(_) => config.max_connections as usize,
        };
        Some(pgbench_tps(&config.database_url, clients)?)
    } else {
        None
    };
    Ok(Measured {
        count,
        load,
        seconds,
        drained_seconds: drained,
        per_second: count as f64 / seconds,
        create_ms: [50.0, 95.0, 99.0].map(|p| percentile(&latencies, p)),
        final_ms: [50.0, 99.0].map(|p| percentile(&to_final, p)),
        cpu_per_payment,
        pgbench_tps,
    })
}

/// CPU time used so far, in ms: by this process, and by the whole machine (every process,
/// idle, I/O wait and stolen time excluded), read from Linux's `/proc` (`None` elsewhere). The per-payment
/// figures drift far less than payments/s on a shared machine, so they show what a change saves.
#[derive(Debug, Clone, Copy)]
pub(super) struct CpuTime {
    process_ms: f64,
    machine_ms: f64,
}

impl CpuTime {
    /// Linux's USER_HZ, the unit of `/proc` CPU times (100 on every Linux architecture we run on).
    const MS_PER_TICK: f64 = 10.0;

    fn now() -> Option<Self> {
        let process = std::fs::read_to_string("/proc/self/stat").ok()?;
        // Fields after the parenthesised command name; utime and stime are the 14th and 15th.
        let after_name = process.rsplit_once(')')?.1;
        let fields: Vec<&str> = after_name.split_whitespace().collect();
        let process_ticks: f64 =
            fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
        let machine = std::fs::read_to_string("/proc/stat").ok()?;
        let totals: Vec<f64> = machine
            .lines()
            .next()?
            .split_whitespace()
            .skip(1)
            .map(|n| n.parse().unwrap_or(0.0))
            .collect();
        // user nice system idle iowait irq softirq steal...: busy is user, nice, system, irq and
        // softirq (not the time the hypervisor stole).
        let busy_ticks = [0, 1, 2, 5, 6].iter().filter_map(|&i| totals.get(i)).sum::<f64>();
        Some(Self {
            process_ms: process_ticks * Self::MS_PER_TICK,
            machine_ms: busy_ticks * Self::MS_PER_TICK,
        })
    }

    fn since(self, before: Self) -> Self {
        Self {
            process_ms: self.process_ms - before.process_ms,
            machine_ms: self.machine_ms - before.machine_ms,
        }
    }

    fn per(self, payments: usize) -> Self {
        let n = payments.max(1) as f64;
        Self {
            process_ms: self.process_ms / n,
            machine_ms: self.machine_ms / n,
        }
    }
}

/// Offers `count` createPayment calls as `load` says; their latencies in ms once all answered.
async fn offer(creator: &Creator, count: usize, load: Load) -> anyhow::Result<Vec<f64>> {
    let mut senders = tokio::task::JoinSet::new();
    match load {
        Load::Clients(clients) => {
            let next = Arc::new(AtomicUsize::new(0));
            for _ in 0..clients {
                let (creator, next) = (creator.clone(), next.clone());
                senders.spawn(async move {
                    let mut latencies = Vec::new();
                    loop {
                        let n = next.fetch_add(1, Ordering::Relaxed);
                        if n >= count {
                            return anyhow::Ok(latencies);
                        }
                        latencies.push(creator.create(n, Instant::now()).await?);
                    }
                });
            }
        }
        Load::Rate(rate) => {
            let mut ticks = tokio::time::interval(std::time::Duration::from_secs_f64(1.0 / rate));
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
            for n in 0..count {
                // Latency counts from when the payment was due to be sent, so a late send
                // (the machine too busy to keep the rate) is not hidden.
                let due = ticks.tick().await.into_std();
                let creator = creator.clone();
                senders.spawn(async move { Ok(vec![creator.create(n, due).await?]) });
            }
        }
    }
    let mut latencies = Vec::with_capacity(count);
    while let Some(result) = senders.join_next().await {
        latencies.extend(result??);
    }
    Ok(latencies)
}

/// Sends the bench's createPayment calls.
#[derive(Clone)]
struct Creator {
    http: reqwest::Client,
    graphql: String,
    key: String,
    /// Makes this run's idempotency keys its own.
    run: String,
}

impl Creator {
    /// Creates payment `n`; its latency in ms, counted from `since`.
    async fn create(&self, n: usize, since: Instant) -> anyhow::Result<f64> {
        let query = "mutation($input: CreatePaymentInput!, $key: String!) { createPayment(input: $input, idempotencyKey: $key) { id } }";
        let input = json!({ "merchantOrderId": format!("bench-{n}"), "orderDescription": "bench", "amount": { "currency": "USD", "value": "1000" },
                            "terminalType": "WEB", "redirectUrl": "https://bench.invalid/return" });
        let answer: serde_json::Value = self
            .http
            .post(&self.graphql)
            .bearer_auth(&self.key)
            .json(&json!({ "query": query, "variables": { "input": input, "key": format!("{}-{n}", self.run) } }))
            .send()
            .await?
            .json()
            .await?;
        anyhow::ensure!(answer["errors"].is_null(), "createPayment failed: {answer}");
        Ok(since.elapsed().as_secs_f64() * 1000.0)
    }
}

/// Like pgbench, start from vacuumed tables with fresh statistics (PostgreSQL): earlier runs
/// leave dead row versions behind, which autovacuum would clear (unless it is off, as on this
/// project's machine), and each run should measure the same thing.
async fn vacuum(engine: &crate::app::Engine) -> anyhow::Result<()> {
    use sea_orm::ConnectionTrait;
    if engine.db.get_database_backend() == sea_orm::DbBackend::Postgres {
        engine
            .db
            .execute_unprepared(
                "VACUUM ANALYZE outbox, workflow_instances, workflow_history, payments, idempotency_keys",
            )
            .await?;
    }
    Ok(())
}

/// Waits until no outbox row is due or claimed (a few minutes at most).
async fn wait_for_drained_outbox(engine: &crate::app::Engine, what: &str) -> anyhow::Result<()> {
    let deadline = Instant::now() + std::time::Duration::from_secs(300);
    loop {
        let backlog = crate::store::outbox_backlog(&engine.db, engine.clock.now_ms()).await?;
        if backlog == 0 {
            return Ok(());
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "{backlog} outbox rows still due or claimed after 300 s ({what})"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

/// Milliseconds from creation to SUCCEEDED of each succeeded payment of the merchant.
/// Each SUCCEEDED payment of the merchant: when it was created and when it SUCCEEDED
/// (database timestamps).
async fn succeeded_of(
    engine: &crate::app::Engine,
    merchant_id: Uuid,
) -> anyhow::Result<Vec<(Timestamp, Timestamp)>> {
    use sea_orm::ConnectionTrait;
    let query = succeeded_query(
        engine,
        merchant_id,
        "p.created_at AS created, i.updated_at AS finished",
    );
    let rows = engine.db.query_all_raw(query).await?;
    rows.iter()
        .map(|row| Ok((row.try_get("", "created")?, row.try_get("", "finished")?)))
        .collect()
}

type Timestamp = chrono::DateTime<chrono::Utc>;

fn ms_between(from: Timestamp, to: Timestamp) -> f64 {
    (to - from).num_microseconds().unwrap_or_default() as f64 / 1000.0
}

/// How many of the merchant's payments have SUCCEEDED (the progress bar's poll: a count, so
/// watching costs the database little).
/// Waits until `count` payments of `merchant_id` have SUCCEEDED, telling `seen` each count read.
async fn until_succeeded(
    engine: &crate::app::Engine,
    merchant_id: Uuid,
    count: usize,
    seen: impl Fn(usize),
) -> anyhow::Result<()> {
    loop {
        let done = succeeded_count(engine, merchant_id).await?;
        seen(done);
        if done >= count {
            return Ok(());
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

async fn succeeded_count(engine: &crate::app::Engine, merchant_id: Uuid) -> anyhow::Result<usize> {
    use sea_orm::ConnectionTrait;
    let query = succeeded_query(engine, merchant_id, "COUNT(*) AS n");
    let row = engine.db.query_one_raw(query).await?;
    let n: i64 = row.map(|row| row.try_get("", "n")).transpose()?.unwrap_or(0);
    Ok(n as usize)
}

/// `SELECT <columns>` over the merchant's SUCCEEDED payments (`p`) joined with their instances (`i`).
fn succeeded_query(engine: &crate::app::Engine, merchant_id: Uuid, columns: &str) -> sea_orm::Statement {
    let backend = engine.db.get_database_backend();
    let placeholder = if backend == sea_orm::DbBackend::Postgres {
        "$1"
    } else {
        "?"
    };
    let sql = format!(
        "SELECT {columns} FROM payments p JOIN workflow_instances i ON i.id = p.id \
         WHERE p.merchant_id = {placeholder} AND i.state = 'succeeded'"
    );
    sea_orm::Statement::from_sql_and_values(backend, sql, [merchant_id.into()])
}

/// pgbench's TPC-B-like load for 10 s on `url` (its tables are dropped afterwards).
fn pgbench_tps(url: &str, clients: usize) -> anyhow::Result<f64> {
    anyhow::ensure!(
        url.starts_with("postgres"),
        "--compare-pgbench needs a PostgreSQL database"
    );
    let run = |args: &[&str]| -> anyhow::Result<String> {
        let output = std::process::Command::new("pgbench").args(args).output()?;
        anyhow::ensure!(
            output.status.success(),
            "pgbench {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    };
    run(&["-i", "-q", "-s", "1", url])?;
    let clients = clients.to_string();
    let report = run(&["-n", "-c", &clients, "-j", "2", "-T", "10", url]);
    let cleanup = run(&["-i", "-I", "d", url]);
    let report = report?;
    cleanup?;
    report
        .lines()
        .find_map(|line| {
            line.strip_prefix("tps = ")
                .and_then(|rest| rest.split_whitespace().next())
                .and_then(|v| v.parse().ok())
        })
        .ok_or_else(|| anyhow::anyhow!("no tps in the pgbench report:\n{report}"))
}
