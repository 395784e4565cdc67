//! The security pass, part two, on SQLite and on PostgreSQL + Redis: API keys several per
//! merchant and revocable everywhere within seconds, webhooks that reach no private address and
//! follow no redirect, webhook secrets rotated with an overlap, paymentMethods cached and rate
//! limited per merchant, the inbound journal verifiable again from its bytes, the simulator mode
//! refused where real payments may be, and one database read per object however a query nests.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use plusflow::alipayplus::signing::VerifyingKeys;
use serde_json::{Value, json};

use common::app::*;
use common::webhooks::{WebhookReceiver, signed_with};
use common::{Backend, Options, TestEnv, run_plusflow, wait_for};

on_each_backend!(
    api_keys_are_several_hashed_and_a_revoked_one_is_refused_by_every_process_within_seconds,
    webhooks_reach_no_private_address_and_the_merchant_api_shows_no_url_or_network_error,
    a_webhook_redirect_is_not_followed,
    a_rotated_webhook_secret_signs_beside_the_old_one,
    payment_methods_are_cached_per_currency_and_region_and_rate_limited_per_merchant,
    a_journaled_notification_is_verified_again_from_its_stored_bytes_and_headers,
    the_simulator_never_runs_on_a_database_that_served_alipayplus,
    a_nested_refund_payment_query_reads_each_object_once,
);

async fn payments_query(app: &App, key: &str) -> Value {
    app.gql(
        Some(key),
        "{ payments(first: 1) { edges { node { id } } } }",
        json!({}),
    )
    .await
}

fn authenticated(answer: &Value) -> bool {
    answer["errors"].is_null() && answer["data"]["payments"].is_object()
}

async fn api_keys_are_several_hashed_and_a_revoked_one_is_refused_by_every_process_within_seconds(
    backend: Backend,
) {
    use plusflow::store::entity::api_key;
    use sea_orm::EntityTrait;
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let (merchant, first) = app.merchant("Keys");
    let second = app.another_key(&merchant, "ci");
    let (second_id, second_key) = (second["id"].as_str().unwrap(), second["apiKey"].as_str().unwrap());
    assert!(authenticated(&payments_query(&app, &first).await));
    assert!(
        authenticated(&payments_query(&app, second_key).await),
        "the second key works at once"
    );

    // Stored hashed: no key in the table, each hash the key's SHA-256.
    let rows = api_key::Entity::find().all(&app.engine.db).await.unwrap();
    assert_eq!(rows.len(), 2);
    for key in [first.as_str(), second_key] {
        assert!(rows.iter().all(|row| row.key_hash != key && row.label != key));
        assert!(
            rows.iter()
                .any(|row| row.key_hash == plusflow::app::merchants::hash_api_key(key))
        );
    }
    let (_, listed, _) = app.plusflow_exit(&["merchant", "key", "list", "--merchant", &merchant]);
    assert_eq!(listed.lines().count(), 2, "{listed}");
    assert!(
        !listed.contains(&first) && !listed.contains(second_key),
        "keys are shown once only"
    );

    // Revoked by another process (the CLI): this server refuses it within its cache's freshness.
    let revoke = [
        "merchant",
        "key",
        "revoke",
        "--merchant",
        &merchant,
        "--key",
        second_id,
    ];
    let revoked = app.plusflow(&revoke);
    assert_eq!(revoked["revoked"], true);
    wait_for("the revoked key refused", Duration::from_secs(15), || async {
        payments_query(&app, second_key).await["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    })
    .await;
    assert!(
        authenticated(&payments_query(&app, &first).await),
        "the other key still works"
    );
    let (code, _, stderr) = app.plusflow_exit(&revoke);
    assert_ne!(code, 0, "a key is revoked once");
    assert!(stderr.contains("no live key"), "{stderr}");
}

/// The merchant's newest delivery with an attempt, as `webhookDeliveries` shows it.
async fn attempted_delivery(app: &App, key: &str) -> Option<Value> {
    let answer = app
        .gql(
            Some(key),
            "{ webhookDeliveries(first: 5) { edges { node { id status attempts { httpStatus error durationMs } } } } }",
            json!({}),
        )
        .await;
    let edges = answer["data"]["webhookDeliveries"]["edges"].as_array()?.clone();
    edges
        .into_iter()
        .map(|edge| edge["node"].clone())
        .find(|node| node["attempts"].as_array().is_some_and(|a| !a.is_empty()))
}

/// A merchant with webhooks to `url`, a payment of its (order `order`), and the first attempt
/// to deliver its event once recorded: (API key, payment id, attempt).
async fn first_delivery(app: &App, url: &str, order: &str) -> (String, String, Value) {
    let merchant = app.create_merchant(&["--name", order, "--webhook-url", url]);
    let key = merchant["apiKey"].as_str().unwrap().to_string();
    let created = app.create(&key, "k", input(order, "1000")).await;
    let id = created["data"]["createPayment"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    wait_for("a delivery attempt recorded", Duration::from_secs(30), || async {
        attempted_delivery(app, &key).await.is_some()
    })
    .await;
    let delivery = attempted_delivery(app, &key).await.unwrap();
    (key, id, delivery["attempts"][0].clone())
}

async fn webhooks_reach_no_private_address_and_the_merchant_api_shows_no_url_or_network_error(
    backend: Backend,
) {
    let setup = Setup {
        refuse_private_webhook_targets: true,
        ..Setup::default()
    };
    let Some(app) = spawn_app_with(backend, setup).await else {
        return;
    };
    let receiver = WebhookReceiver::accepting().await;
    let url = receiver.url.clone();
    let port = url
        .split(':')
        .nth(2)
        .unwrap()
        .split('/')
        .next()
        .unwrap()
        .to_string();
    // A private address written out is refused when the endpoint is made, by the command line
    // and by GraphQL alike, and nothing is created.
    let (_, existing) = app.merchant("Has endpoints");
    for literal in [url.clone(), "http://169.254.169.254/latest/meta-data".to_string()] {
        let (code, _, stderr) =
            app.plusflow_exit(&["merchant", "create", "--name", "ssrf", "--webhook-url", &literal]);
        assert_ne!(code, 0, "{literal}");
        assert!(stderr.contains("not a public address"), "{stderr}");
        let answer = app
            .gql(
                Some(&existing),
                "mutation($url: String!) { createWebhookEndpoint(input: { url: $url }) { endpoint { id } } }",
                json!({ "url": literal }),
            )
            .await;
        assert_eq!(
            answer["errors"][0]["extensions"]["code"], "VALIDATION",
            "{answer}"
        );
    }
    let listed = app
        .gql(Some(&existing), "{ webhookEndpoints { id } }", json!({}))
        .await;
    assert_eq!(listed["data"]["webhookEndpoints"], json!([]), "{listed}");
    // A name is checked as it resolves: one resolving to loopback is refused at each attempt.
    let by_name = format!("http://localhost:{port}/hooks");
    let (key, id, refused) = first_delivery(&app, &by_name, "ssrf-name").await;
    assert_eq!(refused["error"], "the webhook target is not a public address");
    assert_eq!(refused["httpStatus"], Value::Null);
    // Everything the merchant can read about the payment names neither URL nor error.
    let seen = app
        .gql(
            Some(&key),
            "query($id: ID!) { payment(id: $id) { id status failureCode workflow { state history { event outcome actor detail } } } }",
            json!({ "id": id }),
        )
        .await
        .to_string();
    assert!(!seen.contains(&port) && !seen.contains("localhost"), "{seen}");
    assert!(!seen.contains("public address"), "{seen}");
    assert_eq!(receiver.hits(), 0, "no private address was reached");
}

async fn a_webhook_redirect_is_not_followed(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let inner = WebhookReceiver::accepting().await;
    let location = inner.url.clone();
    let outer = WebhookReceiver::start(move |_| (307, Some(location.clone()))).await;
    let (_, _, first) = first_delivery(&app, &outer.url, "redirect").await;
    assert_eq!(first["httpStatus"], 307);
    assert_eq!(first["error"], "HTTP 307");
    assert!(outer.hits() >= 1);
    assert_eq!(inner.hits(), 0, "the redirect was not followed");
}

async fn a_rotated_webhook_secret_signs_beside_the_old_one(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let receiver = WebhookReceiver::accepting().await;
    let (url, received) = (receiver.url.clone(), receiver.received.clone());

    let merchant = app.create_merchant(&["--name", "Rotating", "--webhook-url", &url]);
    let (endpoint, key) = (
        merchant["webhookEndpointId"].as_str().unwrap(),
        merchant["apiKey"].as_str().unwrap(),
    );
    let rotate = "mutation($id: ID!) { rotateWebhookEndpointSecret(id: $id) { endpoint { id } secret } }";
    // An operator rotates it for the merchant, then the merchant again itself (the operator's
    // secret becomes the old one).
    let by_operator = app.gql(Some(ADMIN_KEY), rotate, json!({ "id": endpoint })).await;
    let old = by_operator["data"]["rotateWebhookEndpointSecret"]["secret"]
        .as_str()
        .expect("a new secret")
        .to_string();
    let answer = app.gql(Some(key), rotate, json!({ "id": endpoint })).await;
    let new = answer["data"]["rotateWebhookEndpointSecret"]["secret"]
        .as_str()
        .expect("a new secret")
        .to_string();
    let (new, old) = (new.as_str(), old.as_str());
    assert!(new != old && old != merchant["webhookSecret"]);
    // Another merchant cannot touch it: to it, the endpoint does not exist.
    let (_, stranger) = app.merchant("Stranger");
    let refused = app.gql(Some(&stranger), rotate, json!({ "id": endpoint })).await;
    assert_eq!(
        refused["errors"][0]["extensions"]["code"], "NOT_FOUND",
        "{refused}"
    );
    app.create(key, "k", input("rotated", "1000")).await;
    wait_for(
        "a delivery signed with the new secret",
        Duration::from_secs(30),
        || async {
            let received = received.lock().unwrap();
            received
                .iter()
                .any(|(header, body)| signed_with(header, body, new))
        },
    )
    .await;
    let received = received.lock().unwrap();
    let (header, body) = received
        .iter()
        .find(|(header, body)| signed_with(header, body, new))
        .unwrap();
    assert!(
        signed_with(header, body, old),
        "the old secret still signs during the overlap: {header}"
    );
    assert!(!signed_with(header, body, "whsec_someone_else"));
}

async fn payment_methods_are_cached_per_currency_and_region_and_rate_limited_per_merchant(backend: Backend) {
    let setup = Setup {
        extra_config: "[payment_methods]\ncache_for = \"10m\"\nconsults_per_merchant_per_minute = 3\n",
        ..Setup::default()
    };
    let Some(app) = spawn_app_with(backend, setup).await else {
        return;
    };
    let (_, a) = app.merchant("Asks a lot");
    let (_, b) = app.merchant("Asks once");
    let ask = |key: String, region: &'static str| {
        let app = &app;
        async move {
            app.gql(
                Some(&key),
                "query($region: String) { paymentMethods(amount: { currency: \"USD\", value: \"1000\" }, userRegion: $region) { paymentMethodType enabled } }",
                json!({ "region": region }),
            )
            .await
        }
    };
    let consults = || async { app.ledger().await["consultCalls"].as_u64().unwrap() };
    for _ in 0..10 {
        let answer = ask(a.clone(), "KR").await;
        assert!(
            answer["data"]["paymentMethods"][0]["paymentMethodType"].is_string(),
            "{answer}"
        );
    }
    assert_eq!(
        consults().await,
        1,
        "ten asks for one (currency, region) cost one consultPayment"
    );
    ask(a.clone(), "US").await;
    ask(a.clone(), "JP").await;
    assert_eq!(consults().await, 3);
    let limited = ask(a.clone(), "SG").await;
    assert_eq!(
        limited["errors"][0]["extensions"]["code"], "RATE_LIMITED",
        "{limited}"
    );
    assert!(
        limited["errors"][0]["extensions"]["retryAfterSeconds"]
            .as_u64()
            .unwrap()
            >= 1
    );
    assert_eq!(consults().await, 3, "a refused ask costs no call");
    assert!(
        ask(a.clone(), "KR").await["errors"].is_null(),
        "cached answers are still served"
    );
    assert!(
        ask(b.clone(), "SG").await["errors"].is_null(),
        "another merchant has its own budget"
    );
    assert_eq!(consults().await, 4);
}

async fn a_journaled_notification_is_verified_again_from_its_stored_bytes_and_headers(backend: Backend) {
    use plusflow::alipayplus::inbound::verify_recorded;
    use plusflow::store::entity::inbound;
    use sea_orm::EntityTrait;
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let (_, key) = app.merchant("Journal");
    let (_, request_id) = app.paid_payment(&key, "journal", "1000").await;
    let rows = inbound::Entity::find().all(&app.engine.db).await.unwrap();
    let row = rows
        .iter()
        .find(|row| row.reference == request_id)
        .expect("the notification journaled");
    let keys = VerifyingKeys::single(
        VerifyingKeys::read_pem(&fixture("test-alipayplus-public.pem")).unwrap(),
        "1",
    );
    let (raw, headers, path) = (
        row.raw_body.as_deref().expect("bytes kept"),
        row.signature_headers.as_ref().expect("headers kept"),
        row.signed_path.as_deref().expect("path kept"),
    );
    assert_eq!(path, "/alipayplus/notifyPayment");
    assert_eq!(serde_json::from_slice::<Value>(raw).unwrap(), row.body);
    verify_recorded(&keys, path, headers, raw).expect("verifies again from what was stored");
    let mut tampered = raw.to_vec();
    let last = tampered.len() - 2;
    tampered[last] ^= 1;
    assert!(
        verify_recorded(&keys, path, headers, &tampered).is_err(),
        "one changed byte fails"
    );
    assert!(
        verify_recorded(&keys, "/alipayplus/other", headers, raw).is_err(),
        "the path is covered"
    );
}

async fn the_simulator_never_runs_on_a_database_that_served_alipayplus(backend: Backend) {
    let Some(env) = TestEnv::new(backend, Options::default()).await else {
        return;
    };
    let config = env.config_path.to_str().unwrap();
    let engine = plusflow::cli::boot(&env.config(), Arc::new(plusflow::clock::SystemClock))
        .await
        .unwrap();
    if backend == Backend::PostgresRedis {
        let (code, _, stderr) = run_plusflow(&["--config", config, "serve"]);
        assert_ne!(code, 0);
        assert!(stderr.contains("--allow-simulator"), "{stderr}");
    }
    plusflow::store::marks::set(
        &engine.db,
        plusflow::store::marks::SERVED_ALIPAYPLUS,
        "https://open-sea-global.alipayplus.com/",
        chrono::Utc::now(),
    )
    .await
    .unwrap();
    for command in [
        vec!["serve", "--allow-simulator"],
        vec!["demo", "--allow-simulator"],
        vec!["bench", "engine", "--instances", "10"],
    ] {
        let mut args = vec!["--config", config];
        args.extend(command.iter().copied());
        let (code, _, stderr) = run_plusflow(&args);
        assert_ne!(code, 0, "{command:?}");
        assert!(
            stderr.contains("served the Alipay+ gateway"),
            "{command:?}: {stderr}"
        );
    }
    let probes = plusflow::store::count_instances(&engine.db, "engine_probe")
        .await
        .unwrap();
    assert_eq!(probes.total, 0, "the bench started nothing");
}

async fn a_nested_refund_payment_query_reads_each_object_once(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let (merchant_id, key) = app.merchant("Nested");
    let (payment_id, _) = app.paid_payment(&key, "nested", "1000").await;
    app.refund(&key, "r1", &payment_id, "USD", "100").await;
    app.refund(&key, "r2", &payment_id, "USD", "200").await;
    let refund_id = app.refunds_of(&key, &payment_id).await["refunds"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();

    // The same database under a schema whose every statement is counted.
    let config = app.env.config();
    let statements = Arc::new(AtomicUsize::new(0));
    let mut db = plusflow::store::connect(&config).await.unwrap();
    let counter = statements.clone();
    db.set_metric_callback(move |_| {
        counter.fetch_add(1, Ordering::SeqCst);
    });
    let engine = plusflow::app::Engine::new(
        db,
        config.definitions.clone(),
        Arc::new(plusflow::clock::SystemClock),
    );
    let schema = app.schema_over(engine.clone());
    let merchant = plusflow::store::merchants::merchant(&engine.db, merchant_id.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    let reads = |depth: usize| {
        let (schema, merchant, statements) = (schema.clone(), merchant.clone(), statements.clone());
        let mut selection = "id".to_string();
        for _ in 0..depth {
            selection = format!(
                "id refundedAmount {{ value }} refunds {{ id amount {{ value }} payment {{ {selection} }} }}"
            );
        }
        let query = format!("{{ refund(id: \"{refund_id}\") {{ id payment {{ {selection} }} }} }}");
        async move {
            let before = statements.load(Ordering::SeqCst);
            let request = async_graphql::Request::new(query)
                .data(plusflow::app::auth::Principal::Merchant(Box::new(merchant)));
            let answer = schema.execute(request).await;
            assert!(answer.errors.is_empty(), "{:?}", answer.errors);
            statements.load(Ordering::SeqCst) - before
        }
    };
    let shallow = reads(1).await;
    let deep = reads(3).await;
    assert!(
        shallow <= 4,
        "a refund, its payment and its refunds: {shallow} statements"
    );
    assert_eq!(deep, shallow, "three levels deeper read nothing more");
}
