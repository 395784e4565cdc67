//! Notifications, as Alipay+ sends them (payments here; registrations use the same delivery): signed, POSTed to the `paymentNotifyUrl`, and
//! re-sent on the published schedule (0s, 2m, 10m, 10m, 1h, 2h, 6h, 15h; scaled by
//! `time_scale`) until the ACQP answers with a signed `S`. Drops and duplicates are chaos.

use std::time::Duration;

use super::Simulator;
use super::payment::{NotifyState, SimPayment};
use crate::alipayplus::inbound::verify_answer;
use crate::alipayplus::signing::{content_to_sign, timestamp};
use crate::alipayplus::wire::{ResultInfo, ResultResponse, ResultStatus};

/// Delays before each attempt (Antom's published schedule; Alipay+'s is UNCONFIRMED).
pub const SCHEDULE_SECONDS: [u64; 8] = [0, 120, 600, 600, 3_600, 7_200, 21_600, 54_000];

/// What happened to one notification on its way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Delivery {
    /// Lost on the way (chaos); retried on the schedule.
    Dropped,
    Sent,
    /// Answered with a signed `S`.
    Acknowledged,
    /// Every attempt of the schedule went unacknowledged.
    Exhausted,
}

/// Sends what `current()` says (a URL and body, read again before each attempt; `None`: no
/// longer to be sent) on the schedule until it is acknowledged, telling `record` each step.
pub(super) async fn deliver_until_acknowledged(
    simulator: &Simulator,
    current: impl Fn() -> Option<(String, Vec<u8>)>,
    record: impl Fn(Delivery),
) {
    let config = &simulator.shared.config;
    for delay in SCHEDULE_SECONDS {
        tokio::time::sleep(Duration::from_secs(delay).mul_f64(config.time_scale)).await;
        let Some((url, bytes)) = current() else {
            return;
        };
        if simulator.chance(config.chaos.notify_drop_rate) {
            record(Delivery::Dropped);
            continue;
        }
        let copies = if simulator.chance(config.chaos.notify_duplicate_rate) {
            2
        } else {
            1
        };
        let mut acknowledged = false;
        for _ in 0..copies {
            record(Delivery::Sent);
            if send(simulator, &url, &bytes)
                .await
                .is_some_and(|result| result.result_status == ResultStatus::S)
            {
                acknowledged = true;
                record(Delivery::Acknowledged);
            }
        }
        if acknowledged {
            return;
        }
    }
    record(Delivery::Exhausted);
}

/// Notifies the final result of payment `payment_request_id`.
pub async fn deliver(simulator: Simulator, payment_request_id: String) {
    tokio::time::sleep(simulator.shared.config.notify_delay).await;
    let current = || {
        let (url, body) = simulator.books().notification(&payment_request_id)?;
        Some((url, serde_json::to_vec(&body).expect("wire types serialise")))
    };
    deliver_until_acknowledged(&simulator, current, |delivery| {
        record(&simulator, &payment_request_id, |p| match delivery {
            Delivery::Dropped => p.notifications_dropped += 1,
            Delivery::Sent => p.notifications_sent += 1,
            Delivery::Acknowledged => {
                p.notifications_acknowledged += 1;
                p.notify = NotifyState::Acknowledged;
            }
            Delivery::Exhausted => p.notify = NotifyState::Exhausted,
        })
    })
    .await;
}

fn record(simulator: &Simulator, payment_request_id: &str, change: impl FnOnce(&mut SimPayment)) {
    if let Some(payment) = simulator.books().payment_mut(payment_request_id) {
        change(payment);
    }
}

/// POSTs one signed call to the ACQP; its `result` if the answer is signed and verified.
pub(super) async fn send(simulator: &Simulator, url: &str, body: &[u8]) -> Option<ResultInfo> {
    let shared = &simulator.shared;
    let parsed = url::Url::parse(url).ok()?;
    let path = parsed.path().to_string();
    let time = timestamp(shared.clock.now());
    let client_id = &shared.config.client_id;
    let signature = shared
        .config
        .signing_key
        .signature_header(&content_to_sign("POST", &path, client_id, &time, body));
    let sent = shared
        .http
        .post(parsed)
        .header("Content-Type", "application/json; charset=UTF-8")
        .header("Client-Id", client_id)
        .header("Request-Time", &time)
        .header("Signature", signature)
        .body(body.to_vec())
        .send()
        .await;
    let response = sent.ok()?;
    let headers = response.headers().clone();
    let bytes = response.bytes().await.ok()?;
    verify_answer(&shared.config.acqp_keys, &path, client_id, &headers, &bytes).ok()?;
    serde_json::from_slice::<ResultResponse>(&bytes)
        .ok()
        .map(|answer| answer.result)
}
