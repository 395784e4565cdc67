//! What Alipay+ is told about a merchant on every `pay` (`order.merchant`, ALIPAYPLUS.md 3.1):
//! its legal name (`merchantName`), the name customers see (`merchantDisplayName`), its
//! category (`merchantMCC`), its region (`merchantAddress.region`), and optionally its address
//! and website. The official SDK always sends the first four; plusflow requires them in
//! `alipayplus` mode before a merchant takes payments (MERCHANT_PROFILE_INCOMPLETE, naming what
//! is missing, before anything is stored or sent). With the simulator, a merchant without them
//! pays with development stand-ins ([`MerchantProfile::for_pay`]), so a first `serve` works.

use super::errors::{AppError, check_length, invalid};
use crate::alipayplus::wire::{Address, Merchant};
use crate::store::entity::merchant;

/// The merchant category of the simulator's stand-in profile: 5999, miscellaneous retail.
const STAND_IN_MCC: &str = "5999";
/// The region of the simulator's stand-in profile.
const STAND_IN_REGION: &str = "SG";

/// A merchant's profile as an operator writes it (every field optional until payments need it).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MerchantProfile {
    pub legal_name: Option<String>,
    pub display_name: Option<String>,
    /// Four digits (ISO 18245).
    pub mcc: Option<String>,
    /// ISO 3166 alpha-2, upper case.
    pub region: Option<String>,
    pub address1: Option<String>,
    pub city: Option<String>,
    pub zip_code: Option<String>,
    pub website: Option<String>,
}

/// `merchantMCC`: four digits.
pub fn check_mcc(field: &str, mcc: &str) -> Result<(), AppError> {
    if mcc.len() != 4 || !mcc.chars().all(|c| c.is_ascii_digit()) {
        return Err(invalid(field, "must be 4 digits"));
    }
    Ok(())
}

/// A region: an assigned ISO 3166-1 alpha-2 code, in capitals.
pub fn check_region(field: &str, region: &str) -> Result<(), AppError> {
    if !crate::domain::is_region(region) {
        return Err(invalid(field, "must be an ISO 3166 alpha-2 code such as KR"));
    }
    Ok(())
}

impl MerchantProfile {
    /// The profile kept on `row`.
    pub fn of(row: &merchant::Model) -> Self {
        Self {
            legal_name: row.legal_name.clone(),
            display_name: row.display_name.clone(),
            mcc: row.mcc.clone(),
            region: row.region.clone(),
            address1: row.address1.clone(),
            city: row.city.clone(),
            zip_code: row.zip_code.clone(),
            website: row.website.clone(),
        }
    }

    /// Writes the profile onto `row`.
    pub fn apply_to(self, row: &mut merchant::Model) {
        row.legal_name = self.legal_name;
        row.display_name = self.display_name;
        row.mcc = self.mcc;
        row.region = self.region;
        row.address1 = self.address1;
        row.city = self.city;
        row.zip_code = self.zip_code;
        row.website = self.website;
    }

    /// Every rule of each field given, the field named as the input names it.
    pub fn validate(&self) -> Result<(), AppError> {
        for (field, value, max) in [
            ("legalName", &self.legal_name, 256),
            ("displayName", &self.display_name, 256),
            ("address1", &self.address1, 256),
            ("city", &self.city, 128),
            ("zipCode", &self.zip_code, 32),
            ("website", &self.website, 2048),
        ] {
            if let Some(value) = value {
                check_length(field, value, max)?;
                if value.trim().is_empty() {
                    return Err(invalid(field, "must not be empty"));
                }
            }
        }
        if let Some(mcc) = &self.mcc {
            check_mcc("mcc", mcc)?;
        }
        if let Some(region) = &self.region {
            check_region("region", region)?;
        }
        if let Some(website) = &self.website {
            url::Url::parse(website).map_err(|e| invalid("website", format!("is not a URL ({e})")))?;
        }
        Ok(())
    }

    /// The fields a merchant must have before it takes payments, that this profile lacks.
    pub fn missing_for_payments(&self) -> Vec<&'static str> {
        [
            ("legalName", &self.legal_name),
            ("displayName", &self.display_name),
            ("mcc", &self.mcc),
            ("region", &self.region),
        ]
        .into_iter()
        .filter(|(_, value)| value.is_none())
        .map(|(field, _)| field)
        .collect()
    }

    /// `order.merchant` of a pay request of merchant `row` (`reference_merchant_id` is how
    /// Alipay+ knows it). Fields the profile lacks (only possible with the simulator, see the
    /// module doc) are the merchant's name, MCC 5999 and region SG.
    pub fn for_pay(row: &merchant::Model, reference_merchant_id: String) -> Merchant {
        let profile = Self::of(row);
        let address = Address {
            region: Some(profile.region.unwrap_or_else(|| STAND_IN_REGION.into())),
            city: profile.city,
            address1: profile.address1,
            zip_code: profile.zip_code,
            ..Default::default()
        };
        Merchant {
            reference_merchant_id: Some(reference_merchant_id),
            merchant_name: Some(profile.legal_name.unwrap_or_else(|| row.name.clone())),
            merchant_display_name: Some(profile.display_name.unwrap_or_else(|| row.name.clone())),
            merchant_mcc: Some(profile.mcc.unwrap_or_else(|| STAND_IN_MCC.into())),
            merchant_register_date: None,
            merchant_address: Some(address),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_profile_names_what_payments_still_need_and_refuses_bad_fields() {
        let complete = MerchantProfile {
            legal_name: Some("Demo Coffee Ltd".into()),
            display_name: Some("Demo Coffee".into()),
            mcc: Some("5812".into()),
            region: Some("KR".into()),
            ..Default::default()
        };
        assert!(complete.validate().is_ok());
        assert!(complete.missing_for_payments().is_empty());
        assert_eq!(
            MerchantProfile::default().missing_for_payments(),
            ["legalName", "displayName", "mcc", "region"]
        );
        let refused = |profile: MerchantProfile| match profile.validate() {
            Err(AppError::Validation { field, .. }) => field,
            other => panic!("{other:?}"),
        };
        let with = |change: fn(&mut MerchantProfile)| {
            let mut profile = complete.clone();
            change(&mut profile);
            profile
        };
        assert_eq!(refused(with(|p| p.mcc = Some("58A2".into()))), "mcc");
        assert_eq!(refused(with(|p| p.region = Some("kr".into()))), "region");
        assert_eq!(refused(with(|p| p.website = Some("not a url".into()))), "website");
        assert_eq!(refused(with(|p| p.legal_name = Some(" ".into()))), "legalName");
    }
}
