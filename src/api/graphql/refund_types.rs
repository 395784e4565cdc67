//! GraphQL types of refunds.

use async_graphql::{Context, Enum, ID, InputObject, Object, Result};
use chrono::{DateTime, Utc};

use super::types::{Money, MoneyInput, Payment, Workflow};
use super::{engine, graphql_error};
use crate::app::payments;
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

pub struct Refund(pub RefundView);

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
        let engine = engine(ctx);
        let view = payments::get_payment(engine, &payments::Principal::Admin, self.0.refund.payment_id)
            .await
            .map_err(graphql_error)?;
        Ok(Payment::from(view))
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
