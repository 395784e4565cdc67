//! The outbox rows a decision schedules (effects its data does not turn off, the state's timer)
//! and the pending rows of a left state it marks stale.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter, UpdateMany};
use serde_json::{Map, Value};
use uuid::Uuid;

use super::StoreError;
use super::entity::{instance, outbox};
use crate::workflow::{Definition, EffectName, Timer, TimerDue};

/// The outbox rows of a decision that leaves the instance as `entered`: each effect its data
/// does not turn off, due per its retry policy (at once unless it says otherwise), and the
/// state's timer due later.
pub(super) fn scheduled_rows(
    definition: &Definition,
    entered: &instance::Model,
    effects: &[EffectName],
    timer: Option<&Timer>,
) -> Vec<outbox::Model> {
    let now = entered.updated_at;
    let row = |kind: &str, name: &str, due_at_ms: i64, max_attempts: u32| outbox::Model {
        id: Uuid::now_v7(),
        instance_id: entered.id,
        kind: kind.to_string(),
        name: name.to_string(),
        scheduled_in_state: entered.state.clone(),
        payload: Value::Object(Map::new()),
        due_at_ms,
        attempts: 0,
        max_attempts: max_attempts as i32,
        status: outbox::STATUS_PENDING.to_string(),
        lease_token: None,
        lease_until_ms: None,
        claimed_by: None,
        last_error: None,
        created_at: now,
        updated_at: now,
        trace_context: crate::telemetry::current_traceparent(),
    };
    let mut rows: Vec<outbox::Model> = effects
        .iter()
        // `notify_merchant` is the change's event and its webhook deliveries (`store::feed`).
        .filter(|effect| **effect != EffectName::NOTIFY_MERCHANT)
        .filter(|effect| definition.enabled_for(**effect, &entered.data))
        .map(|effect| {
            let policy = definition.retry_policy(*effect);
            let due = now.timestamp_millis() + policy.first_after.as_millis() as i64;
            row(outbox::KIND_EFFECT, (*effect).into(), due, policy.attempts)
        })
        .collect();
    if let Some(timer) = timer {
        let due = match &timer.due {
            TimerDue::After(after) => now.timestamp_millis() + after.as_millis() as i64,
            TimerDue::At(key) => entered
                .data
                .get(key)
                .and_then(Value::as_str)
                .and_then(|time| DateTime::parse_from_rfc3339(time).ok())
                .map_or(now.timestamp_millis(), |time| time.timestamp_millis()),
        };
        rows.push(row(
            outbox::KIND_TIMER,
            timer.on_timeout.into(),
            due,
            definition.default_retry.attempts,
        ));
    }
    rows
}

/// How many of the `scheduled` rows are effects (due now, so a relay may be woken).
pub(super) fn effects_among(scheduled: &[outbox::Model]) -> usize {
    scheduled
        .iter()
        .filter(|row| row.kind == outbox::KIND_EFFECT)
        .count()
}

pub(super) async fn insert_outbox(
    txn: &DatabaseTransaction,
    rows: Vec<outbox::Model>,
) -> Result<(), StoreError> {
    if !rows.is_empty() {
        outbox::Entity::insert_many(rows.into_iter().map(outbox::ActiveModel::from))
            .exec_without_returning(txn)
            .await?;
    }
    Ok(())
}

/// Which pending rows of a left state a transition marks stale: its timers always, its unstarted
/// effects too when the state is left (the runner would only find them stale).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Disarm {
    Timers,
    TimersAndEffects,
}

/// Marks stale what `left`'s state scheduled and nobody has started (see [`Disarm`]).
pub(super) fn disarm_update(
    left: &instance::Model,
    disarm: Disarm,
    now: DateTime<Utc>,
) -> UpdateMany<outbox::Entity> {
    let update = outbox::Entity::update_many()
        .col_expr(outbox::Column::Status, Expr::value(outbox::STATUS_STALE))
        .col_expr(outbox::Column::UpdatedAt, Expr::value(now))
        .filter(outbox::Column::InstanceId.eq(left.id))
        .filter(outbox::Column::ScheduledInState.eq(left.state.clone()))
        .filter(outbox::Column::Status.eq(outbox::STATUS_PENDING));
    match disarm {
        Disarm::Timers => update.filter(outbox::Column::Kind.eq(outbox::KIND_TIMER)),
        Disarm::TimersAndEffects => update,
    }
}
