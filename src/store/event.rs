//! What the write path takes and gives back: an event with who caused it and what came with
//! it ([`EventInput`]), how it was decided ([`Outcome`]), and the instance after it ([`Applied`]).

use serde_json::{Map, Value};

use super::entity::{inbound, instance, payment_result};
use crate::workflow::EventName;

/// An event to apply, with who caused it.
#[derive(Debug, Clone)]
pub struct EventInput {
    pub name: EventName,
    /// `timer`, `effect:<name>`, `merchant:<id>`, `alipayplus`, `admin:<who>`...
    pub actor: String,
    /// Recorded in the history row.
    pub detail: Option<Value>,
    /// Merged into the instance data (top-level keys) when the event transitions.
    pub data_patch: Option<Map<String, Value>>,
    /// The verified Alipay+ call that carried the event, journaled in the same write as the
    /// event's history row (one commit for a notification and what it did).
    pub inbound: Option<inbound::Model>,
    /// What the answer that carried the event stated of a payment's result, written with the
    /// transition (kept as it was first written: a later copy changes nothing).
    pub payment_result: Option<payment_result::Model>,
}

impl EventInput {
    pub fn new(name: EventName, actor: impl Into<String>) -> Self {
        Self {
            name,
            actor: actor.into(),
            detail: None,
            data_patch: None,
            inbound: None,
            payment_result: None,
        }
    }

    pub fn with_detail(mut self, detail: Value) -> Self {
        self.detail = Some(detail);
        self
    }

    pub fn with_data(mut self, patch: Map<String, Value>) -> Self {
        self.data_patch = Some(patch);
        self
    }

    pub fn with_inbound(mut self, call: inbound::Model) -> Self {
        self.inbound = Some(call);
        self
    }

    pub fn with_payment_result(mut self, result: payment_result::Model) -> Self {
        self.payment_result = Some(result);
        self
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Transitioned { from: String, to: String },
    Ignored { reason: String },
    Rejected { reason: String },
}

impl Outcome {
    /// The history label: TRANSITIONED, IGNORED or REJECTED.
    pub fn label(&self) -> &'static str {
        match self {
            Outcome::Transitioned { .. } => "TRANSITIONED",
            Outcome::Ignored { .. } => "IGNORED",
            Outcome::Rejected { .. } => "REJECTED",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Applied {
    pub outcome: Outcome,
    /// The instance as it is after the event.
    pub instance: instance::Model,
    /// Outbox rows that became due at once (effects), so a relay may be woken.
    pub effects_scheduled: usize,
}
