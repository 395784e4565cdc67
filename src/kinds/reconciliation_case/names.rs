//! The names `workflows/reconciliation_case.toml` uses, besides the engine's own.

crate::event_names! {
    /// The run started the inquiry of the payment or refund the case is about.
    INQUIRY_STARTED = "inquiry_started";
    /// That payment or refund settled as the report says (succeeded).
    SUBJECT_SETTLED = "subject_settled";
    /// It ended otherwise (failed, cancelled): an operator looks.
    SUBJECT_ENDED_OTHERWISE = "subject_ended_otherwise";
    /// A finance operator took it (or gave it to another), with a note.
    CASE_ASSIGNED = "case_assigned";
    CASE_RESOLVED = "case_resolved";
    CASE_WRITTEN_OFF = "case_written_off";
    /// A later run of its day no longer shows it.
    DISCREPANCY_CLEARED = "discrepancy_cleared";
    /// Its due date passed (and a day since, while it stays open).
    CASE_OVERDUE = "case_overdue";
}

crate::effect_names! {
    /// Wait for the inquiry the run started to settle the case's payment or refund.
    AWAIT_INQUIRY = "await_inquiry";
}
