//! `notify_merchant` outbox rows written before plusflow delivered webhooks with the change
//! (an upgrade with such rows pending): each makes sure its change's event exists and is
//! delivered to the merchant's endpoints, once, by the webhook dispatcher (`crate::webhooks`).
//! A change now writes its event and deliveries itself (`store::feed`) and schedules no such row.

use std::sync::Arc;

use futures::FutureExt;
use futures::future::BoxFuture;

use crate::app::store_error;
use crate::app::{EffectContext, EffectError, EffectHandler, EffectRegistry, EffectResult, Engine};
use crate::store::feed::{self, EVENT_KEY};
use crate::store::webhooks;
use crate::workflow::EffectName;

struct EarlierNotifications {
    engine: Engine,
}

impl EarlierNotifications {
    async fn deliver(&self, context: EffectContext) -> EffectResult {
        let engine = &self.engine;
        let written = context.payload.get(EVENT_KEY).and_then(|id| id.as_str());
        let event = match written.and_then(|id| uuid::Uuid::parse_str(id).ok()) {
            Some(id) => feed::event(&engine.db, id).await.map_err(store_error)?,
            None => match engine.announcer.as_deref() {
                Some(announcer) => {
                    feed::event_of_change(&engine.db, announcer, &engine.definitions, &context.instance)
                        .await
                        .map_err(store_error)?
                }
                None => None,
            },
        };
        let Some(event) = event else {
            let kind = &context.instance.kind;
            return Err(EffectError::Permanent(format!("a {kind} announces nothing")));
        };
        webhooks::fan_out_once(&engine.db, &event)
            .await
            .map_err(store_error)?;
        Ok(None)
    }
}

impl EffectHandler for EarlierNotifications {
    fn run(self: Arc<Self>, context: EffectContext) -> BoxFuture<'static, EffectResult> {
        async move { self.deliver(context).await }.boxed()
    }
}

/// Registers `notify_merchant` for the rows written before changes delivered their own events.
pub fn register(registry: &mut EffectRegistry, engine: Engine) {
    registry.register(
        EffectName::NOTIFY_MERCHANT,
        Arc::new(EarlierNotifications { engine }),
    );
}
