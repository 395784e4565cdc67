//! The reconciliation case kind: a discrepancy a reconciliation run found, for the finance team
//! to close (`workflows/reconciliation_case.toml`). Runs open, refresh, reopen and close cases
//! (`use_cases::follow_run`); finance operators assign, resolve and write them off
//! (`use_cases::act`, GraphQL in `graphql.rs`); a case about a payment not final here waits for
//! its inquiry (`effects`). Its deadline is its due date; the stuck list, the overview and
//! operators' views see it as any workflow.

pub mod effects;
pub mod entity;
pub mod graphql;
pub mod names;
pub mod rows;
pub mod use_cases;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;

use crate::app::errors::AppError;
use crate::app::kind::{ContextField, InstanceIn, Kind, KindEffects, KindServices};

/// Its workflow's kind.
pub const KIND: &str = "reconciliation_case";

/// A reconciliation discrepancy to close.
pub struct ReconciliationCase;

impl Kind for ReconciliationCase {
    fn name(&self) -> &'static str {
        KIND
    }

    fn statuses(&self) -> &'static [&'static str] {
        &use_cases::STATUSES
    }

    /// Waiting for an inquiry; no webhook (merchants do not see cases).
    fn effects(&self, services: &KindServices<'_>) -> anyhow::Result<KindEffects> {
        Ok(KindEffects {
            names: &[names::AWAIT_INQUIRY],
            handler: Arc::new(effects::AwaitInquiry {
                engine: services.engine.clone(),
            }),
        })
    }

    fn deadline<'a>(&'a self, of: InstanceIn<'a>) -> BoxFuture<'a, Result<Option<DateTime<Utc>>, AppError>> {
        Box::pin(async move {
            Ok(rows::get(&of.engine.db, of.instance.id)
                .await?
                .map(|case| case.due_at))
        })
    }

    fn context<'a>(&'a self, of: InstanceIn<'a>) -> BoxFuture<'a, Result<Vec<ContextField>, AppError>> {
        Box::pin(async move {
            let Some(case) = rows::get(&of.engine.db, of.instance.id).await? else {
                return Ok(Vec::new());
            };
            let mut fields = vec![
                ContextField::text("discrepancy", case.kind.clone()),
                ContextField::text("reference", case.reference.clone()),
                ContextField::text("detail", case.detail.clone()),
                ContextField::text("reportDate", case.report_date.clone()),
                ContextField::text("agreementId", case.agreement_id.clone()),
                ContextField::text("runId", case.run_id.to_string()),
                ContextField::text("dueAt", case.due_at.to_rfc3339()),
            ];
            if let Some(owner) = &case.owner {
                fields.push(ContextField::text("owner", owner.clone()));
            }
            if let Some(object) = case.object_id {
                fields.push(ContextField::workflow("waits for", object));
            }
            Ok(fields)
        })
    }
}
