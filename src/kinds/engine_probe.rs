//! The effects of the `engine_probe` workflow: an HTTP GET of the instance's `url`. A 2xx answer
//! yields the workflow's next event; anything else is an error, retried per the policy.
//! It is real work over a real network path, which is what the engine's own checks need.

/// The names its workflow (`workflows/engine_probe.toml`) uses, besides the engine's own.
pub mod names {
    crate::event_names! {
        /// The first probe call answered.
        STEP_DONE = "step_done";
        /// The rest timer ran out.
        RESTED = "rested";
        /// The second probe call answered.
        FINISH_DONE = "finish_done";
    }

    crate::effect_names! {
        /// Call the probe URL, answer with `step_done`.
        PROBE_STEP = "probe_step";
        /// Call the probe URL again, answer with `finish_done`.
        PROBE_FINISH = "probe_finish";
    }
}

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::FutureExt;
use futures::future::BoxFuture;
use serde_json::json;

use crate::app::kind::{Kind, KindEffects, KindServices};
use crate::app::{EffectContext, EffectError, EffectHandler, EffectResult};
use crate::store::EventInput;

/// The engine probe kind: a workflow of HTTP probes, the engine's own end-to-end check (its
/// folder is this file: no table, no webhook, no GraphQL type).
pub struct EngineProbe;

impl Kind for EngineProbe {
    fn name(&self) -> &'static str {
        "engine_probe"
    }

    fn statuses(&self) -> &'static [&'static str] {
        &["PENDING", "SUCCEEDED", "CANCELLED"]
    }

    /// HTTP probes; no webhook.
    fn effects(&self, _: &KindServices<'_>) -> anyhow::Result<KindEffects> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()?;
        Ok(KindEffects {
            names: &[names::PROBE_STEP, names::PROBE_FINISH],
            handler: Arc::new(ProbeEffects { client }),
        })
    }
}

struct ProbeEffects {
    client: reqwest::Client,
}

impl EffectHandler for ProbeEffects {
    fn run(self: Arc<Self>, context: EffectContext) -> BoxFuture<'static, EffectResult> {
        async move {
            let answer = match context.effect {
                names::PROBE_STEP => names::STEP_DONE,
                names::PROBE_FINISH => names::FINISH_DONE,
                other => {
                    return Err(EffectError::Permanent(format!("'{other}' is not a probe effect")));
                }
            };
            let url = context
                .instance
                .data
                .get("url")
                .and_then(|u| u.as_str())
                .unwrap_or_default()
                .to_string();
            if url.is_empty() {
                return Err(EffectError::Permanent(
                    "the instance data has no 'url' to probe".into(),
                ));
            }
            let started = Instant::now();
            let response = self
                .client
                .get(&url)
                .send()
                .await
                .map_err(|e| EffectError::Retry(format!("GET {url}: {e}")))?;
            let status = response.status();
            if !status.is_success() {
                return Err(EffectError::Retry(format!("GET {url}: HTTP {}", status.as_u16())));
            }
            let detail =
                json!({ "http_status": status.as_u16(), "elapsed_ms": started.elapsed().as_millis() as u64 });
            Ok(Some(
                EventInput::new(answer, format!("effect:{}", context.effect)).with_detail(detail),
            ))
        }
        .boxed()
    }
}
