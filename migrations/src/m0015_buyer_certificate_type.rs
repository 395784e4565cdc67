//! The kind of the buyer's certificate a customs declaration carries (issue 28): `ID_CARD` or
//! `PASSPORT`. Declarations made before it carried an ID card number: NULL reads as `ID_CARD`.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0015_buyer_certificate_type"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("customs_declarations")
                    .add_column(string_len_null("buyer_id_type", 16))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("customs_declarations")
                    .drop_column("buyer_id_type")
                    .to_owned(),
            )
            .await
    }
}
