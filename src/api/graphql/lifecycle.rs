//! The data lifecycle's GraphQL: legal holds (`placeLegalHold`, `releaseLegalHold`, operators),
//! and objects restored read-only from the archive (`archivedObject`, `plusflow archive
//! restore`).

use async_graphql::{Context, ID, Json, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};

use super::console::operator;
use super::context::{engine, graphql_error, parse_id};
use super::shared::Workflow;
use crate::app::archive;
use crate::app::roles::AdminRole;

/// An object brought back from the archive, read-only: its rows by table as archived.
#[derive(SimpleObject)]
pub struct ArchivedObject {
    id: ID,
    kind: String,
    archived_at: DateTime<Utc>,
    restored_at: DateTime<Utc>,
    /// `{"id", "kind", "archivedAt", "tables": {"payments": [...], "workflow_history": [...]}}`.
    content: Json<serde_json::Value>,
}

#[derive(Default)]
pub struct LifecycleQueries;

#[Object]
impl LifecycleQueries {
    /// An archived object restored with `plusflow archive restore ID` (null until then).
    async fn archived_object(&self, ctx: &Context<'_>, id: ID) -> Result<Option<ArchivedObject>> {
        operator(ctx, AdminRole::Viewer)?;
        let restored = archive::restored(engine(ctx), parse_id(&id)?)
            .await
            .map_err(graphql_error)?;
        Ok(restored.map(|restored| ArchivedObject {
            id: ID(restored.id.to_string()),
            kind: restored.kind,
            archived_at: restored.archived_at,
            restored_at: restored.restored_at,
            content: Json(restored.content),
        }))
    }
}

#[derive(Default)]
pub struct LifecycleMutations;

#[Object]
impl LifecycleMutations {
    /// Keeps workflow `id` (and, for a payment, its refunds, disputes and declarations) out of
    /// the archive until released; `note` says why (a case, a regulator's request).
    async fn place_legal_hold(&self, ctx: &Context<'_>, id: ID, note: String) -> Result<Workflow> {
        let operator = operator(ctx, AdminRole::Operator)?;
        let instance = archive::legal_hold(engine(ctx), operator, parse_id(&id)?, true, &note)
            .await
            .map_err(graphql_error)?;
        Ok(Workflow::of(instance))
    }

    /// Releases the legal hold on workflow `id`; it is archived once its deadlines have passed.
    async fn release_legal_hold(&self, ctx: &Context<'_>, id: ID, note: String) -> Result<Workflow> {
        let operator = operator(ctx, AdminRole::Operator)?;
        let instance = archive::legal_hold(engine(ctx), operator, parse_id(&id)?, false, &note)
            .await
            .map_err(graphql_error)?;
        Ok(Workflow::of(instance))
    }
}
