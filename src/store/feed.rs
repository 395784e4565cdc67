//! The merchants' event feed: every change a merchant can see (a transition whose workflow
//! sends `notify_merchant`, whether or not the merchant has a webhook) is written as an event in
//! the transaction of the change ([`record_in`]), with what its kind announces of the object
//! ([`Announcer`]: the same body its webhook carries) and the next number of its merchant's
//! sequence. The number is taken last in the transaction from one counter row per merchant: a
//! second change of the same merchant waits for the first to commit or roll back before it is
//! numbered, so a reader of `sequence > n` never misses a number committed later, and there are
//! no gaps. Each webhook endpoint of the merchant that takes the event gets its delivery in the
//! same transaction (`store::deliveries`), so a webhook says exactly what the feed says.

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, Query};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseTransaction, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};
use serde_json::Value;
use uuid::Uuid;

use super::StoreError;
use super::entity::{feed_event, instance};
use crate::store::Db;
use crate::workflow::{Definitions, EffectName};

/// The payload key of a `notify_merchant` outbox row (written before events were delivered
/// with the change) holding its event's id.
pub const EVENT_KEY: &str = "event";

/// What a change says to its merchant, as its kind puts it.
#[derive(Debug, Clone)]
pub struct Announced {
    pub merchant_id: Uuid,
    /// The object the change is about (a payment, a refund...).
    pub object_id: Uuid,
    /// What its webhook deliveries are recorded under (see `webhook_deliveries.payment_id`).
    pub subject_id: Uuid,
    /// e.g. `payment.updated`.
    pub event_type: String,
    /// What a delivery record says was announced, e.g. `SUCCEEDED`.
    pub announced: String,
    /// The object, as the webhook body's `<object>` field carries it.
    pub data: Value,
}

/// A change of an instance, being written in `txn`.
#[derive(Clone, Copy)]
pub struct Change<'a> {
    pub txn: &'a DatabaseTransaction,
    pub definitions: &'a Definitions,
    /// The instance as the change leaves it.
    pub instance: &'a instance::Model,
}

impl Change<'_> {
    /// The kind's row of the instance (`E`'s row with the instance's id), as the change left it.
    pub async fn row<E>(&self) -> Result<Option<E::Model>, StoreError>
    where
        E: EntityTrait,
        <E::PrimaryKey as sea_orm::PrimaryKeyTrait>::ValueType: From<Uuid>,
    {
        Ok(E::find_by_id(self.instance.id).one(self.txn).await?)
    }
}

/// Says what a change of an instance announces, and what money it books (the kinds, through
/// `crate::app::kind::Kind`).
pub trait Announcer: Send + Sync {
    /// What `change` announces to its merchant; `None` if its kind announces nothing.
    fn announce<'a>(&'a self, change: Change<'a>) -> BoxFuture<'a, Result<Option<Announced>, StoreError>>;

    /// Whether a transition leaving `instance` as it is now is a money event of the ledger
    /// (`store::ledger`): then it is written with its journal, in its transaction.
    fn books(&self, _instance: &instance::Model) -> bool {
        false
    }

    /// The journal of `change`, a transition [`Announcer::books`] said yes to.
    fn book<'a>(
        &'a self,
        _change: Change<'a>,
    ) -> BoxFuture<'a, Result<Option<super::ledger::Journal>, StoreError>> {
        Box::pin(async { Ok(None) })
    }
}

/// The id of the event a change whose workflow scheduled `effects` writes: one if they name
/// `notify_merchant` (which is this event and its webhook deliveries, not an outbox row).
pub(super) fn plan_event(effects: &[EffectName]) -> Option<Uuid> {
    effects.contains(&EffectName::NOTIFY_MERCHANT).then(Uuid::now_v7)
}

/// Writes event `id` of `instance`'s change (at its current version) in `txn`, as `announcer`
/// puts it, numbered last. Nothing if its kind announces nothing.
pub(super) async fn record_in(
    txn: &DatabaseTransaction,
    announcer: &dyn Announcer,
    definitions: &Definitions,
    instance: &instance::Model,
    id: Uuid,
) -> Result<Option<feed_event::Model>, StoreError> {
    let change = Change {
        txn,
        definitions,
        instance,
    };
    let Some(announced) = announcer.announce(change).await? else {
        return Ok(None);
    };
    record_announced_in(
        txn,
        id,
        announced,
        (instance.id, instance.version),
        instance.updated_at,
    )
    .await
    .map(Some)
}

/// Writes `announced` in `txn` as the event of `change` (the instance, or another object
/// with its own versions, and the version the change gave it), numbered last, with a delivery
/// to each of its merchant's webhook endpoints that takes it (`store::webhooks`).
pub(super) async fn record_announced_in(
    txn: &DatabaseTransaction,
    id: Uuid,
    announced: Announced,
    change: (Uuid, i64),
    at: DateTime<Utc>,
) -> Result<feed_event::Model, StoreError> {
    let sequence = next_sequence(txn, announced.merchant_id).await?;
    let event = feed_event::Model {
        id,
        merchant_id: announced.merchant_id,
        sequence,
        event_type: announced.event_type,
        object_id: announced.object_id,
        subject_id: announced.subject_id,
        announced: announced.announced,
        instance_id: change.0,
        instance_version: change.1,
        data: announced.data,
        created_at: at,
    };
    feed_event::Entity::insert(feed_event::ActiveModel::from(event.clone()))
        .exec_without_returning(txn)
        .await?;
    super::deliveries::fan_out_in(txn, &event).await?;
    Ok(event)
}

/// The event of `instance`'s change at its current version, written now if the change has none
/// (a `notify_merchant` row scheduled before plusflow kept a feed).
pub async fn event_of_change(
    db: &Db,
    announcer: &dyn Announcer,
    definitions: &Definitions,
    instance: &instance::Model,
) -> Result<Option<feed_event::Model>, StoreError> {
    super::retry_transient(|| async {
        let txn = db.begin().await?;
        let existing = feed_event::Entity::find()
            .filter(feed_event::Column::InstanceId.eq(instance.id))
            .filter(feed_event::Column::InstanceVersion.eq(instance.version))
            .one(&txn)
            .await?;
        let event = match existing {
            Some(event) => Some(event),
            None => record_in(&txn, announcer, definitions, instance, Uuid::now_v7()).await?,
        };
        txn.commit().await?;
        Ok(event)
    })
    .await
}

/// The next number of `merchant_id`'s sequence, its counter row locked until `txn` ends.
async fn next_sequence(txn: &DatabaseTransaction, merchant_id: Uuid) -> Result<i64, StoreError> {
    let upsert = Query::insert()
        .into_table("merchant_event_sequences")
        .columns(["merchant_id", "last_sequence"])
        .values_panic([merchant_id.into(), 1i64.into()])
        .on_conflict(
            OnConflict::column("merchant_id")
                .value(
                    "last_sequence",
                    Expr::col(("merchant_event_sequences", "last_sequence")).add(1),
                )
                .to_owned(),
        )
        .returning_col("last_sequence")
        .to_owned();
    let statement = txn.get_database_backend().build(&upsert);
    let row = txn
        .query_one_raw(statement)
        .await?
        .ok_or_else(|| DbErr::Custom("the sequence upsert returned no row".into()))?;
    Ok(row.try_get::<i64>("", "last_sequence")?)
}

/// A page of `merchant_id`'s events after number `after`, oldest first, of `types` if any.
pub async fn events_after(
    db: &Db,
    merchant_id: Uuid,
    after: i64,
    types: &[String],
    limit: u64,
) -> Result<Vec<feed_event::Model>, StoreError> {
    let mut query = feed_event::Entity::find()
        .filter(feed_event::Column::MerchantId.eq(merchant_id))
        .filter(feed_event::Column::Sequence.gt(after));
    if !types.is_empty() {
        query = query.filter(feed_event::Column::EventType.is_in(types.iter().cloned()));
    }
    Ok(query
        .order_by_asc(feed_event::Column::Sequence)
        .limit(limit)
        .all(db)
        .await?)
}

/// Event `id`.
pub async fn event(db: &Db, id: Uuid) -> Result<Option<feed_event::Model>, StoreError> {
    Ok(feed_event::Entity::find_by_id(id).one(db).await?)
}
