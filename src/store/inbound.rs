//! The journal of verified inbound Alipay+ calls.

use sea_orm::{
    ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
};
use serde_json::Value;
use uuid::Uuid;

use super::StoreError;
use super::entity::inbound;
use crate::clock::Clock;

/// One verified inbound call to record.
pub struct InboundCall<'a> {
    pub api: &'a str,
    pub reference: &'a str,
    pub related_reference: Option<&'a str>,
    pub body: Value,
}

pub async fn record(
    db: &DatabaseConnection,
    clock: &dyn Clock,
    call: InboundCall<'_>,
) -> Result<(), StoreError> {
    let row = inbound::ActiveModel {
        id: Set(Uuid::now_v7()),
        api: Set(call.api.to_string()),
        reference: Set(call.reference.to_string()),
        related_reference: Set(call.related_reference.map(str::to_string)),
        body: Set(call.body),
        received_at: Set(clock.now()),
    };
    inbound::Entity::insert(row).exec_without_returning(db).await?;
    Ok(())
}

/// The first call recorded for `(api, reference)`.
pub async fn first(
    db: &DatabaseConnection,
    api: &str,
    reference: &str,
) -> Result<Option<inbound::Model>, StoreError> {
    Ok(inbound::Entity::find()
        .filter(inbound::Column::Api.eq(api))
        .filter(inbound::Column::Reference.eq(reference))
        .order_by_asc(inbound::Column::ReceivedAt)
        .one(db)
        .await?)
}

/// How many inbound calls are recorded.
pub async fn count(db: &DatabaseConnection) -> Result<u64, StoreError> {
    Ok(inbound::Entity::find().count(db).await?)
}
