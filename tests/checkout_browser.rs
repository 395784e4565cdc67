//! The simulator's checkout page in a real browser: headless Chromium driven over WebDriver
//! (chromedriver) shows the amount and the wallet choice, and clicking Pay completes the
//! payment in the ledger. Skips, saying so, where Chromium or chromedriver is not installed.

mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use plusflow::alipayplus::client::{Client, Credentials, Outcome, Timeouts};
use plusflow::alipayplus::signing::{SigningKey, VerifyingKeys};
use plusflow::alipayplus::wire::*;
use plusflow::clock::SystemClock;
use plusflow::simulator::{PaymentStatus, Simulator, SimulatorConfig};
use serde_json::{Value, json};

use common::wait_for;

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

struct Driver {
    process: Child,
    base: String,
    http: reqwest::Client,
    _profile: tempfile::TempDir,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

impl Driver {
    async fn start() -> (Driver, String) {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let process = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let driver = Driver {
            process,
            base: format!("http://127.0.0.1:{port}"),
            http: reqwest::Client::new(),
            _profile: tempfile::tempdir().unwrap(),
        };
        wait_for("chromedriver to listen", Duration::from_secs(20), || async {
            driver
                .http
                .get(format!("{}/status", driver.base))
                .send()
                .await
                .is_ok()
        })
        .await;
        let profile = driver._profile.path().display().to_string();
        let args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ];
        let mut args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        args.push(format!("--user-data-dir={profile}"));
        let capabilities = json!({ "capabilities": { "alwaysMatch": {
            "browserName": "chrome", "goog:chromeOptions": { "binary": CHROMIUM, "args": args } } } });
        let session = driver.call("POST", "/session", Some(capabilities)).await;
        let id = session["sessionId"]
            .as_str()
            .expect("a WebDriver session")
            .to_string();
        (driver, id)
    }

    async fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}{path}", self.base);
        let request = match method {
            "POST" => self.http.post(url).json(&body.unwrap_or(json!({}))),
            "DELETE" => self.http.delete(url),
            _ => self.http.get(url),
        };
        let answer: Value = request.send().await.unwrap().json().await.unwrap();
        answer["value"].clone()
    }

    async fn find(&self, session: &str, css: &str) -> Option<String> {
        let found = self
            .call(
                "POST",
                &format!("/session/{session}/element"),
                Some(json!({ "using": "css selector", "value": css })),
            )
            .await;
        found[ELEMENT].as_str().map(str::to_string)
    }

    async fn text(&self, session: &str, css: &str) -> String {
        let element = self
            .find(session, css)
            .await
            .unwrap_or_else(|| panic!("no element {css}"));
        self.call("GET", &format!("/session/{session}/element/{element}/text"), None)
            .await
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    async fn click(&self, session: &str, css: &str) {
        let element = self
            .find(session, css)
            .await
            .unwrap_or_else(|| panic!("no element {css}"));
        self.call(
            "POST",
            &format!("/session/{session}/element/{element}/click"),
            Some(json!({})),
        )
        .await;
    }
}

#[tokio::test]
async fn a_customer_pays_on_the_checkout_page_in_headless_chromium() {
    if !Path::new(CHROMIUM).exists() || !Path::new(CHROMEDRIVER).exists() {
        println!(
            "skipped: install Debian's chromium and chromium-driver to run the checkout page in a browser"
        );
        return;
    }
    let keys = Path::new("tests/fixtures/keys");
    let acqp = SigningKey::from_pem_file(&keys.join("test-acqp-private.pem"), "1").unwrap();
    let simulator_key = SigningKey::from_pem_file(&keys.join("test-alipayplus-private.pem"), "1").unwrap();
    let config = SimulatorConfig::new(
        "BROWSER_TEST",
        VerifyingKeys::single(acqp.public_key(), "1"),
        simulator_key.clone(),
    );
    let simulator = Simulator::new(config, Arc::new(SystemClock));
    let (address, _) = simulator.serve("127.0.0.1", 0).await.unwrap();
    let credentials = Credentials {
        gateway: format!("http://{address}").parse().unwrap(),
        client_id: "BROWSER_TEST".into(),
        signing_key: acqp,
        alipayplus_keys: VerifyingKeys::single(simulator_key.public_key(), "1"),
    };
    let client = Client::new(credentials, Timeouts::default(), Arc::new(SystemClock)).unwrap();
    let request = common::pay_request("browser-pay-1", 1250, None);
    let Outcome::Succeeded(paid) = client.pay(&request).await else {
        panic!("pay failed")
    };
    let checkout = paid.normal_url.unwrap();

    let (driver, session) = Driver::start().await;
    driver
        .call(
            "POST",
            &format!("/session/{session}/url"),
            Some(json!({ "url": checkout })),
        )
        .await;
    assert_eq!(driver.text(&session, "#amount").await, "12.50 USD");
    assert!(
        driver
            .text(&session, "#merchant-order")
            .await
            .contains("order-browser-pay-1: Two lattes")
    );
    for wallet in ["ALIPAY_CN", "GCASH", "KAKAOPAY"] {
        assert!(
            driver
                .find(&session, &format!("input[name=wallet][value={wallet}]"))
                .await
                .is_some(),
            "{wallet} offered"
        );
    }
    driver.click(&session, "input[name=wallet][value=GCASH]").await;
    driver.click(&session, "#pay").await;
    wait_for("the result page", Duration::from_secs(20), || async {
        driver.find(&session, "#result").await.is_some()
    })
    .await;
    assert_eq!(driver.text(&session, "#result").await, "Payment successful");
    driver.call("DELETE", &format!("/session/{session}"), None).await;

    assert_eq!(
        simulator.ledger().payments["browser-pay-1"].status,
        PaymentStatus::Succeeded
    );
    let Outcome::Succeeded(inquiry) = client
        .inquiry_payment(PaymentReference {
            payment_request_id: Some("browser-pay-1".into()),
            payment_id: None,
        })
        .await
    else {
        panic!("inquiry failed")
    };
    assert_eq!(
        inquiry.wallet_brand_name.as_deref(),
        Some("GCASH"),
        "the wallet chosen on the page"
    );
}
