//! The refund kind's stand-in at Alipay+ ([`Refunds`]): `refund`, idempotent by
//! refundRequestId (the same request again is the same answer; another one with that id is
//! REPEAT_REQ_INCONSISTENT), booked against its payment under the payment's rules
//! (`crate::kinds::payment::simulator::Payments::refund`), and the refunds side of the ledger.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

use crate::alipayplus::inbound::Refusal;
use crate::alipayplus::wire::*;
use crate::kinds::payment::simulator::Payments;
use crate::simulator::core::{Call, PartBooks, Simulator, SimulatorPart};

/// A refund request and the answer it got.
#[derive(Debug, Clone)]
struct SimRefund {
    request: RefundRequest,
    answer: RefundResponse,
}

#[derive(Default)]
struct Books {
    refunds: BTreeMap<String, SimRefund>,
    next_id: u64,
}

/// Alipay+'s refunds, as a simulator part.
#[derive(Default)]
pub struct Refunds {
    books: PartBooks<Books>,
}

impl SimulatorPart for Refunds {
    fn apis(&self) -> &'static [&'static str] {
        &["refund"]
    }

    fn answer(&self, simulator: &Simulator, _api: &str, call: &Call<'_>) -> Result<Value, Refusal> {
        let answer = self.refund(simulator, call.request()?, simulator.now());
        Ok(serde_json::to_value(answer).expect("wire types serialise"))
    }
}

impl Refunds {
    fn refund(&self, simulator: &Simulator, request: RefundRequest, now: DateTime<Utc>) -> RefundResponse {
        let refusal =
            |code: &str, message: &str| only_result(ResultInfo::new(ResultStatus::F, code, message));
        // Held until the refund is booked: the same refundRequestId twice at once books once.
        let mut books = self.books.lock();
        if let Some(earlier) = books.refunds.get(&request.refund_request_id) {
            let same = earlier.request.refund_amount == request.refund_amount
                && earlier.request.payment_request_id == request.payment_request_id
                && earlier.request.payment_id == request.payment_id;
            return if same {
                earlier.answer.clone()
            } else {
                refusal(
                    "REPEAT_REQ_INCONSISTENT",
                    "refundRequestId reused with a different amount or payment",
                )
            };
        }
        let reference = PaymentReference {
            payment_request_id: request.payment_request_id.clone(),
            payment_id: request.payment_id.clone(),
        };
        let booked = simulator
            .part::<Payments>()
            .refund(&reference, &request.refund_amount, now);
        let answer = match booked {
            Err((code, message)) => refusal(code, message),
            Ok(()) => {
                books.next_id += 1;
                RefundResponse {
                    result: ResultInfo::success(),
                    refund_id: Some(format!("2026R{:019}", books.next_id)),
                    refund_time: Some(crate::alipayplus::signing::timestamp(now)),
                    refund_amount: Some(request.refund_amount.clone()),
                    acquirer_id: Some("SIMULATOR_ACQUIRER".into()),
                    ..only_result(ResultInfo::success())
                }
            }
        };
        books.refunds.insert(
            request.refund_request_id.clone(),
            SimRefund {
                request,
                answer: answer.clone(),
            },
        );
        answer
    }

    /// Every refund request, by refundRequestId, for the ledger.
    pub fn ledger(&self) -> BTreeMap<String, LedgerRefund> {
        let books = self.books.lock();
        books
            .refunds
            .iter()
            .map(|(id, r)| {
                let entry = LedgerRefund {
                    refund_id: r.answer.refund_id.clone(),
                    refund_time: r.answer.refund_time.clone(),
                    payment_request_id: r.request.payment_request_id.clone(),
                    amount: r.request.refund_amount.clone(),
                    result_status: r.answer.result.result_status,
                    result_code: r.answer.result.result_code.clone(),
                };
                (id.clone(), entry)
            })
            .collect()
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LedgerRefund {
    /// Alipay+'s refundId and time, when it succeeded.
    pub refund_id: Option<String>,
    pub refund_time: Option<String>,
    pub payment_request_id: Option<String>,
    pub amount: Amount,
    pub result_status: ResultStatus,
    pub result_code: String,
}
