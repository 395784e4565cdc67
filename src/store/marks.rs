//! Facts about the database itself (`service_marks`): once a process served a real Alipay+
//! gateway on a database, the database says so for good, and the simulator and `bench`, which
//! would run its real merchants' effects against a fake Alipay+, refuse it.

use chrono::{DateTime, Utc};
use sea_orm::EntityTrait;
use sea_orm::sea_query::OnConflict;

use super::StoreError;
use super::entity::service_mark;
use crate::store::Db;

/// Set by `serve` with `alipayplus.mode = "alipayplus"`; its value is the gateway's URL.
pub const SERVED_ALIPAYPLUS: &str = "served_alipayplus";

/// Sets mark `name` unless it is set (the first value and time stay).
pub async fn set(db: &Db, name: &str, value: &str, now: DateTime<Utc>) -> Result<(), StoreError> {
    let row = service_mark::Model {
        name: name.to_string(),
        value: value.to_string(),
        set_at: now,
    };
    service_mark::Entity::insert(service_mark::ActiveModel::from(row))
        .on_conflict(
            OnConflict::column(service_mark::Column::Name)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(())
}

pub async fn get(db: &Db, name: &str) -> Result<Option<service_mark::Model>, StoreError> {
    Ok(service_mark::Entity::find_by_id(name.to_string()).one(db).await?)
}
