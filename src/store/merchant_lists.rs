//! A merchant's list of one kind's rows (payments, refunds, disputes) with their instances:
//! newest first by id (time-ordered v7 ids), a page after a cursor, narrowed by workflow state,
//! creation time and the payment the rows belong to (found by its order: [`payment_of_order`]); one query, served by each table's
//! `(merchant_id, id)`, `(merchant_id, created_at)` and payment indexes.

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Related};
use uuid::Uuid;

use super::StoreError;
use super::entity::{OfInstance, instance, payment};
use crate::store::Db;

/// What a merchant's list is narrowed to.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    /// Only rows whose workflow is in one of these states (a public status's states).
    pub states: Option<Vec<String>>,
    pub created_after: Option<DateTime<Utc>>,
    pub created_before: Option<DateTime<Utc>>,
    /// Only the rows of this payment (a `merchantOrderId`'s payment).
    pub payment: Option<Uuid>,
    /// The page after this row (the previous page's last id).
    pub after: Option<Uuid>,
}

/// The columns a kind's table is listed by.
pub struct ListedBy<C> {
    pub merchant: C,
    pub id: C,
    pub created_at: C,
    /// The payment a row belongs to (`id` for payments themselves).
    pub payment: C,
}

/// Up to `limit` of `merchant_id`'s rows of `E` (with their instances) that `filter` keeps,
/// newest first.
pub async fn merchant_rows<E>(
    db: &Db,
    columns: &ListedBy<E::Column>,
    merchant_id: Uuid,
    filter: &ListFilter,
    limit: u64,
) -> Result<Vec<(E::Model, instance::Model)>, StoreError>
where
    E: EntityTrait + Related<instance::Entity>,
    E::Model: OfInstance,
{
    let mut query = E::find().filter(columns.merchant.eq(merchant_id));
    if let Some(after) = filter.after {
        query = query.filter(columns.id.lt(after));
    }
    if let Some(since) = filter.created_after {
        query = query.filter(columns.created_at.gt(since));
    }
    if let Some(until) = filter.created_before {
        query = query.filter(columns.created_at.lt(until));
    }
    if let Some(payment) = filter.payment {
        query = query.filter(columns.payment.eq(payment));
    }
    let mut query = query.find_also_related(instance::Entity);
    if let Some(states) = &filter.states {
        query = query.filter(instance::Column::State.is_in(states.iter().cloned()));
    }
    query
        .order_by_desc(columns.id)
        .limit(limit)
        .all(db)
        .await?
        .into_iter()
        .map(super::with_instance)
        .collect()
}

/// The id of `merchant_id`'s payment of order `merchant_order_id` (one per order, the unique
/// index of m0007), if any.
pub async fn payment_of_order(
    db: &Db,
    merchant_id: Uuid,
    merchant_order_id: &str,
) -> Result<Option<Uuid>, StoreError> {
    Ok(payment::Entity::find()
        .select_only()
        .column(payment::Column::Id)
        .filter(payment::Column::MerchantId.eq(merchant_id))
        .filter(payment::Column::MerchantOrderId.eq(merchant_order_id))
        .into_tuple()
        .one(db)
        .await?)
}
