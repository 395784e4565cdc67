//! A merchant as operators see it, and its profile: what Alipay+ is told about it on every
//! payment (`app::merchant_profile`).

use async_graphql::{Context, ID, InputObject, Object, Result};
use chrono::{DateTime, Utc};

use super::console::operator;
use super::context::{engine, graphql_error, parse_id, principal};
use crate::app::merchant_profile::MerchantProfile;
use crate::app::merchants;
use crate::store::entity::merchant;

/// A merchant (operators only).
pub struct Merchant(merchant::Model);

#[Object]
impl Merchant {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// `merchantName` at Alipay+.
    async fn legal_name(&self) -> Option<&str> {
        self.0.legal_name.as_deref()
    }
    /// `merchantDisplayName`: what customers see.
    async fn display_name(&self) -> Option<&str> {
        self.0.display_name.as_deref()
    }
    /// `merchantMCC`.
    async fn mcc(&self) -> Option<&str> {
        self.0.mcc.as_deref()
    }
    /// `merchantAddress.region`.
    async fn region(&self) -> Option<&str> {
        self.0.region.as_deref()
    }
    async fn address1(&self) -> Option<&str> {
        self.0.address1.as_deref()
    }
    async fn city(&self) -> Option<&str> {
        self.0.city.as_deref()
    }
    async fn zip_code(&self) -> Option<&str> {
        self.0.zip_code.as_deref()
    }
    async fn website(&self) -> Option<&str> {
        self.0.website.as_deref()
    }
    /// What the profile still lacks before the merchant may take payments at the real Alipay+
    /// (empty when complete).
    async fn missing_for_payments(&self) -> Vec<&'static str> {
        MerchantProfile::of(&self.0).missing_for_payments()
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// A merchant's whole profile (fields left out are cleared).
#[derive(InputObject)]
pub struct MerchantProfileInput {
    pub legal_name: Option<String>,
    pub display_name: Option<String>,
    /// Four digits.
    pub mcc: Option<String>,
    /// ISO 3166 two capital letters.
    pub region: Option<String>,
    pub address1: Option<String>,
    pub city: Option<String>,
    pub zip_code: Option<String>,
    pub website: Option<String>,
}

#[derive(Default)]
pub struct MerchantProfileMutations;

#[Object]
impl MerchantProfileMutations {
    /// Replaces a merchant's profile (operators). In `alipayplus` mode a merchant takes
    /// payments once legalName, displayName, mcc and region are set.
    async fn update_merchant_profile(
        &self,
        ctx: &Context<'_>,
        merchant_id: ID,
        input: MerchantProfileInput,
    ) -> Result<Merchant> {
        operator(ctx, crate::app::roles::AdminRole::Admin)?;
        let profile = MerchantProfile {
            legal_name: input.legal_name,
            display_name: input.display_name,
            mcc: input.mcc,
            region: input.region,
            address1: input.address1,
            city: input.city,
            zip_code: input.zip_code,
            website: input.website,
        };
        let row = merchants::update_profile(engine(ctx), principal(ctx)?, parse_id(&merchant_id)?, profile)
            .await
            .map_err(graphql_error)?;
        super::console::record_if_operator(
            ctx,
            "updateMerchantProfile",
            &[merchant_id.to_string()],
            "profile updated",
        )
        .await?;
        Ok(Merchant(row))
    }
}
