//! Read queries over instances and their history.

use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder};
use uuid::Uuid;

use super::StoreError;
use super::entity::{history, instance, outbox};
use crate::store::Db;

pub async fn instance(db: &Db, id: Uuid) -> Result<instance::Model, StoreError> {
    instance::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(StoreError::NotFound(id))
}

/// The history of an instance, oldest first.
pub async fn history(db: &Db, id: Uuid) -> Result<Vec<history::Model>, StoreError> {
    Ok(history::Entity::find()
        .filter(history::Column::InstanceId.eq(id))
        .order_by_asc(history::Column::Id)
        .all(db)
        .await?)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InstanceCounts {
    pub total: u64,
    pub terminal: u64,
    pub needs_attention: u64,
}

/// How many instances of `kind` exist, have finished, and wait for an operator.
pub async fn count_instances(db: &Db, kind: &str) -> Result<InstanceCounts, StoreError> {
    let of_kind = || instance::Entity::find().filter(instance::Column::Kind.eq(kind));
    Ok(InstanceCounts {
        total: of_kind().count(db).await?,
        terminal: of_kind()
            .filter(instance::Column::Terminal.eq(true))
            .count(db)
            .await?,
        needs_attention: of_kind()
            .filter(instance::Column::NeedsAttention.eq(true))
            .count(db)
            .await?,
    })
}

/// The earliest pending effect or timer of an instance.
pub async fn next_run_ms(db: &Db, instance_id: Uuid) -> Result<Option<i64>, StoreError> {
    let next = outbox::Entity::find()
        .filter(outbox::Column::InstanceId.eq(instance_id))
        .filter(outbox::Column::Status.is_in([outbox::STATUS_PENDING, outbox::STATUS_CLAIMED]))
        .order_by_asc(outbox::Column::DueAtMs)
        .one(db)
        .await?;
    Ok(next.map(|row| row.due_at_ms))
}
