//! `createPayment`'s input as GraphQL takes it (names per CONTRACT.md), and what it becomes.

use async_graphql::{Enum, InputObject};

use crate::api::graphql::shared::{MetadataInput, MoneyInput, metadata_in};
use crate::kinds::payment::use_cases as payments;

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum TerminalType {
    Web,
    Wap,
    App,
    MiniApp,
}

impl TerminalType {
    pub fn wire(self) -> &'static str {
        match self {
            TerminalType::Web => "WEB",
            TerminalType::Wap => "WAP",
            TerminalType::App => "APP",
            TerminalType::MiniApp => "MINI_APP",
        }
    }
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum OsType {
    Ios,
    Android,
}

#[derive(InputObject)]
pub struct CreatePaymentInput {
    /// Becomes `order.referenceOrderId`; at most 64 characters.
    pub merchant_order_id: String,
    /// At most 256 characters.
    pub order_description: String,
    pub amount: MoneyInput,
    pub terminal_type: TerminalType,
    /// Required for WAP and APP.
    pub os_type: Option<OsType>,
    /// Where the customer returns after the checkout.
    pub redirect_url: String,
    /// ISO 3166 alpha-2; orders the wallets on the checkout page.
    pub user_region: Option<String>,
    pub settlement_currency: Option<String>,
    /// At most 599: an Alipay+ cashier payment expires in under 10 minutes; 599 when absent.
    pub expires_in_seconds: Option<i32>,
    /// Your own reference of the customer (at most 256 characters). Alipay+ receives a digest
    /// of it with your merchant id (`order.buyer.referenceBuyerId`), never the reference itself:
    /// the same customer is the same buyer to its risk checks.
    pub buyer_reference: Option<String>,
    /// Your own key-value pairs (at most 20), echoed in the payment's events and webhooks.
    pub metadata: Option<Vec<MetadataInput>>,
}

impl CreatePaymentInput {
    pub fn into_new_payment(self) -> payments::NewPayment {
        payments::NewPayment {
            merchant_order_id: self.merchant_order_id,
            order_description: self.order_description,
            currency: self.amount.currency,
            amount: self.amount.value,
            terminal_type: self.terminal_type.wire().to_string(),
            os_type: self.os_type.map(|os| match os {
                OsType::Ios => "IOS".to_string(),
                OsType::Android => "ANDROID".to_string(),
            }),
            redirect_url: self.redirect_url,
            user_region: self.user_region,
            settlement_currency: self.settlement_currency,
            expires_in_seconds: self.expires_in_seconds,
            buyer_reference: self.buyer_reference,
            metadata: metadata_in(self.metadata),
        }
    }
}
