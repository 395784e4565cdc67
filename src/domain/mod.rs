//! Pure vocabulary shared by every layer: money in integer minor units. No I/O.

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_is_formatted_with_the_currency_precision() {
        assert_eq!(format_money("USD", 1234), "12.34 USD");
        assert_eq!(format_money("USD", 5), "0.05 USD");
        assert_eq!(format_money("JPY", 1234), "1234 JPY");
        assert_eq!(format_money("KWD", 1234), "1.234 KWD");
        assert_eq!(format_money("USD", -250), "-2.50 USD");
    }
}
