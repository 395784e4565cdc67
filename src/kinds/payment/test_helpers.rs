//! `simulatePaymentOutcome` (test mode only): what the customer does at the Alipay+ checkout,
//! done for a merchant's test suite. SUCCESS and FAIL are the customer paying or declining at
//! the simulator, which then notifies plusflow as Alipay+ would (the payment's status follows
//! that notification); EXPIRE is the payment's expiry reached now, which cancels it at Alipay+
//! as the expiry timer would. The notification of SUCCESS or FAIL may be lost on purpose, so a
//! test sees plusflow learn the outcome by inquiring.

use serde_json::json;
use uuid::Uuid;

use super::names;
use super::use_cases::{PaymentView, get_payment};
use crate::app::Engine;
use crate::app::auth::Principal;
use crate::app::errors::{AppError, invalid};
use crate::app::test_mode::TestMode;
use crate::store::{EventInput, Outcome};

/// What a test makes of a payment waiting for its customer: `SUCCESS`, `FAIL` or `EXPIRE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::EnumString)]
#[strum(serialize_all = "SCREAMING_SNAKE_CASE")]
pub enum SimulatedOutcome {
    /// The customer pays.
    Success,
    /// The customer declines (Alipay+ `USER_PAYMENT_VERIFICATION_FAILED`).
    Fail,
    /// Nobody pays before the expiry: plusflow cancels it at Alipay+.
    Expire,
}

/// Makes `outcome` happen to payment `id` (one `principal` may see) at the simulator, which
/// notifies plusflow of it unless `notify` is false.
pub async fn simulate_outcome(
    engine: &Engine,
    test_mode: &TestMode,
    principal: &Principal,
    id: Uuid,
    outcome: &str,
    notify: bool,
) -> Result<PaymentView, AppError> {
    let controls = test_mode.controls()?;
    let outcome: SimulatedOutcome = outcome
        .parse()
        .map_err(|_| invalid("outcome", "must be SUCCESS, FAIL or EXPIRE"))?;
    let payment = get_payment(engine, principal, id).await?;
    let customer = match outcome {
        SimulatedOutcome::Success => json!({ "outcome": "SUCCESS", "notify": notify }),
        SimulatedOutcome::Fail => {
            json!({ "outcome": "FAIL", "resultCode": "USER_PAYMENT_VERIFICATION_FAILED", "notify": notify })
        }
        SimulatedOutcome::Expire => {
            let expired = EventInput::new(names::EXPIRED, "test_helper");
            let applied = engine.apply_seen(&payment.instance, expired).await?;
            return match applied.outcome {
                Outcome::Transitioned { .. } => get_payment(engine, principal, id).await,
                Outcome::Ignored { .. } | Outcome::Rejected { .. } => Err(AppError::InvalidTransition(
                    format!("a {} payment does not expire", payment.status),
                )),
            };
        }
    };
    let path = format!(
        "/simulator/payments/{}/complete",
        payment.payment.payment_request_id
    );
    controls.post(&path, customer).await?;
    get_payment(engine, principal, id).await
}
