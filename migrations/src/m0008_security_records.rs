//! What the security pass keeps (issue 13):
//! - `api_keys`: several API keys per merchant, each stored as its SHA-256, revocable; the key a
//!   merchant was created with is copied in (its id is the merchant's id). `merchants.api_key_hash`
//!   stays as the record of that first key; authentication reads `api_keys` only.
//! - `merchants.previous_webhook_secret` / `previous_webhook_secret_until`: after a rotation the
//!   old secret still signs deliveries (beside the new one) until then.
//! - `alipayplus_inbound.raw_body` / `signature_headers` / `signed_path`: the verbatim bytes and
//!   the headers Alipay+ signed, so a journaled call can be verified again later (rows from
//!   before this migration have none).
//! - `service_marks`: facts about the database itself, e.g. that it served a real Alipay+
//!   gateway (the simulator and `bench` then refuse it).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0008_security_records"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("api_keys")
                    .col(pk_uuid("id"))
                    .col(uuid("merchant_id"))
                    .col(string_len("label", 128))
                    .col(string_len_uniq("key_hash", 64))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone_null("revoked_at"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_api_keys_merchant")
                    .table("api_keys")
                    .col("merchant_id")
                    .to_owned(),
            )
            .await?;
        manager
            .get_connection()
            .execute_unprepared(
                "INSERT INTO api_keys (id, merchant_id, label, key_hash, created_at) \
                 SELECT id, id, 'created with the merchant', api_key_hash, created_at FROM merchants",
            )
            .await?;
        let add = |table: &'static str, column: ColumnDef| {
            Table::alter().table(table).add_column(column).to_owned()
        };
        for change in [
            add("merchants", string_len_null("previous_webhook_secret", 128)),
            add(
                "merchants",
                timestamp_with_time_zone_null("previous_webhook_secret_until"),
            ),
            add("alipayplus_inbound", blob_null("raw_body")),
            add("alipayplus_inbound", json_null("signature_headers")),
            add("alipayplus_inbound", string_len_null("signed_path", 512)),
        ] {
            manager.alter_table(change).await?;
        }
        manager
            .create_table(
                Table::create()
                    .table("service_marks")
                    .col(string_len("name", 64).primary_key())
                    .col(string_len("value", 512))
                    .col(timestamp_with_time_zone("set_at"))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["service_marks", "api_keys"] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        let drop = |table: &'static str, column: &'static str| {
            Table::alter().table(table).drop_column(column).to_owned()
        };
        for change in [
            drop("merchants", "previous_webhook_secret"),
            drop("merchants", "previous_webhook_secret_until"),
            drop("alipayplus_inbound", "raw_body"),
            drop("alipayplus_inbound", "signature_headers"),
            drop("alipayplus_inbound", "signed_path"),
        ] {
            manager.alter_table(change).await?;
        }
        Ok(())
    }
}
