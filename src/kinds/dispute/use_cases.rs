//! Disputes (ALIPAYPLUS.md 5): Alipay+'s initiations received (verified by the route, then
//! recorded under Alipay+'s rules, see `store::disputes`), their response windows, and the
//! merchant's responses.
//!
//! Windows, from `disputeOccurTime` (our receipt if absent): a retrieval is answered within 20
//! days (the digest); an escalation within `disputes.escalation_response_window`, 10 days by
//! default. UNCONFIRMED: the digest states no escalation deadline for ACQPs; 10 days is the
//! sibling rule Antom imposes on its merchants, the conservative reading. The merchant is reminded at 80% of the window (`remindAt`); at
//! `respondBy` the dispute expires, parked for an operator (workflows/dispute.toml).

use super::names;
use crate::app::merchant_lists::{ListRequest, merchant_page};
use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::alipayplus::signing::timestamp;
use crate::app::auth::Principal;
use crate::app::errors::{AppError, check_length, invalid};
use crate::app::money::parse_amount;
use crate::app::{Engine, status_of};
use crate::kinds::dispute::entity as dispute;
use crate::kinds::dispute::evidence::{self as dispute_evidence, Document};
use crate::kinds::dispute::rows::{self as disputes, DisputeRefund, Opened, Received};
use crate::kinds::payment::rows;
use crate::kinds::payment::status::PublicStatus;
use crate::store::entity::{inbound, instance, refund};
use crate::store::idempotency::{IdempotencyKey, request_hash};
use crate::store::{EventInput, NewInstance, StoreError};

pub const RETRIEVAL_WINDOW_DAYS: i64 = 20;

/// A dispute with its instance.
#[derive(Debug, Clone)]
pub struct DisputeView {
    pub dispute: dispute::Model,
    pub instance: instance::Model,
}

impl DisputeView {
    /// NEEDS_RESPONSE, RESPONDING (a refused response too: it waits for an operator), RESPONDED
    /// or EXPIRED: its state's status in `workflows/dispute.toml`.
    pub fn status<'a>(&self, engine: &'a Engine) -> &'a str {
        status_of(engine, &self.instance)
    }
}

/// An initiation Alipay+ sent, verified.
pub struct Initiation<'a> {
    pub kind: &'static str,
    pub dispute_request_id: &'a str,
    pub payment_request_id: &'a str,
    pub occurred_at: Option<&'a str>,
    pub reason: Option<String>,
    /// An escalation's amount: (currency, minor units).
    pub amount: Option<(String, i64)>,
}

/// How an initiation is answered: `Ok` is acknowledged (S), `Err` refused with an Alipay+ code.
pub type Answer = Result<(), (&'static str, String)>;

/// Records an initiation (with `call`, its journal row) if the payment is ours, and acknowledges
/// it: Alipay+ enforces the dispute limits and the synchronous answer only states receipt
/// (ALIPAYPLUS.md 5.1). What we find wrong with it (the payment not succeeded here, an amount in
/// another currency, a limit broken as we count it) parks it for an operator instead of refusing
/// it: a refused escalation is one we never answer, and its refund is lost by default. The same
/// `disputeRequestId` again with the same content is acknowledged again; with other content it is
/// refused (`REPEAT_REQ_INCONSISTENT`).
pub async fn receive(
    engine: &Engine,
    initiation: Initiation<'_>,
    call: inbound::Model,
) -> Result<Answer, StoreError> {
    let Some((payment, payment_instance)) =
        rows::payment_by_request_id(&engine.db, initiation.payment_request_id).await?
    else {
        return Ok(Err(("ORDER_NOT_EXIST", "no such payment".into())));
    };
    let mut concerns = Vec::new();
    let payment_status = PublicStatus::of(engine, &payment_instance);
    if payment_status != PublicStatus::Succeeded {
        concerns.push(format!("the payment is {payment_status} here, not succeeded"));
    }
    if crate::app::merchants::merchant(engine, payment.merchant_id)
        .await?
        .is_none()
    {
        return Ok(Err(("ORDER_NOT_EXIST", "no such payment".into())));
    }
    let now = engine.clock.now();
    let occurred_at = initiation
        .occurred_at
        .and_then(|time| DateTime::parse_from_rfc3339(time).ok())
        .map_or(now, |time| time.with_timezone(&Utc))
        .min(now);
    let window = if initiation.kind == dispute::ESCALATION {
        engine.escalation_response_window
    } else {
        Duration::days(RETRIEVAL_WINDOW_DAYS)
    };
    let respond_by = occurred_at + window;
    let remind_at = occurred_at + window * 4 / 5;
    if let Some((currency, _)) = &initiation.amount
        && *currency != payment.currency
    {
        concerns.push(format!(
            "escalationAmount is in {currency}, the payment in {}",
            payment.currency
        ));
    }
    let row = dispute::Model {
        id: Uuid::nil(),
        dispute_request_id: initiation.dispute_request_id.to_string(),
        kind: initiation.kind.to_string(),
        payment_id: payment.id,
        merchant_id: payment.merchant_id,
        reason: initiation.reason,
        currency: initiation.amount.as_ref().map(|(currency, _)| currency.clone()),
        escalation_amount: initiation.amount.map(|(_, value)| value),
        occurred_at,
        respond_by,
        response: None,
        refund_id: None,
        created_at: now,
    };
    let new_instance = NewInstance {
        actor: "alipayplus".into(),
        data: json!({
            "respondBy": respond_by.to_rfc3339(),
            "remindAt": remind_at.to_rfc3339(),
        }),
    };
    let paid_at = payment.created_at;
    let opened = disputes::open_dispute(
        &engine.db,
        engine.decider(),
        &row,
        paid_at,
        &new_instance,
        &Received { call, concerns },
    )
    .await?;
    Ok(match opened {
        Opened::Created(applied, _) => {
            engine.wake_relay();
            engine.announce(applied.instance.id);
            Ok(())
        }
        Opened::Again(_) => Ok(()),
        Opened::Inconsistent => Err((
            "REPEAT_REQ_INCONSISTENT",
            "this disputeRequestId was sent before with other content".into(),
        )),
    })
}

/// Dispute `id`, if `principal` may see it.
pub async fn get_dispute(engine: &Engine, principal: &Principal, id: Uuid) -> Result<DisputeView, AppError> {
    let (dispute, instance) = disputes::dispute_with_instance(&engine.db, id)
        .await?
        .ok_or(AppError::NotFound)?;
    if !principal.may_see_owner(dispute.merchant_id) {
        return Err(AppError::NotFound);
    }
    Ok(DisputeView { dispute, instance })
}

/// A payment's disputes (the caller may see the payment).
pub async fn disputes_of(engine: &Engine, payment_id: Uuid) -> Result<Vec<DisputeView>, AppError> {
    Ok(disputes::disputes_of(&engine.db, payment_id)
        .await?
        .into_iter()
        .map(|(dispute, instance)| DisputeView { dispute, instance })
        .collect())
}

/// A page of `first` of the merchant's disputes that `request` asks for, newest first; `true` if
/// there are more.
pub async fn list_disputes(
    engine: &Engine,
    principal: &Principal,
    first: u64,
    request: &ListRequest,
) -> Result<(Vec<DisputeView>, bool), AppError> {
    let (rows, more) =
        merchant_page::<dispute::Entity>(engine, principal, "dispute", &disputes::LISTED_BY, first, request)
            .await?;
    let views = rows
        .into_iter()
        .map(|(dispute, instance)| DisputeView { dispute, instance })
        .collect();
    Ok((views, more))
}

/// A merchant's response to a dispute: the body sent to Alipay+ (without `disputeRequestId`,
/// added when sent).
pub enum Response {
    Retrieval {
        /// `0001`, `0002` or `0003`.
        response_code: &'static str,
        /// The merchant's own note, kept in the dispute's history: responseRetrieval has no
        /// such field, so it never reaches Alipay+.
        note: Option<String>,
        /// A receipt written as text, attached as a `TRANSACTION_RECEIPT` document.
        transaction_receipt: Option<String>,
        proof_of_delivery: Option<String>,
        documents: Vec<Document>,
    },
    Escalation {
        decision: EscalationDecision,
        /// (currency, minor units as written): required to accept in part; to accept in full,
        /// the escalation amount if given (the payment's amount when Alipay+ gave none).
        refund_amount: Option<(String, String)>,
        remarks: Option<String>,
    },
}

/// A merchant's answer to an escalation; accepting one refunds the payment (in part or in full)
/// through the refund workflow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EscalationDecision {
    AcceptRefund,
    AcceptPartialRefund,
    RefuseRefund,
}

impl EscalationDecision {
    /// The wire `refundType`.
    fn refund_type(self) -> &'static str {
        match self {
            EscalationDecision::AcceptRefund => "ACCEPT_REFUND",
            EscalationDecision::AcceptPartialRefund => "ACCEPT_PARTIAL_REFUND",
            EscalationDecision::RefuseRefund => "REFUSE_REFUND",
        }
    }
}

/// The refund `decision` makes on an escalation, with the payment's amount it must fit in;
/// none for a refusal. Checked before anything is written: the amount is in the payment's
/// currency, a partial one is given and at most the escalation amount, a full one is the
/// escalation amount.
async fn accepted_refund(
    engine: &Engine,
    escalation: &dispute::Model,
    decision: EscalationDecision,
    amount: Option<(String, String)>,
) -> Result<Option<(refund::Model, i64)>, AppError> {
    if decision == EscalationDecision::RefuseRefund {
        return Ok(None);
    }
    let (payment, _) = rows::payment_with_instance(&engine.db, escalation.payment_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let asked = escalation.escalation_amount;
    let given = match &amount {
        Some((currency, value)) => {
            if *currency != payment.currency {
                return Err(invalid(
                    "input.refundAmount.currency",
                    format!("a refund is in the payment currency, {}", payment.currency),
                ));
            }
            Some(parse_amount("input.refundAmount", currency, value)?)
        }
        None => None,
    };
    let amount = match decision {
        EscalationDecision::AcceptPartialRefund => {
            let given =
                given.ok_or_else(|| invalid("input.refundAmount", "is required to accept in part"))?;
            if asked.is_some_and(|asked| given > asked) {
                return Err(invalid(
                    "input.refundAmount.value",
                    "must be at most the escalation amount",
                ));
            }
            given
        }
        _ => {
            let full = asked.unwrap_or(payment.amount);
            if given.is_some_and(|given| given != full) {
                return Err(invalid(
                    "input.refundAmount.value",
                    "a full refund is the escalation amount; accept in part for less",
                ));
            }
            full
        }
    };
    let row = refund::Model {
        id: Uuid::nil(),
        payment_id: payment.id,
        merchant_id: payment.merchant_id,
        refund_request_id: refund::new_request_id(),
        currency: payment.currency.clone(),
        amount,
        reason: Some(format!("escalation {}", escalation.dispute_request_id)),
        created_at: engine.clock.now(),
        metadata: None,
    };
    Ok(Some((row, payment.amount)))
}

/// Records the merchant's response to dispute `id` and starts sending it; the same
/// `idempotency_key` with the same response returns the dispute as it is.
pub async fn respond(
    engine: &Engine,
    principal: &Principal,
    operator: Option<&crate::app::operator::Operator>,
    id: Uuid,
    response: Response,
    idempotency_key: &str,
) -> Result<DisputeView, AppError> {
    check_length("idempotencyKey", idempotency_key, 255)?;
    let view = get_dispute(engine, principal, id).await?;
    // A merchant answers its own; an operator answers for the dispute's merchant, by name.
    let (merchant, actor) = match (principal, operator) {
        (Principal::Merchant(merchant), _) => ((**merchant).clone(), format!("merchant:{}", merchant.id)),
        (Principal::Admin, Some(operator)) => (
            crate::app::merchants::merchant(engine, view.dispute.merchant_id)
                .await?
                .ok_or(AppError::NotFound)?,
            operator.actor(),
        ),
        (Principal::Admin, None) => return Err(AppError::Forbidden),
    };
    let merchant = &merchant;
    let mut refund: Option<(refund::Model, i64)> = None;
    let mut note = None;
    let mut receipt_from_records = false;
    let (kind, mut body) = match response {
        Response::Retrieval {
            response_code,
            note: merchant_note,
            transaction_receipt,
            proof_of_delivery,
            documents,
        } => {
            for (field, text) in [
                ("remarks", &merchant_note),
                ("transactionReceipt", &transaction_receipt),
                ("proofOfDelivery", &proof_of_delivery),
            ] {
                if let Some(text) = text {
                    check_length(field, text, 4000)?;
                }
            }
            note = merchant_note;
            let mut body = json!({ "responseCode": response_code });
            let attachments =
                dispute_evidence::other_documentation(transaction_receipt.as_deref(), &documents)?;
            receipt_from_records = view.dispute.kind == dispute::RETRIEVAL
                && dispute_evidence::needs_receipt(&view.dispute, response_code, &attachments);
            if !attachments.is_empty() {
                body["otherDocumentation"] = Value::Array(attachments);
            }
            if let Some(proof) = proof_of_delivery {
                body["proofOfDelivery"] = json!({ "deliveryTrackingNo": proof });
            }
            (dispute::RETRIEVAL, body)
        }
        Response::Escalation {
            decision,
            refund_amount,
            remarks,
        } => {
            if let Some(remarks) = &remarks {
                check_length("remarks", remarks, 4000)?;
            }
            let mut body = json!({ "refundType": decision.refund_type() });
            if let Some(remarks) = remarks {
                body["remarks"] = Value::String(remarks);
            }
            if view.dispute.kind == dispute::ESCALATION {
                refund = accepted_refund(engine, &view.dispute, decision, refund_amount).await?;
            }
            if let Some((row, _)) = &refund {
                body["refundAmount"] = json!({ "currency": row.currency, "value": row.amount.to_string() });
            }
            (dispute::ESCALATION, body)
        }
    };
    if view.dispute.kind != kind {
        return Err(invalid(
            "input.disputeId",
            format!("is a {}", view.dispute.kind.to_lowercase()),
        ));
    }
    let scope = format!("merchant:{}:dispute-response", merchant.id);
    let mut request = json!({ "dispute": id, "response": body });
    if let Some(note) = &note {
        request["note"] = Value::String(note.clone());
    }
    let hash = request_hash(&request);
    let key = IdempotencyKey {
        scope: &scope,
        key: idempotency_key,
        request_hash: &hash,
    };
    if receipt_from_records {
        // Built after the request's fingerprint: a refund in between changes the receipt, not
        // what the merchant asked.
        body["transactionReceipt"] = dispute_evidence::receipt_from_records(engine, &view.dispute).await?;
    }
    if refund.is_some() {
        // The refund starts with the response (ALIPAYPLUS.md 5.2: executed by us, with the
        // ordinary refund API, by plannedRefundTime).
        body["plannedRefundTime"] = Value::String(timestamp(engine.clock.now()));
    }
    let refund_instance = crate::app::merchants::new_instance(merchant);
    let mut responded = EventInput::new(names::DISPUTE_RESPONDED, actor);
    if let Some(operator) = operator {
        let action = if kind == dispute::RETRIEVAL {
            "respondToRetrieval"
        } else {
            "respondToEscalation"
        };
        let remarks = note.clone().unwrap_or_default();
        responded = responded.with_activity(operator.activity(
            engine.clock.now(),
            action,
            &[id.to_string()],
            &remarks,
        ));
    }
    if let Some(note) = note {
        responded = responded.with_detail(json!({ "note": note }));
    }
    let recorded = disputes::record_response(
        &engine.db,
        engine.decider(),
        key,
        id,
        &body,
        refund.as_ref().map(|(row, paid)| DisputeRefund {
            row,
            paid: *paid,
            instance: &refund_instance,
        }),
        responded,
    )
    .await?;
    match recorded {
        disputes::Responded::Recorded { refund } => {
            engine.wake_relay();
            engine.announce(id);
            if let Some(refund) = refund {
                engine.announce(refund);
            }
        }
        disputes::Responded::Exceeds { refundable } => {
            return Err(AppError::RefundExceedsRefundable {
                requested: refund.map_or(0, |(row, _)| row.amount),
                refundable,
            });
        }
        disputes::Responded::SameKeyBefore => {}
        disputes::Responded::KeyReused => return Err(AppError::IdempotencyKeyReused),
        disputes::Responded::Expired => return Err(AppError::DisputeExpired),
        disputes::Responded::AlreadyResponded => return Err(AppError::AlreadyResponded),
    }
    get_dispute(engine, principal, id).await
}
