//! The payment kind's stand-in at Alipay+ ([`Payments`]): pay, consultPayment, inquiryPayment
//! and cancelPayment over its books, the checkout page the customer pays on, the signed
//! notifyPayment of each final result, and the controls tests use (complete, misreport,
//! forget). The refund and dispute parts book against these payments.

mod books;
mod checkout;
mod payment;
mod rates;

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

pub use books::LedgerPayment;
pub use payment::{Completion, NotifyState, PaymentStatus};

use crate::alipayplus::inbound::Refusal;
use crate::alipayplus::wire::*;
use crate::simulator::core::{AutoComplete, Call, PartBooks, Simulator, SimulatorPart};
use crate::simulator::notify::{Delivery, deliver_until_acknowledged};
use books::Books;
use payment::SimPayment;

/// Alipay+'s payments, as a simulator part.
#[derive(Default)]
pub struct Payments {
    books: PartBooks<Books>,
}

impl SimulatorPart for Payments {
    fn apis(&self) -> &'static [&'static str] {
        &["pay", "consultPayment", "inquiryPayment", "cancelPayment"]
    }

    fn answer(&self, simulator: &Simulator, api: &str, call: &Call<'_>) -> Result<Value, Refusal> {
        let now = simulator.now();
        let answer = match api {
            "pay" => {
                let request: PayRequest = call.request()?;
                let expiry =
                    chrono::Duration::from_std(simulator.config().payment_expiry).expect("expiry in range");
                let payment_request_id = request.payment_request_id.clone();
                let (answer, created) = self.books.lock().pay(request, now, expiry, &simulator.base_url());
                if created {
                    schedule_auto_complete(simulator, payment_request_id);
                }
                serde_json::to_value(answer)
            }
            "consultPayment" => {
                let request: ConsultPaymentRequest = call.request()?;
                self.books.lock().consulted();
                serde_json::to_value(checkout::consult(&request))
            }
            "inquiryPayment" => serde_json::to_value(self.books.lock().inquiry(&call.request()?, now)),
            _ => serde_json::to_value(self.books.lock().cancel(&call.request()?, now)),
        };
        Ok(answer.expect("wire types serialise"))
    }

    fn routes(&self) -> Router<Simulator> {
        Router::new()
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
    }
}

impl Payments {
    /// The customer acted on `payment_request_id`; a final payment is then notified, unless
    /// `notify` is false (the notification is lost altogether).
    pub fn complete(
        &self,
        simulator: &Simulator,
        payment_request_id: &str,
        completion: Completion,
        wallet: Option<&str>,
        notify: bool,
    ) -> Result<(), String> {
        let mut books = self.books.lock();
        books.complete(payment_request_id, completion, wallet, simulator.now())?;
        if notify {
            tokio::spawn(deliver(simulator.clone(), payment_request_id.to_string()));
        } else if let Some(payment) = books.payment_mut(payment_request_id) {
            payment.notify = NotifyState::Exhausted;
        }
        Ok(())
    }

    /// Books a refund of `amount` against the payment `reference` (see [`Books::refund`]).
    pub fn refund(
        &self,
        reference: &PaymentReference,
        amount: &Amount,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), (&'static str, &'static str)> {
        self.books.lock().refund(reference, amount, now)
    }

    /// The notify URL of a paid payment (disputes are sent beside it).
    pub fn notify_url(&self, payment_request_id: &str) -> Option<String> {
        self.books.lock().notify_url(payment_request_id)
    }

    /// What payment `payment_request_id` may declare to customs (`None` inside: not a paid
    /// AlipayCN payment); `None`: no such payment.
    pub fn customs_declaration_amount(&self, payment_request_id: &str) -> Option<Option<Amount>> {
        self.books
            .lock()
            .payment(payment_request_id)
            .map(SimPayment::customs_declaration_amount)
    }

    /// Every payment, by paymentRequestId, for the ledger.
    pub fn ledger(&self) -> BTreeMap<String, LedgerPayment> {
        self.books.lock().ledger()
    }

    /// consultPayment calls answered.
    pub fn consult_calls(&self) -> u32 {
        self.books.lock().consult_calls()
    }

    fn record(&self, payment_request_id: &str, change: impl FnOnce(&mut SimPayment)) {
        if let Some(payment) = self.books.lock().payment_mut(payment_request_id) {
            change(payment);
        }
    }
}

/// With `auto_complete` set, the customer acts on a new payment after `auto_complete_after`.
fn schedule_auto_complete(simulator: &Simulator, payment_request_id: String) {
    let completion = match simulator.config().auto_complete {
        AutoComplete::None => return,
        AutoComplete::Success => Completion::Success,
        AutoComplete::Fail => Completion::Fail {
            code: "USER_BALANCE_NOT_ENOUGH".into(),
        },
    };
    let simulator = simulator.clone();
    let after = simulator.config().auto_complete_after;
    tokio::spawn(async move {
        tokio::time::sleep(after).await;
        let payments = simulator.part::<Payments>();
        if let Err(e) = payments.complete(&simulator, &payment_request_id, completion, None, true) {
            tracing::debug!("auto-complete skipped: {e}");
        }
    });
}

/// Notifies the final result of payment `payment_request_id` (notifyPayment).
async fn deliver(simulator: Simulator, payment_request_id: String) {
    tokio::time::sleep(simulator.config().notify_delay).await;
    let payments = simulator.part::<Payments>();
    let current = || {
        let (url, body) = payments.books.lock().notification(&payment_request_id)?;
        Some((url, serde_json::to_vec(&body).expect("wire types serialise")))
    };
    deliver_until_acknowledged(&simulator, current, |delivery| {
        payments.record(&payment_request_id, |p| match delivery {
            Delivery::Dropped => p.notifications_dropped += 1,
            Delivery::Sent => p.notifications_sent += 1,
            Delivery::Acknowledged => {
                p.notifications_acknowledged += 1;
                p.notify = NotifyState::Acknowledged;
            }
            Delivery::Exhausted => p.notify = NotifyState::Exhausted,
        })
    })
    .await;
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
    let payments = simulator.part::<Payments>();
    match payments.complete(
        &simulator,
        &payment_request_id,
        completion,
        request.wallet.as_deref(),
        notify,
    ) {
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
    let done = simulator
        .part::<Payments>()
        .books
        .lock()
        .misreport(&payment_request_id, request.amount);
    control_answer(done, &payment_request_id)
}

/// A test makes Alipay+ lose track of a payment it accepted.
async fn forget(State(simulator): State<Simulator>, Path(payment_request_id): Path<String>) -> Response {
    let done = simulator
        .part::<Payments>()
        .books
        .lock()
        .forget(&payment_request_id);
    control_answer(done, &payment_request_id)
}

fn control_answer(done: Result<(), String>, payment_request_id: &str) -> Response {
    match done {
        Ok(()) => Json(json!({ "changed": payment_request_id })).into_response(),
        Err(e) => (StatusCode::NOT_FOUND, Json(json!({ "error": e }))).into_response(),
    }
}
