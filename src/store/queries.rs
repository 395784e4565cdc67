//! Read queries over instances and their history.

use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder};
use uuid::Uuid;

use super::StoreError;
use super::entity::{history, instance};

pub async fn instance(db: &DatabaseConnection, id: Uuid) -> Result<instance::Model, StoreError> {
    instance::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(StoreError::NotFound(id))
}

/// The history of an instance, oldest first.
pub async fn history(db: &DatabaseConnection, id: Uuid) -> Result<Vec<history::Model>, StoreError> {
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
pub async fn count_instances(db: &DatabaseConnection, kind: &str) -> Result<InstanceCounts, StoreError> {
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

/// Gauges for `/metrics`: instances by kind and state, parked instances, outbox rows by status.
#[derive(Debug, Clone, Default)]
pub struct EngineGauges {
    pub instances: Vec<(String, String, i64)>,
    pub needs_attention: Vec<(String, i64)>,
    pub outbox: Vec<(String, String, i64)>,
}

pub async fn engine_gauges(db: &DatabaseConnection) -> Result<EngineGauges, StoreError> {
    use sea_orm::{ConnectionTrait, Statement};
    let backend = db.get_database_backend();
    let rows = |sql: &str| db.query_all_raw(Statement::from_string(backend, sql));
    let instances = rows(
        "SELECT kind, state, COUNT(*) AS n FROM workflow_instances GROUP BY kind, state ORDER BY kind, state",
    )
    .await?;
    let attention = rows("SELECT kind, COUNT(*) AS n FROM workflow_instances WHERE needs_attention GROUP BY kind ORDER BY kind").await?;
    let outbox =
        rows("SELECT kind, status, COUNT(*) AS n FROM outbox GROUP BY kind, status ORDER BY kind, status")
            .await?;
    let triple =
        |row: &sea_orm::QueryResult, a: &str, b: &str| -> Result<(String, String, i64), sea_orm::DbErr> {
            Ok((row.try_get("", a)?, row.try_get("", b)?, row.try_get("", "n")?))
        };
    Ok(EngineGauges {
        instances: instances
            .iter()
            .map(|r| triple(r, "kind", "state"))
            .collect::<Result<_, _>>()?,
        needs_attention: attention
            .iter()
            .map(|r| Ok((r.try_get("", "kind")?, r.try_get("", "n")?)))
            .collect::<Result<_, sea_orm::DbErr>>()?,
        outbox: outbox
            .iter()
            .map(|r| triple(r, "kind", "status"))
            .collect::<Result<_, _>>()?,
    })
}
