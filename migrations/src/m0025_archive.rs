//! Archival (issue 33): legal holds keeping an object out of the archive; the archive's writer
//! state (one row: the day being written, the next part's number, the digest of the last
//! closed day's manifest that the next day's chains to, and of the newest manifest); each
//! archived object's place in the archive (`archived_objects`: where `archive restore` finds
//! it); objects restored read-only (`archive_restores`).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0025_archive"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("legal_holds")
                    .col(pk_uuid("instance_id"))
                    .col(string_len("kind", 64))
                    .col(text("note"))
                    .col(string_len("placed_by", 128))
                    .col(timestamp_with_time_zone("placed_at"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("archive_state")
                    .col(integer("id").primary_key())
                    .col(string_len_null("day", 10))
                    .col(big_integer("next_part"))
                    .col(string_len_null("chain_sha256", 64))
                    .col(string_len_null("head_sha256", 64))
                    .to_owned(),
            )
            .await?;
        manager
            .get_connection()
            .execute_unprepared("INSERT INTO archive_state (id, day, next_part) VALUES (1, NULL, 1)")
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("archived_objects")
                    .col(pk_uuid("id"))
                    .col(string_len("kind", 64))
                    .col(string_len("day", 10))
                    .col(string_len("part", 64))
                    .col(timestamp_with_time_zone("archived_at"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("archive_restores")
                    .col(pk_uuid("id"))
                    .col(string_len("kind", 64))
                    .col(json("content"))
                    .col(timestamp_with_time_zone("archived_at"))
                    .col(timestamp_with_time_zone("restored_at"))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            "archive_restores",
            "archived_objects",
            "archive_state",
            "legal_holds",
        ] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
