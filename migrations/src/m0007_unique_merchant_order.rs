//! A merchant's order is paid through one payment: `merchantOrderId` is unique per merchant, so
//! a retry of the same order with a fresh idempotency key is refused (`DUPLICATE_ORDER`) by the
//! database in the statement that would create the second payment, not by a check before it.
//! A database that already holds two payments of one order fails here, naming the index: an
//! operator resolves those before upgrading.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0007_unique_merchant_order"
    }
}

/// The name `store::payments` recognises when the database refuses a second payment.
pub const INDEX: &str = "ux_payments_merchant_order";

#[derive(DeriveIden)]
enum Payments {
    Table,
    MerchantId,
    MerchantOrderId,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name(INDEX)
                    .table(Payments::Table)
                    .col(Payments::MerchantId)
                    .col(Payments::MerchantOrderId)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(Index::drop().name(INDEX).table(Payments::Table).to_owned())
            .await
    }
}
