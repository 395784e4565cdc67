//! What Alipay+ is told about a merchant on every `pay` (issue 28): its legal and display names,
//! MCC, region, and optionally address and website; and the buyer reference a payment carries
//! (`order.buyer.referenceBuyerId`, a digest of what the merchant gave). All NULL for rows made
//! before: the profile is filled by an operator.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0016_merchant_profiles"
    }
}

const PROFILE: [(&str, u32); 8] = [
    ("legal_name", 256),
    ("display_name", 256),
    ("mcc", 4),
    ("region", 2),
    ("address1", 256),
    ("city", 128),
    ("zip_code", 32),
    ("website", 2048),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite adds one column per statement.
        for (column, length) in PROFILE {
            manager
                .alter_table(
                    Table::alter()
                        .table("merchants")
                        .add_column(string_len_null(column, length))
                        .to_owned(),
                )
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table("payments")
                    .add_column(string_len_null("buyer_reference", 64))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("payments")
                    .drop_column("buyer_reference")
                    .to_owned(),
            )
            .await?;
        for (column, _) in PROFILE {
            manager
                .alter_table(Table::alter().table("merchants").drop_column(column).to_owned())
                .await?;
        }
        Ok(())
    }
}
