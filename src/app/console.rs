//! Operators: their keys (`admin_keys`, hashed, by name; the configured `admin.api_key` is the
//! operator `config`), the stuck list, one workflow's pending effects, the three actions
//! (retry, resume, force an event), each refused without a note and recorded in history as
//! `admin:<name>` with it, and "ask Alipay+": inquiryPayment now, shown beside our state and
//! recorded in history (a forced end is checked against it), the state unchanged.

use chrono::{DateTime, Utc};
use serde_json::json;
use uuid::Uuid;

use super::Engine;
use super::errors::{AppError, check_length, invalid, require_note};
use super::kind::{AlipayPlusAnswer, InstanceIn, KindList};
pub use super::operator::{Operator, page_size};
use super::roles::AdminRole;
use crate::alipayplus::client::Client;
use crate::store::entity::{admin_key, instance};
use crate::store::force;
use crate::store::stuck::{self, Cursor, WorkflowFilter};
use crate::store::{self, ActedBy, EventInput, OperatorAction};
use crate::workflow::EventName;

/// The prefix of operators' keys (merchants' start `pk_`), so a key is looked up in one table.
pub const ADMIN_KEY_PREFIX: &str = "ak_";

/// A new key for operator `name` with `role` (shown once; only its hash is kept).
pub async fn create_admin_key(engine: &Engine, name: &str, role: AdminRole) -> Result<String, AppError> {
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
    let key = super::tokens::random_token(ADMIN_KEY_PREFIX);
    let row = admin_key::Model {
        id: Uuid::now_v7(),
        name: name.to_string(),
        role: role.to_string(),
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
    // A role this version does not know reads only.
    Ok(found.map(|row| Operator {
        role: row.role.parse().unwrap_or(AdminRole::Viewer),
        name: row.name,
    }))
}

/// One page of the stuck list and whether more follow.
pub async fn workflows(
    engine: &Engine,
    filter: &WorkflowFilter,
    first: Option<i32>,
    after: Option<&str>,
) -> Result<(Vec<instance::Model>, bool), AppError> {
    let first = page_size(first)?;
    let after = match after {
        Some(text) => {
            Some(Cursor::decode(text).ok_or_else(|| invalid("after", "not a cursor of this list"))?)
        }
        None => None,
    };
    let rows = stuck::stuck_workflows(&engine.db, filter, engine.clock.now(), first + 1, after).await?;
    Ok(super::page::cut(rows, first))
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
    let by = ActedBy {
        activity: Some(operator.activity(engine.clock.now(), action.mutation(), &[id.to_string()], note)),
        ..ActedBy::noted(operator.actor(), note)
    };
    let done = store::operator_action(&engine.db, engine.decider(), id, action, &by)
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
/// for any event. Into a state that settles money (where four eyes are on) it is only asked
/// for: APPROVAL_REQUIRED, until a second operator approves (`super::four_eyes`).
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
    let current = store::instance(&engine.db, id)
        .await
        .map_err(not_found_or_store)?;
    let input = EventInput::new(name, operator.actor())
        .with_detail(json!({ "note": note, "forced": true }))
        .with_activity(operator.activity(engine.clock.now(), "forceTransition", &[id.to_string()], note));
    let four_eyes = super::four_eyes::needs_approval(engine, &current, name);
    let forced = if four_eyes {
        force::would_force(&engine.db, engine.decider(), id, &input)
            .await
            .map(|allowed| allowed.map(|()| None))
    } else {
        force::force_event(&engine.db, engine.decider(), id, &input)
            .await
            .map(|forced| forced.map(Some))
    };
    match forced
        .map_err(not_found_or_store)?
        .map_err(super::four_eyes::refused)?
    {
        Some(applied) => super::four_eyes::forced_outcome(engine, applied),
        None => Err(super::four_eyes::request(engine, operator, &current, name, note).await),
    }
}

/// Alipay+'s answer about an instance, asked now, beside our state.
pub struct AskedAlipayPlus {
    pub answer: AlipayPlusAnswer,
    pub our_state: String,
    pub asked_at: DateTime<Utc>,
}

/// Asks Alipay+ about workflow `id` (of one of `kinds`, the kind saying how) and returns what it
/// says. The state does not move; the answer is recorded in the workflow's history (by
/// `operator`), where a forced end is checked against it.
pub async fn ask_alipayplus(
    engine: &Engine,
    client: &Client,
    kinds: KindList,
    operator: &Operator,
    id: Uuid,
) -> Result<AskedAlipayPlus, AppError> {
    let current = store::instance(&engine.db, id)
        .await
        .map_err(not_found_or_store)?;
    let asked = kinds
        .named(&current.kind)
        .and_then(|kind| {
            let about = InstanceIn {
                engine,
                instance: &current,
            };
            kind.ask_alipayplus(about, client)
        })
        .ok_or_else(|| {
            AppError::InvalidTransition(format!("Alipay+ has no inquiry for a {}", current.kind))
        })?;
    let answer = asked.await?;
    force::record_answer(
        &engine.db,
        engine.clock.as_ref(),
        id,
        &operator.actor(),
        answer.verdict,
        answer.recorded.clone(),
    )
    .await?;
    let verdict = answer.verdict.to_string();
    super::activity::record(
        engine,
        operator,
        "askAlipayPlus",
        Some(&current.kind),
        &[id.to_string()],
        &format!("Alipay+ answered {verdict}"),
    )
    .await?;
    engine.announce(id);
    Ok(AskedAlipayPlus {
        answer,
        our_state: current.state,
        asked_at: engine.clock.now(),
    })
}
