//! Pure vocabulary shared by every layer: money in integer minor units, regions. No I/O.

/// Minor-unit digits of the ISO 4217 currencies Alipay+ wallets settle in; `None` for a currency
/// plusflow does not accept.
pub fn currency_exponent(currency: &str) -> Option<u32> {
    match currency {
        "JPY" | "KRW" | "VND" | "CLP" | "ISK" => Some(0),
        "USD" | "EUR" | "GBP" | "HKD" | "CNY" | "SGD" | "MYR" | "PHP" | "IDR" | "THB" | "AUD" | "NZD"
        | "CAD" | "CHF" | "TWD" | "MOP" | "MNT" | "PKR" | "BDT" | "KZT" | "LKR" | "NPR" | "SEK" | "NOK"
        | "DKK" | "AED" | "SAR" | "QAR" | "INR" | "BRL" | "MXN" | "ZAR" | "TRY" | "ILS" | "PLN" | "CZK"
        | "HUF" => Some(2),
        "KWD" | "BHD" | "OMR" | "JOD" => Some(3),
        _ => None,
    }
}

/// `1234` USD -> `"12.34 USD"`; `1234` JPY -> `"1234 JPY"`.
pub fn format_money(currency: &str, minor_units: i64) -> String {
    let exponent = currency_exponent(currency).unwrap_or(2);
    if exponent == 0 {
        return format!("{minor_units} {currency}");
    }
    let scale = 10_i64.pow(exponent);
    let sign = if minor_units < 0 { "-" } else { "" };
    let (whole, fraction) = (minor_units.abs() / scale, minor_units.abs() % scale);
    format!(
        "{sign}{whole}.{fraction:0width$} {currency}",
        width = exponent as usize
    )
}

/// The ISO 3166-1 alpha-2 codes assigned to a country or territory (249), sorted.
const REGIONS: [&str; 249] = [
    "AD", "AE", "AF", "AG", "AI", "AL", "AM", "AO", "AQ", "AR", "AS", "AT", "AU", "AW", "AX", "AZ", "BA",
    "BB", "BD", "BE", "BF", "BG", "BH", "BI", "BJ", "BL", "BM", "BN", "BO", "BQ", "BR", "BS", "BT", "BV",
    "BW", "BY", "BZ", "CA", "CC", "CD", "CF", "CG", "CH", "CI", "CK", "CL", "CM", "CN", "CO", "CR", "CU",
    "CV", "CW", "CX", "CY", "CZ", "DE", "DJ", "DK", "DM", "DO", "DZ", "EC", "EE", "EG", "EH", "ER", "ES",
    "ET", "FI", "FJ", "FK", "FM", "FO", "FR", "GA", "GB", "GD", "GE", "GF", "GG", "GH", "GI", "GL", "GM",
    "GN", "GP", "GQ", "GR", "GS", "GT", "GU", "GW", "GY", "HK", "HM", "HN", "HR", "HT", "HU", "ID", "IE",
    "IL", "IM", "IN", "IO", "IQ", "IR", "IS", "IT", "JE", "JM", "JO", "JP", "KE", "KG", "KH", "KI", "KM",
    "KN", "KP", "KR", "KW", "KY", "KZ", "LA", "LB", "LC", "LI", "LK", "LR", "LS", "LT", "LU", "LV", "LY",
    "MA", "MC", "MD", "ME", "MF", "MG", "MH", "MK", "ML", "MM", "MN", "MO", "MP", "MQ", "MR", "MS", "MT",
    "MU", "MV", "MW", "MX", "MY", "MZ", "NA", "NC", "NE", "NF", "NG", "NI", "NL", "NO", "NP", "NR", "NU",
    "NZ", "OM", "PA", "PE", "PF", "PG", "PH", "PK", "PL", "PM", "PN", "PR", "PS", "PT", "PW", "PY", "QA",
    "RE", "RO", "RS", "RU", "RW", "SA", "SB", "SC", "SD", "SE", "SG", "SH", "SI", "SJ", "SK", "SL", "SM",
    "SN", "SO", "SR", "SS", "ST", "SV", "SX", "SY", "SZ", "TC", "TD", "TF", "TG", "TH", "TJ", "TK", "TL",
    "TM", "TN", "TO", "TR", "TT", "TV", "TW", "TZ", "UA", "UG", "UM", "US", "UY", "UZ", "VA", "VC", "VE",
    "VG", "VI", "VN", "VU", "WF", "WS", "YE", "YT", "ZA", "ZM", "ZW",
];

/// Whether `code` is an assigned ISO 3166-1 alpha-2 code (`KR`; not `kr`, `XX` or `KOR`).
pub fn is_region(code: &str) -> bool {
    REGIONS.binary_search(&code).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_assigned_region_codes_are_regions() {
        for region in ["KR", "HK", "CN", "PH", "US", "GB", "AX", "ZW"] {
            assert!(is_region(region), "{region}");
        }
        for not_region in ["XX", "UK", "EU", "kr", "KOR", "K", ""] {
            assert!(!is_region(not_region), "{not_region}");
        }
    }

    #[test]
    fn money_is_formatted_with_the_currency_precision() {
        assert_eq!(format_money("USD", 1234), "12.34 USD");
        assert_eq!(format_money("USD", 5), "0.05 USD");
        assert_eq!(format_money("JPY", 1234), "1234 JPY");
        assert_eq!(format_money("KWD", 1234), "1.234 KWD");
        assert_eq!(format_money("USD", -250), "-2.50 USD");
    }
}
