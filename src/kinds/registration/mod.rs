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

use crate::app::kind::ContextField;
use crate::app::kind::{InboundRoute, Kind};

/// A merchant registered with Alipay+ and its wallets.
pub struct Registration;

impl Kind for Registration {
    crate::kind_folder!(name: "registration", statuses: graphql::RegistrationStatus, simulator: simulator::Registrations);

    fn inbound(&self) -> &'static [InboundRoute] {
        inbound::ROUTES
    }

    /// Its merchant and registrationRequestId.
    fn context<'a>(
        &'a self,
        of: crate::app::kind::InstanceIn<'a>,
    ) -> futures::future::BoxFuture<'a, Result<Vec<ContextField>, crate::app::errors::AppError>> {
        Box::pin(async move {
            let Some((registration, _)) =
                rows::registration_with_instance(&of.engine.db, of.instance.id).await?
            else {
                return Ok(Vec::new());
            };
            Ok(vec![
                crate::app::merchants::context_line(of.engine, registration.merchant_id).await?,
                ContextField::text("registrationRequestId", &registration.registration_request_id),
                ContextField::text("referenceMerchantId", &registration.reference_merchant_id),
            ])
        })
    }
}
