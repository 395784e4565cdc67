//! notifyRegistrationStatus: Alipay+ telling us the wallets' answers to a registration. It is
//! found by our request id, else the merchant's unfinished one; one about no registration of
//! ours is refused (`RECORD_NOT_FOUND`) and stored nowhere.

use futures::FutureExt;
use futures::future::BoxFuture;

use crate::alipayplus::wire::NotifyRegistrationStatusRequest;
use crate::app::Engine;
use crate::app::kind::{Inbound, InboundAnswer, InboundRoute};
use crate::kinds::registration::use_cases::handle_notification;

pub(super) const ROUTES: &[InboundRoute] = &[InboundRoute {
    api: "notifyRegistrationStatus",
    handle: notify_registration_status,
}];

fn notify_registration_status(engine: &Engine, inbound: Inbound) -> BoxFuture<'_, InboundAnswer> {
    async move {
        let notification: NotifyRegistrationStatusRequest = match inbound.parsed() {
            Ok(notification) => notification,
            Err(refused) => return refused,
        };
        let reference = notification
            .registration_request_id
            .as_deref()
            .unwrap_or(&notification.reference_merchant_id);
        let call = inbound.call(reference, Some(&notification.reference_merchant_id));
        match handle_notification(engine, &notification, call).await {
            Ok(true) => InboundAnswer::Acknowledged,
            Ok(false) => InboundAnswer::Refused {
                code: "RECORD_NOT_FOUND",
                message: format!("no registration '{reference}'"),
            },
            Err(e) => InboundAnswer::Unavailable(e.to_string()),
        }
    }
    .boxed()
}
