//! The journal of verified inbound Alipay+ calls (notifications, dispute initiations): every
//! delivery that passed signature verification, kept verbatim for audit and reconciliation.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0002_alipayplus_inbound"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("alipayplus_inbound")
                    .col(pk_uuid("id"))
                    .col(string_len("api", 64))
                    .col(string_len("reference", 128))
                    .col(string_len_null("related_reference", 128))
                    .col(json("body"))
                    .col(timestamp_with_time_zone("received_at"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_alipayplus_inbound_reference")
                    .table("alipayplus_inbound")
                    .col("api")
                    .col("reference")
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("alipayplus_inbound").to_owned())
            .await
    }
}
