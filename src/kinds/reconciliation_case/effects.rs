//! The case's effect: waiting for the inquiry the run started of a payment or refund not final
//! here. Until it is final the effect asks again later (the workflow's retry policy; out of
//! attempts, the case is parked for an operator: the payment did not settle); once it is,
//! [`settled_event`] says whether it settled as the report says.

use std::sync::Arc;

use futures::FutureExt;
use futures::future::BoxFuture;
use serde_json::json;

use super::names;
use super::rows;
use crate::app::{EffectContext, EffectError, EffectHandler, EffectResult, Engine, store_error};
use crate::store::entity::instance;
use crate::store::{self, EventInput};
use crate::workflow::names::EventName;

pub struct AwaitInquiry {
    pub engine: Engine,
}

/// What the case does once the object it waits for is in `state`: `None` while it is not final.
pub fn settled_event(object: &instance::Model) -> Option<EventName> {
    if !object.terminal {
        return None;
    }
    Some(if object.state == "succeeded" {
        names::SUBJECT_SETTLED
    } else {
        names::SUBJECT_ENDED_OTHERWISE
    })
}

impl EffectHandler for AwaitInquiry {
    fn run(self: Arc<Self>, context: EffectContext) -> BoxFuture<'static, EffectResult> {
        async move {
            let engine = &self.engine;
            let id = context.instance.id;
            let case = rows::get(&engine.db, id)
                .await
                .map_err(store_error)?
                .ok_or_else(|| EffectError::Permanent(format!("no reconciliation case {id}")))?;
            let Some(object_id) = case.object_id else {
                return Err(EffectError::Permanent(
                    "the case waits for no payment or refund".into(),
                ));
            };
            let object = store::instance(&engine.db, object_id)
                .await
                .map_err(store_error)?;
            let Some(event) = settled_event(&object) else {
                return Err(EffectError::Retry(format!(
                    "{} {object_id} is {}, not final yet",
                    object.kind, object.state
                )));
            };
            let detail = json!({ "objectId": object_id, "state": object.state });
            Ok(Some(
                EventInput::new(event, format!("effect:{}", context.effect)).with_detail(detail),
            ))
        }
        .boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_case_settles_with_its_object_succeeded_and_waits_while_it_is_not_final() {
        let at = chrono::Utc::now();
        let object = |state: &str, terminal: bool| instance::Model {
            id: uuid::Uuid::nil(),
            kind: "payment".into(),
            definition_version: 1,
            state: state.into(),
            terminal,
            version: 1,
            needs_attention: false,
            last_error: None,
            data: json!({}),
            created_at: at,
            updated_at: at,
            state_since: Some(at),
            trace_context: None,
        };
        let table = [
            ("awaiting_customer", false, None),
            ("succeeded", true, Some(names::SUBJECT_SETTLED)),
            ("failed", true, Some(names::SUBJECT_ENDED_OTHERWISE)),
            ("cancelled", true, Some(names::SUBJECT_ENDED_OTHERWISE)),
        ];
        for (state, terminal, expected) in table {
            assert_eq!(settled_event(&object(state, terminal)), expected, "{state}");
        }
    }
}
