//! The demo's payments: what each customer does, and polling until something is there.

use std::time::{Duration, Instant};

use uuid::Uuid;

use crate::app::Engine;
use crate::app::auth::Principal;
use crate::kinds::payment::use_cases::PaymentView;
use crate::kinds::refund::use_cases::{self as refunds, RefundView};

/// What the demo's customer does at the checkout.
#[derive(Clone, Copy)]
pub(super) enum Customer {
    Pays,
    PaysWithAlipayCn,
    PaysButTheNotificationIsLost,
    Declines,
    WalksAway,
    WaitsForTheMerchantToCancel,
}

pub(super) struct Scenario {
    pub(super) name: &'static str,
    pub(super) customer: Customer,
    pub(super) currency: &'static str,
    pub(super) amount: &'static str,
    pub(super) expires_in: i32,
}

pub(super) const SCENARIOS: [Scenario; 7] = [
    Scenario {
        name: "paid, notified",
        customer: Customer::Pays,
        currency: "USD",
        amount: "1250",
        expires_in: 599,
    },
    Scenario {
        name: "paid, notice lost",
        customer: Customer::PaysButTheNotificationIsLost,
        currency: "USD",
        amount: "800",
        expires_in: 599,
    },
    Scenario {
        name: "declined",
        customer: Customer::Declines,
        currency: "USD",
        amount: "99900",
        expires_in: 599,
    },
    Scenario {
        name: "expired",
        customer: Customer::WalksAway,
        currency: "USD",
        amount: "500",
        expires_in: 5,
    },
    Scenario {
        name: "merchant cancel",
        customer: Customer::WaitsForTheMerchantToCancel,
        currency: "USD",
        amount: "4200",
        expires_in: 599,
    },
    Scenario {
        name: "paid, disputed",
        customer: Customer::Pays,
        currency: "USD",
        amount: "3000",
        expires_in: 599,
    },
    Scenario {
        name: "AlipayCN, customs",
        customer: Customer::PaysWithAlipayCn,
        currency: "CNY",
        amount: "20000",
        expires_in: 599,
    },
];

/// The payment of SCENARIOS declared to customs.
pub(super) const DECLARED: usize = 6;

/// The payment of SCENARIOS Alipay+ raises disputes on.
pub(super) const DISPUTED: usize = 5;

/// Polls `probe` until it gives something (at most 90 s).
pub(super) async fn within_90s<T, Fut>(what: String, mut probe: impl FnMut() -> Fut) -> anyhow::Result<T>
where
    Fut: Future<Output = anyhow::Result<Option<T>>>,
{
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        if let Some(found) = probe().await? {
            return Ok(found);
        }
        anyhow::ensure!(Instant::now() < deadline, "{what} did not get there in time");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The refund once it is final.
pub(super) async fn wait_refund(
    engine: &Engine,
    principal: &Principal,
    id: Uuid,
) -> anyhow::Result<RefundView> {
    within_90s(format!("refund {id}"), || async {
        let view = refunds::get_refund(engine, principal, id).await?;
        Ok((view.instance.terminal || view.instance.needs_attention).then_some(view))
    })
    .await
}

/// The name of the scenario `payment` was made for.
pub(super) fn scenario_of(payment: &PaymentView) -> &'static str {
    SCENARIOS
        .iter()
        .find(|s| payment.payment.order_description.ends_with(s.name))
        .map_or("?", |s| s.name)
}
