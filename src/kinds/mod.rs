//! One folder per workflow kind: its rules and use cases, its rows and queries, its effects
//! (with the pure mapping of Alipay+'s answers to events), its GraphQL part. This file names
//! every kind once; the generic machinery (effect registry, webhook envelope, operator views,
//! GraphQL schema) reaches the kinds through [`ALL`] and the [`crate::app::kind::Kind`] trait.

pub mod bulk_action;
pub mod customs_declaration;
pub mod dispute;
pub mod engine_probe;
pub mod payment;
pub mod reconciliation_case;
pub mod refund;
pub mod registration;

use async_graphql::{MergedObject, MergedSubscription};

use crate::app::kind::Kind;

/// Every kind this binary runs; adding a kind is its folder, its workflow file, its migration
/// and one line here.
pub static ALL: [&dyn Kind; 8] = [
    &payment::Payment,
    &refund::Refund,
    &dispute::Dispute,
    &customs_declaration::CustomsDeclaration,
    &registration::Registration,
    &engine_probe::EngineProbe,
    &bulk_action::BulkAction,
    &reconciliation_case::ReconciliationCase,
];

/// Every kind's queries, for the schema.
#[derive(MergedObject, Default)]
pub struct KindQueries(
    payment::graphql::PaymentQueries,
    refund::graphql::RefundQueries,
    dispute::graphql::DisputeQueries,
    customs_declaration::graphql::CustomsQueries,
    registration::graphql::RegistrationQueries,
    bulk_action::graphql::BulkActionQueries,
    reconciliation_case::graphql::CaseQueries,
);

/// Every kind's mutations, for the schema.
#[derive(MergedObject, Default)]
pub struct KindMutations(
    payment::graphql::PaymentMutations,
    refund::graphql::RefundMutations,
    dispute::graphql::DisputeMutations,
    customs_declaration::graphql::CustomsMutations,
    registration::graphql::RegistrationMutations,
    bulk_action::graphql::BulkActionMutations,
    reconciliation_case::graphql::CaseMutations,
);

/// Every kind's subscriptions, for the schema.
#[derive(MergedSubscription, Default)]
#[graphql(name = "Subscription")]
pub struct KindSubscriptions(
    payment::graphql::PaymentSubscription,
    refund::graphql::RefundSubscription,
    dispute::graphql::DisputeSubscription,
    customs_declaration::graphql::CustomsSubscription,
    registration::graphql::RegistrationSubscription,
);
