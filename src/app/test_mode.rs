//! Test helpers' reach into the Alipay+ simulator: in `alipayplus.mode = "simulator"` a
//! merchant's own test suite drives what a customer or a wallet would do (pay, decline, raise a
//! dispute) through GraphQL, and plusflow learns of it as it would from Alipay+ (a signed
//! notification, a dispute initiation). Against the real Alipay+ every helper is refused
//! (`NOT_IN_TEST_MODE`) and nothing is sent anywhere.

use std::time::Duration;

use serde_json::Value;

use super::errors::AppError;

/// Whether test helpers may run here, and the simulator they drive.
#[derive(Clone)]
pub struct TestMode(Option<SimulatorControls>);

impl TestMode {
    /// Test helpers on (driving the simulator at `gateway`) unless plusflow talks to the real
    /// Alipay+.
    pub fn new(real_alipayplus: bool, gateway: &url::Url) -> Self {
        Self((!real_alipayplus).then(|| SimulatorControls::new(gateway.clone())))
    }

    /// The simulator's controls, or `NOT_IN_TEST_MODE`.
    pub fn controls(&self) -> Result<&SimulatorControls, AppError> {
        self.0.as_ref().ok_or(AppError::NotInTestMode)
    }
}

/// The simulator's control routes (`/simulator/...`, beside its Alipay+ API).
#[derive(Clone)]
pub struct SimulatorControls {
    http: reqwest::Client,
    base: url::Url,
}

impl SimulatorControls {
    /// The controls of the simulator at `base`.
    pub fn new(base: url::Url) -> Self {
        Self {
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .expect("HTTP client"),
            base,
        }
    }

    /// POSTs `body` to the control route `path`; the simulator's refusal (an object it does not
    /// have, a payment no longer in process) is `INVALID_TRANSITION` with its words.
    pub async fn post(&self, path: &str, body: Value) -> Result<Value, AppError> {
        let url = crate::alipayplus::url_under(&self.base, path);
        let answer = self
            .http
            .post(url)
            .json(&body)
            .send()
            .await
            .map_err(|e| AppError::Unavailable(format!("the simulator did not answer: {e}")))?;
        let status = answer.status();
        let body: Value = answer
            .json()
            .await
            .map_err(|e| AppError::Unavailable(format!("the simulator's answer is not JSON: {e}")))?;
        if status.is_success() {
            return Ok(body);
        }
        let why = body["error"].as_str().unwrap_or("refused by the simulator");
        if status.is_client_error() {
            Err(AppError::InvalidTransition(why.to_string()))
        } else {
            Err(AppError::Unavailable(format!(
                "the simulator answered {status}: {why}"
            )))
        }
    }
}
