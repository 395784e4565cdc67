//! The fields Alipay+ requires of each API the simulator serves (ALIPAYPLUS.md 3-6, the official
//! SDK's request models and what its `server.py` always sends): a request without one is
//! answered `F PARAM_ILLEGAL` naming the field, before anything is done, as the real Alipay+
//! refuses it. Fields serde already requires (non-optional in `wire`) are refused when the body
//! is read.

use crate::alipayplus::inbound::Refusal;
use crate::alipayplus::wire::*;

/// What a request must carry.
pub trait Required {
    /// The dotted name of the first required field it lacks.
    fn missing(&self) -> Option<&'static str>;
}

/// `Err` (PARAM_ILLEGAL naming the field) when `request` lacks a required field.
pub fn check<R: Required>(request: &R) -> Result<(), Refusal> {
    match request.missing() {
        None => Ok(()),
        Some(field) => Err(Refusal {
            code: "PARAM_ILLEGAL",
            message: format!("{field} is required"),
        }),
    }
}

fn blank(value: Option<&str>) -> bool {
    value.is_none_or(|v| v.trim().is_empty())
}

/// The first of `fields` (name, value) that is absent or empty.
fn first_blank<const N: usize>(fields: [(&'static str, Option<&str>); N]) -> Option<&'static str> {
    fields
        .into_iter()
        .find(|(_, value)| blank(*value))
        .map(|(name, _)| name)
}

impl Required for PayRequest {
    fn missing(&self) -> Option<&'static str> {
        let order = &self.order;
        let merchant = order.merchant.as_ref();
        let env = order.env.as_ref();
        let terminal = env.and_then(|e| e.terminal_type.as_deref());
        let needs_os = matches!(terminal, Some("APP" | "WAP"));
        first_blank([
            ("paymentRequestId", Some(self.payment_request_id.as_str())),
            ("order.referenceOrderId", Some(order.reference_order_id.as_str())),
            ("order.orderDescription", Some(order.order_description.as_str())),
            (
                "order.merchant.referenceMerchantId",
                merchant.and_then(|m| m.reference_merchant_id.as_deref()),
            ),
            (
                "order.merchant.merchantName",
                merchant.and_then(|m| m.merchant_name.as_deref()),
            ),
            (
                "order.merchant.merchantDisplayName",
                merchant.and_then(|m| m.merchant_display_name.as_deref()),
            ),
            (
                "order.merchant.merchantMCC",
                merchant.and_then(|m| m.merchant_mcc.as_deref()),
            ),
            (
                "order.merchant.merchantAddress.region",
                merchant
                    .and_then(|m| m.merchant_address.as_ref())
                    .and_then(|a| a.region.as_deref()),
            ),
            ("order.env.terminalType", terminal),
            (
                "paymentMethod.paymentMethodType",
                Some(self.payment_method.payment_method_type.as_str()),
            ),
        ])
        .or_else(|| (needs_os && blank(env.and_then(|e| e.os_type.as_deref()))).then_some("order.env.osType"))
    }
}

impl Required for PaymentReference {
    fn missing(&self) -> Option<&'static str> {
        (blank(self.payment_request_id.as_deref()) && blank(self.payment_id.as_deref()))
            .then_some("paymentRequestId or paymentId")
    }
}

impl Required for RefundRequest {
    fn missing(&self) -> Option<&'static str> {
        first_blank([("refundRequestId", Some(self.refund_request_id.as_str()))]).or_else(|| {
            (blank(self.payment_request_id.as_deref()) && blank(self.payment_id.as_deref()))
                .then_some("paymentRequestId or paymentId")
        })
    }
}

impl Required for ConsultPaymentRequest {
    fn missing(&self) -> Option<&'static str> {
        first_blank([(
            "paymentAmount.currency",
            Some(self.payment_amount.currency.as_str()),
        )])
    }
}

impl Required for DeclareRequest {
    fn missing(&self) -> Option<&'static str> {
        let certificate = self.buyer_certificate.as_ref();
        first_blank([
            ("paymentRequestId", Some(self.payment_request_id.as_str())),
            (
                "customsDeclarationRequestId",
                Some(self.customs_declaration_request_id.as_str()),
            ),
            ("customs.customsCode", Some(self.customs.customs_code.as_str())),
            ("customs.region", Some(self.customs.region.as_str())),
            (
                "merchantCustomsInfo.merchantCustomsCode",
                Some(self.merchant_customs_info.merchant_customs_code.as_str()),
            ),
            (
                "merchantCustomsInfo.merchantCustomsName",
                Some(self.merchant_customs_info.merchant_customs_name.as_str()),
            ),
        ])
        .or_else(|| {
            certificate
                .is_some_and(|c| !matches!(c.certificate_type.as_str(), "ID_CARD" | "PASSPORT"))
                .then_some("buyerCertificate.certificateType (ID_CARD or PASSPORT)")
        })
        .or_else(|| {
            certificate
                .is_some_and(|c| blank(Some(&c.certificate_no)))
                .then_some("buyerCertificate.certificateNo")
        })
    }
}

impl Required for InquireDeclarationRequestsRequest {
    fn missing(&self) -> Option<&'static str> {
        self.declaration_request_ids
            .is_empty()
            .then_some("declarationRequestIds")
    }
}

impl Required for RegistrationRequest {
    fn missing(&self) -> Option<&'static str> {
        first_blank([
            (
                "registrationRequestId",
                Some(self.registration_request_id.as_str()),
            ),
            (
                "merchantInfo.referenceMerchantId",
                Some(self.merchant_info.reference_merchant_id.as_str()),
            ),
        ])
        .or_else(|| self.product_codes.is_empty().then_some("productCodes"))
    }
}

impl Required for InquiryRegistrationStatusRequest {
    fn missing(&self) -> Option<&'static str> {
        (blank(self.registration_request_id.as_deref()) && blank(self.reference_merchant_id.as_deref()))
            .then_some("registrationRequestId or referenceMerchantId")
    }
}
