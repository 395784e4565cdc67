//! Notifications, as Alipay+ sends them (each kind's part says what and where: a payment's
//! result, a registration's wallets, a dispute): signed, POSTed to the ACQP, and
//! re-sent on the published schedule (0s, 2m, 10m, 10m, 1h, 2h, 6h, 15h; scaled by
//! `time_scale`) until the ACQP answers with a signed `S`. Drops and duplicates are chaos.

use std::time::Duration;

use super::core::Simulator;
use crate::alipayplus::inbound::verify_answer;
use crate::alipayplus::signing::{content_to_sign, timestamp};
use crate::alipayplus::wire::{ResultInfo, ResultResponse, ResultStatus};

/// Delays before each attempt (Antom's published schedule; Alipay+'s is UNCONFIRMED).
pub const SCHEDULE_SECONDS: [u64; 8] = [0, 120, 600, 600, 3_600, 7_200, 21_600, 54_000];

/// What happened to one notification on its way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
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
pub async fn deliver_until_acknowledged(
    simulator: &Simulator,
    current: impl Fn() -> Option<(String, Vec<u8>)>,
    record: impl Fn(Delivery),
) {
    let config = simulator.config();
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

/// POSTs one signed call to the ACQP; its `result` if the answer is signed and verified.
pub async fn send(simulator: &Simulator, url: &str, body: &[u8]) -> Option<ResultInfo> {
    let config = simulator.config();
    let parsed = url::Url::parse(url).ok()?;
    let path = parsed.path().to_string();
    let time = timestamp(simulator.now());
    let client_id = &config.client_id;
    let signature = config
        .signing_key
        .signature_header(&content_to_sign("POST", &path, client_id, &time, body));
    let sent = simulator
        .http()
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
    verify_answer(&config.acqp_keys, &path, client_id, &headers, &bytes).ok()?;
    serde_json::from_slice::<ResultResponse>(&bytes)
        .ok()
        .map(|answer| answer.result)
}
