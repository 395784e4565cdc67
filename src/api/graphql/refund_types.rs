//! GraphQL types of refunds.

use async_graphql::{Context, Enum, ID, InputObject, Object, Result};
use chrono::{DateTime, Utc};

use std::sync::Arc;

use super::reads::AnswerReads;
use super::shared::{Money, MoneyInput, Payment, Workflow};
use super::{engine, graphql_error};
use crate::app::refunds::RefundView;
use crate::workflow::PublicStatus;

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
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
            PublicStatus::Pending | PublicStatus::AwaitingCustomer => RefundStatus::Pending,
        }
    }
}

#[derive(InputObject)]
pub struct CreateRefundInput {
    pub payment_id: ID,
    /// In the payment currency; integer minor units.
    pub amount: MoneyInput,
    pub reason: Option<String>,
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
    pub(super) fn within(view: RefundView, reads: Arc<AnswerReads>) -> Self {
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
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.refund.created_at
    }
    async fn workflow(&self) -> Workflow {
        Workflow {
            instance: self.0.instance.clone(),
        }
    }
}
