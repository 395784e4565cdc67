//! Customs declaration rows, and the rules that keep them within what may be declared, checked
//! in the transaction that records a declaration with its payment's instance locked (refunds
//! lock it too), so concurrent declarations of one payment are decided one after the other:
//! the sum of its live declarations (every one not rejected) never exceeds the declarable
//! amount; a whole-payment declaration is the only live one; split parts name distinct
//! sub-orders. And the claim that batches inquiries: a declaration is asked about at most once
//! per gap, by whichever effect claims it first.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, QueryTrait,
};
use uuid::Uuid;

use crate::kinds::customs_declaration::entity as declaration;
use crate::kinds::refund::rows::reserved_in;
use crate::store::Db;
use crate::store::Decider;
use crate::store::entity::instance;
use crate::store::event::Applied;
use crate::store::idempotency::{IdempotencyKey, KeyUse, Repeated, repeated_in, use_key_in};
use crate::store::instance_write::lock_instance;
use crate::store::start::{NewInstance, StartPlan};
use crate::store::{StoreError, retry_transient, with_instance};

/// The most inquireDeclarationRequests takes in one call (ALIPAYPLUS.md 6).
pub const INQUIRY_BATCH: usize = 10;
/// The most declarations one execution claims (and asks about, 10 a call).
pub const MAX_CLAIM: u64 = 100;

/// The PostgreSQL advisory lock key that serialises inquiry claims (plusflow's only one).
const INQUIRY_CLAIM_LOCK: i64 = 0x706c_7573_6375_7374; // "pluscust"

/// Workflow states of a declaration customs has not decided yet, that inquiries ask about.
pub const AWAITING_CUSTOMS: [&str; 2] = ["submitted", "processing"];

/// A declaration and its workflow instance.
pub type DeclarationRow = (declaration::Model, instance::Model);

/// What may be declared of a payment: `customs_amount` (Alipay+'s `customsDeclarationAmount`,
/// CNY) of a payment of `paid`, reduced in proportion to what its refunds hold. UNCONFIRMED:
/// the digest does not say how refunds reduce it; in proportion is the conservative reading
/// (a full refund leaves nothing to declare).
#[derive(Debug, Clone, Copy)]
pub struct Declarable {
    pub customs_amount: i64,
    pub paid: i64,
}

impl Declarable {
    fn after_refunds(self, refunds_held: i64) -> i64 {
        let left = (self.paid - refunds_held).max(0) as i128;
        (self.customs_amount as i128 * left / self.paid.max(1) as i128) as i64
    }
}

/// What recording a declaration came to.
#[derive(Debug)]
pub enum DeclarationCreation {
    Created(Box<Applied>),
    /// The idempotency key was used before; nothing was written.
    KeyUsedBefore(KeyUse),
    /// The amount does not fit in what is left to declare; nothing was written.
    Exceeds {
        declarable: i64,
    },
    /// The split rules refuse it (the reason); nothing was written.
    Refused(String),
}

/// What is left to declare of a payment: the declarable amount less its live declarations,
/// nothing when refunds made since leave less than was declared.
pub async fn declarable_left(db: &Db, payment_id: Uuid, basis: Declarable) -> Result<i64, StoreError> {
    let left = left_in(db, payment_id, basis, &live_in(db, payment_id).await?).await?;
    Ok(left.max(0))
}

async fn left_in(
    txn: &impl ConnectionTrait,
    payment_id: Uuid,
    basis: Declarable,
    live: &[declaration::Model],
) -> Result<i64, StoreError> {
    let declared: i64 = live.iter().map(|d| d.amount).sum();
    Ok(basis.after_refunds(reserved_in(txn, payment_id).await?) - declared)
}

/// A payment's declarations that count: every one not rejected.
async fn live_in(
    txn: &impl ConnectionTrait,
    payment_id: Uuid,
) -> Result<Vec<declaration::Model>, StoreError> {
    Ok(declaration::Entity::find()
        .filter(declaration::Column::PaymentId.eq(payment_id))
        .find_also_related(instance::Entity)
        .all(txn)
        .await?
        .into_iter()
        .filter(|(_, instance)| instance.as_ref().is_none_or(|i| i.state != "rejected"))
        .map(|(row, _)| row)
        .collect())
}

/// Records `new` (its id becomes its instance's) with its workflow instance and idempotency
/// key, if the rules allow it.
pub async fn create_declaration(
    db: &Db,
    decider: Decider<'_>,
    key: IdempotencyKey<'_>,
    new: &declaration::Model,
    basis: Declarable,
    new_instance: &NewInstance,
) -> Result<DeclarationCreation, StoreError> {
    let clock = decider.clock;
    retry_transient(|| async {
        let txn = db.begin().await?;
        lock_instance(&txn, new.payment_id).await?;
        let plan = StartPlan::new(decider, "customs_declaration", new_instance)?;
        let key_use = use_key_in(&txn, clock, &key, plan.instance_id()).await?;
        if key_use != KeyUse::First {
            txn.rollback().await?;
            return Ok(DeclarationCreation::KeyUsedBefore(key_use));
        }
        let live = live_in(&txn, new.payment_id).await?;
        let refusal = if let Some(whole) = live.iter().find(|d| !d.split) {
            Some(format!(
                "the payment is declared whole already ({}); reject it before declaring again",
                whole.customs_declaration_request_id
            ))
        } else if !new.split && !live.is_empty() {
            Some("the payment has split declarations: declare the rest with split = true".into())
        } else {
            live.iter()
                .find(|d| new.split && d.sub_order_id == new.sub_order_id)
                .map(|d| {
                    format!(
                        "sub-order {} is declared already ({})",
                        d.sub_order_id.as_deref().unwrap_or_default(),
                        d.customs_declaration_request_id
                    )
                })
        };
        if let Some(refusal) = refusal {
            txn.rollback().await?;
            return Ok(DeclarationCreation::Refused(refusal));
        }
        let left = left_in(&txn, new.payment_id, basis, &live).await?;
        if new.amount > left {
            txn.rollback().await?;
            return Ok(DeclarationCreation::Exceeds { declarable: left });
        }
        let applied = plan.write_in(&txn).await?;
        let row = declaration::Model {
            id: applied.instance.id,
            ..new.clone()
        };
        declaration::Entity::insert(declaration::ActiveModel::from(row))
            .exec_without_returning(&txn)
            .await?;
        txn.commit().await?;
        Ok(DeclarationCreation::Created(Box::new(applied)))
    })
    .await
}

/// A declaration with its instance.
pub async fn declaration_with_instance(db: &Db, id: Uuid) -> Result<Option<DeclarationRow>, StoreError> {
    crate::store::row_with_instance::<declaration::Entity>(db, id).await
}

/// A payment's declarations with their instances, oldest first.
pub async fn declarations_of(db: &Db, payment_id: Uuid) -> Result<Vec<DeclarationRow>, StoreError> {
    declaration::Entity::find()
        .filter(declaration::Column::PaymentId.eq(payment_id))
        .find_also_related(instance::Entity)
        .order_by_asc(declaration::Column::CreatedAt)
        .all(db)
        .await?
        .into_iter()
        .map(with_instance)
        .collect()
}

/// Claims declaration `first` if nobody asked about it since `first_asked_before`, and up to
/// `MAX_CLAIM - 1` others awaiting customs that nobody asked about since `others_asked_before`
/// (a later time, so declarations asked about a moment apart join one round), one claim at a
/// time, so two executions never claim the same declaration nor split a round. The
/// declarations claimed, `first` first; none unless `first` was.
pub async fn claim_inquiry_batch(
    db: &Db,
    first: Uuid,
    first_asked_before: DateTime<Utc>,
    others_asked_before: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Vec<declaration::Model>, StoreError> {
    let not_asked_since = |cutoff: DateTime<Utc>| {
        Condition::any()
            .add(declaration::Column::InquiredAt.is_null())
            .add(declaration::Column::InquiredAt.lte(cutoff))
    };
    // One claim at a time (on PostgreSQL a transaction-scoped advisory lock; SQLite has one
    // writer anyway): an execution waking a moment after another finds the batch taken.
    let txn = db.begin().await?;
    if db.get_database_backend() == sea_orm::DbBackend::Postgres {
        use sea_orm::ConnectionTrait;
        txn.execute_unprepared(&format!("SELECT pg_advisory_xact_lock({INQUIRY_CLAIM_LOCK})"))
            .await?;
    }
    let claimed_first = declaration::Entity::update_many()
        .col_expr(declaration::Column::InquiredAt, Expr::value(now))
        .filter(declaration::Column::Id.eq(first))
        .filter(not_asked_since(first_asked_before))
        .exec(&txn)
        .await?
        .rows_affected
        == 1;
    if !claimed_first {
        txn.rollback().await?;
        return Ok(vec![]);
    }
    use sea_orm::sea_query::ExprTrait;
    let awaiting = sea_orm::sea_query::Query::select()
        .column((declaration::Entity, declaration::Column::Id))
        .from(declaration::Entity)
        .inner_join(
            instance::Entity,
            Expr::col((instance::Entity, instance::Column::Id))
                .equals((declaration::Entity, declaration::Column::Id)),
        )
        .and_where(Expr::col((instance::Entity, instance::Column::State)).is_in(AWAITING_CUSTOMS))
        .and_where(Expr::col((declaration::Entity, declaration::Column::Id)).ne(first))
        .cond_where(not_asked_since(others_asked_before))
        .limit(MAX_CLAIM - 1)
        .to_owned();
    let mut rows = declaration::Entity::update_many()
        .col_expr(declaration::Column::InquiredAt, Expr::value(now))
        .filter(declaration::Column::Id.in_subquery(awaiting))
        .filter(not_asked_since(others_asked_before))
        .exec_with_returning(&txn)
        .await?;
    if let Some(first) = declaration::Entity::find_by_id(first).one(&txn).await? {
        rows.insert(0, first);
    }
    txn.commit().await?;
    Ok(rows)
}

/// What a re-declaration came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Redeclared {
    /// Recorded, and `redeclared` applied (the declaration is sent again).
    Recorded,
    /// The idempotency key was used with this very change: nothing more was written.
    SameKeyBefore,
    /// The idempotency key was used with another request: nothing was written.
    KeyReused,
    /// The rules refuse it (why): nothing was written.
    Refused(String),
}

/// Replaces declaration `id`'s declared fields with `changed` (same request id) and applies
/// `redeclared` (actor `actor`), in one transaction with the idempotency key and the payment's
/// and the declaration's instances locked (in that order), if customs has not decided yet, the
/// declaration is at least `min_age` old and the amount is not raised.
#[allow(clippy::too_many_arguments)]
pub async fn redeclare(
    db: &Db,
    decider: Decider<'_>,
    key: IdempotencyKey<'_>,
    changed: &declaration::Model,
    min_age: chrono::Duration,
    actor: &str,
) -> Result<Redeclared, StoreError> {
    let clock = decider.clock;
    retry_transient(|| async {
        let txn = db.begin().await?;
        lock_instance(&txn, changed.payment_id).await?;
        let current = lock_instance(&txn, changed.id).await?;
        if let Some(repeated) = repeated_in(&txn, clock, &key, changed.id).await? {
            txn.rollback().await?;
            return Ok(match repeated {
                Repeated::SameRequest => Redeclared::SameKeyBefore,
                Repeated::OtherRequest => Redeclared::KeyReused,
            });
        }
        let earlier = declaration::Entity::find_by_id(changed.id)
            .one(&txn)
            .await?
            .ok_or(StoreError::NotFound(changed.id))?;
        let refusal = if !AWAITING_CUSTOMS.contains(&current.state.as_str()) {
            Some(format!(
                "only a declaration customs has not decided, and Alipay+ has taken, is declared again (this one is {})",
                current.state
            ))
        } else if clock.now() - earlier.created_at < min_age {
            Some(format!(
                "a declaration is declared again at least {} minutes after it was made",
                min_age.num_minutes()
            ))
        } else if changed.amount > earlier.amount {
            Some("a declaration declared again may not declare more".into())
        } else {
            None
        };
        if let Some(refusal) = refusal {
            txn.rollback().await?;
            return Ok(Redeclared::Refused(refusal));
        }
        let row = declaration::Model {
            inquired_at: None,
            ..changed.clone()
        };
        declaration::Entity::update(declaration::ActiveModel::from(row).reset_all())
            .exec(&txn)
            .await?;
        let event = crate::store::EventInput::new(super::names::REDECLARED, actor);
        crate::store::apply::apply_event_in(&txn, decider, changed.id, &event, Some(&current)).await?;
        txn.commit().await?;
        Ok(Redeclared::Recorded)
    })
    .await
}

/// Declarations still holding a buyer's identity whose instance reached a final state (customs
/// decided, or Alipay+ refused) before `before`.
fn decided_with_identity(before: DateTime<Utc>) -> Condition {
    let decided = instance::Entity::find()
        .select_only()
        .column(instance::Column::Id)
        .filter(instance::Column::Kind.eq("customs_declaration"))
        .filter(instance::Column::Terminal.eq(true))
        .filter(instance::Column::StateSince.lt(before))
        .into_query();
    Condition::all()
        .add(
            Condition::any()
                .add(declaration::Column::BuyerIdNumber.is_not_null())
                .add(declaration::Column::BuyerName.is_not_null()),
        )
        .add(declaration::Column::Id.in_subquery(decided))
}

/// How many declarations [`erase_identities`] would erase the buyer's identity of.
pub async fn identities_to_erase(db: &Db, before: DateTime<Utc>) -> Result<u64, StoreError> {
    Ok(declaration::Entity::find()
        .filter(decided_with_identity(before))
        .count(db)
        .await?)
}

/// Erases the buyer's name and ID number (sealed and masked) of at most `batch` declarations
/// decided before `before`; the declarations stay. Answers how many.
pub async fn erase_identities(db: &Db, before: DateTime<Utc>, batch: u64) -> Result<u64, StoreError> {
    let chosen = declaration::Entity::find()
        .select_only()
        .column(declaration::Column::Id)
        .filter(decided_with_identity(before))
        .limit(batch)
        .into_query();
    let erased = Expr::value(Option::<String>::None);
    Ok(declaration::Entity::update_many()
        .col_expr(declaration::Column::BuyerName, erased.clone())
        .col_expr(declaration::Column::BuyerIdNumber, erased.clone())
        .col_expr(declaration::Column::BuyerNameMasked, erased.clone())
        .col_expr(declaration::Column::BuyerIdNumberMasked, erased)
        .filter(declaration::Column::Id.in_subquery(chosen))
        .exec(db)
        .await?
        .rows_affected)
}
