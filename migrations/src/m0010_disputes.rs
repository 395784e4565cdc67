//! Disputes (issue 15): one row per Alipay+ retrieval or escalation, whose id is its `dispute`
//! workflow instance's. `disputeRequestId` is unique: the same initiate twice is one dispute,
//! decided by the database in the statement that records it, not by a check before.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0010_disputes"
    }
}

/// The name `store::disputes` recognises on a repeated `disputeRequestId`.
pub const UNIQUE_DISPUTE_REQUEST: &str = "ux_disputes_request";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("disputes")
                    .col(pk_uuid("id"))
                    .col(string_len("dispute_request_id", 64))
                    .col(string_len("kind", 16))
                    .col(uuid("payment_id"))
                    .col(uuid("merchant_id"))
                    .col(string_len_null("reason", 512))
                    .col(string_len_null("currency", 3))
                    .col(big_integer_null("escalation_amount"))
                    .col(timestamp_with_time_zone("occurred_at"))
                    .col(timestamp_with_time_zone("respond_by"))
                    .col(json_null("response"))
                    .col(uuid_null("refund_id"))
                    .col(timestamp_with_time_zone("created_at"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name(UNIQUE_DISPUTE_REQUEST)
                    .table("disputes")
                    .col("dispute_request_id")
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_disputes_payment")
                    .table("disputes")
                    .col("payment_id")
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_disputes_merchant_created")
                    .table("disputes")
                    .col("merchant_id")
                    .col("created_at")
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("disputes").to_owned())
            .await
    }
}
