//! The console's operator fields beyond one workflow (`console`): search by any id, the overview,
//! four eyes (force requests and their approval) and
//! the activity log. Reads need a viewer's key, a bulk action an operator's, an approval an
//! admin's (as forcing does).

use async_graphql::connection::{Connection, EmptyFields};
use async_graphql::{Context, Enum, ID, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};

use super::console::operator;
use super::context::{engine, graphql_error, parse_id};
use super::lists;
use super::reconciliation_types::ReconciliationRun;
use super::shared::Workflow;
use crate::app::roles::AdminRole;
use crate::app::{activity, four_eyes, search};
use crate::store::activity::ActivityFilter;
use crate::store::entity::{force_request, operator_activity};

/// An operator key's role (see `plusflow admin key create --role`).
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(name = "AdminRole")]
pub enum AdminRoleName {
    Viewer,
    Operator,
    Finance,
    Admin,
}

impl From<AdminRole> for AdminRoleName {
    fn from(role: AdminRole) -> Self {
        match role {
            AdminRole::Viewer => Self::Viewer,
            AdminRole::Operator => Self::Operator,
            AdminRole::Finance => Self::Finance,
            AdminRole::Admin => Self::Admin,
        }
    }
}

/// What a search found.
pub struct SearchHit(search::Hit);

#[Object]
impl SearchHit {
    /// payment, refund, dispute, customs_declaration, registration, merchant or event.
    async fn kind(&self) -> &str {
        &self.0.kind
    }
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// What it is and which id matched.
    async fn label(&self) -> &str {
        &self.0.label
    }
    /// Its workflow (an event's: the workflow whose change it announced).
    async fn workflow(&self) -> Option<Workflow> {
        self.0.workflow.clone().map(Workflow::of)
    }
}

/// A count of the overview: a kind and what is counted (a state, a reason).
#[derive(SimpleObject)]
pub struct OverviewCount {
    pub kind: String,
    /// The state, or the reason an operator is waited for.
    pub name: String,
    pub count: i64,
}

fn counts(rows: Vec<crate::store::search::Count>) -> Vec<OverviewCount> {
    rows.into_iter()
        .map(|row| OverviewCount {
            kind: row.kind,
            name: row.what,
            count: row.count,
        })
        .collect()
}

/// What an operator looks at first, each figure read from an index.
#[derive(SimpleObject)]
pub struct Overview {
    pub at: DateTime<Utc>,
    /// Unfinished workflows by kind and state.
    pub unfinished: Vec<OverviewCount>,
    /// Workflows finished in the last 24 hours by kind and final state.
    pub finished_last_day: Vec<OverviewCount>,
    /// Workflows waiting for an operator by kind and reason.
    pub parked: Vec<OverviewCount>,
    pub disputes_due_within_48_hours: i64,
    pub webhook_endpoints_failing: i64,
    pub webhook_endpoints_disabled: i64,
    pub outbox_pending: i64,
    /// How late the oldest due effect or timer is, in seconds.
    pub outbox_lag_seconds: f64,
    /// The current reconciliation run of each of the last 7 report dates (and kind).
    pub reconciliation: Vec<ReconciliationRun>,
}

/// A forced event into a money state, waiting for a second operator.
pub struct ForceRequest(force_request::Model);

#[Object]
impl ForceRequest {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn workflow(&self, ctx: &Context<'_>) -> Result<Workflow> {
        let instance = crate::store::instance(&engine(ctx).db, self.0.instance_id)
            .await
            .map_err(super::context::internal)?;
        Ok(Workflow::of(instance))
    }
    /// The event to force (snake_case).
    async fn event(&self) -> &str {
        &self.0.event
    }
    /// The state it was asked from: approved after the workflow left it, it is STALE.
    async fn from_state(&self) -> &str {
        &self.0.from_state
    }
    async fn requested_by(&self) -> &str {
        &self.0.requested_by
    }
    async fn note(&self) -> &str {
        &self.0.note
    }
    /// PENDING, APPROVED or STALE.
    async fn status(&self) -> &str {
        &self.0.status
    }
    async fn decided_by(&self) -> Option<&str> {
        self.0.decided_by.as_deref()
    }
    async fn decision_note(&self) -> Option<&str> {
        self.0.decision_note.as_deref()
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// One operator action of the activity log.
pub struct OperatorAction(operator_activity::Model);

#[Object]
impl OperatorAction {
    async fn at(&self) -> DateTime<Utc> {
        self.0.at
    }
    async fn operator(&self) -> &str {
        &self.0.operator
    }
    async fn role(&self) -> AdminRoleName {
        self.0.role.parse().unwrap_or(AdminRole::Viewer).into()
    }
    /// The mutation or command (`retryWorkflow`, `approveForce`, `startBulkAction`...).
    async fn action(&self) -> &str {
        &self.0.action
    }
    /// The kind of workflow acted on, if one.
    async fn kind(&self) -> Option<&str> {
        self.0.kind.as_deref()
    }
    async fn object_ids(&self) -> Vec<ID> {
        self.0
            .object_ids
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|id| id.as_str().map(|id| ID(id.to_string())))
            .collect()
    }
    async fn note(&self) -> &str {
        &self.0.note
    }
}

/// The operator a key belongs to.
#[derive(SimpleObject)]
pub struct CurrentOperator {
    pub name: String,
    pub role: AdminRoleName,
}

/// An unanswered dispute in the queue, with its deadline.
#[derive(SimpleObject)]
pub struct DueDispute {
    pub respond_by: DateTime<Utc>,
    pub workflow: Workflow,
}

#[derive(Default)]
pub struct OperationsQueries;

#[Object]
impl OperationsQueries {
    /// Who this key is: the operator's name and role (the console shows it and offers only what
    /// the role may do).
    async fn current_operator(&self, ctx: &Context<'_>) -> Result<CurrentOperator> {
        let operator = operator(ctx, AdminRole::Viewer)?;
        Ok(CurrentOperator {
            name: operator.name.clone(),
            role: operator.role.into(),
        })
    }

    /// Unanswered disputes, the nearest response deadline first.
    #[graphql(complexity = "super::limits::page_cost(first, child_complexity)")]
    async fn dispute_queue(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Connection<String, DueDispute, EmptyFields, EmptyFields>> {
        operator(ctx, AdminRole::Viewer)?;
        let (rows, more) = search::dispute_queue(engine(ctx), first, after.as_deref())
            .await
            .map_err(graphql_error)?;
        Ok(lists::page(
            rows,
            more,
            after.is_some(),
            |(instance, respond_by)| {
                (
                    search::deadline_cursor(respond_by, instance.id),
                    DueDispute {
                        respond_by,
                        workflow: Workflow::of(instance),
                    },
                )
            },
        ))
    }

    /// Every object `text` is an id of: ours, paymentRequestId, Alipay+'s paymentId,
    /// refundRequestId, disputeRequestId, customsDeclarationRequestId, registrationRequestId, an
    /// event's id; a merchantOrderId with `merchantId` (or typed `<merchant id> <order id>`).
    async fn search(
        &self,
        ctx: &Context<'_>,
        text: String,
        merchant_id: Option<ID>,
    ) -> Result<Vec<SearchHit>> {
        operator(ctx, AdminRole::Viewer)?;
        let merchant = merchant_id.map(|id| parse_id(&id)).transpose()?;
        let hits = search::search(engine(ctx), &text, merchant)
            .await
            .map_err(graphql_error)?;
        Ok(hits.into_iter().map(SearchHit).collect())
    }

    async fn overview(&self, ctx: &Context<'_>) -> Result<Overview> {
        operator(ctx, AdminRole::Viewer)?;
        let seen = search::overview(engine(ctx)).await.map_err(graphql_error)?;
        Ok(Overview {
            at: seen.at,
            unfinished: counts(seen.unfinished),
            finished_last_day: counts(seen.finished_last_day),
            parked: counts(seen.parked),
            disputes_due_within_48_hours: seen.disputes_due_within_48_hours,
            webhook_endpoints_failing: seen.webhook_endpoints_failing,
            webhook_endpoints_disabled: seen.webhook_endpoints_disabled,
            outbox_pending: seen.outbox_pending,
            outbox_lag_seconds: seen.outbox_lag_seconds,
            reconciliation: seen.reconciliation.into_iter().map(ReconciliationRun).collect(),
        })
    }

    /// Forced events waiting for (or given) a second operator's approval, newest first.
    #[graphql(complexity = "super::limits::page_cost(first, child_complexity)")]
    async fn force_requests(
        &self,
        ctx: &Context<'_>,
        status: Option<String>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Connection<String, ForceRequest, EmptyFields, EmptyFields>> {
        operator(ctx, AdminRole::Viewer)?;
        let (rows, more) = four_eyes::list(engine(ctx), status.as_deref(), first, after.as_deref())
            .await
            .map_err(graphql_error)?;
        Ok(lists::page(rows, more, after.is_some(), |row| {
            (row.id.to_string(), ForceRequest(row))
        }))
    }

    /// Every operator action, newest first: by `operator`, on workflows of `kind`, `since`.
    #[graphql(complexity = "super::limits::page_cost(first, child_complexity)")]
    async fn operator_activity(
        &self,
        ctx: &Context<'_>,
        #[graphql(name = "operator")] operator_name: Option<String>,
        kind: Option<String>,
        since: Option<DateTime<Utc>>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Connection<String, OperatorAction, EmptyFields, EmptyFields>> {
        operator(ctx, AdminRole::Viewer)?;
        let filter = ActivityFilter {
            operator: operator_name,
            kind,
            since,
        };
        let (rows, more) = activity::list(engine(ctx), &filter, first, after.as_deref())
            .await
            .map_err(graphql_error)?;
        Ok(lists::page(rows, more, after.is_some(), |row| {
            (row.id.to_string(), OperatorAction(row))
        }))
    }
}

#[derive(Default)]
pub struct OperationsMutations;

#[Object]
impl OperationsMutations {
    /// Approves a forced event another operator asked for (SAME_OPERATOR for the one who asked):
    /// it is applied with the same checks as any forced event, both names and notes in history.
    async fn approve_force(&self, ctx: &Context<'_>, force_request_id: ID, note: String) -> Result<Workflow> {
        let operator = operator(ctx, AdminRole::Admin)?;
        let instance = four_eyes::approve(engine(ctx), operator, parse_id(&force_request_id)?, &note)
            .await
            .map_err(graphql_error)?;
        Ok(Workflow::of(instance))
    }
}
