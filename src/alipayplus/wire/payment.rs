//! pay, consultPayment, inquiryPayment, notifyPayment and cancelPayment.

use super::common::{
    Amount, Env, Informational, Lenient, Logo, Merchant, Order, PaymentFactor, PaymentMethod, Quote,
    ResultInfo, SettlementStrategy,
};
use serde::{Deserialize, Serialize};
use serde_with::{serde_as, skip_serializing_none};

#[skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PayRequest {
    pub order: Order,
    pub payment_request_id: String,
    pub payment_amount: Amount,
    pub payment_method: PaymentMethod,
    pub payment_factor: PaymentFactor,
    pub payment_expiry_time: Option<String>,
    pub payment_notify_url: Option<String>,
    pub payment_redirect_url: Option<String>,
    pub settlement_strategy: Option<SettlementStrategy>,
    pub user_region: Option<String>,
    pub allowed_psp_regions: Option<Vec<String>>,
}

#[skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PayResponse {
    pub result: ResultInfo,
    pub payment_id: Option<String>,
    pub payment_amount: Option<Amount>,
    pub payment_time: Option<String>,
    /// The Alipay+ checkout page: where Web/WAP users are sent.
    pub normal_url: Option<String>,
    pub applink_url: Option<String>,
    pub scheme_url: Option<String>,
    pub payment_data: Option<String>,
    pub guide_url: Option<String>,
    pub acquirer_id: Option<String>,
    pub psp_id: Option<String>,
    pub wallet_brand_name: Option<String>,
}

// ---- consultPayment ------------------------------------------------------------------------

#[skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConsultPaymentRequest {
    pub payment_amount: Amount,
    pub payment_factor: PaymentFactor,
    pub user_region: Option<String>,
    pub settlement_strategy: Option<SettlementStrategy>,
    pub allowed_psp_regions: Option<Vec<String>>,
    pub merchant: Option<Merchant>,
    pub env: Option<Env>,
}

#[skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConsultPaymentResponse {
    pub result: ResultInfo,
    pub payment_options: Option<Vec<PaymentOption>>,
}

#[serde_as]
#[skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentOption {
    pub payment_method_type: String,
    pub payment_method_category: Option<String>,
    #[serde_as(as = "Option<Lenient>")]
    pub enabled: Option<bool>,
    #[serde_as(as = "Option<Lenient>")]
    pub preferred: Option<bool>,
    pub disable_reason: Option<String>,
    pub logo: Option<Logo>,
    pub payment_option_detail: Option<PaymentOptionDetail>,
}

#[skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentOptionDetail {
    pub payment_option_detail_type: Option<String>,
    pub connect_wallet: Option<ConnectWallet>,
}

#[skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConnectWallet {
    pub support_wallets: Option<Vec<Wallet>>,
}

#[skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Wallet {
    pub wallet_name: Option<String>,
    pub wallet_brand_name: Option<String>,
    pub wallet_logo: Option<Logo>,
    pub wallet_region: Option<String>,
    pub wallet_feature: Option<WalletFeature>,
}

#[serde_as]
#[skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WalletFeature {
    #[serde_as(as = "Option<Lenient>")]
    pub support_code_scan: Option<bool>,
    #[serde_as(as = "Option<Lenient>")]
    pub support_cashier_redirection: Option<bool>,
}

// ---- inquiryPayment / notifyPayment --------------------------------------------------------

/// By `paymentRequestId` (ours) or `paymentId` (Alipay+'s); at least one.
#[skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentReference {
    pub payment_request_id: Option<String>,
    pub payment_id: Option<String>,
}

pub type InquiryPaymentRequest = PaymentReference;
pub type CancelPaymentRequest = PaymentReference;

#[serde_as]
#[skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InquiryPaymentResponse {
    pub result: ResultInfo,
    pub payment_result: Option<ResultInfo>,
    pub acquirer_id: Option<String>,
    pub psp_id: Option<String>,
    pub payment_request_id: Option<String>,
    pub payment_id: Option<String>,
    pub payment_time: Option<String>,
    pub payment_amount: Option<Amount>,
    pub customer_id: Option<String>,
    pub wallet_brand_name: Option<String>,
    #[serde(default)]
    #[serde_as(as = "Informational")]
    pub settlement_amount: Option<Amount>,
    #[serde(default)]
    #[serde_as(as = "Informational")]
    pub settlement_quote: Option<Quote>,
    pub customs_declaration_amount: Option<Amount>,
    pub mpp_payment_id: Option<String>,
    #[serde(default)]
    #[serde_as(as = "Informational")]
    pub transactions: Option<Vec<Transaction>>,
}

#[skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Transaction {
    pub transaction_result: Option<ResultInfo>,
    pub transaction_id: Option<String>,
    pub transaction_request_id: Option<String>,
    pub transaction_amount: Option<Amount>,
    pub transaction_time: Option<String>,
    /// PAYMENT, REFUND, CAPTURE, CANCEL, AUTHORIZATION, VOID.
    pub transaction_type: Option<String>,
    /// SUCCESS, FAIL, PROCESSING, CANCELLED, PENDING.
    pub transaction_status: Option<String>,
}

/// Alipay+ -> ACQP when a payment reaches a final state.
#[serde_as]
#[skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NotifyPaymentRequest {
    /// `S` or `F` only.
    pub payment_result: ResultInfo,
    pub payment_request_id: String,
    pub payment_id: Option<String>,
    pub acquirer_id: Option<String>,
    pub psp_id: Option<String>,
    pub customer_id: Option<String>,
    pub payment_time: Option<String>,
    pub payment_amount: Option<Amount>,
    pub wallet_brand_name: Option<String>,
    #[serde(default)]
    #[serde_as(as = "Informational")]
    pub settlement_amount: Option<Amount>,
    #[serde(default)]
    #[serde_as(as = "Informational")]
    pub settlement_quote: Option<Quote>,
    pub customs_declaration_amount: Option<Amount>,
    pub mpp_payment_id: Option<String>,
}

/// A response that is only a `result`: cancel, registration, acknowledgements of our inbound routes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResultResponse {
    pub result: ResultInfo,
}

#[skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CancelPaymentResponse {
    pub result: ResultInfo,
    pub psp_id: Option<String>,
    pub acquirer_id: Option<String>,
}
