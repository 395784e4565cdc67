//! The engine integration suite, run on SQLite (in-process queue) and on PostgreSQL + Redis:
//! many instances through effects and timers by two worker processes, crash and Redis-loss
//! recovery, timers across restarts, and parking after exhausted retries.

mod common;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use plusflow::app::Engine;
use plusflow::cli::{Role, boot, start};
use plusflow::clock::{Clock, ManualClock, SharedClock, SystemClock};
use plusflow::store::entity::{inbound, outbox};
use plusflow::store::inbound::InboundCall;
use plusflow::store::{self, EventInput};
use plusflow::workflow::EventName;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, Statement};
use serde_json::json;
use uuid::Uuid;

use common::{Backend, ChildProcess, Options, ProbeTarget, TestEnv, wait_for};

on_each_backend!(
    two_worker_processes_drive_a_thousand_instances_to_completion_without_duplicates,
    instances_finish_after_their_worker_is_killed_mid_effect,
    a_timer_fires_when_the_clock_passes_it_even_across_a_restart,
    an_effect_that_keeps_failing_parks_its_instance_for_an_operator,
    every_applied_event_leaves_exactly_one_history_row,
    an_event_decided_on_an_outdated_copy_is_decided_again_on_the_current_instance,
    effects_that_outlast_their_lease_under_a_backlog_run_once_and_claims_wait_for_free_workers,
    a_row_that_cannot_be_recorded_is_parked_with_the_error_instead_of_re_run_forever,
    the_database_clock_corrects_a_process_whose_own_clock_is_off,
    a_claim_whose_lease_ran_out_is_claimed_again_even_while_more_rows_are_due_than_a_batch,
    a_deadline_in_the_data_fires_its_timers_at_that_time_and_a_missed_one_parks_the_instance,
    the_copy_a_process_keeps_of_a_payment_for_its_pay_is_the_stored_row_and_is_taken_once,
);

/// An engine on `env` that runs no workers: the test drives it, child processes do the work.
async fn engine_of(env: &TestEnv, clock: SharedClock) -> Engine {
    boot(&env.config(), clock).await.expect("boot")
}

async fn start_probes(engine: &Engine, count: usize, url: &str) -> Vec<Uuid> {
    let mut ids = Vec::with_capacity(count);
    for _ in 0..count {
        ids.push(
            engine
                .start("engine_probe", json!({ "url": url }), "test")
                .await
                .unwrap()
                .instance
                .id,
        );
    }
    ids
}

async fn terminal_count(engine: &Engine) -> u64 {
    store::count_instances(&engine.db, "engine_probe")
        .await
        .unwrap()
        .terminal
}

/// (instance, from, event) triples that transitioned more than once.
async fn duplicated_transitions(engine: &Engine) -> Vec<String> {
    let sql = "SELECT instance_id, from_state, event, COUNT(*) AS n FROM workflow_history \
               WHERE outcome = 'TRANSITIONED' GROUP BY instance_id, from_state, event HAVING COUNT(*) > 1";
    let backend = engine.db.get_database_backend();
    let rows = engine
        .db
        .query_all_raw(Statement::from_string(backend, sql))
        .await
        .unwrap();
    rows.iter()
        .map(|row| {
            let event: String = row.try_get("", "event").unwrap();
            let from: Option<String> = row.try_get("", "from_state").unwrap();
            format!("{from:?} on {event}")
        })
        .collect()
}

/// Every instance completed, each through exactly its four transitions.
async fn assert_all_completed(engine: &Engine, ids: &[Uuid]) {
    for id in ids {
        let instance = store::instance(&engine.db, *id).await.unwrap();
        assert_eq!(
            instance.state, "completed",
            "instance {id}: {:?}",
            instance.last_error
        );
        let history = store::history(&engine.db, *id).await.unwrap();
        let path: Vec<_> = history
            .iter()
            .filter(|h| h.outcome == "TRANSITIONED")
            .map(|h| h.to_state.clone().unwrap())
            .collect();
        assert_eq!(
            path,
            ["stepping", "resting", "finishing", "completed"],
            "instance {id}"
        );
    }
    assert_eq!(duplicated_transitions(engine).await, Vec::<String>::new());
}

async fn two_worker_processes_drive_a_thousand_instances_to_completion_without_duplicates(backend: Backend) {
    let Some(env) = TestEnv::new(backend, Options::default()).await else {
        return;
    };
    let target = ProbeTarget::start().await;
    let engine = engine_of(&env, Arc::new(SystemClock)).await;
    let _first = env.spawn("worker");
    let _second = env.spawn("worker");

    let ids = start_probes(&engine, 1_000, &target.url("/flaky/{n}")).await;
    wait_for("1,000 instances to finish", Duration::from_secs(240), || async {
        terminal_count(&engine).await == 1_000
    })
    .await;

    let counts = store::count_instances(&engine.db, "engine_probe").await.unwrap();
    assert_eq!(
        (counts.total, counts.terminal, counts.needs_attention),
        (1_000, 1_000, 0)
    );
    assert_all_completed(&engine, &ids).await;
    let retried = outbox::Entity::find()
        .filter(outbox::Column::Attempts.gt(0))
        .count(&engine.db)
        .await
        .unwrap();
    assert!(
        retried > 0,
        "the flaky endpoint made some effects fail and be retried"
    );
    let workers = engine
        .db
        .query_all_raw(Statement::from_string(
            engine.db.get_database_backend(),
            "SELECT DISTINCT claimed_by FROM outbox WHERE status = 'done'",
        ))
        .await
        .unwrap();
    assert_eq!(workers.len(), 2, "both worker processes did part of the work");
}

async fn instances_finish_after_their_worker_is_killed_mid_effect(backend: Backend) {
    let options = Options {
        redis_db: Some(9),
        ..Options::default()
    };
    let Some(env) = TestEnv::new(backend, options).await else {
        return;
    };
    let target = ProbeTarget::start().await;
    let engine = engine_of(&env, Arc::new(SystemClock)).await;
    let mut worker = env.spawn("worker");

    let ids = start_probes(&engine, 200, &target.url("/gated")).await;
    // Calls go through ten per poll, the rest wait at the gate: in flight when the kill lands.
    let in_flight = || async {
        target.let_through(10);
        let claimed = outbox::Entity::find()
            .filter(outbox::Column::Status.eq(outbox::STATUS_CLAIMED))
            .count(&engine.db)
            .await
            .unwrap();
        claimed > 0 && terminal_count(&engine).await > 0
    };
    wait_for(
        "effects in flight after some instances finished",
        Duration::from_secs(60),
        in_flight,
    )
    .await;
    worker.kill();
    assert!(terminal_count(&engine).await < 200, "the kill happened mid-run");
    target.open();

    if let Some(redis_url) = &env.redis_url {
        // Whatever apalis held in Redis is gone too; only the outbox remembers.
        let client = redis::Client::open(redis_url.as_str()).unwrap();
        let mut connection = client.get_multiplexed_async_connection().await.unwrap();
        let _: () = redis::cmd("FLUSHDB").query_async(&mut connection).await.unwrap();
    }

    let _restarted = env.spawn("worker");
    wait_for(
        "every instance to finish after the restart",
        Duration::from_secs(120),
        || async { terminal_count(&engine).await == 200 },
    )
    .await;
    assert_all_completed(&engine, &ids).await;
}

async fn a_timer_fires_when_the_clock_passes_it_even_across_a_restart(backend: Backend) {
    let options = Options {
        workflows: Path::new("tests/fixtures/workflows/ten_minute_timer"),
        ..Options::default()
    };
    let Some(env) = TestEnv::new(backend, options).await else {
        return;
    };
    let target = ProbeTarget::start().await;
    let config = env.config();
    let clock = ManualClock::starting_at(Utc::now());

    let engine = boot(&config, Arc::new(clock.clone())).await.unwrap();
    let running = start(&config, engine.clone(), Role::Worker).await.unwrap();
    let id = start_probes(&engine, 1, &target.url("/ok")).await[0];
    let resting = || async { store::instance(&engine.db, id).await.unwrap().state == "resting" };
    wait_for(
        "the instance to reach its 10-minute rest",
        Duration::from_secs(30),
        resting,
    )
    .await;
    let timer = outbox::Entity::find()
        .filter(outbox::Column::InstanceId.eq(id))
        .filter(outbox::Column::Kind.eq(outbox::KIND_TIMER))
        .one(&engine.db)
        .await
        .unwrap()
        .expect("the rest timer is a row");
    assert_eq!(timer.status, outbox::STATUS_PENDING);
    assert_eq!(
        timer.due_at_ms - clock_ms(&clock),
        10 * 60 * 1000,
        "due ten minutes from now"
    );
    running.stop().await;
    engine.db.close().await.unwrap();

    // A new process on the same database and clock.
    let engine = boot(&config, Arc::new(clock.clone())).await.unwrap();
    let running = start(&config, engine.clone(), Role::Worker).await.unwrap();
    clock.advance(Duration::from_secs(9 * 60));
    engine.wake_relay();
    assert_eq!(
        store::instance(&engine.db, id).await.unwrap().state,
        "resting",
        "not due yet at 9 minutes"
    );
    clock.advance(Duration::from_secs(60));
    engine.wake_relay();
    let completed = || async { store::instance(&engine.db, id).await.unwrap().state == "completed" };
    wait_for(
        "the timer to fire and the instance to complete",
        Duration::from_secs(30),
        completed,
    )
    .await;
    let history = store::history(&engine.db, id).await.unwrap();
    let fired = history
        .iter()
        .find(|h| h.event == "rested")
        .expect("the timer raised 'rested'");
    assert_eq!(
        (fired.actor.as_str(), fired.outcome.as_str()),
        ("timer", "TRANSITIONED")
    );
    running.stop().await;
}

async fn a_deadline_in_the_data_fires_its_timers_at_that_time_and_a_missed_one_parks_the_instance(
    backend: Backend,
) {
    use plusflow::store::stuck::{WorkflowFilter, stuck_workflows};
    let options = Options {
        workflows: Path::new("tests/fixtures/workflows/deadline"),
        ..Options::default()
    };
    let Some(env) = TestEnv::new(backend, options).await else {
        return;
    };
    let config = env.config();
    let clock = ManualClock::starting_at(Utc::now());
    let engine = boot(&config, Arc::new(clock.clone())).await.unwrap();
    let running = start(&config, engine.clone(), Role::Worker).await.unwrap();
    let now = clock.now();
    let remind_at = now + chrono::Duration::days(16);
    let respond_by = now + chrono::Duration::days(20);
    let data = json!({ "remindAt": remind_at.to_rfc3339(), "respondBy": respond_by.to_rfc3339() });
    let id = engine
        .start("deadline_probe", data, "test")
        .await
        .unwrap()
        .instance
        .id;
    let timer_due = || async {
        outbox::Entity::find()
            .filter(outbox::Column::InstanceId.eq(id))
            .filter(outbox::Column::Kind.eq(outbox::KIND_TIMER))
            .filter(outbox::Column::Status.eq(outbox::STATUS_PENDING))
            .one(&engine.db)
            .await
            .unwrap()
            .map(|row| row.due_at_ms)
    };
    assert_eq!(
        timer_due().await,
        Some(remind_at.timestamp_millis()),
        "due at remindAt"
    );
    let state = || async { store::instance(&engine.db, id).await.unwrap() };

    clock.advance(Duration::from_secs(16 * 86_400 - 60));
    engine.wake_relay();
    assert_eq!(state().await.state, "waiting", "a minute before the reminder");
    clock.advance(Duration::from_secs(60));
    engine.wake_relay();
    wait_for("the reminder", Duration::from_secs(30), || async {
        state().await.state == "reminded"
    })
    .await;
    assert_eq!(
        timer_due().await,
        Some(respond_by.timestamp_millis()),
        "then due at respondBy"
    );
    assert!(!state().await.needs_attention);

    clock.advance(Duration::from_secs(4 * 86_400));
    engine.wake_relay();
    wait_for("the deadline", Duration::from_secs(30), || async {
        state().await.state == "missed"
    })
    .await;
    let missed = state().await;
    assert!(missed.terminal && missed.needs_attention, "{missed:?}");
    assert_eq!(missed.last_error.as_deref(), Some("no answer by the deadline"));
    let filter = WorkflowFilter {
        needs_attention: Some(true),
        ..WorkflowFilter::default()
    };
    let parked = stuck_workflows(&engine.db, &filter, clock.now(), 10, None)
        .await
        .unwrap();
    assert_eq!(
        parked.iter().map(|i| i.id).collect::<Vec<_>>(),
        [id],
        "operators see it"
    );

    // A deadline that cannot be read is treated as reached: the timer is due at once.
    let unreadable = engine
        .start("deadline_probe", json!({ "remindAt": "next tuesday" }), "test")
        .await
        .unwrap()
        .instance
        .id;
    let due = outbox::Entity::find()
        .filter(outbox::Column::InstanceId.eq(unreadable))
        .filter(outbox::Column::Kind.eq(outbox::KIND_TIMER))
        .one(&engine.db)
        .await
        .unwrap()
        .unwrap()
        .due_at_ms;
    assert!(due <= clock.now().timestamp_millis(), "due now, not never");
    running.stop().await;
}

fn clock_ms(clock: &ManualClock) -> i64 {
    use plusflow::clock::Clock;
    clock.now_ms()
}

async fn an_effect_that_keeps_failing_parks_its_instance_for_an_operator(backend: Backend) {
    let Some(env) = TestEnv::new(backend, Options::default()).await else {
        return;
    };
    let target = ProbeTarget::start().await;
    let config = env.config();
    let engine = boot(&config, Arc::new(SystemClock)).await.unwrap();
    let running = start(&config, engine.clone(), Role::Worker).await.unwrap();
    let id = start_probes(&engine, 1, &target.url("/missing")).await[0];

    let parked = || async { store::instance(&engine.db, id).await.unwrap().needs_attention };
    wait_for("the instance to be parked", Duration::from_secs(30), parked).await;
    let instance = store::instance(&engine.db, id).await.unwrap();
    assert_eq!(instance.state, "stepping", "parked where it was, not failed");
    let error = instance.last_error.unwrap();
    assert!(
        error.contains("failed 5 times") && error.contains("HTTP 404"),
        "{error}"
    );
    let effect = outbox::Entity::find()
        .filter(outbox::Column::InstanceId.eq(id))
        .one(&engine.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (effect.status.as_str(), effect.attempts),
        (outbox::STATUS_FAILED, 5)
    );
    running.stop().await;
}

async fn every_applied_event_leaves_exactly_one_history_row(backend: Backend) {
    use rand::{Rng, SeedableRng};
    let Some(env) = TestEnv::new(backend, Options::default()).await else {
        return;
    };
    let engine = engine_of(&env, Arc::new(SystemClock)).await;
    let mut random = rand::rngs::StdRng::seed_from_u64(7);
    for _ in 0..20 {
        let id = engine
            .start("engine_probe", json!({}), "test")
            .await
            .unwrap()
            .instance
            .id;
        let mut terminal_state: Option<String> = None;
        let every_event: Vec<EventName> = EventName::all().collect();
        let events = random.random_range(1..25);
        for applied in 1..=events {
            let event = every_event[random.random_range(0..every_event.len())];
            let after = engine
                .apply(id, EventInput::new(event, "test"))
                .await
                .unwrap()
                .instance;
            if let Some(state) = &terminal_state {
                assert_eq!(&after.state, state, "left a terminal state on {event}");
            }
            if after.terminal {
                terminal_state = Some(after.state.clone());
            }
            let rows = store::history(&engine.db, id).await.unwrap().len();
            assert_eq!(rows, 1 + applied, "one row for the creation and one per event");
        }
    }
}

async fn an_event_decided_on_an_outdated_copy_is_decided_again_on_the_current_instance(backend: Backend) {
    use plusflow::store::Outcome;
    let Some(env) = TestEnv::new(backend, Options::default()).await else {
        return;
    };
    let engine = engine_of(&env, Arc::new(SystemClock)).await;
    // Each event carries an inbound call, journaled once with it whichever way it is written.
    let carrying = |event: EventName, reference: &str| {
        let call = InboundCall {
            api: "notifyPayment",
            reference,
            related_reference: None,
            body: json!({ "paymentRequestId": reference }),
            as_received: None,
        };
        EventInput::new(event, "test").with_inbound(call.into_row(&SystemClock))
    };
    let journaled = |reference: &'static str| {
        let db = engine.db.clone();
        async move {
            inbound::Entity::find()
                .filter(inbound::Column::Reference.eq(reference))
                .count(&db)
                .await
                .unwrap()
        }
    };
    let timers = |id: Uuid| {
        let db = engine.db.clone();
        async move {
            outbox::Entity::find()
                .filter(outbox::Column::InstanceId.eq(id))
                .filter(outbox::Column::Kind.eq(outbox::KIND_TIMER))
                .filter(outbox::Column::Status.eq(outbox::STATUS_PENDING))
                .count(&db)
                .await
                .unwrap()
        }
    };

    // A current copy: the transition is written, with the timer of the state it enters.
    let fresh = engine
        .start("engine_probe", json!({}), "test")
        .await
        .unwrap()
        .instance;
    let applied = engine
        .apply_seen(
            &fresh,
            carrying(plusflow::kinds::engine_probe::names::STEP_DONE, "fresh"),
        )
        .await
        .unwrap();
    assert_eq!(
        (applied.instance.state.as_str(), applied.instance.version),
        ("resting", 2)
    );
    assert_eq!(
        store::instance(&engine.db, fresh.id).await.unwrap().state,
        "resting"
    );
    assert_eq!(timers(fresh.id).await, 1);
    assert_eq!(journaled("fresh").await, 1);

    // An outdated copy: cancelled since it was read, so step_done is ignored, not applied.
    let copy = engine
        .start("engine_probe", json!({}), "test")
        .await
        .unwrap()
        .instance;
    engine
        .apply(copy.id, EventInput::new(EventName::CANCEL_REQUESTED, "test"))
        .await
        .unwrap();
    let applied = engine
        .apply_seen(
            &copy,
            carrying(plusflow::kinds::engine_probe::names::STEP_DONE, "outdated"),
        )
        .await
        .unwrap();
    assert!(
        matches!(applied.outcome, Outcome::Ignored { .. }),
        "{:?}",
        applied.outcome
    );
    let stored = store::instance(&engine.db, copy.id).await.unwrap();
    assert_eq!((stored.state.as_str(), stored.version), ("cancelled", 2));
    assert_eq!(timers(copy.id).await, 0, "no timer of the state it never entered");
    assert_eq!(journaled("outdated").await, 1);
    let outcomes: Vec<String> = store::history(&engine.db, copy.id)
        .await
        .unwrap()
        .into_iter()
        .map(|row| format!("{} {}", row.event, row.outcome))
        .collect();
    assert_eq!(
        outcomes,
        [
            "created TRANSITIONED",
            "cancel_requested TRANSITIONED",
            "step_done IGNORED"
        ]
    );
}

/// PostgreSQL and a Redis database of the test's own (`db`, for tests that flush or inspect
/// it), a probe target, the engine, and one `plusflow serve --role worker` process.
async fn one_worker_on_redis_db(db: u8) -> Option<(TestEnv, ProbeTarget, Engine, ChildProcess)> {
    let options = Options {
        redis_db: Some(db),
        ..Options::default()
    };
    let env = TestEnv::new(Backend::PostgresRedis, options).await?;
    let target = ProbeTarget::start().await;
    let engine = engine_of(&env, Arc::new(SystemClock)).await;
    let worker = env.spawn("worker");
    Some((env, target, engine, worker))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deliveries_flushed_from_redis_mid_run_are_redelivered_from_the_outbox() {
    let Some((env, target, engine, worker)) = one_worker_on_redis_db(10).await else {
        return;
    };

    let ids = start_probes(&engine, 200, &target.url("/gated")).await;
    wait_for("some instances to finish", Duration::from_secs(60), || async {
        target.let_through(10);
        terminal_count(&engine).await > 0
    })
    .await;
    let client = redis::Client::open(env.redis_url.clone().unwrap()).unwrap();
    let mut connection = client.get_multiplexed_async_connection().await.unwrap();
    let _: () = redis::cmd("FLUSHDB").query_async(&mut connection).await.unwrap();
    assert!(terminal_count(&engine).await < 200, "the flush happened mid-run");
    target.open();

    wait_for(
        "every instance to finish after the flush",
        Duration::from_secs(120),
        || async { terminal_count(&engine).await == 200 },
    )
    .await;
    assert_all_completed(&engine, &ids).await;
    drop(worker);
}

/// apalis-redis keeps every finished delivery (its data, its metadata, its id in the queue's
/// done set) until it is vacuumed: the worker process sweeps them (every second here), so Redis
/// holds what is still to do, not every payment ever made.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finished_deliveries_are_swept_out_of_redis() {
    let Some((env, target, engine, worker)) = one_worker_on_redis_db(11).await else {
        return;
    };
    let ids = start_probes(&engine, 100, &target.url("/ok")).await;
    wait_for("100 instances to finish", Duration::from_secs(60), || async {
        terminal_count(&engine).await == 100
    })
    .await;
    assert_all_completed(&engine, &ids).await;

    let client = redis::Client::open(env.redis_url.clone().unwrap()).unwrap();
    let mut redis = client.get_multiplexed_async_connection().await.unwrap();
    let queue = &env.redis_queue;
    let workers: i64 = redis::cmd("ZCARD")
        .arg(format!("{queue}:workers"))
        .query_async(&mut redis)
        .await
        .unwrap();
    assert!(workers > 0, "the worker registered on queue {queue}");
    wait_for(
        "the finished deliveries to be swept out of Redis",
        Duration::from_secs(30),
        || {
            let mut redis = redis.clone();
            async move {
                let data: i64 = redis::cmd("HLEN")
                    .arg(format!("{queue}:data"))
                    .query_async(&mut redis)
                    .await
                    .unwrap();
                let done: i64 = redis::cmd("EXISTS")
                    .arg(format!("{queue}:done"))
                    .query_async(&mut redis)
                    .await
                    .unwrap();
                let metadata: Vec<String> = redis::cmd("KEYS")
                    .arg(format!("{queue}:meta:*"))
                    .query_async(&mut redis)
                    .await
                    .unwrap();
                data == 0 && done == 0 && metadata.is_empty()
            }
        },
    )
    .await;
    drop(worker);
}

/// Disarming a left state's rows (every transition does it) must read that instance's rows
/// only. PostgreSQL once chose the claim's due-time index for it after statistics were taken on
/// a drained outbox, reading every pending row on each transition.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_instance_outbox_updates_use_the_instance_index_even_after_analyzing_an_empty_outbox() {
    let Some(env) = TestEnv::new(Backend::PostgresRedis, Options::default()).await else {
        return;
    };
    let engine = engine_of(&env, Arc::new(SystemClock)).await;
    // A long-running outbox: many finished rows, none pending when the statistics are taken.
    engine
        .db
        .execute_unprepared(
            "INSERT INTO outbox (id, instance_id, kind, name, scheduled_in_state, payload, due_at_ms, attempts, \
             max_attempts, status, created_at, updated_at) \
             SELECT gen_random_uuid(), gen_random_uuid(), 'effect', 'probe_step', 'stepping', '{}', n, 1, 5, 'done', now(), now() \
             FROM generate_series(1, 50000) AS n; ANALYZE outbox",
        )
        .await
        .unwrap();
    // Then rows pile up (no worker runs them).
    let ids = start_probes(&engine, 300, "http://127.0.0.1:9/unused").await;
    let explain = format!(
        "EXPLAIN UPDATE outbox SET status = 'stale' WHERE instance_id = '{}' \
         AND scheduled_in_state = 'stepping' AND status = 'pending'",
        ids[0]
    );
    let plan: Vec<String> = engine
        .db
        .query_all_raw(Statement::from_string(engine.db.get_database_backend(), explain))
        .await
        .unwrap()
        .iter()
        .map(|row| row.try_get_by_index::<String>(0).unwrap())
        .collect();
    let plan = plan.join("\n");
    assert!(plan.contains("ix_outbox_instance_status"), "{plan}");
}

/// On PostgreSQL a statement outside a transaction runs on a connection `store::Db` keeps
/// itself and takes back without a round trip. One whose statement was cancelled half-way (its
/// answer still to come) must be closed, never lent to the next statement; one whose statement
/// PostgreSQL refused is still in step and is lent again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_whose_statement_was_cancelled_is_closed_and_one_refused_is_lent_again() {
    let Some(env) = TestEnv::new(Backend::PostgresRedis, Options::default()).await else {
        return;
    };
    let db = store::connect(&env.config()).await.unwrap();
    let statement = |sql: &str| Statement::from_string(sea_orm::DbBackend::Postgres, sql);
    let backend_pid = || async {
        let row = db
            .query_one_raw(statement("SELECT pg_backend_pid() AS pid"))
            .await
            .unwrap();
        row.expect("one row").try_get::<i32>("", "pid").unwrap()
    };
    let first = backend_pid().await;
    assert_eq!(backend_pid().await, first, "an idle connection is lent again");

    let refused = db.query_one_raw(statement("SELECT 1 / 0 AS never")).await;
    assert!(refused.is_err(), "division by zero is refused");
    assert_eq!(
        backend_pid().await,
        first,
        "a refused statement leaves its connection in step"
    );

    let sleeper = db.clone();
    let sleeping =
        tokio::spawn(async move { sleeper.query_one_raw(statement("SELECT pg_sleep(600)")).await });
    let sleeping_in = |pid: i32| {
        let pool = db.pool().clone();
        async move {
            let sql = format!(
                "SELECT count(*) AS n FROM pg_stat_activity WHERE pid = {pid} AND query LIKE 'SELECT pg_sleep%'"
            );
            let row = pool
                .query_one_raw(statement(&sql))
                .await
                .unwrap()
                .expect("a count");
            row.try_get::<i64>("", "n").unwrap() == 1
        }
    };
    wait_for(
        "the statement to sleep on the first connection",
        Duration::from_secs(10),
        || sleeping_in(first),
    )
    .await;
    sleeping.abort();
    assert!(sleeping.await.unwrap_err().is_cancelled());
    let next = backend_pid().await;
    assert_ne!(next, first, "the cancelled statement's connection was lent again");
    assert_eq!(backend_pid().await, next);
    let stop = format!("SELECT pg_terminate_backend({first})");
    db.pool().execute_unprepared(&stop).await.unwrap();
}

/// The process that created a payment keeps its row for the `pay` effect, which takes it
/// instead of reading it back (`app::new_payments::NewPayments`). What `pay` sends must not depend
/// on where the row came from (a retry reads the database): the copy is the stored row, every
/// optional field set, and it is taken once.
async fn the_copy_a_process_keeps_of_a_payment_for_its_pay_is_the_stored_row_and_is_taken_once(
    backend: Backend,
) {
    use plusflow::app::auth::Principal;
    use plusflow::app::merchants::create_merchant;
    use plusflow::kinds::payment::use_cases::{NewPayment, create_payment};
    let Some(env) = TestEnv::new(backend, Options::default()).await else {
        return;
    };
    let engine = engine_of(&env, Arc::new(SystemClock)).await;
    let merchant = create_merchant(&engine, "Kept Shop", None, Default::default())
        .await
        .unwrap();
    let merchant = plusflow::store::merchants::merchant(&engine.db, merchant.id)
        .await
        .unwrap()
        .unwrap();
    let input = NewPayment {
        merchant_order_id: "order-kept".into(),
        order_description: "Tea, twice".into(),
        currency: "JPY".into(),
        amount: "1234".into(),
        terminal_type: "APP".into(),
        os_type: Some("IOS".into()),
        redirect_url: "https://shop.example/back".into(),
        user_region: Some("JP".into()),
        settlement_currency: Some("USD".into()),
        expires_in_seconds: Some(540),
        buyer_reference: Some("customer-42".into()),
        metadata: vec![],
    };
    let view = create_payment(&engine, &Principal::Merchant(Box::new(merchant)), input, "kept-1")
        .await
        .unwrap();
    let id = view.payment.id;
    let kept = engine
        .fresh_rows
        .take::<plusflow::store::entity::payment::Model>(id)
        .expect("kept by the process that created it");
    let stored = plusflow::kinds::payment::rows::payment(&engine.db, id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(kept, stored);
    assert!(
        engine
            .fresh_rows
            .take::<plusflow::store::entity::payment::Model>(id)
            .is_none(),
        "taken once"
    );
}

/// 200 instances whose effects block at a shut gate for longer than a lease (2 s): the running
/// effects keep their claims by renewing them, deliveries that waited past their lease are
/// dropped instead of started, and the relay claims no more than the workers can start (32 at
/// a time here) plus one round queued. Each probe call is made exactly once.
async fn effects_that_outlast_their_lease_under_a_backlog_run_once_and_claims_wait_for_free_workers(
    backend: Backend,
) {
    let Some(env) = TestEnv::new(backend, Options::default()).await else {
        return;
    };
    let target = ProbeTarget::start().await;
    let engine = engine_of(&env, Arc::new(SystemClock)).await;
    let _worker = env.spawn("worker");
    let ids = start_probes(&engine, 200, &target.url("/gated")).await;
    let claimed = || async {
        outbox::Entity::find()
            .filter(outbox::Column::Status.eq(outbox::STATUS_CLAIMED))
            .all(&engine.db)
            .await
            .unwrap()
    };
    wait_for(
        "the workers to be busy at the gate",
        Duration::from_secs(30),
        || async { target.gated_calls() >= 32 },
    )
    .await;
    let first_leases_end = claimed()
        .await
        .iter()
        .filter_map(|row| row.lease_until_ms)
        .max()
        .expect("claims are held");
    let most_claimed = std::sync::atomic::AtomicUsize::new(0);
    wait_for(
        "the first claims' leases to have run out with the gate shut",
        Duration::from_secs(30),
        || async {
            // What the relay bounds: claims whose lease still holds (a claim whose lease ran out
            // is not the relay's any more; it is claimed again or dropped).
            let now = Utc::now().timestamp_millis();
            let live = claimed()
                .await
                .iter()
                .filter(|row| row.lease_until_ms.is_some_and(|until| until >= now))
                .count();
            most_claimed.fetch_max(live, std::sync::atomic::Ordering::SeqCst);
            now > first_leases_end + 1_000
        },
    )
    .await;
    let most_claimed = most_claimed.into_inner();
    assert!(
        most_claimed <= 64,
        "{most_claimed} rows claimed at once: more than 32 workers can start, plus one round"
    );
    target.open();
    wait_for("every instance to finish", Duration::from_secs(120), || async {
        terminal_count(&engine).await == 200
    })
    .await;
    assert_all_completed(&engine, &ids).await;
    assert_eq!(
        target.gated_calls(),
        400,
        "two probe calls per instance, none made twice"
    );
}

/// An instance whose definition version this binary does not have: its effect can be neither
/// run nor recorded. It is parked with the error after a few tries, not re-claimed forever.
async fn a_row_that_cannot_be_recorded_is_parked_with_the_error_instead_of_re_run_forever(backend: Backend) {
    let Some(env) = TestEnv::new(backend, Options::default()).await else {
        return;
    };
    let target = ProbeTarget::start().await;
    let engine = engine_of(&env, Arc::new(SystemClock)).await;
    let id = start_probes(&engine, 1, &target.url("/ok")).await[0];
    plusflow::store::entity::instance::Entity::update_many()
        .col_expr(
            plusflow::store::entity::instance::Column::DefinitionVersion,
            sea_orm::sea_query::Expr::value(99),
        )
        .filter(plusflow::store::entity::instance::Column::Id.eq(id))
        .exec(&engine.db)
        .await
        .unwrap();
    let _worker = env.spawn("worker");
    let parked = || async { store::instance(&engine.db, id).await.unwrap().needs_attention };
    wait_for("the instance to be parked", Duration::from_secs(60), parked).await;
    let instance = store::instance(&engine.db, id).await.unwrap();
    let error = instance.last_error.unwrap();
    assert!(error.contains("version 99"), "{error}");
    let row = outbox::Entity::find()
        .filter(outbox::Column::InstanceId.eq(id))
        .one(&engine.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((row.status.as_str(), row.attempts), (outbox::STATUS_FAILED, 5));
    let history = store::history(&engine.db, id).await.unwrap();
    assert_eq!(
        history.last().map(|h| (h.event.as_str(), h.outcome.as_str())),
        Some(("parked", "PARKED")),
        "the park goes through the write path"
    );
}

async fn the_database_clock_corrects_a_process_whose_own_clock_is_off(backend: Backend) {
    use plusflow::clock::Clock;
    use plusflow::store::db_clock::DatabaseClock;
    let Some(env) = TestEnv::new(backend, Options::default()).await else {
        return;
    };
    let engine = engine_of(&env, Arc::new(SystemClock)).await;
    let an_hour_fast = ManualClock::starting_at(Utc::now() + chrono::Duration::hours(1));
    let clock = DatabaseClock::synced(&engine.db, Arc::new(an_hour_fast.clone()))
        .await
        .unwrap();
    let off = |clock: &DatabaseClock| (clock.now() - Utc::now()).num_milliseconds().abs();
    assert!(off(&clock) < 2_000, "off by {} ms", off(&clock));
    // Between readings it moves with the process's own clock...
    an_hour_fast.advance(Duration::from_secs(60));
    assert!((off(&clock) - 60_000).abs() < 2_000, "off by {} ms", off(&clock));
    // ...and the next reading brings it back to the database's time.
    clock.sync(&engine.db).await.unwrap();
    assert!(off(&clock) < 2_000, "off by {} ms", off(&clock));
}

/// A relay process died holding a claim. While more rows are due than one batch takes, the
/// expired claim must still be among the next batch, not wait behind the due rows forever.
async fn a_claim_whose_lease_ran_out_is_claimed_again_even_while_more_rows_are_due_than_a_batch(
    backend: Backend,
) {
    use plusflow::store::outbox::claim_due;
    let Some(env) = TestEnv::new(backend, Options::default()).await else {
        return;
    };
    let clock = ManualClock::starting_at(Utc::now());
    let engine = engine_of(&env, Arc::new(clock.clone())).await;
    start_probes(&engine, 1, "http://127.0.0.1:9/").await;
    let lease = Duration::from_secs(30);
    let dead = claim_due(&engine.db, &clock, lease, 1, "dead-relay")
        .await
        .unwrap();
    assert_eq!(dead.len(), 1);
    clock.advance(Duration::from_secs(1));
    start_probes(&engine, 10, "http://127.0.0.1:9/").await;
    clock.advance(Duration::from_secs(60));
    let next = claim_due(&engine.db, &clock, lease, 3, "live-relay")
        .await
        .unwrap();
    assert_eq!(next.len(), 3);
    assert!(
        next.iter().any(|(claim, _)| claim.id == dead[0].0.id),
        "the expired claim waits behind due rows"
    );
}
