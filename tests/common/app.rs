//! The payment test harness: plusflow (API + workers, in this process) against a simulator of
//! its own on real HTTP with the test keys, optionally behind a proxy that makes chosen Alipay+
//! APIs unreachable, and the merchant's calls a test makes (GraphQL, simulator controls).

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use plusflow::alipayplus::signing::{SigningKey, VerifyingKeys, content_to_sign, timestamp};
use plusflow::app::Engine;
use plusflow::cli::{Role, Running, boot, start};
use plusflow::clock::{ManualClock, SharedClock, SystemClock};
use plusflow::simulator::{AutoComplete, Chaos, Simulator, SimulatorConfig};
use serde_json::{Value, json};

use super::{Backend, Options, TestEnv, poll_until};

pub const CLIENT_ID: &str = "TEST_ACQP_CLIENT";
pub const ADMIN_KEY: &str = "test-admin-key-0123456789abcdef01234567";

pub struct App {
    pub base: String,
    pub simulator_base: String,
    pub engine: Engine,
    pub env: TestEnv,
    /// One client (one connection pool) for every call the test makes.
    pub http: reqwest::Client,
    /// What the proxy refuses or holds now (see [`Setup::refused`], [`Setup::held`]).
    gate: Arc<Gate>,
    /// This app's API, relay and workers, until [`App::stop_serving`].
    running: Option<Running>,
    _simulator: Simulator,
}

pub fn fixture(file: &str) -> std::path::PathBuf {
    std::fs::canonicalize(Path::new("tests/fixtures/keys").join(file)).unwrap()
}

/// Alipay+'s simulator as its own server on this machine, paying every payment with success
/// (after `configure` changes what it wants), and `env`'s `[alipayplus]` pointing at it with the
/// test keys: the processes `env` spawns share it, as a deployment shares Alipay+.
pub async fn shared_simulator(env: &TestEnv, configure: impl FnOnce(&mut SimulatorConfig)) -> Simulator {
    let acqp = VerifyingKeys::single(
        VerifyingKeys::read_pem(&fixture("test-acqp-public.pem")).unwrap(),
        "1",
    );
    let signing = SigningKey::from_pem_file(&fixture("test-alipayplus-private.pem"), "1").unwrap();
    let mut config = SimulatorConfig::new(CLIENT_ID, acqp, signing);
    config.auto_complete = AutoComplete::Success;
    configure(&mut config);
    let simulator = Simulator::new(config, Arc::new(SystemClock));
    let (address, _) = simulator.serve("127.0.0.1", 0).await.unwrap();
    env.append_config(&format!(
        "\n[alipayplus]\ngateway_url = \"http://{address}\"\nclient_id = \"{CLIENT_ID}\"\nprivate_key_file = \"{}\"\n\
         public_key_file = \"{}\"\nslow_call_timeout = \"2s\"\ncall_timeout = \"2s\"\n",
        fixture("test-acqp-private.pem").display(),
        fixture("test-alipayplus-public.pem").display()
    ));
    simulator
}

/// plusflow (API + workers) against a simulator of its own, in gateway mode with test keys.
pub async fn spawn_app(backend: Backend) -> Option<App> {
    spawn_app_with(backend, Setup::default()).await
}

pub async fn spawn_app_with_chaos(backend: Backend, chaos: Chaos) -> Option<App> {
    spawn_app_with(
        backend,
        Setup {
            chaos,
            ..Setup::default()
        },
    )
    .await
}

/// plusflow against a simulator it reaches through a proxy that answers every call to the
/// Alipay+ API `refused` with 503 (Alipay+ unreachable for that call) and forwards the rest.
pub async fn spawn_app_refusing(backend: Backend, refused: &'static str) -> Option<App> {
    spawn_app_with(
        backend,
        Setup {
            refused: vec![refused],
            ..Setup::default()
        },
    )
    .await
}

/// How a test's plusflow and simulator differ from the well-behaved defaults.
#[derive(Default)]
pub struct Setup {
    pub chaos: Chaos,
    /// Alipay+ APIs the proxy answers with 503 until the test lets them through
    /// ([`App::let_through`]).
    pub refused: Vec<&'static str>,
    /// Alipay+ APIs whose calls the proxy holds (in flight, unanswered) until the test releases
    /// them ([`App::release`]); then they go on to the simulator.
    pub held: Vec<&'static str>,
    /// Alipay+ APIs whose calls reach the simulator but whose answers are lost (503 instead).
    pub answers_lost: Vec<&'static str>,
    /// The simulator's clock (Alipay+'s time), when the test moves it.
    pub simulator_clock: Option<ManualClock>,
    /// plusflow's clock (timers, deadlines), when the test moves it.
    pub engine_clock: Option<ManualClock>,
    /// The simulator's `time_scale` (its notification schedule, customs' delays), when not 1.
    pub simulator_time_scale: Option<f64>,
    /// The share of customs declarations the simulator's customs authority rejects.
    pub customs_reject_rate: f64,
    pub customs_unknown_status_rate: f64,
    /// The share of registrations each reviewing wallet rejects.
    pub registration_reject_rate: f64,
    /// A workflow folder other than the shipped one.
    pub workflows: Option<PathBuf>,
    /// Refuse webhooks to loopback and private addresses, as production does (tests' own
    /// receivers are on 127.0.0.1, so by default they are allowed).
    pub refuse_private_webhook_targets: bool,
    /// `webhooks.retry_for` when not 3 days (retries start at 100 ms here, capped at 1 s).
    pub webhook_retry_for: Option<&'static str>,
    /// More configuration (TOML sections this harness does not write itself).
    pub extra_config: &'static str,
    /// More `[server]` settings (TOML lines).
    pub server: &'static str,
}

pub async fn spawn_app_with(backend: Backend, setup: Setup) -> Option<App> {
    let workflows = setup
        .workflows
        .clone()
        .unwrap_or_else(|| PathBuf::from("workflows"));
    let options = Options {
        workflows: &workflows,
        server: setup.server,
        ..Options::default()
    };
    let env = TestEnv::new(backend, options).await?;
    let acqp = VerifyingKeys::single(
        VerifyingKeys::read_pem(&fixture("test-acqp-public.pem")).unwrap(),
        "1",
    );
    let signing = SigningKey::from_pem_file(&fixture("test-alipayplus-private.pem"), "1").unwrap();
    let mut config = SimulatorConfig::new(CLIENT_ID, acqp, signing);
    config.hang = Duration::from_secs(3);
    config.chaos = setup.chaos;
    if let Some(scale) = setup.simulator_time_scale {
        config.time_scale = scale;
    }
    config.customs_reject_rate = setup.customs_reject_rate;
    config.customs_unknown_status_rate = setup.customs_unknown_status_rate;
    config.registration_reject_rate = setup.registration_reject_rate;
    let simulator = Simulator::new(config, moved_or_system(&setup.simulator_clock));
    let (address, _) = simulator.serve("127.0.0.1", 0).await.unwrap();
    let simulator_base = format!("http://{address}");
    let names = |apis: &[&str]| apis.iter().map(|api| api.to_string()).collect::<HashSet<_>>();
    let gate = Arc::new(Gate {
        refused: Mutex::new(names(&setup.refused)),
        held: Mutex::new(names(&setup.held)),
        answers_lost: Mutex::new(names(&setup.answers_lost)),
        ..Gate::default()
    });
    let gateway = if setup.refused.is_empty() && setup.held.is_empty() && setup.answers_lost.is_empty() {
        simulator_base.clone()
    } else {
        gated_proxy(simulator_base.clone(), gate.clone()).await
    };
    let extra = format!(
        "\n[admin]\napi_key = \"{ADMIN_KEY}\"\n[alipayplus]\ngateway_url = \"{gateway}\"\nclient_id = \"{CLIENT_ID}\"\n\
         private_key_file = \"{}\"\npublic_key_file = \"{}\"\nslow_call_timeout = \"2s\"\ncall_timeout = \"2s\"\n\
         [webhooks]\nallow_private_targets = {}\nretry_backoff = \"100ms\"\nretry_cap = \"1s\"\nretry_for = \"{}\"\n",
        fixture("test-acqp-private.pem").display(),
        fixture("test-alipayplus-public.pem").display(),
        !setup.refuse_private_webhook_targets,
        setup.webhook_retry_for.unwrap_or("3d"),
    ) + setup.extra_config;
    env.append_config(&extra);
    let config = env.config();
    let engine = boot(&config, moved_or_system(&setup.engine_clock)).await.unwrap();
    let running = start(&config, engine.clone(), Role::All).await.unwrap();
    let base = format!("http://{}", running.api_address.unwrap());
    Some(App {
        base,
        simulator_base,
        engine,
        env,
        http: reqwest::Client::new(),
        gate,
        running: Some(running),
        _simulator: simulator,
    })
}

/// The test's clock if it moves one, the wall clock otherwise.
fn moved_or_system(clock: &Option<ManualClock>) -> SharedClock {
    match clock {
        Some(clock) => Arc::new(clock.clone()),
        None => Arc::new(SystemClock),
    }
}

/// What the test proxy does to calls by Alipay+ API name.
#[derive(Default)]
struct Gate {
    /// Answered 503 (Alipay+ unreachable for that call).
    refused: Mutex<HashSet<String>>,
    /// Held unanswered until released.
    held: Mutex<HashSet<String>>,
    /// Forwarded, then answered 503.
    answers_lost: Mutex<HashSet<String>>,
    /// Calls that arrived while held, by API.
    arrived_held: Mutex<std::collections::HashMap<String, usize>>,
    released: tokio::sync::Notify,
}

impl Gate {
    /// Waits while `api` is held (counting the call as arrived).
    async fn pass(&self, api: &str) {
        if !self.held.lock().unwrap().contains(api) {
            return;
        }
        *self
            .arrived_held
            .lock()
            .unwrap()
            .entry(api.to_string())
            .or_default() += 1;
        loop {
            let released = self.released.notified();
            tokio::pin!(released);
            released.as_mut().enable();
            if !self.held.lock().unwrap().contains(api) {
                return;
            }
            released.await;
        }
    }
}

/// Starts an HTTP proxy to `upstream` that answers 503 to `POST .../{api}` for each API the
/// gate refuses, holds the calls it holds, loses the answers it loses, and forwards everything
/// else unchanged (headers included, so signatures still verify); returns its URL.
async fn gated_proxy(upstream: String, gate: Arc<Gate>) -> String {
    use axum::body::Bytes;
    use axum::http::{HeaderMap, Method, StatusCode, Uri};
    use axum::response::IntoResponse;
    let http = reqwest::Client::new();
    let forward = move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
        let (http, upstream, gate) = (http.clone(), upstream.clone(), gate.clone());
        async move {
            let api = uri.path().rsplit('/').next().unwrap_or_default().to_string();
            if gate.refused.lock().unwrap().contains(&api) {
                return (StatusCode::SERVICE_UNAVAILABLE, "refused by the test proxy").into_response();
            }
            gate.pass(&api).await;
            let mut request = http.request(method, format!("{upstream}{uri}")).body(body);
            for (name, value) in headers.iter().filter(|(name, _)| *name != "host") {
                request = request.header(name, value);
            }
            let answer = request.send().await.unwrap();
            if gate.answers_lost.lock().unwrap().contains(&api) {
                return (StatusCode::SERVICE_UNAVAILABLE, "answer lost by the test proxy").into_response();
            }
            let status = answer.status();
            let headers = answer.headers().clone();
            (status, headers, answer.bytes().await.unwrap()).into_response()
        }
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, axum::Router::new().fallback(forward)).await });
    format!("http://{address}")
}

impl App {
    /// Lets calls to the Alipay+ API `api` through the proxy, and their answers back, from now on.
    pub fn let_through(&self, api: &str) {
        self.gate.refused.lock().unwrap().remove(api);
        self.gate.answers_lost.lock().unwrap().remove(api);
    }

    /// Lets the held calls to `api` (and later ones) go on to the simulator.
    pub fn release(&self, api: &str) {
        self.gate.held.lock().unwrap().remove(api);
        self.gate.released.notify_waiters();
    }

    /// How many calls to `api` the proxy has held so far.
    pub fn held_calls(&self, api: &str) -> usize {
        self.gate
            .arrived_held
            .lock()
            .unwrap()
            .get(api)
            .copied()
            .unwrap_or(0)
    }

    /// Has the simulator raise a dispute (`{"kind": ...}`, the contract's control route) on a
    /// payment; it sends the initiation, re-sent until answered: its `disputeRequestId`.
    pub async fn raise_dispute(&self, payment_request_id: &str, body: Value) -> String {
        let raised = self
            .http
            .post(format!(
                "{}/simulator/payments/{payment_request_id}/disputes",
                self.simulator_base
            ))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(raised.status().is_success(), "{}", raised.text().await.unwrap());
        let raised: Value = raised.json().await.unwrap();
        raised["disputeRequestId"].as_str().unwrap().to_string()
    }

    /// Answers retrieval `dispute` with every document (ALL_DOCUMENTS and a receipt).
    pub async fn respond_to_retrieval(
        &self,
        key: &str,
        dispute: &str,
        idempotency_key: &str,
        fields: &str,
    ) -> Value {
        self.gql(
            Some(key),
            &format!("mutation($input: RespondToRetrievalInput!, $key: String!) {{ respondToRetrieval(input: $input, idempotencyKey: $key) {{ {fields} }} }}"),
            json!({ "key": idempotency_key, "input": { "disputeId": dispute, "responseCode": "ALL_DOCUMENTS",
                    "transactionReceipt": "order 42: two lattes, 12.50 USD, paid 10:00" } }),
        )
        .await
    }

    /// A merchant made by the real command line: (id, API key).
    pub fn merchant(&self, name: &str) -> (String, String) {
        let created = self.create_merchant(&["--name", name]);
        (
            created["id"].as_str().unwrap().into(),
            created["apiKey"].as_str().unwrap().into(),
        )
    }

    /// A further API key of `merchant`, made by the real command line: `{"id", "apiKey", ...}`.
    pub fn another_key(&self, merchant: &str, label: &str) -> Value {
        self.plusflow(&[
            "merchant",
            "key",
            "create",
            "--merchant",
            merchant,
            "--label",
            label,
        ])
    }

    /// `plusflow merchant create ARGS`: its JSON line.
    pub fn create_merchant(&self, args: &[&str]) -> Value {
        let mut command = vec!["merchant", "create"];
        command.extend_from_slice(args);
        self.plusflow(&command)
    }

    /// `plusflow --config <this app's> ARGS`, which must succeed; its last line of output as JSON.
    pub fn plusflow(&self, args: &[&str]) -> Value {
        let (code, stdout, stderr) = self.plusflow_exit(args);
        assert_eq!(code, 0, "{stderr}");
        serde_json::from_str(stdout.trim().lines().last().unwrap_or("")).expect("a JSON line")
    }

    /// `plusflow --config <this app's> ARGS`, which must succeed; each line of output as JSON.
    pub fn plusflow_lines(&self, args: &[&str]) -> Vec<Value> {
        let (code, stdout, stderr) = self.plusflow_exit(args);
        assert_eq!(code, 0, "{stderr}");
        stdout
            .lines()
            .filter(|line| !line.trim().is_empty())
            .map(|line| serde_json::from_str(line).expect("a JSON line"))
            .collect()
    }

    /// `plusflow --config <this app's> ARGS`: exit code, stdout, stderr.
    pub fn plusflow_exit(&self, args: &[&str]) -> (i32, String, String) {
        let config = self.env.config_path.to_str().unwrap();
        let mut command = vec!["--config", config];
        command.extend_from_slice(args);
        super::run_plusflow(&command)
    }

    pub async fn gql(&self, key: Option<&str>, query: &str, variables: Value) -> Value {
        let mut request = self.http.post(format!("{}/graphql", self.base));
        if let Some(key) = key {
            request = request.bearer_auth(key);
        }
        let response = request
            .json(&json!({ "query": query, "variables": variables }))
            .send()
            .await
            .unwrap();
        response.json().await.unwrap()
    }

    pub async fn create(&self, key: &str, idempotency_key: &str, input: Value) -> Value {
        let query = "mutation($input: CreatePaymentInput!, $key: String!) { createPayment(input: $input, idempotencyKey: $key) \
                     { id paymentRequestId status checkoutUrl amount { currency value } } }";
        self.gql(
            Some(key),
            query,
            json!({ "input": input, "key": idempotency_key }),
        )
        .await
    }

    /// [`App::create`], which must succeed: the new payment's (id, paymentRequestId).
    pub async fn create_ids(&self, key: &str, idempotency_key: &str, input: Value) -> (String, String) {
        let created = self.create(key, idempotency_key, input).await;
        let payment = &created["data"]["createPayment"];
        let text = |field: &str| {
            payment[field]
                .as_str()
                .unwrap_or_else(|| panic!("{created}"))
                .to_string()
        };
        (text("id"), text("paymentRequestId"))
    }

    pub async fn payment(&self, key: &str, id: &str) -> Value {
        let query = "query($id: ID!) { payment(id: $id) { id status checkoutUrl failureCode walletBrandName paymentRequestId \
                     workflow { state needsAttention lastError history { event fromState toState outcome actor } } } }";
        self.gql(Some(key), query, json!({ "id": id })).await["data"]["payment"].clone()
    }

    /// Why workflow `id` waits for an operator (its `lastError`), as an operator reads it.
    pub async fn reason(&self, id: &str) -> String {
        let answer = self
            .gql(
                Some(ADMIN_KEY),
                "query($id: ID!) { workflow(id: $id) { lastError } }",
                json!({ "id": id }),
            )
            .await;
        answer["data"]["workflow"]["lastError"]
            .as_str()
            .unwrap_or_else(|| panic!("no reason: {answer}"))
            .to_string()
    }

    pub async fn wait_status(&self, key: &str, id: &str, status: &str) -> Value {
        self.wait_status_within(key, id, status, Duration::from_secs(60))
            .await
    }

    pub async fn wait_status_within(&self, key: &str, id: &str, status: &str, timeout: Duration) -> Value {
        let what = format!("payment {id} to reach {status}");
        poll_until(&what, timeout, || async {
            let payment = self.payment(key, id).await;
            (payment["status"] == status).then_some(())
        })
        .await;
        // Fields resolve separately: read again, so a final status comes with its whole history.
        self.payment(key, id).await
    }

    pub async fn complete(&self, request_id: &str, body: Value) {
        let url = format!("{}/simulator/payments/{request_id}/complete", self.simulator_base);
        let response = self.http.post(url).json(&body).send().await.unwrap();
        assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    }

    /// The operators' stuck list as an operator reads it: every workflow waiting for one (up to
    /// 100, oldest first), with its kind and pending effects.
    pub async fn stuck_list(&self) -> Vec<Value> {
        let query = "{ workflows(filter: {needsAttention: true}, first: 100) { edges { node { \
                     id kind state attentionReason pendingEffects { name attempts maxAttempts } } } } }";
        let listed = self.gql(Some(ADMIN_KEY), query, json!({})).await;
        listed["data"]["workflows"]["edges"]
            .as_array()
            .unwrap_or_else(|| panic!("the stuck list: {listed}"))
            .iter()
            .map(|edge| edge["node"].clone())
            .collect()
    }

    /// What an operator does about `workflow` from the stuck list: retries it when an effect ran
    /// out of attempts (the effect runs again, its attempts reset), resumes it otherwise (a
    /// deadline that passed unanswered is acknowledged, a hold lifted); with a note, as the
    /// actions require. Returns the action's name.
    pub async fn operator_resolves(&self, workflow: &Value) -> &'static str {
        let ran_out = workflow["pendingEffects"]
            .as_array()
            .unwrap()
            .iter()
            .any(|effect| effect["attempts"].as_i64() >= effect["maxAttempts"].as_i64());
        let action = if ran_out {
            "retryWorkflow"
        } else {
            "resumeWorkflow"
        };
        let note = format!("looked at: {}", workflow["attentionReason"]);
        let done = self
            .gql(
                Some(ADMIN_KEY),
                &format!("mutation($id: ID!, $note: String!) {{ {action}(id: $id, note: $note) {{ id needsAttention }} }}"),
                json!({ "id": workflow["id"], "note": note }),
            )
            .await;
        assert!(done["errors"].is_null(), "{action} on {workflow}: {done}");
        action
    }

    pub async fn ledger(&self) -> Value {
        reqwest::get(format!("{}/simulator/ledger", self.simulator_base))
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    pub async fn payment_count(&self) -> u64 {
        use sea_orm::{EntityTrait, PaginatorTrait};
        plusflow::store::entity::payment::Entity::find()
            .count(&self.engine.db)
            .await
            .unwrap()
    }
}

pub fn input(order: &str, value: &str) -> Value {
    json!({
        "merchantOrderId": order, "orderDescription": "Two lattes", "amount": { "currency": "USD", "value": value },
        "terminalType": "WEB", "redirectUrl": "https://shop.example/return"
    })
}

/// A payment of 10.00 USD waiting for its customer: (id, paymentRequestId).
pub async fn awaiting_payment(app: &App, key: &str, order: &str, expires_in: u32) -> (String, String) {
    let mut payment = input(order, "1000");
    payment["expiresInSeconds"] = json!(expires_in);
    let created = app.create(key, &format!("key-{order}"), payment).await;
    let created = &created["data"]["createPayment"];
    let id = created["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{created}"))
        .to_string();
    let request_id = created["paymentRequestId"].as_str().unwrap().to_string();
    app.wait_status(key, &id, "AWAITING_CUSTOMER").await;
    (id, request_id)
}

/// A notification as Alipay+ (the simulator's key) would sign it.
pub async fn send_notification(app: &App, request_id: &str, status: &str, code: &str) -> Value {
    send_signed_notification(
        app,
        json!({
            "paymentResult": { "resultCode": code, "resultStatus": status },
            "paymentRequestId": request_id, "paymentId": "2026LATE", "paymentAmount": { "currency": "USD", "value": "1000" }
        }),
    )
    .await
}

/// `body` sent to notifyPayment as Alipay+ (the simulator's key) would sign it; the answer.
pub async fn send_signed_notification(app: &App, body: Value) -> Value {
    let body = serde_json::to_vec(&body).unwrap();
    let response = signed_call(app, "/alipayplus/notifyPayment", "", &timestamp(Utc::now()), body).await;
    response.json().await.unwrap()
}

/// `body` sent to `path` (with `query`, unsigned, appended when not empty) with `time` as its
/// Request-Time, signed as Alipay+ (the simulator's key) would sign it; the HTTP response.
pub async fn signed_call(app: &App, path: &str, query: &str, time: &str, body: Vec<u8>) -> reqwest::Response {
    let key = SigningKey::from_pem_file(&fixture("test-alipayplus-private.pem"), "1").unwrap();
    let signature = key.signature_header(&content_to_sign("POST", path, CLIENT_ID, time, &body));
    reqwest::Client::new()
        .post(format!("{}{path}{query}", app.base))
        .header("Content-Type", "application/json; charset=UTF-8")
        .header("Client-Id", CLIENT_ID)
        .header("Request-Time", time)
        .header("Signature", signature)
        .body(body)
        .send()
        .await
        .unwrap()
}

impl App {
    /// Stops this app's API, relay and workers (its database, simulator and proxy stay), so
    /// processes the test starts on its configuration do the background work alone.
    pub async fn stop_serving(&mut self) {
        if let Some(running) = self.running.take() {
            running.stop().await;
        }
    }

    /// The GraphQL schema over `engine` (this app's database seen another way), calling this
    /// app's simulator with the test keys: a test runs requests through it without HTTP.
    pub fn schema_over(&self, engine: Engine) -> plusflow::api::graphql::ApiSchema {
        use plusflow::alipayplus::client::{Client, Credentials};
        let config = self.env.config();
        let credentials = Credentials {
            gateway: self.simulator_base.parse().unwrap(),
            client_id: CLIENT_ID.into(),
            signing_key: SigningKey::from_pem_file(&fixture("test-acqp-private.pem"), "1").unwrap(),
            alipayplus_keys: VerifyingKeys::single(
                VerifyingKeys::read_pem(&fixture("test-alipayplus-public.pem")).unwrap(),
                "1",
            ),
        };
        let client = Client::new(credentials, config.alipayplus.timeouts, Arc::new(SystemClock)).unwrap();
        plusflow::api::graphql::schema(
            engine,
            client,
            config.payment_method_limits,
            config.connections.complexity_per_minute,
        )
    }
}

/// The event feed query, with every variable a test gives it.
pub const EVENTS: &str = "query($after: String, $types: [String!], $first: Int, $merchant: ID) { \
    events(after: $after, types: $types, first: $first, merchantId: $merchant) { \
    edges { cursor node { id sequence type objectId createdAt data } } pageInfo { hasNextPage } } }";

impl App {
    /// Every event of `key`'s merchant after the cursor `after`, page by page (`first` a
    /// page), moving `after` on to the last one read.
    pub async fn events_after(&self, key: &str, after: &mut Option<String>, first: i64) -> Vec<Value> {
        let mut read = Vec::new();
        loop {
            let answer = self
                .gql(Some(key), EVENTS, json!({ "after": after, "first": first }))
                .await;
            let page = &answer["data"]["events"];
            let edges = page["edges"].as_array().unwrap_or_else(|| panic!("{answer}"));
            for edge in edges {
                read.push(edge["node"].clone());
                *after = Some(edge["cursor"].as_str().unwrap().to_string());
            }
            if page["pageInfo"]["hasNextPage"] != true {
                return read;
            }
        }
    }
}

impl App {
    /// A payment of `value` USD cents that the customer paid.
    pub async fn paid_payment(&self, key: &str, order: &str, value: &str) -> (String, String) {
        self.paid_with(key, order, input(order, value), json!({ "outcome": "SUCCESS" }))
            .await
    }

    /// A payment of `value` CNY paid with AlipayCN (so it may be declared to customs).
    pub async fn paid_with_alipay_cn(&self, key: &str, order: &str, value: &str) -> (String, String) {
        let mut payment = input(order, value);
        payment["amount"]["currency"] = json!("CNY");
        self.paid_with(
            key,
            order,
            payment,
            json!({ "outcome": "SUCCESS", "wallet": "ALIPAY_CN" }),
        )
        .await
    }

    /// Creates `payment` and completes it at the simulator with `completion`: (id, request id).
    pub async fn paid_with(
        &self,
        key: &str,
        order: &str,
        payment: Value,
        completion: Value,
    ) -> (String, String) {
        let created = self.create(key, &format!("pay-{order}"), payment).await;
        let created = &created["data"]["createPayment"];
        let (id, request_id) = (
            created["id"].as_str().unwrap().to_string(),
            created["paymentRequestId"].as_str().unwrap().to_string(),
        );
        self.wait_status(key, &id, "AWAITING_CUSTOMER").await;
        self.complete(&request_id, completion).await;
        self.wait_status(key, &id, "SUCCEEDED").await;
        (id, request_id)
    }

    /// A payment of `value` USD the customer's wallet declines (USER_BALANCE_NOT_ENOUGH), once
    /// FAILED here: its paymentRequestId.
    pub async fn declined_payment(&self, key: &str, order: &str, value: &str) -> String {
        let (declined, request_id) = self.create_ids(key, order, input(order, value)).await;
        super::poll_until(
            "Alipay+ to have the declined payment",
            Duration::from_secs(30),
            || async { self.ledger().await["payments"].get(&request_id).map(|_| ()) },
        )
        .await;
        self.complete(
            &request_id,
            json!({ "outcome": "FAIL", "resultCode": "USER_BALANCE_NOT_ENOUGH" }),
        )
        .await;
        self.wait_status(key, &declined, "FAILED").await;
        request_id
    }

    pub async fn refund(
        &self,
        key: &str,
        idempotency_key: &str,
        payment_id: &str,
        currency: &str,
        value: &str,
    ) -> Value {
        let query = "mutation($input: CreateRefundInput!, $key: String!) { createRefund(input: $input, idempotencyKey: $key) \
                     { id refundRequestId status amount { value } } }";
        let input = json!({ "paymentId": payment_id, "amount": { "currency": currency, "value": value }, "reason": "test" });
        self.gql(
            Some(key),
            query,
            json!({ "input": input, "key": idempotency_key }),
        )
        .await
    }

    pub async fn refunds_of(&self, key: &str, payment_id: &str) -> Value {
        let query = "query($id: ID!) { payment(id: $id) { refundedAmount { value } refundableAmount { value } \
                     refunds { id refundRequestId status amount { value } } } }";
        self.gql(Some(key), query, json!({ "id": payment_id })).await["data"]["payment"].clone()
    }

    /// Waits until no refund of the payment is PENDING; returns the payment's refund fields.
    pub async fn settled_refunds(&self, key: &str, payment_id: &str) -> Value {
        poll_until("the refunds to be final", Duration::from_secs(120), || async {
            let payment = self.refunds_of(key, payment_id).await;
            payment["refunds"]
                .as_array()
                .unwrap()
                .iter()
                .all(|r| r["status"] != "PENDING")
                .then_some(())
        })
        .await;
        // Fields resolve separately; once every refund is final, one more read is consistent.
        self.refunds_of(key, payment_id).await
    }
}

/// The clearing day (UTC+8) now; in its last minute, the next one once it has begun (a test's
/// payments must all fall in one cycle).
/// The file names a `plusflow simulator` report command printed.
fn written_files(written: Value) -> Vec<String> {
    written["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap().to_string())
        .collect()
}

pub async fn clearing_day_now() -> String {
    let utc8 = || Utc::now() + chrono::Duration::hours(8);
    let last_minute = || utc8().format("%H%M").to_string().as_str() >= "2359";
    // poll: for the calendar to turn, not for work; at most a minute, a few times a year.
    poll_until("the clearing day to turn", Duration::from_secs(90), || async {
        (!last_minute()).then_some(())
    })
    .await;
    utc8().format("%Y%m%d").to_string()
}

impl App {
    /// `plusflow ARGS` (with this app's configuration) off the runtime's threads, which must
    /// succeed (it may call back into this process's servers): its last JSON line.
    pub async fn plusflow_off_thread(&self, args: &[&str]) -> Value {
        let config = self.env.config_path.to_str().unwrap().to_string();
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        let (code, stdout, stderr) = tokio::task::spawn_blocking(move || {
            let mut command = vec!["--config".to_string(), config];
            command.extend(args);
            let borrowed: Vec<&str> = command.iter().map(String::as_str).collect();
            super::run_plusflow(&borrowed)
        })
        .await
        .unwrap();
        assert_eq!(code, 0, "{stdout}\n{stderr}");
        serde_json::from_str(stdout.trim().lines().last().unwrap_or("")).expect("a JSON line")
    }

    /// The simulator's report files of clearing day `day` written into `dir`, with one
    /// discrepancy of each of `injections` (`plusflow simulator reports`): their names.
    pub async fn simulator_reports(&self, dir: &Path, day: &str, injections: &[&str]) -> Vec<String> {
        let out = dir.to_str().unwrap();
        let mut args = vec![
            "simulator",
            "reports",
            "--from",
            &self.simulator_base,
            "--date",
            day,
            "--out",
            out,
        ];
        for injection in injections {
            args.extend(["--inject", injection]);
        }
        written_files(self.plusflow_off_thread(&args).await)
    }

    /// `plusflow reconcile --dir DIR --date DAY`: its JSON line.
    /// `plusflow simulator settlement`: the settlement files of `date` covering `covers`.
    pub async fn simulator_settlement(&self, dir: &Path, date: &str, covers: &[String]) -> Vec<String> {
        let out = dir.to_str().unwrap();
        let mut args = vec![
            "simulator",
            "settlement",
            "--from",
            &self.simulator_base,
            "--date",
            date,
            "--out",
            out,
        ];
        for day in covers {
            args.extend(["--covers", day]);
        }
        written_files(self.plusflow_off_thread(&args).await)
    }

    pub async fn reconcile(&self, dir: &Path, day: &str) -> Value {
        self.plusflow_off_thread(&["reconcile", "--dir", dir.to_str().unwrap(), "--date", day])
            .await
    }
}
