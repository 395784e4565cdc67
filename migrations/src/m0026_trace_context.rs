//! Traces across the outbox (issue 33): the W3C `traceparent` of the span that wrote a row, kept
//! with the row: a workflow instance (the request that started it: later calls about it, such as
//! Alipay+'s notifications, join its trace), an outbox row (its effect runs in the trace of what
//! scheduled it), a webhook delivery (sent in the trace of the change it announces). NULL when
//! traces are not exported.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0026_trace_context"
    }
}

const TABLES: [&str; 3] = ["workflow_instances", "outbox", "webhook_deliveries"];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in TABLES {
            manager
                .alter_table(
                    Table::alter()
                        .table(table)
                        .add_column(string_len_null("trace_context", 64))
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in TABLES {
            manager
                .alter_table(
                    Table::alter()
                        .table(table)
                        .drop_column("trace_context")
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
