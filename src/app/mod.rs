//! Use cases: the [`Engine`] handle that coordinates the pure workflow core with the store, and
//! the effect-handler contract between workflows and the edges that act on the world.

pub mod activity;
pub mod archive;
pub mod auth;
pub mod console;
mod effects;
mod engine;
pub mod errors;
pub mod feed;
pub mod four_eyes;
pub mod fresh_rows;
pub mod kind;
pub mod merchant_cache;
pub mod merchant_lists;
pub mod merchant_profile;
pub mod merchants;
pub mod metadata;
pub mod money;
pub mod operator;
pub mod page;
pub mod reconciliation;
pub mod retention;
pub mod roles;
pub mod search;
pub mod statements;
pub mod test_mode;
mod tokens;
pub mod webhook_endpoints;

pub use effects::{
    Decided, EffectContext, EffectError, EffectHandler, EffectRegistry, EffectResult, decided, event, retry,
    store_error,
};
pub use engine::{Engine, Update, status_in, status_of};
