//! Merchant registration over real HTTP, on SQLite and on PostgreSQL + Redis: a registration
//! completed by the wallets' signed notifications (and announced to the merchant), the same
//! completed by inquiries when every notification is lost, a wallet's rejection with its
//! reason, duplicated and replayed notifications that change nothing, Alipay+'s 30-minute
//! update rule (a processed registration may be followed at once), one answer per wallet and
//! product, a reporting-mode wallet counted as approved once Alipay+ completes, payments gated on a completed registration before Alipay+ is asked, and U
//! answers and timeouts on registration still leaving one registration per request id.

mod common;

use std::time::Duration;

use plusflow::simulator::Chaos;
use serde_json::{Value, json};

use common::app::*;
use common::webhooks::WebhookReceiver;
use common::{Backend, poll_until};

on_each_backend!(
    a_registration_is_completed_by_the_wallets_notifications,
    with_every_notification_lost_inquiries_complete_the_registration,
    a_wallet_rejects_a_merchant_without_a_website_and_says_why,
    duplicated_and_replayed_notifications_change_nothing,
    a_new_registration_within_30_minutes_waits_until_the_last_is_processed,
    each_product_of_a_registration_has_its_own_answers,
    payments_in_a_market_that_requires_registration_wait_for_a_completed_one,
    unknown_answers_and_timeouts_on_registration_leave_one_registration_per_request_id,
);

const REGISTRATION: &str = "id registrationRequestId merchantId productCodes status resultCode \
    wallets { pspName productCodes status rejectionReason acceptedOnDelivery } workflow { state version needsAttention lastError \
    history { event outcome actor } }";

/// The wallets answer after 10 s, 30 s and 60 s at time scale 1; at 1/100, within a second.
fn quick_wallets() -> Setup {
    Setup {
        simulator_time_scale: Some(0.01),
        ..Setup::default()
    }
}

fn registration_input(websites: bool) -> Value {
    let websites = if websites {
        json!([{ "url": "https://coffee.example", "name": "Demo Coffee", "websiteType": "WEB" }])
    } else {
        json!([])
    };
    json!({
        "productCodes": ["CASHIER_PAYMENT"], "merchantDisplayName": "Demo Coffee", "merchantMCC": "5814",
        "websites": websites, "region": "HK", "city": "Hong Kong", "address": "1 Queen's Road",
        "legalName": "Demo Coffee Ltd", "registrationType": "ENTERPRISE_REGISTRATION_NO",
        "registrationNo": "HK-2026-0042", "businessType": "ENTERPRISE",
    })
}

async fn register_with(app: &App, key: &str, merchant: &str, input: Value, idempotency_key: &str) -> Value {
    app.gql(
        Some(key),
        &format!(
            "mutation($merchant: ID!, $input: RegistrationInput!, $key: String!) {{ \
             registerMerchant(merchantId: $merchant, input: $input, idempotencyKey: $key) {{ {REGISTRATION} }} }}"
        ),
        json!({ "merchant": merchant, "input": input, "key": idempotency_key }),
    )
    .await
}

/// An operator registers `merchant` (with a website unless `websites` is false): the new
/// registration.
async fn register(app: &App, merchant: &str, websites: bool, idempotency_key: &str) -> Value {
    let answer = register_with(
        app,
        ADMIN_KEY,
        merchant,
        registration_input(websites),
        idempotency_key,
    )
    .await;
    let registration = answer["data"]["registerMerchant"].clone();
    assert!(registration["id"].is_string(), "{answer}");
    registration
}

async fn registration(app: &App, key: &str, id: &str) -> Value {
    let query = format!("query($id: ID!) {{ registration(id: $id) {{ {REGISTRATION} }} }}");
    app.gql(Some(key), &query, json!({ "id": id })).await["data"]["registration"].clone()
}

/// Registration `id` once it is final (read again after, so its history is whole).
async fn final_registration(app: &App, id: &str) -> Value {
    poll_until(
        "the registration to be final",
        Duration::from_secs(60),
        || async {
            let found = registration(app, ADMIN_KEY, id).await;
            ["COMPLETED", "REJECTED"]
                .contains(&found["status"].as_str().unwrap_or_default())
                .then_some(())
        },
    )
    .await;
    registration(app, ADMIN_KEY, id).await
}

fn wallets(registration: &Value) -> Vec<(String, String, Option<String>)> {
    registration["wallets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| {
            (
                w["pspName"].as_str().unwrap().to_string(),
                w["status"].as_str().unwrap().to_string(),
                w["rejectionReason"].as_str().map(str::to_string),
            )
        })
        .collect()
}

fn approved(psp: &str) -> (String, String, Option<String>) {
    (psp.into(), "APPROVED".into(), None)
}

/// The history entries of `event` with `outcome`, by `actor` prefix.
fn entries(registration: &Value, event: &str, outcome: &str, actor: &str) -> usize {
    registration["workflow"]["history"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|h| h["event"] == event && h["outcome"] == outcome)
        .filter(|h| h["actor"].as_str().unwrap().starts_with(actor))
        .count()
}

fn ledger_entry(ledger: &Value, registration: &Value) -> Value {
    ledger["registrations"][registration["registrationRequestId"].as_str().unwrap()].clone()
}

async fn a_registration_is_completed_by_the_wallets_notifications(backend: Backend) {
    let Some(app) = spawn_app_with(backend, quick_wallets()).await else {
        return;
    };
    let receiver = WebhookReceiver::accepting().await;
    let created = app.create_merchant(&["--name", "Registered Coffee", "--webhook-url", &receiver.url]);
    let (merchant, key) = (
        created["id"].as_str().unwrap().to_string(),
        created["apiKey"].as_str().unwrap().to_string(),
    );
    let first = register(&app, &merchant, true, "reg-1").await;
    assert_eq!(first["productCodes"], json!(["CASHIER_PAYMENT"]));
    assert_eq!(first["merchantId"], merchant.as_str());
    let id = first["id"].as_str().unwrap();

    let done = final_registration(&app, id).await;
    assert_eq!(done["status"], "COMPLETED", "{done}");
    assert_eq!(
        wallets(&done),
        vec![approved("ALIPAY_CN"), approved("ALIPAY_HK"), approved("GCASH")]
    );
    // AlipayCN is in reporting mode: it never answered, and counts as approved once Alipay+
    // completed the registration. Each answer names its product.
    let accepted: Vec<&Value> = done["wallets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| &w["acceptedOnDelivery"])
        .collect();
    assert_eq!(accepted, [&json!(true), &json!(false), &json!(false)], "{done}");
    assert!(
        done["wallets"]
            .as_array()
            .unwrap()
            .iter()
            .all(|w| w["productCodes"] == json!(["CASHIER_PAYMENT"]))
    );
    // Settled by the notifications: each reviewing wallet's answer came from Alipay+ (AlipayHK's,
    // then GCash's with the collective COMPLETED), and the inquiry (a day away) was never asked.
    assert_eq!(
        entries(&done, "wallets_answered", "TRANSITIONED", "alipayplus"),
        1,
        "{done}"
    );
    assert_eq!(
        entries(&done, "registration_completed", "TRANSITIONED", "alipayplus"),
        1
    );
    let ledger = app.ledger().await;
    let entry = ledger_entry(&ledger, &done);
    assert_eq!(entry["registrationCalls"], 1);
    assert_eq!(entry["inquiries"], 0);
    assert!(
        entry["notificationsAcknowledged"].as_u64().unwrap() >= 2,
        "{entry}"
    );

    // The merchant sees its own registration, and was told of each change.
    let own = registration(&app, &key, id).await;
    assert_eq!(own["status"], "COMPLETED");
    let listed = app
        .gql(Some(&key), "{ registrations { id status } }", json!({}))
        .await;
    assert_eq!(listed["data"]["registrations"][0]["id"], id, "{listed}");
    poll_until("the final webhook", Duration::from_secs(30), || async {
        receiver
            .bodies()
            .iter()
            .any(|b| b["type"] == "registration.updated" && b["registration"]["status"] == "COMPLETED")
            .then_some(())
    })
    .await;

    // Another merchant sees none of it, and only operators register.
    let (other, other_key) = app.merchant("Someone Else");
    assert!(registration(&app, &other_key, id).await.is_null());
    let theirs = app
        .gql(
            Some(&other_key),
            "query($m: ID!) { registrations(merchantId: $m) { id } }",
            json!({ "m": merchant }),
        )
        .await;
    assert_eq!(theirs["errors"][0]["extensions"]["code"], "NOT_FOUND", "{theirs}");
    let refused = register_with(&app, &other_key, &other, registration_input(true), "reg-x").await;
    assert_eq!(
        refused["errors"][0]["extensions"]["code"], "FORBIDDEN",
        "{refused}"
    );
}

async fn with_every_notification_lost_inquiries_complete_the_registration(backend: Backend) {
    let setup = Setup {
        chaos: Chaos {
            notify_drop_rate: 1.0,
            ..Chaos::default()
        },
        extra_config: "[registration]\ninquiry_interval = \"300ms\"\n",
        ..quick_wallets()
    };
    let Some(app) = spawn_app_with(backend, setup).await else {
        return;
    };
    let (merchant, _) = app.merchant("Polled Coffee");
    let id = register(&app, &merchant, true, "reg-1").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let done = final_registration(&app, &id).await;
    assert_eq!(done["status"], "COMPLETED", "{done}");
    assert_eq!(
        wallets(&done),
        vec![approved("ALIPAY_CN"), approved("ALIPAY_HK"), approved("GCASH")]
    );
    assert_eq!(
        entries(&done, "wallets_answered", "TRANSITIONED", "alipayplus"),
        0
    );
    assert_eq!(
        entries(
            &done,
            "registration_completed",
            "TRANSITIONED",
            "effect:inquire_registration"
        ),
        1,
        "{done}"
    );
    let entry = ledger_entry(&app.ledger().await, &done);
    assert_eq!(entry["notificationsSent"], 0, "{entry}");
    assert!(entry["notificationsDropped"].as_u64().unwrap() >= 2, "{entry}");
    assert!(entry["inquiries"].as_u64().unwrap() >= 1, "{entry}");
}

async fn a_wallet_rejects_a_merchant_without_a_website_and_says_why(backend: Backend) {
    let setup = Setup {
        registration_reject_rate: 1.0,
        ..quick_wallets()
    };
    let Some(app) = spawn_app_with(backend, setup).await else {
        return;
    };
    let (merchant, _) = app.merchant("Websiteless Coffee");
    // Registered from the command line, without a website: AlipayHK has nothing to review, and
    // GCash rejects every merchant here; AlipayCN (reporting mode) approves on delivery.
    let printed = app.plusflow(&[
        "merchant",
        "register",
        &merchant,
        "--product-codes",
        "CASHIER_PAYMENT",
        "--display-name",
        "Websiteless Coffee",
        "--mcc",
        "5814",
    ]);
    assert_eq!(printed["status"], "PENDING", "{printed}");
    let done = final_registration(&app, printed["id"].as_str().unwrap()).await;
    assert_eq!(done["status"], "COMPLETED", "{done}");
    assert_eq!(
        wallets(&done),
        vec![
            approved("ALIPAY_CN"),
            (
                "ALIPAY_HK".into(),
                "REJECTED".into(),
                Some("no website to review the merchant's business".into())
            ),
            (
                "GCASH".into(),
                "REJECTED".into(),
                Some("the merchant's business information could not be verified".into())
            ),
        ]
    );
    assert_eq!(
        entries(&done, "created", "TRANSITIONED", "admin:cli"),
        1,
        "{done}"
    );

    // Bad input is refused with the field named, and nothing is written.
    let bad = register_with(
        &app,
        ADMIN_KEY,
        &merchant,
        json!({ "productCodes": ["CASHIER_PAYMENT"], "merchantMCC": "58" }),
        "reg-bad",
    )
    .await;
    assert_eq!(bad["errors"][0]["extensions"]["code"], "VALIDATION", "{bad}");
    assert_eq!(bad["errors"][0]["extensions"]["field"], "merchantDisplayName");
    assert_eq!(app.ledger().await["registrations"].as_object().unwrap().len(), 1);
}

/// The reviewing wallets' delays at 1/10: AlipayHK after 3 s, GCash after 6 s (AlipayCN, in
/// reporting mode, never answers); every notification delivered twice.
async fn duplicated_and_replayed_notifications_change_nothing(backend: Backend) {
    let setup = Setup {
        simulator_time_scale: Some(0.1),
        chaos: Chaos {
            notify_duplicate_rate: 1.0,
            ..Chaos::default()
        },
        ..Setup::default()
    };
    let Some(app) = spawn_app_with(backend, setup).await else {
        return;
    };
    let (merchant, _) = app.merchant("Replayed Coffee");
    let first = register(&app, &merchant, true, "reg-1").await;
    let id = first["id"].as_str().unwrap().to_string();
    let request_id = first["registrationRequestId"].as_str().unwrap().to_string();
    let in_review = poll_until("AlipayHK's answer", Duration::from_secs(30), || async {
        let found = registration(&app, ADMIN_KEY, &id).await;
        (found["status"] == "IN_REVIEW").then_some(found)
    })
    .await;
    // AlipayHK's notification, as Alipay+ sent it, arrives again (twice).
    let replayed = json!({
        "referenceMerchantId": merchant.replace('-', ""), "registrationRequestId": request_id,
        "registrationResult": { "registrationStatus": "PENDING" },
        "pspRegistrationResultList": [
            { "productCodes": ["CASHIER_PAYMENT"], "pspName": "ALIPAY_CN", "registrationResult": { "registrationStatus": "PENDING" } },
            { "productCodes": ["CASHIER_PAYMENT"], "pspName": "ALIPAY_HK", "registrationResult": { "registrationStatus": "APPROVED" } },
            { "productCodes": ["CASHIER_PAYMENT"], "pspName": "GCASH", "registrationResult": { "registrationStatus": "PENDING" } },
        ]
    });
    let replay = || async {
        let body = serde_json::to_vec(&replayed).unwrap();
        let time = plusflow::alipayplus::signing::timestamp(chrono::Utc::now());
        let answer: Value = signed_call(&app, "/alipayplus/notifyRegistrationStatus", "", &time, body)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(answer["result"]["resultStatus"], "S", "{answer}");
    };
    replay().await;
    replay().await;
    let after_replay = registration(&app, ADMIN_KEY, &id).await;
    let held = in_review["workflow"]["version"].as_i64().unwrap();
    let now = after_replay["workflow"]["version"].as_i64().unwrap();
    // Unchanged, unless GCash happened to answer meanwhile.
    if after_replay["status"] == "IN_REVIEW" && wallets(&after_replay)[2].1 == "PENDING" {
        assert_eq!(now, held, "a replay moved the registration: {after_replay}");
    }

    let done = final_registration(&app, &id).await;
    assert_eq!(done["status"], "COMPLETED");
    // Each wallet's answer recorded once, though every notification came twice and the first
    // came twice more.
    assert_eq!(
        entries(&done, "wallets_answered", "TRANSITIONED", "alipayplus"),
        1,
        "{done}"
    );
    assert_eq!(
        entries(&done, "registration_completed", "TRANSITIONED", "alipayplus"),
        1
    );
    assert!(
        entries(&done, "wallets_answered", "IGNORED", "alipayplus") >= 3,
        "{done}"
    );
    // The first notification, replayed after the end, changes nothing either.
    let version = done["workflow"]["version"].clone();
    replay().await;
    let after = registration(&app, ADMIN_KEY, &id).await;
    assert_eq!(after["workflow"]["version"], version);
    assert_eq!(wallets(&after), wallets(&done));

    // A notification about no registration of ours is refused, and stored nowhere; so is one
    // naming our registration with another merchant.
    for (merchant, request_id) in [("nobody", "pfm_unknown"), ("nobody", request_id.as_str())] {
        let stranger = json!({
            "referenceMerchantId": merchant, "registrationRequestId": request_id,
            "registrationResult": { "registrationStatus": "COMPLETED" },
        });
        let time = plusflow::alipayplus::signing::timestamp(chrono::Utc::now());
        let answer: Value = signed_call(
            &app,
            "/alipayplus/notifyRegistrationStatus",
            "",
            &time,
            serde_json::to_vec(&stranger).unwrap(),
        )
        .await
        .json()
        .await
        .unwrap();
        assert_eq!(answer["result"]["resultCode"], "RECORD_NOT_FOUND", "{answer}");
    }
    let after = registration(&app, ADMIN_KEY, &id).await;
    assert_eq!(after["workflow"]["version"], version);
}

/// Alipay+ takes a new registration of a merchant within 30 minutes of its last only once the
/// last has been processed: refused while the wallets still review it, taken once it is final.
async fn a_new_registration_within_30_minutes_waits_until_the_last_is_processed(backend: Backend) {
    use plusflow::clock::ManualClock;
    let start = chrono::Utc::now();
    let (ours, theirs) = (ManualClock::starting_at(start), ManualClock::starting_at(start));
    let setup = Setup {
        engine_clock: Some(ours.clone()),
        simulator_clock: Some(theirs.clone()),
        // The reviewing wallets answer after 1.5 s and 3 s.
        simulator_time_scale: Some(0.05),
        ..Setup::default()
    };
    let Some(app) = spawn_app_with(backend, setup).await else {
        return;
    };
    let (merchant, _) = app.merchant("Updating Coffee");
    let first = register(&app, &merchant, true, "reg-1").await;
    // The same request again is the same registration.
    let again = register(&app, &merchant, true, "reg-1").await;
    assert_eq!(again["id"], first["id"]);
    assert_ne!(again["status"], "COMPLETED", "still in review: {again}");
    let refused = register_with(&app, ADMIN_KEY, &merchant, registration_input(false), "reg-2").await;
    assert_eq!(
        refused["errors"][0]["extensions"]["code"], "REGISTRATION_TOO_SOON",
        "{refused}"
    );
    let listed = app
        .gql(
            Some(ADMIN_KEY),
            "query($m: ID!) { registrations(merchantId: $m) { id } }",
            json!({ "m": merchant }),
        )
        .await;
    assert_eq!(listed["data"]["registrations"].as_array().unwrap().len(), 1);

    let done = final_registration(&app, first["id"].as_str().unwrap()).await;
    assert_eq!(done["status"], "COMPLETED");
    assert_eq!(app.ledger().await["registrations"].as_object().unwrap().len(), 1);
    ours.advance(Duration::from_secs(60));
    theirs.advance(Duration::from_secs(60));
    let update = register(&app, &merchant, false, "reg-2").await;
    assert_ne!(update["id"], first["id"]);
    let updated = final_registration(&app, update["id"].as_str().unwrap()).await;
    assert_eq!(updated["status"], "COMPLETED", "{updated}");
    assert_eq!(app.ledger().await["registrations"].as_object().unwrap().len(), 2);
}

/// Each product of a request is its own registration: every wallet answers each one, and no
/// product's answer overwrites another's.
async fn each_product_of_a_registration_has_its_own_answers(backend: Backend) {
    let Some(app) = spawn_app_with(backend, quick_wallets()).await else {
        return;
    };
    let (merchant, _) = app.merchant("Two Products");
    let mut input = registration_input(false);
    input["productCodes"] = json!(["CASHIER_PAYMENT", "AGREEMENT_PAYMENT"]);
    let answer = register_with(&app, ADMIN_KEY, &merchant, input, "reg-1").await;
    let id = answer["data"]["registerMerchant"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let done = final_registration(&app, &id).await;
    assert_eq!(done["status"], "COMPLETED", "{done}");
    let answers: Vec<(String, Value, String)> = done["wallets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| {
            (
                w["pspName"].as_str().unwrap().to_string(),
                w["productCodes"].clone(),
                w["status"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let expect =
        |psp: &str, product: &str, status: &str| (psp.to_string(), json!([product]), status.to_string());
    assert_eq!(
        answers,
        vec![
            expect("ALIPAY_CN", "AGREEMENT_PAYMENT", "APPROVED"),
            expect("ALIPAY_CN", "CASHIER_PAYMENT", "APPROVED"),
            // Without a website AlipayHK rejects both products, each with its own answer.
            expect("ALIPAY_HK", "AGREEMENT_PAYMENT", "REJECTED"),
            expect("ALIPAY_HK", "CASHIER_PAYMENT", "REJECTED"),
            expect("GCASH", "AGREEMENT_PAYMENT", "APPROVED"),
            expect("GCASH", "CASHIER_PAYMENT", "APPROVED"),
        ]
    );
}

async fn payments_in_a_market_that_requires_registration_wait_for_a_completed_one(backend: Backend) {
    let setup = Setup {
        extra_config: "[registration]\nrequired_regions = [\"HK\"]\n",
        ..quick_wallets()
    };
    let Some(app) = spawn_app_with(backend, setup).await else {
        return;
    };
    let (merchant, key) = app.merchant("Gated Coffee");
    let in_region = |order: &str, region: Option<&str>| {
        let mut payment = input(order, "1000");
        if let Some(region) = region {
            payment["userRegion"] = json!(region);
        }
        payment
    };
    for (order, region) in [("hk-1", Some("HK")), ("any-1", None)] {
        let refused = app.create(&key, order, in_region(order, region)).await;
        assert_eq!(
            refused["errors"][0]["extensions"]["code"], "MERCHANT_NOT_REGISTERED",
            "{refused}"
        );
    }
    assert_eq!(app.payment_count().await, 0);
    assert!(app.ledger().await["payments"].as_object().unwrap().is_empty());
    // Elsewhere nothing changes.
    let elsewhere = app.create(&key, "ph-1", in_region("ph-1", Some("PH"))).await;
    assert!(
        elsewhere["data"]["createPayment"]["id"].is_string(),
        "{elsewhere}"
    );

    let id = register(&app, &merchant, true, "reg-1").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(final_registration(&app, &id).await["status"], "COMPLETED");
    let allowed = app.create(&key, "hk-2", in_region("hk-2", Some("HK"))).await;
    let payment = &allowed["data"]["createPayment"];
    assert!(payment["id"].is_string(), "{allowed}");
    let request_id = payment["paymentRequestId"].as_str().unwrap();
    poll_until("Alipay+ to have the payment", Duration::from_secs(30), || async {
        app.ledger().await["payments"]
            .get(request_id)
            .is_some()
            .then_some(())
    })
    .await;
}

async fn unknown_answers_and_timeouts_on_registration_leave_one_registration_per_request_id(
    backend: Backend,
) {
    let setup = Setup {
        chaos: Chaos {
            unknown_rate: 0.4,
            timeout_rate: 0.2,
            ..Chaos::default()
        },
        extra_config: "[registration]\ninquiry_interval = \"500ms\"\n",
        ..quick_wallets()
    };
    let Some(app) = spawn_app_with(backend, setup).await else {
        return;
    };
    let mut ids = Vec::new();
    for n in 0..4 {
        let (merchant, _) = app.merchant(&format!("Chaotic Coffee {n}"));
        ids.push(
            register(&app, &merchant, true, "reg-1").await["id"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    let mut request_ids = Vec::new();
    for id in &ids {
        let done = final_registration(&app, id).await;
        assert_eq!(done["status"], "COMPLETED", "{done}");
        request_ids.push(done["registrationRequestId"].as_str().unwrap().to_string());
    }
    let ledger = app.ledger().await;
    let taken: Vec<&String> = ledger["registrations"].as_object().unwrap().keys().collect();
    request_ids.sort();
    assert_eq!(taken, request_ids.iter().collect::<Vec<_>>());
    for request_id in &request_ids {
        let entry = &ledger["registrations"][request_id];
        assert!(entry["registrationCalls"].as_u64().unwrap() >= 1, "{entry}");
        assert_eq!(entry["wallets"].as_array().unwrap().len(), 3);
    }
}
