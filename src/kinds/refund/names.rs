//! The names the refund workflow (`workflows/refund*.toml`) uses for what happens to a refund
//! and the work it schedules, besides the engine's own (`cancel_requested`, `notify_merchant`).

crate::event_names! {
    /// Alipay+ answered S.
    REFUND_SUCCEEDED = "refund_succeeded";
    /// Alipay+ answered F.
    REFUND_FAILED = "refund_failed";
}

crate::effect_names! {
    /// Call Alipay+ `refund` (same refundRequestId on every retry).
    SUBMIT_REFUND = "submit_refund", changes_alipayplus;
}
