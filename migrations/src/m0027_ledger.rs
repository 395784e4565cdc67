//! The ledger (issue 34): a double-entry journal written in the transaction of each money
//! event. A journal (`journal`, e.g. `payment:<id>`) is one or more lines, each a debit or a
//! credit of one account of one merchant in one currency; its lines balance per currency (checked
//! where they are written). `business_date` is the clearing day (UTC+8) the event belongs to.
//! `merchants.fee_basis_points`: the acquirer's fee on the merchant's payments (0 by default).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0027_ledger"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("merchants")
                    .add_column(integer("fee_basis_points").default(0))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("ledger_entries")
                    .col(pk_uuid("id"))
                    .col(string_len("journal", 96))
                    .col(integer("line"))
                    .col(string_len("source", 32))
                    .col(uuid("merchant_id"))
                    .col(uuid("object_id"))
                    .col(string_len("account", 32))
                    .col(string_len("currency", 3))
                    .col(big_integer("debit"))
                    .col(big_integer("credit"))
                    .col(string_len("business_date", 10))
                    .col(timestamp_with_time_zone("created_at"))
                    // One side a line, never negative.
                    .check(Expr::cust(
                        "debit >= 0 AND credit >= 0 AND (debit = 0 OR credit = 0)",
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_ledger_entries_journal_line")
                    .table("ledger_entries")
                    .col("journal")
                    .col("line")
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_ledger_entries_merchant_date")
                    .table("ledger_entries")
                    .col("merchant_id")
                    .col("business_date")
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_ledger_entries_date")
                    .table("ledger_entries")
                    .col("business_date")
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("ledger_entries").to_owned())
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table("merchants")
                    .drop_column("fee_basis_points")
                    .to_owned(),
            )
            .await
    }
}
