//! The simulator's checkout page in a real browser: headless Chromium driven over WebDriver
//! (chromedriver) shows the amount and the wallet choice, and clicking Pay completes the
//! payment in the ledger. Skips, saying so, where Chromium or chromedriver is not installed.

mod common;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use plusflow::alipayplus::client::{Client, Credentials, Outcome, Timeouts};
use plusflow::alipayplus::signing::{SigningKey, VerifyingKeys};
use plusflow::alipayplus::wire::*;
use plusflow::clock::SystemClock;
use plusflow::simulator::{PaymentStatus, Simulator, SimulatorConfig};
use serde_json::json;

use common::browser::Driver;
use common::wait_for;

#[tokio::test]
async fn a_customer_pays_on_the_checkout_page_in_headless_chromium() {
    if !common::browser::available() {
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
        (inquiry.wallet_brand_name.as_deref(), inquiry.psp_id.as_deref()),
        (Some("GCash"), Some("1022170000000000000")),
        "the wallet chosen on the page"
    );
}
