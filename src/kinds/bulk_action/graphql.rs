//! The bulk action's GraphQL part (merged into the schema by `kinds::KindQueries` and
//! `KindMutations`): `bulkPreview` and `bulkAction` (viewers), `startBulkAction` (operators).

use async_graphql::{Context, ID, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};

use super::entity::action as bulk_action;
use super::use_cases as bulk;
use crate::api::graphql::console::{WorkflowFilter, operator};
use crate::api::graphql::context::{engine, graphql_error};
use crate::app::roles::AdminRole;

/// A retry or resume of every workflow a filter selected, worked item by item.
pub struct BulkAction(bulk_action::Model);

/// A workflow a bulk action could not act on, and why.
#[derive(SimpleObject)]
pub struct BulkActionFailure {
    pub workflow_id: ID,
    pub error: String,
}

#[Object]
impl BulkAction {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// RETRY or RESUME.
    async fn action(&self) -> &str {
        &self.0.action
    }
    /// RUNNING or FINISHED.
    async fn status(&self) -> &str {
        &self.0.status
    }
    /// The workflows it took when it started.
    async fn total(&self) -> i32 {
        self.0.total
    }
    async fn done(&self) -> i32 {
        self.0.done
    }
    async fn failed(&self) -> i32 {
        self.0.failed
    }
    async fn note(&self) -> &str {
        &self.0.note
    }
    async fn operator(&self) -> &str {
        &self.0.operator
    }
    /// The filter it was started with (JSON).
    async fn filter(&self) -> String {
        self.0.filter.to_string()
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn finished_at(&self) -> Option<DateTime<Utc>> {
        self.0.finished_at
    }
    /// The items that failed, with why (at most `first`, default 50, up to 500).
    async fn failures(&self, ctx: &Context<'_>, first: Option<i32>) -> Result<Vec<BulkActionFailure>> {
        let first = first.unwrap_or(50).clamp(1, 500) as u64;
        let rows = bulk::failed_items(engine(ctx), self.0.id, first)
            .await
            .map_err(graphql_error)?;
        Ok(rows
            .into_iter()
            .map(|row| BulkActionFailure {
                workflow_id: ID(row.instance_id.to_string()),
                error: row.error.unwrap_or_default(),
            })
            .collect())
    }
}

#[derive(Default)]
pub struct BulkActionQueries;

#[Object]
impl BulkActionQueries {
    /// The exact number of workflows a bulk action started now with `filter` would take (the
    /// stuck list's filter; at most 10,000).
    async fn bulk_preview(&self, ctx: &Context<'_>, filter: WorkflowFilter) -> Result<i32> {
        operator(ctx, AdminRole::Viewer)?;
        let filter = filter.into_store()?;
        let count = bulk::preview(engine(ctx), &filter).await.map_err(graphql_error)?;
        Ok(count as i32)
    }

    async fn bulk_action(&self, ctx: &Context<'_>, id: ID) -> Result<Option<BulkAction>> {
        operator(ctx, AdminRole::Viewer)?;
        let Ok(id) = uuid::Uuid::parse_str(&id) else {
            return Ok(None);
        };
        let found = bulk::get(engine(ctx), id).await.map_err(graphql_error)?;
        Ok(found.map(BulkAction))
    }
}

#[derive(Default)]
pub struct BulkActionMutations;

#[Object]
impl BulkActionMutations {
    /// Starts `action` (RETRY or RESUME) on every workflow `filter` selects now, with `note` in
    /// each one's history: a durable batch, worked in the background (follow it with
    /// `bulkAction(id)`).
    async fn start_bulk_action(
        &self,
        ctx: &Context<'_>,
        filter: WorkflowFilter,
        action: String,
        note: String,
    ) -> Result<BulkAction> {
        let operator = operator(ctx, AdminRole::Operator)?;
        let given = filter.as_json();
        let filter = filter.into_store()?;
        let started = bulk::start(engine(ctx), operator, &filter, given, &action, &note)
            .await
            .map_err(graphql_error)?;
        Ok(BulkAction(started))
    }
}
