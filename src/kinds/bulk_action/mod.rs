//! The bulk action kind: an operator's retry or resume of every workflow a filter selected, a
//! workflow of its own (`workflows/bulk_action.toml`) whose effect works through the workflows
//! it took, each once. Its GraphQL part (`graphql.rs`: `bulkPreview`, `bulkAction`,
//! `startBulkAction`) is for operators only.

pub mod effects;
pub mod entity;
pub mod graphql;
pub mod names;
pub mod rows;
pub mod use_cases;

use std::sync::Arc;

use crate::app::kind::{Kind, KindEffects, KindServices};

/// Its workflow's kind.
pub const KIND: &str = "bulk_action";

/// An operator's action over many workflows.
pub struct BulkAction;

impl Kind for BulkAction {
    fn name(&self) -> &'static str {
        KIND
    }

    fn statuses(&self) -> &'static [&'static str] {
        &["RUNNING", "FINISHED"]
    }

    /// Working through its items; no webhook (merchants do not see it).
    fn effects(&self, services: &KindServices<'_>) -> anyhow::Result<KindEffects> {
        Ok(KindEffects {
            names: &[names::WORK_BULK_ITEMS],
            handler: Arc::new(effects::BulkItems {
                engine: services.engine.clone(),
            }),
        })
    }
}
