//! initiateRetrieval and initiateEscalation: Alipay+ opening a dispute. Recorded under its
//! rules ([`receive`]): idempotent by `disputeRequestId`, `REPEAT_REQ_INCONSISTENT` for the same
//! id about another payment (ALIPAYPLUS.md 1.6), refused (and stored nowhere) for a payment not
//! ours.

use futures::FutureExt;
use futures::future::BoxFuture;

use crate::alipayplus::wire::{InitiateEscalationRequest, InitiateRetrievalRequest};
use crate::app::Engine;
use crate::app::kind::{Inbound, InboundAnswer, InboundRoute};
use crate::kinds::dispute::entity as dispute;
use crate::kinds::dispute::use_cases::{Initiation, receive};

pub(super) const ROUTES: &[InboundRoute] = &[
    InboundRoute {
        api: "initiateRetrieval",
        handle: initiate_retrieval,
    },
    InboundRoute {
        api: "initiateEscalation",
        handle: initiate_escalation,
    },
];

fn initiate_retrieval(engine: &Engine, inbound: Inbound) -> BoxFuture<'_, InboundAnswer> {
    async move {
        let request: InitiateRetrievalRequest = match inbound.parsed() {
            Ok(request) => request,
            Err(refused) => return refused,
        };
        let initiation = Initiation {
            kind: dispute::RETRIEVAL,
            dispute_request_id: &request.dispute_request_id,
            payment_request_id: &request.payment_request_id,
            occurred_at: request.dispute_occur_time.as_deref(),
            reason: request
                .request_information_type
                .as_ref()
                .map(|types| types.join(",")),
            amount: None,
        };
        opened(engine, inbound, initiation).await
    }
    .boxed()
}

fn initiate_escalation(engine: &Engine, inbound: Inbound) -> BoxFuture<'_, InboundAnswer> {
    async move {
        let request: InitiateEscalationRequest = match inbound.parsed() {
            Ok(request) => request,
            Err(refused) => return refused,
        };
        let initiation = Initiation {
            kind: dispute::ESCALATION,
            dispute_request_id: &request.dispute_request_id,
            payment_request_id: &request.payment_request_id,
            occurred_at: request.dispute_occur_time.as_deref(),
            reason: None,
            amount: request
                .escalation_amount
                .as_ref()
                .map(|amount| (amount.currency.clone(), amount.value)),
        };
        opened(engine, inbound, initiation).await
    }
    .boxed()
}

/// Records `initiation` with its journal entry, and how Alipay+ is answered.
async fn opened(engine: &Engine, inbound: Inbound, initiation: Initiation<'_>) -> InboundAnswer {
    let call = inbound.call(initiation.dispute_request_id, Some(initiation.payment_request_id));
    let row = call.into_row(engine.clock.as_ref());
    match receive(engine, initiation, row).await {
        Ok(Ok(())) => InboundAnswer::Acknowledged,
        Ok(Err((code, message))) => InboundAnswer::Refused { code, message },
        Err(e) => InboundAnswer::Unavailable(e.to_string()),
    }
}
