//! "Ask Alipay+" for a payment or a refund: inquiryPayment on the payment now, read as a
//! verdict on the object asked about (what an operator's forced end is checked against).

use serde_json::{Value, json};
use uuid::Uuid;

use crate::alipayplus::client::{Client, Outcome};
use crate::alipayplus::wire::{InquiryPaymentResponse, PaymentReference, ResultStatus};
use crate::app::Engine;
use crate::app::errors::AppError;
use crate::app::kind::AlipayPlusAnswer;
use crate::kinds::payment::rows;
use crate::workflow::AlipayPlusVerdict;

/// What inquiryPayment says now of payment `payment_id`, or of its refund `refund_request_id`.
pub async fn ask_about_payment(
    engine: &Engine,
    client: &Client,
    payment_id: Uuid,
    refund_request_id: Option<String>,
) -> Result<AlipayPlusAnswer, AppError> {
    let payment = rows::payment(&engine.db, payment_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let reference = PaymentReference {
        payment_request_id: Some(payment.payment_request_id),
        payment_id: None,
    };
    let outcome = client.inquiry_payment(reference).await;
    let verdict = match &refund_request_id {
        None => payment_verdict(&outcome),
        Some(request_id) => refund_verdict(&outcome, request_id),
    };
    let (label, response, reason) = match outcome {
        Outcome::Succeeded(response) => ("SUCCEEDED", Some(response), None),
        Outcome::Rejected { response, .. } => ("REJECTED", Some(response), None),
        Outcome::Unknown { reason, response } => ("UNKNOWN", response, Some(reason)),
    };
    let result = response.as_ref().map(|r| r.result.clone());
    let payment_result = response
        .as_ref()
        .and_then(|r| r.payment_result.as_ref())
        .map(|r| format!("{:?} {}", r.result_status, r.result_code));
    let refund_status = refund_request_id.and_then(|request_id| {
        response
            .as_ref()?
            .transactions
            .as_ref()?
            .iter()
            .find(|t| t.transaction_request_id.as_deref() == Some(request_id.as_str()))
            .map(|t| t.transaction_status.clone().unwrap_or_else(|| "UNKNOWN".into()))
    });
    let answer = match (&response, reason) {
        (Some(response), _) => serde_json::to_string(response).unwrap_or_default(),
        (None, Some(reason)) => Value::String(reason).to_string(),
        (None, None) => String::new(),
    };
    let result_code = result.as_ref().map(|r| r.result_code.clone());
    let recorded = serde_json::Map::from_iter([
        ("api".to_string(), json!("inquiryPayment")),
        ("outcome".to_string(), json!(label)),
        ("resultCode".to_string(), json!(result_code)),
        ("paymentResult".to_string(), json!(payment_result)),
        ("refundStatus".to_string(), json!(refund_status)),
    ]);
    Ok(AlipayPlusAnswer {
        api: "inquiryPayment",
        verdict,
        outcome: label,
        result_code,
        result_message: result.and_then(|r| r.result_message),
        payment_result,
        refund_status,
        answer,
        recorded,
    })
}

/// What inquiryPayment says of the payment itself.
fn payment_verdict(outcome: &Outcome<InquiryPaymentResponse>) -> AlipayPlusVerdict {
    match outcome {
        Outcome::Succeeded(response) => match &response.payment_result {
            Some(result) => match result.result_status {
                ResultStatus::S => AlipayPlusVerdict::Success,
                ResultStatus::F if result.result_code == "ORDER_NOT_EXIST" => AlipayPlusVerdict::Absent,
                ResultStatus::F => AlipayPlusVerdict::Fail,
                ResultStatus::U => AlipayPlusVerdict::Processing,
                ResultStatus::Other => AlipayPlusVerdict::Unknown,
            },
            None => AlipayPlusVerdict::Unknown,
        },
        Outcome::Rejected { code, .. } if code == "ORDER_NOT_EXIST" => AlipayPlusVerdict::Absent,
        Outcome::Rejected { .. } | Outcome::Unknown { .. } => AlipayPlusVerdict::Unknown,
    }
}

/// What inquiryPayment says of refund `request_id` (among the payment's transactions).
fn refund_verdict(outcome: &Outcome<InquiryPaymentResponse>, request_id: &str) -> AlipayPlusVerdict {
    let Outcome::Succeeded(response) = outcome else {
        return AlipayPlusVerdict::Unknown;
    };
    // Whether Cashier payments list their refunds is UNCONFIRMED (ALIPAYPLUS.md 3.5): without a
    // list, nothing is known (re-sending the refund with its refundRequestId is what settles it).
    let Some(transactions) = &response.transactions else {
        return AlipayPlusVerdict::Unknown;
    };
    let listed = transactions
        .iter()
        .find(|t| t.transaction_request_id.as_deref() == Some(request_id));
    match listed.map(|t| t.transaction_status.as_deref()) {
        None => AlipayPlusVerdict::Absent,
        Some(Some("SUCCESS")) => AlipayPlusVerdict::Success,
        Some(Some("FAIL")) => AlipayPlusVerdict::Fail,
        Some(Some("PROCESSING" | "PENDING")) => AlipayPlusVerdict::Processing,
        Some(_) => AlipayPlusVerdict::Unknown,
    }
}
