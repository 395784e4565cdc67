//! Building blocks of the single-statement writes on PostgreSQL (data-modifying CTEs): bound
//! parameters, and `INSERT`s of whole entity rows that insert nothing unless an earlier CTE of
//! the statement wrote its row.

use sea_orm::{
    ConnectionTrait, DbBackend, DbErr, EntityName, EntityTrait, IdenStatic, Iterable, ModelTrait, Statement,
    Value,
};

use super::event::KeptRow;
use crate::store::Db;

/// The values bound to a statement, in `$n` order.
#[derive(Default)]
pub(super) struct Params {
    pub values: Vec<Value>,
}

impl Params {
    /// Binds `value`; its placeholder.
    pub fn bind(&mut self, value: impl Into<Value>) -> String {
        self.values.push(value.into());
        format!("${}", self.values.len())
    }
}

/// `INSERT INTO <table> (<every column>) SELECT * FROM (VALUES <rows>) ...`, inserting only
/// when `guard` (the name of an earlier CTE) returned a row.
pub(super) fn insert_if<M>(guard: &str, rows: &[M], params: &mut Params) -> String
where
    M: ModelTrait,
    <M::Entity as EntityTrait>::Column: Iterable,
{
    let (table, names, values) = rows_of(rows, params);
    guarded_insert(guard, table, &names, &values)
}

/// [`insert_if`] of a [`KeptRow`].
pub(super) fn insert_kept_if(guard: &str, row: &KeptRow, params: &mut Params) -> String {
    let names: Vec<String> = row.columns.iter().map(|name| format!("\"{name}\"")).collect();
    let cells: Vec<String> = row
        .values
        .iter()
        .map(|value| params.bind(value.clone()))
        .collect();
    let values = format!("({})", cells.join(", "));
    guarded_insert(guard, row.table, &names.join(", "), &values)
}

/// `INSERT INTO <table> (<names>) SELECT * FROM (VALUES <values>) ...`, inserting only when
/// `guard` returned a row.
fn guarded_insert(guard: &str, table: &str, names: &str, values: &str) -> String {
    format!(
        "INSERT INTO {table} ({names}) SELECT * FROM (VALUES {values}) AS new_rows ({names}) \
         WHERE EXISTS (SELECT 1 FROM {guard})"
    )
}

/// `INSERT` of `row` that inserts nothing if a row with the same key exists, and returns a row
/// only if it inserted (a guard for [`insert_if`]).
pub(super) fn insert_new<M>(row: &M, params: &mut Params) -> String
where
    M: ModelTrait,
    <M::Entity as EntityTrait>::Column: Iterable,
{
    let (table, names, values) = rows_of(std::slice::from_ref(row), params);
    format!("INSERT INTO {table} ({names}) VALUES {values} ON CONFLICT DO NOTHING RETURNING 1")
}

/// The table, the quoted column list and the bound `(...)` tuples of `rows`.
fn rows_of<M>(rows: &[M], params: &mut Params) -> (&'static str, String, String)
where
    M: ModelTrait,
    <M::Entity as EntityTrait>::Column: Iterable,
{
    let columns: Vec<_> = <M::Entity as EntityTrait>::Column::iter().collect();
    let names: Vec<String> = columns.iter().map(|c| format!("\"{}\"", c.as_str())).collect();
    let values: Vec<String> = rows
        .iter()
        .map(|row| {
            let cells: Vec<String> = columns.iter().map(|c| params.bind(row.get(*c))).collect();
            format!("({})", cells.join(", "))
        })
        .collect();
    (
        M::Entity::default().table_name(),
        names.join(", "),
        values.join(", "),
    )
}

/// Runs `sql` (one statement) with `params`; whether its final `INSERT` wrote its one row.
pub(super) async fn wrote_one_row(db: &Db, sql: String, params: Params) -> Result<bool, DbErr> {
    let done = db
        .execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            sql,
            params.values,
        ))
        .await?;
    Ok(done.rows_affected() == 1)
}
