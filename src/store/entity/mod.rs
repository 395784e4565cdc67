//! sea-orm entities, one module per table.

pub mod admin_key;
pub mod api_key;
pub mod customs_declaration;
pub mod dispute;
pub mod history;
pub mod idempotency;
pub mod inbound;
pub mod instance;
pub mod merchant;
pub mod merchant_registration;
pub mod outbox;
pub mod payment;
pub mod payment_result;
pub mod reconciliation_discrepancy;
pub mod reconciliation_run;
pub mod refund;
pub mod service_mark;
pub mod webhook_delivery;
