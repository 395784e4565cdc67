//! What operators need (issue 14):
//! - `admin_keys`: operators' API keys by name, stored as SHA-256, revocable (the configured
//!   `admin.api_key` is the operator `config`).
//! - `workflow_instances.state_since`: when the instance entered its current state (rows from
//!   before this migration start at their last change), so "stuck for" is exact.
//! - The stuck list's indexes: instances waiting for an operator, and unfinished instances, each
//!   by time in state (with the kind, so `/metrics` counts them by kind from the index alone). Partial indexes, their conditions written as literals as the queries
//!   write them (a bound parameter would not let SQLite use a partial index). The partial index
//!   of parked instances replaces m0001's index on `needs_attention` alone, which SQLite's
//!   planner preferred, then sorted what it found.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0009_operations"
    }
}

/// The conditions of the stuck list's partial indexes (`store::operations` filters with them).
pub const NEEDS_ATTENTION: &str = "needs_attention = TRUE";
pub const NOT_TERMINAL: &str = "terminal = FALSE";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("admin_keys")
                    .col(pk_uuid("id"))
                    .col(string_len_uniq("name", 64))
                    .col(string_len_uniq("key_hash", 64))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone_null("revoked_at"))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table("workflow_instances")
                    .add_column(timestamp_with_time_zone_null("state_since"))
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        db.execute_unprepared("UPDATE workflow_instances SET state_since = updated_at")
            .await?;
        db.execute_unprepared("DROP INDEX ix_instances_attention").await?;
        db.execute_unprepared(&format!(
            "CREATE INDEX ix_instances_attention_since ON workflow_instances (state_since, id, kind) \
             WHERE {NEEDS_ATTENTION}"
        ))
        .await?;
        db.execute_unprepared(&format!(
            "CREATE INDEX ix_instances_open_since ON workflow_instances (state_since, id, kind) \
             WHERE {NOT_TERMINAL}"
        ))
        .await?;
        db.execute_unprepared(
            "CREATE INDEX ix_instances_kind_state_since ON workflow_instances (kind, state, state_since, id)",
        )
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for index in [
            "ix_instances_attention_since",
            "ix_instances_open_since",
            "ix_instances_kind_state_since",
        ] {
            db.execute_unprepared(&format!("DROP INDEX {index}")).await?;
        }
        db.execute_unprepared("CREATE INDEX ix_instances_attention ON workflow_instances (needs_attention)")
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table("workflow_instances")
                    .drop_column("state_since")
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table("admin_keys").to_owned())
            .await
    }
}
