//! The dispute kind: an Alipay+ retrieval or escalation, answered by the merchant before its
//! deadline.

pub mod effects;
pub mod entity;
pub mod evidence;
pub mod graphql;
mod inbound;
pub mod names;
pub mod rows;
pub mod simulator;
pub mod test_helpers;
pub mod use_cases;

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;

use crate::app::Engine;
use crate::app::errors::AppError;
use crate::app::kind::{InboundRoute, Kind, KindEffects, KindServices};
use crate::store::entity::instance;

/// A retrieval or escalation the merchant answers.
pub struct Dispute;

impl Kind for Dispute {
    fn simulator_part(&self) -> Option<std::sync::Arc<dyn crate::simulator::core::SimulatorPart>> {
        Some(std::sync::Arc::new(simulator::Disputes::default()))
    }

    fn name(&self) -> &'static str {
        "dispute"
    }

    fn statuses(&self) -> &'static [&'static str] {
        <graphql::DisputeStatus as strum::VariantNames>::VARIANTS
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

    /// Its response deadline (`respondBy`, in its data: the timer of its states waits for it).
    fn deadline<'a>(
        &'a self,
        _engine: &'a Engine,
        instance: &'a instance::Model,
    ) -> BoxFuture<'a, Result<Option<DateTime<Utc>>, AppError>> {
        let respond_by = instance
            .data
            .get("respondBy")
            .and_then(|v| v.as_str())
            .and_then(|text| DateTime::parse_from_rfc3339(text).ok())
            .map(|time| time.with_timezone(&Utc));
        Box::pin(async move { Ok(respond_by) })
    }
}
