//! The effects of the `engine_probe` workflow: an HTTP GET of the instance's `url`. A 2xx answer
//! yields the workflow's next event; anything else is an error, retried per the policy.
//! It is real work over a real network path, which is what the engine's own checks need.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::FutureExt;
use futures::future::BoxFuture;
use serde_json::json;

use crate::app::{EffectContext, EffectError, EffectHandler, EffectRegistry, EffectResult};
use crate::store::EventInput;
use crate::workflow::{EffectName, EventName};

pub struct ProbeEffect {
    client: reqwest::Client,
    answer: EventName,
}

impl EffectHandler for ProbeEffect {
    fn run(&self, context: EffectContext) -> BoxFuture<'static, EffectResult> {
        let client = self.client.clone();
        let answer = self.answer;
        async move {
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
            let response = client
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

/// Registers the probe effects.
pub fn register(registry: &mut EffectRegistry) -> anyhow::Result<()> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()?;
    for (effect, answer) in [
        (EffectName::ProbeStep, EventName::StepDone),
        (EffectName::ProbeFinish, EventName::FinishDone),
    ] {
        registry.register(
            effect,
            Arc::new(ProbeEffect {
                client: client.clone(),
                answer,
            }),
        );
    }
    Ok(())
}
