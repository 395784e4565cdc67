//! Reconciliation cases and settlement batches (issue 34).
//!
//! * `reconciliation_cases`: a discrepancy someone must close, the row of a
//!   `reconciliation_case` workflow (same id). `case_key` names the discrepancy across runs of
//!   the same day, agreement and run kind (unique among cases not resolved: a resolved case
//!   whose discrepancy shows again keeps its history under `<key>:<id>` and a new case opens).
//!   The discrepancy itself is copied from the latest run that showed it; `object_id` is the
//!   payment or refund whose inquiry the case waits for, `owner` the finance operator on it.
//! * `settlement_batches`: one a settlement run: what the ledger expects Alipay+ to settle for
//!   the clearing days the file covers, what the file reports, and whether they match.
//! * `ledger_entries.settlement_batch_id`: the batch that settled a receivable line.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0028_reconciliation_cases"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("reconciliation_cases")
                    .col(pk_uuid("id"))
                    .col(string_len("case_key", 128).unique_key())
                    .col(string_len("run_kind", 16))
                    .col(string_len("report_date", 8))
                    .col(string_len("agreement_id", 64))
                    .col(string_len("kind", 32))
                    .col(string_len("reference", 128))
                    .col(text_null("ours"))
                    .col(text_null("theirs"))
                    .col(text("detail"))
                    .col(string_len_null("file", 256))
                    .col(big_integer_null("line"))
                    .col(uuid("run_id"))
                    .col(uuid_null("object_id"))
                    .col(string_len_null("owner", 128))
                    .col(timestamp_with_time_zone("due_at"))
                    .col(timestamp_with_time_zone("created_at"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_reconciliation_cases_day")
                    .table("reconciliation_cases")
                    .col("report_date")
                    .col("agreement_id")
                    .col("run_kind")
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("settlement_batches")
                    .col(pk_uuid("id"))
                    .col(string_len("agreement_id", 64))
                    .col(string_len("settlement_date", 8))
                    .col(string_len("settlement_batch_id", 64))
                    .col(string_len("currency", 3))
                    .col(json("clearing_dates"))
                    .col(big_integer("expected"))
                    .col(big_integer("reported"))
                    .col(string_len("status", 16))
                    .col(timestamp_with_time_zone("created_at"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_settlement_batches_date")
                    .table("settlement_batches")
                    .col("settlement_date")
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table("ledger_entries")
                    .add_column(uuid_null("settlement_batch_id"))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("ledger_entries")
                    .drop_column("settlement_batch_id")
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table("settlement_batches").to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table("reconciliation_cases").to_owned())
            .await
    }
}
