//! What every kind's GraphQL types share, below all of them: money, the payment handle (its
//! fields are `types::Payment`'s, which names the kinds' types, so the kinds name only this),
//! and the workflow an object runs on, with its history and pending effects.

use std::sync::Arc;

use async_graphql::{Context, ID, InputObject, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};

use super::context::{engine, internal, kinds};
use super::reads::AnswerReads;
use crate::app::auth::Principal;
use crate::app::kind::InstanceIn;
use crate::kinds::payment::use_cases::{self as payments, PaymentView};
use crate::kinds::refund::use_cases::RefundView;
use crate::store;

#[derive(SimpleObject, Clone)]
pub struct Money {
    pub currency: String,
    /// Integer minor units, as a decimal string.
    pub value: String,
}

pub(crate) fn money(currency: Option<String>, value: Option<i64>) -> Option<Money> {
    Some(Money {
        currency: currency?,
        value: value?.to_string(),
    })
}

/// One of your own key-value pairs on a payment or a refund (at most 20, keys of 1 to 40
/// characters, values of up to 500).
#[derive(InputObject, Clone)]
pub struct MetadataInput {
    pub key: String,
    pub value: String,
}

/// One of your own key-value pairs, as given at creation.
#[derive(SimpleObject)]
pub struct MetadataEntry {
    pub key: String,
    pub value: String,
}

/// `entries` as the app keeps them.
pub fn metadata_in(entries: Option<Vec<MetadataInput>>) -> Vec<crate::app::metadata::Entry> {
    entries
        .unwrap_or_default()
        .into_iter()
        .map(|entry| crate::app::metadata::Entry {
            key: entry.key,
            value: entry.value,
        })
        .collect()
}

/// The pairs `stored` holds, for an answer.
pub fn metadata_out(stored: Option<&serde_json::Value>) -> Vec<MetadataEntry> {
    crate::app::metadata::entries(stored)
        .into_iter()
        .map(|entry| MetadataEntry {
            key: entry.key,
            value: entry.value,
        })
        .collect()
}

#[derive(InputObject, Clone)]
pub struct MoneyInput {
    pub currency: String,
    /// Integer minor units, as a decimal string (1050 = 10.50 USD).
    pub value: String,
}

/// A payment, as its merchant sees it, in one answer: its refunds (and, through them, itself)
/// are read once per answer however many fields and levels ask (see `reads`).
pub struct Payment(pub PaymentView, pub(crate) Arc<AnswerReads>);

impl From<PaymentView> for Payment {
    fn from(view: PaymentView) -> Self {
        let reads = AnswerReads::starting_with(&view);
        Payment(view, reads)
    }
}

impl Payment {
    /// A payment met inside an answer that has read `reads` so far.
    pub(crate) fn within(view: PaymentView, reads: Arc<AnswerReads>) -> Self {
        Payment(view, reads)
    }

    pub(crate) async fn loaded_refunds(&self, ctx: &Context<'_>) -> Result<Vec<RefundView>> {
        self.1
            .refunds_of(engine(ctx), self.0.payment.id)
            .await
            .map_err(super::context::graphql_error)
    }

    pub(crate) async fn result(
        &self,
        ctx: &Context<'_>,
    ) -> Result<Option<store::entity::payment_result::Model>> {
        self.1
            .result_of(engine(ctx), self.0.payment.id)
            .await
            .map_err(super::context::graphql_error)
    }

    pub(crate) async fn totals(&self, ctx: &Context<'_>) -> Result<(i64, i64)> {
        Ok(crate::kinds::refund::use_cases::refund_totals(
            &self.0,
            &self.loaded_refunds(ctx).await?,
        ))
    }
}

/// One line of a workflow's business context; `workflowId` names the workflow it links to.
#[derive(async_graphql::SimpleObject)]
pub struct ContextLine {
    pub label: String,
    pub value: String,
    pub workflow_id: Option<ID>,
}

pub struct Workflow {
    pub instance: store::entity::instance::Model,
    /// Its history, read at most once for this object (`history` and `diagramSvg` share it).
    history: tokio::sync::OnceCell<Vec<store::entity::history::Model>>,
}

#[Object]
impl Workflow {
    async fn id(&self) -> ID {
        ID(self.instance.id.to_string())
    }
    async fn kind(&self) -> &str {
        &self.instance.kind
    }
    async fn state(&self) -> &str {
        &self.instance.state
    }
    async fn version(&self) -> i64 {
        self.instance.version
    }
    /// Parked for an operator (retries exhausted, or something that must not be resolved silently).
    async fn needs_attention(&self) -> bool {
        self.instance.needs_attention
    }
    /// What failed last (operators only; a merchant sees its object's status).
    async fn last_error(&self, ctx: &Context<'_>) -> Option<&str> {
        self.instance
            .last_error
            .as_deref()
            .filter(|_| !merchant_asks(ctx))
    }
    /// When the workflow acts next on its own (an effect or a timer).
    async fn next_run_at(&self, ctx: &Context<'_>) -> Result<Option<DateTime<Utc>>> {
        payments::next_run_at(engine(ctx), self.instance.id)
            .await
            .map_err(internal)
    }
    /// The payment or refund this workflow runs (its id is the workflow's).
    async fn subject_id(&self) -> ID {
        ID(self.instance.id.to_string())
    }
    /// When it entered its current state.
    async fn state_since(&self) -> DateTime<Utc> {
        self.instance.state_since.unwrap_or(self.instance.updated_at)
    }
    /// Why it waits for an operator (null unless needsAttention; operators only: a merchant
    /// sees a held payment UNDER_REVIEW).
    async fn attention_reason(&self, ctx: &Context<'_>) -> Option<&str> {
        self.instance
            .last_error
            .as_deref()
            .filter(|_| self.instance.needs_attention && !merchant_asks(ctx))
    }
    /// The business deadline of its current state, if it has one, while it is not final or
    /// waits for an operator (an expired dispute keeps the deadline it missed): a payment's
    /// expiry, a dispute's response deadline (`respondBy`).
    async fn deadline(&self, ctx: &Context<'_>) -> Result<Option<DateTime<Utc>>> {
        if self.instance.terminal && !self.instance.needs_attention {
            return Ok(None);
        }
        let Some(kind) = kinds(ctx).named(&self.instance.kind) else {
            return Ok(None);
        };
        kind.deadline(InstanceIn {
            engine: engine(ctx),
            instance: &self.instance,
        })
        .await
        .map_err(super::context::graphql_error)
    }
    /// Its effects not done yet: waiting, running, or out of attempts.
    async fn pending_effects(&self, ctx: &Context<'_>) -> Result<Vec<PendingEffect>> {
        let rows = store::stuck::pending_effects(&engine(ctx).db, self.instance.id)
            .await
            .map_err(internal)?;
        Ok(rows.into_iter().map(PendingEffect).collect())
    }
    /// What it is about (operators only): amount, merchant, the ids merchants and Alipay+ use,
    /// and the workflows it is tied to (a refund's payment, a payment's refunds and disputes).
    async fn context(&self, ctx: &Context<'_>) -> Result<Vec<ContextLine>> {
        if merchant_asks(ctx) {
            return Ok(Vec::new());
        }
        let Some(kind) = ctx
            .data_unchecked::<crate::app::kind::KindList>()
            .named(&self.instance.kind)
        else {
            return Ok(Vec::new());
        };
        let fields = kind
            .context(crate::app::kind::InstanceIn {
                engine: engine(ctx),
                instance: &self.instance,
            })
            .await
            .map_err(super::context::graphql_error)?;
        Ok(fields
            .into_iter()
            .map(|field| ContextLine {
                label: field.label.to_string(),
                value: field.value,
                workflow_id: field.workflow.map(|id| ID(id.to_string())),
            })
            .collect())
    }
    /// The legal hold keeping it out of the archive (operators only; null without one).
    async fn legal_hold(&self, ctx: &Context<'_>) -> Result<Option<LegalHold>> {
        if merchant_asks(ctx) {
            return Ok(None);
        }
        LegalHold::of(ctx, self.instance.id).await
    }
    /// Its definition drawn as SVG (operators only): the current state marked (`g.current`),
    /// the states it entered and the transitions it took drawn as taken.
    async fn diagram_svg(&self, ctx: &Context<'_>) -> Result<Option<String>> {
        if merchant_asks(ctx) {
            return Ok(None);
        }
        let Some(definition) = engine(ctx)
            .definitions
            .get(&self.instance.kind, self.instance.definition_version as u32)
        else {
            return Ok(None);
        };
        let history = self.history_rows(ctx).await?;
        let mut path: Vec<String> = Vec::new();
        for row in history {
            if let Some(state) = row.to_state
                && path.last() != Some(&state)
            {
                path.push(state);
            }
        }
        Ok(Some(crate::workflow::svg(
            definition,
            &self.instance.state,
            &path,
        )))
    }
    /// Its definition as a Mermaid state diagram, the current state marked (class `current`).
    async fn diagram(&self, ctx: &Context<'_>) -> Option<String> {
        let definition = engine(ctx)
            .definitions
            .get(&self.instance.kind, self.instance.definition_version as u32)?;
        Some(format!(
            "{}    classDef current fill:#fde68a,stroke:#b45309,stroke-width:2px\n    class {} current\n",
            crate::workflow::mermaid(definition),
            self.instance.state
        ))
    }
    /// The events its definition allows in its current state (what `forceTransition` takes).
    async fn allowed_events(&self, ctx: &Context<'_>) -> Vec<String> {
        let Some(definition) = engine(ctx)
            .definitions
            .get(&self.instance.kind, self.instance.definition_version as u32)
        else {
            return vec![];
        };
        let mut events: Vec<String> = definition
            .transitions
            .keys()
            .filter(|(from, _)| *from == self.instance.state)
            .map(|(_, event)| event.to_string())
            .collect();
        events.sort();
        events
    }
    /// Every state of its definition, sorted.
    async fn definition_states(&self, ctx: &Context<'_>) -> Vec<String> {
        engine(ctx)
            .definitions
            .get(&self.instance.kind, self.instance.definition_version as u32)
            .map(|definition| definition.state_names())
            .unwrap_or_default()
    }
    /// Every event applied, oldest first, whatever its outcome.
    async fn history(&self, ctx: &Context<'_>) -> Result<Vec<WorkflowEvent>> {
        let rows = self.history_rows(ctx).await?;
        Ok(rows.into_iter().map(WorkflowEvent).collect())
    }
}

impl Workflow {
    /// The workflow `instance` is.
    pub fn of(instance: store::entity::instance::Model) -> Self {
        Self {
            instance,
            history: tokio::sync::OnceCell::new(),
        }
    }

    /// Its history, read once however many of its fields ask.
    async fn history_rows(&self, ctx: &Context<'_>) -> Result<Vec<store::entity::history::Model>> {
        let rows = self
            .history
            .get_or_try_init(|| store::history(&engine(ctx).db, self.instance.id))
            .await
            .map_err(internal)?;
        Ok(rows.clone())
    }
}

pub struct WorkflowEvent(store::entity::history::Model);

#[Object]
impl WorkflowEvent {
    async fn at(&self) -> DateTime<Utc> {
        self.0.at
    }
    async fn event(&self) -> &str {
        &self.0.event
    }
    async fn from_state(&self) -> Option<&str> {
        self.0.from_state.as_deref()
    }
    async fn to_state(&self) -> Option<&str> {
        self.0.to_state.as_deref()
    }
    /// TRANSITIONED, IGNORED or REJECTED for an event; PARKED, OPERATOR (an operator's retry or
    /// resume) or ANSWER (Alipay+'s answer an operator asked for) otherwise.
    async fn outcome(&self) -> &str {
        &self.0.outcome
    }
    /// Who caused it; to a merchant, an operator is `operator` (operators' names are theirs).
    async fn actor(&self, ctx: &Context<'_>) -> &str {
        if self.hidden_from(ctx) {
            "operator"
        } else {
            &self.0.actor
        }
    }
    /// Why an event was ignored or rejected, and what came with it (not shown to a merchant
    /// for an operator's action, nor why its workflow was parked).
    async fn detail(&self, ctx: &Context<'_>) -> Option<String> {
        if self.hidden_from(ctx) || (self.0.outcome == "PARKED" && merchant_asks(ctx)) {
            return None;
        }
        self.0.detail.as_ref().map(|d| d.to_string())
    }
    /// The note of an operator's action (operators only), or of a merchant's own answer.
    async fn note(&self, ctx: &Context<'_>) -> Option<&str> {
        if self.hidden_from(ctx) {
            return None;
        }
        self.0.detail.as_ref()?.get("note")?.as_str()
    }
}

impl WorkflowEvent {
    /// Whether this is an operator's action read by a merchant: the operator's name, note and
    /// detail are not the merchant's to read.
    fn hidden_from(&self, ctx: &Context<'_>) -> bool {
        let by_operator = self.0.actor == "admin" || self.0.actor.starts_with("admin:");
        by_operator && merchant_asks(ctx)
    }
}

/// Whether a merchant asks: plusflow's own reasons (what failed, why a workflow waits for an
/// operator) are for operators.
fn merchant_asks(ctx: &Context<'_>) -> bool {
    matches!(ctx.data_opt::<Principal>(), Some(Principal::Merchant(_)))
}

/// An effect of a workflow not done yet.
pub struct PendingEffect(store::entity::outbox::Model);

#[Object]
impl PendingEffect {
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// Failed executions so far.
    async fn attempts(&self) -> i32 {
        self.0.attempts
    }
    async fn max_attempts(&self) -> i32 {
        self.0.max_attempts
    }
    /// pending, claimed (running) or failed (out of attempts: the workflow is parked).
    async fn status(&self) -> &str {
        &self.0.status
    }
    /// What failed last (operators only).
    async fn last_error(&self, ctx: &Context<'_>) -> Option<&str> {
        self.0.last_error.as_deref().filter(|_| !merchant_asks(ctx))
    }
    /// When it runs next (null once out of attempts).
    async fn next_run_at(&self) -> Option<DateTime<Utc>> {
        (self.0.status == store::entity::outbox::STATUS_PENDING)
            .then(|| DateTime::from_timestamp_millis(self.0.due_at_ms))
            .flatten()
    }
    /// The process running it now (operators only: null for a merchant).
    async fn claimed_by(&self, ctx: &Context<'_>) -> Option<&str> {
        ctx.data_opt::<crate::app::console::Operator>()?;
        self.0
            .claimed_by
            .as_deref()
            .filter(|_| self.0.status == store::entity::outbox::STATUS_CLAIMED)
    }
}

/// A legal hold on a workflow: it is never archived while held.
#[derive(SimpleObject)]
pub struct LegalHold {
    note: String,
    placed_by: String,
    placed_at: DateTime<Utc>,
}

impl LegalHold {
    pub async fn of(ctx: &Context<'_>, id: uuid::Uuid) -> Result<Option<LegalHold>> {
        let hold = crate::app::archive::hold_of(engine(ctx), id)
            .await
            .map_err(|e| super::context::graphql_error(e.into()))?;
        Ok(hold.map(|(note, placed_by, placed_at)| LegalHold {
            note,
            placed_by,
            placed_at,
        }))
    }
}
