//! One attempt to send a delivery to its endpoint: the body (`{"type", "id": <delivery id>,
//! "eventId", "<object>": {...}}` for an event, `{"type": "ping", "id", "endpointId"}` for a
//! test), HMAC-signed with the endpoint's secrets, posted with the [`super::http`] client, and
//! what came of it in words that reveal nothing about the target.
//!
//! `Plusflow-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">` (a second `v1=`
//! during a secret rotation's overlap). The object carries its `version` and `updatedAt`, so a
//! receiver drops one older than what it has; `Plusflow-Delivery` names the delivery (the same
//! on every attempt of it) and `Plusflow-Event` the event.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use super::http;
use crate::config::WebhookConfig;
use crate::store::entity::{feed_event, webhook_delivery, webhook_delivery_attempt, webhook_endpoint};

/// How long one attempt may take.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);

/// Sends webhooks as `[webhooks]` says.
pub struct Sender {
    client: reqwest::Client,
    pub config: WebhookConfig,
}

/// What one attempt came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    pub at: DateTime<Utc>,
    pub http_status: Option<u16>,
    /// A fixed description of the failure (`HTTP 500`, `timed out`...); `None` if accepted.
    pub error: Option<String>,
    pub duration_ms: u32,
}

impl Attempt {
    pub fn succeeded(&self) -> bool {
        self.error.is_none()
    }

    /// Its record, as an attempt of delivery `delivery_id`.
    pub fn row(&self, delivery_id: uuid::Uuid) -> webhook_delivery_attempt::Model {
        webhook_delivery_attempt::Model {
            id: 0,
            delivery_id,
            at: self.at,
            http_status: self.http_status.map(i32::from),
            error: self.error.clone(),
            duration_ms: i32::try_from(self.duration_ms).unwrap_or(i32::MAX),
        }
    }
}

impl Sender {
    pub fn new(config: WebhookConfig) -> reqwest::Result<Self> {
        let client = http::client(config.allow_private_targets, ATTEMPT_TIMEOUT)?;
        Ok(Self { client, config })
    }

    /// Whether a delivery to `url` may be attempted at all (its scheme, an IP literal's
    /// address); a name is checked as it resolves, on each attempt.
    pub fn check_url(&self, url: &str) -> Result<url::Url, &'static str> {
        let parsed = url::Url::parse(url).map_err(|_| "is not a URL")?;
        http::check_target(&parsed, self.config.allow_private_targets)?;
        Ok(parsed)
    }

    /// Sends `delivery` of `event` (a ping without one) to `endpoint` at `now`, once.
    pub async fn attempt(
        &self,
        endpoint: &webhook_endpoint::Model,
        delivery: &webhook_delivery::Model,
        event: Option<&feed_event::Model>,
        now: DateTime<Utc>,
    ) -> Attempt {
        let body = match event {
            Some(event) => event_body(event, delivery.id),
            None => serde_json::json!({ "type": "ping", "id": delivery.id, "endpointId": endpoint.id }),
        };
        let body = serde_json::to_vec(&body).expect("JSON");
        let started = Instant::now();
        let (http_status, error) = match self.check_url(&endpoint.url) {
            Err(refused) => (None, Some(refused.to_string())),
            Ok(target) => {
                let mut request = self
                    .client
                    .post(target)
                    .header("Content-Type", "application/json")
                    .header(
                        "Plusflow-Signature",
                        signature(&secrets(endpoint, now), now.timestamp(), &body),
                    )
                    .header("Plusflow-Delivery", delivery.id.to_string());
                if let Some(event) = event {
                    request = request.header("Plusflow-Event", event.id.to_string());
                }
                match request.body(body).send().await {
                    Ok(response) if response.status().is_success() => {
                        (Some(response.status().as_u16()), None)
                    }
                    // Redirects are not followed: a 3xx is a failed delivery like any other.
                    Ok(response) => {
                        let status = response.status().as_u16();
                        (Some(status), Some(format!("HTTP {status}")))
                    }
                    Err(e) => {
                        tracing::debug!(endpoint = %endpoint.id, "webhook delivery failed: {e}");
                        (None, Some(http::describe_failure(&e).to_string()))
                    }
                }
            }
        };
        Attempt {
            at: now,
            http_status,
            error,
            duration_ms: u32::try_from(started.elapsed().as_millis()).unwrap_or(u32::MAX),
        }
    }
}

/// The webhook of `event`, delivery `delivery`: `{"type", "id", "eventId", "<object>": {...}}`,
/// the object under its type's first part in camel case (`payment`, `customsDeclaration`,
/// `webhookEndpoint`...).
pub fn event_body(event: &feed_event::Model, delivery: uuid::Uuid) -> serde_json::Value {
    let object_name = event.event_type.split('.').next().unwrap_or_default();
    let mut object = String::new();
    for (n, word) in object_name.split('_').enumerate() {
        let mut letters = word.chars();
        if n > 0
            && let Some(first) = letters.next()
        {
            object.extend(first.to_uppercase());
            object.push_str(letters.as_str());
        } else {
            object.push_str(word);
        }
    }
    let mut body = serde_json::json!({
        "type": event.event_type,
        "id": delivery,
        "eventId": event.id,
    });
    body[object] = event.data.clone();
    body
}

/// The secrets a delivery made at `now` is signed with: the current one, and the previous one
/// while its overlap lasts.
pub fn secrets(endpoint: &webhook_endpoint::Model, now: DateTime<Utc>) -> Vec<&str> {
    let mut secrets = vec![endpoint.secret.as_str()];
    if let (Some(previous), Some(until)) = (&endpoint.previous_secret, endpoint.previous_secret_until)
        && now < until
    {
        secrets.push(previous);
    }
    secrets
}

/// `Plusflow-Signature`: `t=<unix time>` and one `v1=<hex HMAC-SHA256 of "t." + body>` per
/// secret (two during a rotation's overlap; a receiver accepts the delivery if one matches).
fn signature(secrets: &[&str], timestamp: i64, body: &[u8]) -> String {
    let mut header = format!("t={timestamp}");
    for secret in secrets {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
        mac.update(format!("{timestamp}.").as_bytes());
        mac.update(body);
        header.push_str(&format!(",v1={}", hex::encode(mac.finalize().into_bytes())));
    }
    header
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rotated_out_secret_signs_until_its_overlap_ends() {
        let rotated_at = Utc::now();
        let until = rotated_at + chrono::Duration::hours(24);
        let endpoint = webhook_endpoint::Model {
            id: uuid::Uuid::now_v7(),
            merchant_id: uuid::Uuid::now_v7(),
            url: "https://shop.example/hooks".into(),
            event_types: serde_json::json!([]),
            description: None,
            enabled: true,
            disabled_reason: None,
            secret: "whsec_new".into(),
            previous_secret: Some("whsec_old".into()),
            previous_secret_until: Some(until),
            failing_since: None,
            version: 2,
            created_at: rotated_at,
            updated_at: rotated_at,
            deleted_at: None,
        };
        assert_eq!(secrets(&endpoint, rotated_at), ["whsec_new", "whsec_old"]);
        let a_second_late = until + chrono::Duration::seconds(1);
        assert_eq!(secrets(&endpoint, a_second_late), ["whsec_new"]);
    }
}
