//! The dispute kind: an Alipay+ retrieval or escalation, answered by the merchant before its
//! deadline.

pub mod effects;
pub mod entity;
pub mod evidence;
pub mod graphql;
mod inbound;
pub mod names;
pub mod rows;
pub mod simulator;
pub mod test_helpers;
pub mod use_cases;

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;

use crate::app::errors::AppError;
use crate::app::kind::ContextField;
use crate::app::kind::{InboundRoute, InstanceIn, Kind};

/// A retrieval or escalation the merchant answers.
pub struct Dispute;

impl Kind for Dispute {
    crate::kind_folder!(name: "dispute", statuses: graphql::DisputeStatus, simulator: simulator::Disputes);

    fn inbound(&self) -> &'static [InboundRoute] {
        inbound::ROUTES
    }

    /// Its response deadline (`respondBy`, in its data: the timer of its states waits for it).
    fn deadline<'a>(&'a self, of: InstanceIn<'a>) -> BoxFuture<'a, Result<Option<DateTime<Utc>>, AppError>> {
        let respond_by = of
            .instance
            .data
            .get("respondBy")
            .and_then(|v| v.as_str())
            .and_then(|text| DateTime::parse_from_rfc3339(text).ok())
            .map(|time| time.with_timezone(&Utc));
        Box::pin(async move { Ok(respond_by) })
    }

    /// Its payment, kind, amount asked, deadline, disputeRequestId and the refund it started.
    fn context<'a>(&'a self, of: InstanceIn<'a>) -> BoxFuture<'a, Result<Vec<ContextField>, AppError>> {
        Box::pin(async move {
            let Some((dispute, _)) = rows::dispute_with_instance(&of.engine.db, of.instance.id).await? else {
                return Ok(Vec::new());
            };
            let mut fields = vec![
                crate::app::merchants::context_line(of.engine, dispute.merchant_id).await?,
                ContextField::workflow("payment", dispute.payment_id),
                ContextField::text("dispute", &dispute.kind),
                ContextField::text("disputeRequestId", &dispute.dispute_request_id),
                ContextField::text("respondBy", dispute.respond_by.to_rfc3339()),
            ];
            if let (Some(currency), Some(amount)) = (&dispute.currency, dispute.escalation_amount) {
                fields.push(ContextField::text(
                    "amount asked",
                    crate::domain::format_money(currency, amount),
                ));
            }
            fields.extend(dispute.reason.map(|reason| ContextField::text("reason", reason)));
            fields.extend(dispute.refund_id.map(|id| ContextField::workflow("refund", id)));
            Ok(fields)
        })
    }
}
