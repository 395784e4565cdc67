//! Merchant registration, as Alipay+ and its wallets (MPPs) run it (ALIPAYPLUS.md 4):
//! `registration` checks Alipay+'s rules (known product codes, a display name for the cashier
//! and agreement products; idempotent by registrationRequestId: the same request again is the
//! same answer and adds nothing, another one with that id is REPEAT_REQ_INCONSISTENT; a new
//! registration of a merchant within 30 minutes of its previous one only once that one has been
//! processed). Each product of a request is its own registration at each of [`WALLETS`]:
//! AlipayCN, in reporting mode, accepts on delivery and never answers (it stays PENDING in the
//! lists); AlipayHK and GCash review (approval mode) on their own time (scaled by
//! `time_scale`): AlipayHK rejects a merchant without a website to review, and either rejects
//! any other at `registration_reject_rate`. The collective status is COMPLETED once every
//! approval-mode wallet answered. As each one answers, a signed notifyRegistrationStatus
//! carrying every wallet's status goes to the
//! `registrationNotifyUrl`, re-sent on the notification schedule until acknowledged (chaos
//! applies). `inquiryRegistrationStatus` answers by registrationRequestId or merchant.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::alipayplus::inbound::Refusal;
use crate::alipayplus::wire::*;
use crate::simulator::core::{Call, PartBooks, Simulator, SimulatorPart};
use crate::simulator::notify::{Delivery, deliver_until_acknowledged};

/// Whether a wallet approves on delivery or reviews first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Reporting,
    Approval,
}

/// The wallets a merchant is registered to, and when each in approval mode answers at time
/// scale 1.
pub const WALLETS: [(&str, Duration); 3] = [
    ("ALIPAY_CN", Duration::from_secs(10)),
    ("ALIPAY_HK", Duration::from_secs(30)),
    ("GCASH", Duration::from_secs(60)),
];

fn mode(wallet: &str) -> Mode {
    if wallet == "ALIPAY_CN" {
        Mode::Reporting
    } else {
        Mode::Approval
    }
}

/// UNCONFIRMED: the digest names no code for an update within 30 minutes; the generic F code.
const TOO_SOON_CODE: &str = "PROCESS_FAIL";

/// One wallet's part of a registration, for one product (each product of a request is its own
/// registration).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SimWallet {
    pub psp_name: String,
    pub product_code: String,
    /// PENDING until it answers, then APPROVED or REJECTED; a reporting-mode wallet never
    /// answers (it accepts on delivery) and stays PENDING.
    pub status: String,
    pub rejection_reason: Option<String>,
    /// What it will answer, decided when the registration was taken.
    #[serde(skip)]
    decision: (String, Option<String>),
}

/// A registration Alipay+ took.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SimRegistration {
    pub reference_merchant_id: String,
    pub product_codes: Vec<String>,
    /// registration calls with this id (the same request again counts again, adds nothing).
    pub registration_calls: u32,
    pub wallets: Vec<SimWallet>,
    pub inquiries: u32,
    pub notifications_sent: u32,
    pub notifications_dropped: u32,
    pub notifications_acknowledged: u32,
    #[serde(skip)]
    request: RegistrationRequest,
    #[serde(skip)]
    registered_at: DateTime<Utc>,
}

impl SimRegistration {
    /// COMPLETED once every wallet in approval mode answered, PENDING before.
    fn collective(&self) -> &'static str {
        let answered = |w: &SimWallet| mode(&w.psp_name) == Mode::Reporting || w.status != "PENDING";
        if self.wallets.iter().all(answered) {
            "COMPLETED"
        } else {
            "PENDING"
        }
    }

    fn results(&self) -> Vec<PspRegistrationResult> {
        self.wallets
            .iter()
            .map(|wallet| PspRegistrationResult {
                product_codes: Some(vec![wallet.product_code.clone()]),
                psp_name: wallet.psp_name.clone(),
                registration_result: RegistrationResult {
                    registration_status: wallet.status.clone(),
                    rejection_reason: wallet.rejection_reason.clone(),
                },
            })
            .collect()
    }
}

/// The registration side of the ledger, by registrationRequestId.
pub type RegistrationBooks = BTreeMap<String, SimRegistration>;

/// Alipay+'s merchant registration and its wallets' reviews, as a simulator part.
#[derive(Default)]
pub struct Registrations {
    /// The registrations taken, each wallet's answer and the calls.
    pub books: PartBooks<RegistrationBooks>,
}

impl SimulatorPart for Registrations {
    fn apis(&self) -> &'static [&'static str] {
        &["registration", "inquiryRegistrationStatus"]
    }

    fn answer(
        &self,
        simulator: &Simulator,
        api: &str,
        call: &Call<'_>,
    ) -> Result<serde_json::Value, Refusal> {
        let answer = if api == "registration" {
            let request: RegistrationRequest = call.request()?;
            let id = request.registration_request_id.clone();
            let (answer, created) = register(simulator, request);
            if created {
                tokio::spawn(review(simulator.clone(), id));
            }
            serde_json::to_value(answer)
        } else {
            serde_json::to_value(inquire(simulator, call.request()?))
        };
        Ok(answer.expect("wire types serialise"))
    }
}

fn refused(code: &str, message: &str) -> ResultResponse {
    only_result(ResultInfo::new(ResultStatus::F, code, message))
}

/// What each wallet will answer about each product of `request`.
fn decisions(simulator: &Simulator, request: &RegistrationRequest) -> Vec<SimWallet> {
    let has_website = request
        .merchant_info
        .websites
        .as_ref()
        .is_some_and(|websites| !websites.is_empty());
    let products = request.product_codes.iter();
    WALLETS
        .iter()
        .flat_map(|(wallet, _)| products.clone().map(move |product| (*wallet, product)))
        .map(|(wallet, product)| {
            let rejection = match mode(wallet) {
                Mode::Reporting => None,
                Mode::Approval if wallet == "ALIPAY_HK" && !has_website => {
                    Some("no website to review the merchant's business")
                }
                Mode::Approval => simulator
                    .chance(simulator.config().registration_reject_rate)
                    .then_some("the merchant's business information could not be verified"),
            };
            let decision = match rejection {
                Some(reason) => ("REJECTED".to_string(), Some(reason.to_string())),
                None => ("APPROVED".to_string(), None),
            };
            SimWallet {
                psp_name: wallet.to_string(),
                product_code: product.clone(),
                status: "PENDING".into(),
                rejection_reason: None,
                decision,
            }
        })
        .collect()
}

/// registration: the answer, and whether the registration is new (then its wallets start).
fn register(simulator: &Simulator, request: RegistrationRequest) -> (ResultResponse, bool) {
    let now = simulator.now();
    let mut books = simulator.part::<Registrations>().books.lock();
    let id = request.registration_request_id.clone();
    if let Some(earlier) = books.get_mut(&id) {
        if earlier.request != request {
            return (
                refused(
                    "REPEAT_REQ_INCONSISTENT",
                    "another registration was made with this registrationRequestId",
                ),
                false,
            );
        }
        earlier.registration_calls += 1;
        return (
            ResultResponse {
                result: ResultInfo::success(),
            },
            false,
        );
    }
    if id.is_empty() || id.len() > 64 {
        return (
            refused("PARAM_ILLEGAL", "registrationRequestId: 1 to 64 characters"),
            false,
        );
    }
    let known = ["CASHIER_PAYMENT", "AGREEMENT_PAYMENT", "IN_STORE_PAYMENT"];
    if request.product_codes.is_empty() || request.product_codes.iter().any(|c| !known.contains(&c.as_str()))
    {
        return (refused("PARAM_ILLEGAL", "productCodes: unknown or none"), false);
    }
    let needs_display_name = request
        .product_codes
        .iter()
        .any(|c| c == "CASHIER_PAYMENT" || c == "AGREEMENT_PAYMENT");
    if needs_display_name && request.merchant_info.merchant_display_name.is_none() {
        return (
            refused(
                "PARAM_ILLEGAL",
                "merchantDisplayName is required for this product",
            ),
            false,
        );
    }
    // A new registration within 30 minutes of the last only once the last has been processed.
    let merchant = &request.merchant_info.reference_merchant_id;
    let previous = books
        .values()
        .filter(|r| &r.reference_merchant_id == merchant)
        .max_by_key(|r| r.registered_at);
    if previous.is_some_and(|r| {
        now - r.registered_at <= chrono::Duration::minutes(30) && r.collective() != "COMPLETED"
    }) {
        return (
            refused(
                TOO_SOON_CODE,
                "the previous registration of this merchant is under 30 minutes old and still being processed",
            ),
            false,
        );
    }
    let wallets = decisions(simulator, &request);
    books.insert(
        id,
        SimRegistration {
            reference_merchant_id: merchant.clone(),
            product_codes: request.product_codes.clone(),
            registration_calls: 1,
            wallets,
            inquiries: 0,
            notifications_sent: 0,
            notifications_dropped: 0,
            notifications_acknowledged: 0,
            request,
            registered_at: now,
        },
    );
    (
        ResultResponse {
            result: ResultInfo::success(),
        },
        true,
    )
}

/// The wallets in approval mode answer about registration `id` one after the other (every
/// product at once); each answer is notified. A reporting-mode wallet sends nothing.
async fn review(simulator: Simulator, id: String) {
    let scale = simulator.config().time_scale;
    let mut waited = Duration::ZERO;
    for (wallet, after) in WALLETS.into_iter().filter(|(w, _)| mode(w) == Mode::Approval) {
        tokio::time::sleep(after.saturating_sub(waited).mul_f64(scale)).await;
        waited = after;
        let notification = {
            let mut books = simulator.part::<Registrations>().books.lock();
            let Some(registration) = books.get_mut(&id) else {
                return;
            };
            for answering in registration.wallets.iter_mut().filter(|w| w.psp_name == wallet) {
                answering.status = answering.decision.0.clone();
                answering.rejection_reason = answering.decision.1.clone();
            }
            registration.request.registration_notify_url.clone().map(|url| {
                let body = NotifyRegistrationStatusRequest {
                    reference_merchant_id: registration.reference_merchant_id.clone(),
                    reference_store_id: None,
                    registration_request_id: Some(id.clone()),
                    registration_result: RegistrationResult {
                        registration_status: registration.collective().into(),
                        rejection_reason: None,
                    },
                    psp_registration_result_list: Some(registration.results()),
                };
                (url, serde_json::to_vec(&body).expect("wire types serialise"))
            })
        };
        if let Some(notification) = notification {
            tokio::spawn(notify(simulator.clone(), id.clone(), notification));
        }
    }
}

/// Sends one notification of registration `id` until acknowledged.
async fn notify(simulator: Simulator, id: String, notification: (String, Vec<u8>)) {
    deliver_until_acknowledged(
        &simulator,
        || Some(notification.clone()),
        |delivery| {
            if let Some(registration) = simulator.part::<Registrations>().books.lock().get_mut(&id) {
                match delivery {
                    Delivery::Dropped => registration.notifications_dropped += 1,
                    Delivery::Sent => registration.notifications_sent += 1,
                    Delivery::Acknowledged => registration.notifications_acknowledged += 1,
                    Delivery::Exhausted => {}
                }
            }
        },
    )
    .await;
}

/// inquiryRegistrationStatus.
fn inquire(
    simulator: &Simulator,
    request: InquiryRegistrationStatusRequest,
) -> InquiryRegistrationStatusResponse {
    let mut books = simulator.part::<Registrations>().books.lock();
    let found = match (&request.registration_request_id, &request.reference_merchant_id) {
        (Some(id), _) => books.get_mut(id),
        (None, Some(merchant)) => books
            .values_mut()
            .filter(|r| &r.reference_merchant_id == merchant)
            .max_by_key(|r| r.registered_at),
        (None, None) => {
            return only_result(ResultInfo::new(
                ResultStatus::F,
                "PARAM_ILLEGAL",
                "registrationRequestId or referenceMerchantId is required",
            ));
        }
    };
    let Some(registration) = found else {
        return only_result(ResultInfo::new(
            ResultStatus::F,
            "RECORD_NOT_FOUND",
            "no such registration",
        ));
    };
    registration.inquiries += 1;
    InquiryRegistrationStatusResponse {
        result: ResultInfo::success(),
        registration_result: Some(RegistrationResult {
            registration_status: registration.collective().into(),
            rejection_reason: None,
        }),
        psp_registration_result_list: Some(registration.results()),
    }
}
