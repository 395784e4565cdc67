//! An Alipay+ stand-in speaking the real signed wire protocol, for development, the demo and
//! tests. Its core (`core`) knows no kind: configuration, chaos (unknown results, timeouts, 5xx,
//! dropped and duplicated notifications, drawn from one seeded generator, so a run is
//! reproducible by `--seed`), the signed `/aps/api/v1/...` front and the notification schedule
//! (`notify`). Each workflow kind brings its part from its folder (`Kind::simulator_part`:
//! payments with the checkout page, refunds, disputes, customs, merchant registration), and
//! this file composes them, with the ledger tests read across them.

pub mod core;
pub mod notify;
pub mod reports;
mod required;

use std::collections::BTreeMap;
use std::net::SocketAddr;

use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Serialize;

pub use self::core::{AutoComplete, Chaos, Simulator, SimulatorConfig};
pub use crate::kinds::dispute::simulator::RaiseRequest;
pub use crate::kinds::payment::simulator::{Completion, NotifyState, PaymentStatus};

use crate::clock::SharedClock;
use crate::kinds::customs_declaration::simulator::{CustomsDeclarations, InquiryCall, SimDeclaration};
use crate::kinds::dispute::simulator::{Disputes, SimDispute};
use crate::kinds::payment::simulator::{LedgerPayment, Payments};
use crate::kinds::refund::simulator::{LedgerRefund, Refunds};
use crate::kinds::registration::simulator::{Registrations, SimRegistration};

impl Simulator {
    /// A simulator with every kind's part (`crate::kinds::ALL`).
    pub fn new(config: SimulatorConfig, clock: SharedClock) -> Self {
        let parts = crate::kinds::ALL
            .iter()
            .filter_map(|kind| kind.simulator_part())
            .collect();
        Self::with_parts(config, clock, parts)
    }

    /// Binds `host:port` (0 = any free port) and serves until the task is dropped.
    pub async fn serve(
        &self,
        host: &str,
        port: u16,
    ) -> anyhow::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
        let listener = tokio::net::TcpListener::bind((host, port)).await?;
        let address = listener.local_addr()?;
        self.set_base_url(format!("http://{address}"));
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
            .route("/aps/api/v1/payments/{api}", post(self::core::api))
            .route("/aps/api/v1/disputes/{api}", post(self::core::api))
            .route("/aps/api/v1/customs/{api}", post(self::core::api))
            .route("/aps/api/v1/merchants/{api}", post(self::core::api))
            .route("/simulator/ledger", get(ledger))
            .merge(self.part_routes())
            .with_state(self.clone())
    }

    /// What Alipay+ did, across every part's books.
    pub fn ledger(&self) -> Ledger {
        let customs = self.part::<CustomsDeclarations>().books.copy();
        Ledger {
            participant_id: self.config().client_id.clone(),
            payments: self.part::<Payments>().ledger(),
            refunds: self.part::<Refunds>().ledger(),
            consult_calls: self.part::<Payments>().consult_calls(),
            disputes: self.part::<Disputes>().books.copy(),
            declarations: customs.declarations,
            declaration_inquiries: customs.inquiries,
            registrations: self.part::<Registrations>().books.copy(),
        }
    }

    /// The customer acted on `payment_request_id`; a final payment is then notified.
    pub fn complete(
        &self,
        payment_request_id: &str,
        completion: Completion,
        wallet: Option<&str>,
    ) -> Result<(), String> {
        self.part::<Payments>()
            .complete(self, payment_request_id, completion, wallet, true)
    }

    /// Raises a dispute on paid payment `payment_request_id` and starts sending it to the
    /// ACQP: its `disputeRequestId`.
    pub fn raise_dispute(&self, payment_request_id: &str, request: RaiseRequest) -> Result<String, String> {
        crate::kinds::dispute::simulator::raise(self, payment_request_id, request)
    }
}

/// Per `paymentRequestId`, `refundRequestId` and each kind's request id: what Alipay+ did.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Ledger {
    /// The ACQP's id at Alipay+ (its client id), as the report files name it.
    pub participant_id: String,
    pub payments: BTreeMap<String, LedgerPayment>,
    pub refunds: BTreeMap<String, LedgerRefund>,
    /// consultPayment calls answered.
    pub consult_calls: u32,
    /// By disputeRequestId: the disputes raised and the responses received.
    pub disputes: BTreeMap<String, SimDispute>,
    /// By customsDeclarationRequestId: the declarations taken and customs' status.
    pub declarations: BTreeMap<String, SimDeclaration>,
    /// Every inquireDeclarationRequests call, with the ids it asked about.
    pub declaration_inquiries: Vec<InquiryCall>,
    /// By registrationRequestId: the registrations taken, each wallet's answer, the calls.
    pub registrations: BTreeMap<String, SimRegistration>,
}

async fn ledger(State(simulator): State<Simulator>) -> Json<Ledger> {
    Json(simulator.ledger())
}
