//! What a payment books (`store::ledger`): when it succeeds, Alipay+ owes the acquirer the
//! payment (in the currency Alipay+ settles it in, through the conversion account when that is
//! another), and the acquirer owes the merchant the payment less its fee.

use sea_orm::EntityTrait;

use crate::store::StoreError;
use crate::store::entity::{merchant, payment, payment_result};
use crate::store::feed::Change;
use crate::store::ledger::{Account, Journal, Line, Source};

/// The state whose entry is the money event.
pub const BOOKED_STATE: &str = "succeeded";

/// The journal of the payment of `change` succeeding: its row, what Alipay+ said it settles,
/// and its merchant's fee rate, read in the change's transaction.
pub(super) async fn book(change: Change<'_>) -> Result<Option<Journal>, StoreError> {
    let Some(payment) = change.row::<payment::Entity>().await? else {
        return Ok(None);
    };
    let settled = payment_result::Entity::find_by_id(payment.id)
        .one(change.txn)
        .await?
        .and_then(|result| Some((result.settlement_currency?, result.settlement_value?)));
    let fee_basis_points = merchant::Entity::find_by_id(payment.merchant_id)
        .one(change.txn)
        .await?
        .map_or(0, |merchant| merchant.fee_basis_points);
    Ok(Some(journal(
        &payment,
        settled,
        fee_basis_points,
        change.instance.updated_at,
    )))
}

/// The fee of `amount` at `basis_points` (hundredths of a percent), rounded half up to the
/// minor unit.
pub fn fee(amount: i64, basis_points: i32) -> i64 {
    let fee = (i128::from(amount) * i128::from(basis_points.max(0)) + 5_000) / 10_000;
    fee.min(i128::from(amount)) as i64
}

/// The lines of `payment` succeeding at `at`, settled by Alipay+ as `settled` says (currency,
/// minor units) if it said.
pub fn journal(
    payment: &payment::Model,
    settled: Option<(String, i64)>,
    fee_basis_points: i32,
    at: chrono::DateTime<chrono::Utc>,
) -> Journal {
    let currency = payment.currency.as_str();
    let fee = fee(payment.amount, fee_basis_points);
    let mut lines = match settled.filter(|(settlement_currency, _)| settlement_currency != currency) {
        Some((settlement_currency, value)) => vec![
            Line::debit(Account::AlipayplusReceivable, &settlement_currency, value),
            Line::credit(Account::Conversion, &settlement_currency, value),
            Line::debit(Account::Conversion, currency, payment.amount),
        ],
        None => vec![Line::debit(
            Account::AlipayplusReceivable,
            currency,
            payment.amount,
        )],
    };
    lines.push(Line::credit(
        Account::MerchantPayable,
        currency,
        payment.amount - fee,
    ));
    lines.push(Line::credit(Account::Fees, currency, fee));
    Journal {
        source: Source::PaymentSucceeded,
        merchant_id: payment.merchant_id,
        object_id: payment.id,
        at,
        lines,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payment(currency: &str, amount: i64) -> payment::Model {
        let now = chrono::Utc::now();
        payment::Model {
            id: uuid::Uuid::now_v7(),
            merchant_id: uuid::Uuid::now_v7(),
            merchant_order_id: "order-1".into(),
            payment_request_id: "pr-1".into(),
            order_description: "a test".into(),
            currency: currency.into(),
            amount,
            terminal_type: "WEB".into(),
            os_type: None,
            redirect_url: "https://shop.example/return".into(),
            user_region: None,
            settlement_currency: None,
            expires_at: now,
            checkout_url: None,
            alipay_payment_id: None,
            wallet_brand_name: None,
            failure_code: None,
            created_at: now,
            buyer_reference: None,
            metadata: None,
        }
    }

    #[test]
    fn fees_round_half_up_to_the_minor_unit_and_never_pass_the_amount() {
        assert_eq!(fee(1_000, 250), 25);
        assert_eq!(fee(1_999, 250), 50); // 49.975
        assert_eq!(fee(1_980, 250), 50); // 49.5
        assert_eq!(fee(1_979, 250), 49); // 49.475
        assert_eq!(fee(10, 20_000), 10);
        assert_eq!(fee(1_000, 0), 0);
    }

    #[test]
    fn a_payment_settled_in_its_own_currency_owes_the_merchant_the_amount_less_the_fee() {
        let journal = journal(
            &payment("USD", 10_000),
            Some(("USD".into(), 10_000)),
            300,
            chrono::Utc::now(),
        );
        assert!(journal.imbalance().unwrap().is_empty());
        assert_eq!(
            journal.lines,
            vec![
                Line::debit(Account::AlipayplusReceivable, "USD", 10_000),
                Line::credit(Account::MerchantPayable, "USD", 9_700),
                Line::credit(Account::Fees, "USD", 300),
            ]
        );
    }

    #[test]
    fn a_payment_settled_in_another_currency_balances_each_currency_through_conversion() {
        let journal = journal(
            &payment("KRW", 130_000),
            Some(("USD".into(), 9_650)),
            0,
            chrono::Utc::now(),
        );
        assert!(journal.imbalance().unwrap().is_empty());
        assert_eq!(
            journal.lines[0],
            Line::debit(Account::AlipayplusReceivable, "USD", 9_650)
        );
        assert_eq!(
            journal.lines[3],
            Line::credit(Account::MerchantPayable, "KRW", 130_000)
        );
    }
}
