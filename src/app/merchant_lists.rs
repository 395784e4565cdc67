//! What a merchant's lists of payments, refunds and disputes are narrowed to, as the API asks
//! (status, creation window, an order's payment, a page), made into the store's filter.

use chrono::{DateTime, Utc};
use sea_orm::{EntityTrait, Related};
use uuid::Uuid;

use super::Engine;
use super::auth::Principal;
use super::errors::{AppError, invalid};
use crate::store::entity::{OfInstance, instance};
use crate::store::merchant_lists::{ListFilter, ListedBy, merchant_rows, payment_of_order};

/// A merchant's list request.
#[derive(Debug, Clone, Default)]
pub struct ListRequest {
    /// A public status of the kind listed.
    pub status: Option<String>,
    pub created_after: Option<DateTime<Utc>>,
    pub created_before: Option<DateTime<Utc>>,
    /// The merchant's order: its payment, or that payment's refunds or disputes.
    pub merchant_order_id: Option<String>,
    /// The page after this row.
    pub after: Option<Uuid>,
}

/// The store's filter for `merchant_id`'s list of `kind` that `request` asks for; `None` when
/// nothing can match (an order the merchant has no payment for).
pub async fn list_filter(
    engine: &Engine,
    kind: &str,
    merchant_id: Uuid,
    request: &ListRequest,
) -> Result<Option<ListFilter>, AppError> {
    if let (Some(after), Some(before)) = (request.created_after, request.created_before)
        && after >= before
    {
        return Err(invalid("filter.createdBefore", "must be after createdAfter"));
    }
    let payment = match &request.merchant_order_id {
        Some(order) => match payment_of_order(&engine.db, merchant_id, order).await? {
            Some(id) => Some(id),
            None => return Ok(None),
        },
        None => None,
    };
    Ok(Some(ListFilter {
        states: request
            .status
            .as_deref()
            .map(|status| engine.definitions.states_showing(kind, status)),
        created_after: request.created_after,
        created_before: request.created_before,
        payment,
        after: request.after,
    }))
}

/// A page of `first` of the merchant's rows of `E` (of workflow `kind`, listed by `columns`)
/// that `request` asks for, newest first, and whether more follow. Merchants only.
pub async fn merchant_page<E>(
    engine: &Engine,
    principal: &Principal,
    kind: &str,
    columns: &ListedBy<E::Column>,
    first: u64,
    request: &ListRequest,
) -> Result<(Vec<(E::Model, instance::Model)>, bool), AppError>
where
    E: EntityTrait + Related<instance::Entity>,
    E::Model: OfInstance,
{
    let Principal::Merchant(merchant) = principal else {
        return Err(AppError::Forbidden);
    };
    let Some(filter) = list_filter(engine, kind, merchant.id, request).await? else {
        return Ok((vec![], false));
    };
    let rows = merchant_rows::<E>(&engine.db, columns, merchant.id, &filter, first + 1).await?;
    Ok(super::page::cut(rows, first))
}
