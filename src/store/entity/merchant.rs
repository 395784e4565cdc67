//! `merchants`: who may use the API; the API key is stored as its SHA-256. `Debug` (for logs
//! and panics) shows neither the key's hash nor the webhook secret.

use sea_orm::entity::prelude::*;

#[derive(Clone, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "merchants")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub name: String,
    pub api_key_hash: String,
    pub webhook_url: Option<String>,
    /// Signs our webhooks (HMAC-SHA256); the merchant holds the same secret.
    pub webhook_secret: String,
    pub created_at: ChronoDateTimeUtc,
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Merchant")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("api_key_hash", &"[redacted]")
            .field("webhook_url", &self.webhook_url)
            .field("webhook_secret", &"[redacted]")
            .field("created_at", &self.created_at)
            .finish()
    }
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
