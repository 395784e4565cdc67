//! Request and response bodies of every Alipay+ API an ACQP uses (ALIPAYPLUS.md section 2), with
//! the exact camelCase names. Scalars (amount values, integers, booleans) are written as JSON
//! strings and read from strings or numbers; absent optional fields are omitted, never `""`.
//! Unknown fields are ignored on input. Amounts are integer minor units.
//!
//! Fields that decide money (payment, refund, order and declaration amounts, results) are read
//! strictly: a malformed one makes the message unreadable. Informational ones (settlement
//! amounts and quotes, the transaction list) are read leniently: a malformed one reads as
//! absent, so it cannot turn a readable final result into an unknown one.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_with::{DisplayFromStr, OneOrMany, PickFirst, serde_as, skip_serializing_none};

/// Written as a string, read from a string or a native JSON scalar.
type Lenient = PickFirst<(DisplayFromStr, serde_with::Same)>;

/// An informational field: absent when it cannot be read (see the module doc).
type Informational = serde_with::DefaultOnError;

/// `{currency, value}`: value in minor units (100 = USD 1.00; 100 = JPY 100).
#[serde_as]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Amount {
    pub currency: String,
    #[serde_as(as = "Lenient")]
    pub value: i64,
}

impl Amount {
    pub fn new(currency: &str, value: i64) -> Self {
        Self {
            currency: currency.to_string(),
            value,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ResultStatus {
    S,
    F,
    U,
    /// Anything else Alipay+ might send; never read as success.
    #[serde(other)]
    Other,
}

/// The outcome of one API call (`result`), or of a payment (`paymentResult`).
#[skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResultInfo {
    pub result_code: String,
    pub result_status: ResultStatus,
    pub result_message: Option<String>,
}

impl ResultInfo {
    pub fn new(status: ResultStatus, code: &str, message: &str) -> Self {
        Self {
            result_code: code.into(),
            result_status: status,
            result_message: Some(message.into()),
        }
    }

    pub fn success() -> Self {
        Self::new(ResultStatus::S, "SUCCESS", "success")
    }
}

#[serde_as]
#[skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentFactor {
    #[serde_as(as = "Option<Lenient>")]
    pub is_cashier_payment: Option<bool>,
    #[serde_as(as = "Option<Lenient>")]
    pub is_in_store_payment: Option<bool>,
    #[serde_as(as = "Option<Lenient>")]
    pub is_agreement_payment: Option<bool>,
    /// `UNIFIED` (current), `BUNDLE`, `TILE`/`TILED` (older editions).
    pub presentment_mode: Option<String>,
}

impl PaymentFactor {
    /// The factor of a Cashier Payment in the Unified edition.
    pub fn cashier() -> Self {
        Self {
            is_cashier_payment: Some(true),
            is_in_store_payment: Some(false),
            is_agreement_payment: None,
            presentment_mode: Some("UNIFIED".into()),
        }
    }
}

#[skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentMethod {
    /// `CONNECT_WALLET` for the Unified edition.
    pub payment_method_type: String,
    pub payment_method_id: Option<String>,
    pub customer_id: Option<String>,
}

#[skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Address {
    pub region: Option<String>,
    pub state: Option<String>,
    pub city: Option<String>,
    pub address1: Option<String>,
    pub address2: Option<String>,
    pub zip_code: Option<String>,
}

#[skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Merchant {
    pub reference_merchant_id: Option<String>,
    pub merchant_name: Option<String>,
    pub merchant_display_name: Option<String>,
    #[serde(rename = "merchantMCC")]
    pub merchant_mcc: Option<String>,
    pub merchant_register_date: Option<String>,
    pub merchant_address: Option<Address>,
}

#[serde_as]
#[skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Goods {
    pub reference_goods_id: Option<String>,
    pub goods_name: Option<String>,
    pub goods_category: Option<String>,
    pub goods_brand: Option<String>,
    pub goods_unit_amount: Option<Amount>,
    #[serde_as(as = "Option<Lenient>")]
    pub goods_quantity: Option<i64>,
}

#[skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Buyer {
    pub reference_buyer_id: Option<String>,
    pub buyer_name: Option<Value>,
    pub buyer_phone_no: Option<String>,
    pub buyer_email: Option<String>,
}

#[skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Env {
    /// `WEB`, `WAP`, `APP` or `MINI_APP`; required for Cashier.
    pub terminal_type: Option<String>,
    /// `IOS` or `ANDROID`; required for `APP` and `WAP`.
    pub os_type: Option<String>,
    pub user_agent: Option<String>,
    pub device_token_id: Option<String>,
    pub client_ip: Option<String>,
    pub cookie_id: Option<String>,
}

#[skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Order {
    pub reference_order_id: String,
    pub order_description: String,
    pub order_amount: Amount,
    pub merchant: Option<Merchant>,
    pub goods: Option<Vec<Goods>>,
    pub shipping: Option<Value>,
    pub buyer: Option<Buyer>,
    pub env: Option<Env>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SettlementStrategy {
    pub settlement_currency: String,
}

/// The FX quote used for settlement.
#[skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Quote {
    pub quote_id: Option<String>,
    pub quote_currency_pair: Option<String>,
    pub quote_price: Option<Value>,
    pub quote_start_time: Option<String>,
    pub quote_expiry_time: Option<String>,
    pub quote_unit: Option<Value>,
    pub base_currency: Option<String>,
}

// ---- pay -----------------------------------------------------------------------------------

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

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Logo {
    pub logo_name: Option<String>,
    pub logo_url: Option<String>,
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

// ---- refund --------------------------------------------------------------------------------

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

// ---- merchant registration -----------------------------------------------------------------

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

// ---- disputes ------------------------------------------------------------------------------

#[skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Attachment {
    pub attachment_name: Option<String>,
    pub attachment_type: Option<String>,
    pub content_type: Option<String>,
    pub content: Option<String>,
    pub file: Option<String>,
}

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

// ---- customs (AlipayCN) --------------------------------------------------------------------

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

/// A response that carries only `result` (every other field of the wire types is optional).
pub fn only_result<T: serde::de::DeserializeOwned>(result: ResultInfo) -> T {
    serde_json::from_value(serde_json::json!({ "result": result })).expect("every other field is optional")
}
