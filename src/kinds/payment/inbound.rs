//! notifyPayment: Alipay+ telling us a payment's result. An unknown `paymentRequestId` is
//! refused (`ORDER_NOT_EXIST`) and stored nowhere; an amount that differs from ours parks the
//! payment for an operator (acknowledged, so Alipay+ stops re-sending it).

use futures::FutureExt;
use futures::future::BoxFuture;

use crate::alipayplus::wire::NotifyPaymentRequest;
use crate::app::Engine;
use crate::app::kind::{Inbound, InboundAnswer, InboundRoute};
use crate::kinds::payment::rows;
use crate::kinds::payment::use_cases::{NotificationHandled, handle_notification};

pub(super) const ROUTES: &[InboundRoute] = &[InboundRoute {
    api: "notifyPayment",
    handle: notify_payment,
}];

fn notify_payment(engine: &Engine, inbound: Inbound) -> BoxFuture<'_, InboundAnswer> {
    async move {
        let notification: NotifyPaymentRequest = match inbound.parsed() {
            Ok(notification) => notification,
            Err(refused) => return refused,
        };
        let payment = match rows::payment_by_request_id(&engine.db, &notification.payment_request_id).await {
            Ok(Some(found)) => found,
            Ok(None) => {
                return InboundAnswer::Refused {
                    code: "ORDER_NOT_EXIST",
                    message: format!("no payment '{}'", notification.payment_request_id),
                };
            }
            Err(e) => return InboundAnswer::Unavailable(e.to_string()),
        };
        let call = inbound.call(
            &notification.payment_request_id,
            notification.payment_id.as_deref(),
        );
        match handle_notification(engine, &payment, &notification, call).await {
            Ok(NotificationHandled::Parked(reason)) => {
                tracing::warn!(payment_request_id = %notification.payment_request_id, "{reason}");
                InboundAnswer::Acknowledged
            }
            Ok(NotificationHandled::Applied) => InboundAnswer::Acknowledged,
            Err(e) => InboundAnswer::Unavailable(e.to_string()),
        }
    }
    .boxed()
}
