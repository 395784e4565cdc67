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
use super::roles::AdminRole;
use crate::alipayplus::client::Client;
use crate::store::entity::{admin_key, instance};
use crate::store::force::{self, ForceRefused};
use crate::store::stuck::{self, Cursor, WorkflowFilter};
use crate::store::{self, EventInput, OperatorAction};
use crate::workflow::EventName;

/// The operator a request comes from (`admin:<name>` in history) and what its key may do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operator {
    pub name: String,
    pub role: AdminRole,
}

impl Operator {
    /// The operator of the configured `admin.api_key`: an admin.
    pub fn from_config() -> Self {
        Self {
            name: "config".into(),
            role: AdminRole::Admin,
        }
    }

    pub fn actor(&self) -> String {
        format!("admin:{}", self.name)
    }

    /// FORBIDDEN naming `needed` unless this operator's role allows it.
    pub fn require(&self, needed: AdminRole) -> Result<(), AppError> {
        if self.role.allows(needed) {
            Ok(())
        } else {
            Err(AppError::RoleRequired {
                needed,
                has: self.role,
            })
        }
    }
}

/// The prefix of operators' keys (merchants' start `pk_`), so a key is looked up in one table.
pub const ADMIN_KEY_PREFIX: &str = "ak_";

/// At most this many workflows a page.
pub const MAX_PAGE: u64 = 100;

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
    let done = store::operator_action(&engine.db, engine.decider(), id, action, &operator.actor(), note)
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
    let applied = match force::force_event(&engine.db, engine.decider(), id, &input)
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
    engine.announce(id);
    Ok(AskedAlipayPlus {
        answer,
        our_state: current.state,
        asked_at: engine.clock.now(),
    })
}
