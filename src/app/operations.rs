//! Operators: their keys (`admin_keys`, hashed, by name; the configured `admin.api_key` is the
//! operator `config`), the stuck list, one workflow's pending effects, the three actions
//! (retry, resume, force an event), each refused without a note and recorded in history as
//! `admin:<name>` with it, and "ask Alipay+": inquiryPayment now, shown beside our state and
//! recorded in history (a forced end is checked against it), the state unchanged.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use uuid::Uuid;

use super::Engine;
use super::errors::{AppError, check_length, invalid, require_note};
use crate::alipayplus::client::{Client, Outcome};
use crate::alipayplus::wire::{InquiryPaymentResponse, PaymentReference, ResultStatus};
use crate::store::entity::{admin_key, instance};
use crate::store::force::{self, ForceRefused};
use crate::store::operations::{self, Cursor, WorkflowFilter};
use crate::store::{self, EventInput, OperatorAction, payments as rows, refunds as refund_rows};
use crate::workflow::{AlipayPlusVerdict, EventName};

/// The operator a request comes from (`admin:<name>` in history).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operator {
    pub name: String,
}

impl Operator {
    /// The operator of the configured `admin.api_key`.
    pub fn from_config() -> Self {
        Self {
            name: "config".into(),
        }
    }

    pub fn actor(&self) -> String {
        format!("admin:{}", self.name)
    }
}

/// The prefix of operators' keys (merchants' start `pk_`), so a key is looked up in one table.
pub const ADMIN_KEY_PREFIX: &str = "ak_";

/// At most this many workflows a page.
pub const MAX_PAGE: u64 = 100;

/// A new operator key (shown once; only its hash is kept).
pub async fn create_admin_key(engine: &Engine, name: &str) -> Result<String, AppError> {
    check_length("name", name, 64)?;
    if name.trim().is_empty()
        || name == "config"
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    {
        return Err(invalid(
            "name",
            "must be letters, digits, '-', '_' or '.', and not 'config'",
        ));
    }
    let key = super::merchants::random_token(ADMIN_KEY_PREFIX);
    let row = admin_key::Model {
        id: Uuid::now_v7(),
        name: name.to_string(),
        key_hash: super::merchants::hash_api_key(&key),
        created_at: engine.clock.now(),
        revoked_at: None,
    };
    if !store::credentials::insert_admin_key(&engine.db, row).await? {
        return Err(invalid("name", format!("an operator key named '{name}' exists")));
    }
    Ok(key)
}

/// Revokes operator `name`'s key.
pub async fn revoke_admin_key(engine: &Engine, name: &str) -> Result<(), AppError> {
    if !store::credentials::revoke_admin_key(&engine.db, name, engine.clock.now()).await? {
        return Err(invalid("name", format!("no live operator key named '{name}'")));
    }
    Ok(())
}

pub async fn admin_keys(engine: &Engine) -> Result<Vec<admin_key::Model>, AppError> {
    Ok(store::credentials::admin_keys(&engine.db).await?)
}

/// The operator an `ak_` key belongs to (not cached: operators' requests are few, and a revoked
/// key is refused at once everywhere).
pub async fn authenticate(engine: &Engine, key: &str) -> Result<Option<Operator>, AppError> {
    let hash = super::merchants::hash_api_key(key);
    let found = store::credentials::admin_key_by_hash(&engine.db, &hash).await?;
    Ok(found.map(|row| Operator { name: row.name }))
}

/// One page of the stuck list and whether more follow.
pub async fn workflows(
    engine: &Engine,
    filter: &WorkflowFilter,
    first: Option<i32>,
    after: Option<&str>,
) -> Result<(Vec<instance::Model>, bool), AppError> {
    let first = match first {
        None => 20,
        Some(n) if (1..=MAX_PAGE as i32).contains(&n) => n as u64,
        Some(_) => return Err(invalid("first", format!("must be 1 to {MAX_PAGE}"))),
    };
    let after = match after {
        Some(text) => {
            Some(Cursor::decode(text).ok_or_else(|| invalid("after", "not a cursor of this list"))?)
        }
        None => None,
    };
    let mut rows =
        operations::stuck_workflows(&engine.db, filter, engine.clock.now(), first + 1, after).await?;
    let more = rows.len() as u64 > first;
    rows.truncate(first as usize);
    Ok((rows, more))
}

/// Retries or resumes workflow `id` (see [`OperatorAction`]).
pub async fn act(
    engine: &Engine,
    operator: &Operator,
    id: Uuid,
    action: OperatorAction,
    note: &str,
) -> Result<instance::Model, AppError> {
    let note = require_note(note)?;
    let done = store::operator_action(
        &engine.db,
        &engine.definitions,
        engine.clock.as_ref(),
        id,
        action,
        &operator.actor(),
        note,
    )
    .await
    .map_err(not_found_or_store)?;
    let after = done.map_err(AppError::InvalidTransition)?;
    engine.wake_relay();
    engine.announce(after.id);
    Ok(after)
}

fn not_found_or_store(error: store::StoreError) -> AppError {
    match error {
        store::StoreError::NotFound(_) => AppError::NotFound,
        other => other.into(),
    }
}

/// Applies `event` to workflow `id` as the operator, if its definition allows that event in the
/// current state and, for an end, Alipay+ can no longer act otherwise (see `store::force`: no
/// call in flight, and the answer a state asks for); the money rules of the write path hold as
/// for any event.
pub async fn force_transition(
    engine: &Engine,
    operator: &Operator,
    id: Uuid,
    event: &str,
    note: &str,
) -> Result<instance::Model, AppError> {
    let note = require_note(note)?;
    let name: EventName = event
        .parse()
        .map_err(|_| AppError::InvalidTransition(format!("'{event}' is not an event of any workflow")))?;
    let input = EventInput::new(name, operator.actor()).with_detail(json!({ "note": note, "forced": true }));
    let clock = engine.clock.as_ref();
    let applied = match force::force_event(&engine.db, &engine.definitions, clock, id, &input)
        .await
        .map_err(not_found_or_store)?
    {
        Ok(applied) => applied,
        Err(ForceRefused::NoTransition(why)) => return Err(AppError::InvalidTransition(why)),
        Err(ForceRefused::NeedsAnswer(why)) => return Err(AppError::AlipayPlusAnswerRequired(why)),
    };
    engine.wake_if_scheduled(&applied);
    engine.announce(id);
    match applied.outcome {
        store::Outcome::Transitioned { .. } => Ok(applied.instance),
        store::Outcome::Ignored { reason } | store::Outcome::Rejected { reason } => {
            Err(AppError::InvalidTransition(reason))
        }
    }
}

/// Alipay+'s answer about a payment (or a refund's payment), asked now, beside our state.
pub struct AlipayPlusAnswer {
    pub api: &'static str,
    /// SUCCEEDED, REJECTED or UNKNOWN: how the call went.
    pub outcome: &'static str,
    pub result_code: Option<String>,
    pub result_message: Option<String>,
    /// The payment's result at Alipay+ (`paymentResult.resultStatus/resultCode`).
    pub payment_result: Option<String>,
    /// The refund's transaction at Alipay+ (`transactionStatus`), when asked about a refund.
    pub refund_status: Option<String>,
    /// The whole answer as JSON (what was verified), or why there is none.
    pub answer: String,
    /// What it says of the object asked about, as a forced end is checked against it.
    pub verdict: AlipayPlusVerdict,
    pub our_state: String,
    pub asked_at: DateTime<Utc>,
}

/// Runs inquiryPayment for workflow `id` (a payment, or a refund's payment) and returns what
/// Alipay+ says. The state does not move; the answer is recorded in the workflow's history (by
/// `operator`), where a forced end is checked against it.
pub async fn ask_alipayplus(
    engine: &Engine,
    client: &Client,
    operator: &Operator,
    id: Uuid,
) -> Result<AlipayPlusAnswer, AppError> {
    let current = store::instance(&engine.db, id)
        .await
        .map_err(not_found_or_store)?;
    let (payment_id, refund_request_id) = match current.kind.as_str() {
        "payment" => (id, None),
        "refund" => {
            let refund = refund_rows::refund(&engine.db, id)
                .await?
                .ok_or(AppError::NotFound)?;
            (refund.payment_id, Some(refund.refund_request_id))
        }
        other => {
            return Err(AppError::InvalidTransition(format!(
                "Alipay+ has no inquiry for a {other}"
            )));
        }
    };
    let payment = rows::payment(&engine.db, payment_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let reference = PaymentReference {
        payment_request_id: Some(payment.payment_request_id),
        payment_id: None,
    };
    let outcome = client.inquiry_payment(reference).await;
    let verdict = match &refund_request_id {
        None => payment_verdict(&outcome),
        Some(request_id) => refund_verdict(&outcome, request_id),
    };
    let (label, response, reason) = match outcome {
        Outcome::Succeeded(response) => ("SUCCEEDED", Some(response), None),
        Outcome::Rejected { response, .. } => ("REJECTED", Some(response), None),
        Outcome::Unknown { reason, response } => ("UNKNOWN", response, Some(reason)),
    };
    let result = response.as_ref().map(|r| r.result.clone());
    let payment_result = response
        .as_ref()
        .and_then(|r| r.payment_result.as_ref())
        .map(|r| format!("{:?} {}", r.result_status, r.result_code));
    let refund_status = refund_request_id.and_then(|request_id| {
        response
            .as_ref()?
            .transactions
            .as_ref()?
            .iter()
            .find(|t| t.transaction_request_id.as_deref() == Some(request_id.as_str()))
            .map(|t| t.transaction_status.clone().unwrap_or_else(|| "UNKNOWN".into()))
    });
    let answer = match (&response, reason) {
        (Some(response), _) => serde_json::to_string(response).unwrap_or_default(),
        (None, Some(reason)) => Value::String(reason).to_string(),
        (None, None) => String::new(),
    };
    let recorded = serde_json::Map::from_iter([
        ("api".to_string(), json!("inquiryPayment")),
        ("outcome".to_string(), json!(label)),
        (
            "resultCode".to_string(),
            json!(result.as_ref().map(|r| r.result_code.clone())),
        ),
        ("paymentResult".to_string(), json!(payment_result)),
        ("refundStatus".to_string(), json!(refund_status)),
    ]);
    force::record_answer(
        &engine.db,
        engine.clock.as_ref(),
        id,
        &operator.actor(),
        verdict,
        recorded,
    )
    .await?;
    engine.announce(id);
    Ok(AlipayPlusAnswer {
        api: "inquiryPayment",
        verdict,
        outcome: label,
        result_code: result.as_ref().map(|r| r.result_code.clone()),
        result_message: result.and_then(|r| r.result_message),
        payment_result,
        refund_status,
        answer,
        our_state: current.state,
        asked_at: engine.clock.now(),
    })
}

/// What inquiryPayment says of the payment itself.
fn payment_verdict(outcome: &Outcome<InquiryPaymentResponse>) -> AlipayPlusVerdict {
    match outcome {
        Outcome::Succeeded(response) => match &response.payment_result {
            Some(result) => match result.result_status {
                ResultStatus::S => AlipayPlusVerdict::Success,
                ResultStatus::F if result.result_code == "ORDER_NOT_EXIST" => AlipayPlusVerdict::Absent,
                ResultStatus::F => AlipayPlusVerdict::Fail,
                ResultStatus::U => AlipayPlusVerdict::Processing,
                ResultStatus::Other => AlipayPlusVerdict::Unknown,
            },
            None => AlipayPlusVerdict::Unknown,
        },
        Outcome::Rejected { code, .. } if code == "ORDER_NOT_EXIST" => AlipayPlusVerdict::Absent,
        Outcome::Rejected { .. } | Outcome::Unknown { .. } => AlipayPlusVerdict::Unknown,
    }
}

/// What inquiryPayment says of refund `request_id` (among the payment's transactions).
fn refund_verdict(outcome: &Outcome<InquiryPaymentResponse>, request_id: &str) -> AlipayPlusVerdict {
    let Outcome::Succeeded(response) = outcome else {
        return AlipayPlusVerdict::Unknown;
    };
    // Whether Cashier payments list their refunds is UNCONFIRMED (ALIPAYPLUS.md 3.5): without a
    // list, nothing is known (re-sending the refund with its refundRequestId is what settles it).
    let Some(transactions) = &response.transactions else {
        return AlipayPlusVerdict::Unknown;
    };
    let listed = transactions
        .iter()
        .find(|t| t.transaction_request_id.as_deref() == Some(request_id));
    match listed.map(|t| t.transaction_status.as_deref()) {
        None => AlipayPlusVerdict::Absent,
        Some(Some("SUCCESS")) => AlipayPlusVerdict::Success,
        Some(Some("FAIL")) => AlipayPlusVerdict::Fail,
        Some(Some("PROCESSING" | "PENDING")) => AlipayPlusVerdict::Processing,
        Some(_) => AlipayPlusVerdict::Unknown,
    }
}
