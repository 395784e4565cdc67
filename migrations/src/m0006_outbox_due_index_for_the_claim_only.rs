//! The relay's claim of due rows and the per-instance updates (disarming a left state's pending
//! rows) both filter on `status = 'pending'`, so PostgreSQL could use the partial due-time
//! index for either. After an ANALYZE taken while few rows were pending (a drained outbox at a
//! quiet moment), it estimated that index empty and chose it for the per-instance update too,
//! which then read every pending row: 1.5 ms a transition instead of 0.05 ms, growing with the
//! backlog. The due-time index (renamed: SQLite refuses to re-create a name dropped in the same
//! migration) now also requires `due_at_ms IS NOT NULL`: the claim's
//! `due_at_ms <= now` implies it, a per-instance update does not, so only the claim can use it
//! (`due_at_ms` is never NULL; the condition only narrows which queries the index serves).

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0006_outbox_due_index_for_the_claim_only"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        db.execute_unprepared("DROP INDEX ix_outbox_pending_due").await?;
        db.execute_unprepared(
            "CREATE INDEX ix_outbox_claimable_due ON outbox (due_at_ms) \
             WHERE status = 'pending' AND due_at_ms IS NOT NULL",
        )
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        db.execute_unprepared("DROP INDEX ix_outbox_claimable_due")
            .await?;
        db.execute_unprepared(
            "CREATE INDEX ix_outbox_pending_due ON outbox (due_at_ms) WHERE status = 'pending'",
        )
        .await?;
        Ok(())
    }
}
