//! Amounts as merchants write them: integer minor units of a currency, as a decimal string,
//! checked once for every kind that takes money (payments, refunds, dispute refunds).

use super::errors::{AppError, invalid};
use crate::domain::currency_exponent;

/// Parses an amount in integer minor units of `currency`.
pub fn parse_amount(field: &str, currency: &str, value: &str) -> Result<i64, AppError> {
    let exponent = currency_exponent(currency).ok_or_else(|| {
        invalid(
            &format!("{field}.currency"),
            format!("unknown or unsupported currency '{currency}'"),
        )
    })?;
    let value_field = format!("{field}.value");
    if value.contains('.') || value.contains(',') {
        let example = 10_i64.pow(exponent) * 10 + 5;
        return Err(invalid(
            &value_field,
            format!(
                "must be an integer number of minor units of {currency} ({exponent} decimals: e.g. {example} for {})",
                crate::domain::format_money(currency, example)
            ),
        ));
    }
    if value.is_empty()
        || value.len() > 15
        || !value.trim_start_matches('-').chars().all(|c| c.is_ascii_digit())
        || value == "-"
    {
        return Err(invalid(
            &value_field,
            "must be a positive integer of at most 15 digits",
        ));
    }
    let amount: i64 = value
        .parse()
        .map_err(|_| invalid(&value_field, "must be a positive integer of at most 15 digits"))?;
    if amount <= 0 {
        return Err(invalid(&value_field, "must be greater than zero"));
    }
    Ok(amount)
}
