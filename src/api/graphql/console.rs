//! The operators' fields (admin keys only; a merchant key gets FORBIDDEN on each, and so does an
//! operator key whose role falls short, naming the role): the stuck list, one workflow, the
//! definitions (viewer), "ask Alipay+" and retry/resume (operator), forcing an event (admin),
//! each action with a mandatory note recorded in history with the operator's name.

use super::lists;
use async_graphql::connection::{Connection, EmptyFields};
use async_graphql::{Context, ID, InputObject, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};

use super::context::{coded, engine, graphql_error, internal, kinds, parse_id};
use super::shared::Workflow;
use crate::alipayplus::client::Client;
use crate::app::auth::Principal;
use crate::app::console::{self, Operator};
use crate::app::errors::AppError;
use crate::app::roles::AdminRole;
use crate::store::OperatorAction;
use crate::store::stuck::{Cursor, WorkflowFilter as Filter};

/// The operator making the request, if its key's role allows what needs `needed`; FORBIDDEN
/// for a merchant or a role short of it (naming the role), UNAUTHENTICATED for nobody.
pub(crate) fn operator<'a>(ctx: &Context<'a>, needed: AdminRole) -> Result<&'a Operator> {
    match super::context::principal(ctx)? {
        Principal::Admin => {
            let operator = ctx
                .data_opt::<Operator>()
                .expect("an admin principal comes with its operator");
            operator.require(needed).map_err(graphql_error)?;
            Ok(operator)
        }
        Principal::Merchant(_) => Err(coded("FORBIDDEN", "operators only: use an admin key")),
    }
}

/// For a field merchants and operators share: a merchant acts on its own objects (the use case
/// sees to it); an operator's key needs `needed`.
pub(crate) fn operators_need(ctx: &Context<'_>, needed: AdminRole) -> Result<()> {
    match super::context::principal(ctx)? {
        Principal::Admin => operator(ctx, needed).map(|_| ()),
        Principal::Merchant(_) => Ok(()),
    }
}

/// Records the action in the activity log when an operator (not a merchant) did it; `note`
/// says what it was, for mutations that take none.
pub(crate) async fn record_if_operator(
    ctx: &Context<'_>,
    action: &str,
    object_ids: &[String],
    note: &str,
) -> Result<()> {
    if let Some(operator) = ctx.data_opt::<Operator>()
        && matches!(super::context::principal(ctx)?, Principal::Admin)
    {
        crate::app::activity::record(engine(ctx), operator, action, None, object_ids, note)
            .await
            .map_err(graphql_error)?;
    }
    Ok(())
}

/// Which workflows to list (all given conditions hold). Without `state`, unfinished ones only,
/// except that `needsAttention: true` lists every parked one, finished or not.
#[derive(InputObject, Default, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkflowFilter {
    /// payment, refund...
    pub kind: Option<String>,
    pub state: Option<String>,
    pub needs_attention: Option<bool>,
    /// In its state at least this long.
    pub stuck_for_seconds: Option<i32>,
    pub merchant_id: Option<ID>,
}

impl WorkflowFilter {
    /// The filter as given, as JSON (what a bulk action keeps of it).
    pub(crate) fn as_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }

    pub(crate) fn into_store(self) -> Result<Filter> {
        let stuck_for = match self.stuck_for_seconds {
            Some(seconds) if seconds < 0 => {
                return Err(graphql_error(AppError::Validation {
                    field: "filter.stuckForSeconds".into(),
                    message: "must be zero or more".into(),
                }));
            }
            Some(seconds) => Some(chrono::Duration::seconds(i64::from(seconds))),
            None => None,
        };
        let merchant_id = match self.merchant_id {
            Some(id) => Some(uuid::Uuid::parse_str(&id).map_err(|_| {
                graphql_error(AppError::Validation {
                    field: "filter.merchantId".into(),
                    message: "is not an id".into(),
                })
            })?),
            None => None,
        };
        Ok(Filter {
            kind: self.kind,
            state: self.state,
            needs_attention: self.needs_attention,
            stuck_for,
            merchant_id,
        })
    }
}

#[derive(SimpleObject)]
pub struct WorkflowDefinition {
    pub kind: String,
    pub version: i32,
    pub states: Vec<String>,
    pub mermaid: String,
}

/// What Alipay+ says about a payment or refund now (inquiryPayment), beside our state.
#[derive(SimpleObject)]
pub struct AlipayPlusAnswer {
    pub api: String,
    /// SUCCEEDED, REJECTED or UNKNOWN: how the call went.
    pub outcome: String,
    pub result_code: Option<String>,
    pub result_message: Option<String>,
    /// The payment's result there, e.g. `S SUCCESS`.
    pub payment_result: Option<String>,
    /// The refund's transaction status there, when asked about a refund.
    pub refund_status: Option<String>,
    /// The verified answer as JSON, or why there is none.
    pub answer: String,
    /// What it says of the object asked about: SUCCESS, FAIL, PROCESSING, ABSENT or UNKNOWN
    /// (what a forced end is checked against).
    pub verdict: String,
    pub our_state: String,
    pub asked_at: DateTime<Utc>,
}

#[derive(Default)]
pub struct OperatorQueries;

#[Object]
impl OperatorQueries {
    /// Workflows of every kind, oldest in their state first (Relay connection, `first` at most
    /// 100). E.g. `filter: {needsAttention: true}` is what waits for an operator.
    #[graphql(complexity = "super::limits::page_cost(first, child_complexity)")]
    async fn workflows(
        &self,
        ctx: &Context<'_>,
        filter: Option<WorkflowFilter>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Connection<String, Workflow, EmptyFields, EmptyFields>> {
        operator(ctx, AdminRole::Viewer)?;
        let filter = filter.unwrap_or_default().into_store()?;
        let (rows, more) = console::workflows(engine(ctx), &filter, first, after.as_deref())
            .await
            .map_err(graphql_error)?;
        Ok(lists::page(rows, more, after.is_some(), |instance| {
            (Cursor::of(&instance).encode(), Workflow::of(instance))
        }))
    }

    /// Any workflow by id (a payment's or refund's id is its workflow's).
    async fn workflow(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Workflow>> {
        operator(ctx, AdminRole::Viewer)?;
        let Ok(id) = uuid::Uuid::parse_str(&id) else {
            return Ok(None);
        };
        match crate::store::instance(&engine(ctx).db, id).await {
            Ok(instance) => Ok(Some(Workflow::of(instance))),
            Err(crate::store::StoreError::NotFound(_)) => Ok(None),
            Err(e) => Err(internal(e)),
        }
    }

    /// Every loaded workflow definition, with its Mermaid diagram.
    async fn workflow_definitions(&self, ctx: &Context<'_>) -> Result<Vec<WorkflowDefinition>> {
        operator(ctx, AdminRole::Viewer)?;
        Ok(engine(ctx)
            .definitions
            .iter()
            .map(|definition| WorkflowDefinition {
                kind: definition.kind.clone(),
                version: definition.version as i32,
                states: definition.state_names(),
                mermaid: crate::workflow::mermaid(definition),
            })
            .collect())
    }

    /// Asks Alipay+ now (inquiryPayment) about a payment or a refund's payment. The state does
    /// not move; the answer is recorded in its history (`alipayplus_answer`), where a forced end
    /// (`forceTransition`) is checked against it.
    async fn ask_alipay_plus(&self, ctx: &Context<'_>, id: ID) -> Result<AlipayPlusAnswer> {
        let operator = operator(ctx, AdminRole::Operator)?;
        let client = ctx.data_unchecked::<Client>();
        let asked = console::ask_alipayplus(engine(ctx), client, kinds(ctx), operator, parse_id(&id)?)
            .await
            .map_err(graphql_error)?;
        let answer = asked.answer;
        Ok(AlipayPlusAnswer {
            api: answer.api.into(),
            outcome: answer.outcome.into(),
            result_code: answer.result_code,
            result_message: answer.result_message,
            payment_result: answer.payment_result,
            refund_status: answer.refund_status,
            answer: answer.answer,
            verdict: answer.verdict.to_string(),
            our_state: asked.our_state,
            asked_at: asked.asked_at,
        })
    }
}

#[derive(Default)]
pub struct OperatorMutations;

#[Object]
impl OperatorMutations {
    /// Runs the workflow's pending or parked effects now, their attempts reset.
    async fn retry_workflow(&self, ctx: &Context<'_>, id: ID, note: String) -> Result<Workflow> {
        act(ctx, &id, OperatorAction::Retry, &note).await
    }

    /// Clears needs-attention (and a hold) and arms again the timer its state waits on.
    async fn resume_workflow(&self, ctx: &Context<'_>, id: ID, note: String) -> Result<Workflow> {
        act(ctx, &id, OperatorAction::Resume, &note).await
    }

    /// Applies `event` (snake_case, e.g. `inquiry_success`) if the definition allows it in the
    /// workflow's state; INVALID_TRANSITION otherwise.
    async fn force_transition(
        &self,
        ctx: &Context<'_>,
        id: ID,
        event: String,
        note: String,
    ) -> Result<Workflow> {
        let operator = operator(ctx, AdminRole::Admin)?;
        let instance = console::force_transition(engine(ctx), operator, parse_id(&id)?, &event, &note)
            .await
            .map_err(graphql_error)?;
        Ok(Workflow::of(instance))
    }
}

async fn act(ctx: &Context<'_>, id: &ID, action: OperatorAction, note: &str) -> Result<Workflow> {
    let operator = operator(ctx, AdminRole::Operator)?;
    let instance = console::act(engine(ctx), operator, parse_id(id)?, action, note)
        .await
        .map_err(graphql_error)?;
    Ok(Workflow::of(instance))
}
