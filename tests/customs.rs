//! Customs declarations over real HTTP, on SQLite and on PostgreSQL + Redis: an AlipayCN payment
//! declared in split parts within its declarable amount, accepted by the simulator's customs
//! authority, and a part over it refused with nothing sent; many pending declarations settled
//! with batched inquiries (at most 10 ids a call, ceil(N/10) calls a round); a payment that is
//! not AlipayCN or not paid refused; U answers and timeouts on declare still leave one
//! declaration per request id at Alipay+; concurrent declarations never exceed the amount; a
//! declaration is declared again (same request id) only 5 minutes on, before customs decides,
//! never for more.

mod common;

use std::collections::HashMap;
use std::time::Duration;

use plusflow::simulator::Chaos;
use serde_json::{Value, json};

use common::app::*;
use common::subscriptions::Subscription;
use common::{Backend, poll_until};

on_each_backend!(
    split_declarations_within_the_amount_are_accepted_and_one_over_it_is_refused_unsent,
    many_pending_declarations_are_inquired_ten_at_a_time,
    a_payment_not_paid_with_alipay_cn_or_not_paid_is_not_declarable,
    unknown_answers_and_timeouts_on_declare_leave_one_declaration_per_request_id,
    concurrent_declarations_never_exceed_the_declarable_amount,
    a_rejected_declaration_frees_its_amount,
    a_declaration_is_declared_again_only_later_before_customs_decides_and_never_for_more,
    a_status_plusflow_does_not_know_keeps_the_amount_held_and_parks_after_the_configured_rounds,
    a_buyer_may_be_identified_by_passport,
    a_test_suite_has_customs_decide_a_declaration_at_once,
);

const DECLARATION: &str = "id customsDeclarationRequestId status amount { currency value } split \
    customsResultCode payment { id } workflow { state needsAttention lastError }";

/// Customs' delays (20 s to start, 60 s to decide) at 1/20: 1 s and 3 s.
fn customs_setup(chaos: Chaos, reject_rate: f64) -> Setup {
    Setup {
        chaos,
        simulator_time_scale: Some(0.05),
        customs_reject_rate: reject_rate,
        ..Setup::default()
    }
}

async fn declare(
    app: &App,
    key: &str,
    payment: &str,
    value: &str,
    sub_order: Option<&str>,
    idempotency_key: &str,
) -> Value {
    let input = json!({
        "paymentId": payment, "customsCode": "HANGZHOU", "merchantCustomsCode": "MC-0042",
        "merchantCustomsName": "Demo Coffee Trading", "amount": { "currency": "CNY", "value": value },
        "split": sub_order.is_some(), "subOrderId": sub_order,
        "buyerName": "Li Lei", "buyerIdNumber": "110101199003071233",
    });
    app.gql(
        Some(key),
        &format!("mutation($input: DeclareCustomsInput!, $key: String!) {{ declareCustoms(input: $input, idempotencyKey: $key) {{ {DECLARATION} }} }}"),
        json!({ "input": input, "key": idempotency_key }),
    )
    .await
}

async fn declarations_of(app: &App, key: &str, payment: &str) -> Value {
    let query = format!(
        "query($id: ID!) {{ payment(id: $id) {{ declarableAmount {{ currency value }} customsDeclarations {{ {DECLARATION} }} }} }}"
    );
    app.gql(Some(key), &query, json!({ "id": payment })).await["data"]["payment"].clone()
}

/// The payment's declarations once none is on its way any more.
async fn settled_declarations(app: &App, key: &str, payment: &str) -> Value {
    poll_until("every declaration decided", Duration::from_secs(90), || async {
        let payment = declarations_of(app, key, payment).await;
        payment["customsDeclarations"]
            .as_array()
            .unwrap()
            .iter()
            .all(|d| {
                d["status"] == "ACCEPTED"
                    || d["status"] == "REJECTED"
                    || d["workflow"]["needsAttention"] == true
            })
            .then_some(payment)
    })
    .await
}

async fn split_declarations_within_the_amount_are_accepted_and_one_over_it_is_refused_unsent(
    backend: Backend,
) {
    let Some(app) = spawn_app_with(backend, customs_setup(Chaos::default(), 0.0)).await else {
        return;
    };
    let (_, key) = app.merchant("Cross-border");
    let (payment, _) = app.paid_with_alipay_cn(&key, "cn-1", "10000").await;
    assert_eq!(
        declarations_of(&app, &key, &payment).await["declarableAmount"],
        json!({ "currency": "CNY", "value": "10000" })
    );
    let first = declare(&app, &key, &payment, "6000", Some("order-1"), "d-1").await;
    assert!(first["errors"].is_null(), "{first}");
    let mut updates = Subscription::open(
        &(app.base.replace("http://", "ws://") + "/graphql/ws"),
        &key,
        "subscription($id: ID!) { customsDeclarationUpdated(id: $id) { status } }",
        json!({ "id": first["data"]["declareCustoms"]["id"] }),
    )
    .await;
    let second = declare(&app, &key, &payment, "4000", Some("order-2"), "d-2").await;
    assert!(second["errors"].is_null(), "{second}");
    // The same request again is the same declaration.
    let again = declare(&app, &key, &payment, "6000", Some("order-1"), "d-1").await;
    assert_eq!(
        again["data"]["declareCustoms"]["id"],
        first["data"]["declareCustoms"]["id"]
    );
    let over = declare(&app, &key, &payment, "1", Some("order-3"), "d-3").await;
    assert_eq!(
        over["errors"][0]["extensions"]["code"], "DECLARATION_EXCEEDS_DECLARABLE",
        "{over}"
    );
    let mut seen = vec![];
    while seen.last().map(String::as_str) != Some("ACCEPTED") {
        let update = updates.next().await;
        let status = update["customsDeclarationUpdated"]["status"].as_str();
        seen.push(
            status
                .unwrap_or_else(|| panic!("an update: {update}"))
                .to_string(),
        );
    }
    // Each change is seen in order (one may be passed before the subscriber reads it).
    let order = ["PENDING", "SUBMITTED", "PROCESSING", "ACCEPTED"];
    let positions: Vec<usize> = seen
        .iter()
        .map(|status| order.iter().position(|o| o == status).unwrap())
        .collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{seen:?}");
    let settled = settled_declarations(&app, &key, &payment).await;
    let declarations = settled["customsDeclarations"].as_array().unwrap();
    assert_eq!(declarations.len(), 2, "{settled:#}");
    assert!(
        declarations.iter().all(|d| d["status"] == "ACCEPTED"),
        "{settled:#}"
    );
    assert_eq!(settled["declarableAmount"]["value"], "0");
    // A refund after the goods were declared leaves nothing more to declare, never less.
    let refunded = app.refund(&key, "refund-1", &payment, "CNY", "5000").await;
    assert!(refunded["errors"].is_null(), "{refunded}");
    assert_eq!(
        declarations_of(&app, &key, &payment).await["declarableAmount"]["value"],
        "0"
    );
    let ledger = app.ledger().await;
    let theirs = ledger["declarations"].as_object().unwrap();
    assert_eq!(theirs.len(), 2, "the refused one was never sent: {ledger:#}");
    for declaration in declarations {
        let entry = &theirs[declaration["customsDeclarationRequestId"].as_str().unwrap()];
        assert_eq!(entry["amount"], declaration["amount"], "{entry}");
        assert_eq!(entry["isSplit"], true);
    }
}

async fn many_pending_declarations_are_inquired_ten_at_a_time(backend: Backend) {
    let setup = Setup {
        // Alipay+ answers no inquiry until all 25 are pending.
        refused: vec!["inquireDeclarationRequests"],
        ..customs_setup(Chaos::default(), 0.0)
    };
    let Some(app) = spawn_app_with(backend, setup).await else {
        return;
    };
    let (_, key) = app.merchant("Many parts");
    let (payment, _) = app.paid_with_alipay_cn(&key, "cn-many", "25000").await;
    for n in 0..25 {
        let part = format!("part-{n}");
        let declared = declare(&app, &key, &payment, "1000", Some(&part), &part).await;
        assert!(declared["errors"].is_null(), "{declared}");
    }
    poll_until("25 declarations submitted", Duration::from_secs(60), || async {
        let payment = declarations_of(&app, &key, &payment).await;
        let declarations = payment["customsDeclarations"].as_array().unwrap().clone();
        declarations
            .iter()
            .all(|d| d["status"] == "SUBMITTED")
            .then_some(())
    })
    .await;
    app.let_through("inquireDeclarationRequests");
    let settled = settled_declarations(&app, &key, &payment).await;
    let declarations = settled["customsDeclarations"].as_array().unwrap();
    assert_eq!(declarations.len(), 25);
    assert!(
        declarations.iter().all(|d| d["status"] == "ACCEPTED"),
        "{settled:#}"
    );
    let calls = app.ledger().await["declarationInquiries"]
        .as_array()
        .unwrap()
        .clone();
    let mut asked: HashMap<String, usize> = HashMap::new();
    for call in &calls {
        let ids = call["ids"].as_array().unwrap();
        assert!((1..=10).contains(&ids.len()), "{call}");
        for id in ids {
            *asked.entry(id.as_str().unwrap().to_string()).or_default() += 1;
        }
    }
    // A round asks about each pending declaration once: 25 of them cost 3 calls, not 25.
    let rounds = asked.values().copied().max().unwrap();
    assert!(
        calls.len() <= 3 * rounds,
        "{} calls in {rounds} rounds: {calls:?}",
        calls.len()
    );
}

async fn a_payment_not_paid_with_alipay_cn_or_not_paid_is_not_declarable(backend: Backend) {
    let Some(app) = spawn_app_with(backend, customs_setup(Chaos::default(), 0.0)).await else {
        return;
    };
    let (_, key) = app.merchant("Not declarable");
    let (kakao, _) = app
        .paid_with(
            &key,
            "kakao",
            input("kakao", "1000"),
            json!({ "outcome": "SUCCESS", "wallet": "KAKAOPAY" }),
        )
        .await;
    assert_eq!(
        declarations_of(&app, &key, &kakao).await["declarableAmount"],
        Value::Null
    );
    let refused = declare(&app, &key, &kakao, "100", None, "k-1").await;
    assert_eq!(
        refused["errors"][0]["extensions"]["code"], "PAYMENT_NOT_DECLARABLE",
        "{refused}"
    );
    let mut unpaid = input("unpaid", "1000");
    unpaid["amount"]["currency"] = json!("CNY");
    let created = app.create(&key, "unpaid", unpaid).await;
    let unpaid = created["data"]["createPayment"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let refused = declare(&app, &key, &unpaid, "100", None, "k-2").await;
    assert_eq!(
        refused["errors"][0]["extensions"]["code"], "PAYMENT_NOT_DECLARABLE",
        "{refused}"
    );
    let (alipay_cn, _) = app.paid_with_alipay_cn(&key, "cn", "1000").await;
    let not_split_but_sub_order = app
        .gql(
            Some(&key),
            "mutation($input: DeclareCustomsInput!) { declareCustoms(input: $input, idempotencyKey: \"k-3\") { id } }",
            json!({ "input": { "paymentId": alipay_cn, "customsCode": "HANGZHOU", "merchantCustomsCode": "MC",
                               "merchantCustomsName": "M", "amount": { "currency": "USD", "value": "100" } } }),
        )
        .await;
    assert_eq!(
        not_split_but_sub_order["errors"][0]["extensions"]["code"], "VALIDATION",
        "{not_split_but_sub_order}"
    );
    assert_eq!(
        not_split_but_sub_order["errors"][0]["extensions"]["field"],
        "amount.currency"
    );
    // A whole-payment declaration is the only one.
    let whole = declare(&app, &key, &alipay_cn, "500", None, "k-4").await;
    assert!(whole["errors"].is_null(), "{whole}");
    let part = declare(&app, &key, &alipay_cn, "100", Some("p"), "k-5").await;
    assert_eq!(part["errors"][0]["extensions"]["code"], "VALIDATION", "{part}");
    let sent = app.ledger().await["declarations"]
        .as_object()
        .map_or(0, |d| d.len());
    assert!(sent <= 1, "only the whole declaration may have been sent");
}

async fn unknown_answers_and_timeouts_on_declare_leave_one_declaration_per_request_id(backend: Backend) {
    let chaos = Chaos {
        unknown_rate: 0.3,
        timeout_rate: 0.15,
        http5xx_rate: 0.05,
        ..Chaos::default()
    };
    let Some(app) = spawn_app_with(backend, customs_setup(chaos, 0.0)).await else {
        return;
    };
    let (_, key) = app.merchant("Flaky");
    let (payment, _) = app.paid_with_alipay_cn(&key, "cn-flaky", "5000").await;
    for n in 0..5 {
        let part = format!("flaky-{n}");
        let declared = declare(&app, &key, &payment, "1000", Some(&part), &part).await;
        assert!(declared["errors"].is_null(), "{declared}");
    }
    let settled = settled_declarations(&app, &key, &payment).await;
    let ours = settled["customsDeclarations"].as_array().unwrap();
    let ledger = app.ledger().await;
    let theirs = ledger["declarations"].as_object().unwrap();
    assert_eq!(theirs.len(), 5, "one declaration per request id: {ledger:#}");
    for declaration in ours {
        assert_eq!(declaration["status"], "ACCEPTED", "{declaration}");
        let id = declaration["customsDeclarationRequestId"].as_str().unwrap();
        assert!(theirs[id]["declareCalls"].as_u64().unwrap() >= 1);
    }
    let declared: i64 = theirs
        .values()
        .map(|d| d["amount"]["value"].as_str().unwrap().parse::<i64>().unwrap())
        .sum();
    assert_eq!(declared, 5000);
}

async fn concurrent_declarations_never_exceed_the_declarable_amount(backend: Backend) {
    let Some(app) = spawn_app_with(backend, customs_setup(Chaos::default(), 0.0)).await else {
        return;
    };
    let (_, key) = app.merchant("Racing");
    let (payment, _) = app.paid_with_alipay_cn(&key, "cn-race", "10000").await;
    let answers = futures::future::join_all((0..20).map(|n| {
        let (app, key, payment) = (&app, &key, &payment);
        async move {
            let part = format!("race-{n}");
            declare(app, key, payment, "1000", Some(&part), &part).await
        }
    }))
    .await;
    let created = answers.iter().filter(|a| a["errors"].is_null()).count();
    let refused = answers
        .iter()
        .filter(|a| a["errors"][0]["extensions"]["code"] == "DECLARATION_EXCEEDS_DECLARABLE")
        .count();
    assert_eq!((created, refused), (10, 10), "{answers:#?}");
    let settled = settled_declarations(&app, &key, &payment).await;
    assert_eq!(settled["declarableAmount"]["value"], "0");
    let declared: i64 = app.ledger().await["declarations"]
        .as_object()
        .unwrap()
        .values()
        .map(|d| d["amount"]["value"].as_str().unwrap().parse::<i64>().unwrap())
        .sum();
    assert_eq!(declared, 10000);
}

async fn a_rejected_declaration_frees_its_amount(backend: Backend) {
    let Some(app) = spawn_app_with(backend, customs_setup(Chaos::default(), 1.0)).await else {
        return;
    };
    let (_, key) = app.merchant("Rejected");
    let (payment, _) = app.paid_with_alipay_cn(&key, "cn-rejected", "3000").await;
    let declared = declare(&app, &key, &payment, "3000", None, "r-1").await;
    assert!(declared["errors"].is_null(), "{declared}");
    assert_eq!(
        declarations_of(&app, &key, &payment).await["declarableAmount"]["value"],
        "0"
    );
    let settled = settled_declarations(&app, &key, &payment).await;
    let rejected = &settled["customsDeclarations"][0];
    assert_eq!(rejected["status"], "REJECTED", "{settled:#}");
    assert_eq!(rejected["customsResultCode"], "CUSTOMS_INFO_MISMATCH");
    // Fields resolve separately; once the declaration is final, one more read is consistent.
    assert_eq!(
        declarations_of(&app, &key, &payment).await["declarableAmount"]["value"],
        "3000"
    );
}

async fn a_declaration_is_declared_again_only_later_before_customs_decides_and_never_for_more(
    backend: Backend,
) {
    use plusflow::clock::ManualClock;
    let start = chrono::Utc::now();
    let (ours, theirs) = (ManualClock::starting_at(start), ManualClock::starting_at(start));
    let setup = Setup {
        engine_clock: Some(ours.clone()),
        simulator_clock: Some(theirs.clone()),
        // Customs starts after 200 s and decides after 10 minutes.
        simulator_time_scale: Some(10.0),
        ..Setup::default()
    };
    let Some(app) = spawn_app_with(backend, setup).await else {
        return;
    };
    let (_, key) = app.merchant("Updating");
    let (payment, _) = app.paid_with_alipay_cn(&key, "cn-update", "10000").await;
    let declared = declare(&app, &key, &payment, "6000", Some("order-1"), "u-1").await;
    let id = declared["data"]["declareCustoms"]["id"].clone();
    poll_until("the declaration submitted", Duration::from_secs(30), || async {
        let seen = declarations_of(&app, &key, &payment).await;
        (seen["customsDeclarations"][0]["status"] == "SUBMITTED").then_some(())
    })
    .await;
    let mutation = format!(
        "mutation($input: RedeclareCustomsInput!, $key: String!) {{ redeclareCustoms(input: $input, idempotencyKey: $key) {{ {DECLARATION} customsCode }} }}"
    );
    let redeclare = |value: &'static str, idempotency_key: &'static str| {
        let input = json!({ "declarationId": id, "customsCode": "NINGBO", "amount": { "currency": "CNY", "value": value } });
        app.gql(
            Some(&key),
            &mutation,
            json!({ "input": input, "key": idempotency_key }),
        )
    };
    let too_soon = redeclare("5000", "r-1").await;
    assert_eq!(
        too_soon["errors"][0]["extensions"]["code"], "REDECLARATION_NOT_ALLOWED",
        "{too_soon}"
    );
    for clock in [&ours, &theirs] {
        clock.advance(Duration::from_secs(6 * 60));
    }
    app.engine.wake_relay();
    let more = redeclare("7000", "r-2").await;
    assert_eq!(more["errors"][0]["extensions"]["code"], "VALIDATION", "{more}");
    let changed = redeclare("5000", "r-3").await;
    assert!(changed["errors"].is_null(), "{changed}");
    assert_eq!(changed["data"]["redeclareCustoms"]["customsCode"], "NINGBO");
    let request_id = changed["data"]["redeclareCustoms"]["customsDeclarationRequestId"]
        .as_str()
        .unwrap()
        .to_string();
    let entry = poll_until("Alipay+ updated", Duration::from_secs(30), || async {
        let entry = app.ledger().await["declarations"][&request_id].clone();
        (entry["updates"] == 1).then_some(entry)
    })
    .await;
    assert_eq!(entry["amount"]["value"], "5000", "{entry}");
    assert_eq!(entry["customsCode"], "NINGBO");
    let seen = declarations_of(&app, &key, &payment).await;
    assert_eq!(seen["customsDeclarations"].as_array().unwrap().len(), 1);
    assert_eq!(seen["customsDeclarations"][0]["amount"]["value"], "5000");
    assert_eq!(seen["declarableAmount"]["value"], "5000");
    // Customs decides; a decided declaration is not declared again.
    for clock in [&ours, &theirs] {
        clock.advance(Duration::from_secs(10 * 60));
    }
    app.engine.wake_relay();
    poll_until("customs decided", Duration::from_secs(30), || async {
        for clock in [&ours, &theirs] {
            clock.advance(Duration::from_secs(60));
        }
        app.engine.wake_relay();
        let seen = declarations_of(&app, &key, &payment).await;
        (seen["customsDeclarations"][0]["status"] == "ACCEPTED").then_some(())
    })
    .await;
    let decided = redeclare("4000", "r-4").await;
    assert_eq!(
        decided["errors"][0]["extensions"]["code"], "REDECLARATION_NOT_ALLOWED",
        "{decided}"
    );
}

async fn a_status_plusflow_does_not_know_keeps_the_amount_held_and_parks_after_the_configured_rounds(
    backend: Backend,
) {
    let setup = Setup {
        customs_unknown_status_rate: 1.0,
        extra_config: "[customs]\nunknown_status_rounds = 3\n",
        ..customs_setup(Chaos::default(), 0.0)
    };
    let Some(app) = spawn_app_with(backend, setup).await else {
        return;
    };
    let (_, key) = app.merchant("Held by customs");
    let (payment, _) = app.paid_with_alipay_cn(&key, "cn-held", "3000").await;
    let declared = declare(&app, &key, &payment, "3000", None, "h-1").await;
    assert!(declared["errors"].is_null(), "{declared}");
    // Customs answers code 2 while it waits and processes, then a status nobody documented.
    let settled = settled_declarations(&app, &key, &payment).await;
    let held = &settled["customsDeclarations"][0];
    assert_eq!(held["status"], "PROCESSING", "not a rejection: {settled:#}");
    assert_eq!(held["workflow"]["state"], "processing");
    assert_eq!(held["workflow"]["needsAttention"], true);
    assert_eq!(held["workflow"]["lastError"], Value::Null, "operators only");
    let reason = app.reason(held["id"].as_str().unwrap()).await;
    assert!(
        reason.contains("CUSTOMS_HOLD") && reason.contains("3 rounds"),
        "{reason}"
    );
    assert_eq!(
        settled["declarableAmount"]["value"], "0",
        "its amount stays held: {settled:#}"
    );
}

async fn a_buyer_may_be_identified_by_passport(backend: Backend) {
    let Some(app) = spawn_app_with(backend, customs_setup(Chaos::default(), 0.0)).await else {
        return;
    };
    let (_, key) = app.merchant("Passports");
    let (payment, _) = app.paid_with_alipay_cn(&key, "cn-passport", "10000").await;
    let declare_as = |id_type: Option<&str>, sub_order: &str, idempotency_key: &str| {
        let mut input = json!({
            "paymentId": payment, "customsCode": "HANGZHOU", "merchantCustomsCode": "MC-0042",
            "merchantCustomsName": "Demo Coffee Trading", "amount": { "currency": "CNY", "value": "5000" },
            "split": true, "subOrderId": sub_order, "buyerName": "Jane Roe", "buyerIdNumber": "E12345678",
        });
        if let Some(id_type) = id_type {
            input["buyerIdType"] = json!(id_type);
        }
        let (app, key, idempotency_key) = (&app, &key, idempotency_key.to_string());
        async move {
            app.gql(
                Some(key),
                &format!("mutation($input: DeclareCustomsInput!, $key: String!) {{ declareCustoms(input: $input, idempotencyKey: $key) {{ {DECLARATION} }} }}"),
                json!({ "input": input, "key": idempotency_key }),
            )
            .await
        }
    };
    let unknown_type = declare_as(Some("DRIVING_LICENSE"), "o-0", "p-0").await;
    assert!(
        unknown_type["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("buyerIdType"),
        "{unknown_type}"
    );
    let as_passport = declare_as(Some("PASSPORT"), "o-1", "p-1").await;
    assert!(as_passport["errors"].is_null(), "{as_passport}");
    // The same number read as an ID card fails customs' identity check.
    let as_id_card = declare_as(None, "o-2", "p-2").await;
    assert!(as_id_card["errors"].is_null(), "{as_id_card}");
    let settled = settled_declarations(&app, &key, &payment).await;
    let status_of = |sub_order: &str| {
        let declarations = settled["customsDeclarations"].as_array().unwrap();
        let id = |answer: &Value| answer["data"]["declareCustoms"]["id"].clone();
        let wanted = if sub_order == "o-1" {
            id(&as_passport)
        } else {
            id(&as_id_card)
        };
        declarations.iter().find(|d| d["id"] == wanted).unwrap()["status"].clone()
    };
    assert_eq!(status_of("o-1"), "ACCEPTED", "{settled:#}");
    assert_eq!(status_of("o-2"), "REJECTED", "{settled:#}");
}

/// `simulateCustomsDecision` (test mode): customs decides now instead of in a minute (time
/// scale 1 here), each way, and plusflow learns it from its next inquiry as from Alipay+.
async fn a_test_suite_has_customs_decide_a_declaration_at_once(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let (_, key) = app.merchant("Decided");
    let (_, other) = app.merchant("Elsewhere");
    let (payment, _) = app.paid_with_alipay_cn(&key, "cn-decided", "3000").await;
    let decide = "mutation($id: ID!, $accept: Boolean!) { simulateCustomsDecision(declarationId: $id, accept: $accept) { id status } }";
    let mut decided = Vec::new();
    for (n, accept) in [true, false].into_iter().enumerate() {
        let declared = declare(
            &app,
            &key,
            &payment,
            "1000",
            Some(&format!("part-{n}")),
            &format!("d-{n}"),
        )
        .await;
        let id = declared["data"]["declareCustoms"]["id"]
            .as_str()
            .unwrap_or_else(|| panic!("{declared}"))
            .to_string();
        let refused = app
            .gql(Some(&other), decide, json!({ "id": id, "accept": accept }))
            .await;
        assert_eq!(
            refused["errors"][0]["extensions"]["code"], "NOT_FOUND",
            "{refused}"
        );
        // Customs has it once it was sent (SUBMITTED); until then the helper has nothing to decide.
        poll_until("the declaration at customs", Duration::from_secs(30), || async {
            let answer = app
                .gql(Some(&key), decide, json!({ "id": id, "accept": accept }))
                .await;
            answer["errors"].is_null().then_some(())
        })
        .await;
        decided.push((id, if accept { "ACCEPTED" } else { "REJECTED" }));
    }
    let query = "query($id: ID!) { customsDeclaration(id: $id) { status customsResultCode } }";
    for (id, status) in decided {
        let answer = poll_until("customs' decision learnt", Duration::from_secs(40), || async {
            let answer = app.gql(Some(&key), query, json!({ "id": id })).await;
            (answer["data"]["customsDeclaration"]["status"] == status).then_some(answer)
        })
        .await;
        let code = &answer["data"]["customsDeclaration"]["customsResultCode"];
        assert_eq!(
            code,
            if status == "ACCEPTED" {
                "0000"
            } else {
                "CUSTOMS_INFO_MISMATCH"
            }
        );
    }
}
