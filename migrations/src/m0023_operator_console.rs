//! The operators' console (issue 32): the activity log (every operator action, who, with which
//! role, on what, with the note), forced events waiting for a second operator
//! (`force_requests`), durable bulk actions with the workflows each one took
//! (`bulk_actions`, `bulk_action_items`), and the indexes the console's search and overview need
//! besides those that exist (Alipay+'s paymentId, disputes by their deadline).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0023_operator_console"
    }
}

fn index(name: &str, table: &'static str, columns: &[&'static str]) -> IndexCreateStatement {
    let mut index = Index::create().name(name).table(table).to_owned();
    for column in columns {
        index.col(*column);
    }
    index
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("operator_activity")
                    .col(pk_uuid("id"))
                    .col(timestamp_with_time_zone("at"))
                    .col(string_len("operator", 64))
                    .col(string_len("role", 16))
                    .col(string_len("action", 64))
                    .col(string_len_null("kind", 32))
                    .col(json("object_ids"))
                    .col(text("note"))
                    .to_owned(),
            )
            .await?;
        for (name, columns) in [
            ("ix_operator_activity_operator", &["operator", "id"][..]),
            ("ix_operator_activity_kind", &["kind", "id"][..]),
        ] {
            manager
                .create_index(index(name, "operator_activity", columns))
                .await?;
        }
        manager
            .create_table(
                Table::create()
                    .table("force_requests")
                    .col(pk_uuid("id"))
                    .col(uuid("instance_id"))
                    .col(string_len("kind", 32))
                    .col(string_len("from_state", 64))
                    .col(string_len("event", 64))
                    .col(string_len("requested_by", 64))
                    .col(text("note"))
                    .col(string_len("status", 16))
                    .col(string_len_null("decided_by", 64))
                    .col(text_null("decision_note"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone_null("decided_at"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "ix_force_requests_status",
                "force_requests",
                &["status", "created_at", "id"],
            ))
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("bulk_actions")
                    .col(pk_uuid("id"))
                    .col(string_len("action", 16))
                    .col(json("filter"))
                    .col(text("note"))
                    .col(string_len("operator", 64))
                    .col(string_len("status", 16))
                    .col(integer("total"))
                    .col(integer("done"))
                    .col(integer("failed"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone_null("finished_at"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("bulk_action_items")
                    .col(uuid("bulk_action_id"))
                    .col(integer("position"))
                    .col(uuid("instance_id"))
                    .col(string_len("status", 16))
                    .col(text_null("error"))
                    .col(timestamp_with_time_zone_null("done_at"))
                    .primary_key(Index::create().col("bulk_action_id").col("position"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "ix_bulk_action_items_status",
                "bulk_action_items",
                &["bulk_action_id", "status", "position"],
            ))
            .await?;
        manager
            .create_index(index(
                "ix_payment_results_alipay_payment",
                "payment_results",
                &["alipay_payment_id"],
            ))
            .await?;
        manager
            .create_index(index("ix_disputes_respond_by", "disputes", &["respond_by"]))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (name, table) in [
            ("ix_disputes_respond_by", "disputes"),
            ("ix_payment_results_alipay_payment", "payment_results"),
        ] {
            manager
                .drop_index(Index::drop().name(name).table(table).to_owned())
                .await?;
        }
        for table in [
            "bulk_action_items",
            "bulk_actions",
            "force_requests",
            "operator_activity",
        ] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
