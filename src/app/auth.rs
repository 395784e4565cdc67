//! Who is asking, shared by every kind: a merchant (its own objects only) or an operator.

use super::errors::{AppError, invalid};
use crate::store::entity::merchant;

/// Who is asking.
#[derive(Debug, Clone)]
pub enum Principal {
    /// Boxed: a merchant row is large, an operator nothing.
    Merchant(Box<merchant::Model>),
    Admin,
}

impl Principal {
    /// Whether it may see what `merchant_id` owns (a merchant its own, an operator all).
    pub fn may_see_owner(&self, merchant_id: uuid::Uuid) -> bool {
        match self {
            Principal::Admin => true,
            Principal::Merchant(merchant) => merchant.id == merchant_id,
        }
    }

    /// FORBIDDEN unless an operator asks.
    pub fn operators_only(&self) -> Result<(), AppError> {
        match self {
            Principal::Admin => Ok(()),
            Principal::Merchant(_) => Err(AppError::Forbidden),
        }
    }

    /// Whose objects a request is about: a merchant's own (naming another is FORBIDDEN), or for
    /// an operator the merchant it names (VALIDATION without one).
    pub fn merchant_named(&self, merchant_id: Option<uuid::Uuid>) -> Result<uuid::Uuid, AppError> {
        match (self, merchant_id) {
            (Principal::Merchant(merchant), None) => Ok(merchant.id),
            (Principal::Merchant(merchant), Some(id)) if id == merchant.id => Ok(id),
            (Principal::Merchant(_), Some(_)) => Err(AppError::Forbidden),
            (Principal::Admin, Some(id)) => Ok(id),
            (Principal::Admin, None) => Err(invalid("merchantId", "an operator names the merchant")),
        }
    }
}
