//! The refund kind: part or all of a succeeded payment given back (`refund`, retried with the
//! same `refundRequestId` until Alipay+ answers S or F).

pub mod effects;
pub mod graphql;
pub mod ledger;
pub mod names;
pub mod rows;
pub mod simulator;
pub mod use_cases;

use crate::app::kind::{InstanceIn, Kind};
use futures::FutureExt;
use futures::future::BoxFuture;

use crate::alipayplus::client::Client;
use crate::app::errors::AppError;
use crate::app::kind::AlipayPlusAnswer;
use crate::app::kind::ContextField;
use crate::kinds::payment::inquiry::ask_about_payment;

/// Money of a succeeded payment given back.
pub struct Refund;

impl Kind for Refund {
    crate::kind_folder!(name: "refund", statuses: graphql::RefundStatus, simulator: simulator::Refunds);
    crate::books_in_ledger!();

    fn ask_alipayplus<'a>(
        &'a self,
        about: InstanceIn<'a>,
        client: &'a Client,
    ) -> Option<BoxFuture<'a, Result<AlipayPlusAnswer, AppError>>> {
        let InstanceIn { engine, instance } = about;
        Some(
            async move {
                let refund = rows::refund(&engine.db, instance.id)
                    .await?
                    .ok_or(AppError::NotFound)?;
                ask_about_payment(engine, client, refund.payment_id, Some(refund.refund_request_id)).await
            }
            .boxed(),
        )
    }

    /// Its payment, amount and refundRequestId.
    fn context<'a>(&'a self, of: InstanceIn<'a>) -> BoxFuture<'a, Result<Vec<ContextField>, AppError>> {
        async move {
            let Some(refund) = rows::refund(&of.engine.db, of.instance.id).await? else {
                return Ok(Vec::new());
            };
            Ok(vec![
                crate::app::merchants::context_line(of.engine, refund.merchant_id).await?,
                ContextField::workflow("payment", refund.payment_id),
                ContextField::text(
                    "amount",
                    crate::domain::format_money(&refund.currency, refund.amount),
                ),
                ContextField::text("refundRequestId", &refund.refund_request_id),
            ])
        }
        .boxed()
    }
}
