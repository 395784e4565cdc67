//! Cases: what a finished reconciliation run does to the cases of its day ([`follow_run`]: each
//! discrepancy opens one, or refreshes the open case it already has; one whose case was resolved
//! opens a new case; a case the run no longer shows is closed naming the run), and finance's work on them (assign,
//! resolve, write off: the `finance` role and a note each, in history with the operator's name).
//! A case's due date is a number of business days (Monday to Friday, UTC+8; public holidays
//! are not known here) after it opened (`reconciliation.case_due_business_days`).

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Datelike, Duration, FixedOffset, Utc, Weekday};
use serde_json::json;
use uuid::Uuid;

use super::entity::Model as Case;
use super::names;
use super::rows::{self, ACTOR};
use crate::app::Engine;
use crate::app::errors::{AppError, invalid, require_note};
use crate::app::operator::Operator;
use crate::app::roles::AdminRole;
use crate::store::apply::apply_event_in;
use crate::store::entity::{instance, reconciliation_run as run};
use crate::store::{EventInput, Outcome, StoreError, apply_event, credentials, retry_transient};

/// Discrepancies read (and cases written) per transaction.
const PAGE: u64 = 500;

/// The workflow states of a case nobody needs to work on.
const CLOSED: [&str; 2] = ["resolved", "written_off"];

/// The public statuses, in the order a case goes through them.
pub const STATUSES: [&str; 4] = ["OPEN", "INVESTIGATING", "RESOLVED", "WRITTEN_OFF"];

/// `days` business days (Monday to Friday, UTC+8) after `from`.
pub fn business_days_after(from: DateTime<Utc>, days: u32) -> DateTime<Utc> {
    let utc8 = FixedOffset::east_opt(8 * 3600).expect("a valid offset");
    let mut at = from.with_timezone(&utc8);
    let mut left = days;
    while left > 0 {
        at += Duration::days(1);
        if !matches!(at.weekday(), Weekday::Sat | Weekday::Sun) {
            left -= 1;
        }
    }
    at.with_timezone(&Utc)
}

/// What a run did to the cases of its day.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Followed {
    pub opened: usize,
    /// Opened again for a discrepancy whose earlier case was resolved.
    pub reopened: usize,
    pub closed: usize,
}

/// Brings the cases of `run`'s day, agreement and run kind in line with its discrepancies (see
/// the module docs); `waiting` names the payments and refunds (by request id) whose inquiry the
/// run started, which their STATUS_MISMATCH cases wait for. Run again, it changes nothing more.
pub async fn follow_run(
    engine: &Engine,
    run: &run::Model,
    waiting: &HashMap<String, Uuid>,
) -> Result<Followed, AppError> {
    let now = engine.clock.now();
    let due_at = business_days_after(now, engine.case_due_business_days);
    let known: HashMap<String, rows::Known> = rows::of_day(&engine.db, run)
        .await?
        .into_iter()
        .map(|case| (case.key.clone(), case))
        .collect();
    let mut seen = HashSet::new();
    let mut followed = Followed::default();
    let mut after = None;
    loop {
        let found =
            crate::store::reconciliation::discrepancies(&engine.db, run.id, None, after, PAGE).await?;
        let Some(last) = found.last() else {
            break;
        };
        after = Some(last.id);
        let batch: Vec<Case> = found
            .iter()
            .map(|found| {
                let object = waiting
                    .get(&found.reference)
                    .filter(|_| found.kind == "STATUS_MISMATCH")
                    .copied();
                rows::new_case(run, found, object, due_at, now)
            })
            .filter(|case| seen.insert(case.case_key.clone()))
            .collect();
        let (opened, reopened) = retry_transient(|| async {
            let txn = engine.db.begin().await?;
            let (mut opened, mut reopened) = (0, 0);
            for case in &batch {
                match known.get(&case.case_key) {
                    None => {
                        rows::open_in(&txn, engine.decider(), case.clone()).await?;
                        opened += 1;
                    }
                    Some(known) if known.state == "resolved" => {
                        rows::set_aside_in(&txn, known.id, &known.key).await?;
                        rows::open_in(&txn, engine.decider(), case.clone()).await?;
                        reopened += 1;
                    }
                    Some(known) => rows::refresh_in(&txn, known.id, case).await?,
                }
            }
            txn.commit().await?;
            Ok::<_, StoreError>((opened, reopened))
        })
        .await?;
        followed.opened += opened;
        followed.reopened += reopened;
    }
    for gone in known
        .values()
        .filter(|case| !seen.contains(&case.key) && !CLOSED.contains(&case.state.as_str()))
    {
        let note = format!(
            "run {} of {} no longer shows this discrepancy",
            run.id, run.report_date
        );
        let cleared = EventInput::new(names::DISCREPANCY_CLEARED, ACTOR)
            .with_detail(json!({ "runId": run.id, "note": note }));
        apply_event(&engine.db, engine.decider(), gone.id, cleared, None).await?;
        engine.announce(gone.id);
        followed.closed += 1;
    }
    Ok(followed)
}

/// Cases newest first (of public status `status`, if given): a page after `after`, and
/// whether more follow.
pub async fn list(
    engine: &Engine,
    status: Option<&str>,
    first: u64,
    after: Option<Uuid>,
) -> Result<(Vec<(Case, instance::Model)>, bool), AppError> {
    let states: Option<Vec<String>> = match status {
        None => None,
        Some(status) if STATUSES.contains(&status) => {
            Some(engine.definitions.states_showing(super::KIND, status))
        }
        Some(_) => {
            return Err(invalid(
                "status",
                format!("must be one of {}", STATUSES.join(", ")),
            ));
        }
    };
    let states: Option<Vec<&str>> = states
        .as_ref()
        .map(|states| states.iter().map(String::as_str).collect());
    let mut found = rows::page(&engine.db, states.as_deref(), after, first + 1).await?;
    let more = found.len() as u64 > first;
    found.truncate(first as usize);
    Ok((found, more))
}

/// What finance does to a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaseAction {
    /// Give it to an owner (a finance operator).
    Assign,
    Resolve,
    WriteOff,
}

/// `action` on case `id` by `operator` with `note` (and `owner`, for an assignment: an operator
/// whose key has the finance role): its event and owner in one transaction. The case and its
/// workflow after it; INVALID_TRANSITION from a closed case.
pub async fn act(
    engine: &Engine,
    operator: &Operator,
    id: Uuid,
    action: CaseAction,
    note: &str,
    owner: Option<&str>,
) -> Result<(Case, instance::Model), AppError> {
    operator.require(AdminRole::Finance)?;
    let note = require_note(note)?;
    let owner = match owner {
        Some(owner) => Some(finance_operator(engine, owner).await?),
        None => None,
    };
    rows::get(&engine.db, id).await?.ok_or(AppError::NotFound)?;
    let event = match action {
        CaseAction::Assign => names::CASE_ASSIGNED,
        CaseAction::Resolve => names::CASE_RESOLVED,
        CaseAction::WriteOff => names::CASE_WRITTEN_OFF,
    };
    let input = EventInput::new(event, format!("admin:{}", operator.name))
        .with_detail(json!({ "note": note, "owner": owner }));
    let applied = retry_transient(|| async {
        let txn = engine.db.begin().await?;
        let applied = apply_event_in(&txn, engine.decider(), id, &input, None).await?;
        if let (Outcome::Transitioned { .. }, Some(owner)) = (&applied.outcome, &owner) {
            rows::set_owner_in(&txn, id, owner).await?;
        }
        txn.commit().await?;
        Ok(applied)
    })
    .await?;
    if let Outcome::Rejected { reason } | Outcome::Ignored { reason } = &applied.outcome {
        return Err(AppError::InvalidTransition(reason.clone()));
    }
    engine.announce(id);
    let case = rows::get(&engine.db, id).await?.ok_or(AppError::NotFound)?;
    Ok((case, applied.instance))
}

/// `name` if it is an operator whose key (not revoked) may do finance's work.
async fn finance_operator(engine: &Engine, name: &str) -> Result<String, AppError> {
    let keys = credentials::admin_keys(&engine.db).await?;
    let allowed = keys.iter().any(|key| {
        key.name == name
            && key.revoked_at.is_none()
            && key
                .role
                .parse::<AdminRole>()
                .is_ok_and(|role| role.allows(AdminRole::Finance))
    });
    if !allowed {
        return Err(invalid(
            "owner",
            "must name an operator whose key has the finance role",
        ));
    }
    Ok(name.to_string())
}

#[cfg(test)]
mod tests {
    use super::business_days_after;

    #[test]
    fn a_due_date_counts_weekdays_of_utc_plus_8_only() {
        // Thursday 3 December 2026, 10:00 UTC+8.
        let thursday: chrono::DateTime<chrono::Utc> = "2026-12-03T02:00:00Z".parse().unwrap();
        let due = |days| business_days_after(thursday, days).to_rfc3339();
        assert_eq!(due(0), "2026-12-03T02:00:00+00:00");
        assert_eq!(due(1), "2026-12-04T02:00:00+00:00", "Friday");
        assert_eq!(due(2), "2026-12-07T02:00:00+00:00", "Monday, over the weekend");
        assert_eq!(due(5), "2026-12-10T02:00:00+00:00");
    }
}
