//! `merchants`: who may use the API (its keys are in `api_keys`) and who it is to Alipay+ (its
//! profile); its webhook endpoints are in `webhook_endpoints`. `Debug` (for logs and panics) does
//! not show the key hash.

use sea_orm::entity::prelude::*;

#[derive(Clone, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "merchants")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub name: String,
    /// The SHA-256 of the key the merchant was created with (also in `api_keys`, where it can
    /// be revoked); authentication never reads it.
    pub api_key_hash: String,
    pub created_at: ChronoDateTimeUtc,
    /// The profile Alipay+ is told on every pay (`app::merchant_profile`).
    pub legal_name: Option<String>,
    pub display_name: Option<String>,
    pub mcc: Option<String>,
    pub region: Option<String>,
    pub address1: Option<String>,
    pub city: Option<String>,
    pub zip_code: Option<String>,
    pub website: Option<String>,
    /// The acquirer's fee on each of the merchant's payments, in hundredths of a percent
    /// (booked by the ledger when the payment succeeds).
    pub fee_basis_points: i32,
}

impl Model {
    /// A merchant as created: no profile yet.
    pub fn new(id: Uuid, name: String, api_key_hash: String, created_at: ChronoDateTimeUtc) -> Self {
        Self {
            id,
            name,
            api_key_hash,
            created_at,
            legal_name: None,
            display_name: None,
            mcc: None,
            region: None,
            address1: None,
            city: None,
            zip_code: None,
            website: None,
            fee_basis_points: 0,
        }
    }
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Merchant")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("api_key_hash", &"[redacted]")
            .field("created_at", &self.created_at)
            .field("legal_name", &self.legal_name)
            .field("display_name", &self.display_name)
            .field("mcc", &self.mcc)
            .field("region", &self.region)
            .finish()
    }
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
