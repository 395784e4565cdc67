//! Customs declarations (issue 16): one row per declaration of an AlipayCN payment to Chinese
//! customs, whose id is its `customs_declaration` workflow instance's.
//! `customs_declaration_request_id` is unique; `inquired_at` is when a batched
//! inquireDeclarationRequests last asked about it (see `store::customs_declarations`).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0011_customs_declarations"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("customs_declarations")
                    .col(pk_uuid("id"))
                    .col(string_len("customs_declaration_request_id", 64))
                    .col(uuid("payment_id"))
                    .col(uuid("merchant_id"))
                    .col(string_len("customs_code", 128))
                    .col(string_len("merchant_customs_code", 128))
                    .col(string_len("merchant_customs_name", 256))
                    .col(string_len("currency", 3))
                    .col(big_integer("amount"))
                    .col(boolean("split"))
                    .col(string_len_null("sub_order_id", 64))
                    .col(string_len_null("buyer_name", 128))
                    .col(string_len_null("buyer_id_number", 64))
                    .col(timestamp_with_time_zone_null("inquired_at"))
                    .col(timestamp_with_time_zone("created_at"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_customs_declarations_request")
                    .table("customs_declarations")
                    .col("customs_declaration_request_id")
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_customs_declarations_payment")
                    .table("customs_declarations")
                    .col("payment_id")
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("customs_declarations").to_owned())
            .await
    }
}
