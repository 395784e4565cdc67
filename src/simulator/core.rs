//! The simulator's core, which knows no kind: its configuration, the chaos drawn for each call,
//! the signed `/aps/api/v1/...` front that verifies a call and hands it to the part answering
//! its API, and [`SimulatorPart`], what each workflow kind's stand-in (in its folder,
//! `crate::kinds::<kind>::simulator`) gives. `super` composes the parts into a [`Simulator`].

use std::any::Any;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::de::DeserializeOwned;

use super::required::{self, Required};
use crate::alipayplus::inbound::{Endpoint, MAX_BODY_BYTES, Refusal};
use crate::alipayplus::signing::{SigningKey, VerifyingKeys};
use crate::alipayplus::wire::{ResultInfo, ResultResponse, ResultStatus};
use crate::clock::SharedClock;

/// What the customer does at checkout when nobody clicks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum AutoComplete {
    Success,
    Fail,
    None,
}

/// Chance (0..=1) of each kind of trouble.
#[derive(Debug, Clone, Copy, Default)]
pub struct Chaos {
    /// A call answers `U` (before or after doing the work).
    pub unknown_rate: f64,
    /// A call hangs past the client's timeout (before or after doing the work).
    pub timeout_rate: f64,
    /// A call answers HTTP 5xx (before or after doing the work).
    pub http5xx_rate: f64,
    /// A notification is delivered twice.
    pub notify_duplicate_rate: f64,
    /// A notification is lost on the way (retried on the schedule).
    pub notify_drop_rate: f64,
}

#[derive(Clone)]
pub struct SimulatorConfig {
    /// The ACQP it serves: the `Client-Id` it expects and puts on its messages.
    pub client_id: String,
    /// The ACQP's public keys, to verify requests and notification acknowledgements.
    pub acqp_keys: VerifyingKeys,
    /// The simulator's own key (Alipay+'s), to sign responses and notifications.
    pub signing_key: SigningKey,
    pub auto_complete: AutoComplete,
    pub auto_complete_after: Duration,
    pub chaos: Chaos,
    /// Extra wait before the first notification.
    pub notify_delay: Duration,
    /// Multiplies the notification schedule (0.001 runs a day's retries in under 90 s).
    pub time_scale: f64,
    pub seed: u64,
    /// Cashier payment expiry (Alipay+: 10 minutes).
    pub payment_expiry: Duration,
    /// How long a "timeout" fault hangs; longer than the client's timeout.
    pub hang: Duration,
    /// The share of declarations customs rejects.
    pub customs_reject_rate: f64,
    /// The share of declarations whose status stays one plusflow does not know once customs
    /// has had them long enough to decide (a stand-in for a value Alipay+ has not documented).
    pub customs_unknown_status_rate: f64,
    /// The share of registrations each reviewing wallet rejects.
    pub registration_reject_rate: f64,
}

impl SimulatorConfig {
    /// Well-behaved defaults for the ACQP `client_id`.
    pub fn new(client_id: &str, acqp_keys: VerifyingKeys, signing_key: SigningKey) -> Self {
        Self {
            client_id: client_id.to_string(),
            acqp_keys,
            signing_key,
            auto_complete: AutoComplete::None,
            auto_complete_after: Duration::from_secs(1),
            chaos: Chaos::default(),
            notify_delay: Duration::ZERO,
            time_scale: 1.0,
            seed: 1,
            payment_expiry: Duration::from_secs(600),
            hang: Duration::from_secs(10),
            customs_reject_rate: 0.0,
            customs_unknown_status_rate: 0.0,
            registration_reject_rate: 0.0,
        }
    }
}

/// One workflow kind's stand-in at Alipay+: its books (behind its own lock), the Alipay+ APIs it
/// answers, and its routes beside them (the checkout page, the controls tests use).
pub trait SimulatorPart: Any + Send + Sync {
    /// The APIs it answers: the last segment of `/aps/api/v1/<area>/<api>`.
    fn apis(&self) -> &'static [&'static str];

    /// Does the work of one verified call to `api` (one of [`SimulatorPart::apis`]); the JSON
    /// answer, or why Alipay+ refuses the request.
    fn answer(&self, simulator: &Simulator, api: &str, call: &Call<'_>)
    -> Result<serde_json::Value, Refusal>;

    /// Its routes beside the API.
    fn routes(&self) -> Router<Simulator> {
        Router::new()
    }
}

/// A part's books behind their own lock (a part never holds it while it takes another's).
#[derive(Default)]
pub struct PartBooks<T>(Mutex<T>);

impl<T> PartBooks<T> {
    pub fn lock(&self) -> MutexGuard<'_, T> {
        self.0.lock().expect("simulator books")
    }
}

impl<T: Clone> PartBooks<T> {
    /// A copy of the books now, for the ledger.
    pub fn copy(&self) -> T {
        self.lock().clone()
    }
}

/// One call as it arrived, read by the part answering it.
pub struct Call<'a> {
    endpoint: &'a Endpoint,
    path: &'a str,
    headers: &'a HeaderMap,
    body: &'a [u8],
}

impl Call<'_> {
    /// The request, its signature verified and its required fields present.
    pub fn request<T: DeserializeOwned + Required>(&self) -> Result<T, Refusal> {
        let request = self.verified()?;
        required::check(&request)?;
        Ok(request)
    }

    /// The request, its signature verified (the part checks its fields itself).
    pub fn verified<T: DeserializeOwned>(&self) -> Result<T, Refusal> {
        self.endpoint.verify(self.path, self.headers, self.body)
    }
}

/// A running simulator; clones share it.
#[derive(Clone)]
pub struct Simulator {
    shared: Arc<Shared>,
}

struct Shared {
    config: SimulatorConfig,
    endpoint: Endpoint,
    parts: Vec<Arc<dyn SimulatorPart>>,
    random: Mutex<StdRng>,
    clock: SharedClock,
    http: reqwest::Client,
    base_url: OnceLock<String>,
}

/// A fault drawn for one API call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    Unknown { after_work: bool },
    Hang { after_work: bool },
    ServerError { after_work: bool },
}

impl Simulator {
    /// A simulator answering with `parts`.
    pub fn with_parts(
        config: SimulatorConfig,
        clock: SharedClock,
        parts: Vec<Arc<dyn SimulatorPart>>,
    ) -> Self {
        let endpoint = Endpoint::new(
            config.client_id.clone(),
            config.acqp_keys.clone(),
            config.signing_key.clone(),
            clock.clone(),
        );
        let random = Mutex::new(StdRng::seed_from_u64(config.seed));
        let shared = Shared {
            config,
            endpoint,
            parts,
            random,
            clock,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(5))
                .build()
                .expect("HTTP client"),
            base_url: OnceLock::new(),
        };
        Self {
            shared: Arc::new(shared),
        }
    }

    pub fn config(&self) -> &SimulatorConfig {
        &self.shared.config
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.shared.clock.now()
    }

    /// The client the simulator calls the ACQP with.
    pub fn http(&self) -> &reqwest::Client {
        &self.shared.http
    }

    /// The part of type `P`; every kind's part is composed in, so its absence is a bug.
    pub fn part<P: SimulatorPart>(&self) -> &P {
        self.shared
            .parts
            .iter()
            .find_map(|part| (part.as_ref() as &dyn Any).downcast_ref::<P>())
            .expect("every kind's simulator part is composed in")
    }

    /// Every part's routes, for the router.
    pub fn part_routes(&self) -> Router<Simulator> {
        self.shared
            .parts
            .iter()
            .fold(Router::new(), |router, part| router.merge(part.routes()))
    }

    /// Whether an event of `probability` (0..=1) happens, from the seeded generator.
    pub fn chance(&self, probability: f64) -> bool {
        probability > 0.0
            && self
                .shared
                .random
                .lock()
                .expect("simulator rng")
                .random_bool(probability.min(1.0))
    }

    fn draw_fault(&self) -> Option<Fault> {
        let chaos = self.shared.config.chaos;
        let mut random = self.shared.random.lock().expect("simulator rng");
        let roll: f64 = random.random();
        let after_work = random.random_bool(0.5);
        if roll < chaos.unknown_rate {
            Some(Fault::Unknown { after_work })
        } else if roll < chaos.unknown_rate + chaos.timeout_rate {
            Some(Fault::Hang { after_work })
        } else if roll < chaos.unknown_rate + chaos.timeout_rate + chaos.http5xx_rate {
            Some(Fault::ServerError { after_work })
        } else {
            None
        }
    }

    /// Sets the URL it is reached at, once it listens.
    pub fn set_base_url(&self, url: String) {
        let _ = self.shared.base_url.set(url);
    }

    /// The URL it is reached at (the checkout pages it links to).
    pub fn base_url(&self) -> String {
        self.shared
            .base_url
            .get()
            .cloned()
            .unwrap_or_else(|| "http://127.0.0.1".into())
    }

    /// Does the work of one verified API call through the part answering `api`.
    fn handle(
        &self,
        api: &str,
        path: &str,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<serde_json::Value, Refusal> {
        let Some(part) = self.shared.parts.iter().find(|part| part.apis().contains(&api)) else {
            return Err(Refusal {
                code: "NO_INTERFACE_DEF",
                message: format!("API '{api}' is not defined"),
            });
        };
        let call = Call {
            endpoint: &self.shared.endpoint,
            path,
            headers,
            body,
        };
        part.answer(self, api, &call)
    }
}

/// `POST /aps/api/v1/<area>/<api>`: chaos before the work, the work, chaos after it.
pub async fn api(
    State(simulator): State<Simulator>,
    Path(api): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_string();
    let endpoint = simulator.shared.endpoint.clone();
    if body.len() > MAX_BODY_BYTES {
        return endpoint.refuse(&path, &Endpoint::too_large()).into_response();
    }
    let fault = simulator.draw_fault();
    let unknown = || {
        endpoint.answer(
            &path,
            &ResultResponse {
                result: ResultInfo::new(ResultStatus::U, "UNKNOWN_EXCEPTION", "simulated unknown result"),
            },
        )
    };
    match fault {
        Some(Fault::ServerError { after_work: false }) => {
            return (StatusCode::SERVICE_UNAVAILABLE, "simulated outage").into_response();
        }
        Some(Fault::Unknown { after_work: false }) => return unknown().into_response(),
        Some(Fault::Hang { after_work: false }) => {
            tokio::time::sleep(simulator.shared.config.hang).await;
            return unknown().into_response();
        }
        _ => {}
    }
    let answer = match simulator.handle(&api, &path, &headers, &body) {
        Ok(answer) => endpoint.answer(&path, &answer),
        Err(refusal) => endpoint.refuse(&path, &refusal),
    };
    match fault {
        Some(Fault::ServerError { after_work: true }) => {
            (StatusCode::BAD_GATEWAY, "simulated outage").into_response()
        }
        Some(Fault::Unknown { after_work: true }) => unknown().into_response(),
        Some(Fault::Hang { after_work: true }) => {
            tokio::time::sleep(simulator.shared.config.hang).await;
            answer.into_response()
        }
        _ => answer.into_response(),
    }
}
