//! The merchants' event feed as a merchant reads it (`store::feed` writes it): its own events
//! in order after a number it has seen, optionally of some types, and one event by id. An
//! operator reads a merchant's feed by naming the merchant.

use uuid::Uuid;

use super::Engine;
use super::auth::Principal;
use super::errors::{AppError, invalid};
use crate::store::entity::feed_event;
use crate::store::feed;

/// The most events one page holds.
pub const MAX_PAGE: u64 = 100;
/// The most types one read may filter on.
const MAX_TYPES: usize = 20;

/// Up to `first` events of the merchant `principal` is (or, for an operator, `merchant_id`)
/// numbered after `after`, oldest first, of `types` if any; and whether more follow.
pub async fn events_after(
    engine: &Engine,
    principal: &Principal,
    merchant_id: Option<Uuid>,
    after: i64,
    types: &[String],
    first: u64,
) -> Result<(Vec<feed_event::Model>, bool), AppError> {
    let merchant_id = principal.merchant_named(merchant_id)?;
    if !(1..=MAX_PAGE).contains(&first) {
        return Err(invalid("first", format!("must be 1 to {MAX_PAGE}")));
    }
    if types.len() > MAX_TYPES || types.iter().any(|t| t.is_empty() || t.len() > 64) {
        return Err(invalid(
            "types",
            format!("at most {MAX_TYPES} types, each 1 to 64 characters"),
        ));
    }
    let events = feed::events_after(&engine.db, merchant_id, after, types, first + 1).await?;
    Ok(super::page::cut(events, first))
}

/// Event `id`, if `principal` may see it.
pub async fn event(
    engine: &Engine,
    principal: &Principal,
    id: Uuid,
) -> Result<Option<feed_event::Model>, AppError> {
    let event = feed::event(&engine.db, id).await?;
    Ok(event.filter(|event| principal.may_see_owner(event.merchant_id)))
}
