//! The customs declaration kind: a paid order declared to customs (AlipayCN `declare`,
//! `inquireDeclarationRequests`).

pub mod effects;
pub mod entity;
pub mod graphql;
pub mod names;
pub mod rows;
pub mod simulator;
pub mod use_cases;

use crate::app::kind::{Kind, KindEffects, KindServices};

/// An order declared to customs.
pub struct CustomsDeclaration;

impl Kind for CustomsDeclaration {
    fn simulator_part(&self) -> Option<std::sync::Arc<dyn crate::simulator::core::SimulatorPart>> {
        Some(std::sync::Arc::new(simulator::CustomsDeclarations::default()))
    }

    fn name(&self) -> &'static str {
        "customs_declaration"
    }

    fn statuses(&self) -> &'static [&'static str] {
        <graphql::CustomsDeclarationStatus as strum::VariantNames>::VARIANTS
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
}
