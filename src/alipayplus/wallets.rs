//! The reference table of Alipay+ wallets (MPPs): the brand people see (`walletBrandName`, e.g.
//! "Kakao Pay"), the enum name (`KAKAOPAY`) and the `pspId` Alipay+ states in payment results and
//! in settlement files (ALIPAYPLUS.md 7.2). A wallet is identified by its `pspId`: brand names
//! are display text and may change. The table is data built into the binary
//! (`wallets.toml` beside this file) that the configuration's `[[wallets]]` entries override
//! (same pspId or same name: replaced) or extend. A wallet not in the table is accepted and shown
//! as unknown: only features tied to one wallet (customs: AlipayCN) need it known.

use serde::Deserialize;

/// The built-in table.
const BUILT_IN: &str = include_str!("wallets.toml");

/// The `pspId` of AlipayCN, the only wallet whose payments are declared to customs.
pub const ALIPAY_CN_PSP_ID: &str = "1022088000000000001";

/// One wallet of the table.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WalletEntry {
    /// The brand shown to people: `walletBrandName`.
    pub brand: String,
    /// The enum name: `ALIPAY_CN`, `KAKAOPAY`...
    pub name: String,
    pub psp_id: String,
}

#[derive(Deserialize)]
struct TableFile {
    wallets: Vec<WalletEntry>,
}

/// What is known of the wallet a payment was paid with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalletIdentity {
    /// From the table when known, else what Alipay+ stated (or "unknown").
    pub brand: String,
    /// The enum name, when the wallet is in the table.
    pub name: Option<String>,
    pub psp_id: Option<String>,
}

impl WalletIdentity {
    pub fn known(&self) -> bool {
        self.name.is_some()
    }

    pub fn is_alipay_cn(&self) -> bool {
        self.psp_id.as_deref() == Some(ALIPAY_CN_PSP_ID)
    }
}

/// The table (see the module doc).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wallets {
    entries: Vec<WalletEntry>,
}

impl Default for Wallets {
    fn default() -> Self {
        let file: TableFile = toml::from_str(BUILT_IN).expect("the built-in wallet table parses");
        Self {
            entries: file.wallets,
        }
    }
}

impl Wallets {
    /// The built-in table with `overrides` applied: an entry with the pspId or the name of a
    /// built-in one replaces it, any other is added.
    pub fn with_overrides(overrides: &[WalletEntry]) -> Self {
        let mut table = Self::default();
        for entry in overrides {
            table
                .entries
                .retain(|known| known.psp_id != entry.psp_id && known.name != entry.name);
            table.entries.push(entry.clone());
        }
        table
    }

    pub fn entries(&self) -> &[WalletEntry] {
        &self.entries
    }

    pub fn by_psp_id(&self, psp_id: &str) -> Option<&WalletEntry> {
        self.entries.iter().find(|entry| entry.psp_id == psp_id)
    }

    pub fn by_name(&self, name: &str) -> Option<&WalletEntry> {
        self.entries.iter().find(|entry| entry.name == name)
    }

    /// The wallet of a payment result: by `psp_id` when Alipay+ stated one (a brand name alone
    /// never identifies a wallet then); without a pspId (results recorded before pspIds were
    /// kept), by the stated brand or enum name.
    pub fn identify(&self, psp_id: Option<&str>, brand: Option<&str>) -> Option<WalletIdentity> {
        let entry = match (psp_id, brand) {
            (Some(psp_id), _) => self.by_psp_id(psp_id),
            (None, Some(brand)) => self
                .entries
                .iter()
                .find(|entry| entry.brand == brand || entry.name == brand),
            (None, None) => return None,
        };
        Some(match entry {
            Some(entry) => WalletIdentity {
                brand: entry.brand.clone(),
                name: Some(entry.name.clone()),
                psp_id: Some(entry.psp_id.clone()),
            },
            None => WalletIdentity {
                brand: brand.unwrap_or("unknown").to_string(),
                name: None,
                psp_id: psp_id.map(str::to_string),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_table_names_alipay_cn_by_its_psp_id_and_every_entry_is_unique() {
        let wallets = Wallets::default();
        let alipay = wallets.by_psp_id(ALIPAY_CN_PSP_ID).unwrap();
        assert_eq!(
            (alipay.brand.as_str(), alipay.name.as_str()),
            ("Alipay", "ALIPAY_CN")
        );
        let entries = wallets.entries();
        for (i, entry) in entries.iter().enumerate() {
            for other in &entries[i + 1..] {
                assert_ne!(entry.psp_id, other.psp_id);
                assert_ne!(entry.name, other.name);
            }
        }
    }

    #[test]
    fn a_wallet_is_identified_by_psp_id_and_an_unknown_one_is_kept_as_stated() {
        let wallets = Wallets::default();
        let cases = [
            // (pspId, walletBrandName) -> (brand, enum name, AlipayCN)
            (
                Some(ALIPAY_CN_PSP_ID),
                Some("Alipay"),
                "Alipay",
                Some("ALIPAY_CN"),
                true,
            ),
            (
                Some("1022172000000000001"),
                Some("Kakao Pay"),
                "Kakao Pay",
                Some("KAKAOPAY"),
                false,
            ),
            // The pspId decides: a brand name of AlipayCN on another wallet's pspId is not AlipayCN.
            (
                Some("1022170000000000000"),
                Some("Alipay"),
                "GCash",
                Some("GCASH"),
                false,
            ),
            (Some("9999"), Some("New Wallet"), "New Wallet", None, false),
            (Some("9999"), None, "unknown", None, false),
            // Results kept before pspIds were: the stated brand or enum name.
            (None, Some("ALIPAY_CN"), "Alipay", Some("ALIPAY_CN"), true),
            (None, Some("Alipay"), "Alipay", Some("ALIPAY_CN"), true),
        ];
        for (psp_id, brand, want_brand, want_name, alipay_cn) in cases {
            let identity = wallets.identify(psp_id, brand).unwrap();
            assert_eq!(identity.brand, want_brand, "{psp_id:?} {brand:?}");
            assert_eq!(identity.name.as_deref(), want_name, "{psp_id:?} {brand:?}");
            assert_eq!(identity.is_alipay_cn(), alipay_cn, "{psp_id:?} {brand:?}");
        }
        assert_eq!(wallets.identify(None, None), None);
    }

    #[test]
    fn configured_entries_replace_built_in_ones_by_psp_id_or_name_and_add_new_ones() {
        let entry = |brand: &str, name: &str, psp_id: &str| WalletEntry {
            brand: brand.into(),
            name: name.into(),
            psp_id: psp_id.into(),
        };
        let wallets = Wallets::with_overrides(&[
            entry("GCash by Mynt", "GCASH", "1022170000000000000"),
            entry("Kakao Pay", "KAKAOPAY", "1022172000000000009"),
            entry("Octo", "OCTO", "X1"),
        ]);
        assert_eq!(wallets.by_name("GCASH").unwrap().brand, "GCash by Mynt");
        assert!(wallets.by_psp_id("1022172000000000001").is_none());
        assert_eq!(wallets.by_psp_id("1022172000000000009").unwrap().name, "KAKAOPAY");
        assert_eq!(wallets.by_psp_id("X1").unwrap().brand, "Octo");
        assert_eq!(wallets.entries().len(), Wallets::default().entries().len() + 1);
    }
}
