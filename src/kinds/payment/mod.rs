//! The payment kind: a customer paying a merchant through the Alipay+ checkout (`pay`,
//! `notifyPayment`, `inquiryPayment` polling, `cancelPayment` on expiry or request).

pub mod effects;
pub mod graphql;
pub mod graphql_input;
mod inbound;
pub mod inquiry;
pub mod ledger;
pub mod methods;
pub mod names;
pub mod results;
pub mod rows;
pub mod simulator;
pub mod status;
pub mod test_helpers;
pub mod use_cases;

use crate::app::kind::{InboundRoute, InstanceIn, Kind};
use chrono::{DateTime, Utc};
use futures::FutureExt;
use futures::future::BoxFuture;

use crate::alipayplus::client::Client;
use crate::app::errors::AppError;
use crate::app::kind::AlipayPlusAnswer;
use crate::app::kind::ContextField;
use status::PublicStatus;

/// A customer paying a merchant.
pub struct Payment;

impl Kind for Payment {
    crate::kind_folder!(name: "payment", statuses: PublicStatus, simulator: simulator::Payments);
    crate::books_in_ledger!();

    fn inbound(&self) -> &'static [InboundRoute] {
        inbound::ROUTES
    }

    /// Its expiry (`expiresAt`): past it, an unpaid payment is cancelled.
    fn deadline<'a>(&'a self, of: InstanceIn<'a>) -> BoxFuture<'a, Result<Option<DateTime<Utc>>, AppError>> {
        async move {
            Ok(rows::payment(&of.engine.db, of.instance.id)
                .await?
                .map(|p| p.expires_at))
        }
        .boxed()
    }

    fn ask_alipayplus<'a>(
        &'a self,
        about: InstanceIn<'a>,
        client: &'a Client,
    ) -> Option<BoxFuture<'a, Result<AlipayPlusAnswer, AppError>>> {
        Some(inquiry::ask_about_payment(about.engine, client, about.instance.id, None).boxed())
    }

    /// Its merchant, order, amount, the ids Alipay+ knows it by, and its refunds, disputes and
    /// customs declarations.
    fn context<'a>(&'a self, of: InstanceIn<'a>) -> BoxFuture<'a, Result<Vec<ContextField>, AppError>> {
        async move {
            let db = &of.engine.db;
            let Some(payment) = rows::payment(db, of.instance.id).await? else {
                return Ok(Vec::new());
            };
            let mut fields = vec![
                crate::app::merchants::context_line(of.engine, payment.merchant_id).await?,
                ContextField::text("merchantOrderId", &payment.merchant_order_id),
                ContextField::text(
                    "amount",
                    crate::domain::format_money(&payment.currency, payment.amount),
                ),
                ContextField::text("paymentRequestId", &payment.payment_request_id),
                ContextField::text("expiresAt", payment.expires_at.to_rfc3339()),
            ];
            if let Some(result) = rows::payment_result(db, payment.id).await? {
                fields.extend(
                    result
                        .alipay_payment_id
                        .map(|id| ContextField::text("Alipay+ paymentId", id)),
                );
                fields.extend(
                    result
                        .wallet_brand_name
                        .map(|name| ContextField::text("wallet", name)),
                );
            }
            for (refund, _) in crate::kinds::refund::rows::refunds_of(db, payment.id).await? {
                fields.push(ContextField::workflow("refund", refund.id));
            }
            for (dispute, _) in crate::kinds::dispute::rows::disputes_of(db, payment.id).await? {
                fields.push(ContextField::workflow("dispute", dispute.id));
            }
            for (declaration, _) in
                crate::kinds::customs_declaration::rows::declarations_of(db, payment.id).await?
            {
                fields.push(ContextField::workflow("customs declaration", declaration.id));
            }
            Ok(fields)
        }
        .boxed()
    }
}
