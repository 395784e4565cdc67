//! The bulk action's effect: acts on the next items that wait (each in its own transaction
//! with its mark, `super::rows::act_on_item`), and answers whether more wait. Killed part-way,
//! its next run (the outbox's lease ran out) finds the items already acted on marked and goes
//! on after them.

use std::sync::Arc;

use futures::FutureExt;
use futures::future::BoxFuture;
use serde_json::json;

use super::entity::item;
use super::names;
use super::rows::{self, ItemOutcome};
use super::use_cases::action_named;
use crate::app::{EffectContext, EffectError, EffectHandler, EffectResult, Engine, store_error};
use crate::store::EventInput;

/// Items one run acts on.
pub const ITEMS_PER_RUN: u64 = 100;

pub struct BulkItems {
    pub engine: Engine,
}

impl EffectHandler for BulkItems {
    fn run(self: Arc<Self>, context: EffectContext) -> BoxFuture<'static, EffectResult> {
        async move {
            let engine = &self.engine;
            let id = context.instance.id;
            let bulk = rows::get(&engine.db, id)
                .await
                .map_err(store_error)?
                .ok_or_else(|| EffectError::Permanent(format!("no bulk action {id}")))?;
            let action = action_named(&bulk.action).map_err(|e| EffectError::Permanent(e.to_string()))?;
            let actor = format!("admin:{}", bulk.operator);
            let waiting = rows::items(&engine.db, id, item::STATUS_PENDING, ITEMS_PER_RUN)
                .await
                .map_err(store_error)?;
            let (mut done, mut failed) = (0, 0);
            for next in &waiting {
                match rows::act_on_item(&engine.db, engine.decider(), &bulk, action, &actor, next)
                    .await
                    .map_err(store_error)?
                {
                    ItemOutcome::Done => {
                        done += 1;
                        engine.wake_relay();
                        engine.announce(next.instance_id);
                    }
                    ItemOutcome::Failed(_) => failed += 1,
                    ItemOutcome::Taken => {}
                }
            }
            let detail = json!({ "done": done, "failed": failed });
            let effect = format!("effect:{}", context.effect);
            if rows::finish_if_done(&engine.db, id, engine.clock.now())
                .await
                .map_err(store_error)?
            {
                return Ok(Some(
                    EventInput::new(names::BULK_ITEMS_DONE, effect).with_detail(detail),
                ));
            }
            Ok(Some(
                EventInput::new(names::BULK_ITEMS_WORKED, effect).with_detail(detail),
            ))
        }
        .boxed()
    }
}
