//! The operators' search box and overview page. Search finds an object by any of its ids (ours,
//! each request id, Alipay+'s paymentId, an event's id, a merchantOrderId with its merchant),
//! each a lookup on an index. The overview gathers what an operator looks at first, each figure
//! read from an index or a small table (`store::search`), so it stays cheap at ten million
//! workflows.

use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

use super::Engine;
use super::errors::{AppError, check_length, invalid};
use crate::store::entity::{instance, reconciliation_run};
use crate::store::search::{self, Count};
use crate::store::stuck::Cursor;
use crate::store::{self, StoreError};

/// What a search found: the object's kind (`payment`, `refund`..., `merchant`, `event`), its id,
/// a line saying what it is and which id matched, and its workflow, if it has one.
pub struct Hit {
    pub kind: String,
    pub id: Uuid,
    pub label: String,
    pub workflow: Option<instance::Model>,
}

/// Everything `text` is an id of. `merchant` (or a text `<merchant id> <order id>`) also
/// finds a payment by its merchantOrderId.
pub async fn search(engine: &Engine, text: &str, merchant: Option<Uuid>) -> Result<Vec<Hit>, AppError> {
    let text = text.trim();
    check_length("text", text, 128)?;
    let (text, merchant) = match text.split_once(char::is_whitespace) {
        Some((first, rest)) if merchant.is_none() && Uuid::parse_str(first).is_ok() => {
            (rest.trim(), Uuid::parse_str(first).ok())
        }
        _ => (text, merchant),
    };
    let mut hits = Vec::new();
    for found in search::find(&engine.db, text, merchant).await? {
        let workflow_id = match found.kind {
            "merchant" => None,
            "event" => Some(event_instance(engine, found.id).await?),
            _ => Some(found.id),
        };
        let workflow = match workflow_id {
            Some(id) => match store::instance(&engine.db, id).await {
                Ok(instance) => Some(instance),
                Err(StoreError::NotFound(_)) => None,
                Err(other) => return Err(other.into()),
            },
            None => None,
        };
        let kind = match (&workflow, found.kind) {
            (Some(instance), "workflow") => instance.kind.clone(),
            _ => found.kind.to_string(),
        };
        let label = match &workflow {
            Some(instance) if found.kind == "event" => {
                format!(
                    "event {text} of {} {} ({})",
                    instance.kind, instance.id, instance.state
                )
            }
            Some(instance) => format!("{kind} by {} {text} ({})", found.field, instance.state),
            None => format!("{kind} by {} {text}", found.field),
        };
        hits.push(Hit {
            kind,
            id: found.id,
            label,
            workflow,
        });
    }
    Ok(hits)
}

async fn event_instance(engine: &Engine, event: Uuid) -> Result<Uuid, AppError> {
    use sea_orm::EntityTrait;
    let row = crate::store::entity::feed_event::Entity::find_by_id(event)
        .one(&engine.db)
        .await
        .map_err(StoreError::from)?;
    row.map(|row| row.instance_id).ok_or(AppError::NotFound)
}

/// What the overview shows (see the module docs).
pub struct Overview {
    pub at: DateTime<Utc>,
    /// Unfinished workflows by kind and state.
    pub unfinished: Vec<Count>,
    /// Workflows that finished in the last 24 hours, by kind and final state.
    pub finished_last_day: Vec<Count>,
    /// Workflows waiting for an operator, by kind and reason.
    pub parked: Vec<Count>,
    /// Unanswered disputes due within 48 hours.
    pub disputes_due_within_48_hours: i64,
    pub webhook_endpoints_failing: i64,
    pub webhook_endpoints_disabled: i64,
    /// Effects and timers waiting to run, and how late the oldest due one is.
    pub outbox_pending: i64,
    pub outbox_lag_seconds: f64,
    /// The current reconciliation run of each of the last report dates and kinds.
    pub reconciliation: Vec<reconciliation_run::Model>,
}

/// Report dates the overview shows the reconciliation of.
const RECONCILIATION_DAYS: usize = 7;

/// Queries of the overview in flight at once (each a pooled connection).
const OVERVIEW_CONCURRENCY: usize = 4;

pub async fn overview(engine: &Engine) -> Result<Overview, AppError> {
    use futures::{StreamExt, TryStreamExt};
    let db = &engine.db;
    let now = engine.clock.now();
    let mut final_states: Vec<(String, String)> = Vec::new();
    for definition in engine.definitions.iter() {
        for name in definition.state_names() {
            let terminal = definition.state(&name).is_some_and(|state| state.terminal);
            let pair = (definition.kind.clone(), name);
            if terminal && !final_states.contains(&pair) {
                final_states.push(pair);
            }
        }
    }
    let since = now - Duration::hours(24);
    let finished = futures::stream::iter(final_states)
        .map(|(kind, state)| async move {
            let count = search::entered_since(db, &kind, &state, since).await?;
            Ok::<_, StoreError>(Count {
                kind,
                what: state,
                count,
            })
        })
        .buffered(OVERVIEW_CONCURRENCY)
        .try_filter(|count| futures::future::ready(count.count > 0))
        .try_collect::<Vec<Count>>();
    let (
        finished_last_day,
        unfinished,
        parked,
        disputes_due,
        (failing, disabled),
        (outbox_pending, outbox_lag_seconds),
        runs,
    ) = tokio::try_join!(
        finished,
        search::unfinished_by_state(db),
        search::parked_by_reason(db),
        search::disputes_due(db, now, now + Duration::hours(48)),
        search::webhook_endpoints_failing(db),
        store::pending_outbox(db, now.timestamp_millis()),
        store::reconciliation::current_runs(db, (RECONCILIATION_DAYS * 4) as u64),
    )?;
    let mut reconciliation: Vec<reconciliation_run::Model> = Vec::new();
    let mut dates = Vec::new();
    for run in runs {
        if reconciliation
            .iter()
            .any(|seen| seen.report_date == run.report_date && seen.kind == run.kind)
        {
            continue;
        }
        if !dates.contains(&run.report_date) {
            if dates.len() == RECONCILIATION_DAYS {
                break;
            }
            dates.push(run.report_date.clone());
        }
        reconciliation.push(run);
    }
    Ok(Overview {
        at: now,
        unfinished,
        finished_last_day,
        parked,
        disputes_due_within_48_hours: disputes_due,
        webhook_endpoints_failing: failing,
        webhook_endpoints_disabled: disabled,
        outbox_pending,
        outbox_lag_seconds,
        reconciliation,
    })
}

/// One page of the dispute queue: unanswered disputes, the nearest response deadline first, each
/// with its deadline, and whether more follow. The cursor is the last one's deadline and id.
pub async fn dispute_queue(
    engine: &Engine,
    first: Option<i32>,
    after: Option<&str>,
) -> Result<(Vec<(instance::Model, DateTime<Utc>)>, bool), AppError> {
    let first = super::operator::page_size(first)?;
    let after = match after {
        Some(cursor) => {
            Some(Cursor::decode(cursor).ok_or_else(|| invalid("after", "not a cursor of this list"))?)
        }
        None => None,
    };
    let rows = search::disputes_by_deadline(&engine.db, first + 1, after).await?;
    Ok(super::page::cut(rows, first))
}

/// The cursor of a dispute in the queue: its deadline and id.
pub fn deadline_cursor(respond_by: DateTime<Utc>, id: Uuid) -> String {
    Cursor { at: respond_by, id }.encode()
}
