//! The operators' activity log: a row per operator action ([`operator_activity`]), inserted in
//! the transaction of the action it records, and read newest first. Row ids are UUIDv7 of the
//! Clock's time, so the primary key (and `(operator, id)`, `(kind, id)`) orders them by time
//! and `since` is an id range.

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::{Timestamp, Uuid};

use super::StoreError;
use super::entity::operator_activity;

/// The id of a row recorded at `at`: a UUIDv7 of that time.
pub fn id_at(at: DateTime<Utc>) -> Uuid {
    Uuid::new_v7(timestamp(at))
}

fn timestamp(at: DateTime<Utc>) -> Timestamp {
    let at = at.max(DateTime::UNIX_EPOCH);
    Timestamp::from_unix(
        uuid::NoContext,
        at.timestamp() as u64,
        at.timestamp_subsec_nanos(),
    )
}

/// The smallest id a row recorded at `at` or later can have.
fn first_id_at(at: DateTime<Utc>) -> Uuid {
    let millis = at.max(DateTime::UNIX_EPOCH).timestamp_millis() as u64;
    let mut bytes = [0u8; 16];
    bytes[..6].copy_from_slice(&millis.to_be_bytes()[2..]);
    Uuid::from_bytes(bytes)
}

pub async fn insert_in(db: &impl ConnectionTrait, row: operator_activity::Model) -> Result<(), StoreError> {
    operator_activity::Entity::insert(operator_activity::ActiveModel::from(row))
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// Which actions to list (all given conditions hold).
#[derive(Debug, Clone, Default)]
pub struct ActivityFilter {
    pub operator: Option<String>,
    pub kind: Option<String>,
    pub since: Option<DateTime<Utc>>,
}

/// Up to `limit` actions matching `filter`, newest first, older than the row `before` if given.
pub async fn list(
    db: &impl ConnectionTrait,
    filter: &ActivityFilter,
    limit: u64,
    before: Option<Uuid>,
) -> Result<Vec<operator_activity::Model>, StoreError> {
    let mut select = operator_activity::Entity::find();
    if let Some(operator) = &filter.operator {
        select = select.filter(operator_activity::Column::Operator.eq(operator.clone()));
    }
    if let Some(kind) = &filter.kind {
        select = select.filter(operator_activity::Column::Kind.eq(kind.clone()));
    }
    if let Some(since) = filter.since {
        select = select
            .filter(operator_activity::Column::Id.gte(first_id_at(since)))
            .filter(operator_activity::Column::At.gte(since));
    }
    if let Some(before) = before {
        select = select.filter(operator_activity::Column::Id.lt(before));
    }
    Ok(select
        .order_by_desc(operator_activity::Column::Id)
        .limit(limit)
        .all(db)
        .await?)
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone, Utc};

    use super::{first_id_at, id_at};

    #[test]
    fn ids_follow_the_time_and_since_is_a_range_of_them() {
        let at = Utc.with_ymd_and_hms(2026, 12, 7, 12, 0, 0).unwrap();
        let earlier = id_at(at - Duration::milliseconds(1));
        let now = id_at(at);
        assert!(earlier < first_id_at(at));
        assert!(first_id_at(at) <= now);
        assert!(now < id_at(at + Duration::milliseconds(1)));
    }
}
