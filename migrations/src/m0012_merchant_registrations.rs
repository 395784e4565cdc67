//! Merchant registrations (issue 17): one row per registration of a merchant with Alipay+ and
//! its wallets, whose id is its `registration` workflow instance's. `registration_request_id`
//! is unique; `reference_merchant_id` is the merchant's id as Alipay+ knows it; `request` is the
//! merchant information as sent (the same body on every retry). The wallets' answers are in the
//! instance's data.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0012_merchant_registrations"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("merchant_registrations")
                    .col(pk_uuid("id"))
                    .col(string_len("registration_request_id", 64))
                    .col(uuid("merchant_id"))
                    .col(string_len("reference_merchant_id", 64))
                    .col(json("product_codes"))
                    .col(json("request"))
                    .col(timestamp_with_time_zone("created_at"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_merchant_registrations_request")
                    .table("merchant_registrations")
                    .col("registration_request_id")
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_merchant_registrations_merchant")
                    .table("merchant_registrations")
                    .col("merchant_id")
                    .col("created_at")
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("merchant_registrations").to_owned())
            .await
    }
}
