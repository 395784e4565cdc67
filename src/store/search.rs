//! The operators' search box and overview, read from indexes only: each id a search tries is a
//! point lookup on a unique or plain index, and each overview figure reads a partial index (the
//! parked, the unfinished), a range of `(kind, state, state_since)`, or a small table.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Query, SelectStatement};
use sea_orm::{ConnectionTrait, Statement};
use uuid::Uuid;

use super::{Db, StoreError};

/// An id a search tries: the object kind it finds, the field, and where it is looked up
/// (table, column, the column holding the object's id).
struct Lookup {
    kind: &'static str,
    field: &'static str,
    table: &'static str,
    column: &'static str,
    id_column: &'static str,
}

const LOOKUPS: [Lookup; 6] = [
    Lookup {
        kind: "payment",
        field: "paymentRequestId",
        table: "payments",
        column: "payment_request_id",
        id_column: "id",
    },
    Lookup {
        kind: "payment",
        field: "Alipay+ paymentId",
        table: "payment_results",
        column: "alipay_payment_id",
        id_column: "payment_id",
    },
    Lookup {
        kind: "refund",
        field: "refundRequestId",
        table: "refunds",
        column: "refund_request_id",
        id_column: "id",
    },
    Lookup {
        kind: "dispute",
        field: "disputeRequestId",
        table: "disputes",
        column: "dispute_request_id",
        id_column: "id",
    },
    Lookup {
        kind: "customs_declaration",
        field: "customsDeclarationRequestId",
        table: "customs_declarations",
        column: "customs_declaration_request_id",
        id_column: "id",
    },
    Lookup {
        kind: "registration",
        field: "registrationRequestId",
        table: "merchant_registrations",
        column: "registration_request_id",
        id_column: "id",
    },
];

/// What a search found: the object's kind, the field that matched, its id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub kind: &'static str,
    pub field: &'static str,
    pub id: Uuid,
}

/// At most this many objects one id can find (ids are unique but for Alipay+'s, shared by none).
const MAX_PER_LOOKUP: u64 = 5;

async fn ids(db: &Db, query: SelectStatement) -> Result<Vec<Uuid>, StoreError> {
    let statement = db.get_database_backend().build(&query);
    let rows = db.query_all_raw(statement).await?;
    rows.iter()
        .map(|row| row.try_get_by_index::<Uuid>(0).map_err(StoreError::from))
        .collect()
}

fn select(table: &'static str, id_column: &'static str) -> SelectStatement {
    Query::select()
        .column(Alias::new(id_column))
        .from(Alias::new(table))
        .limit(MAX_PER_LOOKUP)
        .to_owned()
}

/// Everything `text` is an id of: a workflow's or merchant's or event's own id (when it is a
/// UUID), each request id, Alipay+'s paymentId, and with `merchant`, a merchantOrderId.
pub async fn find(db: &Db, text: &str, merchant: Option<Uuid>) -> Result<Vec<Found>, StoreError> {
    let mut found = Vec::new();
    if let Ok(id) = Uuid::parse_str(text) {
        for (kind, field, table) in [
            ("workflow", "id", "workflow_instances"),
            ("merchant", "merchant id", "merchants"),
            ("event", "event id", "events"),
        ] {
            let query = select(table, "id")
                .and_where(Expr::col(Alias::new("id")).eq(id))
                .to_owned();
            found.extend(
                ids(db, query)
                    .await?
                    .into_iter()
                    .map(|id| Found { kind, field, id }),
            );
        }
    }
    for lookup in &LOOKUPS {
        let query = select(lookup.table, lookup.id_column)
            .and_where(Expr::col(Alias::new(lookup.column)).eq(text))
            .to_owned();
        found.extend(ids(db, query).await?.into_iter().map(|id| Found {
            kind: lookup.kind,
            field: lookup.field,
            id,
        }));
    }
    if let Some(merchant) = merchant {
        let query = select("payments", "id")
            .and_where(Expr::col(Alias::new("merchant_id")).eq(merchant))
            .and_where(Expr::col(Alias::new("merchant_order_id")).eq(text))
            .to_owned();
        found.extend(ids(db, query).await?.into_iter().map(|id| Found {
            kind: "payment",
            field: "merchantOrderId",
            id,
        }));
    }
    Ok(found)
}

/// One count of the overview: what it counts (e.g. a kind and state) and how many.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Count {
    pub kind: String,
    pub what: String,
    pub count: i64,
}

async fn counts(db: &Db, sql: &str, values: Vec<sea_orm::Value>) -> Result<Vec<Count>, StoreError> {
    let statement = Statement::from_sql_and_values(db.get_database_backend(), sql, values);
    let rows = db.query_all_raw(statement).await?;
    rows.iter()
        .map(|row| {
            Ok(Count {
                kind: row.try_get_by_index(0)?,
                what: row.try_get_by_index::<Option<String>>(1)?.unwrap_or_default(),
                count: row.try_get_by_index(2)?,
            })
        })
        .collect::<Result<_, sea_orm::DbErr>>()
        .map_err(StoreError::from)
}

/// The unfinished workflows by kind and state (the partial index of unfinished ones).
pub async fn unfinished_by_state(db: &Db) -> Result<Vec<Count>, StoreError> {
    let sql = format!(
        "SELECT kind, state, COUNT(*) FROM workflow_instances WHERE {} GROUP BY kind, state ORDER BY kind, state",
        plusflow_migrations::NOT_TERMINAL
    );
    counts(db, &sql, vec![]).await
}

/// The parked workflows by kind and reason (the partial index of parked ones).
pub async fn parked_by_reason(db: &Db) -> Result<Vec<Count>, StoreError> {
    let sql = format!(
        "SELECT kind, last_error, COUNT(*) FROM workflow_instances WHERE {} GROUP BY kind, last_error \
         ORDER BY COUNT(*) DESC, kind",
        plusflow_migrations::NEEDS_ATTENTION
    );
    counts(db, &sql, vec![]).await
}

/// How many workflows of `kind` entered `state` since `since` (a range of the
/// `(kind, state, state_since)` index).
pub async fn entered_since(
    db: &Db,
    kind: &str,
    state: &str,
    since: DateTime<Utc>,
) -> Result<i64, StoreError> {
    let query = Query::select()
        .expr(Expr::col(Alias::new("id")).count())
        .from(Alias::new("workflow_instances"))
        .and_where(Expr::col(Alias::new("kind")).eq(kind))
        .and_where(Expr::col(Alias::new("state")).eq(state))
        .and_where(Expr::col(Alias::new("state_since")).gte(since))
        .to_owned();
    let statement = db.get_database_backend().build(&query);
    let row = db.query_one_raw(statement).await?;
    Ok(row
        .map(|row| row.try_get_by_index::<i64>(0))
        .transpose()?
        .unwrap_or(0))
}

/// Unanswered disputes whose response is due between `from` and `until` (the `respond_by`
/// index, each checked unfinished).
pub async fn disputes_due(db: &Db, from: DateTime<Utc>, until: DateTime<Utc>) -> Result<i64, StoreError> {
    let sql = format!(
        "SELECT COUNT(*) FROM disputes d JOIN workflow_instances i ON i.id = d.id \
         WHERE d.respond_by >= {} AND d.respond_by < {} AND {}",
        placeholder(db, 1),
        placeholder(db, 2),
        plusflow_migrations::NOT_TERMINAL.replace("terminal", "i.terminal"),
    );
    let statement =
        Statement::from_sql_and_values(db.get_database_backend(), sql, [from.into(), until.into()]);
    let row = db.query_one_raw(statement).await?;
    Ok(row
        .map(|row| row.try_get_by_index::<i64>(0))
        .transpose()?
        .unwrap_or(0))
}

fn placeholder(db: &Db, n: usize) -> String {
    match db.get_database_backend() {
        sea_orm::DbBackend::Postgres => format!("${n}"),
        _ => "?".into(),
    }
}

/// Webhook endpoints failing now (every delivery failing since some time) and disabled, not
/// deleted (a small table).
pub async fn webhook_endpoints_failing(db: &Db) -> Result<(i64, i64), StoreError> {
    let sql = "SELECT COALESCE(SUM(CASE WHEN enabled AND failing_since IS NOT NULL THEN 1 ELSE 0 END), 0), \
               COALESCE(SUM(CASE WHEN enabled THEN 0 ELSE 1 END), 0) \
               FROM webhook_endpoints WHERE deleted_at IS NULL";
    let statement = Statement::from_string(db.get_database_backend(), sql);
    let row = db.query_one_raw(statement).await?;
    match row {
        Some(row) => Ok((row.try_get_by_index(0)?, row.try_get_by_index(1)?)),
        None => Ok((0, 0)),
    }
}

/// Up to `limit` unanswered disputes (their workflows unfinished), the nearest deadline first,
/// after `after` (the `respond_by` index), with their deadlines.
pub async fn disputes_by_deadline(
    db: &Db,
    limit: u64,
    after: Option<super::stuck::Cursor>,
) -> Result<Vec<(super::entity::instance::Model, DateTime<Utc>)>, StoreError> {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let mut query = Query::select()
        .column((Alias::new("d"), Alias::new("id")))
        .column((Alias::new("d"), Alias::new("respond_by")))
        .from_as(Alias::new("disputes"), Alias::new("d"))
        .inner_join(
            Alias::new("workflow_instances"),
            Expr::col((Alias::new("workflow_instances"), Alias::new("id")))
                .equals((Alias::new("d"), Alias::new("id"))),
        )
        .and_where(Expr::col((Alias::new("workflow_instances"), Alias::new("terminal"))).eq(false))
        .order_by((Alias::new("d"), Alias::new("respond_by")), sea_orm::Order::Asc)
        .order_by((Alias::new("d"), Alias::new("id")), sea_orm::Order::Asc)
        .limit(limit)
        .to_owned();
    if let Some(super::stuck::Cursor { at: respond_by, id }) = after {
        let later = Expr::col((Alias::new("d"), Alias::new("respond_by")))
            .gt(respond_by)
            .or(Expr::col((Alias::new("d"), Alias::new("respond_by")))
                .eq(respond_by)
                .and(Expr::col((Alias::new("d"), Alias::new("id"))).gt(id)));
        query.and_where(later);
    }
    let statement = db.get_database_backend().build(&query);
    let rows = db.query_all_raw(statement).await?;
    let due: Vec<(Uuid, DateTime<Utc>)> = rows
        .iter()
        .map(|row| Ok((row.try_get_by_index(0)?, row.try_get_by_index(1)?)))
        .collect::<Result<_, sea_orm::DbErr>>()?;
    let instances = super::entity::instance::Entity::find()
        .filter(super::entity::instance::Column::Id.is_in(due.iter().map(|(id, _)| *id)))
        .all(db)
        .await?;
    Ok(due
        .into_iter()
        .filter_map(|(id, respond_by)| {
            instances
                .iter()
                .find(|instance| instance.id == id)
                .map(|instance| (instance.clone(), respond_by))
        })
        .collect())
}
