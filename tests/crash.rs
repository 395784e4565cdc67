//! The crash run: two `plusflow serve` processes on PostgreSQL + Redis take payments (and
//! register two merchants with Alipay+'s wallets) while one
//! of them is SIGKILLed and restarted (twice, at the same address: its notify URL), Redis is
//! restarted once and PostgreSQL is restarted once; a tenth of the payments are partially
//! refunded, two declared to customs and two disputed by Alipay+ (retrievals the merchant
//! answers) while this goes on. At the end every payment is SUCCEEDED, paid exactly once at
//! Alipay+, every refund SUCCEEDED and made once there, every registration COMPLETED and taken
//! once there, both declarations accepted and declared once there, both disputes RESPONDED
//! with one response (resent unchanged, if at all) there, with no transition recorded twice,
//! and the day's report files reconcile with no discrepancy. It restarts the machine's PostgreSQL and
//! Redis, so it runs only when PLUSFLOW_TEST_RESTART_SERVICES=1 (as `.ci/run` sets), alone in
//! its test binary.
//! Size: PLUSFLOW_CRASH_PAYMENTS (40 by default).

mod common;

use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use plusflow::clock::SystemClock;
use plusflow::simulator::Simulator;
use sea_orm::{ConnectionTrait, Statement};
use serde_json::{Value, json};

use common::{Backend, Options, TestEnv, free_port, poll_until, wait_for};

/// Runs `script`; it must succeed.
fn shell(script: &str) {
    assert!(succeeds(script), "failed: {script}");
}

/// Whether `script` exits 0 (its output is discarded).
fn succeeds(script: &str) -> bool {
    Command::new("bash")
        .arg("-c")
        .arg(script)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .expect("bash")
        .success()
}

/// The merchant's GraphQL client.
struct Merchant {
    http: reqwest::Client,
    graphql: String,
    key: String,
}

impl Merchant {
    /// Runs a query; its answer.
    async fn query(&self, query: &str, variables: Value) -> Value {
        self.http
            .post(&self.graphql)
            .bearer_auth(&self.key)
            .json(&json!({ "query": query, "variables": variables }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// Runs a mutation taking `$input` and `$key` (the idempotency key); it must succeed.
    async fn command(&self, mutation: &str, input: Value, idempotency_key: &str) {
        let answer = self
            .query(mutation, json!({ "input": input, "key": idempotency_key }))
            .await;
        assert!(answer["errors"].is_null(), "{answer}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payments_and_refunds_survive_killed_processes_and_restarted_redis_and_postgresql() {
    if std::env::var("PLUSFLOW_TEST_RESTART_SERVICES").as_deref() != Ok("1") {
        println!(
            "skipped: set PLUSFLOW_TEST_RESTART_SERVICES=1 (it restarts PostgreSQL and Redis) to run the crash run"
        );
        return;
    }
    let Some(env) = TestEnv::new(
        Backend::PostgresRedis,
        Options {
            lease: "3s",
            ..Options::default()
        },
    )
    .await
    else {
        return;
    };
    let count: usize = std::env::var("PLUSFLOW_CRASH_PAYMENTS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(40);

    let simulator = common::app::shared_simulator(&env, |config| {
        config.auto_complete_after = Duration::from_millis(200);
        config.time_scale = 0.01;
    })
    .await;
    env.append_config("[registration]\ninquiry_interval = \"1s\"\n");

    let day = common::app::clearing_day_now().await;
    let config_path = env.config_path.to_str().unwrap().to_string();
    let (code, _, stderr) = common::run_plusflow(&["--config", &config_path, "migrate"]);
    assert_eq!(code, 0, "{stderr}");
    let (code, stdout, stderr) =
        common::run_plusflow(&["--config", &config_path, "merchant", "create", "--name", "Crash"]);
    assert_eq!(code, 0, "{stderr}");
    let key = serde_json::from_str::<Value>(stdout.trim()).unwrap()["apiKey"]
        .as_str()
        .unwrap()
        .to_string();
    // Two merchants registered with Alipay+ and its wallets, through the same kills and restarts.
    let registrations = 2;
    for n in 0..registrations {
        let name = format!("Crash registered {n}");
        let (code, stdout, stderr) =
            common::run_plusflow(&["--config", &config_path, "merchant", "create", "--name", &name]);
        assert_eq!(code, 0, "{stderr}");
        let merchant = serde_json::from_str::<Value>(stdout.trim()).unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string();
        let (code, _, stderr) = common::run_plusflow(&[
            "--config",
            &config_path,
            "merchant",
            "register",
            &merchant,
            "--product-codes",
            "CASHIER_PAYMENT",
            "--display-name",
            &name,
            "--website",
            "https://crash.example",
        ]);
        assert_eq!(code, 0, "{stderr}");
    }

    // Each process keeps its port through its restarts, as a deployment's address stays: Alipay+
    // sends a payment's notifications and disputes to the notify URL its pay call gave.
    let victim_port = free_port();
    let survivor_port = loop {
        let port = free_port();
        if port != victim_port {
            break port;
        }
    };
    let mut victim = env.spawn_at("all", victim_port);
    let survivor = env.spawn_at("all", survivor_port);
    let api = survivor.api.clone().expect("the survivor serves the API");
    let merchant = Merchant {
        http: reqwest::Client::new(),
        graphql: format!("{api}/graphql"),
        key,
    };
    let create = "mutation($input: CreatePaymentInput!, $key: String!) { createPayment(input: $input, idempotencyKey: $key) { id } }";
    for n in 0..count {
        let input = json!({ "merchantOrderId": format!("crash-{n}"), "orderDescription": "crash run",
            "amount": { "currency": "USD", "value": "1000" }, "terminalType": "WEB", "redirectUrl": "https://shop.example/r" });
        merchant.command(create, input, &format!("crash-{n}")).await;
    }

    let engine = plusflow::cli::boot(&env.config(), Arc::new(SystemClock))
        .await
        .unwrap();
    // How many instances of `kind` are in `state` (0 while PostgreSQL restarts).
    let in_state = |kind: &'static str, state: &'static str| {
        let engine = engine.clone();
        async move {
            let sql = format!(
                "SELECT COUNT(*) AS n FROM workflow_instances WHERE kind = '{kind}' AND state = '{state}'"
            );
            let backend = engine.db.get_database_backend();
            match engine
                .db
                .query_one_raw(Statement::from_string(backend, sql))
                .await
            {
                Ok(Some(row)) => row.try_get::<i64>("", "n").unwrap_or(0) as usize,
                _ => 0,
            }
        }
    };
    let succeeded = |kind: &'static str| in_state(kind, "succeeded");
    let at_least = |n: usize| move || async move { succeeded("payment").await >= n };

    wait_for(
        "a quarter of the payments",
        Duration::from_secs(120),
        at_least(count / 4),
    )
    .await;
    // Refunds of some paid payments, so refunds live through the same kills and restarts.
    let sql = "SELECT id FROM workflow_instances WHERE kind = 'payment' AND state = 'succeeded' ORDER BY id";
    let backend = engine.db.get_database_backend();
    let paid: Vec<uuid::Uuid> = engine
        .db
        .query_all_raw(Statement::from_string(backend, sql))
        .await
        .unwrap()
        .iter()
        .map(|row| row.try_get("", "id").unwrap())
        .collect();
    let refunded = &paid[..(count / 10).max(1).min(paid.len())];
    let refund = "mutation($input: CreateRefundInput!, $key: String!) { createRefund(input: $input, idempotencyKey: $key) { id } }";
    for payment in refunded {
        let input = json!({ "paymentId": payment.to_string(), "amount": { "currency": "USD", "value": "400" }, "reason": "crash run" });
        merchant
            .command(refund, input, &format!("refund-{payment}"))
            .await;
    }
    // Two others (paid with AlipayCN, the simulator's wallet) declared to customs.
    let declared = &paid[refunded.len()..(refunded.len() + 2).min(paid.len())];
    let declare = "mutation($input: DeclareCustomsInput!, $key: String!) { declareCustoms(input: $input, idempotencyKey: $key) { id } }";
    for payment in declared {
        let input = json!({ "paymentId": payment.to_string(), "customsCode": "HANGZHOU", "merchantCustomsCode": "MC-1",
            "merchantCustomsName": "Crash Trading", "amount": { "currency": "CNY", "value": "1000" } });
        merchant
            .command(declare, input, &format!("declare-{payment}"))
            .await;
    }
    // Two more, disputed by Alipay+ (retrievals, sent to whichever process took the payment).
    let taken = refunded.len() + declared.len();
    let disputed = &paid[taken.min(paid.len())..(taken + 2).min(paid.len())];
    assert_eq!(disputed.len(), 2, "two paid payments left to dispute");
    for payment in disputed {
        let request_id = plusflow::kinds::payment::rows::payment(&engine.db, *payment)
            .await
            .unwrap()
            .expect("the paid payment's row")
            .payment_request_id;
        let retrieval = plusflow::simulator::RaiseRequest {
            kind: "RETRIEVAL".into(),
            amount: None,
            dispute_request_id: None,
            dispute_occur_time: None,
        };
        simulator.raise_dispute(&request_id, retrieval).unwrap();
    }
    victim.kill();
    victim = env.spawn_at("all", victim_port);
    shell("redis-cli -h 127.0.0.1 -p 6379 shutdown nosave || true");
    wait_for("Redis to be down", Duration::from_secs(10), || async {
        !succeeds("redis-cli -h 127.0.0.1 -p 6379 ping")
    })
    .await;
    shell("redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save '' --appendonly no");
    wait_for("Redis to answer", Duration::from_secs(10), || async {
        succeeds("redis-cli -h 127.0.0.1 -p 6379 ping")
    })
    .await;
    wait_for(
        "half of the payments",
        Duration::from_secs(120),
        at_least(count / 2),
    )
    .await;
    // The merchant answers each retrieval once plusflow shows it.
    let respond = "mutation($input: RespondToRetrievalInput!, $key: String!) { respondToRetrieval(input: $input, idempotencyKey: $key) { id } }";
    for payment in disputed {
        let dispute = poll_until(
            "the retrieval to reach plusflow",
            Duration::from_secs(120),
            || async {
                let query = "query($id: ID!) { payment(id: $id) { disputes { id status } } }";
                let answer = merchant.query(query, json!({ "id": payment.to_string() })).await;
                let dispute = &answer["data"]["payment"]["disputes"][0];
                (dispute["status"] == "NEEDS_RESPONSE").then(|| dispute["id"].as_str().unwrap().to_string())
            },
        )
        .await;
        let input = json!({ "disputeId": dispute, "responseCode": "ALL_DOCUMENTS",
            "transactionReceipt": "crash run: order paid in full" });
        merchant
            .command(respond, input, &format!("respond-{payment}"))
            .await;
    }
    victim.kill();
    shell("pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql | head -n1) main restart");
    wait_for("PostgreSQL to answer", Duration::from_secs(10), || async {
        succeeds("pg_isready -q -h 127.0.0.1 -p 5432")
    })
    .await;
    let _victim = env.spawn_at("all", victim_port);
    wait_for(
        "every payment to succeed",
        Duration::from_secs(300),
        at_least(count),
    )
    .await;
    wait_for("every refund to succeed", Duration::from_secs(300), || async {
        succeeded("refund").await >= refunded.len()
    })
    .await;
    wait_for(
        "every registration to complete",
        Duration::from_secs(300),
        || async { in_state("registration", "completed").await >= registrations },
    )
    .await;
    wait_for(
        "every dispute to be responded",
        Duration::from_secs(300),
        || async { in_state("dispute", "responded").await >= disputed.len() },
    )
    .await;
    wait_for(
        "every declaration to be accepted",
        Duration::from_secs(300),
        || async { in_state("customs_declaration", "accepted").await >= declared.len() },
    )
    .await;

    // Alipay+ sends initiateRetrieval again on its schedule until it hears an answer: one sent
    // while its process was being killed is answered by a later attempt.
    wait_for(
        "every dispute acknowledged to Alipay+",
        Duration::from_secs(120),
        || async {
            simulator
                .ledger()
                .disputes
                .values()
                .all(|dispute| dispute.initiate_answer.is_some())
        },
    )
    .await;
    let ledger = simulator.ledger();
    assert_eq!(ledger.payments.len(), count, "one payment at Alipay+ per payment");
    for (request_id, entry) in &ledger.payments {
        assert_eq!(
            entry.status,
            plusflow::simulator::PaymentStatus::Succeeded,
            "{request_id}"
        );
        assert_eq!(entry.cancel_count, 0, "{request_id}");
    }
    assert_eq!(
        ledger.refunds.len(),
        refunded.len(),
        "one refund at Alipay+ per refund"
    );
    let refunded_total: i64 = ledger.payments.values().map(|p| p.refunded_total).sum();
    assert_eq!(refunded_total, 400 * refunded.len() as i64, "each refunded once");
    assert_eq!(
        ledger.registrations.len(),
        registrations,
        "one registration at Alipay+ per registration"
    );
    assert_eq!(
        ledger.declarations.len(),
        declared.len(),
        "one declaration at Alipay+ per declaration"
    );
    assert_eq!(ledger.disputes.len(), disputed.len(), "the disputes raised");
    for (dispute_request_id, dispute) in &ledger.disputes {
        assert_eq!(
            dispute.initiate_answer.as_deref(),
            Some("S SUCCESS"),
            "{dispute_request_id}: plusflow acknowledged it"
        );
        assert!(
            !dispute.responses.is_empty() && dispute.responses.iter().all(|r| *r == dispute.responses[0]),
            "{dispute_request_id}: one response, resent unchanged: {:#?}",
            dispute.responses
        );
    }
    // (A registration's in-review state records each wallet's answer as a transition to itself.)
    let sql = "SELECT instance_id, from_state, event, COUNT(*) AS n FROM workflow_history WHERE outcome = 'TRANSITIONED' \
               AND from_state <> to_state GROUP BY instance_id, from_state, event HAVING COUNT(*) > 1";
    let backend = engine.db.get_database_backend();
    let doubled = engine
        .db
        .query_all_raw(Statement::from_string(backend, sql))
        .await
        .unwrap();
    assert!(doubled.is_empty(), "no transition recorded twice");
    reconcile_the_day(&engine, &simulator, &day).await;
    drop(survivor);
}

/// The simulator's report files of the run's clearing day reconcile with no discrepancy (skipped
/// when the run crossed midnight UTC+8: its payments are then in two days' files).
async fn reconcile_the_day(engine: &plusflow::app::Engine, simulator: &Simulator, day: &str) {
    if common::app::clearing_day_now().await != day {
        println!("the crash run crossed midnight UTC+8: its day is not reconciled");
        return;
    }
    let ledger: plusflow::simulator::reports::LedgerFacts =
        serde_json::from_value(serde_json::to_value(simulator.ledger()).unwrap()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    plusflow::simulator::reports::write(&ledger, day, dir.path(), &[]).unwrap();
    let sets = plusflow::app::reconciliation::report_sets(dir.path(), day)
        .await
        .unwrap();
    assert_eq!(sets.len(), 1, "one agreement");
    let outcome = plusflow::app::reconciliation::reconcile(engine, &sets[0], &|_| {})
        .await
        .unwrap();
    let found = plusflow::store::reconciliation::discrepancies(&engine.db, outcome.run.id, None, None, 20)
        .await
        .unwrap();
    assert_eq!(outcome.run.discrepancy_count, 0, "the day reconciles: {found:#?}");
    assert!(outcome.run.rows_read > 0);
}
