//! Use cases: the [`Engine`] handle that coordinates the pure workflow core with the store, and
//! the effect-handler contract between workflows and the edges that act on the world.

pub mod auth;
pub mod customs_declarations;
pub mod dispute_evidence;
pub mod disputes;
mod effects;
mod engine;
pub mod errors;
pub mod merchant_cache;
pub mod merchant_profile;
pub mod merchants;
pub mod money;
pub mod new_payments;
pub mod operations;
pub mod payment_methods;
pub mod payment_results;
pub mod payments;
pub mod reconciliation;
pub mod refunds;
pub mod registration_answers;
pub mod registrations;

pub use effects::{EffectContext, EffectError, EffectHandler, EffectRegistry, EffectResult};
pub use engine::{Engine, Update, status_of};
