//! The simulator's foreign exchange: fixed rates, so a payment settled in another currency has a
//! settlement amount and a quote as the real Alipay+ states them (ALIPAYPLUS.md 3.2), and tests
//! can compute what to expect.

use crate::alipayplus::wire::Amount;
use crate::domain::currency_exponent;

/// Units of each currency per US dollar, times 10,000.
const PER_USD: [(&str, i128); 11] = [
    ("USD", 10_000),
    ("CNY", 70_000),
    ("HKD", 78_000),
    ("KRW", 13_500_000),
    ("PHP", 560_000),
    ("MYR", 47_000),
    ("IDR", 155_000_000),
    ("THB", 360_000),
    ("JPY", 1_500_000),
    ("SGD", 13_500),
    ("EUR", 9_200),
];

fn per_usd(currency: &str) -> Option<i128> {
    PER_USD
        .iter()
        .find(|(c, _)| *c == currency)
        .map(|(_, rate)| *rate)
}

/// `amount` in currency `to`, rounded half up to its minor unit, and the rate used (units of `to`
/// per unit of the amount's currency, as decimal text with six places).
pub fn convert(amount: &Amount, to: &str) -> Option<(Amount, String)> {
    let (from_rate, to_rate) = (per_usd(&amount.currency)?, per_usd(to)?);
    let (from_exp, to_exp) = (currency_exponent(&amount.currency)?, currency_exponent(to)?);
    // value / 10^from_exp * (to_rate / from_rate) * 10^to_exp, in integers.
    let numerator = i128::from(amount.value) * to_rate * 10_i128.pow(to_exp);
    let denominator = from_rate * 10_i128.pow(from_exp);
    let value = (2 * numerator + denominator) / (2 * denominator);
    let micro = (to_rate * 1_000_000 + from_rate / 2) / from_rate;
    let price = format!("{}.{:06}", micro / 1_000_000, micro % 1_000_000);
    Some((Amount::new(to, i64::try_from(value).ok()?), price))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_convert_at_the_fixed_rates_to_the_minor_unit() {
        let cases = [
            (Amount::new("USD", 1000), "KRW", 13_500, "1350.000000"),
            (Amount::new("KRW", 13_500), "USD", 1000, "0.000741"),
            (Amount::new("USD", 1), "CNY", 7, "7.000000"),
            (Amount::new("HKD", 100), "USD", 13, "0.128205"),
            (Amount::new("KRW", 1), "USD", 0, "0.000741"),
        ];
        for (amount, to, value, price) in cases {
            let (converted, rate) = convert(&amount, to).unwrap();
            assert_eq!(
                (converted.currency.as_str(), converted.value),
                (to, value),
                "{amount:?}"
            );
            assert_eq!(rate, price, "{amount:?}");
        }
        assert!(convert(&Amount::new("USD", 1), "XXX").is_none());
    }
}
