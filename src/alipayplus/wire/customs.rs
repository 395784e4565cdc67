//! Customs declarations (AlipayCN): declare and inquireDeclarationRequests.

use super::common::{Amount, Lenient, ResultInfo};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_with::{serde_as, skip_serializing_none};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Customs {
    pub customs_code: String,
    pub region: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MerchantCustomsInfo {
    pub merchant_customs_code: String,
    pub merchant_customs_name: String,
}

#[skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Certificate {
    /// `ID_CARD` or `PASSPORT`.
    pub certificate_type: String,
    pub certificate_no: String,
    pub holder_name: Option<Value>,
    pub effective_date: Option<String>,
    pub expire_date: Option<String>,
}

#[serde_as]
#[skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeclareRequest {
    pub payment_request_id: String,
    pub customs_declaration_request_id: String,
    pub customs: Customs,
    pub merchant_customs_info: MerchantCustomsInfo,
    pub declaration_amount: Amount,
    #[serde_as(as = "Option<Lenient>")]
    pub is_split: Option<bool>,
    pub reference_order_id: Option<String>,
    pub buyer_certificate: Option<Certificate>,
}

#[skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeclareResponse {
    pub result: ResultInfo,
    pub psp_declaration_request_id: Option<String>,
    pub psp_payment_id: Option<String>,
    pub psp_customs_code: Option<String>,
    pub psp_order_amount: Option<Amount>,
    /// `CUP`, `NUCC`, `OTHER`.
    pub clearing_channel: Option<String>,
    pub clearing_transaction_id: Option<String>,
    /// `CHECK_PASSED`, `CHECK_NOT_PASSED`.
    pub identity_check_result: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InquireDeclarationRequestsRequest {
    /// At most 10.
    pub declaration_request_ids: Vec<String>,
}

#[skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InquireDeclarationRequestsResponse {
    pub result: ResultInfo,
    pub declaration_requests_not_found: Option<Vec<String>>,
    pub declaration_records: Option<Vec<DeclarationRecord>>,
}

#[serde_as]
#[skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeclarationRecord {
    pub customs_declaration_request_id: Option<String>,
    pub psp_declaration_request_id: Option<String>,
    pub psp_payment_id: Option<String>,
    pub customs: Option<Customs>,
    pub merchant_customs_info: Option<MerchantCustomsInfo>,
    pub declaration_amount: Option<Amount>,
    #[serde_as(as = "Option<Lenient>")]
    pub is_split: Option<bool>,
    pub reference_order_id: Option<String>,
    /// WAITING_FOR_PROCESSING, IN_PROCESS, CUSTOMS_ACCEPT_SUCCESS, or another value verbatim.
    pub declaration_request_status: Option<String>,
    pub modified_time: Option<String>,
    pub customs_result_code: Option<String>,
    pub customs_result_description: Option<String>,
    pub customs_result_returned_time: Option<String>,
}

/// What a declaration record's `declarationRequestStatus` says. Only a final status decides:
/// a `customsResultCode` also appears on records still waiting (the official sample shows code
/// `2` with a `success_...` description on a `WAITING_FOR_PROCESSING` record), so a code alone
/// never means rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeclarationStatus {
    /// `WAITING_FOR_PROCESSING`, or no status at all.
    Waiting,
    /// `IN_PROCESS`.
    InProcess,
    /// `CUSTOMS_ACCEPT_SUCCESS`: final.
    Accepted,
    /// [`DeclarationStatus::REJECTED`]: final. UNCONFIRMED: Alipay+ documents no failure value;
    /// this one, named like the success, is the only status read as a rejection (a rejection
    /// frees the declared amount, so nothing else may be taken for one).
    Rejected,
    /// Any other value: not final; kept verbatim.
    Unknown(String),
}

impl DeclarationStatus {
    pub const WAITING: &str = "WAITING_FOR_PROCESSING";
    pub const IN_PROCESS: &str = "IN_PROCESS";
    pub const ACCEPTED: &str = "CUSTOMS_ACCEPT_SUCCESS";
    pub const REJECTED: &str = "CUSTOMS_ACCEPT_FAIL";

    pub fn of(record: &DeclarationRecord) -> Self {
        match record.declaration_request_status.as_deref() {
            None | Some(Self::WAITING) => Self::Waiting,
            Some(Self::IN_PROCESS) => Self::InProcess,
            Some(Self::ACCEPTED) => Self::Accepted,
            Some(Self::REJECTED) => Self::Rejected,
            Some(other) => Self::Unknown(other.to_string()),
        }
    }

    /// Whether customs has decided.
    pub fn is_final(&self) -> bool {
        matches!(self, Self::Accepted | Self::Rejected)
    }
}
