//! A payment's public status (a refund shows a part of the same vocabulary): what each state of
//! `workflows/payment.toml` and `workflows/refund.toml` says it is, as a type.

use serde::Serialize;
use strum::{Display, EnumString, IntoStaticStr, VariantNames};

use crate::app::Engine;
use crate::app::status_of;
use crate::store::entity::instance;

/// A payment's (or a refund's) public status.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Display, EnumString, IntoStaticStr, VariantNames,
)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[strum(serialize_all = "SCREAMING_SNAKE_CASE")]
pub enum PublicStatus {
    Pending,
    AwaitingCustomer,
    /// A cancel was asked for (by the merchant or the expiry) and is being made at Alipay+.
    Cancelling,
    Succeeded,
    Failed,
    Cancelled,
    /// Not final and held for an operator (an answer that does not match the payment, or
    /// Alipay+ unable to tell): the merchant sees this, not plusflow's reason.
    UnderReview,
}

impl PublicStatus {
    /// The status of a payment or refund `instance`, from its workflow definition; the kinds'
    /// status check at start-up (`Kind::statuses`) holds every state's status to the vocabulary.
    pub fn of(engine: &Engine, instance: &instance::Model) -> Self {
        if instance.needs_attention && !instance.terminal {
            return PublicStatus::UnderReview;
        }
        status_of(engine, instance)
            .parse()
            .unwrap_or(PublicStatus::Pending)
    }
}
