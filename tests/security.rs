//! The security pass, each item attacked for real over HTTP on SQLite and on PostgreSQL + Redis:
//! bounded requests (body size, GraphQL depth, complexity, aliases, batches), replay-proof and
//! non-echoing Alipay+ routes, errors that reveal nothing of the database, and secrets that
//! never print.

mod common;

use std::time::Duration;

use chrono::Utc;
use plusflow::alipayplus::signing::{SignatureHeader, SigningKey, VerifyingKeys, timestamp};
use sea_orm::{ConnectionTrait, EntityTrait, PaginatorTrait};
use serde_json::{Value, json};

use common::app::*;
use common::operators::operator_key;
use common::{Backend, wait_for};

on_each_backend!(
    a_ten_megabyte_body_is_refused_with_413_before_authentication_and_stores_nothing,
    queries_too_deep_too_complex_or_too_aliased_are_refused_with_a_code_and_run_nothing,
    a_notification_replayed_outside_the_request_time_window_is_refused_and_stored_nowhere,
    refusals_before_verification_echo_nothing_and_cost_one_signature_per_kind,
    a_database_failure_while_checking_a_key_is_unavailable_and_names_nothing_of_the_database,
    a_redirect_url_that_is_not_a_web_page_is_refused_and_nothing_stored,
    an_operator_cancels_a_payment_only_with_a_note_and_is_named_in_its_history,
    a_nul_in_an_id_is_refused_naming_the_field_and_an_invisible_note_is_no_note,
    a_signed_alipayplus_call_that_is_not_json_is_refused_and_stored_nowhere,
    guessing_keys_from_one_address_is_slowed_down,
);

async fn journal_rows(app: &App) -> u64 {
    plusflow::store::entity::inbound::Entity::find()
        .count(&app.engine.db)
        .await
        .unwrap()
}

async fn a_ten_megabyte_body_is_refused_with_413_before_authentication_and_stores_nothing(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    // A 10 MB body announced, 64 KiB of it sent: the answer comes without the rest being read.
    for path in ["/graphql", "/alipayplus/notifyPayment"] {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let address = app.base.strip_prefix("http://").unwrap();
        let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\n\r\n",
            10 * 1024 * 1024
        );
        stream.write_all(head.as_bytes()).await.unwrap();
        stream.write_all(&vec![b' '; 64 * 1024]).await.unwrap();
        let mut answer = vec![0u8; 512];
        let read = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut answer))
            .await
            .expect("an answer before the body is complete")
            .unwrap();
        let status_line = String::from_utf8_lossy(&answer[..read])
            .lines()
            .next()
            .unwrap_or("")
            .to_string();
        assert_eq!(status_line, "HTTP/1.1 413 Payload Too Large", "{path}");
    }
    // A body within the limit still reaches GraphQL (and is refused there for want of a key).
    let small = app
        .gql(None, "{ payments { edges { node { id } } } }", json!({}))
        .await;
    assert_eq!(
        small["errors"][0]["extensions"]["code"], "UNAUTHENTICATED",
        "{small}"
    );
    assert_eq!(app.payment_count().await, 0);
    assert_eq!(journal_rows(&app).await, 0);
}

async fn queries_too_deep_too_complex_or_too_aliased_are_refused_with_a_code_and_run_nothing(
    backend: Backend,
) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let (_, key) = app.merchant("Limits");
    let (id, _) = app.paid_payment(&key, "limits", "1000").await;
    let refund = app.refund(&key, "limits-refund", &id, "USD", "100").await;
    assert!(refund["errors"].is_null(), "{refund}");

    // The deepest query a merchant needs passes: a payment's refunds, each with its payment.
    let needed = app
        .gql(
            Some(&key),
            "query($id: ID!) { payment(id: $id) { id refunds { id payment { id refunds { id status } } } } }",
            json!({ "id": id }),
        )
        .await;
    assert!(needed["errors"].is_null(), "{needed}");
    assert_eq!(needed["data"]["payment"]["refunds"][0]["payment"]["id"], id);

    let mut deep = "id".to_string();
    for _ in 0..8 {
        deep = format!("id refunds {{ payment {{ {deep} }} }}");
    }
    let too_deep = app
        .gql(
            Some(&key),
            &format!("query($id: ID!) {{ payment(id: $id) {{ {deep} }} }}"),
            json!({ "id": id }),
        )
        .await;
    assert_eq!(
        too_deep["errors"][0]["extensions"]["code"], "QUERY_TOO_COMPLEX",
        "{too_deep}"
    );
    assert!(too_deep["data"].is_null(), "{too_deep}");

    let fields = (0..600).map(|i| format!("f{i}: __typename")).collect::<Vec<_>>();
    let too_complex = app
        .gql(Some(&key), &format!("{{ {} }}", fields.join(" ")), json!({}))
        .await;
    assert_eq!(
        too_complex["errors"][0]["extensions"]["code"], "QUERY_TOO_COMPLEX",
        "{too_complex}"
    );

    // 31 createPayment calls under aliases: refused whole, not one payment made.
    let before = app.payment_count().await;
    let creates = (0..31)
        .map(|i| {
            format!(
                "c{i}: createPayment(input: {{ merchantOrderId: \"alias-{i}\", orderDescription: \"x\", \
                 amount: {{ currency: \"USD\", value: \"100\" }}, terminalType: WEB, \
                 redirectUrl: \"https://shop.example/return\" }}, idempotencyKey: \"alias-{i}\") {{ id }}"
            )
        })
        .collect::<Vec<_>>();
    let aliased = app
        .gql(
            Some(&key),
            &format!("mutation {{ {} }}", creates.join(" ")),
            json!({}),
        )
        .await;
    assert_eq!(
        aliased["errors"][0]["extensions"]["code"], "QUERY_TOO_COMPLEX",
        "{aliased}"
    );
    assert_eq!(app.payment_count().await, before, "nothing created");

    // A batch (a JSON array of requests) is not accepted.
    let batch = reqwest::Client::new()
        .post(format!("{}/graphql", app.base))
        .bearer_auth(&key)
        .json(&json!([{ "query": "{ __typename }" }, { "query": "{ __typename }" }]))
        .send()
        .await
        .unwrap();
    assert_eq!(batch.status(), 400);
}

async fn a_notification_replayed_outside_the_request_time_window_is_refused_and_stored_nowhere(
    backend: Backend,
) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let (_, key) = app.merchant("Replay");
    let created = app.create(&key, "replay", input("replay", "1000")).await;
    let created = &created["data"]["createPayment"];
    let (id, request_id) = (
        created["id"].as_str().unwrap(),
        created["paymentRequestId"].as_str().unwrap(),
    );
    app.wait_status(&key, id, "AWAITING_CUSTOMER").await;
    let paid = serde_json::to_vec(&json!({
        "paymentResult": { "resultCode": "SUCCESS", "resultStatus": "S" },
        "paymentRequestId": request_id, "paymentId": "2026REPLAY",
        "paymentAmount": { "currency": "USD", "value": "1000" }
    }))
    .unwrap();
    let path = "/alipayplus/notifyPayment";
    let result = |response: reqwest::Response| async move {
        let answer: Value = response.json().await.unwrap();
        answer["result"].clone()
    };

    let stale = timestamp(Utc::now() - chrono::Duration::minutes(10));
    let replayed = result(signed_call(&app, path, "", &stale, paid.clone()).await).await;
    assert_eq!(replayed["resultStatus"], "F", "{replayed}");
    assert_eq!(replayed["resultCode"], "INVALID_SIGNATURE", "{replayed}");
    let early = timestamp(Utc::now() + chrono::Duration::minutes(10));
    let from_the_future = result(signed_call(&app, path, "", &early, paid.clone()).await).await;
    assert_eq!(
        from_the_future["resultCode"], "INVALID_SIGNATURE",
        "{from_the_future}"
    );
    let garbled = result(signed_call(&app, path, "", "yesterday", paid.clone()).await).await;
    assert_eq!(garbled["resultCode"], "PARAM_ILLEGAL", "{garbled}");
    let now = timestamp(Utc::now());
    let with_query =
        result(signed_call(&app, path, "?paymentRequestId=other", &now, paid.clone()).await).await;
    assert_eq!(with_query["resultCode"], "PARAM_ILLEGAL", "{with_query}");

    assert_eq!(app.payment(&key, id).await["status"], "AWAITING_CUSTOMER");
    assert_eq!(journal_rows(&app).await, 0, "nothing journaled");

    // The same notification, sent now, is what settles the payment.
    let fresh = result(signed_call(&app, path, "", &timestamp(Utc::now()), paid).await).await;
    assert_eq!(fresh["resultStatus"], "S", "{fresh}");
    app.wait_status(&key, id, "SUCCEEDED").await;
}

async fn refusals_before_verification_echo_nothing_and_cost_one_signature_per_kind(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let attack = |client_id: &'static str| {
        let base = app.base.clone();
        async move {
            reqwest::Client::new()
                .post(format!("{base}/alipayplus/notifyPayment"))
                .header("Content-Type", "application/json")
                .header("Client-Id", client_id)
                .header("Request-Time", timestamp(Utc::now()))
                .header("Signature", "algorithm=RSA256,keyVersion=<evil>,signature=AAAA")
                .body(r#"{"paymentRequestId":"<evil>"}"#)
                .send()
                .await
                .unwrap()
        }
    };
    for client_id in ["<evil-client>", CLIENT_ID] {
        let answered = attack(client_id).await;
        let signature = answered.headers()["signature"].to_str().unwrap().to_string();
        let text = answered.text().await.unwrap();
        assert!(text.contains("\"resultStatus\":\"F\""), "{text}");
        assert!(!text.contains("evil"), "no attacker text echoed: {text}");
        assert!(!signature.is_empty());
    }
    // Refusals of one kind within one second are the same bytes, signed once: two answers in
    // the same second carry the same signature (a second's boundary may fall between a pair).
    let mut same_second_pairs = 0;
    for _ in 0..5 {
        let (first, second) = (attack("<evil-client>").await, attack("<evil-client>").await);
        let header =
            |response: &reqwest::Response, name: &str| response.headers()[name].to_str().unwrap().to_string();
        if header(&first, "response-time") == header(&second, "response-time") {
            same_second_pairs += 1;
            assert_eq!(header(&first, "signature"), header(&second, "signature"));
        }
    }
    assert!(same_second_pairs > 0, "some pair fell within one second");
    assert_eq!(journal_rows(&app).await, 0);
}

async fn a_database_failure_while_checking_a_key_is_unavailable_and_names_nothing_of_the_database(
    backend: Backend,
) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    // A merchant this process has never seen, so its key is looked up in the database.
    let (_, key) = app.merchant("Outage");
    let rename = |from: &str, to: &str| {
        let statement = format!("ALTER TABLE {from} RENAME TO {to}");
        let db = app.engine.db.clone();
        async move { db.execute_unprepared(&statement).await.unwrap() }
    };
    rename("merchants", "merchants_away").await;
    let answer = app
        .gql(Some(&key), "{ payments { edges { node { id } } } }", json!({}))
        .await;
    rename("merchants_away", "merchants").await;
    let error = &answer["errors"][0];
    assert_eq!(error["extensions"]["code"], "UNAVAILABLE", "{answer}");
    let text = answer.to_string().to_lowercase();
    for leak in ["merchants", "relation", "table", "sql", "postgres", "sqlite"] {
        assert!(!text.contains(leak), "'{leak}' in {answer}");
    }
    // Once the database answers again, the same key works.
    wait_for("the key to work again", Duration::from_secs(10), || async {
        app.gql(Some(&key), "{ payments { edges { node { id } } } }", json!({}))
            .await["errors"]
            .is_null()
    })
    .await;
    let ready: Value = reqwest::get(format!("{}/health/ready", app.base))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ready["database"], "ok", "{ready}");
}

#[test]
fn configuration_merchants_and_principals_print_without_their_secrets() {
    use plusflow::app::auth::Principal;
    use plusflow::store::entity::merchant;
    let settings = "[database]\nurl = \"postgres://plusflow:db-password-123@db.internal/plusflow\"\n\
         [redis]\nurl = \"redis://:redis-password-456@cache.internal:6379\"\n\
         [admin]\napi_key = \"admin-key-789-0123456789abcdef0123456789\"\n";
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("secrets.toml");
    std::fs::write(&file, settings).unwrap();
    let config = plusflow::config::Config::load(Some(&file)).unwrap();
    let merchant = merchant::Model::new(
        uuid::Uuid::now_v7(),
        "Shop".into(),
        "hash-of-the-key-000".into(),
        Utc::now(),
    );
    let mut endpoint = plusflow::app::webhook_endpoints::new_endpoint(
        merchant.id,
        "https://shop.example/hooks".into(),
        serde_json::json!([]),
        None,
        Utc::now(),
    )
    .endpoint;
    endpoint.secret = "whsec_secret-111".into();
    endpoint.previous_secret = Some("whsec_previous-222".into());
    let printed = format!(
        "{config:?} {config:#?} {merchant:?} {:?} {endpoint:?}",
        Principal::Merchant(Box::new(merchant.clone()))
    );
    for secret in [
        "db-password-123",
        "redis-password-456",
        "admin-key-789-0123456789abcdef0123456789",
        "hash-of-the-key-000",
        "secret-111",
        "previous-222",
    ] {
        assert!(!printed.contains(secret), "'{secret}' printed");
    }
    assert!(
        printed.contains("db.internal"),
        "the rest still prints: {printed}"
    );
}

#[test]
fn a_private_key_under_2048_bits_is_a_configuration_error_listed_with_the_others() {
    use rsa::pkcs8::EncodePrivateKey;
    let dir = tempfile::tempdir().unwrap();
    let mut rng = rsa::rand_core::UnwrapErr(getrandom::SysRng);
    let short = rsa::PrivateKey::new(&mut rng, 1024).unwrap();
    let key_file = dir.path().join("short.pem");
    std::fs::write(
        &key_file,
        short.to_pkcs8_pem(Default::default()).unwrap().as_bytes(),
    )
    .unwrap();
    let settings = format!(
        "[alipayplus]\ngateway_url = \"https://open-sea-global.alipayplus.com\"\n\
         private_key_file = \"{}\"\npublic_key_file = \"{}\"\n[jobs]\nlease = \"abc\"\n\
         [admin]\napi_key = \"a\"\n",
        key_file.display(),
        fixture("test-alipayplus-public.pem").display()
    );
    let file = dir.path().join("short-key.toml");
    std::fs::write(&file, settings).unwrap();
    let problems = plusflow::config::Config::load(Some(&file)).unwrap_err().0;
    assert!(
        problems
            .iter()
            .any(|p| p.starts_with("alipayplus.private_key_file:") && p.contains("1024-bit")),
        "{problems:?}"
    );
    assert!(
        problems.iter().any(|p| p.starts_with("jobs.lease:")),
        "listed with the others: {problems:?}"
    );
    // Issue 29, item 11: a guessable admin key is refused.
    assert!(
        problems
            .iter()
            .any(|p| p.starts_with("admin.api_key:") && p.contains("at least 32")),
        "{problems:?}"
    );
}

/// `settings` (TOML) loaded as the configuration: the problems, or the configuration.
fn load(settings: &str) -> Result<plusflow::config::Config, Vec<String>> {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("plusflow.toml");
    std::fs::write(&file, settings).unwrap();
    plusflow::config::Config::load(Some(&file)).map_err(|e| e.0)
}

#[test]
fn the_alipayplus_mode_needs_https_a_gateway_and_keys_and_the_two_key_versions_are_separate() {
    let keys = format!(
        "private_key_file = \"{}\"\npublic_key_file = \"{}\"\n",
        fixture("test-acqp-private.pem").display(),
        fixture("test-alipayplus-public.pem").display()
    );
    let problems = load(&format!(
        "[server]\npublic_url = \"http://acqp.example\"\n\
         [alipayplus]\nmode = \"alipayplus\"\ngateway_url = \"http://open-sea-global.alipayplus.com\"\n{keys}"
    ))
    .unwrap_err();
    for key in [
        "alipayplus.gateway_url: must be https",
        "server.public_url: must be https",
    ] {
        assert!(problems.iter().any(|p| p.starts_with(key)), "{key}: {problems:?}");
    }
    let problems = load("[alipayplus]\nmode = \"alipayplus\"\n").unwrap_err();
    for key in ["alipayplus.gateway_url: required", "crypto.key_file: required"] {
        assert!(problems.iter().any(|p| p.starts_with(key)), "{key}: {problems:?}");
    }
    // A bad data key list is named by its line, never shown.
    let problems = load("[crypto]\nkeys = \"k1=c2VjcmV0LWJ1dC1zaG9ydA==\"\n").unwrap_err();
    assert!(
        problems
            .iter()
            .any(|p| p.starts_with("crypto.keys: line 1: a key is 32 bytes")),
        "{problems:?}"
    );
    assert!(!format!("{problems:?}").contains("c2VjcmV0"), "{problems:?}");
    let problems = load("[alipayplus]\nmode = \"production\"\n").unwrap_err();
    assert!(
        problems.iter().any(|p| p.starts_with("alipayplus.mode:")),
        "{problems:?}"
    );
    // The simulator mode takes plain http (a `plusflow simulator` on this machine).
    assert!(
        load(&format!(
            "[alipayplus]\ngateway_url = \"http://127.0.0.1:9090\"\n{keys}"
        ))
        .is_ok()
    );

    // Our keyVersion is what we sign with; Alipay+'s is what its signatures must name.
    let config = load(&format!(
        "[server]\npublic_url = \"https://acqp.example/plusflow\"\n\
         [alipayplus]\nmode = \"alipayplus\"\ngateway_url = \"https://open-sea-global.alipayplus.com\"\n\
         key_version = \"7\"\nalipayplus_key_version = \"3\"\n{keys}\
         [crypto]\nkeys = \"2026-12=AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\"\n"
    ))
    .unwrap();
    assert_eq!(config.data_keys.current_id(), "2026-12");
    let gateway = config.alipayplus.gateway.expect("a gateway");
    let ours = gateway.signing_key.signature_header(b"content");
    assert!(ours.contains("keyVersion=7"), "{ours}");
    let theirs = SigningKey::from_pem_file(&fixture("test-alipayplus-private.pem"), "3").unwrap();
    let signed = |version: &str| {
        let mut header: SignatureHeader = theirs.signature_header(b"content").parse().unwrap();
        header.key_version = Some(version.into());
        header
    };
    assert!(gateway.alipayplus_keys.verify(&signed("3"), b"content").is_ok());
    assert!(
        gateway.alipayplus_keys.verify(&signed("7"), b"content").is_err(),
        "our version does not name Alipay+'s key"
    );
}

#[test]
fn under_a_path_prefix_requests_are_verified_and_answers_signed_over_the_path_alipayplus_called() {
    use plusflow::alipayplus::inbound::{Endpoint, verify_answer};
    use plusflow::alipayplus::signing::content_to_sign;
    use plusflow::alipayplus::wire::ResultResponse;
    let alipayplus = SigningKey::from_pem_file(&fixture("test-alipayplus-private.pem"), "1").unwrap();
    let ours = SigningKey::from_pem_file(&fixture("test-acqp-private.pem"), "1").unwrap();
    let public = |file: &str| VerifyingKeys::single(VerifyingKeys::read_pem(&fixture(file)).unwrap(), "1");
    let endpoint = Endpoint::new(
        CLIENT_ID.into(),
        public("test-alipayplus-public.pem"),
        ours,
        std::sync::Arc::new(plusflow::clock::SystemClock),
    )
    .with_public_path(&"https://acqp.example/plusflow/".parse().unwrap());
    let body = br#"{"result":{"resultCode":"SUCCESS","resultStatus":"S"}}"#;
    let time = timestamp(Utc::now());
    let request = |signed_path: &str| {
        let content = content_to_sign("POST", signed_path, CLIENT_ID, &time, body);
        let mut headers = http::HeaderMap::new();
        headers.insert("content-type", "application/json".parse().unwrap());
        headers.insert("client-id", CLIENT_ID.parse().unwrap());
        headers.insert("request-time", time.parse().unwrap());
        headers.insert(
            "signature",
            alipayplus.signature_header(&content).parse().unwrap(),
        );
        headers
    };
    // The proxy strips /plusflow; Alipay+ signed the URL we gave it, prefix included.
    let route = "/alipayplus/notifyPayment";
    let called = "/plusflow/alipayplus/notifyPayment";
    assert!(
        endpoint
            .verify::<ResultResponse>(route, &request(called), body)
            .is_ok()
    );
    assert!(
        endpoint
            .verify::<ResultResponse>(route, &request(route), body)
            .is_err()
    );
    let (_, headers, answer) = endpoint.answer(
        route,
        &ResultResponse {
            result: plusflow::alipayplus::wire::ResultInfo::success(),
        },
    );
    let acqp = public("test-acqp-public.pem");
    assert!(verify_answer(&acqp, called, CLIENT_ID, &headers, &answer).is_ok());
}

/// Issue 29, item 10: the customer's browser is sent to `redirectUrl`, so only https (http with
/// the simulator) is taken: `javascript:`, `data:`, `file:` and `vbscript:` are refused naming
/// the field, and nothing is stored.
async fn a_redirect_url_that_is_not_a_web_page_is_refused_and_nothing_stored(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let (_, key) = app.merchant("Redirects");
    for (n, url) in [
        "javascript:alert(document.cookie)",
        "data:text/html,<script>alert(1)</script>",
        "file:///etc/passwd",
        "vbscript:msgbox(1)",
        "ftp://shop.example/return",
    ]
    .iter()
    .enumerate()
    {
        let mut payment = input(&format!("redirect-{n}"), "1000");
        payment["redirectUrl"] = json!(url);
        let refused = app.create(&key, &format!("redirect-{n}"), payment).await;
        assert_eq!(
            refused["errors"][0]["extensions"]["code"], "VALIDATION",
            "{url}: {refused}"
        );
        assert_eq!(
            refused["errors"][0]["extensions"]["field"], "redirectUrl",
            "{url}"
        );
    }
    assert_eq!(app.payment_count().await, 0);
    let mut plain_http = input("redirect-http", "1000");
    plain_http["redirectUrl"] = json!("http://127.0.0.1:9/return");
    let taken = app.create(&key, "redirect-http", plain_http).await;
    assert!(
        taken["errors"].is_null(),
        "http is fine with the simulator: {taken}"
    );
}

/// Issue 29, item 7: every operator action takes a note and names the operator, cancelPayment
/// included.
async fn an_operator_cancels_a_payment_only_with_a_note_and_is_named_in_its_history(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let (_, key) = app.merchant("Cancelled by an operator");
    let (id, _) = awaiting_payment(&app, &key, "op-cancel", 599).await;
    let alice = operator_key(&app, "alice");
    let cancel = "mutation($id: ID!, $note: String) { cancelPayment(id: $id, note: $note) { status } }";
    for note in [json!(null), json!("   "), json!("\u{200b}")] {
        let refused = app
            .gql(Some(&alice), cancel, json!({ "id": id, "note": note }))
            .await;
        assert_eq!(refused["errors"][0]["extensions"]["field"], "note", "{refused}");
    }
    assert_eq!(
        app.payment(&key, &id).await["status"],
        "AWAITING_CUSTOMER",
        "nothing changed"
    );
    let done = app
        .gql(
            Some(&alice),
            cancel,
            json!({ "id": id, "note": "customer asked by phone" }),
        )
        .await;
    assert!(done["errors"].is_null(), "{done}");
    let history = app
        .gql(
            Some(ADMIN_KEY),
            "query($id: ID!) { workflow(id: $id) { history { event actor note } } }",
            json!({ "id": id }),
        )
        .await;
    let requested: Vec<&Value> = history["data"]["workflow"]["history"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|h| h["event"] == "cancel_requested")
        .collect();
    assert_eq!(requested.len(), 1, "{history}");
    assert_eq!(requested[0]["actor"], "admin:alice");
    assert_eq!(requested[0]["note"], "customer asked by phone");
    // Issue 29, item 12: the merchant sees that an operator acted, not who or the note.
    let seen_by_merchant = app
        .gql(
            Some(&key),
            "query($id: ID!) { payment(id: $id) { workflow { history { event actor note detail } } } }",
            json!({ "id": id }),
        )
        .await;
    let requested: Vec<&Value> = seen_by_merchant["data"]["payment"]["workflow"]["history"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|h| h["event"] == "cancel_requested")
        .collect();
    assert_eq!(
        requested[0],
        &json!({ "event": "cancel_requested", "actor": "operator", "note": null, "detail": null })
    );
}

/// Issue 29, item 12 (in part): a NUL in an id (which PostgreSQL cannot store) is refused naming
/// the field, nothing stored; a zero-width space is no note.
async fn a_nul_in_an_id_is_refused_naming_the_field_and_an_invisible_note_is_no_note(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let (_, key) = app.merchant("Controls");
    let refused = app.create(&key, "nul-order", input("order\u{0}1", "1000")).await;
    assert_eq!(
        refused["errors"][0]["extensions"]["field"], "merchantOrderId",
        "{refused}"
    );
    let refused = app.create(&key, "key\u{0}1", input("order-1", "1000")).await;
    assert_eq!(
        refused["errors"][0]["extensions"]["field"], "idempotencyKey",
        "{refused}"
    );
    assert_eq!(app.payment_count().await, 0);
    let (id, _) = awaiting_payment(&app, &key, "invisible-note", 599).await;
    let refused = app
        .gql(
            Some(ADMIN_KEY),
            "mutation($id: ID!) { retryWorkflow(id: $id, note: \"\u{200b}\u{2060}\") { id } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(refused["errors"][0]["extensions"]["field"], "note", "{refused}");
}

/// Issue 29, item 12 (in part): a correctly signed call to an Alipay+ route that does not declare
/// a JSON body is refused before anything is read or stored.
async fn a_signed_alipayplus_call_that_is_not_json_is_refused_and_stored_nowhere(backend: Backend) {
    use plusflow::alipayplus::signing::content_to_sign;
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let (_, key) = app.merchant("Content types");
    let (_, request_id) = awaiting_payment(&app, &key, "typed", 599).await;
    let body = serde_json::to_vec(&json!({
        "paymentResult": { "resultCode": "SUCCESS", "resultStatus": "S" },
        "paymentRequestId": request_id, "paymentAmount": { "currency": "USD", "value": "1000" },
    }))
    .unwrap();
    let path = "/alipayplus/notifyPayment";
    let time = timestamp(Utc::now());
    let signing = SigningKey::from_pem_file(&fixture("test-alipayplus-private.pem"), "1").unwrap();
    let signature = signing.signature_header(&content_to_sign("POST", path, CLIENT_ID, &time, &body));
    for content_type in [
        None,
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
    ] {
        let mut request = reqwest::Client::new()
            .post(format!("{}{path}", app.base))
            .header("Client-Id", CLIENT_ID)
            .header("Request-Time", &time)
            .header("Signature", &signature)
            .body(body.clone());
        if let Some(content_type) = content_type {
            request = request.header("Content-Type", content_type);
        }
        let answer: Value = request.send().await.unwrap().json().await.unwrap();
        assert_eq!(
            answer["result"]["resultCode"], "PARAM_ILLEGAL",
            "{content_type:?}: {answer}"
        );
        assert_eq!(
            answer["result"]["resultMessage"],
            "Content-Type must be application/json"
        );
    }
    assert_eq!(journal_rows(&app).await, 0);
}

/// Issue 29, item 11 (in part): past 300 unknown keys in a minute from one address, that
/// address's requests with a key are refused RATE_LIMITED without the key being checked.
async fn guessing_keys_from_one_address_is_slowed_down(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let (_, key) = app.merchant("Guessed");
    let ask = |key: String| {
        let (http, url) = (app.http.clone(), format!("{}/graphql", app.base));
        async move {
            let answer: Value = http
                .post(url)
                .bearer_auth(key)
                .json(&json!({ "query": "{ payments(first: 1) { edges { node { id } } } }" }))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            answer["errors"][0]["extensions"]["code"]
                .as_str()
                .map(str::to_string)
        }
    };
    assert_eq!(ask(key.clone()).await, None, "the right key works");
    let mut codes = Vec::new();
    for n in 0..310 {
        codes.push(ask(format!("pk_guess{n:04}")).await.unwrap_or_default());
    }
    assert!(
        codes[..300].iter().all(|c| c == "UNAUTHENTICATED"),
        "{:?}",
        &codes[..5]
    );
    assert!(
        codes[300..].iter().all(|c| c == "RATE_LIMITED"),
        "{:?}",
        &codes[300..]
    );
    // The address is slowed down as a whole: its keys are not checked until the minute is over.
    assert_eq!(ask(key).await.as_deref(), Some("RATE_LIMITED"));
}
