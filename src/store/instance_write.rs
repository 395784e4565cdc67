//! The instance row as the write path handles it: locked for a write (SQLite's write lock taken
//! first), every column a write may change, and touched (version bumped) by a park or an
//! operator's action.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait as _, DatabaseTransaction, EntityTrait, QueryFilter, QuerySelect, UpdateMany,
};
use serde_json::Value;
use uuid::Uuid;

use super::StoreError;
use super::entity::instance;

pub(crate) async fn lock_instance(
    txn: &DatabaseTransaction,
    id: Uuid,
) -> Result<instance::Model, StoreError> {
    if txn.get_database_backend() == sea_orm::DbBackend::Sqlite {
        // Take SQLite's write lock before reading, so the transaction never upgrades a read.
        instance::Entity::update_many()
            .col_expr(instance::Column::Version, Expr::col(instance::Column::Version))
            .filter(instance::Column::Id.eq(id))
            .exec(txn)
            .await?;
    }
    instance::Entity::find_by_id(id)
        .lock_exclusive()
        .one(txn)
        .await?
        .ok_or(StoreError::NotFound(id))
}

/// Every column a write may change, set from `after` (filter it to the row, and to the version
/// decided on where that matters).
pub(super) fn instance_update(after: &instance::Model) -> UpdateMany<instance::Entity> {
    instance::Entity::update_many()
        .col_expr(instance::Column::State, Expr::value(after.state.clone()))
        .col_expr(instance::Column::Terminal, Expr::value(after.terminal))
        .col_expr(instance::Column::Version, Expr::value(after.version))
        .col_expr(
            instance::Column::NeedsAttention,
            Expr::value(after.needs_attention),
        )
        .col_expr(instance::Column::LastError, Expr::value(after.last_error.clone()))
        .col_expr(instance::Column::Data, Expr::value(after.data.clone()))
        .col_expr(instance::Column::UpdatedAt, Expr::value(after.updated_at))
        .col_expr(instance::Column::StateSince, Expr::value(after.state_since))
}

/// The instance in its state with `data`, waiting for an operator for `attention` (or not), its
/// version bumped: a park, or an operator's change.
pub(super) async fn touch(
    txn: &DatabaseTransaction,
    current: &instance::Model,
    attention: Option<String>,
    data: Value,
    now: DateTime<Utc>,
) -> Result<instance::Model, StoreError> {
    let after = instance::Model {
        version: current.version + 1,
        needs_attention: attention.is_some(),
        last_error: attention,
        data,
        updated_at: now,
        ..current.clone()
    };
    instance_update(&after)
        .filter(instance::Column::Id.eq(current.id))
        .exec(txn)
        .await?;
    Ok(after)
}
