//! The names the registration workflow (`workflows/registration*.toml`) uses for what happens to a registration
//! and the work it schedules, besides the engine's own (`cancel_requested`, `notify_merchant`).

crate::event_names! {
    /// Alipay+ took the registration (S); the wallets answer later.
    REGISTRATION_ACCEPTED = "registration_accepted";
    /// Alipay+ refused the registration (F).
    REGISTRATION_REFUSED = "registration_refused";
    /// Time to ask inquiryRegistrationStatus (its `nextInquiryAt`).
    INQUIRY_DUE = "inquiry_due";
    /// inquiryRegistrationStatus said nothing new; ask again later.
    INQUIRY_ANSWERED = "inquiry_answered";
    /// A wallet decided (a notification or an inquiry), not every one yet.
    WALLETS_ANSWERED = "wallets_answered";
    /// The wallets' answers changed, and none has decided yet.
    WALLETS_LISTED = "wallets_listed";
    /// Every wallet answered and at least one approved.
    REGISTRATION_COMPLETED = "registration_completed";
    /// Every wallet answered and none approved (or Alipay+ cancelled it).
    REGISTRATION_REJECTED = "registration_rejected";
}

crate::effect_names! {
    /// Call registration (same registrationRequestId on every retry).
    SUBMIT_REGISTRATION = "submit_registration", changes_alipayplus;
    /// Ask inquiryRegistrationStatus once (the timer asks again).
    INQUIRE_REGISTRATION = "inquire_registration";
}
