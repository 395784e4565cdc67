//! The GraphQL API (async-graphql), one schema merged from each kind's part (`crate::kinds`),
//! reconciliation's, the operators' console, the event feed and webhook endpoints, with what they share: the request context and
//! errors with a stable `extensions.code` ([`context`]), the shared types ([`shared`]), limits,
//! one read per object per answer ([`reads`]) and the subscriptions' plumbing ([`watch`]). The
//! schema knows nothing of axum: the HTTP layer puts the authenticated
//! [`crate::app::auth::Principal`] (or none) into each request's data.

pub mod console;
pub mod context;
mod feed;
mod finance;
mod lifecycle;
pub mod limits;
pub mod lists;
mod merchant_types;
mod operations;
pub mod reads;
pub mod reconciliation_types;
pub mod shared;
pub mod watch;
mod webhooks;

use async_graphql::{MergedObject, Schema};

use crate::alipayplus::client::Client;
use crate::app::Engine;
use crate::app::kind::KindList;
use crate::app::test_mode::TestMode;
use crate::kinds::payment::methods::{PaymentMethodLimits, PaymentMethods};
use crate::kinds::{KindMutations, KindQueries, KindSubscriptions};
pub use context::*;
pub use shared::*;

/// Every kind's fields, reconciliation's and the operators' (`console`), one schema.
#[derive(MergedObject, Default)]
#[graphql(name = "Query")]
pub struct QueryRoot(
    KindQueries,
    feed::FeedQueries,
    reconciliation_types::ReconciliationQueries,
    console::OperatorQueries,
    operations::OperationsQueries,
    webhooks::WebhookQueries,
    lifecycle::LifecycleQueries,
    finance::FinanceQueries,
);

#[derive(MergedObject, Default)]
#[graphql(name = "Mutation")]
pub struct MutationRoot(
    KindMutations,
    console::OperatorMutations,
    operations::OperationsMutations,
    merchant_types::MerchantProfileMutations,
    webhooks::WebhookMutations,
    lifecycle::LifecycleMutations,
);

/// Each kind's `<kind>Updated`.
pub type SubscriptionRoot = KindSubscriptions;

pub type ApiSchema = Schema<QueryRoot, MutationRoot, SubscriptionRoot>;

/// The schema, with `limits` on consultPayment and a budget of `complexity_per_minute` per
/// caller (see [`limits`]).
pub fn schema(
    engine: Engine,
    client: Client,
    limits: PaymentMethodLimits,
    complexity_per_minute: usize,
) -> ApiSchema {
    let test_mode = TestMode::new(engine.real_alipayplus, client.gateway());
    Schema::build(
        QueryRoot::default(),
        MutationRoot::default(),
        SubscriptionRoot::default(),
    )
    .data(test_mode)
    .data(engine)
    .data(KindList(&crate::kinds::ALL))
    .data(limits::ComplexityBudget::new(complexity_per_minute))
    .data(PaymentMethods::new(client.clone(), limits))
    .data(client)
    .limit_depth(limits::MAX_DEPTH)
    .limit_complexity(limits::MAX_COMPLEXITY)
    .extension(limits::RequestLimits)
    .finish()
}

/// The SDL, for `plusflow schema`.
pub fn sdl() -> String {
    Schema::build(
        QueryRoot::default(),
        MutationRoot::default(),
        SubscriptionRoot::default(),
    )
    .finish()
    .sdl()
}
