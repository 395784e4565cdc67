//! The payment kind: a customer paying a merchant through the Alipay+ checkout (`pay`,
//! `notifyPayment`, `inquiryPayment` polling, `cancelPayment` on expiry or request).

pub mod effects;
pub mod graphql;
mod inbound;
pub mod inquiry;
pub mod methods;
pub mod names;
pub mod results;
pub mod rows;
pub mod simulator;
pub mod status;
pub mod test_helpers;
pub mod use_cases;

use crate::app::kind::{InboundRoute, Kind, KindEffects, KindServices};
use chrono::{DateTime, Utc};
use futures::FutureExt;
use futures::future::BoxFuture;

use crate::alipayplus::client::Client;
use crate::app::Engine;
use crate::app::errors::AppError;
use crate::app::kind::AlipayPlusAnswer;
use crate::store::entity::instance;
use status::PublicStatus;

/// A customer paying a merchant.
pub struct Payment;

impl Kind for Payment {
    fn simulator_part(&self) -> Option<std::sync::Arc<dyn crate::simulator::core::SimulatorPart>> {
        Some(std::sync::Arc::new(simulator::Payments::default()))
    }

    fn name(&self) -> &'static str {
        "payment"
    }

    fn statuses(&self) -> &'static [&'static str] {
        <PublicStatus as strum::VariantNames>::VARIANTS
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

    /// Its expiry (`expiresAt`): past it, an unpaid payment is cancelled.
    fn deadline<'a>(
        &'a self,
        engine: &'a Engine,
        instance: &'a instance::Model,
    ) -> BoxFuture<'a, Result<Option<DateTime<Utc>>, AppError>> {
        async move {
            Ok(rows::payment(&engine.db, instance.id)
                .await?
                .map(|p| p.expires_at))
        }
        .boxed()
    }

    fn ask_alipayplus<'a>(
        &'a self,
        engine: &'a Engine,
        client: &'a Client,
        instance: &'a instance::Model,
    ) -> Option<BoxFuture<'a, Result<AlipayPlusAnswer, AppError>>> {
        Some(inquiry::ask_about_payment(engine, client, instance.id, None).boxed())
    }
}
