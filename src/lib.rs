//! plusflow: the Alipay+ Cashier Payment gateway of an Acquiring Service Provider.
//!
//! # Layout
//! - [`config`]: layered settings (files + `PLUSFLOW__` env) validated into one typed [`config::Config`].
//! - [`telemetry`]: the tracing subscriber (pretty or JSON).
//! - [`clock`]: the time seam; tests move a [`clock::ManualClock`] instead of sleeping.
//! - [`crypto`]: personal data sealed at rest with rotating data keys.
//! - [`domain`]: pure vocabulary: money in minor units.
//! - [`workflow`]: the pure engine: definitions from `workflows/*.toml`, validation, `apply()`.
//! - [`store`]: sea-orm: entities, `apply_event` (the one write path), the outbox, idempotency.
//! - [`app`]: use cases: the [`app::Engine`] handle, effect handlers' contract, demo, benchmarks.
//! - [`jobs`]: apalis: the outbox relay, the queues (Redis or in-process) and the workers.
//! - [`webhooks`]: merchants' webhooks: the HTTP client, signed attempts, the dispatcher.
//! - [`alipayplus`]: the protocol: wire types, signing, the client, verification of inbound calls.
//! - [`api`]: axum: health and readiness routes, the Alipay+ webhook routes.
//! - [`simulator`]: an Alipay+ stand-in on the same wire protocol, with chaos, checkout page and ledger.
//! - [`cli`]: the `plusflow` command line.

pub mod alipayplus;
pub mod api;
pub mod app;
pub mod cli;
pub mod clock;
pub mod config;
pub mod crypto;
pub mod domain;
pub mod jobs;
pub mod kinds;
pub mod metrics;
pub mod simulator;
pub mod store;
pub mod telemetry;
pub mod webhooks;
pub mod workflow;
