//! The payment kind: a customer paying a merchant through the Alipay+ checkout (`pay`,
//! `notifyPayment`, `inquiryPayment` polling, `cancelPayment` on expiry or request).

pub mod effects;
pub mod graphql;
pub mod graphql_input;
mod inbound;
pub mod inquiry;
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
use status::PublicStatus;

/// A customer paying a merchant.
pub struct Payment;

impl Kind for Payment {
    crate::kind_folder!(name: "payment", statuses: PublicStatus, simulator: simulator::Payments);

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
}
