//! Merchant registration rows, and the two rules decided in a transaction: Alipay+'s update
//! rule (a new registration of a merchant only when its previous one is older than the gap),
//! checked with the merchant's row locked, so two concurrent requests for one merchant are
//! decided one after the other; and the wallets' answers, compared with what the registration
//! holds with its instance locked, so the same answers arriving twice at once (a duplicated
//! notification racing an inquiry) are recorded once.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};
use uuid::Uuid;

use crate::kinds::registration::entity as registration;
use crate::store::Db;
use crate::store::Decider;
use crate::store::apply::apply_event_in;
use crate::store::entity::{inbound, instance, merchant};
use crate::store::event::{Applied, EventInput};
use crate::store::idempotency::{IdempotencyKey, KeyUse, use_key_in};
use crate::store::instance_write::lock_instance;
use crate::store::park::{Note, record_unchanged_in};
use crate::store::start::{NewInstance, StartPlan};
use crate::store::{StoreError, retry_transient, with_instance};

/// A registration and its workflow instance.
pub type RegistrationRow = (registration::Model, instance::Model);

/// The workflow state of a completed registration.
pub const COMPLETED: &str = "completed";
/// The product a cashier payment needs its merchant registered for.
pub const CASHIER_PAYMENT: &str = "CASHIER_PAYMENT";

/// What recording a registration came to.
#[derive(Debug)]
pub enum RegistrationCreation {
    Created(Box<Applied>),
    /// The idempotency key was used before; nothing was written.
    KeyUsedBefore(KeyUse),
    /// The merchant's previous registration was made at `previous_at`, within the update gap;
    /// nothing was written.
    TooSoon {
        previous_at: DateTime<Utc>,
    },
}

/// Takes merchant `id`'s row lock (SQLite: the database's write lock), so registrations of one
/// merchant are decided one at a time.
async fn lock_merchant(txn: &DatabaseTransaction, id: Uuid) -> Result<(), StoreError> {
    if txn.get_database_backend() == sea_orm::DbBackend::Sqlite {
        merchant::Entity::update_many()
            .col_expr(merchant::Column::Name, Expr::col(merchant::Column::Name))
            .filter(merchant::Column::Id.eq(id))
            .exec(txn)
            .await?;
    }
    merchant::Entity::find_by_id(id)
        .lock_exclusive()
        .one(txn)
        .await?
        .map(|_| ())
        .ok_or(StoreError::NotFound(id))
}

/// Records `new` (its id becomes its instance's) with its workflow instance and idempotency
/// key, unless the merchant's previous registration is more recent than `update_gap` and still
/// being processed (neither refused nor final).
pub async fn create_registration(
    db: &Db,
    decider: Decider<'_>,
    key: IdempotencyKey<'_>,
    new: &registration::Model,
    update_gap: chrono::Duration,
    new_instance: &NewInstance,
) -> Result<RegistrationCreation, StoreError> {
    let clock = decider.clock;
    retry_transient(|| async {
        let txn = db.begin().await?;
        lock_merchant(&txn, new.merchant_id).await?;
        let plan = StartPlan::new(decider, "registration", new_instance)?;
        let key_use = use_key_in(&txn, clock, &key, plan.instance_id()).await?;
        if key_use != KeyUse::First {
            txn.rollback().await?;
            return Ok(RegistrationCreation::KeyUsedBefore(key_use));
        }
        let previous = registration::Entity::find()
            .filter(registration::Column::ReferenceMerchantId.eq(&new.reference_merchant_id))
            .find_also_related(instance::Entity)
            .order_by_desc(registration::Column::CreatedAt)
            .one(&txn)
            .await?
            .map(with_instance)
            .transpose()?;
        // Within the gap, only while the previous one is still being processed (not refused,
        // not final).
        if let Some((previous, _)) = previous
            .filter(|(p, _)| new.created_at - p.created_at <= update_gap)
            .filter(|(_, instance)| !instance.terminal)
        {
            txn.rollback().await?;
            return Ok(RegistrationCreation::TooSoon {
                previous_at: previous.created_at,
            });
        }
        let applied = plan.write_in(&txn).await?;
        let row = registration::Model {
            id: applied.instance.id,
            ..new.clone()
        };
        registration::Entity::insert(registration::ActiveModel::from(row))
            .exec_without_returning(&txn)
            .await?;
        txn.commit().await?;
        Ok(RegistrationCreation::Created(Box::new(applied)))
    })
    .await
}

/// A registration with its instance.
pub async fn registration_with_instance(db: &Db, id: Uuid) -> Result<Option<RegistrationRow>, StoreError> {
    crate::store::row_with_instance::<registration::Entity>(db, id).await
}

/// The registration Alipay+ writes about: by our request id when it names one, else the
/// newest unfinished registration of the merchant it names.
pub async fn registration_notified(
    db: &Db,
    registration_request_id: Option<&str>,
    reference_merchant_id: &str,
) -> Result<Option<RegistrationRow>, StoreError> {
    let mut query = registration::Entity::find().find_also_related(instance::Entity);
    query = match registration_request_id {
        Some(request_id) => query.filter(registration::Column::RegistrationRequestId.eq(request_id)),
        None => query
            .filter(registration::Column::ReferenceMerchantId.eq(reference_merchant_id))
            .filter(instance::Column::Terminal.eq(false)),
    };
    let found = query
        .order_by_desc(registration::Column::CreatedAt)
        .one(db)
        .await?;
    found.map(with_instance).transpose()
}

/// A merchant's registrations with their instances, newest first.
pub async fn registrations_of(db: &Db, merchant_id: Uuid) -> Result<Vec<RegistrationRow>, StoreError> {
    registration::Entity::find()
        .filter(registration::Column::MerchantId.eq(merchant_id))
        .find_also_related(instance::Entity)
        .order_by_desc(registration::Column::CreatedAt)
        .all(db)
        .await?
        .into_iter()
        .map(with_instance)
        .collect()
}

/// Whether merchant `merchant_id` has a completed registration for `product_code`.
pub async fn completed_for(db: &Db, merchant_id: Uuid, product_code: &str) -> Result<bool, StoreError> {
    let completed = registration::Entity::find()
        .filter(registration::Column::MerchantId.eq(merchant_id))
        .inner_join(instance::Entity)
        .filter(instance::Column::State.eq(COMPLETED))
        .all(db)
        .await?;
    Ok(completed.iter().any(|row| {
        row.product_codes
            .as_array()
            .is_some_and(|codes| codes.iter().any(|code| code == product_code))
    }))
}

/// What the wallets' answers, compared with what the registration holds, come to.
pub enum Answers {
    /// Something new: the event that records it.
    Changed(Box<EventInput>),
    /// Nothing new: the note that says so in the history.
    Unchanged(Note),
}

/// Decides on registration `id`'s instance, locked, what answers just received mean
/// (`decide`), and records it with `inbound`, the call that carried them, if one did.
pub async fn record_answers(
    db: &Db,
    decider: Decider<'_>,
    id: Uuid,
    decide: impl Fn(&instance::Model) -> Answers,
    inbound: Option<inbound::Model>,
) -> Result<Option<Applied>, StoreError> {
    let clock = decider.clock;
    retry_transient(|| async {
        let txn = db.begin().await?;
        let current = lock_instance(&txn, id).await?;
        let applied = match decide(&current) {
            Answers::Changed(event) => {
                let mut event = *event;
                if let Some(call) = inbound.clone() {
                    event = event.with_inbound(call);
                }
                Some(apply_event_in(&txn, decider, id, &event, Some(&current)).await?)
            }
            Answers::Unchanged(note) => {
                record_unchanged_in(&txn, clock, id, &note, inbound.clone()).await?;
                None
            }
        };
        txn.commit().await?;
        Ok(applied)
    })
    .await
}
