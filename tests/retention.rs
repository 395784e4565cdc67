//! Data lifecycle, on SQLite and on PostgreSQL + Redis, with the engine's Clock moved past each
//! horizon: retention removes a paid payment's finished outbox rows after 7 days, its
//! idempotency key, events and webhook deliveries (with their attempts) after 30, Alipay+'s
//! calls after 380, and never a row of a later payment nor the payment itself, its workflow or
//! its history; a dry run counts what the run then removes; the command line prints its table and
//! JSON line. A payment past its refund window and dispute horizon is archived with its refund
//! and removed; one on legal hold and one inside its refund window keep every row; the archive
//! verifies, a changed byte fails verification, and the restored payment reads as it was. A buyer's ID number given for customs is sealed at rest (not in the database file
//! or dump), shown masked, and erased 30 days after customs decided.

mod common;

use std::time::Duration;

use chrono::Utc;
use plusflow::app::retention::{self, Rule};
use plusflow::clock::ManualClock;
use plusflow::store::entity::{feed_event, history, idempotency, instance, outbox, webhook_delivery};
use plusflow::store::retention::Removal;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};

use common::app::*;
use common::webhooks::WebhookReceiver;
use common::{Backend, poll_until};

on_each_backend!(
    each_rule_removes_what_outlived_its_horizon_and_nothing_else,
    a_buyers_id_number_is_sealed_masked_and_erased_after_customs_decided,
    a_payment_past_every_deadline_is_archived_verified_and_restored_and_a_held_one_kept,
);

const DAY: Duration = Duration::from_secs(86_400);

/// What the database holds of one payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Held {
    outbox: u64,
    idempotency_keys: u64,
    events: u64,
    deliveries: u64,
    history: u64,
    instance: u64,
}

async fn held(app: &App, payment: &str) -> Held {
    let id: uuid::Uuid = payment.parse().unwrap();
    let db = &app.engine.db;
    Held {
        outbox: outbox::Entity::find()
            .filter(outbox::Column::InstanceId.eq(id))
            .count(db)
            .await
            .unwrap(),
        idempotency_keys: idempotency::Entity::find()
            .filter(idempotency::Column::ResourceId.eq(id))
            .count(db)
            .await
            .unwrap(),
        events: feed_event::Entity::find()
            .filter(feed_event::Column::ObjectId.eq(id))
            .count(db)
            .await
            .unwrap(),
        deliveries: webhook_delivery::Entity::find()
            .filter(webhook_delivery::Column::ObjectId.eq(id))
            .count(db)
            .await
            .unwrap(),
        history: history::Entity::find()
            .filter(history::Column::InstanceId.eq(id))
            .count(db)
            .await
            .unwrap(),
        instance: instance::Entity::find_by_id(id).count(db).await.unwrap(),
    }
}

async fn inbound_rows(app: &App) -> u64 {
    plusflow::store::inbound::count(&app.engine.db).await.unwrap()
}

/// A paid payment whose every webhook delivery went out and whose effects are all done.
async fn settled_payment(app: &App, key: &str, order: &str, receiver: &WebhookReceiver) -> (String, Held) {
    let (payment, _) = app.paid_payment(key, order, "1000").await;
    let settled = poll_until(
        "the payment's deliveries and effects done",
        Duration::from_secs(30),
        || async {
            app.engine.wake_relay();
            let held = held(app, &payment).await;
            let id: uuid::Uuid = payment.parse().unwrap();
            let pending = outbox::Entity::find()
                .filter(outbox::Column::InstanceId.eq(id))
                .filter(outbox::Column::Status.is_in([outbox::STATUS_PENDING, outbox::STATUS_CLAIMED]))
                .count(&app.engine.db)
                .await
                .unwrap();
            let undelivered = webhook_delivery::Entity::find()
                .filter(webhook_delivery::Column::ObjectId.eq(id))
                .filter(webhook_delivery::Column::Status.ne(webhook_delivery::STATUS_SUCCEEDED))
                .count(&app.engine.db)
                .await
                .unwrap();
            (held.deliveries > 0
                && held.events > 0
                && pending == 0
                && undelivered == 0
                && receiver.hits() > 0)
                .then_some(held)
        },
    )
    .await;
    (payment, settled)
}

async fn each_rule_removes_what_outlived_its_horizon_and_nothing_else(backend: Backend) {
    let clock = ManualClock::starting_at(Utc::now());
    // Alipay+'s clock moves with ours: each refuses calls dated far from its own time.
    let setup = Setup {
        engine_clock: Some(clock.clone()),
        simulator_clock: Some(clock.clone()),
        ..Setup::default()
    };
    let Some(app) = spawn_app_with(backend, setup).await else {
        return;
    };
    let config = app.env.config().retention;
    let receiver = WebhookReceiver::accepting().await;
    let created = app.create_merchant(&["--name", "Kept", "--webhook-url", &receiver.url]);
    let key = created["apiKey"].as_str().unwrap().to_string();

    let (first, first_held) = settled_payment(&app, &key, "first", &receiver).await;
    assert!(
        first_held.outbox > 0 && first_held.idempotency_keys == 1,
        "{first_held:?}"
    );
    let inbound_of_first = inbound_rows(&app).await;
    assert!(inbound_of_first > 0, "notifyPayment is journaled");

    // A day in, nothing has outlived its horizon.
    clock.advance(DAY);
    let report = retention::run(&app.engine, &config, false).await.unwrap();
    assert!(
        report.removed.iter().all(|removed| removed.rows == 0),
        "{report:?}"
    );
    assert_eq!(held(&app, &first).await, first_held);

    // Eight days in: the first payment's finished outbox rows go, nothing else of it.
    clock.advance(7 * DAY);
    let (second, second_held) = settled_payment(&app, &key, "second", &receiver).await;
    let dry = retention::run(&app.engine, &config, true).await.unwrap();
    assert_eq!(
        dry.rows(Rule::Rows(Removal::Outbox)),
        first_held.outbox,
        "{dry:?}"
    );
    assert_eq!(held(&app, &first).await, first_held, "a dry run removes nothing");
    let report = retention::run(&app.engine, &config, false).await.unwrap();
    assert_eq!(report.to_json()["removed"], dry.to_json()["removed"]);
    for rule in Rule::all() {
        let expected = if rule == Rule::Rows(Removal::Outbox) {
            first_held.outbox
        } else {
            0
        };
        assert_eq!(report.rows(rule), expected, "{}: {report:?}", rule.name());
    }
    assert_eq!(
        held(&app, &first).await,
        Held {
            outbox: 0,
            ..first_held
        }
    );
    assert_eq!(held(&app, &second).await, second_held);

    // Thirty-one days in: the first payment's key, events and deliveries go; the second keeps
    // everything but its outbox rows (23 days old).
    clock.advance(23 * DAY);
    let report = retention::run(&app.engine, &config, false).await.unwrap();
    assert_eq!(report.rows(Rule::Rows(Removal::IdempotencyKeys)), 1, "{report:?}");
    assert_eq!(report.rows(Rule::Rows(Removal::Events)), first_held.events);
    assert_eq!(
        report.rows(Rule::Rows(Removal::WebhookDeliveries)),
        first_held.deliveries
    );
    assert_eq!(report.rows(Rule::Rows(Removal::Outbox)), second_held.outbox);
    assert_eq!(report.rows(Rule::Rows(Removal::InboundJournal)), 0);
    assert_eq!(
        held(&app, &first).await,
        Held {
            history: first_held.history,
            instance: 1,
            outbox: 0,
            idempotency_keys: 0,
            events: 0,
            deliveries: 0,
        }
    );
    assert_eq!(
        held(&app, &second).await,
        Held {
            outbox: 0,
            ..second_held
        }
    );
    // The payment still reads as it was, to its merchant.
    let read = app.payment(&key, &first).await;
    assert_eq!(read["status"], "SUCCEEDED", "{read}");

    // 381 days in: Alipay+'s calls about the first payment go; the second's stay (373 days).
    clock.advance(350 * DAY);
    let before = inbound_rows(&app).await;
    let report = retention::run(&app.engine, &config, false).await.unwrap();
    assert_eq!(
        report.rows(Rule::Rows(Removal::InboundJournal)),
        inbound_of_first,
        "{report:?}"
    );
    assert_eq!(inbound_rows(&app).await, before - inbound_of_first);
    assert_eq!(held(&app, &second).await.instance, 1);
    assert_eq!(held(&app, &first).await.history, first_held.history);

    // The command line (the wall clock, a year behind the engine's: nothing is due) prints a
    // row per rule, then the JSON line.
    let (code, out, err) = app.plusflow_exit(&["retention", "run", "--dry-run"]);
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[0].starts_with("rule"), "{out}");
    for rule in Rule::all() {
        assert!(
            lines.iter().any(|line| line.starts_with(&rule.name())),
            "{}: {out}",
            rule.name()
        );
    }
    let last: Value = serde_json::from_str(lines.last().unwrap()).unwrap();
    assert_eq!(last["dryRun"], true);
    assert_eq!(last["removed"]["idempotency_keys"], 0, "{last}");
}

const DECLARATION: &str = "id status maskedBuyerName maskedBuyerIdNumber";
const ID_NUMBER: &str = "110101199003071233";

/// Every byte the database keeps: the SQLite files, or a dump of the PostgreSQL database.
fn database_bytes(app: &App) -> Vec<u8> {
    match app.env.backend {
        Backend::Sqlite => {
            let mut bytes = Vec::new();
            for entry in std::fs::read_dir(app.env.dir.path()).unwrap().flatten() {
                if entry.file_name().to_string_lossy().starts_with("plusflow.db") {
                    bytes.extend(std::fs::read(entry.path()).unwrap());
                }
            }
            assert!(!bytes.is_empty(), "the SQLite files");
            bytes
        }
        Backend::PostgresRedis => {
            let dump = std::process::Command::new("pg_dump")
                .arg(&app.env.database_url)
                .output()
                .expect("pg_dump runs");
            assert!(dump.status.success(), "{}", String::from_utf8_lossy(&dump.stderr));
            dump.stdout
        }
    }
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle.as_bytes())
}

async fn a_buyers_id_number_is_sealed_masked_and_erased_after_customs_decided(backend: Backend) {
    let clock = ManualClock::starting_at(Utc::now());
    // Alipay+'s clock moves with ours: each refuses calls dated far from its own time.
    let setup = Setup {
        engine_clock: Some(clock.clone()),
        simulator_clock: Some(clock.clone()),
        ..Setup::default()
    };
    let Some(app) = spawn_app_with(backend, setup).await else {
        return;
    };
    let config = app.env.config().retention;
    let (_, key) = app.merchant("Declaring");
    let (payment, _) = app.paid_with_alipay_cn(&key, "cn-sealed", "3000").await;
    let input = json!({
        "paymentId": payment, "customsCode": "HANGZHOU", "merchantCustomsCode": "MC-0042",
        "merchantCustomsName": "Demo Coffee Trading", "amount": { "currency": "CNY", "value": "3000" },
        "split": false, "buyerName": "Li Lei", "buyerIdNumber": ID_NUMBER,
    });
    let declared = app
        .gql(
            Some(&key),
            &format!("mutation($input: DeclareCustomsInput!) {{ declareCustoms(input: $input, idempotencyKey: \"d-1\") {{ {DECLARATION} }} }}"),
            json!({ "input": input }),
        )
        .await;
    let declaration = &declared["data"]["declareCustoms"];
    assert_eq!(
        declaration["maskedBuyerIdNumber"], "**************1233",
        "{declared}"
    );
    assert_eq!(declaration["maskedBuyerName"], "L*****");
    let id = declaration["id"].as_str().unwrap().to_string();
    let decide = "mutation($id: ID!) { simulateCustomsDecision(declarationId: $id, accept: true) { id } }";
    poll_until("customs has the declaration", Duration::from_secs(30), || async {
        clock.advance(Duration::from_secs(1));
        app.engine.wake_relay();
        let answer = app.gql(Some(&key), decide, json!({ "id": id })).await;
        answer["errors"].is_null().then_some(())
    })
    .await;
    let read = format!("query($id: ID!) {{ customsDeclaration(id: $id) {{ {DECLARATION} }} }}");
    poll_until("customs' acceptance learnt", Duration::from_secs(40), || async {
        // The next inquiry is due a little later.
        clock.advance(Duration::from_secs(5));
        app.engine.wake_relay();
        let answer = app.gql(Some(&key), &read, json!({ "id": id })).await;
        (answer["data"]["customsDeclaration"]["status"] == "ACCEPTED").then_some(())
    })
    .await;
    // Customs got the number (the simulator checked its check digit and accepted it), but the
    // database holds it sealed only.
    let bytes = database_bytes(&app);
    assert!(
        !contains(&bytes, ID_NUMBER),
        "the ID number is in the database in clear"
    );
    assert!(
        !contains(&bytes, "Li Lei"),
        "the buyer's name is in the database in clear"
    );
    assert!(contains(&bytes, "**************1233"), "the masked form is kept");

    // 29 days after the decision it is still there; 31 days after, it is gone.
    clock.advance(29 * DAY);
    let report = retention::run(&app.engine, &config, false).await.unwrap();
    assert_eq!(report.rows(Rule::CustomsIdentity), 0, "{report:?}");
    clock.advance(2 * DAY);
    let report = retention::run(&app.engine, &config, false).await.unwrap();
    assert_eq!(report.rows(Rule::CustomsIdentity), 1, "{report:?}");
    let answer = app.gql(Some(&key), &read, json!({ "id": id })).await;
    let erased = &answer["data"]["customsDeclaration"];
    assert_eq!(erased["status"], "ACCEPTED", "{answer}");
    assert!(
        erased["maskedBuyerIdNumber"].is_null() && erased["maskedBuyerName"].is_null(),
        "{answer}"
    );
    let row = plusflow::kinds::customs_declaration::rows::declaration_with_instance(
        &app.engine.db,
        id.parse().unwrap(),
    )
    .await
    .unwrap()
    .unwrap()
    .0;
    assert_eq!((row.buyer_name, row.buyer_id_number), (None, None));
}

async fn a_payment_past_every_deadline_is_archived_verified_and_restored_and_a_held_one_kept(
    backend: Backend,
) {
    let clock = ManualClock::starting_at(Utc::now());
    let setup = Setup {
        engine_clock: Some(clock.clone()),
        simulator_clock: Some(clock.clone()),
        ..Setup::default()
    };
    let Some(app) = spawn_app_with(backend, setup).await else {
        return;
    };
    let archive_dir = app.env.dir.path().join("archive");
    app.env.append_config(&format!(
        "[archive]\ndir = \"{}\"\nbatch = 2\n",
        archive_dir.display()
    ));
    let config = app.env.config().retention;
    assert!(config.archive.is_some());
    let (_, key) = app.merchant("Archived");
    let (archived, _) = app.paid_payment(&key, "old", "1000").await;
    let refund = app.refund(&key, "r-old", &archived, "USD", "300").await;
    let refund_id = refund["data"]["createRefund"]["id"].as_str().unwrap().to_string();
    app.settled_refunds(&key, &archived).await;
    let (held_payment, _) = app.paid_payment(&key, "held", "2000").await;
    let hold = "mutation($id: ID!, $note: String!) { placeLegalHold(id: $id, note: $note) { id legalHold { note placedBy } } }";
    let placed = app
        .gql(
            Some(ADMIN_KEY),
            hold,
            json!({ "id": held_payment, "note": "case 2027-17: keep" }),
        )
        .await;
    assert_eq!(
        placed["data"]["placeLegalHold"]["legalHold"]["note"], "case 2027-17: keep",
        "{placed}"
    );
    let unnoted = app
        .gql(Some(ADMIN_KEY), hold, json!({ "id": held_payment, "note": " " }))
        .await;
    assert_eq!(
        unnoted["errors"][0]["extensions"]["code"], "VALIDATION",
        "{unnoted}"
    );
    let merchant_tries = app
        .gql(Some(&key), hold, json!({ "id": held_payment, "note": "mine" }))
        .await;
    assert_eq!(
        merchant_tries["errors"][0]["extensions"]["code"], "FORBIDDEN",
        "{merchant_tries}"
    );
    let read_before = app.payment(&key, &archived).await;
    let before = held(&app, &archived).await;

    // 200 days on, a payment well inside its refund window; 401 days on, the first is past
    // every deadline, the held one is kept, the young one keeps every row.
    clock.advance(200 * DAY);
    let (young, _) = app.paid_payment(&key, "young", "3000").await;
    clock.advance(201 * DAY);
    let (held_before, young_before) = (held(&app, &held_payment).await, held(&app, &young).await);
    let dry = retention::run(&app.engine, &config, true).await.unwrap();
    assert_eq!(dry.archived, Some(1), "{dry:?}");
    let report = retention::run(&app.engine, &config, false).await.unwrap();
    assert_eq!(report.archived, Some(1), "{report:?}");
    let gone = held(&app, &archived).await;
    assert_eq!((gone.instance, gone.history, gone.outbox), (0, 0, 0), "{gone:?}");
    assert_eq!(
        held(&app, &refund_id).await.instance,
        0,
        "the refund goes with its payment"
    );
    let read_after = app
        .gql(
            Some(&key),
            "query($id: ID!) { payment(id: $id) { id } }",
            json!({ "id": archived }),
        )
        .await;
    assert!(read_after["data"]["payment"].is_null(), "{read_after}");
    let held_after = held(&app, &held_payment).await;
    assert_eq!(
        (held_after.instance, held_after.history),
        (held_before.instance, held_before.history)
    );
    let young_after = held(&app, &young).await;
    assert_eq!(
        (young_after.instance, young_after.history),
        (young_before.instance, young_before.history)
    );

    // The archive verifies; the restored payment reads as it was.
    let (code, out, err) = app.plusflow_exit(&["archive", "verify", archive_dir.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}{err}");
    let verified: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(
        (verified["days"].clone(), verified["objects"].clone()),
        (json!(1), json!(1)),
        "{verified}"
    );
    let restored = app.plusflow(&["archive", "restore", &archived]);
    let tables = &restored["tables"];
    assert_eq!(restored["kind"], "payment", "{restored}");
    assert_eq!(tables["payments"][0]["merchant_order_id"], "old");
    assert_eq!(tables["payments"][0]["amount"], 1000);
    assert_eq!(tables["refunds"][0]["id"], json!(refund_id));
    assert_eq!(tables["refunds"][0]["amount"], 300);
    let states: Vec<&Value> = tables["workflow_instances"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| &row["state"])
        .collect();
    assert!(states.contains(&&read_before["workflow"]["state"]), "{states:?}");
    let events: Vec<&Value> = tables["workflow_history"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|row| row["instance_id"] == json!(archived))
        .map(|row| &row["event"])
        .collect();
    let events_before: Vec<&Value> = read_before["workflow"]["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| &h["event"])
        .collect();
    assert_eq!(events, events_before);
    assert_eq!(events.len() as u64, before.history);
    let query = "query($id: ID!) { archivedObject(id: $id) { kind content } }";
    let answer = app.gql(Some(ADMIN_KEY), query, json!({ "id": archived })).await;
    assert_eq!(answer["data"]["archivedObject"]["content"], restored, "{answer}");
    let refused = app.gql(Some(&key), query, json!({ "id": archived })).await;
    assert_eq!(
        refused["errors"][0]["extensions"]["code"], "FORBIDDEN",
        "{refused}"
    );

    // Released, the held payment is archived on the next run, chained in the same day.
    let release =
        "mutation($id: ID!) { releaseLegalHold(id: $id, note: \"case closed\") { legalHold { note } } }";
    let released = app
        .gql(Some(ADMIN_KEY), release, json!({ "id": held_payment }))
        .await;
    assert!(
        released["data"]["releaseLegalHold"]["legalHold"].is_null(),
        "{released}"
    );
    let report = retention::run(&app.engine, &config, false).await.unwrap();
    assert_eq!(report.archived, Some(1), "{report:?}");
    let (code, out, _) = app.plusflow_exit(&["archive", "verify", archive_dir.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("\"objects\":2"), "{out}");

    // A changed byte in a part fails verification, naming the part.
    let day = std::fs::read_dir(&archive_dir)
        .unwrap()
        .flatten()
        .next()
        .unwrap()
        .path();
    let part = day.join("part-00000001.jsonl.gz");
    let mut bytes = std::fs::read(&part).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x20;
    std::fs::write(&part, bytes).unwrap();
    let (code, out, _) = app.plusflow_exit(&["archive", "verify", archive_dir.to_str().unwrap()]);
    assert_ne!(code, 0, "{out}");
    assert!(
        out.contains("part-00000001.jsonl.gz") && out.contains("SHA-256"),
        "{out}"
    );
    // The activity log has both hold actions with their notes.
    let activity = app.plusflow_lines(&["admin", "activity", "--json"]);
    for (action, note) in [
        ("placeLegalHold", "case 2027-17: keep"),
        ("releaseLegalHold", "case closed"),
    ] {
        assert!(
            activity
                .iter()
                .any(|row| row["action"] == action && row["note"] == note),
            "{action}: {activity:?}"
        );
    }
}
