//! Schema migrations of plusflow, applied in order by `plusflow migrate` (and at the start of
//! `serve`, `demo` and `bench`). A migration that has landed is never edited: add a new one.
//! Every migration runs unchanged on SQLite and PostgreSQL: written with sea-query, or as SQL
//! both accept where sea-query has no form for it (partial indexes).

pub use sea_orm_migration::prelude::*;

mod m0001_workflow_engine;
mod m0002_alipayplus_inbound;
mod m0003_payments;
mod m0004_refunds;
mod m0005_outbox_indexes;
mod m0006_outbox_due_index_for_the_claim_only;
mod m0007_unique_merchant_order;
mod m0008_security_records;
mod m0009_operations;
mod m0010_disputes;
mod m0011_customs_declarations;
mod m0012_merchant_registrations;
mod m0013_reconciliation;
mod m0014_payment_results;
mod m0015_buyer_certificate_type;
mod m0016_merchant_profiles;
mod m0017_settlement_runs;
mod m0018_events;
mod m0019_merchant_list_indexes;
mod m0020_metadata;
mod m0021_webhook_endpoints;
mod m0022_admin_roles;
mod m0023_operator_console;
mod m0024_data_lifecycle;
mod m0025_archive;
mod m0026_trace_context;
mod m0027_ledger;
mod m0028_reconciliation_cases;

pub use m0007_unique_merchant_order::INDEX as UNIQUE_MERCHANT_ORDER_INDEX;
pub use m0009_operations::{NEEDS_ATTENTION, NOT_TERMINAL};
pub use m0010_disputes::UNIQUE_DISPUTE_REQUEST;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m0001_workflow_engine::Migration),
            Box::new(m0002_alipayplus_inbound::Migration),
            Box::new(m0003_payments::Migration),
            Box::new(m0004_refunds::Migration),
            Box::new(m0005_outbox_indexes::Migration),
            Box::new(m0006_outbox_due_index_for_the_claim_only::Migration),
            Box::new(m0007_unique_merchant_order::Migration),
            Box::new(m0008_security_records::Migration),
            Box::new(m0009_operations::Migration),
            Box::new(m0010_disputes::Migration),
            Box::new(m0011_customs_declarations::Migration),
            Box::new(m0012_merchant_registrations::Migration),
            Box::new(m0013_reconciliation::Migration),
            Box::new(m0014_payment_results::Migration),
            Box::new(m0015_buyer_certificate_type::Migration),
            Box::new(m0016_merchant_profiles::Migration),
            Box::new(m0017_settlement_runs::Migration),
            Box::new(m0018_events::Migration),
            Box::new(m0019_merchant_list_indexes::Migration),
            Box::new(m0020_metadata::Migration),
            Box::new(m0021_webhook_endpoints::Migration),
            Box::new(m0022_admin_roles::Migration),
            Box::new(m0023_operator_console::Migration),
            Box::new(m0024_data_lifecycle::Migration),
            Box::new(m0025_archive::Migration),
            Box::new(m0026_trace_context::Migration),
            Box::new(m0027_ledger::Migration),
            Box::new(m0028_reconciliation_cases::Migration),
        ]
    }
}
