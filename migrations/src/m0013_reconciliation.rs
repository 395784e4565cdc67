//! Reconciliation (issue 18): a run per report date and settlement agreement, over the files
//! Alipay+ delivered for it. `content_hash` (over the files' names and contents) makes the same
//! files imported again the same run (unique with the date and agreement); a corrected file
//! makes a new run that `supersedes` the earlier one (its `superseded_by`), with what changed.
//! Each discrepancy names its kind, the reference it concerns, both sides and where in the
//! files it was found.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0013_reconciliation"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("reconciliation_runs")
                    .col(pk_uuid("id"))
                    .col(string_len("report_date", 8))
                    .col(string_len("agreement_id", 64))
                    .col(string_len("settlement_currency", 3))
                    .col(string_len("content_hash", 64))
                    .col(json("files"))
                    .col(string_len("status", 16))
                    .col(big_integer("rows_read"))
                    .col(big_integer("matched"))
                    .col(big_integer("discrepancy_count"))
                    .col(uuid_null("supersedes"))
                    .col(uuid_null("superseded_by"))
                    .col(text_null("changes"))
                    .col(timestamp_with_time_zone("started_at"))
                    .col(timestamp_with_time_zone_null("finished_at"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_reconciliation_runs_content")
                    .table("reconciliation_runs")
                    .col("report_date")
                    .col("agreement_id")
                    .col("content_hash")
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_reconciliation_runs_started")
                    .table("reconciliation_runs")
                    .col("started_at")
                    .col("id")
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("reconciliation_discrepancies")
                    .col(big_pk_auto("id"))
                    .col(uuid("run_id"))
                    .col(string_len("kind", 32))
                    .col(string_len("reference", 128))
                    .col(text_null("ours"))
                    .col(text_null("theirs"))
                    .col(text("detail"))
                    .col(string_len_null("file", 255))
                    .col(big_integer_null("line"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_reconciliation_discrepancies_run")
                    .table("reconciliation_discrepancies")
                    .col("run_id")
                    .col("id")
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["reconciliation_discrepancies", "reconciliation_runs"] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
