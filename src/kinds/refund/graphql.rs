//! GraphQL types of refunds.

use crate::api::graphql::context::{engine, graphql_error, parse_id, principal};
use crate::api::graphql::lists;
use crate::api::graphql::watch::watch;
use crate::app::Engine;
use crate::app::auth::Principal;
use crate::app::errors::AppError;
use crate::app::merchant_lists::ListRequest;
use crate::kinds::refund::use_cases::{self as refunds, NewRefund};
use async_graphql::Subscription;
use async_graphql::connection::{Connection, EmptyFields};
use async_graphql::{Context, Enum, ID, InputObject, Object, Result};
use chrono::{DateTime, Utc};
use futures::{Stream, StreamExt};
use uuid::Uuid;

use std::sync::Arc;

use crate::api::graphql::reads::AnswerReads;
use crate::api::graphql::shared::{
    MetadataEntry, MetadataInput, Money, MoneyInput, Payment, Workflow, metadata_in, metadata_out,
};
use crate::kinds::payment::status::PublicStatus;
use crate::kinds::refund::use_cases::RefundView;

#[derive(Enum, Copy, Clone, Eq, PartialEq, strum::VariantNames, strum::IntoStaticStr)]
#[strum(serialize_all = "SCREAMING_SNAKE_CASE")]
pub enum RefundStatus {
    Pending,
    Succeeded,
    Failed,
}

impl From<PublicStatus> for RefundStatus {
    fn from(status: PublicStatus) -> Self {
        match status {
            PublicStatus::Succeeded => RefundStatus::Succeeded,
            PublicStatus::Failed | PublicStatus::Cancelled => RefundStatus::Failed,
            PublicStatus::Pending
            | PublicStatus::AwaitingCustomer
            | PublicStatus::Cancelling
            | PublicStatus::UnderReview => RefundStatus::Pending,
        }
    }
}

#[derive(InputObject)]
pub struct CreateRefundInput {
    pub payment_id: ID,
    /// In the payment currency; integer minor units.
    pub amount: MoneyInput,
    pub reason: Option<String>,
    /// Your own key-value pairs (at most 20), echoed in the refund's events and webhooks.
    pub metadata: Option<Vec<MetadataInput>>,
}

/// A refund in one answer (see `reads`).
pub struct Refund(pub RefundView, Arc<AnswerReads>);

impl From<RefundView> for Refund {
    fn from(view: RefundView) -> Self {
        Refund(view, Arc::default())
    }
}

impl Refund {
    /// A refund met inside an answer that has read `reads` so far.
    pub(crate) fn within(view: RefundView, reads: Arc<AnswerReads>) -> Self {
        Refund(view, reads)
    }
}

#[Object]
impl Refund {
    async fn id(&self) -> ID {
        ID(self.0.refund.id.to_string())
    }
    /// Our id at Alipay+; the same on every retry.
    async fn refund_request_id(&self) -> &str {
        &self.0.refund.refund_request_id
    }
    async fn payment(&self, ctx: &Context<'_>) -> Result<Payment> {
        let view = self
            .1
            .payment(engine(ctx), self.0.refund.payment_id)
            .await
            .map_err(graphql_error)?;
        Ok(Payment::within(view, self.1.clone()))
    }
    async fn amount(&self) -> Money {
        Money {
            currency: self.0.refund.currency.clone(),
            value: self.0.refund.amount.to_string(),
        }
    }
    async fn status(&self) -> RefundStatus {
        self.0.status.into()
    }
    async fn reason(&self) -> Option<&str> {
        self.0.refund.reason.as_deref()
    }
    /// The Alipay+ result code of a failed refund.
    async fn failure_code(&self) -> Option<String> {
        self.0.failure_code()
    }
    /// Alipay+'s id of the refund, once it succeeded.
    async fn alipay_refund_id(&self) -> Option<String> {
        self.0.alipay_refund_id()
    }
    /// Your own key-value pairs, as given at creation.
    async fn metadata(&self) -> Vec<MetadataEntry> {
        metadata_out(self.0.refund.metadata.as_ref())
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.refund.created_at
    }
    async fn workflow(&self) -> Workflow {
        Workflow::of(self.0.instance.clone())
    }
}

/// What a list of refunds keeps.
#[derive(InputObject, Default)]
pub struct RefundFilter {
    pub status: Option<RefundStatus>,
    /// Asked for after this time.
    pub created_after: Option<DateTime<Utc>>,
    /// Asked for before this time.
    pub created_before: Option<DateTime<Utc>>,
    /// The refunds of your order's payment only.
    pub merchant_order_id: Option<String>,
}

#[derive(Default)]
pub struct RefundQueries;

#[Object]
impl RefundQueries {
    /// Your refunds, newest first, those `filter` keeps (Relay connection; `first` at most 50).
    #[graphql(complexity = "crate::api::graphql::limits::page_cost(first, child_complexity)")]
    async fn refunds(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        filter: Option<RefundFilter>,
    ) -> Result<Connection<String, Refund, EmptyFields, EmptyFields>> {
        let principal = principal(ctx)?;
        let (first, after) = lists::merchant_page_args(first, after.as_deref()).map_err(graphql_error)?;
        let filter = filter.unwrap_or_default();
        let request = ListRequest {
            status: filter.status.map(|status| <&str>::from(status).to_string()),
            created_after: filter.created_after,
            created_before: filter.created_before,
            merchant_order_id: filter.merchant_order_id,
            after,
        };
        let (views, more) = refunds::list_refunds(engine(ctx), principal, first, &request)
            .await
            .map_err(graphql_error)?;
        Ok(lists::page(views, more, after.is_some(), |view| {
            (view.refund.id.to_string(), Refund::from(view))
        }))
    }

    /// A refund of yours; null for any other id.
    async fn refund(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Refund>> {
        let principal = principal(ctx)?;
        let Ok(id) = Uuid::parse_str(&id) else {
            return Ok(None);
        };
        match refunds::get_refund(engine(ctx), principal, id).await {
            Ok(view) => Ok(Some(Refund::from(view))),
            Err(AppError::NotFound) => Ok(None),
            Err(e) => Err(graphql_error(e)),
        }
    }
}

#[derive(Default)]
pub struct RefundMutations;

#[Object]
impl RefundMutations {
    /// Refunds part or all of a SUCCEEDED payment, in its currency. Several refunds may be made
    /// while their sum (pending and succeeded) stays within the paid amount.
    async fn create_refund(
        &self,
        ctx: &Context<'_>,
        input: CreateRefundInput,
        idempotency_key: String,
    ) -> Result<Refund> {
        let principal = principal(ctx)?;
        let payment_id = parse_id(&input.payment_id)?;
        let new_refund = NewRefund {
            payment_id,
            currency: input.amount.currency,
            amount: input.amount.value,
            reason: input.reason,
            metadata: metadata_in(input.metadata),
        };
        refunds::create_refund(engine(ctx), principal, new_refund, &idempotency_key)
            .await
            .map(Refund::from)
            .map_err(graphql_error)
    }
}

#[derive(Default)]
pub struct RefundSubscription;

#[Subscription]
impl RefundSubscription {
    /// The refund now, then every change, until it is final.
    async fn refund_updated(&self, ctx: &Context<'_>, id: ID) -> Result<impl Stream<Item = Refund>> {
        let get = |engine: Engine, principal: Principal, id| async move {
            refunds::get_refund(&engine, &principal, id).await
        };
        Ok(watch(ctx, &id, get, |view| &view.instance)
            .await?
            .map(Refund::from))
    }
}
