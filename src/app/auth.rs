//! Who is asking, shared by every kind: a merchant (its own objects only) or an operator.

use super::errors::AppError;
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
}
