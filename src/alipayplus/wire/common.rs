//! What every Alipay+ API shares: amounts, results, the order and its parts, settlement
//! strategies and quotes, and how scalars are read.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_with::{DisplayFromStr, PickFirst, serde_as, skip_serializing_none};

/// Written as a string, read from a string or a native JSON scalar.
pub(super) type Lenient = PickFirst<(DisplayFromStr, serde_with::Same)>;

/// An informational field: absent when it cannot be read (see the module doc).
pub(super) type Informational = serde_with::DefaultOnError;

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

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Logo {
    pub logo_name: Option<String>,
    pub logo_url: Option<String>,
}

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

/// A response that carries only `result` (every other field of the wire types is optional).
pub fn only_result<T: serde::de::DeserializeOwned>(result: ResultInfo) -> T {
    serde_json::from_value(serde_json::json!({ "result": result })).expect("every other field is optional")
}
