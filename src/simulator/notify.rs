//! Payment notifications, as Alipay+ sends them: signed, POSTed to the `paymentNotifyUrl`, and
//! re-sent on the published schedule (0s, 2m, 10m, 10m, 1h, 2h, 6h, 15h; scaled by
//! `time_scale`) until the ACQP answers with a signed `S`. Drops and duplicates are chaos.

use std::time::Duration;

use super::Simulator;
use super::state::NotifyState;
use crate::alipayplus::inbound::verify_answer;
use crate::alipayplus::signing::{content_to_sign, timestamp};
use crate::alipayplus::wire::{ResultInfo, ResultResponse, ResultStatus};

/// Delays before each attempt (Antom's published schedule; Alipay+'s is UNCONFIRMED).
pub const SCHEDULE_SECONDS: [u64; 8] = [0, 120, 600, 600, 3_600, 7_200, 21_600, 54_000];

pub async fn deliver(simulator: Simulator, payment_request_id: String) {
    let config = &simulator.shared.config;
    tokio::time::sleep(config.notify_delay).await;
    for delay in SCHEDULE_SECONDS {
        tokio::time::sleep(Duration::from_secs(delay).mul_f64(config.time_scale)).await;
        let Some((url, body)) = simulator.books().notification(&payment_request_id) else {
            return;
        };
        if simulator.chance(config.chaos.notify_drop_rate) {
            record(&simulator, &payment_request_id, |p| p.notifications_dropped += 1);
            continue;
        }
        let copies = if simulator.chance(config.chaos.notify_duplicate_rate) {
            2
        } else {
            1
        };
        let bytes = serde_json::to_vec(&body).expect("wire types serialise");
        let mut acknowledged = false;
        for _ in 0..copies {
            record(&simulator, &payment_request_id, |p| p.notifications_sent += 1);
            if send(&simulator, &url, &bytes)
                .await
                .is_some_and(|result| result.result_status == ResultStatus::S)
            {
                acknowledged = true;
                record(&simulator, &payment_request_id, |p| {
                    p.notifications_acknowledged += 1
                });
            }
        }
        if acknowledged {
            record(&simulator, &payment_request_id, |p| {
                p.notify = NotifyState::Acknowledged
            });
            return;
        }
    }
    record(&simulator, &payment_request_id, |p| {
        p.notify = NotifyState::Exhausted
    });
}

fn record(
    simulator: &Simulator,
    payment_request_id: &str,
    change: impl FnOnce(&mut super::state::SimPayment),
) {
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
