//! The Alipay+ protocol over real HTTP with real signatures: the client against the simulator
//! (every payment API, and every kind of trouble), the simulator's rules, and the hardening of
//! the routes Alipay+ calls on us.

mod common;

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use plusflow::alipayplus::client::{Client, Credentials, Outcome, Timeouts};
use plusflow::alipayplus::inbound::{Endpoint, Refusal, verify_answer};
use plusflow::alipayplus::signing::{SigningKey, VerifyingKeys, content_to_sign, timestamp};
use plusflow::alipayplus::wire::*;
use plusflow::clock::{ManualClock, SharedClock, SystemClock};
use plusflow::simulator::{Chaos, Completion, NotifyState, PaymentStatus, Simulator, SimulatorConfig};

use common::{pay_request, wait_for};

const CLIENT_ID: &str = "TEST_ACQP_CLIENT";

fn key(file: &str) -> SigningKey {
    SigningKey::from_pem_file(&Path::new("tests/fixtures/keys").join(file), "1").unwrap()
}

fn public(file: &str) -> VerifyingKeys {
    VerifyingKeys::single(
        VerifyingKeys::read_pem(&Path::new("tests/fixtures/keys").join(file)).unwrap(),
        "1",
    )
}

fn simulator_config() -> SimulatorConfig {
    let mut config = SimulatorConfig::new(
        CLIENT_ID,
        public("test-acqp-public.pem"),
        key("test-alipayplus-private.pem"),
    );
    config.hang = Duration::from_secs(3);
    config.time_scale = 0.001;
    config
}

struct Setup {
    simulator: Simulator,
    client: Client,
    base: String,
}

async fn setup(config: SimulatorConfig, clock: SharedClock) -> Setup {
    let simulator = Simulator::new(config, clock.clone());
    let (address, _) = simulator.serve("127.0.0.1", 0).await.unwrap();
    let base = format!("http://{address}");
    let credentials = Credentials {
        gateway: base.parse().unwrap(),
        client_id: CLIENT_ID.into(),
        signing_key: key("test-acqp-private.pem"),
        alipayplus_keys: public("test-alipayplus-public.pem"),
    };
    let timeouts = Timeouts {
        slow: Duration::from_millis(1500),
        normal: Duration::from_millis(1500),
    };
    Setup {
        simulator,
        client: Client::new(credentials, timeouts, clock).unwrap(),
        base,
    }
}

async fn default_setup() -> Setup {
    setup(simulator_config(), Arc::new(SystemClock)).await
}

fn by_id(id: &str) -> PaymentReference {
    PaymentReference {
        payment_request_id: Some(id.into()),
        payment_id: None,
    }
}

fn refund_request(payment: &str, refund: &str, value: i64) -> RefundRequest {
    RefundRequest {
        payment_request_id: Some(payment.into()),
        payment_id: None,
        refund_request_id: refund.into(),
        refund_amount: Amount::new("USD", value),
        refund_reason: None,
    }
}

fn succeeded<T: std::fmt::Debug>(outcome: Outcome<T>) -> T {
    match outcome {
        Outcome::Succeeded(response) => response,
        other => panic!("expected success, got {other:?}"),
    }
}

fn rejected_code<T: std::fmt::Debug>(outcome: Outcome<T>) -> String {
    match outcome {
        Outcome::Rejected { code, .. } => code,
        other => panic!("expected a rejection, got {other:?}"),
    }
}

fn unknown_reason<T: std::fmt::Debug>(outcome: Outcome<T>) -> String {
    match outcome {
        Outcome::Unknown { reason, .. } => reason,
        other => panic!("expected an unknown outcome, got {other:?}"),
    }
}

#[tokio::test]
async fn every_payment_api_answers_the_client_over_signed_http() {
    let Setup {
        simulator, client, ..
    } = default_setup().await;
    let consult = succeeded(
        client
            .consult_payment(&ConsultPaymentRequest {
                payment_amount: Amount::new("USD", 1000),
                payment_factor: PaymentFactor::cashier(),
                user_region: Some("KR".into()),
                settlement_strategy: None,
                allowed_psp_regions: None,
                merchant: None,
                env: None,
            })
            .await,
    );
    let option = &consult.payment_options.unwrap()[0];
    assert_eq!(
        (option.payment_method_type.as_str(), option.enabled),
        ("CONNECT_WALLET", Some(true))
    );

    let paid = succeeded(client.pay(&pay_request("pay-1", 1000, None)).await);
    assert!(paid.normal_url.unwrap().contains("/checkout/"));
    let pending = succeeded(client.inquiry_payment(by_id("pay-1")).await)
        .payment_result
        .unwrap();
    assert_eq!(
        (pending.result_status, pending.result_code.as_str()),
        (ResultStatus::U, "PAYMENT_IN_PROCESS")
    );

    simulator
        .complete("pay-1", Completion::Success, Some("GCASH"))
        .unwrap();
    let done = succeeded(client.inquiry_payment(by_id("pay-1")).await);
    assert_eq!(done.payment_result.unwrap().result_status, ResultStatus::S);
    // As the real Alipay+ states them: the brand shown to people and the wallet's pspId.
    assert_eq!(done.wallet_brand_name.as_deref(), Some("GCash"));
    assert_eq!(done.psp_id.as_deref(), Some("1022170000000000000"));

    let refund = succeeded(client.refund(&refund_request("pay-1", "refund-1", 400)).await);
    assert_eq!(refund.refund_amount, Some(Amount::new("USD", 400)));
    succeeded(client.cancel_payment(by_id("pay-1")).await);
    assert_eq!(
        rejected_code(client.inquiry_payment(by_id("nobody")).await),
        "ORDER_NOT_EXIST"
    );

    let ledger = simulator.ledger();
    let entry = &ledger.payments["pay-1"];
    assert_eq!(
        (entry.pay_calls, entry.refunded_total, entry.cancel_count),
        (1, 400, 1)
    );
    assert_eq!(entry.status, PaymentStatus::Cancelled);
}

#[tokio::test]
async fn unknown_answers_timeouts_5xx_and_bad_signatures_are_unknown_never_success() {
    let faults = [
        (
            Chaos {
                unknown_rate: 1.0,
                ..Chaos::default()
            },
            "U UNKNOWN_EXCEPTION",
        ),
        (
            Chaos {
                timeout_rate: 1.0,
                ..Chaos::default()
            },
            "no answer within",
        ),
        (
            Chaos {
                http5xx_rate: 1.0,
                ..Chaos::default()
            },
            "HTTP 5",
        ),
    ];
    for (chaos, expected) in faults {
        let mut config = simulator_config();
        config.chaos = chaos;
        let Setup { client, .. } = setup(config, Arc::new(SystemClock)).await;
        let reason = unknown_reason(client.pay(&pay_request("pay-chaos", 1000, None)).await);
        assert!(
            reason.contains(expected),
            "{reason:?} should mention {expected:?}"
        );
        let reason = unknown_reason(client.refund(&refund_request("pay-chaos", "r", 1)).await);
        assert!(
            reason.contains(expected),
            "{reason:?} should mention {expected:?}"
        );
    }

    // A simulator signing with a key we do not trust.
    let mut config = simulator_config();
    config.signing_key = key("test-other-private.pem");
    let Setup {
        simulator, client, ..
    } = setup(config, Arc::new(SystemClock)).await;
    let reason = unknown_reason(client.pay(&pay_request("pay-forged", 1000, None)).await);
    assert!(reason.contains("signature is not valid"), "{reason}");
    assert_eq!(
        simulator.ledger().payments["pay-forged"].pay_calls,
        1,
        "the work was done; only the answer is untrusted"
    );
}

fn rejected<T: std::fmt::Debug>(outcome: Outcome<T>) -> (String, String) {
    match outcome {
        Outcome::Rejected { code, message, .. } => (code, message.unwrap_or_default()),
        other => panic!("expected a rejection, got {other:?}"),
    }
}

/// As the real Alipay+: a request without a field it requires is `F PARAM_ILLEGAL` naming the
/// field, and nothing is done.
#[tokio::test]
async fn the_simulator_refuses_a_request_without_a_required_field_naming_it() {
    let Setup {
        simulator, client, ..
    } = default_setup().await;
    let without = |n: usize, change: fn(&mut PayRequest)| {
        let mut request = pay_request(&format!("incomplete-{n}"), 1000, None);
        change(&mut request);
        request
    };
    type Change = fn(&mut PayRequest);
    let cases: [(Change, &str); 6] = [
        (|r| r.order.merchant = None, "order.merchant.referenceMerchantId"),
        (
            |r| r.order.merchant.as_mut().unwrap().merchant_name = None,
            "order.merchant.merchantName",
        ),
        (
            |r| r.order.merchant.as_mut().unwrap().merchant_mcc = None,
            "order.merchant.merchantMCC",
        ),
        (
            |r| r.order.merchant.as_mut().unwrap().merchant_address = None,
            "order.merchant.merchantAddress.region",
        ),
        (|r| r.order.env = None, "order.env.terminalType"),
        (
            |r| r.order.env.as_mut().unwrap().terminal_type = Some("WAP".into()),
            "order.env.osType",
        ),
    ];
    for (n, (change, field)) in cases.into_iter().enumerate() {
        let (code, message) = rejected(client.pay(&without(n, change)).await);
        assert_eq!(code, "PARAM_ILLEGAL", "{field}");
        assert_eq!(message, format!("{field} is required"));
    }
    assert!(simulator.ledger().payments.is_empty(), "nothing was placed");
    let mut app_pay = without(9, |r| {
        r.order.env.as_mut().unwrap().terminal_type = Some("APP".into())
    });
    app_pay.order.env.as_mut().unwrap().os_type = Some("ANDROID".into());
    succeeded(client.pay(&app_pay).await);

    let no_reference = PaymentReference {
        payment_request_id: None,
        payment_id: None,
    };
    let (code, message) = rejected(client.inquiry_payment(no_reference.clone()).await);
    assert_eq!(
        (code.as_str(), message.as_str()),
        ("PARAM_ILLEGAL", "paymentRequestId or paymentId is required")
    );
    assert_eq!(
        rejected(client.cancel_payment(no_reference).await).0,
        "PARAM_ILLEGAL"
    );
    let mut refund = refund_request("incomplete-9", "r-1", 100);
    refund.payment_request_id = None;
    assert_eq!(
        rejected(client.refund(&refund).await).1,
        "paymentRequestId or paymentId is required"
    );
}

#[tokio::test]
async fn pay_is_idempotent_and_a_changed_request_with_the_same_id_is_refused() {
    let Setup {
        simulator, client, ..
    } = default_setup().await;
    let first = succeeded(client.pay(&pay_request("pay-same", 1000, None)).await);
    let again = succeeded(client.pay(&pay_request("pay-same", 1000, None)).await);
    assert_eq!(first.payment_id, again.payment_id);
    assert_eq!(first.normal_url, again.normal_url);
    assert_eq!(
        rejected_code(client.pay(&pay_request("pay-same", 999, None)).await),
        "REPEAT_REQ_INCONSISTENT"
    );
    let ledger = simulator.ledger();
    assert_eq!(ledger.payments.len(), 1);
    assert_eq!(ledger.payments["pay-same"].pay_calls, 2);
}

#[tokio::test]
async fn refunds_never_exceed_the_payment_and_are_idempotent_by_refund_request_id() {
    let Setup {
        simulator, client, ..
    } = default_setup().await;
    succeeded(client.pay(&pay_request("pay-r", 1000, None)).await);
    assert_eq!(
        rejected_code(client.refund(&refund_request("pay-r", "too-early", 100)).await),
        "PROCESS_FAIL"
    );
    simulator.complete("pay-r", Completion::Success, None).unwrap();
    succeeded(client.refund(&refund_request("pay-r", "r1", 600)).await);
    succeeded(client.refund(&refund_request("pay-r", "r1", 600)).await);
    assert_eq!(
        rejected_code(client.refund(&refund_request("pay-r", "r1", 601)).await),
        "REPEAT_REQ_INCONSISTENT"
    );
    assert_eq!(
        rejected_code(client.refund(&refund_request("pay-r", "r2", 401)).await),
        "REFUND_AMOUNT_EXCEED"
    );
    succeeded(client.refund(&refund_request("pay-r", "r3", 400)).await);
    assert_eq!(simulator.ledger().payments["pay-r"].refunded_total, 1000);
}

#[tokio::test]
async fn cancel_is_refused_after_a_quarter_past_midnight_utc8_the_next_day() {
    let clock = ManualClock::starting_at("2026-11-25T03:00:00Z".parse().unwrap()); // 11:00 UTC+8
    let Setup {
        simulator, client, ..
    } = setup(simulator_config(), Arc::new(clock.clone())).await;
    succeeded(client.pay(&pay_request("late", 1000, None)).await);
    succeeded(client.pay(&pay_request("in-time", 1000, None)).await);
    clock.advance(Duration::from_secs(13 * 3600 + 14 * 60)); // 00:14 UTC+8 the next day
    succeeded(client.cancel_payment(by_id("in-time")).await);
    clock.advance(Duration::from_secs(2 * 60)); // 00:16
    assert_eq!(
        rejected_code(client.cancel_payment(by_id("late")).await),
        "CANCEL_WINDOW_EXCEED"
    );
    let ledger = simulator.ledger();
    assert_eq!(
        (
            ledger.payments["in-time"].cancel_count,
            ledger.payments["late"].cancel_count
        ),
        (1, 0)
    );
}

#[test]
fn an_answer_repeated_within_a_second_carries_the_same_valid_signature() {
    let clock = ManualClock::starting_at("2026-12-01T20:00:00.100Z".parse().unwrap());
    let endpoint = Endpoint::new(
        CLIENT_ID.into(),
        public("test-alipayplus-public.pem"),
        key("test-acqp-private.pem"),
        Arc::new(clock.clone()),
    );
    let path = "/alipayplus/notifyPayment";
    let ack = ResultResponse {
        result: ResultInfo::success(),
    };
    let first = endpoint.answer(path, &ack);
    clock.advance(Duration::from_millis(800));
    let again = endpoint.answer(path, &ack);
    let refusal = Refusal {
        code: "ORDER_NOT_EXIST",
        message: "no payment 'x'".into(),
    };
    let refused = endpoint.refuse(path, &refusal);
    clock.advance(Duration::from_millis(200));
    let next_second = endpoint.answer(path, &ack);
    let ours = public("test-acqp-public.pem");
    for (_, headers, body) in [&first, &again, &refused, &next_second] {
        verify_answer(&ours, path, CLIENT_ID, headers, body).expect("a valid signature");
    }
    let header = |answer: &(_, reqwest::header::HeaderMap, _), name: &str| {
        answer.1[name].to_str().unwrap().to_string()
    };
    assert_eq!(header(&first, "response-time"), "2026-12-01T20:00:00Z");
    assert_eq!(header(&first, "signature"), header(&again, "signature"));
    assert_ne!(header(&first, "signature"), header(&refused, "signature"));
    assert_eq!(header(&next_second, "response-time"), "2026-12-01T20:00:01Z");
    assert_ne!(header(&first, "signature"), header(&next_second, "signature"));
}

/// An ACQP notification endpoint for the simulator to call: verifies with the simulator's key,
/// answers signed; refuses the first `refusals` deliveries.
async fn notification_receiver(refusals: usize) -> (String, Arc<Mutex<Vec<NotifyPaymentRequest>>>) {
    let received = Arc::new(Mutex::new(Vec::new()));
    let endpoint = Endpoint::new(
        CLIENT_ID.into(),
        public("test-alipayplus-public.pem"),
        key("test-acqp-private.pem"),
        Arc::new(SystemClock),
    );
    let log = received.clone();
    let handler = move |uri: axum::http::Uri, headers: axum::http::HeaderMap, body: axum::body::Bytes| {
        let (endpoint, log) = (endpoint.clone(), log.clone());
        async move {
            let notification: NotifyPaymentRequest = endpoint
                .verify(uri.path(), &headers, &body)
                .expect("signed by the simulator");
            let count = {
                let mut log = log.lock().unwrap();
                log.push(notification);
                log.len()
            };
            let result = if count <= refusals {
                ResultInfo::new(ResultStatus::F, "PROCESS_FAIL", "try later")
            } else {
                ResultInfo::success()
            };
            endpoint.answer(uri.path(), &ResultResponse { result })
        }
    };
    let router = axum::Router::new().route("/notify", axum::routing::post(handler));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/notify", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    (url, received)
}

#[tokio::test]
async fn notifications_are_resent_until_acknowledged_and_not_after() {
    let Setup {
        simulator, client, ..
    } = default_setup().await;
    let (url, received) = notification_receiver(2).await;
    succeeded(client.pay(&pay_request("pay-n", 1000, Some(url))).await);
    simulator.complete("pay-n", Completion::Success, None).unwrap();
    wait_for(
        "the notification to be acknowledged",
        Duration::from_secs(20),
        || async { simulator.ledger().payments["pay-n"].notify == NotifyState::Acknowledged },
    )
    .await;
    let entry = &simulator.ledger().payments["pay-n"];
    assert_eq!(
        (entry.notifications_sent, entry.notifications_acknowledged),
        (3, 1)
    );
    let received = received.lock().unwrap();
    assert_eq!(received.len(), 3, "the notifier stopped at the acknowledgement");
    assert!(
        received
            .iter()
            .all(|n| n.payment_result.result_status == ResultStatus::S
                && n.payment_amount == Some(Amount::new("USD", 1000)))
    );
}

/// Completes `count` payments one after another, each notification acknowledged before the
/// next, and returns (dropped, sent) per payment.
async fn notification_chaos(seed: u64, count: usize) -> Vec<(u32, u32)> {
    let mut config = simulator_config();
    config.seed = seed;
    config.time_scale = 0.0001;
    config.chaos = Chaos {
        notify_drop_rate: 0.3,
        notify_duplicate_rate: 0.2,
        ..Chaos::default()
    };
    let Setup {
        simulator, client, ..
    } = setup(config, Arc::new(SystemClock)).await;
    let (url, _) = notification_receiver(0).await;
    let mut counts = Vec::new();
    for n in 0..count {
        let id = format!("chaos-{n}");
        succeeded(client.pay(&pay_request(&id, 1000, Some(url.clone()))).await);
        simulator.complete(&id, Completion::Success, None).unwrap();
        wait_for("the notification to settle", Duration::from_secs(30), || async {
            simulator.ledger().payments[&id].notify != NotifyState::Pending
        })
        .await;
        let entry = &simulator.ledger().payments[&id];
        counts.push((entry.notifications_dropped, entry.notifications_sent));
    }
    counts
}

#[tokio::test]
async fn notification_drop_and_duplicate_rates_are_honoured_and_reproducible_by_seed() {
    let first = notification_chaos(42, 150).await;
    let dropped: u32 = first.iter().map(|(d, _)| d).sum();
    let sent: u32 = first.iter().map(|(_, s)| s).sum();
    let attempts = dropped + first.len() as u32; // every payment ends with one delivered attempt
    let drop_share = f64::from(dropped) / f64::from(attempts);
    let duplicate_share = f64::from(sent - first.len() as u32) / first.len() as f64;
    assert!((0.2..=0.4).contains(&drop_share), "drop share {drop_share}");
    assert!(
        (0.1..=0.3).contains(&duplicate_share),
        "duplicate share {duplicate_share}"
    );
    assert_eq!(
        notification_chaos(42, 150).await,
        first,
        "the same seed gives the same chaos"
    );
    assert_ne!(
        notification_chaos(43, 150).await,
        first,
        "another seed gives other chaos"
    );
}

#[tokio::test]
async fn an_unknown_completion_outcome_is_refused_by_the_control_route() {
    let Setup {
        client,
        base,
        simulator,
    } = default_setup().await;
    succeeded(client.pay(&pay_request("ctl", 500, None)).await);
    let http = reqwest::Client::new();
    let url = format!("{base}/simulator/payments/ctl/complete");
    let bad = http
        .post(&url)
        .json(&serde_json::json!({ "outcome": "MAYBE" }))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 422);
    let ok = http
        .post(&url)
        .json(&serde_json::json!({ "outcome": "FAIL", "resultCode": "USER_BALANCE_NOT_ENOUGH" }))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    let ledger: serde_json::Value = http
        .get(format!("{base}/simulator/ledger"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ledger["payments"]["ctl"]["status"], "FAILED");
    assert_eq!(
        ledger["payments"]["ctl"]["failureCode"],
        "USER_BALANCE_NOT_ENOUGH"
    );
    assert_eq!(simulator.ledger().payments["ctl"].status, PaymentStatus::Failed);
}

// ---- the routes Alipay+ calls on us ---------------------------------------------------------

struct Inbound {
    base: String,
    engine: plusflow::app::Engine,
    _running: plusflow::cli::Running,
    _env: common::TestEnv,
}

async fn plusflow_api() -> Inbound {
    let env = common::TestEnv::new(common::Backend::Sqlite, common::Options::default())
        .await
        .unwrap();
    let keys = std::fs::canonicalize("tests/fixtures/keys").unwrap();
    let extra = format!(
        "\n[alipayplus]\ngateway_url = \"http://127.0.0.1:9\"\nclient_id = \"{CLIENT_ID}\"\n\
         private_key_file = \"{keys}/test-acqp-private.pem\"\npublic_key_file = \"{keys}/test-alipayplus-public.pem\"\n",
        keys = keys.display()
    );
    env.append_config(&extra);
    let config = env.config();
    let engine = plusflow::cli::boot(&config, Arc::new(SystemClock)).await.unwrap();
    let running = plusflow::cli::start(&config, engine.clone(), plusflow::cli::Role::Api)
        .await
        .unwrap();
    let base = format!("http://{}", running.api_address.unwrap());
    Inbound {
        base,
        engine,
        _running: running,
        _env: env,
    }
}

/// What Alipay+ would send: headers and body, signed with `key` unless told otherwise.
struct Call {
    path: &'static str,
    client_id: &'static str,
    body: Vec<u8>,
    key: SigningKey,
    signature: Option<String>,
    time: Option<String>,
    skip: Option<&'static str>,
}

impl Call {
    fn new(path: &'static str, body: serde_json::Value) -> Self {
        Self {
            path,
            client_id: CLIENT_ID,
            body: serde_json::to_vec(&body).unwrap(),
            key: key("test-alipayplus-private.pem"),
            signature: None,
            time: None,
            skip: None,
        }
    }

    async fn send(self, base: &str) -> (ResultInfo, reqwest::header::HeaderMap, Vec<u8>) {
        let time = self.time.unwrap_or_else(|| timestamp(Utc::now()));
        let signature = self.signature.unwrap_or_else(|| {
            self.key.signature_header(&content_to_sign(
                "POST",
                self.path,
                self.client_id,
                &time,
                &self.body,
            ))
        });
        let mut request = reqwest::Client::new()
            .post(format!("{base}{}", self.path))
            .header("Content-Type", "application/json");
        for (name, value) in [
            ("Client-Id", self.client_id.to_string()),
            ("Request-Time", time),
            ("Signature", signature),
        ] {
            if self.skip != Some(name) {
                request = request.header(name, value);
            }
        }
        let response = request.body(self.body).send().await.unwrap();
        assert_eq!(response.status(), 200);
        let headers = response.headers().clone();
        let bytes = response.bytes().await.unwrap().to_vec();
        let result = serde_json::from_slice::<ResultResponse>(&bytes)
            .expect("an Alipay+ result")
            .result;
        (result, headers, bytes)
    }
}

fn notification(id: &str) -> serde_json::Value {
    serde_json::json!({
        "paymentResult": { "resultCode": "SUCCESS", "resultStatus": "S", "resultMessage": "success" },
        "paymentRequestId": id, "paymentId": "2026000001", "acquirerId": "A", "pspId": "P",
        "paymentAmount": { "currency": "USD", "value": "1000" }, "paymentTime": "2026-11-25T10:00:00+08:00"
    })
}

/// A payment of 10.00 USD, created directly (this API process runs no workers, so it stays
/// where it is until a notification moves it).
async fn a_payment(api: &Inbound) -> (uuid::Uuid, String) {
    use plusflow::app::auth::Principal;
    use plusflow::app::merchants::create_merchant;
    use plusflow::kinds::payment::use_cases::{NewPayment, create_payment};
    let merchant = create_merchant(&api.engine, "Notified Shop", None, Default::default())
        .await
        .unwrap();
    let merchant = plusflow::store::merchants::merchant(&api.engine.db, merchant.id)
        .await
        .unwrap()
        .unwrap();
    let input = NewPayment {
        merchant_order_id: "order-1".into(),
        order_description: "Tea".into(),
        currency: "USD".into(),
        amount: "1000".into(),
        terminal_type: "WEB".into(),
        os_type: None,
        redirect_url: "https://shop.example/back".into(),
        user_region: None,
        settlement_currency: None,
        expires_in_seconds: None,
        buyer_reference: None,
        metadata: vec![],
    };
    let view = create_payment(
        &api.engine,
        &Principal::Merchant(Box::new(merchant)),
        input,
        "key-1",
    )
    .await
    .unwrap();
    (view.payment.id, view.payment.payment_request_id)
}

#[tokio::test]
async fn a_verified_notification_settles_the_payment_and_is_acknowledged_with_our_signature() {
    let api = plusflow_api().await;
    let (id, request_id) = a_payment(&api).await;
    let path = "/alipayplus/notifyPayment";
    let (result, headers, body) = Call::new(path, notification(&request_id)).send(&api.base).await;
    assert_eq!(
        (result.result_status, result.result_code.as_str()),
        (ResultStatus::S, "SUCCESS")
    );
    let header = |name: &str| headers.get(name).unwrap().to_str().unwrap().to_string();
    let content = content_to_sign(
        "POST",
        path,
        &header("client-id"),
        &header("response-time"),
        &body,
    );
    public("test-acqp-public.pem")
        .verify(&header("signature").parse().unwrap(), &content)
        .expect("answer signed by plusflow");
    assert_eq!(plusflow::store::inbound::count(&api.engine.db).await.unwrap(), 1);
    assert_eq!(
        plusflow::store::instance(&api.engine.db, id).await.unwrap().state,
        "succeeded"
    );
}

#[tokio::test]
async fn a_notification_for_an_unknown_payment_is_refused_and_stored_nowhere() {
    let api = plusflow_api().await;
    let (result, _, _) = Call::new("/alipayplus/notifyPayment", notification("pf_nobody"))
        .send(&api.base)
        .await;
    assert_eq!(
        (result.result_status, result.result_code.as_str()),
        (ResultStatus::F, "ORDER_NOT_EXIST")
    );
    assert_eq!(plusflow::store::inbound::count(&api.engine.db).await.unwrap(), 0);
}

#[tokio::test]
async fn a_notification_with_another_amount_parks_the_payment_instead_of_settling_it() {
    let api = plusflow_api().await;
    let (id, request_id) = a_payment(&api).await;
    let mut body = notification(&request_id);
    body["paymentAmount"]["value"] = "999".into();
    let (result, _, _) = Call::new("/alipayplus/notifyPayment", body).send(&api.base).await;
    assert_eq!(
        result.result_status,
        ResultStatus::S,
        "received, so Alipay+ stops re-sending"
    );
    let instance = plusflow::store::instance(&api.engine.db, id).await.unwrap();
    assert_eq!(instance.state, "submitting", "not settled");
    assert!(instance.needs_attention);
    assert!(
        instance
            .last_error
            .unwrap()
            .contains("999 USD but the payment is 1000 USD")
    );
}

#[tokio::test]
async fn every_unverifiable_inbound_call_gets_an_alipayplus_error_and_changes_nothing() {
    let api = plusflow_api().await;
    let path = "/alipayplus/notifyPayment";
    let tampered = {
        // Signed as sent by Alipay+, then the amount changed on the way.
        let mut call = Call::new(path, notification("pay-1"));
        let time = timestamp(Utc::now());
        call.signature = Some(
            call.key
                .signature_header(&content_to_sign("POST", path, CLIENT_ID, &time, &call.body)),
        );
        call.time = Some(time);
        call.body = String::from_utf8(call.body)
            .unwrap()
            .replace("\"1000\"", "\"9000\"")
            .into_bytes();
        call
    };
    let cases: Vec<(&str, Call, &str)> = vec![
        (
            "garbage signature",
            Call {
                signature: Some("algorithm=RSA256,keyVersion=1,signature=AAAA".into()),
                ..Call::new(path, notification("p"))
            },
            "INVALID_SIGNATURE",
        ),
        (
            "signed by another key",
            Call {
                key: key("test-other-private.pem"),
                ..Call::new(path, notification("p"))
            },
            "INVALID_SIGNATURE",
        ),
        ("tampered", tampered, "INVALID_SIGNATURE"),
        (
            "no Signature",
            Call {
                skip: Some("Signature"),
                ..Call::new(path, notification("p"))
            },
            "INVALID_SIGNATURE",
        ),
        (
            "no Request-Time",
            Call {
                skip: Some("Request-Time"),
                ..Call::new(path, notification("p"))
            },
            "PARAM_ILLEGAL",
        ),
        (
            "no Client-Id",
            Call {
                skip: Some("Client-Id"),
                ..Call::new(path, notification("p"))
            },
            "INVALID_CLIENT",
        ),
        (
            "wrong client id",
            Call {
                client_id: "SOMEONE_ELSE",
                ..Call::new(path, notification("p"))
            },
            "INVALID_CLIENT",
        ),
        (
            "unknown key version",
            Call {
                key: SigningKey::from_pem_file(
                    Path::new("tests/fixtures/keys/test-alipayplus-private.pem"),
                    "7",
                )
                .unwrap(),
                ..Call::new(path, notification("p"))
            },
            "KEY_NOT_FOUND",
        ),
        (
            "malformed JSON",
            Call {
                body: b"{\"paymentRequestId\": ".to_vec(),
                ..Call::new(path, notification("p"))
            },
            "PARAM_ILLEGAL",
        ),
        (
            "wrong shape",
            Call::new(path, serde_json::json!({ "paymentRequestId": 42 })),
            "PARAM_ILLEGAL",
        ),
        (
            "oversized",
            Call {
                body: vec![b' '; 100 * 1024],
                ..Call::new(path, notification("p"))
            },
            "PARAM_ILLEGAL",
        ),
    ];
    for (name, call, code) in cases {
        let (result, headers, _) = call.send(&api.base).await;
        assert_eq!(
            (result.result_status, result.result_code.as_str()),
            (ResultStatus::F, code),
            "{name}"
        );
        assert!(
            headers.contains_key("signature"),
            "{name}: even refusals are signed"
        );
    }
    assert_eq!(
        plusflow::store::inbound::count(&api.engine.db).await.unwrap(),
        0,
        "nothing was stored"
    );
}

#[tokio::test]
async fn a_dispute_about_a_payment_that_is_not_ours_is_refused_and_stored_nowhere() {
    // (Disputes about our payments: tests/disputes.rs.)
    let api = plusflow_api().await;
    let retrieval = serde_json::json!({
        "disputeRequestId": "dispute-1", "paymentRequestId": "pay-1",
        "disputeOccurTime": "2026-11-25T10:00:00+08:00", "requestInformationType": "TRANSACTION_RECEIPT"
    });
    let (answer, _, _) = Call::new("/alipayplus/initiateRetrieval", retrieval)
        .send(&api.base)
        .await;
    assert_eq!(
        (answer.result_status, answer.result_code.as_str()),
        (ResultStatus::F, "ORDER_NOT_EXIST")
    );
    assert_eq!(plusflow::store::inbound::count(&api.engine.db).await.unwrap(), 0);
}
