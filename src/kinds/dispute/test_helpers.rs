//! `simulateDispute` (test mode only): a wallet raising a retrieval or an escalation on a paid
//! payment, done for a merchant's test suite. The simulator sends plusflow the signed
//! initiateRetrieval / initiateEscalation Alipay+ would, and the dispute appears on the payment
//! as one raised by a real wallet would.

use serde_json::json;
use uuid::Uuid;

use crate::app::Engine;
use crate::app::auth::Principal;
use crate::app::errors::{AppError, invalid};
use crate::app::test_mode::TestMode;
use crate::kinds::payment::use_cases::{PaymentView, get_payment};

/// A dispute a test raises: `RETRIEVAL` or `ESCALATION`, and for an escalation the amount
/// disputed (in minor units of the payment's currency; the whole payment if `None`).
pub struct SimulatedDispute<'a> {
    pub kind: &'static str,
    pub amount: Option<(&'a str, &'a str)>,
}

/// Raises `dispute` on paid payment `payment_id` (one `principal` may see) at the simulator.
pub async fn simulate_dispute(
    engine: &Engine,
    test_mode: &TestMode,
    principal: &Principal,
    payment_id: Uuid,
    dispute: SimulatedDispute<'_>,
) -> Result<PaymentView, AppError> {
    let controls = test_mode.controls()?;
    let payment = get_payment(engine, principal, payment_id).await?;
    let amount = match dispute.amount {
        None => payment.payment.amount,
        Some((currency, _)) if currency != payment.payment.currency => {
            return Err(invalid("amount", "must be in the payment's currency"));
        }
        Some((_, value)) => match value.parse::<i64>() {
            Ok(value) if value > 0 && value <= payment.payment.amount => value,
            _ => {
                return Err(invalid(
                    "amount",
                    "must be whole minor units, more than 0 and at most the payment's amount",
                ));
            }
        },
    };
    let path = format!(
        "/simulator/payments/{}/disputes",
        payment.payment.payment_request_id
    );
    let amount = json!({ "currency": payment.payment.currency, "value": amount.to_string() });
    controls
        .post(&path, json!({ "kind": dispute.kind, "amount": amount }))
        .await?;
    get_payment(engine, principal, payment_id).await
}
