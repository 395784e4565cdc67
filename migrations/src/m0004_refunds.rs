//! Refunds: one per `refund` workflow instance (same id), each against a payment.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0004_refunds"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("refunds")
                    .col(pk_uuid("id"))
                    .col(uuid("payment_id"))
                    .col(uuid("merchant_id"))
                    .col(string_len_uniq("refund_request_id", 64))
                    .col(string_len("currency", 3))
                    .col(big_integer("amount"))
                    .col(string_len_null("reason", 256))
                    .col(timestamp_with_time_zone("created_at"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_refunds_payment")
                    .table("refunds")
                    .col("payment_id")
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("refunds").to_owned())
            .await
    }
}
