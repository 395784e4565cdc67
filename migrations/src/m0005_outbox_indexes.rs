//! The relay's claim query reads only rows that are pending or claimed, a small share of an
//! outbox that keeps every done and stale row. A plain `(status, due_at_ms)` index swells with
//! dead entries as rows move pending -> claimed -> done (each move rewrites the indexed status),
//! and PostgreSQL then also used it to filter per-instance updates. Two partial indexes cover
//! exactly the rows the claim looks at; per-instance lookups (disarming a left state's rows,
//! the next due row) use `(instance_id, status)`, which answers them on its own even when the
//! planner's statistics are stale.
//! Partial indexes have no sea-query form: the SQL below is the same on SQLite and PostgreSQL.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0005_outbox_indexes"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        db.execute_unprepared("DROP INDEX ix_outbox_status_due").await?;
        db.execute_unprepared(
            "CREATE INDEX ix_outbox_pending_due ON outbox (due_at_ms) WHERE status = 'pending'",
        )
        .await?;
        db.execute_unprepared(
            "CREATE INDEX ix_outbox_claimed_lease ON outbox (lease_until_ms) WHERE status = 'claimed'",
        )
        .await?;
        db.execute_unprepared("DROP INDEX ix_outbox_instance").await?;
        db.execute_unprepared("CREATE INDEX ix_outbox_instance_status ON outbox (instance_id, status)")
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        db.execute_unprepared("DROP INDEX ix_outbox_pending_due").await?;
        db.execute_unprepared("DROP INDEX ix_outbox_claimed_lease")
            .await?;
        db.execute_unprepared("DROP INDEX ix_outbox_instance_status")
            .await?;
        db.execute_unprepared("CREATE INDEX ix_outbox_instance ON outbox (instance_id)")
            .await?;
        db.execute_unprepared("CREATE INDEX ix_outbox_status_due ON outbox (status, due_at_ms)")
            .await?;
        Ok(())
    }
}
