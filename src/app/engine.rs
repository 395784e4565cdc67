//! The engine handle every edge uses: the database, the loaded definitions, the clock, and a
//! wake-up signal for this process's outbox relay. Starting instances and applying events goes
//! through here, so due effects are relayed at once instead of at the next poll.

use std::sync::Arc;

use sea_orm::DatabaseConnection;
use serde_json::Value;
use tokio::sync::Notify;
use uuid::Uuid;

use crate::clock::SharedClock;
use crate::store::{self, Applied, EventInput, StoreError};
use crate::workflow::Definitions;

#[derive(Clone)]
pub struct Engine {
    pub db: DatabaseConnection,
    pub definitions: Arc<Definitions>,
    pub clock: SharedClock,
    wake: Arc<Notify>,
}

impl Engine {
    pub fn new(db: DatabaseConnection, definitions: Definitions, clock: SharedClock) -> Self {
        Self {
            db,
            definitions: Arc::new(definitions),
            clock,
            wake: Arc::new(Notify::new()),
        }
    }

    /// Creates an instance of the newest definition of `kind`.
    pub async fn start(&self, kind: &str, data: Value, actor: &str) -> Result<Applied, StoreError> {
        let applied = store::start_instance(
            &self.db,
            &self.definitions,
            self.clock.as_ref(),
            kind,
            data,
            actor,
        )
        .await?;
        self.wake_if_scheduled(&applied);
        Ok(applied)
    }

    /// Applies an event through the one write path.
    pub async fn apply(&self, id: Uuid, event: EventInput) -> Result<Applied, StoreError> {
        let applied = store::apply_event(&self.db, &self.definitions, self.clock.as_ref(), id, event).await?;
        self.wake_if_scheduled(&applied);
        Ok(applied)
    }

    /// Wakes this process's relay: outbox rows may be due now.
    pub fn wake_relay(&self) {
        self.wake.notify_one();
    }

    /// Resolves when [`Engine::wake_relay`] was called.
    pub async fn relay_woken(&self) {
        self.wake.notified().await
    }

    fn wake_if_scheduled(&self, applied: &Applied) {
        if applied.effects_scheduled > 0 {
            self.wake_relay();
        }
    }
}
