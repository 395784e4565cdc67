//! The durable workflow engine: instances, their append-only history, the outbox of effects and
//! timers, and idempotency keys of money-moving requests.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0001_workflow_engine"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("workflow_instances")
                    .col(pk_uuid("id"))
                    .col(string_len("kind", 64))
                    .col(integer("definition_version"))
                    .col(string_len("state", 64))
                    .col(boolean("terminal"))
                    .col(big_integer("version"))
                    .col(boolean("needs_attention"))
                    .col(text_null("last_error"))
                    .col(json("data"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "workflow_instances",
            "ix_instances_kind_terminal",
            &["kind", "terminal"],
        )
        .await?;
        index(
            manager,
            "workflow_instances",
            "ix_instances_attention",
            &["needs_attention"],
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table("workflow_history")
                    .col(big_pk_auto("id"))
                    .col(uuid("instance_id"))
                    .col(string_len("event", 64))
                    .col(string_len_null("from_state", 64))
                    .col(string_len_null("to_state", 64))
                    .col(string_len("outcome", 16))
                    .col(string_len("actor", 128))
                    .col(json_null("detail"))
                    .col(timestamp_with_time_zone("at"))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "workflow_history",
            "ix_history_instance",
            &["instance_id", "id"],
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table("outbox")
                    .col(pk_uuid("id"))
                    .col(uuid("instance_id"))
                    .col(string_len("kind", 16))
                    .col(string_len("name", 64))
                    .col(string_len("scheduled_in_state", 64))
                    .col(json("payload"))
                    .col(big_integer("due_at_ms"))
                    .col(integer("attempts"))
                    .col(integer("max_attempts"))
                    .col(string_len("status", 16))
                    .col(uuid_null("lease_token"))
                    .col(big_integer_null("lease_until_ms"))
                    .col(string_len_null("claimed_by", 128))
                    .col(text_null("last_error"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "outbox",
            "ix_outbox_status_due",
            &["status", "due_at_ms"],
        )
        .await?;
        index(manager, "outbox", "ix_outbox_instance", &["instance_id"]).await?;

        manager
            .create_table(
                Table::create()
                    .table("idempotency_keys")
                    .col(string_len("scope", 64))
                    .col(string_len("key", 255))
                    .col(string_len("request_hash", 64))
                    .col(uuid_null("resource_id"))
                    .col(json_null("response"))
                    .col(timestamp_with_time_zone("created_at"))
                    .primary_key(Index::create().col("scope").col("key"))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            "idempotency_keys",
            "outbox",
            "workflow_history",
            "workflow_instances",
        ] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}

async fn index(
    manager: &SchemaManager<'_>,
    table: &'static str,
    name: &'static str,
    columns: &[&'static str],
) -> Result<(), DbErr> {
    let mut create = Index::create();
    create.name(name).table(table);
    for column in columns {
        create.col(*column);
    }
    manager.create_index(create.to_owned()).await
}
