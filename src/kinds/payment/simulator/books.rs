//! The simulator's books and Alipay+'s rules, as pure functions of the state and the clock:
//! idempotency by request id, payments in process until the customer acts, expiry, the cancel
//! window, the refund window and Σ refunds ≤ paid, over each payment's record
//! ([`super::payment`]). Also the payments' side of the ledger the tests read.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Duration as Span, FixedOffset, NaiveTime, Utc};
use serde::Serialize;

use super::payment::{Completion, NotifyState, PaymentStatus, SimPayment};
use crate::alipayplus::wallets::Wallets;
use crate::alipayplus::wire::*;

/// The wallet's id of the customer who paid `payment`.
fn customer_id(payment: &SimPayment) -> String {
    format!("CUSTOMER_{}", payment.payment_id)
}

/// The wallets the checkout offers, by enum name.
pub const WALLETS: [&str; 5] = ["ALIPAY_CN", "ALIPAY_HK", "GCASH", "KAKAOPAY", "TNG"];

#[derive(Default)]
pub struct Books {
    payments: HashMap<String, SimPayment>,
    by_payment_id: HashMap<String, String>,
    next_id: u64,
    consult_calls: u32,
}

fn fail<T>(code: &str, message: &str, make: impl FnOnce(ResultInfo) -> T) -> T {
    make(ResultInfo::new(ResultStatus::F, code, message))
}

/// 00:15 UTC+8 on the day after the payment was initiated (day counted in UTC+8).
pub fn cancel_window_end(created_at: DateTime<Utc>) -> DateTime<Utc> {
    let utc8 = FixedOffset::east_opt(8 * 3600).expect("valid offset");
    let next_day = created_at.with_timezone(&utc8).date_naive() + Span::days(1);
    let end = next_day.and_time(NaiveTime::from_hms_opt(0, 15, 0).expect("valid time"));
    end.and_local_timezone(utc8)
        .single()
        .expect("fixed offsets are unambiguous")
        .with_timezone(&Utc)
}

impl Books {
    fn key_fields(request: &PayRequest) -> (Amount, String, Amount) {
        (
            request.payment_amount.clone(),
            request.payment_method.payment_method_type.clone(),
            request.order.order_amount.clone(),
        )
    }

    /// `pay`: a new payment in process, or the first answer again for the same request.
    pub fn pay(
        &mut self,
        request: PayRequest,
        now: DateTime<Utc>,
        expiry: Span,
        base_url: &str,
    ) -> (PayResponse, bool) {
        if let Some(existing) = self.payments.get_mut(&request.payment_request_id) {
            if Self::key_fields(&existing.request) != Self::key_fields(&request) {
                let answer = fail(
                    "REPEAT_REQ_INCONSISTENT",
                    "paymentRequestId reused with different key fields",
                    |result| PayResponse {
                        result,
                        ..only_result(ResultInfo::success())
                    },
                );
                return (answer, false);
            }
            existing.pay_calls += 1;
            return (existing.answer.clone(), false);
        }
        if request.payment_amount.value <= 0 {
            return (
                fail("PARAM_ILLEGAL", "paymentAmount must be positive", only_result),
                false,
            );
        }
        if request
            .order
            .env
            .as_ref()
            .and_then(|e| e.terminal_type.as_ref())
            .is_none()
        {
            return (
                fail("PARAM_ILLEGAL", "order.env.terminalType is required", only_result),
                false,
            );
        }
        self.next_id += 1;
        let payment_id = format!("2026{:020}", self.next_id);
        let requested_expiry = request
            .payment_expiry_time
            .as_deref()
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.with_timezone(&Utc));
        // A longer expiry than the cashier default is ignored (ALIPAYPLUS.md 3.1).
        let expires_at = requested_expiry
            .filter(|t| *t < now + expiry)
            .unwrap_or(now + expiry);
        let checkout = format!("{base_url}/checkout/{payment_id}");
        // An app is also given links that open the wallet, and the Alipay+ SDK's payload.
        let in_app = request
            .order
            .env
            .as_ref()
            .and_then(|e| e.terminal_type.as_deref())
            .is_some_and(|terminal| terminal == "APP");
        let answer = PayResponse {
            result: ResultInfo::success(),
            payment_id: Some(payment_id.clone()),
            payment_amount: Some(request.payment_amount.clone()),
            normal_url: Some(checkout.clone()),
            applink_url: in_app.then(|| format!("{checkout}?applink=1")),
            scheme_url: in_app.then(|| format!("alipayplus-simulator://pay?paymentId={payment_id}")),
            payment_data: in_app.then(|| format!("{{\"paymentId\":\"{payment_id}\"}}")),
            acquirer_id: Some("SIMULATOR_ACQUIRER".into()),
            ..only_result(ResultInfo::success())
        };
        self.by_payment_id
            .insert(payment_id.clone(), request.payment_request_id.clone());
        self.payments.insert(
            request.payment_request_id.clone(),
            SimPayment {
                request,
                answer: answer.clone(),
                payment_id,
                status: PaymentStatus::InProcess,
                failure_code: None,
                wallet: WALLETS[0].into(),
                created_at: now,
                expires_at,
                paid_at: None,
                pay_calls: 1,
                cancel_count: 0,
                refunded: 0,
                notify: NotifyState::None,
                notifications_sent: 0,
                notifications_dropped: 0,
                notifications_acknowledged: 0,
                reported_amount: None,
                forgotten: false,
            },
        );
        (answer, true)
    }

    pub fn find(&mut self, reference: &PaymentReference, now: DateTime<Utc>) -> Option<&mut SimPayment> {
        let request_id = match (&reference.payment_request_id, &reference.payment_id) {
            (Some(id), _) => id.clone(),
            (None, Some(payment_id)) => self.by_payment_id.get(payment_id)?.clone(),
            (None, None) => return None,
        };
        let payment = self.payments.get_mut(&request_id)?;
        if payment.status == PaymentStatus::InProcess && now >= payment.expires_at {
            payment.status = PaymentStatus::Closed;
        }
        Some(payment)
    }

    pub fn by_payment_id(&self, payment_id: &str) -> Option<String> {
        self.by_payment_id.get(payment_id).cloned()
    }

    pub fn inquiry(&mut self, reference: &PaymentReference, now: DateTime<Utc>) -> InquiryPaymentResponse {
        let Some(payment) = self.find(reference, now) else {
            return fail("ORDER_NOT_EXIST", "no such payment", only_result);
        };
        if payment.forgotten {
            // The shape the Cashier cancel guide names: the result S, the payment's F.
            return InquiryPaymentResponse {
                payment_result: Some(ResultInfo::new(
                    ResultStatus::F,
                    "ORDER_NOT_EXIST",
                    "no such payment",
                )),
                ..only_result(ResultInfo::success())
            };
        }
        let succeeded = payment.status == PaymentStatus::Succeeded;
        let settlement = payment.settlement();
        InquiryPaymentResponse {
            result: ResultInfo::success(),
            payment_result: Some(payment_result(payment)),
            payment_request_id: Some(payment.request.payment_request_id.clone()),
            payment_id: Some(payment.payment_id.clone()),
            payment_amount: Some(payment.stated_amount()),
            acquirer_id: Some("SIMULATOR_ACQUIRER".into()),
            payment_time: payment.paid_at.map(crate::alipayplus::signing::timestamp),
            wallet_brand_name: payment.stated_wallet().map(|(brand, _)| brand),
            psp_id: payment.stated_wallet().map(|(_, psp_id)| psp_id),
            customer_id: succeeded.then(|| customer_id(payment)),
            settlement_amount: settlement.clone().map(|(amount, _)| amount),
            settlement_quote: settlement.map(|(_, quote)| quote),
            customs_declaration_amount: payment.customs_declaration_amount(),
            ..only_result(ResultInfo::success())
        }
    }

    pub fn cancel(&mut self, reference: &PaymentReference, now: DateTime<Utc>) -> CancelPaymentResponse {
        let Some(payment) = self.find(reference, now).filter(|payment| !payment.forgotten) else {
            return fail("ORDER_NOT_EXIST", "no such payment", only_result);
        };
        if now > cancel_window_end(payment.created_at) {
            return fail(
                "CANCEL_WINDOW_EXCEED",
                "the cancel window closed at 00:15 UTC+8 on T+1; refund instead",
                only_result,
            );
        }
        payment.status = PaymentStatus::Cancelled;
        payment.cancel_count += 1;
        CancelPaymentResponse {
            result: ResultInfo::success(),
            psp_id: Wallets::default()
                .by_name(&payment.wallet)
                .map(|entry| entry.psp_id.clone()),
            acquirer_id: Some("SIMULATOR_ACQUIRER".into()),
        }
    }

    /// Books `amount` refunded against the payment `reference` under Alipay+'s rules (a
    /// succeeded payment, its currency, within 365 days of payment, Σ refunds ≤ paid); the
    /// result code and message of a refusal otherwise.
    pub fn refund(
        &mut self,
        reference: &PaymentReference,
        amount: &Amount,
        now: DateTime<Utc>,
    ) -> Result<(), (&'static str, &'static str)> {
        let Some(payment) = self.find(reference, now) else {
            return Err(("ORDER_NOT_EXIST", "no such payment"));
        };
        if payment.status != PaymentStatus::Succeeded {
            return Err(("PROCESS_FAIL", "only a successful payment can be refunded"));
        }
        if payment.request.payment_amount.currency != amount.currency {
            return Err(("PARAM_ILLEGAL", "refundAmount must be in the payment currency"));
        }
        if amount.value <= 0 {
            return Err(("PARAM_ILLEGAL", "refundAmount must be positive"));
        }
        if payment.paid_at.is_some_and(|paid| now > paid + Span::days(365)) {
            return Err(("REFUND_WINDOW_EXCEED", "outside the allowable refund window"));
        }
        if payment.refunded + amount.value > payment.request.payment_amount.value {
            return Err((
                "REFUND_AMOUNT_EXCEED",
                "total refund amount exceeds the original payment amount",
            ));
        }
        payment.refunded += amount.value;
        Ok(())
    }

    /// The customer acted. Returns the payment request id to notify, if the payment became final.
    pub fn complete(
        &mut self,
        request_id: &str,
        completion: Completion,
        wallet: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<(), String> {
        let reference = PaymentReference {
            payment_request_id: Some(request_id.into()),
            payment_id: None,
        };
        let payment = self
            .find(&reference, now)
            .ok_or_else(|| format!("no payment '{request_id}'"))?;
        if payment.status != PaymentStatus::InProcess {
            return Err(format!(
                "payment '{request_id}' is {:?}, not in process",
                payment.status
            ));
        }
        match completion {
            Completion::Success => {
                payment.status = PaymentStatus::Succeeded;
                payment.paid_at = Some(now);
            }
            Completion::Fail { code } => {
                payment.status = PaymentStatus::Failed;
                payment.failure_code = Some(code);
            }
        }
        if let Some(wallet) = wallet {
            payment.wallet = wallet.to_string();
        }
        payment.notify = NotifyState::Pending;
        Ok(())
    }

    /// From now on, the payment's inquiry answers and notifications state `amount` instead of
    /// the amount paid: Alipay+'s record disagrees with the ACQP's.
    pub fn misreport(&mut self, request_id: &str, amount: Amount) -> Result<(), String> {
        let payment = self.payments.get_mut(request_id).ok_or("no such payment")?;
        payment.reported_amount = Some(amount);
        Ok(())
    }

    /// From now on, inquiryPayment answers the payment's result F `ORDER_NOT_EXIST` and
    /// cancelPayment `ORDER_NOT_EXIST`: Alipay+'s records no longer show an order it accepted.
    pub fn forget(&mut self, request_id: &str) -> Result<(), String> {
        let payment = self.payments.get_mut(request_id).ok_or("no such payment")?;
        payment.forgotten = true;
        Ok(())
    }

    pub fn payment(&self, request_id: &str) -> Option<&SimPayment> {
        self.payments.get(request_id)
    }

    pub fn payment_mut(&mut self, request_id: &str) -> Option<&mut SimPayment> {
        self.payments.get_mut(request_id)
    }

    /// The notification of a final payment, as Alipay+ sends it.
    pub fn notification(&self, request_id: &str) -> Option<(String, NotifyPaymentRequest)> {
        let payment = self.payments.get(request_id)?;
        let url = payment.request.payment_notify_url.clone()?;
        let succeeded = payment.status == PaymentStatus::Succeeded;
        let settlement = payment.settlement();
        let body = NotifyPaymentRequest {
            payment_result: payment_result(payment),
            payment_request_id: request_id.to_string(),
            payment_id: Some(payment.payment_id.clone()),
            acquirer_id: Some("SIMULATOR_ACQUIRER".into()),
            psp_id: payment.stated_wallet().map(|(_, psp_id)| psp_id),
            customer_id: succeeded.then(|| customer_id(payment)),
            payment_time: payment.paid_at.map(crate::alipayplus::signing::timestamp),
            payment_amount: Some(payment.stated_amount()),
            wallet_brand_name: payment.stated_wallet().map(|(brand, _)| brand),
            settlement_amount: settlement.clone().map(|(amount, _)| amount),
            settlement_quote: settlement.map(|(_, quote)| quote),
            customs_declaration_amount: payment.customs_declaration_amount(),
            mpp_payment_id: None,
        };
        Some((url, body))
    }

    /// Every payment, by paymentRequestId, for the ledger.
    pub fn ledger(&self) -> BTreeMap<String, LedgerPayment> {
        self.payments
            .iter()
            .map(|(id, p)| {
                let entry = LedgerPayment {
                    payment_id: p.payment_id.clone(),
                    paid_at: p.paid_at,
                    wallet: p.wallet.clone(),
                    status: p.status.clone(),
                    failure_code: p.failure_code.clone(),
                    amount: p.request.payment_amount.clone(),
                    psp_id: p.stated_wallet().map(|(_, psp_id)| psp_id),
                    settlement_amount: p.settlement().map(|(amount, _)| amount),
                    merchant: p.request.order.merchant.clone(),
                    buyer: p.request.order.buyer.clone(),
                    pay_calls: p.pay_calls,
                    refunded_total: p.refunded,
                    cancel_count: p.cancel_count,
                    notify: p.notify.clone(),
                    notifications_sent: p.notifications_sent,
                    notifications_dropped: p.notifications_dropped,
                    notifications_acknowledged: p.notifications_acknowledged,
                };
                (id.clone(), entry)
            })
            .collect()
    }

    /// consultPayment calls answered.
    pub fn consult_calls(&self) -> u32 {
        self.consult_calls
    }

    /// Counts a consultPayment answered.
    pub fn consulted(&mut self) {
        self.consult_calls += 1;
    }

    /// The notify URL of a paid payment (where its disputes are sent beside).
    pub fn notify_url(&self, request_id: &str) -> Option<String> {
        let payment = self.payments.get(request_id)?;
        (payment.status == PaymentStatus::Succeeded)
            .then(|| payment.request.payment_notify_url.clone())
            .flatten()
    }
}

fn payment_result(payment: &SimPayment) -> ResultInfo {
    match payment.status {
        PaymentStatus::InProcess => {
            ResultInfo::new(ResultStatus::U, "PAYMENT_IN_PROCESS", "waiting for the customer")
        }
        PaymentStatus::Succeeded => ResultInfo::success(),
        PaymentStatus::Failed => ResultInfo::new(
            ResultStatus::F,
            payment.failure_code.as_deref().unwrap_or("PROCESS_FAIL"),
            "payment failed",
        ),
        PaymentStatus::Closed | PaymentStatus::Cancelled => {
            ResultInfo::new(ResultStatus::F, "ORDER_IS_CLOSED", "the order is closed")
        }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LedgerPayment {
    pub payment_id: String,
    /// When the customer paid (Alipay+'s transaction time), if it succeeded.
    pub paid_at: Option<DateTime<Utc>>,
    /// The wallet the customer paid with.
    pub wallet: String,
    pub status: PaymentStatus,
    pub failure_code: Option<String>,
    pub amount: Amount,
    /// The wallet's pspId and what it settles for in the settlement currency (when that is not
    /// the payment's), as its result states them.
    pub psp_id: Option<String>,
    pub settlement_amount: Option<Amount>,
    /// The merchant and buyer the ACQP's pay named (`order.merchant`, `order.buyer`).
    pub merchant: Option<Merchant>,
    pub buyer: Option<Buyer>,
    pub pay_calls: u32,
    pub refunded_total: i64,
    pub cancel_count: u32,
    pub notify: NotifyState,
    pub notifications_sent: u32,
    pub notifications_dropped: u32,
    pub notifications_acknowledged: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cancel_window_closes_at_a_quarter_past_midnight_utc8_the_next_day() {
        let created = DateTime::parse_from_rfc3339("2026-11-25T15:59:00Z")
            .unwrap()
            .with_timezone(&Utc); // 23:59 UTC+8
        assert_eq!(
            cancel_window_end(created).to_rfc3339(),
            "2026-11-25T16:15:00+00:00"
        );
        let created = DateTime::parse_from_rfc3339("2026-11-25T16:01:00Z")
            .unwrap()
            .with_timezone(&Utc); // 00:01 UTC+8 on the 26th
        assert_eq!(
            cancel_window_end(created).to_rfc3339(),
            "2026-11-26T16:15:00+00:00"
        );
    }
}
