//! Merchant registration: registration, inquiryRegistrationStatus, notifyRegistrationStatus.

use super::common::{Address, Attachment, Logo, ResultInfo};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_with::skip_serializing_none;

#[skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RegistrationRequest {
    pub registration_request_id: String,
    /// `CASHIER_PAYMENT`, `AGREEMENT_PAYMENT`, `IN_STORE_PAYMENT`.
    pub product_codes: Vec<String>,
    pub merchant_info: MerchantRegistrationInfo,
    pub store_info: Option<Value>,
    pub registration_notify_url: Option<String>,
    pub pass_through_info: Option<String>,
}

#[skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MerchantRegistrationInfo {
    pub reference_merchant_id: String,
    pub merchant_display_name: Option<String>,
    #[serde(rename = "merchantMCC")]
    pub merchant_mcc: Option<String>,
    pub logo: Option<Logo>,
    pub merchant_address: Option<Address>,
    pub websites: Option<Vec<Website>>,
    pub registration_detail: Option<RegistrationDetail>,
    pub shareholder_name: Option<String>,
    pub shareholder_id: Option<String>,
    pub representative_name: Option<String>,
    pub representative_id: Option<String>,
}

#[skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Website {
    pub name: Option<String>,
    pub url: String,
    pub desc: Option<String>,
    /// `WEB` or `APP`.
    pub website_type: Option<String>,
}

#[skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RegistrationDetail {
    pub legal_name: Option<String>,
    pub attachments: Option<Vec<Attachment>>,
    pub contact_info: Option<Vec<ContactInfo>>,
    pub registration_type: Option<String>,
    pub registration_no: Option<String>,
    pub registration_address: Option<Address>,
    pub business_type: Option<String>,
    pub registration_effective_date: Option<String>,
    pub registration_expire_date: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContactInfo {
    pub contact_no: String,
    /// `MOBILE_PHONE`, `TELEPHONE`, `EMAIL`.
    pub contact_type: String,
}

#[skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InquiryRegistrationStatusRequest {
    pub registration_request_id: Option<String>,
    pub reference_merchant_id: Option<String>,
    pub reference_store_id: Option<String>,
}

#[skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RegistrationResult {
    /// Collective: PENDING, COMPLETED, CANCELLED; per wallet: PENDING, APPROVED, REJECTED.
    pub registration_status: String,
    pub rejection_reason: Option<String>,
}

#[skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PspRegistrationResult {
    pub product_codes: Option<Vec<String>>,
    pub psp_name: String,
    pub registration_result: RegistrationResult,
}

#[skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InquiryRegistrationStatusResponse {
    pub result: ResultInfo,
    pub registration_result: Option<RegistrationResult>,
    pub psp_registration_result_list: Option<Vec<PspRegistrationResult>>,
}

/// Alipay+ -> ACQP each time a wallet reports on a registration.
#[skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NotifyRegistrationStatusRequest {
    pub reference_merchant_id: String,
    pub reference_store_id: Option<String>,
    pub registration_request_id: Option<String>,
    pub registration_result: RegistrationResult,
    pub psp_registration_result_list: Option<Vec<PspRegistrationResult>>,
}
