//! The `notify_merchant` effect of every kind: the merchant's webhook, HMAC-signed, sent to
//! what `webhook_http` allows, each attempt recorded in `webhook_deliveries`, retried until
//! accepted. It says what the change's event in the merchant's feed says (`store::feed`: the
//! kind's announcement, written with the change; `{"type", "id": <delivery id>, "eventId",
//! "<object>": {...}}`); the envelope, signing and delivery are here, once.
//!
//! `Plusflow-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">` (a second `v1=`
//! during a secret rotation's overlap). The object carries its workflow `version` and
//! `updatedAt`, so a merchant drops one older than what it has. A webhook of a state the
//! instance has left is not sent: the runner drops a delivery whose state was left, and leaving
//! a state disarms its pending retries.

use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt;
use futures::future::BoxFuture;
use hmac::{Hmac, KeyInit, Mac};
use sea_orm::ActiveValue::Set;
use sha2::Sha256;

use super::webhook_http;
use crate::app::{
    EffectContext, EffectError, EffectHandler, EffectRegistry, EffectResult, Engine, merchants,
};
use crate::app::{retry, store_error};
use crate::store::entity::{feed_event, webhook_delivery};
use crate::store::feed::{self, EVENT_KEY};
use crate::workflow::EffectName;

struct Webhooks {
    engine: Engine,
    http: reqwest::Client,
    allow_private_targets: bool,
}

impl Webhooks {
    /// The event the change that scheduled this delivery wrote (its id is in the row), or, for
    /// a delivery scheduled before plusflow kept a feed, the change's event written now.
    async fn event(&self, context: &EffectContext) -> Result<Option<feed_event::Model>, EffectError> {
        let written = context.payload.get(EVENT_KEY).and_then(|id| id.as_str());
        if let Some(id) = written.and_then(|id| uuid::Uuid::parse_str(id).ok()) {
            return feed::event(&self.engine.db, id).await.map_err(store_error);
        }
        let Some(announcer) = self.engine.announcer.as_deref() else {
            return Ok(None);
        };
        feed::event_of_change(
            &self.engine.db,
            announcer,
            &self.engine.definitions,
            &context.instance,
        )
        .await
        .map_err(store_error)
    }

    async fn notify_merchant(&self, context: EffectContext) -> EffectResult {
        let Some(event) = self.event(&context).await? else {
            let kind = &context.instance.kind;
            return Err(EffectError::Permanent(format!("a {kind} announces nothing")));
        };
        let (merchant_id, subject_id, announced) =
            (event.merchant_id, event.subject_id, event.announced.clone());
        let body = webhook_body(&event, context.execution_id);
        let merchant = merchants::merchant(&self.engine, merchant_id)
            .await
            .map_err(store_error)?
            .ok_or_else(|| EffectError::Permanent("the merchant is gone".into()))?;
        let Some(url) = merchant.webhook_url.clone() else {
            return Ok(None);
        };
        let body = serde_json::to_vec(&body).expect("JSON");
        let now = self.engine.clock.now();
        let signature = signature(
            &merchants::webhook_secrets(&merchant, now),
            now.timestamp(),
            &body,
        );
        let target = url::Url::parse(&url)
            .map_err(|_| "the webhook URL is not a URL")
            .and_then(|parsed| {
                webhook_http::check_target(&parsed, self.allow_private_targets).map(|()| parsed)
            });
        let (http_status, error) = match target {
            Err(refused) => (None, Some(refused.to_string())),
            Ok(target) => {
                let sent = self
                    .http
                    .post(target)
                    .header("Content-Type", "application/json")
                    .header("Plusflow-Signature", signature)
                    .header("Plusflow-Delivery", context.execution_id.to_string())
                    .body(body)
                    .send()
                    .await;
                match &sent {
                    Ok(response) if response.status().is_success() => {
                        (Some(response.status().as_u16()), None)
                    }
                    // Redirects are not followed: a 3xx is a failed delivery like any other.
                    Ok(response) => (
                        Some(response.status().as_u16()),
                        Some(format!("HTTP {}", response.status().as_u16())),
                    ),
                    Err(e) => {
                        tracing::debug!(merchant = %merchant.id, "webhook delivery failed: {e}");
                        (None, Some(webhook_http::describe_failure(e).to_string()))
                    }
                }
            }
        };
        let attempt = webhook_delivery::ActiveModel {
            merchant_id: Set(merchant.id),
            payment_id: Set(subject_id),
            status: Set(announced),
            attempt: Set(context.previous_failures as i32 + 1),
            http_status: Set(http_status.map(i32::from)),
            error: Set(error.clone()),
            at: Set(self.engine.clock.now()),
            ..Default::default()
        };
        crate::store::merchants::record_webhook_delivery(&self.engine.db, attempt)
            .await
            .map_err(store_error)?;
        match error {
            None => Ok(None),
            Some(error) => Err(retry(format!("webhook: {error}"))),
        }
    }
}

/// The webhook of `event`, delivery `delivery`: `{"type", "id", "eventId", "<object>": {...}}`,
/// the object under its kind's name in camel case (`payment`, `customsDeclaration`...).
fn webhook_body(event: &feed_event::Model, delivery: uuid::Uuid) -> serde_json::Value {
    let kind = event.event_type.split('.').next().unwrap_or_default();
    let mut object = String::new();
    for (n, word) in kind.split('_').enumerate() {
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

impl EffectHandler for Webhooks {
    fn run(self: Arc<Self>, context: EffectContext) -> BoxFuture<'static, EffectResult> {
        async move { self.notify_merchant(context).await }.boxed()
    }
}

/// Registers `notify_merchant`, sending to private addresses only if `allow_private_targets`.
pub fn register(
    registry: &mut EffectRegistry,
    engine: Engine,
    allow_private_targets: bool,
) -> anyhow::Result<()> {
    let http = webhook_http::client(allow_private_targets, Duration::from_secs(10))?;
    let webhooks = Webhooks {
        engine,
        http,
        allow_private_targets,
    };
    registry.register(EffectName::NOTIFY_MERCHANT, Arc::new(webhooks));
    Ok(())
}
