//! What Alipay+ stated of a succeeded payment (issue 28), one row per payment keyed by the
//! payment's id, written in the same write as the payment's success: the wallet (`pspId`, its
//! `walletBrandName`), the wallet's `customerId`, `paymentTime`, the `settlementAmount` and
//! `settlementQuote`, and the `customsDeclarationAmount`. Amounts are integer minor units; the
//! quote's price is kept as the decimal text Alipay+ sent. Payments that succeeded before this
//! migration get the wallet and customs amount their workflow data held (no pspId then).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0014_payment_results"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("payment_results")
                    .col(pk_uuid("payment_id"))
                    .col(string_len_null("alipay_payment_id", 64))
                    .col(string_len_null("psp_id", 64))
                    .col(string_len_null("wallet_brand_name", 128))
                    .col(string_len_null("customer_id", 64))
                    .col(timestamp_with_time_zone_null("payment_time"))
                    .col(string_len_null("settlement_currency", 3))
                    .col(big_integer_null("settlement_value"))
                    .col(string_len_null("quote_id", 64))
                    .col(string_len_null("quote_currency_pair", 16))
                    .col(string_len_null("quote_price", 64))
                    .col(timestamp_with_time_zone_null("quote_start_time"))
                    .col(timestamp_with_time_zone_null("quote_expiry_time"))
                    .col(string_len_null("customs_currency", 3))
                    .col(big_integer_null("customs_value"))
                    .col(timestamp_with_time_zone("recorded_at"))
                    .to_owned(),
            )
            .await?;
        let (text, number): (fn(&str) -> String, fn(&str) -> String) = match manager.get_database_backend() {
            DbBackend::Postgres => (
                |key: &str| format!("i.data->>'{key}'"),
                |path: &str| format!("(i.data->'{path}'->>'value')::bigint"),
            ),
            _ => (
                |key: &str| format!("json_extract(i.data, '$.{key}')"),
                |path: &str| format!("CAST(json_extract(i.data, '$.{path}.value') AS INTEGER)"),
            ),
        };
        let amount = "customsDeclarationAmount";
        let currency = match manager.get_database_backend() {
            DbBackend::Postgres => format!("i.data->'{amount}'->>'currency'"),
            _ => format!("json_extract(i.data, '$.{amount}.currency')"),
        };
        let sql = format!(
            "INSERT INTO payment_results (payment_id, alipay_payment_id, wallet_brand_name, \
             customs_currency, customs_value, recorded_at) \
             SELECT i.id, {}, {}, {currency}, {}, i.updated_at FROM workflow_instances i \
             WHERE i.kind = 'payment' AND (i.state = 'succeeded' OR {} IS NOT NULL)",
            text("alipayPaymentId"),
            text("walletBrandName"),
            number(amount),
            text("paidAt"),
        );
        manager.get_connection().execute_unprepared(&sql).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("payment_results").to_owned())
            .await
    }
}
