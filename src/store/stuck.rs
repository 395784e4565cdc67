//! What operators read: the stuck list (instances by time in their state, oldest first, with
//! the contract's filters and keyset paging, each filter served by an index of m0009) and an
//! instance's pending effects. Operators' writes are in [`super::apply`] (the one write path).

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Query};
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use super::StoreError;
use super::entity::{instance, outbox};
use crate::store::Db;

/// The tables of the objects workflows run (payments, refunds, disputes, declarations,
/// registrations): each row's id is its instance's, and it names its merchant.
const SUBJECT_TABLES: [&str; 5] = [
    "payments",
    "refunds",
    "disputes",
    "customs_declarations",
    "merchant_registrations",
];

/// Which instances an operator asks for. Without `state`, only unfinished ones, unless
/// `needs_attention` asks for the parked ones (finished or not).
#[derive(Debug, Clone, Default)]
pub struct WorkflowFilter {
    pub kind: Option<String>,
    pub state: Option<String>,
    pub needs_attention: Option<bool>,
    /// In its state at least this long.
    pub stuck_for: Option<chrono::Duration>,
    pub merchant_id: Option<Uuid>,
}

/// Where a page ordered by a time, then an id, ends: the last row's (the stuck list's: when it
/// entered its state; the dispute queue's: its deadline).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub at: DateTime<Utc>,
    pub id: Uuid,
}

impl Cursor {
    pub fn of(row: &instance::Model) -> Self {
        Self {
            at: row.state_since.unwrap_or(row.updated_at),
            id: row.id,
        }
    }

    /// `<microseconds>.<uuid>`, opaque to clients.
    pub fn encode(&self) -> String {
        format!("{}.{}", self.at.timestamp_micros(), self.id.simple())
    }

    pub fn decode(text: &str) -> Option<Self> {
        let (micros, id) = text.split_once('.')?;
        Some(Self {
            at: DateTime::from_timestamp_micros(micros.parse().ok()?)?,
            id: Uuid::parse_str(id).ok()?,
        })
    }
}

/// Up to `first` instances matching `filter`, oldest in their state first, after `after`.
pub async fn stuck_workflows(
    db: &Db,
    filter: &WorkflowFilter,
    now: DateTime<Utc>,
    first: u64,
    after: Option<Cursor>,
) -> Result<Vec<instance::Model>, StoreError> {
    Ok(stuck_query(filter, now, first, after).all(db).await?)
}

/// The query of [`stuck_workflows`] (`bench stuck` shows its plan).
pub fn stuck_query(
    filter: &WorkflowFilter,
    now: DateTime<Utc>,
    first: u64,
    after: Option<Cursor>,
) -> sea_orm::Select<instance::Entity> {
    let mut condition = Condition::all();
    // Literal conditions, as the partial indexes are written (see m0009).
    match filter.needs_attention {
        Some(true) => condition = condition.add(Expr::cust(plusflow_migrations::NEEDS_ATTENTION)),
        Some(false) => condition = condition.add(instance::Column::NeedsAttention.eq(false)),
        None => {}
    }
    // Parked instances are listed finished or not (a webhook out of attempts parks a finished
    // payment); otherwise, without a state, only unfinished ones.
    match &filter.state {
        Some(state) => condition = condition.add(instance::Column::State.eq(state.clone())),
        None if filter.needs_attention == Some(true) => {}
        None => condition = condition.add(Expr::cust(plusflow_migrations::NOT_TERMINAL)),
    }
    if let Some(kind) = &filter.kind {
        condition = condition.add(instance::Column::Kind.eq(kind.clone()));
    }
    if let Some(stuck_for) = filter.stuck_for {
        condition = condition.add(instance::Column::StateSince.lte(now - stuck_for));
    }
    if let Some(merchant) = filter.merchant_id {
        // Every kind's row has its instance's id and its merchant.
        let of_merchant = |table: &'static str| {
            Query::select()
                .column(Alias::new("id"))
                .from(Alias::new(table))
                .and_where(Expr::col(Alias::new("merchant_id")).eq(merchant))
                .to_owned()
        };
        let mut any = Condition::any();
        for table in SUBJECT_TABLES {
            any = any.add(instance::Column::Id.in_subquery(of_merchant(table)));
        }
        condition = condition.add(any);
    }
    if let Some(after) = after {
        condition = condition.add(
            Condition::any()
                .add(instance::Column::StateSince.gt(after.at))
                .add(
                    Condition::all()
                        .add(instance::Column::StateSince.eq(after.at))
                        .add(instance::Column::Id.gt(after.id)),
                ),
        );
    }
    instance::Entity::find()
        .filter(condition)
        .order_by_asc(instance::Column::StateSince)
        .order_by_asc(instance::Column::Id)
        .limit(first)
}

/// The instance's effects not done yet (pending, running or out of attempts), oldest first.
pub async fn pending_effects(db: &Db, id: Uuid) -> Result<Vec<outbox::Model>, StoreError> {
    Ok(outbox::Entity::find()
        .filter(outbox::Column::InstanceId.eq(id))
        .filter(outbox::Column::Kind.eq(outbox::KIND_EFFECT))
        .filter(outbox::Column::Status.is_in([
            outbox::STATUS_PENDING,
            outbox::STATUS_CLAIMED,
            outbox::STATUS_FAILED,
        ]))
        .order_by_asc(outbox::Column::CreatedAt)
        .all(db)
        .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_round_trips_and_garbage_is_no_cursor() {
        let cursor = Cursor {
            at: DateTime::from_timestamp_micros(1_764_000_000_123_456).unwrap(),
            id: Uuid::now_v7(),
        };
        assert_eq!(Cursor::decode(&cursor.encode()), Some(cursor));
        for garbage in [
            "",
            "abc",
            "12.not-a-uuid",
            ".",
            "x.0190f3a0-0000-7000-8000-000000000000",
        ] {
            assert_eq!(Cursor::decode(garbage), None, "{garbage}");
        }
    }
}
