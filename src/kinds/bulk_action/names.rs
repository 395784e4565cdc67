//! The names `workflows/bulk_action.toml` uses, besides the engine's own.

crate::event_names! {
    /// A run of its effect worked through items, and more wait.
    BULK_ITEMS_WORKED = "bulk_items_worked";
    /// No item waits: every one is done or failed.
    BULK_ITEMS_DONE = "bulk_items_done";
}

crate::effect_names! {
    /// Act on the next items (up to `effects::ITEMS_PER_RUN`).
    WORK_BULK_ITEMS = "work_bulk_items";
}
