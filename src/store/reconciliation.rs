//! Reconciliation rows (runs and their discrepancies), and the reads a run makes of our
//! records: payments and refunds by request id, a batch at a time, and the ones that succeeded
//! in a clearing cycle, a page at a time by id, so memory does not grow with the day.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, EntityTrait, JoinType, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, Select,
};
use uuid::Uuid;

use super::StoreError;
use super::entity::{
    instance, payment, payment_result, reconciliation_discrepancy as discrepancy, reconciliation_run as run,
    refund,
};
use crate::store::Db;

/// A payment or refund of ours, as a reconciliation compares it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OurRecord {
    pub id: Uuid,
    pub request_id: String,
    pub amount: i64,
    pub currency: String,
    /// The currency it settles in (a payment's settlement currency, else its own).
    pub settles_in: String,
    /// Its workflow state (`succeeded`, `failed`, `awaiting_customer`...).
    pub state: String,
    pub terminal: bool,
    /// Since when it is in that state.
    pub state_since: Option<DateTime<Utc>>,
    /// A payment's wallet (`pspId`) and what it settles for in its settlement currency, as its
    /// result stated them (none for a refund).
    pub psp_id: Option<String>,
    pub settlement: Option<(i64, String)>,
}

/// The workflow state of a succeeded payment or refund.
pub const SUCCEEDED: &str = "succeeded";

type Row = (
    Uuid,
    String,
    i64,
    String,
    Option<String>,
    String,
    bool,
    Option<DateTime<Utc>>,
    Option<String>,
    Option<i64>,
    Option<String>,
);

fn our_record(
    (
        id,
        request_id,
        amount,
        currency,
        settles_in,
        state,
        terminal,
        state_since,
        psp_id,
        settlement_value,
        settlement_currency,
    ): Row,
) -> OurRecord {
    OurRecord {
        settles_in: settles_in.unwrap_or_else(|| currency.clone()),
        id,
        request_id,
        amount,
        currency,
        state,
        terminal,
        state_since,
        psp_id,
        settlement: settlement_value.zip(settlement_currency),
    }
}

/// What a run reads of payments (a [`Row`] each).
fn payments() -> Select<payment::Entity> {
    payment::Entity::find()
        .select_only()
        .column(payment::Column::Id)
        .column(payment::Column::PaymentRequestId)
        .column(payment::Column::Amount)
        .column(payment::Column::Currency)
        .column(payment::Column::SettlementCurrency)
        .inner_join(instance::Entity)
        .column(instance::Column::State)
        .column(instance::Column::Terminal)
        .column(instance::Column::StateSince)
        .join(
            JoinType::LeftJoin,
            payment::Entity::belongs_to(payment_result::Entity)
                .from(payment::Column::Id)
                .to(payment_result::Column::PaymentId)
                .into(),
        )
        .column(payment_result::Column::PspId)
        .column(payment_result::Column::SettlementValue)
        .column(payment_result::Column::SettlementCurrency)
}

/// What a run reads of refunds (a [`Row`] each; a refund settles in its payment's settlement
/// currency).
fn refunds() -> Select<refund::Entity> {
    refund::Entity::find()
        .select_only()
        .column(refund::Column::Id)
        .column(refund::Column::RefundRequestId)
        .column(refund::Column::Amount)
        .column(refund::Column::Currency)
        .join(JoinType::InnerJoin, refund_payment())
        .column_as(settlement_currency(), "settles_in")
        .inner_join(instance::Entity)
        .column(instance::Column::State)
        .column(instance::Column::Terminal)
        .column(instance::Column::StateSince)
        .column_as(Expr::cust("CAST(NULL AS TEXT)"), "psp_id")
        .column_as(Expr::cust("CAST(NULL AS BIGINT)"), "settlement_value")
        .column_as(Expr::cust("CAST(NULL AS TEXT)"), "settlement_currency")
}

async fn records<E: EntityTrait>(db: &Db, select: Select<E>) -> Result<Vec<OurRecord>, StoreError> {
    let rows: Vec<Row> = select.into_tuple().all(db).await?;
    Ok(rows.into_iter().map(our_record).collect())
}

/// Our payments with these `paymentRequestId`s.
pub async fn payments_by_request_id(db: &Db, request_ids: &[&str]) -> Result<Vec<OurRecord>, StoreError> {
    let select = payments().filter(payment::Column::PaymentRequestId.is_in(request_ids.iter().copied()));
    records(db, select).await
}

/// Our refunds with these `refundRequestId`s.
pub async fn refunds_by_request_id(db: &Db, request_ids: &[&str]) -> Result<Vec<OurRecord>, StoreError> {
    let select = refunds().filter(refund::Column::RefundRequestId.is_in(request_ids.iter().copied()));
    records(db, select).await
}

/// Whether `kind`'s records settling in `currency` count as succeeded in `[from, to)` (when
/// plusflow learnt it: the instance entered `succeeded`).
fn succeeded_in(currency: &str, (from, to): (DateTime<Utc>, DateTime<Utc>)) -> Condition {
    Condition::all()
        .add(instance::Column::State.eq(SUCCEEDED))
        .add(instance::Column::StateSince.gte(from))
        .add(instance::Column::StateSince.lt(to))
        .add(settlement_currency().eq(currency))
}

/// The currency a payment (joined) settles in: its settlement currency, else its own. A refund
/// settles in its payment's.
fn settlement_currency() -> Expr {
    Expr::col((payment::Entity, payment::Column::SettlementCurrency))
        .if_null(Expr::col((payment::Entity, payment::Column::Currency)))
}

/// A refund's payment.
fn refund_payment() -> sea_orm::RelationDef {
    refund::Entity::belongs_to(payment::Entity)
        .from(refund::Column::PaymentId)
        .to(payment::Column::Id)
        .into()
}

/// How many payments or refunds (`kind`) settling in `currency` succeeded in `cycle`.
pub async fn count_succeeded_between(
    db: &Db,
    kind: &str,
    currency: &str,
    cycle: (DateTime<Utc>, DateTime<Utc>),
) -> Result<u64, StoreError> {
    let condition = succeeded_in(currency, cycle);
    Ok(if kind == "refund" {
        refund::Entity::find()
            .inner_join(instance::Entity)
            .join(JoinType::InnerJoin, refund_payment())
            .filter(condition)
            .count(db)
            .await?
    } else {
        payment::Entity::find()
            .inner_join(instance::Entity)
            .filter(condition)
            .count(db)
            .await?
    })
}

/// Payments or refunds (`kind`) settling in `currency` that succeeded in `cycle`, at most
/// `limit` with ids after `after`, in id order.
pub async fn succeeded_between(
    db: &Db,
    kind: &str,
    currency: &str,
    cycle: (DateTime<Utc>, DateTime<Utc>),
    after: Option<Uuid>,
    limit: u64,
) -> Result<Vec<OurRecord>, StoreError> {
    let condition = succeeded_in(currency, cycle);
    if kind == "refund" {
        let mut select = refunds().filter(condition);
        if let Some(after) = after {
            select = select.filter(refund::Column::Id.gt(after));
        }
        records(db, select.order_by_asc(refund::Column::Id).limit(limit)).await
    } else {
        let mut select = payments().filter(condition);
        if let Some(after) = after {
            select = select.filter(payment::Column::Id.gt(after));
        }
        records(db, select.order_by_asc(payment::Column::Id).limit(limit)).await
    }
}

/// The run of these very files, if there is one.
pub async fn run_of_files(
    db: &Db,
    report_date: &str,
    agreement_id: &str,
    content_hash: &str,
) -> Result<Option<run::Model>, StoreError> {
    Ok(run::Entity::find()
        .filter(run::Column::ReportDate.eq(report_date))
        .filter(run::Column::AgreementId.eq(agreement_id))
        .filter(run::Column::ContentHash.eq(content_hash))
        .one(db)
        .await?)
}

/// The current (not superseded) finished run of `kind` of a date and agreement, if any.
pub async fn current_run(
    db: &Db,
    report_date: &str,
    agreement_id: &str,
    kind: &str,
) -> Result<Option<run::Model>, StoreError> {
    Ok(run::Entity::find()
        .filter(run::Column::ReportDate.eq(report_date))
        .filter(run::Column::AgreementId.eq(agreement_id))
        .filter(run::Column::Kind.eq(kind))
        .filter(run::Column::SupersededBy.is_null())
        .filter(run::Column::FinishedAt.is_not_null())
        .order_by_desc(run::Column::StartedAt)
        .one(db)
        .await?)
}

/// The current finished clearing run of an agreement's clearing batch, if it was reconciled.
pub async fn clearing_run_of_batch(
    db: &Db,
    agreement_id: &str,
    clearing_batch_id: &str,
) -> Result<Option<run::Model>, StoreError> {
    Ok(run::Entity::find()
        .filter(run::Column::AgreementId.eq(agreement_id))
        .filter(run::Column::ClearingBatchId.eq(clearing_batch_id))
        .filter(run::Column::Kind.eq(run::CLEARING))
        .filter(run::Column::SupersededBy.is_null())
        .filter(run::Column::FinishedAt.is_not_null())
        .order_by_desc(run::Column::StartedAt)
        .one(db)
        .await?)
}

/// Records a new run, unless the same files' run was recorded meanwhile (by another process):
/// then that one.
pub async fn insert_run(db: &Db, new: run::Model) -> Result<(run::Model, bool), StoreError> {
    let conflict = OnConflict::columns([
        run::Column::ReportDate,
        run::Column::AgreementId,
        run::Column::ContentHash,
    ])
    .do_nothing()
    .to_owned();
    let inserted = run::Entity::insert(run::ActiveModel::from(new.clone()))
        .on_conflict(conflict)
        .exec_without_returning(db)
        .await?;
    if inserted == 1 {
        return Ok((new, true));
    }
    let existing = run_of_files(db, &new.report_date, &new.agreement_id, &new.content_hash)
        .await?
        .ok_or(StoreError::Conflict)?;
    Ok((existing, false))
}

/// Appends discrepancies of a run.
pub async fn insert_discrepancies(db: &Db, rows: Vec<discrepancy::Model>) -> Result<(), StoreError> {
    if rows.is_empty() {
        return Ok(());
    }
    let models = rows.into_iter().map(|row| discrepancy::ActiveModel {
        id: sea_orm::ActiveValue::NotSet,
        ..discrepancy::ActiveModel::from(row)
    });
    discrepancy::Entity::insert_many(models)
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// Forgets what an abandoned run found, before it is run again.
pub async fn delete_discrepancies(db: &Db, run_id: Uuid) -> Result<(), StoreError> {
    discrepancy::Entity::delete_many()
        .filter(discrepancy::Column::RunId.eq(run_id))
        .exec(db)
        .await?;
    Ok(())
}

/// Records the end of `finished` (and that it replaces `finished.supersedes`, if it does).
pub async fn finish_run(db: &impl sea_orm::ConnectionTrait, finished: &run::Model) -> Result<(), StoreError> {
    run::Entity::update(run::ActiveModel::from(finished.clone()).reset_all())
        .exec(db)
        .await?;
    if let Some(earlier) = finished.supersedes {
        run::Entity::update_many()
            .col_expr(run::Column::SupersededBy, Expr::value(finished.id))
            .filter(run::Column::Id.eq(earlier))
            .exec(db)
            .await?;
    }
    Ok(())
}

/// Runs newest first (ids are time-ordered), `limit` of them after the run `after`.
pub async fn runs(db: &Db, after: Option<Uuid>, limit: u64) -> Result<Vec<run::Model>, StoreError> {
    let mut query = run::Entity::find();
    if let Some(after) = after {
        query = query.filter(run::Column::Id.lt(after));
    }
    Ok(query.order_by_desc(run::Column::Id).limit(limit).all(db).await?)
}

pub async fn run(db: &Db, id: Uuid) -> Result<Option<run::Model>, StoreError> {
    Ok(run::Entity::find_by_id(id).one(db).await?)
}

/// A run's discrepancies in the order found, `limit` of them after `after`, of `kind` if given.
pub async fn discrepancies(
    db: &Db,
    run_id: Uuid,
    kind: Option<&str>,
    after: Option<i64>,
    limit: u64,
) -> Result<Vec<discrepancy::Model>, StoreError> {
    let mut query = discrepancy::Entity::find().filter(discrepancy::Column::RunId.eq(run_id));
    if let Some(kind) = kind {
        query = query.filter(discrepancy::Column::Kind.eq(kind));
    }
    if let Some(after) = after {
        query = query.filter(discrepancy::Column::Id.gt(after));
    }
    Ok(query
        .order_by_asc(discrepancy::Column::Id)
        .limit(limit)
        .all(db)
        .await?)
}

/// The current runs (not superseded) of the latest report dates, newest date first, at most
/// `limit` (runs are few: a handful a day).
pub async fn current_runs(db: &Db, limit: u64) -> Result<Vec<run::Model>, StoreError> {
    Ok(run::Entity::find()
        .filter(run::Column::SupersededBy.is_null())
        .order_by_desc(run::Column::ReportDate)
        .order_by_desc(run::Column::Id)
        .limit(limit)
        .all(db)
        .await?)
}
