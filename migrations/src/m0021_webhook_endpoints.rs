//! Webhook endpoints (issue 31): several per merchant, each with its URL, the event types it
//! takes, its own secret and whether it is enabled. The merchant's one webhook URL and secret
//! become its first endpoint (same id as the merchant, nothing lost) and leave `merchants`.
//!
//! Each event an endpoint takes is a row of `webhook_deliveries`, written with the event;
//! every attempt to send one is a row of `webhook_delivery_attempts`. `redeliverFailed` is a
//! durable request (`webhook_redeliveries`) worked through in batches. The attempts recorded
//! before endpoints existed (no event id) are kept as `webhook_attempts_before_endpoints`.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0021_webhook_endpoints"
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
                    .table("webhook_endpoints")
                    .col(pk_uuid("id"))
                    .col(uuid("merchant_id"))
                    .col(string_len("url", 2048))
                    .col(json("event_types"))
                    .col(string_len_null("description", 256))
                    .col(boolean("enabled"))
                    .col(string_len_null("disabled_reason", 256))
                    .col(string_len("secret", 128))
                    .col(string_len_null("previous_secret", 128))
                    .col(timestamp_with_time_zone_null("previous_secret_until"))
                    .col(timestamp_with_time_zone_null("failing_since"))
                    .col(big_integer("version"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .col(timestamp_with_time_zone_null("deleted_at"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "ix_webhook_endpoints_merchant",
                "webhook_endpoints",
                &["merchant_id"],
            ))
            .await?;
        let empty_list = match manager.get_database_backend() {
            DbBackend::Postgres => "'[]'::json",
            _ => "'[]'",
        };
        manager
            .get_connection()
            .execute_unprepared(&format!(
                "INSERT INTO webhook_endpoints (id, merchant_id, url, event_types, description, enabled, \
                 secret, previous_secret, previous_secret_until, version, created_at, updated_at) \
                 SELECT id, id, webhook_url, {empty_list}, 'the merchant''s webhook URL before endpoints', \
                 true, webhook_secret, previous_webhook_secret, previous_webhook_secret_until, 1, \
                 created_at, created_at FROM merchants WHERE webhook_url IS NOT NULL"
            ))
            .await?;
        for column in [
            "webhook_url",
            "webhook_secret",
            "previous_webhook_secret",
            "previous_webhook_secret_until",
        ] {
            manager
                .alter_table(Table::alter().table("merchants").drop_column(column).to_owned())
                .await?;
        }

        manager
            .rename_table(
                Table::rename()
                    .table("webhook_deliveries", "webhook_attempts_before_endpoints")
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("webhook_deliveries")
                    .col(pk_uuid("id"))
                    .col(uuid("merchant_id"))
                    .col(uuid("endpoint_id"))
                    .col(uuid_null("event_id"))
                    .col(uuid_null("object_id"))
                    .col(big_integer("sequence"))
                    .col(string_len("purpose", 16))
                    .col(string_len("status", 16))
                    .col(integer("attempts"))
                    .col(timestamp_with_time_zone_null("next_attempt_at"))
                    .col(timestamp_with_time_zone_null("first_failed_at"))
                    .col(timestamp_with_time_zone("created_at"))
                    .to_owned(),
            )
            .await?;
        // The dispatcher's scan: pending rows by when they are due.
        manager
            .create_index(index(
                "ix_webhook_deliveries_due",
                "webhook_deliveries",
                &["status", "next_attempt_at"],
            ))
            .await?;
        // In order per object: the earlier pending delivery of the same object to the endpoint.
        manager
            .create_index(index(
                "ix_webhook_deliveries_order",
                "webhook_deliveries",
                &["endpoint_id", "object_id", "sequence"],
            ))
            .await?;
        manager
            .create_index(index(
                "ix_webhook_deliveries_endpoint",
                "webhook_deliveries",
                &["endpoint_id", "id"],
            ))
            .await?;
        manager
            .create_index(index(
                "ix_webhook_deliveries_merchant",
                "webhook_deliveries",
                &["merchant_id", "id"],
            ))
            .await?;
        manager
            .create_index(index(
                "ix_webhook_deliveries_event",
                "webhook_deliveries",
                &["event_id"],
            ))
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("webhook_delivery_attempts")
                    .col(pk_auto("id").big_integer())
                    .col(uuid("delivery_id"))
                    .col(timestamp_with_time_zone("at"))
                    .col(integer_null("http_status"))
                    .col(string_len_null("error", 128))
                    .col(integer("duration_ms"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "ix_webhook_delivery_attempts_delivery",
                "webhook_delivery_attempts",
                &["delivery_id", "id"],
            ))
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("webhook_redeliveries")
                    .col(pk_uuid("id"))
                    .col(uuid("merchant_id"))
                    .col(uuid("endpoint_id"))
                    .col(timestamp_with_time_zone("since"))
                    .col(timestamp_with_time_zone("requested_at"))
                    .col(uuid_null("after_id"))
                    .col(integer("total"))
                    .col(integer("queued"))
                    .col(timestamp_with_time_zone_null("finished_at"))
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            "webhook_redeliveries",
            "webhook_delivery_attempts",
            "webhook_deliveries",
        ] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        manager
            .rename_table(
                Table::rename()
                    .table("webhook_attempts_before_endpoints", "webhook_deliveries")
                    .to_owned(),
            )
            .await?;
        // One column a statement: SQLite alters one at a time.
        for column in [
            string_null("webhook_url"),
            string("webhook_secret").default("").to_owned(),
            string_null("previous_webhook_secret"),
            timestamp_with_time_zone_null("previous_webhook_secret_until"),
        ] {
            let mut column = column;
            manager
                .alter_table(
                    Table::alter()
                        .table("merchants")
                        .add_column(&mut column)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .drop_table(Table::drop().table("webhook_endpoints").to_owned())
            .await
    }
}
