//! Data lifecycle (issue 33): the indexes the retention job deletes by (finished outbox rows by
//! when they finished, idempotency keys, events, finished webhook deliveries and the inbound
//! journal by age), and customs declarations' buyer identity sealed at rest: the name and ID
//! number columns hold sealed values (longer than the clear ones, so TEXT on PostgreSQL; SQLite
//! does not bound VARCHAR), beside their masked forms for display.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0024_data_lifecycle"
    }
}

/// Partial indexes have no sea-query form: the SQL is the same on SQLite and PostgreSQL.
const INDEXES: [(&str, &str); 5] = [
    (
        "ix_outbox_finished",
        "CREATE INDEX ix_outbox_finished ON outbox (updated_at) WHERE status IN ('done', 'stale')",
    ),
    (
        "ix_idempotency_keys_created",
        "CREATE INDEX ix_idempotency_keys_created ON idempotency_keys (created_at)",
    ),
    (
        "ix_events_created",
        "CREATE INDEX ix_events_created ON events (created_at)",
    ),
    (
        "ix_webhook_deliveries_finished",
        "CREATE INDEX ix_webhook_deliveries_finished ON webhook_deliveries (created_at) \
         WHERE status <> 'PENDING'",
    ),
    (
        "ix_alipayplus_inbound_received",
        "CREATE INDEX ix_alipayplus_inbound_received ON alipayplus_inbound (received_at)",
    ),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for (_, create) in INDEXES {
            db.execute_unprepared(create).await?;
        }
        if manager.get_database_backend() == sea_orm_migration::sea_orm::DatabaseBackend::Postgres {
            db.execute_unprepared(
                "ALTER TABLE customs_declarations ALTER COLUMN buyer_name TYPE TEXT, \
                 ALTER COLUMN buyer_id_number TYPE TEXT",
            )
            .await?;
        }
        for column in [
            string_len_null("buyer_name_masked", 128),
            string_len_null("buyer_id_number_masked", 64),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table("customs_declarations")
                        .add_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for (name, _) in INDEXES {
            db.execute_unprepared(&format!("DROP INDEX {name}")).await?;
        }
        for column in ["buyer_name_masked", "buyer_id_number_masked"] {
            manager
                .alter_table(
                    Table::alter()
                        .table("customs_declarations")
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
