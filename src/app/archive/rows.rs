//! What an archived object is in the database: a payment with its refunds, disputes and customs
//! declarations (their deadlines are the payment's: refunds within 365 days, disputes within
//! 360 plus their answer windows), a bulk action with its items, an engine probe; each with
//! its workflow instances, history, outbox rows and forced-event requests. Which objects are
//! due (every instance of the object final before the cutoff, none on legal hold), their rows
//! as JSON (each column by name), and their removal, all in the caller's transaction.
//! Registrations are never archived: a merchant's registration is what lets it take payments.

use std::marker::PhantomData;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Alias, Cond, Expr, ExprTrait, Query, SelectStatement, sea_value_to_json_value};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseTransaction, DbErr, EntityTrait, IdenStatic, Iterable,
    ModelTrait, QueryFilter,
};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::kinds::bulk_action::entity::{action as bulk_action, item as bulk_item};
use crate::kinds::customs_declaration::entity as declaration;
use crate::kinds::dispute::entity as dispute;
use crate::store::entity::{force_request, history, instance, outbox, payment, payment_result, refund};

/// Kinds archived on their own (their whole object is one instance and its kind's rows).
const STANDALONE_KINDS: [&str; 2] = ["bulk_action", "engine_probe"];
/// The tables of a payment's other workflows, each row's id its instance's.
const PAYMENT_CHILDREN: [&str; 3] = ["refunds", "disputes", "customs_declarations"];

/// One object to archive: its root instance, its kind, and every instance it holds.
#[derive(Debug, Clone)]
pub struct Unit {
    pub root: Uuid,
    pub kind: String,
    pub instances: Vec<Uuid>,
}

/// Instance `alias` (its `id`) has a legal hold.
fn held(alias: &str) -> SelectStatement {
    Query::select()
        .expr(Expr::val(1))
        .from("legal_holds")
        .and_where(Expr::col(("legal_holds", "instance_id")).equals((Alias::new(alias), "id")))
        .to_owned()
}

/// A workflow of payment `i` in `table` that is not final before `cutoff`, or is held.
fn open_child(table: &'static str, cutoff: DateTime<Utc>) -> SelectStatement {
    Query::select()
        .expr(Expr::val(1))
        .from_as(table, "c")
        .inner_join(
            Alias::new("workflow_instances"),
            Expr::col(("workflow_instances", "id")).equals(("c", "id")),
        )
        .and_where(Expr::col(("c", "payment_id")).equals(("i", "id")))
        .cond_where(
            Cond::any()
                .add(Expr::col(("workflow_instances", "terminal")).eq(false))
                .add(Expr::col(("workflow_instances", "state_since")).gte(cutoff))
                .add(Expr::exists(held("workflow_instances"))),
        )
        .to_owned()
}

/// The roots (id, kind) of objects whose every instance reached a final state before `cutoff`,
/// none held.
fn due_roots(cutoff: DateTime<Utc>) -> SelectStatement {
    let mut kinds = vec!["payment"];
    kinds.extend(STANDALONE_KINDS);
    let mut roots = Query::select();
    roots
        .columns([("i", "id"), ("i", "kind")])
        .from_as("workflow_instances", "i")
        .and_where(Expr::col(("i", "kind")).is_in(kinds))
        .and_where(Expr::col(("i", "terminal")).eq(true))
        .and_where(Expr::col(("i", "state_since")).lt(cutoff))
        .and_where(Expr::exists(held("i")).not());
    for table in PAYMENT_CHILDREN {
        roots.and_where(Expr::exists(open_child(table, cutoff)).not());
    }
    roots
}

/// How many objects are due (at most `limit`), in one statement.
pub async fn due_count(db: &impl ConnectionTrait, cutoff: DateTime<Utc>, limit: u64) -> Result<u64, DbErr> {
    let count = Query::select()
        .expr_as(Expr::cust("COUNT(*)"), "n")
        .from_subquery(due_roots(cutoff).limit(limit).to_owned(), "due")
        .to_owned();
    let row = db.query_one_raw(db.get_database_backend().build(&count)).await?;
    Ok(row
        .map(|row| row.try_get::<i64>("", "n"))
        .transpose()?
        .unwrap_or(0) as u64)
}

/// Up to `limit` objects due, each with every instance it holds.
pub async fn due(db: &impl ConnectionTrait, cutoff: DateTime<Utc>, limit: u64) -> Result<Vec<Unit>, DbErr> {
    let backend = db.get_database_backend();
    let mut units = Vec::new();
    for row in db
        .query_all_raw(backend.build(due_roots(cutoff).limit(limit)))
        .await?
    {
        let (root, kind): (Uuid, String) = (row.try_get("", "id")?, row.try_get("", "kind")?);
        units.push(Unit {
            root,
            kind,
            instances: vec![root],
        });
    }
    let payments: Vec<Uuid> = units
        .iter()
        .filter(|unit| unit.kind == "payment")
        .map(|unit| unit.root)
        .collect();
    if payments.is_empty() {
        return Ok(units);
    }
    // The payments' refunds, disputes and declarations: one query per table for the batch.
    for table in PAYMENT_CHILDREN {
        let select = Query::select()
            .columns(["id", "payment_id"])
            .from(table)
            .and_where(Expr::col("payment_id").is_in(payments.clone()))
            .to_owned();
        for row in db.query_all_raw(backend.build(&select)).await? {
            let (child, payment): (Uuid, Uuid) = (row.try_get("", "id")?, row.try_get("", "payment_id")?);
            if let Some(unit) = units.iter_mut().find(|unit| unit.root == payment) {
                unit.instances.push(child);
            }
        }
    }
    Ok(units)
}

/// A table an object has rows in, and which rows.
#[async_trait::async_trait]
trait UnitTable: Send + Sync {
    fn name(&self) -> &'static str;
    /// The object's rows, each column by name.
    async fn rows(&self, db: &DatabaseTransaction, unit: &Unit) -> Result<Vec<Value>, DbErr>;
    async fn remove(&self, db: &DatabaseTransaction, unit: &Unit) -> Result<u64, DbErr>;
}

struct TableOf<E: EntityTrait> {
    /// The object's rows in the table; `None` when an object of its kind has none there.
    rows_of: fn(&Unit) -> Option<Condition>,
    entity: PhantomData<E>,
}

fn table<E: EntityTrait>(rows_of: fn(&Unit) -> Option<Condition>) -> Box<dyn UnitTable>
where
    E::Model: Sync,
{
    Box::new(TableOf::<E> {
        rows_of,
        entity: PhantomData,
    })
}

#[async_trait::async_trait]
impl<E: EntityTrait> UnitTable for TableOf<E>
where
    E::Model: Sync,
{
    fn name(&self) -> &'static str {
        E::default().table_name()
    }

    async fn rows(&self, db: &DatabaseTransaction, unit: &Unit) -> Result<Vec<Value>, DbErr> {
        let Some(condition) = (self.rows_of)(unit) else {
            return Ok(Vec::new());
        };
        let models = E::find().filter(condition).all(db).await?;
        Ok(models
            .iter()
            .map(|model| {
                let row: Map<String, Value> = E::Column::iter()
                    .map(|column| {
                        (
                            column.as_str().to_string(),
                            sea_value_to_json_value(&model.get(column)),
                        )
                    })
                    .collect();
                Value::Object(row)
            })
            .collect())
    }

    async fn remove(&self, db: &DatabaseTransaction, unit: &Unit) -> Result<u64, DbErr> {
        let Some(condition) = (self.rows_of)(unit) else {
            return Ok(0);
        };
        Ok(E::delete_many().filter(condition).exec(db).await?.rows_affected)
    }
}

fn of_payment(unit: &Unit) -> Option<Uuid> {
    (unit.kind == "payment").then_some(unit.root)
}

/// Every table an object may have rows in; the instances last (removed after what hangs on
/// them).
fn tables() -> Vec<Box<dyn UnitTable>> {
    vec![
        table::<history::Entity>(|unit| {
            Some(history::Column::InstanceId.is_in(unit.instances.clone()).into())
        }),
        table::<outbox::Entity>(|unit| Some(outbox::Column::InstanceId.is_in(unit.instances.clone()).into())),
        table::<force_request::Entity>(|unit| {
            Some(
                force_request::Column::InstanceId
                    .is_in(unit.instances.clone())
                    .into(),
            )
        }),
        table::<payment::Entity>(|unit| of_payment(unit).map(|id| payment::Column::Id.eq(id).into())),
        table::<payment_result::Entity>(|unit| {
            of_payment(unit).map(|id| payment_result::Column::PaymentId.eq(id).into())
        }),
        table::<refund::Entity>(|unit| of_payment(unit).map(|id| refund::Column::PaymentId.eq(id).into())),
        table::<dispute::Entity>(|unit| of_payment(unit).map(|id| dispute::Column::PaymentId.eq(id).into())),
        table::<declaration::Entity>(|unit| {
            of_payment(unit).map(|id| declaration::Column::PaymentId.eq(id).into())
        }),
        table::<bulk_action::Entity>(|unit| {
            (unit.kind == "bulk_action").then(|| bulk_action::Column::Id.eq(unit.root).into())
        }),
        table::<bulk_item::Entity>(|unit| {
            (unit.kind == "bulk_action").then(|| bulk_item::Column::BulkActionId.eq(unit.root).into())
        }),
        table::<instance::Entity>(|unit| Some(instance::Column::Id.is_in(unit.instances.clone()).into())),
    ]
}

/// The object as archived: `{"id", "kind", "archivedAt", "tables": {table: [row...]}}`, and
/// how many rows it holds.
pub async fn object(
    db: &DatabaseTransaction,
    unit: &Unit,
    archived_at: DateTime<Utc>,
) -> Result<(Value, u64), DbErr> {
    let mut rows_by_table = Map::new();
    let mut count = 0;
    for table in tables() {
        let rows = table.rows(db, unit).await?;
        if !rows.is_empty() {
            count += rows.len() as u64;
            rows_by_table.insert(table.name().to_string(), Value::Array(rows));
        }
    }
    let object = serde_json::json!({
        "id": unit.root.to_string(), "kind": unit.kind, "archivedAt": archived_at, "tables": rows_by_table,
    });
    Ok((object, count))
}

/// Removes every row of the object.
pub async fn remove(db: &DatabaseTransaction, unit: &Unit) -> Result<u64, DbErr> {
    let mut removed = 0;
    for table in tables() {
        removed += table.remove(db, unit).await?;
    }
    Ok(removed)
}
