//! Disputes: retrievals and escalations, initiated by Alipay+ and answered by the ACQP.

use super::common::{Amount, Attachment, Buyer, Goods, Merchant};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_with::{OneOrMany, serde_as, skip_serializing_none};

#[skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TransactionReceipt {
    pub reference_order_id: Option<String>,
    pub order_amount: Option<Amount>,
    /// SUCCESS, FAILED, CANCELLED, REFUND, PARTIAL_REFUND, CHARGEBACK, UNKNOWN.
    pub order_status: Option<String>,
    pub goods: Option<Vec<Goods>>,
}

/// Alipay+ -> ACQP: a wallet asks for information about a payment.
#[serde_as]
#[skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InitiateRetrievalRequest {
    pub dispute_request_id: String,
    pub payment_request_id: String,
    pub dispute_occur_time: Option<String>,
    /// A single value or a list (UNCONFIRMED which one Alipay+ sends: both are accepted).
    #[serde_as(as = "Option<OneOrMany<_>>")]
    #[serde(default)]
    pub request_information_type: Option<Vec<String>>,
}

#[skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResponseRetrievalRequest {
    pub dispute_request_id: String,
    /// `0001` all available, `0002` partial, `0003` none.
    pub response_code: String,
    pub transaction_receipt: Option<TransactionReceipt>,
    pub proof_of_delivery: Option<Value>,
    pub merchant_information: Option<Merchant>,
    pub end_user_information: Option<Buyer>,
    pub other_documentation: Option<Vec<Attachment>>,
}

/// Alipay+ -> ACQP: a wallet demands a refund.
#[skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InitiateEscalationRequest {
    pub dispute_request_id: String,
    pub payment_request_id: String,
    pub escalation_amount: Option<Amount>,
    pub dispute_occur_time: Option<String>,
}

#[skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResponseEscalationRequest {
    pub dispute_request_id: String,
    /// `ACCEPT_REFUND`, `ACCEPT_PARTIAL_REFUND`, `REFUSE_REFUND`.
    pub refund_type: String,
    pub refund_amount: Option<Amount>,
    pub planned_refund_time: Option<String>,
    pub transaction_receipt: Option<TransactionReceipt>,
    pub proof_of_delivery: Option<Value>,
    pub merchant_information: Option<Merchant>,
    pub end_user_information: Option<Buyer>,
    pub other_documentation: Option<Vec<Attachment>>,
    pub remarks: Option<String>,
}
