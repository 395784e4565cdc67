//! The database's gauges at scrape time ([`crate::metrics::Gauges`]), each read by a query one
//! of the partial indexes answers (only parked, unfinished or pending rows are read, never the
//! whole table), so a scrape stays cheap at a million instances.

use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect, Statement};

use super::entity::instance;
use super::{Db, StoreError};
use crate::metrics::{Gauges, STUCK_AFTER};
use crate::workflow::Definitions;

/// The gauges now (`now_ms`), for every kind of `definitions`.
pub async fn gauges(db: &Db, definitions: &Definitions, now_ms: i64) -> Result<Gauges, StoreError> {
    let by_kind = |select: sea_orm::Select<instance::Entity>| async move {
        select
            .select_only()
            .column(instance::Column::Kind)
            .column_as(instance::Column::Id.count(), "n")
            .group_by(instance::Column::Kind)
            .into_tuple::<(String, i64)>()
            .all(db)
            .await
    };
    let parked =
        by_kind(instance::Entity::find().filter(Expr::cust(plusflow_migrations::NEEDS_ATTENTION))).await?;
    let stuck_before = chrono::DateTime::from_timestamp_millis(now_ms - STUCK_AFTER.as_millis() as i64)
        .expect("a time in range");
    let stuck = by_kind(
        instance::Entity::find()
            .filter(Expr::cust(plusflow_migrations::NOT_TERMINAL))
            .filter(instance::Column::StateSince.lt(stuck_before)),
    )
    .await?;
    let (outbox_pending, outbox_lag_seconds) = pending_outbox(db, now_ms).await?;
    let now = chrono::DateTime::from_timestamp_millis(now_ms).expect("a time in range");
    let disputes_due_within_24h =
        super::search::disputes_due(db, now, now + chrono::Duration::hours(24)).await?;
    let (webhook_endpoints_failing, _) = super::search::webhook_endpoints_failing(db).await?;
    let mut kinds: Vec<String> = definitions.iter().map(|d| d.kind.clone()).collect();
    kinds.dedup();
    Ok(Gauges {
        kinds,
        parked,
        stuck,
        outbox_pending,
        outbox_lag_seconds,
        disputes_due_within_24h,
        webhook_endpoints_failing,
    })
}

/// Effects and timers waiting to run, and how late (seconds) the oldest due one is at `now_ms`
/// (the partial index of pending rows).
pub async fn pending_outbox(db: &Db, now_ms: i64) -> Result<(i64, f64), StoreError> {
    let outbox = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            format!(
                "SELECT COUNT(*) AS n, MIN(CASE WHEN due_at_ms <= {now_ms} THEN due_at_ms END) AS oldest_due \
                 FROM outbox WHERE status = 'pending' AND due_at_ms IS NOT NULL"
            ),
        ))
        .await?;
    let (pending, oldest_due) = match outbox {
        Some(row) => (
            row.try_get::<i64>("", "n")?,
            row.try_get::<Option<i64>>("", "oldest_due")?,
        ),
        None => (0, None),
    };
    Ok((
        pending,
        oldest_due.map_or(0.0, |due| (now_ms - due).max(0) as f64 / 1000.0),
    ))
}
