//! A merchant's lists of payments, refunds and disputes (issue 31: `payments(filter:)` and the
//! same for refunds and disputes) served by indexes: each table by merchant and id (the pages,
//! newest first) and by merchant and creation time (`createdAfter`, `createdBefore`).

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0019_merchant_list_indexes"
    }
}

/// (name, table, columns) of each index.
const INDEXES: [(&str, &str, [&str; 2]); 4] = [
    (
        "ix_payments_merchant_created",
        "payments",
        ["merchant_id", "created_at"],
    ),
    ("ix_refunds_merchant", "refunds", ["merchant_id", "id"]),
    (
        "ix_refunds_merchant_created",
        "refunds",
        ["merchant_id", "created_at"],
    ),
    ("ix_disputes_merchant", "disputes", ["merchant_id", "id"]),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (name, table, [first, second]) in INDEXES {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(table)
                        .col(first)
                        .col(second)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (name, table, _) in INDEXES {
            manager
                .drop_index(Index::drop().name(name).table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
