//! sea-orm entities, one module per table.

pub mod history;
pub mod inbound;
pub mod instance;
pub mod outbox;
