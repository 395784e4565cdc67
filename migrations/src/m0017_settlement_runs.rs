//! Settlement files reconciled on their own calendar (issue 28): a run is of a clearing day's
//! files (`CLEARING`, every run before this) or of a settlement date's file (`SETTLEMENT`). A
//! clearing run keeps its clearing batch and what it found the day settles for and costs in
//! fees (settlement currency), which the settlement that covers the batch is checked against.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0017_settlement_runs"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite adds one column per statement.
        for column in [
            string_len("kind", 16).default("CLEARING").to_owned(),
            string_len_null("clearing_batch_id", 64),
            big_integer_null("settled_net"),
            big_integer_null("fee_total"),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table("reconciliation_runs")
                        .add_column(column)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .create_index(
                Index::create()
                    .name("ix_reconciliation_runs_clearing_batch")
                    .table("reconciliation_runs")
                    .col("agreement_id")
                    .col("clearing_batch_id")
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("ix_reconciliation_runs_clearing_batch")
                    .table("reconciliation_runs")
                    .to_owned(),
            )
            .await?;
        for column in ["kind", "clearing_batch_id", "settled_net", "fee_total"] {
            manager
                .alter_table(
                    Table::alter()
                        .table("reconciliation_runs")
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
