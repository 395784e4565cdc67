//! Sending merchants' webhooks: the HTTP client and what it may reach ([`http`]), one signed
//! attempt to one endpoint ([`send`]), and the [`dispatcher`] that sends every pending delivery
//! when it is due, in order per object, records each attempt and works through redelivery
//! requests. What is to be sent is decided with each change (`store::feed`,
//! `store::webhooks`); the merchant manages its endpoints through `app::webhook_endpoints`.

pub mod dispatcher;
pub mod http;
pub mod send;

pub use send::{Attempt, Sender};
