//! A merchant's own key-value pairs on a payment or a refund (issue 31: `metadata`, up to 20
//! pairs), set at creation and echoed in its events and webhooks; a JSON object, NULL for none.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0020_metadata"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["payments", "refunds"] {
            manager
                .alter_table(
                    Table::alter()
                        .table(table)
                        .add_column(json_null("metadata"))
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["payments", "refunds"] {
            manager
                .alter_table(Table::alter().table(table).drop_column("metadata").to_owned())
                .await?;
        }
        Ok(())
    }
}
