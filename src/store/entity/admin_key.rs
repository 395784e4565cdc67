//! `admin_keys`: operators' API keys by name, each stored as its SHA-256; a revoked key stays.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "admin_keys")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The operator, as history names it (`admin:<name>`).
    pub name: String,
    /// `viewer`, `operator`, `finance` or `admin` (`app::roles::AdminRole`).
    pub role: String,
    pub key_hash: String,
    pub created_at: ChronoDateTimeUtc,
    pub revoked_at: Option<ChronoDateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
