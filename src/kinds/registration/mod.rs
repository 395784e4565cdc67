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

use crate::app::kind::{InboundRoute, Kind};

/// A merchant registered with Alipay+ and its wallets.
pub struct Registration;

impl Kind for Registration {
    crate::kind_folder!(name: "registration", statuses: graphql::RegistrationStatus, simulator: simulator::Registrations);

    fn inbound(&self) -> &'static [InboundRoute] {
        inbound::ROUTES
    }
}
