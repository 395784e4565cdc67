//! The merchants' event feed (issue 31): every change a merchant can see is an event, written in
//! the transaction of the change with the next number of its merchant's sequence (one counter
//! row per merchant, taken last in that transaction, so numbers commit in order and without
//! gaps). One event per change of an instance (`ux_events_change`).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0018_events"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("events")
                    .col(pk_uuid("id"))
                    .col(uuid("merchant_id"))
                    .col(big_integer("sequence"))
                    .col(string_len("event_type", 64))
                    .col(uuid("object_id"))
                    .col(uuid("subject_id"))
                    .col(string_len("announced", 64))
                    .col(uuid("instance_id"))
                    .col(big_integer("instance_version"))
                    .col(json("data"))
                    .col(timestamp_with_time_zone("created_at"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_events_merchant_sequence")
                    .table("events")
                    .col("merchant_id")
                    .col("sequence")
                    .unique()
                    .to_owned(),
            )
            .await?;
        // A page of some types only reads those types' rows.
        manager
            .create_index(
                Index::create()
                    .name("ix_events_merchant_type_sequence")
                    .table("events")
                    .col("merchant_id")
                    .col("event_type")
                    .col("sequence")
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_events_change")
                    .table("events")
                    .col("instance_id")
                    .col("instance_version")
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("merchant_event_sequences")
                    .col(pk_uuid("merchant_id"))
                    .col(big_integer("last_sequence"))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("merchant_event_sequences").to_owned())
            .await?;
        manager.drop_table(Table::drop().table("events").to_owned()).await
    }
}
