//! The registration kind: a merchant registered with Alipay+ and each wallet it is offered to
//! (`registration`, `notifyRegistrationStatus`, `inquiryRegistrationStatus`).

pub mod answers;
pub mod effects;
pub mod entity;
pub mod graphql;
mod inbound;
pub mod names;
pub mod rows;
pub mod simulator;
pub mod use_cases;

use crate::app::kind::{InboundRoute, Kind, KindEffects, KindServices};

/// A merchant registered with Alipay+ and its wallets.
pub struct Registration;

impl Kind for Registration {
    fn simulator_part(&self) -> Option<std::sync::Arc<dyn crate::simulator::core::SimulatorPart>> {
        Some(std::sync::Arc::new(simulator::Registrations::default()))
    }

    fn name(&self) -> &'static str {
        "registration"
    }

    fn statuses(&self) -> &'static [&'static str] {
        <graphql::RegistrationStatus as strum::VariantNames>::VARIANTS
    }

    fn effects(&self, services: &KindServices<'_>) -> anyhow::Result<KindEffects> {
        Ok(effects::kind_effects(services))
    }

    fn announce<'a>(
        &'a self,
        txn: &'a sea_orm::DatabaseTransaction,
        definitions: &'a crate::workflow::Definitions,
        instance: &'a crate::store::entity::instance::Model,
    ) -> futures::future::BoxFuture<'a, Result<Option<crate::store::feed::Announced>, crate::store::StoreError>>
    {
        Box::pin(effects::announce(txn, definitions, instance))
    }

    fn inbound(&self) -> &'static [InboundRoute] {
        inbound::ROUTES
    }
}
