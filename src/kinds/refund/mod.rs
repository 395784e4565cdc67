//! The refund kind: part or all of a succeeded payment given back (`refund`, retried with the
//! same `refundRequestId` until Alipay+ answers S or F).

pub mod effects;
pub mod graphql;
pub mod names;
pub mod rows;
pub mod simulator;
pub mod use_cases;

use crate::app::kind::{Kind, KindEffects, KindServices};
use futures::FutureExt;
use futures::future::BoxFuture;

use crate::alipayplus::client::Client;
use crate::app::Engine;
use crate::app::errors::AppError;
use crate::app::kind::AlipayPlusAnswer;
use crate::kinds::payment::inquiry::ask_about_payment;
use crate::store::entity::instance;

/// Money of a succeeded payment given back.
pub struct Refund;

impl Kind for Refund {
    fn simulator_part(&self) -> Option<std::sync::Arc<dyn crate::simulator::core::SimulatorPart>> {
        Some(std::sync::Arc::new(simulator::Refunds::default()))
    }

    fn name(&self) -> &'static str {
        "refund"
    }

    fn statuses(&self) -> &'static [&'static str] {
        <graphql::RefundStatus as strum::VariantNames>::VARIANTS
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

    fn ask_alipayplus<'a>(
        &'a self,
        engine: &'a Engine,
        client: &'a Client,
        instance: &'a instance::Model,
    ) -> Option<BoxFuture<'a, Result<AlipayPlusAnswer, AppError>>> {
        Some(
            async move {
                let refund = rows::refund(&engine.db, instance.id)
                    .await?
                    .ok_or(AppError::NotFound)?;
                ask_about_payment(engine, client, refund.payment_id, Some(refund.refund_request_id)).await
            }
            .boxed(),
        )
    }
}
