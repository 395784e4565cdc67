//! What the generic machinery asks of a workflow kind ([`Kind`]): its name and public statuses,
//! the handlers of its effects, what a change of one of its instances announces to the merchant
//! (its event and webhook), and, where Alipay+ can be asked about one of its instances, how. The kinds themselves are `crate::kinds`, listed once in
//! `crate::kinds::ALL`; nothing below them names a kind.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use uuid::Uuid;

use super::errors::AppError;
use super::{EffectHandler, Engine};
use crate::alipayplus::client::Client;
use crate::simulator::core::SimulatorPart;
use crate::store::StoreError;
use crate::store::entity::instance;
use crate::store::feed::{Announced, Announcer, Change};
use crate::store::inbound::{AsReceived, InboundCall};
use crate::store::ledger::Journal;
use crate::workflow::{AlipayPlusVerdict, Definitions, EffectName};

/// What a kind's effects are built with.
pub struct KindServices<'a> {
    pub engine: &'a Engine,
    /// Calls Alipay+.
    pub client: &'a Client,
    /// Our public base URL, under which Alipay+ is asked to send its notifications.
    pub public_url: &'a url::Url,
}

/// One line of a workflow's business context (see [`Kind::context`]): a label and its value,
/// and the workflow it names, if it names one (a refund's payment, a payment's refunds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContextField {
    pub label: &'static str,
    pub value: String,
    pub workflow: Option<Uuid>,
}

impl ContextField {
    pub fn text(label: &'static str, value: impl Into<String>) -> Self {
        Self {
            label,
            value: value.into(),
            workflow: None,
        }
    }

    /// A line naming workflow `id` (the console links it).
    pub fn workflow(label: &'static str, id: Uuid) -> Self {
        Self {
            label,
            value: id.to_string(),
            workflow: Some(id),
        }
    }
}

/// One workflow kind, as the engine, the runner, the webhook sender and the operators' views
/// see it.
pub trait Kind: Send + Sync {
    /// The workflow it runs: `kind` in `workflows/<kind>.toml`.
    fn name(&self) -> &'static str;

    /// Every public status its instances may show: each state's `status` in its workflow file
    /// must be one of these (checked at start-up and by `plusflow workflows check`).
    fn statuses(&self) -> &'static [&'static str];

    /// The handler of the effects its workflow names (`notify_merchant` is the webhook
    /// sender's).
    fn effects(&self, services: &KindServices<'_>) -> anyhow::Result<KindEffects>;

    /// The event types its changes are announced with (`payment.updated`...).
    fn event_types(&self) -> &'static [&'static str] {
        &[]
    }

    /// What a change of `instance` (just written in `txn`) announces to its merchant: the event
    /// of the feed and the body of its webhook (`store::feed`). Asked only of changes whose
    /// workflow sends `notify_merchant`.
    fn announce<'a>(&'a self, _change: Change<'a>) -> BoxFuture<'a, Result<Option<Announced>, StoreError>> {
        Box::pin(async { Ok(None) })
    }

    /// Whether a transition into `state` is a money event the ledger records (`store::ledger`).
    fn books(&self, _state: &str) -> bool {
        false
    }

    /// The journal of `change`, a transition into a state [`Kind::books`] said yes to, read in
    /// its transaction.
    fn book<'a>(&'a self, _change: Change<'a>) -> BoxFuture<'a, Result<Option<Journal>, StoreError>> {
        Box::pin(async { Ok(None) })
    }

    /// The business deadline of `instance`'s current state, if it has one (a payment's expiry,
    /// a dispute's response deadline); asked only while it is not final.
    fn deadline<'a>(&'a self, _of: InstanceIn<'a>) -> BoxFuture<'a, Result<Option<DateTime<Utc>>, AppError>> {
        Box::pin(async { Ok(None) })
    }

    /// What an operator looking at `instance` needs to know of its business (amount, merchant,
    /// the ids merchants and Alipay+ use, the workflows it is tied to), shown beside its state.
    fn context<'a>(&'a self, _of: InstanceIn<'a>) -> BoxFuture<'a, Result<Vec<ContextField>, AppError>> {
        Box::pin(async { Ok(Vec::new()) })
    }

    /// The routes Alipay+ calls on us about this kind (`/alipayplus/<api>`), each verified by the
    /// API layer before its handler sees it.
    fn inbound(&self) -> &'static [InboundRoute] {
        &[]
    }

    /// Its stand-in at the simulator's Alipay+ (fresh books for each simulator); `None` if
    /// Alipay+ has nothing of it.
    fn simulator_part(&self) -> Option<Arc<dyn SimulatorPart>> {
        None
    }

    /// What Alipay+ says now of `instance`, for an operator (and checked by a forced end);
    /// `None` if Alipay+ has no inquiry for this kind.
    fn ask_alipayplus<'a>(
        &'a self,
        _about: InstanceIn<'a>,
        _client: &'a Client,
    ) -> Option<BoxFuture<'a, Result<AlipayPlusAnswer, AppError>>> {
        None
    }
}

/// In a kind's `impl Kind`, the methods every kind folder fills the same way: its `name` (its
/// workflow's `kind`), its public statuses (the variants of `$statuses`, its GraphQL status
/// enum), its effects from `effects::kind_effects`, its announcements from `effects::announce`
/// with the event types `effects::EVENT_TYPES`,
/// and `$part` (its `simulator` part, fresh books each time) as its stand-in at the simulator.
#[macro_export]
macro_rules! kind_folder {
    (name: $name:literal, statuses: $statuses:ty, simulator: $part:ty) => {
        fn name(&self) -> &'static str {
            $name
        }

        fn statuses(&self) -> &'static [&'static str] {
            <$statuses as strum::VariantNames>::VARIANTS
        }

        fn event_types(&self) -> &'static [&'static str] {
            effects::EVENT_TYPES
        }

        fn effects(
            &self,
            services: &$crate::app::kind::KindServices<'_>,
        ) -> anyhow::Result<$crate::app::kind::KindEffects> {
            Ok(effects::kind_effects(services))
        }

        fn announce<'a>(
            &'a self,
            change: $crate::store::feed::Change<'a>,
        ) -> futures::future::BoxFuture<
            'a,
            Result<Option<$crate::store::feed::Announced>, $crate::store::StoreError>,
        > {
            Box::pin(effects::announce(change))
        }

        fn simulator_part(&self) -> Option<std::sync::Arc<dyn $crate::simulator::core::SimulatorPart>> {
            Some(std::sync::Arc::new(<$part>::default()))
        }
    };
}

/// In a kind's `impl Kind`, for a kind with money: its `ledger` module says the state whose entry
/// is the money event (`ledger::BOOKED_STATE`) and its journal (`ledger::book`).
#[macro_export]
macro_rules! books_in_ledger {
    () => {
        fn books(&self, state: &str) -> bool {
            state == ledger::BOOKED_STATE
        }

        fn book<'a>(
            &'a self,
            change: $crate::store::feed::Change<'a>,
        ) -> futures::future::BoxFuture<
            'a,
            Result<Option<$crate::store::ledger::Journal>, $crate::store::StoreError>,
        > {
            Box::pin(ledger::book(change))
        }
    };
}

/// A kind's effects: one handler for every effect its workflow names.
pub struct KindEffects {
    pub names: &'static [EffectName],
    pub handler: Arc<dyn EffectHandler>,
}

/// The kind named `name` among `kinds`.
pub fn kind_named<'k>(kinds: &[&'k dyn Kind], name: &str) -> Option<&'k dyn Kind> {
    kinds.iter().copied().find(|kind| kind.name() == name)
}

/// The kinds a process runs (`crate::kinds::ALL`), handed to what serves every kind without
/// naming one (the GraphQL schema's data, the operators' use cases).
#[derive(Clone, Copy)]
pub struct KindList(pub &'static [&'static dyn Kind]);

impl KindList {
    pub fn named(&self, name: &str) -> Option<&'static dyn Kind> {
        kind_named(self.0, name)
    }
}

/// Each change is announced, and booked, by its instance's kind.
impl Announcer for KindList {
    fn announce<'a>(&'a self, change: Change<'a>) -> BoxFuture<'a, Result<Option<Announced>, StoreError>> {
        match self.named(&change.instance.kind) {
            Some(kind) => kind.announce(change),
            None => Box::pin(async { Ok(None) }),
        }
    }

    fn books(&self, instance: &instance::Model) -> bool {
        self.named(&instance.kind)
            .is_some_and(|kind| kind.books(&instance.state))
    }

    fn book<'a>(&'a self, change: Change<'a>) -> BoxFuture<'a, Result<Option<Journal>, StoreError>> {
        match self.named(&change.instance.kind) {
            Some(kind) => kind.book(change),
            None => Box::pin(async { Ok(None) }),
        }
    }
}

/// An instance and the engine it lives in: what a kind is asked about.
#[derive(Clone, Copy)]
pub struct InstanceIn<'a> {
    pub engine: &'a Engine,
    pub instance: &'a instance::Model,
}

/// Every state of `definitions` whose status is not one its kind has (kinds not in `kinds`
/// are not checked), as problems to show.
pub fn statuses_outside_vocabulary(kinds: &[&dyn Kind], definitions: &Definitions) -> Vec<String> {
    let mut problems = Vec::new();
    for definition in definitions.iter() {
        let Some(kind) = kind_named(kinds, &definition.kind) else {
            continue;
        };
        let mut states: Vec<_> = definition.states.values().collect();
        states.sort_by(|a, b| a.name.cmp(&b.name));
        for state in states {
            if !kind.statuses().contains(&state.status.as_str()) {
                problems.push(format!(
                    "workflow '{}' v{}: state '{}' has status '{}', not one of {}",
                    definition.kind,
                    definition.version,
                    state.name,
                    state.status,
                    kind.statuses().join(", ")
                ));
            }
        }
    }
    problems
}

/// What Alipay+ answered when asked about an instance.
pub struct AlipayPlusAnswer {
    pub api: &'static str,
    /// SUCCEEDED, REJECTED or UNKNOWN: how the call went.
    pub outcome: &'static str,
    pub result_code: Option<String>,
    pub result_message: Option<String>,
    /// The payment's result at Alipay+ (`paymentResult.resultStatus/resultCode`).
    pub payment_result: Option<String>,
    /// The refund's transaction at Alipay+ (`transactionStatus`), when asked about a refund.
    pub refund_status: Option<String>,
    /// The whole answer as JSON (what was verified), or why there is none.
    pub answer: String,
    /// What it says of the object asked about, as a forced end is checked against it.
    pub verdict: AlipayPlusVerdict,
    /// What the instance's history records of it.
    pub recorded: Map<String, Value>,
}

/// An Alipay+ call to one of a kind's routes, verified (client id, signature over the bytes
/// received, request time, size, JSON) before the kind sees it.
pub struct Inbound {
    /// The route's API, e.g. `notifyPayment`.
    pub api: &'static str,
    pub body: Value,
    pub as_received: AsReceived,
}

impl Inbound {
    /// The body as the API's request type, or the refusal Alipay+ gets for a malformed one.
    pub fn parsed<T: DeserializeOwned>(&self) -> Result<T, InboundAnswer> {
        serde_json::from_value(self.body.clone()).map_err(|e| InboundAnswer::Refused {
            code: "PARAM_ILLEGAL",
            message: format!("malformed body: {e}"),
        })
    }

    /// Its journal entry: what it is about (`reference`) and a related reference.
    pub fn call<'a>(self, reference: &'a str, related: Option<&'a str>) -> InboundCall<'a> {
        InboundCall {
            api: self.api,
            reference,
            related_reference: related,
            body: self.body,
            as_received: Some(self.as_received),
        }
    }
}

/// How a kind answers an Alipay+ call.
#[derive(Debug)]
pub enum InboundAnswer {
    /// `S`: received, and journaled with what it did.
    Acknowledged,
    /// `F` with Alipay+'s code: refused, nothing stored.
    Refused { code: &'static str, message: String },
    /// `U`: not processed now (the cause is logged, never sent); Alipay+ sends it again.
    Unavailable(String),
}

/// The handler of one inbound route.
pub type InboundHandler = for<'a> fn(&'a Engine, Inbound) -> BoxFuture<'a, InboundAnswer>;

/// A route Alipay+ calls, `/alipayplus/<api>`, and the kind's handler of it.
pub struct InboundRoute {
    pub api: &'static str,
    pub handle: InboundHandler,
}
