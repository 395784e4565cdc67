//! The names the payment workflow (`workflows/payment*.toml`) uses for what happens to a payment
//! and the work it schedules, besides the engine's own (`cancel_requested`, `notify_merchant`).

crate::event_names! {
    /// Alipay+ accepted `pay` (S, or U with a checkout URL).
    PAY_ACCEPTED = "pay_accepted";
    /// Alipay+ refused `pay` (F).
    PAY_REJECTED = "pay_rejected";
    /// notifyPayment said S.
    NOTIFIED_SUCCESS = "notified_success";
    /// notifyPayment said F.
    NOTIFIED_FAILURE = "notified_failure";
    /// inquiryPayment found the payment paid.
    INQUIRY_SUCCESS = "inquiry_success";
    /// inquiryPayment found the payment failed or closed.
    INQUIRY_FAILURE = "inquiry_failure";
    /// No final result by the expiry time.
    EXPIRED = "expired";
    /// cancelPayment answered S.
    CANCEL_SUCCEEDED = "cancel_succeeded";
    /// The cancel could not be done, and inquiryPayment found the payment paid.
    CONFIRMED_SUCCESS = "confirmed_success";
    /// The cancel could not be done, and inquiryPayment found it failed or closed.
    CONFIRMED_FAILURE = "confirmed_failure";
}

crate::effect_names! {
    /// Call Alipay+ `pay` (same paymentRequestId on every retry).
    SUBMIT_PAY = "submit_pay", changes_alipayplus;
    /// inquiryPayment, again and again further apart, until a final result or expiry.
    POLL_PAYMENT = "poll_payment";
    /// cancelPayment until it succeeds.
    CANCEL_PAYMENT = "cancel_payment", changes_alipayplus;
}
