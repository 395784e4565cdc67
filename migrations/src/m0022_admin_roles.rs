//! Operators' roles (issue 32): each admin key carries one of `viewer`, `operator`, `finance`,
//! `admin`; the keys made before roles existed could do everything, so they become `admin`.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0022_admin_roles"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("admin_keys")
                    .add_column(string_len("role", 16).default("admin"))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(Table::alter().table("admin_keys").drop_column("role").to_owned())
            .await
    }
}
