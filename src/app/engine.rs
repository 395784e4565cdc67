//! The engine handle every edge uses: the database, the loaded definitions, the clock, and a
//! wake-up signal for this process's outbox relay. Starting instances and applying events goes
//! through here, so due effects are relayed at once instead of at the next poll.

use std::sync::Arc;

use serde_json::Value;
use tokio::sync::{Notify, broadcast};
use uuid::Uuid;

use super::fresh_rows::FreshRows;
use super::merchant_cache::MerchantCache;
use crate::alipayplus::wallets::Wallets;
use crate::clock::SharedClock;
use crate::config::RegistrationConfig;
use crate::store::Db;
use crate::store::entity::instance;
use crate::store::{self, Applied, EventInput, StoreError};
use crate::workflow::Definitions;

/// How long a merchant has to answer an escalation when not configured (ALIPAYPLUS.md 5; the
/// default of `disputes.escalation_response_window`).
pub const DEFAULT_ESCALATION_WINDOW_DAYS: i64 = 10;

#[derive(Clone)]
pub struct Engine {
    pub db: Db,
    pub definitions: Arc<Definitions>,
    pub clock: SharedClock,
    /// Merchants and API keys read lately (see `merchant_cache::MerchantCache`).
    pub merchants: Arc<MerchantCache>,
    /// Rows of new instances whose first effect is still to run here (see [`FreshRows`]).
    pub fresh_rows: Arc<FreshRows>,
    /// How long a merchant has to answer an escalation (`disputes.escalation_response_window`).
    pub escalation_response_window: chrono::Duration,
    /// Whether plusflow talks to the real Alipay+ (`alipayplus.mode = "alipayplus"`): merchants
    /// need a complete profile to take payments, and a customer returns to https only.
    pub real_alipayplus: bool,
    /// Inquiry rounds before a declaration with an unknown status is parked.
    pub customs_unknown_status_rounds: u32,
    /// Merchant registration's inquiry pace and the markets that require one (`[registration]`).
    pub registration: RegistrationConfig,
    /// The wallet table (`alipayplus::wallets`), with the configuration's entries.
    pub wallets: Arc<Wallets>,
    /// A report file larger than this is not read (`reconciliation.max_file_bytes`).
    pub max_report_bytes: u64,
    /// Business days a reconciliation case has before it is due
    /// (`reconciliation.case_due_business_days`).
    pub case_due_business_days: u32,
    /// What the kinds announce of a change a merchant can see, written with it as an event
    /// (`store::feed`); `None` in an engine without kinds (no events).
    pub announcer: Option<Arc<dyn store::feed::Announcer>>,
    /// Sends merchants' webhooks (`[webhooks]`): the dispatcher's attempts and test pings.
    pub webhooks: Arc<crate::webhooks::Sender>,
    /// Kinds whose forced move into a money state waits for a second operator
    /// (`admin.four_eyes`; payments and refunds unless configured).
    pub four_eyes: Arc<Vec<String>>,
    /// The keys sealing personal data at rest (`[crypto]`; the development key unless
    /// configured).
    pub data_keys: Arc<crate::crypto::DataKeys>,
    wake: Arc<Notify>,
    webhooks_wake: Arc<Notify>,
    updates: broadcast::Sender<Update>,
}

/// An instance changed (or was parked). `remote`: announced by another process (via Redis).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Update {
    pub instance_id: Uuid,
    pub remote: bool,
}

impl Engine {
    pub fn new(db: Db, definitions: Definitions, clock: SharedClock) -> Self {
        let (updates, _) = broadcast::channel(4096);
        let wake = Arc::new(Notify::new());
        Self {
            db,
            definitions: Arc::new(definitions),
            clock,
            merchants: Arc::default(),
            fresh_rows: Arc::default(),
            escalation_response_window: chrono::Duration::days(DEFAULT_ESCALATION_WINDOW_DAYS),
            real_alipayplus: false,
            customs_unknown_status_rounds: 10,
            registration: RegistrationConfig {
                inquiry_interval: std::time::Duration::from_secs(86_400),
                required_regions: Vec::new(),
            },
            wallets: Arc::default(),
            max_report_bytes: 1 << 30,
            case_due_business_days: 2,
            announcer: None,
            webhooks: Arc::new(
                crate::webhooks::Sender::new(crate::config::WebhookConfig::default())
                    .expect("the webhook HTTP client"),
            ),
            four_eyes: Arc::new(super::four_eyes::DEFAULT_KINDS.map(String::from).to_vec()),
            data_keys: Arc::new(crate::crypto::DataKeys::development()),
            wake,
            webhooks_wake: Arc::default(),
            updates,
        }
    }

    /// This engine with the settings of `config` that use cases read.
    pub fn configured(mut self, config: &crate::config::Config) -> Self {
        self.escalation_response_window =
            chrono::Duration::from_std(config.escalation_response_window).unwrap_or(chrono::Duration::MAX);
        self.registration = config.registration.clone();
        self.customs_unknown_status_rounds = config.customs_unknown_status_rounds;
        self.real_alipayplus = config.alipayplus.mode == crate::config::AlipayPlusMode::AlipayPlus;
        self.wallets = Arc::new(config.wallets.clone());
        self.max_report_bytes = config.reconciliation.max_file_bytes;
        self.case_due_business_days = config.reconciliation.case_due_business_days;
        self.four_eyes = Arc::new(config.four_eyes.clone());
        self.data_keys = config.data_keys.clone();
        self.webhooks =
            Arc::new(crate::webhooks::Sender::new(config.webhooks.clone()).expect("the webhook HTTP client"));
        // The built-in simulator's wallets answer at its time scale; so is the inquiry pace.
        self.registration.inquiry_interval = self
            .registration
            .inquiry_interval
            .mul_f64(config.alipayplus.simulator_time_scale);
        self
    }

    /// The definitions, the clock and the announcer every write of workflow state decides with.
    pub fn decider(&self) -> store::Decider<'_> {
        store::Decider {
            definitions: &self.definitions,
            clock: self.clock.as_ref(),
            announcer: self.announcer.as_deref(),
        }
    }

    /// This engine writing the events `announcer` announces (the kinds', from the composition
    /// root).
    pub fn announcing(mut self, announcer: Arc<dyn store::feed::Announcer>) -> Self {
        self.announcer = Some(announcer);
        self
    }

    /// Creates an instance of the newest definition of `kind`.
    pub async fn start(&self, kind: &str, data: Value, actor: &str) -> Result<Applied, StoreError> {
        let applied = store::start_instance(&self.db, self.decider(), kind, data, actor).await?;
        self.wake_if_scheduled(&applied);
        self.announce(applied.instance.id);
        Ok(applied)
    }

    /// Applies an event through the one write path.
    pub async fn apply(&self, id: Uuid, event: EventInput) -> Result<Applied, StoreError> {
        self.apply_event(id, event, None).await
    }

    /// [`Engine::apply`] to an instance the caller has read: decided on that copy and written
    /// if it is still current, else decided afresh (see [`store::apply_event`]).
    pub async fn apply_seen(&self, seen: &instance::Model, event: EventInput) -> Result<Applied, StoreError> {
        self.apply_event(seen.id, event, Some(seen)).await
    }

    async fn apply_event(
        &self,
        id: Uuid,
        event: EventInput,
        seen: Option<&instance::Model>,
    ) -> Result<Applied, StoreError> {
        // An Alipay+ call about an instance joins the trace of the request that started it.
        let span = match &event.inbound {
            Some(call) if crate::telemetry::exporting() => {
                let span = tracing::info_span!("alipayplus notification", api = %call.api, instance_id = %id);
                let started_in = match seen {
                    Some(seen) => seen.trace_context.clone(),
                    None => store::instance(&self.db, id).await?.trace_context,
                };
                crate::telemetry::continue_trace(&span, started_in.as_deref());
                span
            }
            _ => tracing::Span::none(),
        };
        let applied = tracing::Instrument::instrument(
            store::apply_event(&self.db, self.decider(), id, event, seen),
            span,
        )
        .await?;
        self.wake_if_scheduled(&applied);
        self.announce(id);
        Ok(applied)
    }

    /// Tells this process's subscribers that instance `id` changed.
    pub fn announce(&self, id: Uuid) {
        let _ = self.updates.send(Update {
            instance_id: id,
            remote: false,
        });
    }

    /// Passes on a change announced by another process.
    pub fn announce_remote(&self, id: Uuid) {
        let _ = self.updates.send(Update {
            instance_id: id,
            remote: true,
        });
    }

    /// Every change announced from now on.
    pub fn updates(&self) -> broadcast::Receiver<Update> {
        self.updates.subscribe()
    }

    /// Wakes this process's relay: outbox rows may be due now.
    /// Tells this process's webhook dispatcher that deliveries were queued outside a change.
    pub fn wake_webhooks(&self) {
        self.webhooks_wake.notify_one();
    }

    /// Waits until [`Engine::wake_webhooks`] is called.
    pub async fn webhooks_woken(&self) {
        self.webhooks_wake.notified().await;
    }

    pub fn wake_relay(&self) {
        self.wake.notify_one();
    }

    /// Resolves when [`Engine::wake_relay`] was called.
    pub async fn relay_woken(&self) {
        self.wake.notified().await
    }

    /// Wakes the relay if `applied` scheduled effects.
    pub fn wake_if_scheduled(&self, applied: &Applied) {
        if applied.effects_scheduled > 0 {
            self.wake_relay();
        }
    }
}

/// The public status `instance` shows: its state's `status` in its workflow definition, the one
/// place a kind's status comes from (PENDING should its definition not be loaded, which
/// start-up prevents for every kind this binary runs).
pub fn status_of<'a>(engine: &'a Engine, instance: &instance::Model) -> &'a str {
    status_in(&engine.definitions, instance)
}

/// [`status_of`] by `definitions`.
pub fn status_in<'a>(definitions: &'a Definitions, instance: &instance::Model) -> &'a str {
    definitions
        .get(&instance.kind, instance.definition_version as u32)
        .and_then(|d| d.state(&instance.state))
        .map_or("PENDING", |s| s.status.as_str())
}
