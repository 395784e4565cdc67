//! An Alipay+ stand-in speaking the real signed wire protocol, for development, the demo and
//! tests: pay, consultPayment, inquiryPayment, cancelPayment and refund at `/aps/api/v1/...`,
//! disputes, customs and merchant registration with its wallets' reviews, signed notifications
//! retried on the published schedule, an HTML checkout page, control routes and a ledger. Chaos (unknown results, timeouts, 5xx, dropped and duplicated
//! notifications) is drawn from one seeded generator, so a run is reproducible by `--seed`.

mod checkout;
mod customs;
pub mod disputes;
mod notify;
mod payment;
mod payment_books;
mod rates;
mod registrations;
pub mod reports;
mod required;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Deserialize;
use serde_json::json;

pub use payment::{Completion, NotifyState, PaymentStatus};
pub use payment_books::{Ledger, cancel_window_end};

use crate::alipayplus::inbound::{Endpoint, MAX_BODY_BYTES, Refusal};
use crate::alipayplus::signing::{SigningKey, VerifyingKeys};
use crate::alipayplus::wire::*;
use crate::clock::SharedClock;
use payment_books::Books;

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

/// A running simulator; clones share it.
#[derive(Clone)]
pub struct Simulator {
    shared: Arc<Shared>,
}

struct Shared {
    config: SimulatorConfig,
    endpoint: Endpoint,
    books: Mutex<Books>,
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
    pub fn new(config: SimulatorConfig, clock: SharedClock) -> Self {
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
            books: Mutex::new(Books::default()),
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

    /// Binds `host:port` (0 = any free port) and serves until the task is dropped.
    pub async fn serve(
        &self,
        host: &str,
        port: u16,
    ) -> anyhow::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
        let listener = tokio::net::TcpListener::bind((host, port)).await?;
        let address = listener.local_addr()?;
        let _ = self.shared.base_url.set(format!("http://{address}"));
        let router = self.router();
        let task = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, router).await {
                tracing::error!("simulator stopped: {e}");
            }
        });
        Ok((address, task))
    }

    pub fn router(&self) -> Router {
        Router::new()
            .route("/aps/api/v1/payments/{api}", post(api))
            .route("/aps/api/v1/disputes/{api}", post(api))
            .route("/aps/api/v1/customs/{api}", post(api))
            .route("/aps/api/v1/merchants/{api}", post(api))
            .route(
                "/simulator/payments/{payment_request_id}/disputes",
                post(raise_dispute),
            )
            .route(
                "/checkout/{payment_id}",
                get(checkout::page).post(checkout::submit),
            )
            .route(
                "/simulator/payments/{payment_request_id}/complete",
                post(complete),
            )
            .route(
                "/simulator/payments/{payment_request_id}/misreport",
                post(misreport),
            )
            .route("/simulator/payments/{payment_request_id}/forget", post(forget))
            .route("/simulator/ledger", get(ledger))
            .with_state(self.clone())
    }

    pub fn ledger(&self) -> Ledger {
        let mut ledger = self.books().ledger();
        ledger.participant_id = self.shared.config.client_id.clone();
        ledger
    }

    /// The customer acted on `payment_request_id`; a final payment is then notified.
    pub fn complete(
        &self,
        payment_request_id: &str,
        completion: Completion,
        wallet: Option<&str>,
    ) -> Result<(), String> {
        self.complete_with(payment_request_id, completion, wallet, true)
    }

    /// [`Simulator::complete`], optionally losing the notification altogether.
    pub fn complete_with(
        &self,
        payment_request_id: &str,
        completion: Completion,
        wallet: Option<&str>,
        notify: bool,
    ) -> Result<(), String> {
        let now = self.shared.clock.now();
        self.books()
            .complete(payment_request_id, completion, wallet, now)?;
        if notify {
            tokio::spawn(notify::deliver(self.clone(), payment_request_id.to_string()));
        } else if let Some(payment) = self.books().payment_mut(payment_request_id) {
            payment.notify = NotifyState::Exhausted;
        }
        Ok(())
    }

    fn books(&self) -> std::sync::MutexGuard<'_, Books> {
        self.shared.books.lock().expect("simulator books")
    }

    fn chance(&self, probability: f64) -> bool {
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

    fn base_url(&self) -> String {
        self.shared
            .base_url
            .get()
            .cloned()
            .unwrap_or_else(|| "http://127.0.0.1".into())
    }

    /// Does the work of one verified API call; returns the JSON answer.
    fn handle(
        &self,
        api: &str,
        path: &str,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<serde_json::Value, Refusal> {
        let endpoint = &self.shared.endpoint;
        let now = self.shared.clock.now();
        let answer = match api {
            "pay" => {
                let request: PayRequest = endpoint.verify(path, headers, body)?;
                required::check(&request)?;
                let expiry =
                    chrono::Duration::from_std(self.shared.config.payment_expiry).expect("expiry in range");
                let (answer, created) = self.books().pay(request.clone(), now, expiry, &self.base_url());
                if created {
                    self.schedule_auto_complete(request.payment_request_id);
                }
                serde_json::to_value(answer)
            }
            "consultPayment" => {
                let request: ConsultPaymentRequest = endpoint.verify(path, headers, body)?;
                required::check(&request)?;
                self.books().consulted();
                serde_json::to_value(checkout::consult(&request))
            }
            "inquiryPayment" => {
                let reference: PaymentReference = endpoint.verify(path, headers, body)?;
                required::check(&reference)?;
                serde_json::to_value(self.books().inquiry(&reference, now))
            }
            "cancelPayment" => {
                let reference: PaymentReference = endpoint.verify(path, headers, body)?;
                required::check(&reference)?;
                serde_json::to_value(self.books().cancel(&reference, now))
            }
            "refund" => {
                let request: RefundRequest = endpoint.verify(path, headers, body)?;
                required::check(&request)?;
                serde_json::to_value(self.books().refund(request, now))
            }
            "responseRetrieval" | "responseEscalation" => {
                let request: serde_json::Value = endpoint.verify(path, headers, body)?;
                let kind = if api == "responseRetrieval" {
                    "RETRIEVAL"
                } else {
                    "ESCALATION"
                };
                serde_json::to_value(ResultResponse {
                    result: disputes::respond(self, kind, &request),
                })
            }
            "declare" => {
                let request: DeclareRequest = endpoint.verify(path, headers, body)?;
                required::check(&request)?;
                serde_json::to_value(customs::declare(self, request))
            }
            "inquireDeclarationRequests" => {
                let request: InquireDeclarationRequestsRequest = endpoint.verify(path, headers, body)?;
                required::check(&request)?;
                serde_json::to_value(customs::inquire(self, request))
            }
            "registration" => {
                let request: RegistrationRequest = endpoint.verify(path, headers, body)?;
                required::check(&request)?;
                let id = request.registration_request_id.clone();
                let (answer, created) = registrations::register(self, request);
                if created {
                    tokio::spawn(registrations::review(self.clone(), id));
                }
                serde_json::to_value(answer)
            }
            "inquiryRegistrationStatus" => {
                let request: InquiryRegistrationStatusRequest = endpoint.verify(path, headers, body)?;
                required::check(&request)?;
                serde_json::to_value(registrations::inquire(self, request))
            }
            _ => {
                return Err(Refusal {
                    code: "NO_INTERFACE_DEF",
                    message: format!("API '{api}' is not defined"),
                });
            }
        };
        Ok(answer.expect("wire types serialise"))
    }

    fn schedule_auto_complete(&self, payment_request_id: String) {
        let completion = match self.shared.config.auto_complete {
            AutoComplete::None => return,
            AutoComplete::Success => Completion::Success,
            AutoComplete::Fail => Completion::Fail {
                code: "USER_BALANCE_NOT_ENOUGH".into(),
            },
        };
        let simulator = self.clone();
        let after = self.shared.config.auto_complete_after;
        tokio::spawn(async move {
            tokio::time::sleep(after).await;
            if let Err(e) = simulator.complete(&payment_request_id, completion, None) {
                tracing::debug!("auto-complete skipped: {e}");
            }
        });
    }
}

async fn api(
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

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CompleteRequest {
    outcome: String,
    result_code: Option<String>,
    wallet: Option<String>,
    /// `false`: the notification of this payment is lost (the ACQP must find out by polling).
    notify: Option<bool>,
}

async fn complete(
    State(simulator): State<Simulator>,
    Path(payment_request_id): Path<String>,
    Json(request): Json<CompleteRequest>,
) -> Response {
    let completion = match request.outcome.as_str() {
        "SUCCESS" => Completion::Success,
        "FAIL" => Completion::Fail {
            code: request.result_code.unwrap_or_else(|| "PROCESS_FAIL".into()),
        },
        other => {
            let error = json!({ "error": format!("outcome must be SUCCESS or FAIL, not '{other}'") });
            return (StatusCode::UNPROCESSABLE_ENTITY, Json(error)).into_response();
        }
    };
    let notify = request.notify.unwrap_or(true);
    match simulator.complete_with(&payment_request_id, completion, request.wallet.as_deref(), notify) {
        Ok(()) => Json(json!({ "completed": payment_request_id })).into_response(),
        Err(e) => (StatusCode::CONFLICT, Json(json!({ "error": e }))).into_response(),
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct MisreportRequest {
    amount: Amount,
}

/// A test makes Alipay+'s record of a payment state another amount.
async fn misreport(
    State(simulator): State<Simulator>,
    Path(payment_request_id): Path<String>,
    Json(request): Json<MisreportRequest>,
) -> Response {
    let done = simulator.books().misreport(&payment_request_id, request.amount);
    control_answer(done, &payment_request_id)
}

/// A test makes Alipay+ lose track of a payment it accepted.
async fn forget(State(simulator): State<Simulator>, Path(payment_request_id): Path<String>) -> Response {
    let done = simulator.books().forget(&payment_request_id);
    control_answer(done, &payment_request_id)
}

fn control_answer(done: Result<(), String>, payment_request_id: &str) -> Response {
    match done {
        Ok(()) => Json(json!({ "changed": payment_request_id })).into_response(),
        Err(e) => (StatusCode::NOT_FOUND, Json(json!({ "error": e }))).into_response(),
    }
}

async fn raise_dispute(
    State(simulator): State<Simulator>,
    Path(payment_request_id): Path<String>,
    Json(request): Json<disputes::RaiseRequest>,
) -> Response {
    match disputes::raise(&simulator, &payment_request_id, request) {
        Ok(id) => Json(json!({ "disputeRequestId": id })).into_response(),
        Err(e) => (StatusCode::CONFLICT, Json(json!({ "error": e }))).into_response(),
    }
}

async fn ledger(State(simulator): State<Simulator>) -> Json<Ledger> {
    Json(simulator.ledger())
}
