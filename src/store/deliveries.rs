//! The webhook deliveries an event makes, written in the event's transaction: one to each of
//! its merchant's endpoints that takes its type (`store::webhooks` sends and lists them).

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter};
use uuid::Uuid;

use super::StoreError;
use super::entity::webhook_delivery as delivery;
use super::entity::{feed_event, webhook_endpoint as endpoint};

/// A delivery of `event` to each endpoint of its merchant that takes its type, written in the
/// event's transaction: due at once where the endpoint is enabled, waiting where it is not.
pub(super) async fn fan_out_in(
    txn: &DatabaseTransaction,
    event: &feed_event::Model,
) -> Result<(), StoreError> {
    let endpoints = endpoint::Entity::find()
        .filter(endpoint::Column::MerchantId.eq(event.merchant_id))
        .filter(endpoint::Column::DeletedAt.is_null())
        .all(txn)
        .await?;
    let rows: Vec<delivery::ActiveModel> = endpoints
        .iter()
        .filter(|endpoint| endpoint.takes(&event.event_type))
        .map(|endpoint| {
            let due = endpoint.enabled.then_some(event.created_at);
            delivery::ActiveModel::from(new_delivery(
                endpoint,
                Some(event),
                delivery::PURPOSE_EVENT,
                due,
                event.created_at,
            ))
        })
        .collect();
    if !rows.is_empty() {
        delivery::Entity::insert_many(rows)
            .exec_without_returning(txn)
            .await?;
    }
    Ok(())
}

/// A pending delivery of `event` (a ping without one) to `endpoint`, due at `due`.
pub fn new_delivery(
    endpoint: &endpoint::Model,
    event: Option<&feed_event::Model>,
    purpose: &str,
    due: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> delivery::Model {
    delivery::Model {
        id: Uuid::now_v7(),
        merchant_id: endpoint.merchant_id,
        endpoint_id: endpoint.id,
        event_id: event.map(|event| event.id),
        object_id: event.map(|event| event.object_id),
        sequence: event.map_or(0, |event| event.sequence),
        purpose: purpose.to_string(),
        status: delivery::STATUS_PENDING.to_string(),
        attempts: 0,
        next_attempt_at: due,
        first_failed_at: None,
        created_at: now,
        trace_context: crate::telemetry::current_traceparent(),
    }
}
