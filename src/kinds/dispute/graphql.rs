//! GraphQL of disputes: the `Dispute` object, the merchant's queries and its two responses (an
//! operator may give them for the merchant).

use crate::api::graphql::context::{engine, graphql_error, parse_id, principal};
use crate::api::graphql::lists;
use crate::api::graphql::watch::watch;
use crate::app::Engine;
use crate::app::auth::Principal;
use crate::app::errors::AppError;
use async_graphql::Subscription;
use async_graphql::connection::{Connection, EmptyFields};
use futures::{Stream, StreamExt};
use std::sync::Arc;

use async_graphql::{Context, Enum, ID, InputObject, Object, Result};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::api::graphql::context::status_as;
use crate::api::graphql::reads::AnswerReads;
use crate::api::graphql::shared::{Money, MoneyInput, Payment, Workflow};
use crate::app::merchant_lists::ListRequest;
use crate::app::test_mode::TestMode;
use crate::kinds::dispute::evidence::Document;
use crate::kinds::dispute::test_helpers::{SimulatedDispute, simulate_dispute};
use crate::kinds::dispute::use_cases::{self as disputes, DisputeView, Response};
use crate::kinds::refund::graphql::Refund;

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum DisputeKind {
    Retrieval,
    Escalation,
}

/// What a list of disputes keeps.
#[derive(InputObject, Default)]
pub struct DisputeFilter {
    pub status: Option<DisputeStatus>,
    /// Raised after this time.
    pub created_after: Option<DateTime<Utc>>,
    /// Raised before this time.
    pub created_before: Option<DateTime<Utc>>,
    /// The disputes of your order's payment only.
    pub merchant_order_id: Option<String>,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, strum::EnumString, strum::IntoStaticStr, strum::VariantNames)]
#[strum(serialize_all = "SCREAMING_SNAKE_CASE")]
pub enum DisputeStatus {
    NeedsResponse,
    Responding,
    Responded,
    Expired,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[allow(clippy::enum_variant_names)] // the contract's names
pub enum RetrievalResponseCode {
    /// Wire `0001`: all the information asked for.
    AllDocuments,
    /// `0002`: part of it.
    SomeDocuments,
    /// `0003`: none.
    NoDocuments,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[allow(clippy::enum_variant_names)] // the contract's names
pub enum EscalationDecision {
    AcceptRefund,
    AcceptPartialRefund,
    RefuseRefund,
}

#[derive(InputObject)]
pub struct RespondToRetrievalInput {
    pub dispute_id: ID,
    pub response_code: RetrievalResponseCode,
    /// Your own note on the answer, kept in the dispute's history. Not sent to Alipay+:
    /// responseRetrieval has no such field.
    pub remarks: Option<String>,
    /// A receipt as text, sent as a TRANSACTION_RECEIPT document. When the wallet asked for
    /// the receipt and you answer ALL_DOCUMENTS without one (here or in `documents`), plusflow
    /// sends the receipt of its records (order id, amount, status with refunds).
    pub transaction_receipt: Option<String>,
    pub proof_of_delivery: Option<String>,
    /// Documents sent with the answer (`otherDocumentation`): at most 5, each at most 128 KiB.
    pub documents: Option<Vec<DocumentInput>>,
}

/// A document attached to a dispute answer.
#[derive(InputObject)]
pub struct DocumentInput {
    pub name: String,
    /// TRANSACTION_RECEIPT, PROOF_OF_DELIVERY, MERCHANT_INFORMATION, END_USER_INFORMATION,
    /// OTHER_DOCUMENTATION, MERCHANT_NOT_REFUND_RECORDS or SUPPORTING_DOCUMENTATION.
    #[graphql(name = "type")]
    pub kind: String,
    /// application/pdf, image/png, image/jpeg or text/plain.
    pub content_type: String,
    pub content_base64: String,
}

#[derive(InputObject)]
pub struct RespondToEscalationInput {
    pub dispute_id: ID,
    pub decision: EscalationDecision,
    /// Required with ACCEPT_PARTIAL_REFUND (at most the escalation amount); with ACCEPT_REFUND
    /// the escalation amount, if given.
    pub refund_amount: Option<MoneyInput>,
    pub remarks: Option<String>,
}

/// An Alipay+ retrieval or escalation about one of your payments, in one answer (see `reads`).
pub struct Dispute(pub DisputeView, Arc<AnswerReads>);

impl From<DisputeView> for Dispute {
    fn from(view: DisputeView) -> Self {
        Dispute(view, Arc::default())
    }
}

impl Dispute {
    /// A dispute met inside an answer that has read `reads` so far.
    pub(crate) fn within(view: DisputeView, reads: Arc<AnswerReads>) -> Self {
        Dispute(view, reads)
    }
}

#[Object]
impl Dispute {
    async fn id(&self) -> ID {
        ID(self.0.dispute.id.to_string())
    }
    async fn dispute_request_id(&self) -> &str {
        &self.0.dispute.dispute_request_id
    }
    async fn kind(&self) -> DisputeKind {
        if self.0.dispute.kind == crate::kinds::dispute::entity::ESCALATION {
            DisputeKind::Escalation
        } else {
            DisputeKind::Retrieval
        }
    }
    async fn payment(&self, ctx: &Context<'_>) -> Result<Payment> {
        let view = self
            .1
            .payment(engine(ctx), self.0.dispute.payment_id)
            .await
            .map_err(graphql_error)?;
        Ok(Payment::within(view, self.1.clone()))
    }
    async fn status(&self, ctx: &Context<'_>) -> Result<DisputeStatus> {
        status_as(ctx, &self.0.instance)
    }
    /// What a retrieval asks for (`requestInformationType`).
    async fn reason(&self) -> Option<&str> {
        self.0.dispute.reason.as_deref()
    }
    async fn escalation_amount(&self) -> Option<Money> {
        Some(Money {
            currency: self.0.dispute.currency.clone()?,
            value: self.0.dispute.escalation_amount?.to_string(),
        })
    }
    /// The response deadline: 20 days from the dispute for a retrieval; for an escalation the
    /// configured window (10 days by default).
    async fn respond_by(&self) -> DateTime<Utc> {
        self.0.dispute.respond_by
    }
    /// The refund an accepted escalation made (ACCEPT_REFUND, ACCEPT_PARTIAL_REFUND).
    async fn refund(&self, ctx: &Context<'_>) -> Result<Option<Refund>> {
        let Some(id) = self.0.dispute.refund_id else {
            return Ok(None);
        };
        // One of the payment's refunds, read once per answer with the others.
        let refunds = self
            .1
            .refunds_of(engine(ctx), self.0.dispute.payment_id)
            .await
            .map_err(graphql_error)?;
        Ok(refunds
            .into_iter()
            .find(|view| view.refund.id == id)
            .map(|view| Refund::within(view, self.1.clone())))
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.dispute.created_at
    }
    async fn workflow(&self) -> Workflow {
        Workflow::of(self.0.instance.clone())
    }
}

/// The merchant's dispute queries (merged into `Query`).
#[derive(Default)]
pub struct DisputeQueries;

#[Object]
impl DisputeQueries {
    /// A dispute of yours; null for any other id.
    async fn dispute(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Dispute>> {
        let principal = principal(ctx)?;
        let Ok(id) = Uuid::parse_str(&id) else {
            return Ok(None);
        };
        match disputes::get_dispute(engine(ctx), principal, id).await {
            Ok(view) => Ok(Some(Dispute::from(view))),
            Err(AppError::NotFound) => Ok(None),
            Err(e) => Err(graphql_error(e)),
        }
    }

    /// Your disputes, newest first, those `filter` keeps (`status` alone is the same as
    /// `filter: {status}`; Relay connection; `first` at most 50).
    #[graphql(complexity = "crate::api::graphql::limits::page_cost(first, child_complexity)")]
    async fn disputes(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        status: Option<DisputeStatus>,
        filter: Option<DisputeFilter>,
    ) -> Result<Connection<String, Dispute, EmptyFields, EmptyFields>> {
        let principal = principal(ctx)?;
        let (first, after) = lists::merchant_page_args(first, after.as_deref()).map_err(graphql_error)?;
        let filter = filter.unwrap_or_default();
        let status = lists::one_status(status, filter.status)
            .map_err(graphql_error)?
            .map(|status| <&str>::from(status).to_string());
        let request = ListRequest {
            status,
            created_after: filter.created_after,
            created_before: filter.created_before,
            merchant_order_id: filter.merchant_order_id,
            after,
        };
        let (views, more) = disputes::list_disputes(engine(ctx), principal, first, &request)
            .await
            .map_err(graphql_error)?;
        Ok(lists::page(views, more, after.is_some(), |view| {
            (view.dispute.id.to_string(), Dispute::from(view))
        }))
    }
}

/// The merchant's responses (merged into `Mutation`).
#[derive(Default)]
pub struct DisputeMutations;

#[Object]
impl DisputeMutations {
    /// Test mode only (`alipayplus.mode = "simulator"`; else NOT_IN_TEST_MODE): a wallet raises
    /// a retrieval or an escalation (of `amount`, the whole payment if omitted) on your paid
    /// payment; the simulator sends it to plusflow as Alipay+ would, and it shows in the
    /// payment's `disputes` within moments. A payment not paid is INVALID_TRANSITION.
    async fn simulate_dispute(
        &self,
        ctx: &Context<'_>,
        payment_id: ID,
        kind: DisputeKind,
        amount: Option<MoneyInput>,
    ) -> Result<Payment> {
        crate::api::graphql::console::operators_need(ctx, crate::app::roles::AdminRole::Operator)?;
        let principal = principal(ctx)?;
        let dispute = SimulatedDispute {
            kind: match kind {
                DisputeKind::Retrieval => "RETRIEVAL",
                DisputeKind::Escalation => "ESCALATION",
            },
            amount: amount.as_ref().map(|m| (m.currency.as_str(), m.value.as_str())),
        };
        let test_mode = ctx.data::<TestMode>()?;
        simulate_dispute(engine(ctx), test_mode, principal, parse_id(&payment_id)?, dispute)
            .await
            .map(Payment::from)
            .map_err(graphql_error)
    }

    /// Answers a retrieval; sent to Alipay+ (retried until it answers). Refused after its
    /// deadline (DISPUTE_EXPIRED) or once answered (ALREADY_RESPONDED). An operator (role
    /// `operator`) may answer for the merchant; history and the activity log name the operator.
    async fn respond_to_retrieval(
        &self,
        ctx: &Context<'_>,
        input: RespondToRetrievalInput,
        idempotency_key: String,
    ) -> Result<Dispute> {
        let response = Response::Retrieval {
            response_code: match input.response_code {
                RetrievalResponseCode::AllDocuments => "0001",
                RetrievalResponseCode::SomeDocuments => "0002",
                RetrievalResponseCode::NoDocuments => "0003",
            },
            note: input.remarks,
            transaction_receipt: input.transaction_receipt,
            proof_of_delivery: input.proof_of_delivery,
            documents: input
                .documents
                .unwrap_or_default()
                .into_iter()
                .map(|d| Document {
                    name: d.name,
                    kind: d.kind,
                    content_type: d.content_type,
                    content_base64: d.content_base64,
                })
                .collect(),
        };
        respond(ctx, &input.dispute_id, response, &idempotency_key).await
    }

    /// Answers an escalation. Accepting it (in full, or in part with `refundAmount`) refunds
    /// the payment through the refund workflow, shown as `Dispute.refund`; refunds and dispute
    /// refunds together never exceed the paid amount (REFUND_EXCEEDS_REFUNDABLE). Refused after
    /// its deadline (DISPUTE_EXPIRED) or once answered (ALREADY_RESPONDED).
    async fn respond_to_escalation(
        &self,
        ctx: &Context<'_>,
        input: RespondToEscalationInput,
        idempotency_key: String,
    ) -> Result<Dispute> {
        let response = Response::Escalation {
            decision: match input.decision {
                EscalationDecision::AcceptRefund => disputes::EscalationDecision::AcceptRefund,
                EscalationDecision::AcceptPartialRefund => disputes::EscalationDecision::AcceptPartialRefund,
                EscalationDecision::RefuseRefund => disputes::EscalationDecision::RefuseRefund,
            },
            refund_amount: input.refund_amount.map(|amount| (amount.currency, amount.value)),
            remarks: input.remarks,
        };
        respond(ctx, &input.dispute_id, response, &idempotency_key).await
    }
}

/// Records `response` to dispute `id` for the caller: a merchant its own, an operator (with the
/// `operator` role) for the dispute's merchant.
async fn respond(ctx: &Context<'_>, id: &ID, response: Response, idempotency_key: &str) -> Result<Dispute> {
    crate::api::graphql::console::operators_need(ctx, crate::app::roles::AdminRole::Operator)?;
    let view = disputes::respond(
        engine(ctx),
        principal(ctx)?,
        ctx.data_opt::<crate::app::operator::Operator>(),
        parse_id(id)?,
        response,
        idempotency_key,
    )
    .await
    .map_err(graphql_error)?;
    Ok(Dispute::from(view))
}

#[derive(Default)]
pub struct DisputeSubscription;

#[Subscription]
impl DisputeSubscription {
    /// The dispute now, then every change (reminded, answered, expired), until it is final.
    async fn dispute_updated(&self, ctx: &Context<'_>, id: ID) -> Result<impl Stream<Item = Dispute>> {
        let get = |engine: Engine, principal: Principal, id| async move {
            crate::kinds::dispute::use_cases::get_dispute(&engine, &principal, id).await
        };
        Ok(watch(ctx, &id, get, |view| &view.instance)
            .await?
            .map(Dispute::from))
    }
}
