//! The case kind's GraphQL part (merged by `kinds::KindQueries` / `KindMutations`):
//! `reconciliationCases` (operators, newest first, by status) and finance's `assignCase`,
//! `resolveCase`, `writeOffCase` (the `finance` role and a note each; recorded in the case's
//! history and the operators' activity).

use async_graphql::connection::{Connection, EmptyFields};
use async_graphql::{Context, ID, Object, Result};
use chrono::{DateTime, Utc};

use super::entity::Model as Case;
use super::use_cases::{self as cases, CaseAction};
use crate::api::graphql::console::{operator, record_if_operator};
use crate::api::graphql::context::{engine, graphql_error, parse_id};
use crate::api::graphql::lists;
use crate::api::graphql::reconciliation_types::{Discrepancy, DiscrepancyKind};
use crate::api::graphql::shared::Workflow;
use crate::app::operator::id_page;
use crate::app::roles::AdminRole;
use crate::store::entity::instance;

/// A discrepancy for finance to close: OPEN, INVESTIGATING, RESOLVED or WRITTEN_OFF.
pub struct ReconciliationCase(Case, instance::Model);

#[Object]
impl ReconciliationCase {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// The discrepancy as the latest run of its day showed it.
    async fn discrepancy(&self) -> Discrepancy {
        let case = &self.0;
        Discrepancy {
            kind: DiscrepancyKind::of(&case.kind),
            reference: case.reference.clone(),
            ours: case.ours.clone(),
            theirs: case.theirs.clone(),
            detail: case.detail.clone(),
            file: case.file.clone(),
            line: case.line,
        }
    }
    async fn status(&self, ctx: &Context<'_>) -> String {
        let workflow = &self.1;
        engine(ctx)
            .definitions
            .get(&workflow.kind, workflow.definition_version as u32)
            .and_then(|definition| definition.state(&workflow.state))
            .map_or_else(|| workflow.state.to_uppercase(), |state| state.status.clone())
    }
    /// The finance operator on it.
    async fn owner(&self) -> Option<&str> {
        self.0.owner.as_deref()
    }
    async fn due_at(&self) -> DateTime<Utc> {
        self.0.due_at
    }
    /// The run's report date (YYYYMMDD), kind (CLEARING or SETTLEMENT) and agreement.
    async fn report_date(&self) -> &str {
        &self.0.report_date
    }
    async fn run_kind(&self) -> &str {
        &self.0.run_kind
    }
    async fn agreement_id(&self) -> &str {
        &self.0.agreement_id
    }
    /// The latest run that showed it.
    async fn run_id(&self) -> ID {
        ID(self.0.run_id.to_string())
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// Its workflow, with its history (who did what, with which note, which run closed it).
    async fn workflow(&self) -> Workflow {
        Workflow::of(self.1.clone())
    }
}

#[derive(Default)]
pub struct CaseQueries;

#[Object]
impl CaseQueries {
    /// Reconciliation cases, newest first, of `status` (OPEN, INVESTIGATING, RESOLVED,
    /// WRITTEN_OFF) if given (Relay connection, `first` at most 100).
    #[graphql(complexity = "crate::api::graphql::limits::page_cost(first, child_complexity)")]
    async fn reconciliation_cases(
        &self,
        ctx: &Context<'_>,
        status: Option<String>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Connection<String, ReconciliationCase, EmptyFields, EmptyFields>> {
        operator(ctx, AdminRole::Viewer)?;
        let (first, after_id) = id_page(first, after.as_deref()).map_err(graphql_error)?;
        let (rows, more) = cases::list(engine(ctx), status.as_deref(), first, after_id)
            .await
            .map_err(graphql_error)?;
        Ok(lists::page(rows, more, after.is_some(), |(case, workflow)| {
            (case.id.to_string(), ReconciliationCase(case, workflow))
        }))
    }
}

#[derive(Default)]
pub struct CaseMutations;

async fn act(
    ctx: &Context<'_>,
    id: &ID,
    action: CaseAction,
    note: &str,
    owner: Option<&str>,
) -> Result<ReconciliationCase> {
    let operator = operator(ctx, AdminRole::Finance)?;
    let (case, workflow) = cases::act(engine(ctx), operator, parse_id(id)?, action, note, owner)
        .await
        .map_err(graphql_error)?;
    let name = match action {
        CaseAction::Assign => "assignCase",
        CaseAction::Resolve => "resolveCase",
        CaseAction::WriteOff => "writeOffCase",
    };
    record_if_operator(ctx, name, &[id.to_string()], note).await?;
    Ok(ReconciliationCase(case, workflow))
}

#[Object]
impl CaseMutations {
    /// Gives case `id` to `owner` (an operator whose key has the finance role), with a note:
    /// the case is INVESTIGATING.
    async fn assign_case(
        &self,
        ctx: &Context<'_>,
        id: ID,
        owner: String,
        note: String,
    ) -> Result<ReconciliationCase> {
        act(ctx, &id, CaseAction::Assign, &note, Some(&owner)).await
    }
    /// Closes case `id` as RESOLVED, with a note saying how.
    async fn resolve_case(&self, ctx: &Context<'_>, id: ID, note: String) -> Result<ReconciliationCase> {
        act(ctx, &id, CaseAction::Resolve, &note, None).await
    }
    /// Closes case `id` as WRITTEN_OFF (the difference is accepted), with a note saying why.
    async fn write_off_case(&self, ctx: &Context<'_>, id: ID, note: String) -> Result<ReconciliationCase> {
        act(ctx, &id, CaseAction::WriteOff, &note, None).await
    }
}
