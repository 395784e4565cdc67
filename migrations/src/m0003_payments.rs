//! Merchants (API keys stored hashed), payments (one per `payment` workflow instance, same id),
//! and every delivery attempt of the webhooks we send to merchants.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0003_payments"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("merchants")
                    .col(pk_uuid("id"))
                    .col(string_len("name", 256))
                    .col(string_len_uniq("api_key_hash", 64))
                    .col(string_len_null("webhook_url", 2048))
                    .col(string_len("webhook_secret", 128))
                    .col(timestamp_with_time_zone("created_at"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("payments")
                    .col(pk_uuid("id"))
                    .col(uuid("merchant_id"))
                    .col(string_len("merchant_order_id", 64))
                    .col(string_len_uniq("payment_request_id", 64))
                    .col(string_len("order_description", 256))
                    .col(string_len("currency", 3))
                    .col(big_integer("amount"))
                    .col(string_len("terminal_type", 16))
                    .col(string_len_null("os_type", 16))
                    .col(string_len("redirect_url", 2048))
                    .col(string_len_null("user_region", 2))
                    .col(string_len_null("settlement_currency", 3))
                    .col(timestamp_with_time_zone("expires_at"))
                    .col(string_len_null("checkout_url", 2048))
                    .col(string_len_null("alipay_payment_id", 64))
                    .col(string_len_null("wallet_brand_name", 64))
                    .col(string_len_null("failure_code", 64))
                    .col(timestamp_with_time_zone("created_at"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_payments_merchant")
                    .table("payments")
                    .col("merchant_id")
                    .col("id")
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("webhook_deliveries")
                    .col(big_pk_auto("id"))
                    .col(uuid("merchant_id"))
                    .col(uuid("payment_id"))
                    .col(string_len("status", 32))
                    .col(integer("attempt"))
                    .col(integer_null("http_status"))
                    .col(text_null("error"))
                    .col(timestamp_with_time_zone("at"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_webhook_deliveries_payment")
                    .table("webhook_deliveries")
                    .col("payment_id")
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["webhook_deliveries", "payments", "merchants"] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
