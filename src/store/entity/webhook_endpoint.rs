//! `webhook_endpoints`: where a merchant's webhooks go, several per merchant, each with the
//! event types it takes (none listed: all), its own signing secret, and whether it is enabled.
//! `Debug` (for logs and panics) shows neither secret.

use sea_orm::entity::prelude::*;

#[derive(Clone, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_endpoints")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub merchant_id: Uuid,
    pub url: String,
    /// A JSON list of event types (`payment.updated`...); empty for every type.
    pub event_types: Json,
    pub description: Option<String>,
    /// A disabled endpoint keeps its pending deliveries; they go out, in order, once enabled.
    pub enabled: bool,
    /// Why plusflow disabled it (failing for too long); `None` when the merchant did, or enabled.
    pub disabled_reason: Option<String>,
    /// Signs its deliveries (HMAC-SHA256); the merchant holds the same secret.
    pub secret: String,
    /// The secret before the last rotation, still signing deliveries (beside the new one) until
    /// `previous_secret_until`, so the merchant can switch without losing one.
    pub previous_secret: Option<String>,
    pub previous_secret_until: Option<ChronoDateTimeUtc>,
    /// Since when every attempt to it failed; `None` once one succeeds.
    pub failing_since: Option<ChronoDateTimeUtc>,
    /// Counts its changes (numbers its own events, such as `webhook_endpoint.disabled`).
    pub version: i64,
    pub created_at: ChronoDateTimeUtc,
    pub updated_at: ChronoDateTimeUtc,
    /// Deleted by the merchant: no longer listed, nothing more sent.
    pub deleted_at: Option<ChronoDateTimeUtc>,
}

impl Model {
    /// The event types it takes (empty: every type).
    pub fn types(&self) -> Vec<String> {
        serde_json::from_value(self.event_types.clone()).unwrap_or_default()
    }

    /// Whether it takes events of `event_type`.
    pub fn takes(&self, event_type: &str) -> bool {
        let types = self.types();
        types.is_empty() || types.iter().any(|taken| taken == event_type)
    }
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookEndpoint")
            .field("id", &self.id)
            .field("merchant_id", &self.merchant_id)
            .field("url", &self.url)
            .field("event_types", &self.event_types)
            .field("enabled", &self.enabled)
            .field("secret", &"[redacted]")
            .field("version", &self.version)
            .finish_non_exhaustive()
    }
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
