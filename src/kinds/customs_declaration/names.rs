//! The names the customs_declaration workflow (`workflows/customs_declaration*.toml`) uses for what happens to a customs declaration
//! and the work it schedules, besides the engine's own (`cancel_requested`, `notify_merchant`).

crate::event_names! {
    /// Alipay+ took the declaration (declare answered S).
    DECLARATION_SUBMITTED = "declaration_submitted";
    /// Alipay+ refused the declaration (declare answered F).
    DECLARATION_REFUSED = "declaration_refused";
    /// Customs is processing it (IN_PROCESS).
    CUSTOMS_PROCESSING = "customs_processing";
    /// Customs accepted it (CUSTOMS_ACCEPT_SUCCESS).
    CUSTOMS_ACCEPTED = "customs_accepted";
    /// Customs rejected it (a customsResultCode with another status).
    CUSTOMS_REJECTED = "customs_rejected";
    /// The merchant changed it (declare again, same request id).
    REDECLARED = "redeclared";
}

crate::effect_names! {
    /// Call declare (same customsDeclarationRequestId on every retry).
    SUBMIT_DECLARATION = "submit_declaration", changes_alipayplus;
    /// Ask inquireDeclarationRequests, batched with the other
    /// declarations due, until customs decides.
    INQUIRE_DECLARATION = "inquire_declaration";
}
