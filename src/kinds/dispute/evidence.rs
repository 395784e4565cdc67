//! What a merchant's answer to a retrieval carries to Alipay+ (responseRetrieval, ALIPAYPLUS.md
//! 5.1): the documents it attaches (`otherDocumentation`), checked before anything is stored or
//! sent, and the transaction receipt built from our records when the wallet asked for one and the
//! merchant answers that everything is there (`0001`) without supplying one.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::{Value, json};

use crate::alipayplus::wire::{Amount, TransactionReceipt};
use crate::app::Engine;
use crate::app::auth::Principal;
use crate::app::errors::{AppError, check_length, invalid};
use crate::kinds::dispute::entity as dispute;
use crate::kinds::payment::status::PublicStatus;
use crate::kinds::payment::use_cases as payments;
use crate::kinds::refund::use_cases::{refund_totals, refunds_of};

/// At most this many documents an answer.
pub const MAX_DOCUMENTS: usize = 5;
/// At most this many bytes a document (decoded). The request carrying them is bounded too
/// (`server.max_request_bytes`).
pub const MAX_DOCUMENT_BYTES: usize = 128 * 1024;
/// The attachment types Alipay+ names (`attachmentType`).
pub const DOCUMENT_TYPES: [&str; 7] = [
    "TRANSACTION_RECEIPT",
    "PROOF_OF_DELIVERY",
    "MERCHANT_INFORMATION",
    "END_USER_INFORMATION",
    "OTHER_DOCUMENTATION",
    "MERCHANT_NOT_REFUND_RECORDS",
    "SUPPORTING_DOCUMENTATION",
];
/// The content types a document may have.
pub const CONTENT_TYPES: [&str; 4] = ["application/pdf", "image/png", "image/jpeg", "text/plain"];

/// A document the merchant attaches, as it wrote it.
#[derive(Debug, Clone)]
pub struct Document {
    pub name: String,
    /// One of [`DOCUMENT_TYPES`].
    pub kind: String,
    pub content_type: String,
    pub content_base64: String,
}

impl Document {
    /// The `otherDocumentation` entry of document `index`, once every rule holds.
    fn attachment(&self, index: usize) -> Result<Value, AppError> {
        let field = |name: &str| format!("input.documents[{index}].{name}");
        check_length(&field("name"), &self.name, 256)?;
        if self.name.trim().is_empty() {
            return Err(invalid(&field("name"), "must not be empty"));
        }
        if !DOCUMENT_TYPES.contains(&self.kind.as_str()) {
            return Err(invalid(
                &field("type"),
                format!("must be one of {}", DOCUMENT_TYPES.join(", ")),
            ));
        }
        if !CONTENT_TYPES.contains(&self.content_type.as_str()) {
            return Err(invalid(
                &field("contentType"),
                format!("must be one of {}", CONTENT_TYPES.join(", ")),
            ));
        }
        let decoded = BASE64
            .decode(&self.content_base64)
            .map_err(|_| invalid(&field("contentBase64"), "is not base64"))?;
        if decoded.is_empty() || decoded.len() > MAX_DOCUMENT_BYTES {
            return Err(invalid(
                &field("contentBase64"),
                format!("must hold 1 to {MAX_DOCUMENT_BYTES} bytes"),
            ));
        }
        Ok(json!({
            "attachmentName": self.name, "attachmentType": self.kind,
            "contentType": self.content_type, "content": self.content_base64,
        }))
    }
}

/// `otherDocumentation` of an answer: the receipt the merchant wrote as text (if any), then its
/// documents, each checked.
pub fn other_documentation(
    receipt_text: Option<&str>,
    documents: &[Document],
) -> Result<Vec<Value>, AppError> {
    if documents.len() > MAX_DOCUMENTS {
        return Err(invalid(
            "input.documents",
            format!("at most {MAX_DOCUMENTS} documents"),
        ));
    }
    let mut attachments = Vec::new();
    if let Some(text) = receipt_text {
        attachments.push(json!({ "attachmentName": "transaction receipt",
            "attachmentType": "TRANSACTION_RECEIPT", "contentType": "text/plain", "content": text }));
    }
    for (index, document) in documents.iter().enumerate() {
        attachments.push(document.attachment(index)?);
    }
    Ok(attachments)
}

/// Whether the answer must carry a `transactionReceipt`: the retrieval asked for
/// `TRANSACTION_RECEIPT`, the merchant answers `0001` (all there), and no attachment is one.
pub fn needs_receipt(retrieval: &dispute::Model, response_code: &str, attachments: &[Value]) -> bool {
    let asked = retrieval
        .reason
        .as_deref()
        .is_some_and(|types| types.split(',').any(|t| t.trim() == "TRANSACTION_RECEIPT"));
    let attached = attachments
        .iter()
        .any(|a| a["attachmentType"] == "TRANSACTION_RECEIPT");
    asked && response_code == "0001" && !attached
}

/// The transaction receipt of the disputed payment, from our records: the order id the payment
/// was sent with, its amount, and its status as Alipay+ names it (refunds included).
pub async fn receipt_from_records(engine: &Engine, retrieval: &dispute::Model) -> Result<Value, AppError> {
    let payment = payments::get_payment(engine, &Principal::Admin, retrieval.payment_id).await?;
    let refunds = refunds_of(engine, payment.payment.id).await?;
    let (refunded, _) = refund_totals(&payment, &refunds);
    let status = order_status(payment.status, refunded, payment.payment.amount);
    let receipt = TransactionReceipt {
        reference_order_id: Some(payment.payment.merchant_order_id.clone()),
        order_amount: Some(Amount::new(&payment.payment.currency, payment.payment.amount)),
        order_status: Some(status.into()),
        goods: None,
    };
    Ok(serde_json::to_value(receipt).expect("wire types serialise"))
}

/// The receipt's `orderStatus` of a payment in `status` of which `refunded` was given back.
fn order_status(status: PublicStatus, refunded: i64, amount: i64) -> &'static str {
    match status {
        PublicStatus::Succeeded if refunded >= amount => "REFUND",
        PublicStatus::Succeeded if refunded > 0 => "PARTIAL_REFUND",
        PublicStatus::Succeeded => "SUCCESS",
        PublicStatus::Failed => "FAILED",
        PublicStatus::Cancelled => "CANCELLED",
        PublicStatus::Pending
        | PublicStatus::AwaitingCustomer
        | PublicStatus::Cancelling
        | PublicStatus::UnderReview => "UNKNOWN",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn document(kind: &str, content_type: &str, content: &str) -> Document {
        Document {
            name: "invoice.pdf".into(),
            kind: kind.into(),
            content_type: content_type.into(),
            content_base64: content.into(),
        }
    }

    #[test]
    fn documents_are_checked_before_anything_is_sent() {
        let good = BASE64.encode(b"%PDF-1.7");
        let too_big = BASE64.encode(vec![0_u8; MAX_DOCUMENT_BYTES + 1]);
        let cases = [
            (document("PROOF_OF_DELIVERY", "application/pdf", &good), None),
            (document("SELFIE", "application/pdf", &good), Some("type")),
            (
                document("PROOF_OF_DELIVERY", "application/zip", &good),
                Some("contentType"),
            ),
            (
                document("PROOF_OF_DELIVERY", "application/pdf", "not base64!"),
                Some("contentBase64"),
            ),
            (
                document("PROOF_OF_DELIVERY", "application/pdf", ""),
                Some("contentBase64"),
            ),
            (
                document("PROOF_OF_DELIVERY", "application/pdf", &too_big),
                Some("contentBase64"),
            ),
        ];
        for (document, refused_field) in cases {
            match (
                other_documentation(None, std::slice::from_ref(&document)),
                refused_field,
            ) {
                (Ok(attachments), None) => {
                    assert_eq!(attachments[0]["attachmentType"], "PROOF_OF_DELIVERY");
                    assert_eq!(attachments[0]["content"], good);
                }
                (Err(AppError::Validation { field, .. }), Some(name)) => {
                    assert_eq!(field, format!("input.documents[0].{name}"));
                }
                (other, _) => panic!("{document:?}: {other:?}"),
            }
        }
        let six = vec![document("OTHER_DOCUMENTATION", "text/plain", &good); MAX_DOCUMENTS + 1];
        assert!(other_documentation(None, &six).is_err());
    }

    #[test]
    fn the_receipt_status_follows_the_payment_and_its_refunds() {
        let cases = [
            (PublicStatus::Succeeded, 0, "SUCCESS"),
            (PublicStatus::Succeeded, 400, "PARTIAL_REFUND"),
            (PublicStatus::Succeeded, 1000, "REFUND"),
            (PublicStatus::Failed, 0, "FAILED"),
            (PublicStatus::Cancelled, 0, "CANCELLED"),
            (PublicStatus::AwaitingCustomer, 0, "UNKNOWN"),
        ];
        for (status, refunded, want) in cases {
            assert_eq!(
                order_status(status, refunded, 1000),
                want,
                "{status:?} {refunded}"
            );
        }
    }
}
