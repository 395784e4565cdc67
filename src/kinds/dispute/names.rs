//! The names the dispute workflow (`workflows/dispute*.toml`) uses for what happens to a dispute
//! and the work it schedules, besides the engine's own (`cancel_requested`, `notify_merchant`).

crate::event_names! {
    /// 80% of the response window has passed (its `remindAt`).
    DEADLINE_NEAR = "deadline_near";
    /// The response window closed (its `respondBy`) without a response.
    DEADLINE_PASSED = "deadline_passed";
    /// The merchant answered; the response is in the dispute's row.
    DISPUTE_RESPONDED = "dispute_responded";
    /// Alipay+ accepted the response (S).
    RESPONSE_ACCEPTED = "response_accepted";
    /// Alipay+ refused the response (F).
    RESPONSE_REFUSED = "response_refused";
}

crate::effect_names! {
    /// Send responseRetrieval / responseEscalation (the same request on every retry).
    SEND_DISPUTE_RESPONSE = "send_dispute_response", changes_alipayplus;
}
