//! refund.

use super::common::{Amount, Informational, Quote, ResultInfo};
use serde::{Deserialize, Serialize};
use serde_with::{serde_as, skip_serializing_none};

#[skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RefundRequest {
    pub payment_request_id: Option<String>,
    pub payment_id: Option<String>,
    pub refund_request_id: String,
    pub refund_amount: Amount,
    pub refund_reason: Option<String>,
}

#[serde_as]
#[skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RefundResponse {
    pub result: ResultInfo,
    pub acquirer_id: Option<String>,
    pub psp_id: Option<String>,
    pub refund_id: Option<String>,
    pub refund_time: Option<String>,
    pub refund_amount: Option<Amount>,
    #[serde(default)]
    #[serde_as(as = "Informational")]
    pub settlement_amount: Option<Amount>,
    #[serde(default)]
    #[serde_as(as = "Informational")]
    pub settlement_quote: Option<Quote>,
}
