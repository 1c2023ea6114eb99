//! Mailroom's durable outbound queue.
//!
//! Every outbound message is stored with one recipient row per address; the engine delivers
//! the recipients on domains this server hosts, and this crate delivers the rest over SMTP.
//! The queue lives in the store, not in memory: [`Deliverer`] claims due recipients with a
//! lease (`Store::claim_recipients`), groups the recipients of one message that go to the
//! same place into one SMTP transaction, and records each recipient's outcome with its event
//! (`Store::update_recipient`). A worker that dies mid-attempt leaves its recipients in
//! `sending`; when the lease expires any worker claims them again, so no job is lost.
//!
//! Where mail goes: a static route for the recipient's domain if configured, else the relay
//! (smarthost) if configured, else the domain's MX hosts (by preference; the domain itself
//! when it has none; a null MX is a permanent failure). Messages are DKIM-signed with every
//! key [`DeliveryHooks::dkim_keys`] returns for the sender's domain.
//!
//! Outcomes: 2xx after DATA is `delivered`; a 4xx reply, an unreachable server or a TLS
//! failure is `deferred` on the retry schedule, or `failed` once the retry period since the
//! message was created is over; a 5xx reply is `bounced` at once, and when the refusal is
//! about the address itself (a 5xx to RCPT other than a 5.7.x policy refusal, a null MX, a
//! domain that does not exist) the address goes on the site's suppression list.
//!
//! TLS uses rustls with the aws-lc-rs provider, passed explicitly to every client
//! configuration (`ClientConfig::builder_with_provider`), so this crate does not need a
//! process-wide default `CryptoProvider`. mail-send's own `SmtpClientBuilder` would need one
//! (it calls `ClientConfig::builder()`); the worker drives mail-send's `SmtpClient` directly
//! and never uses that builder. Certificates are verified with rustls-platform-verifier
//! where TLS is required (relay with `StartTls` or `Implicit`), and not verified with
//! opportunistic STARTTLS (MX hosts, static routes), which falls back to plain text when
//! the handshake fails.
//!
//! To wire it: build a [`Deliverer`] with the store, the blob store, a [`DeliveryHooks`]
//! implementation (DKIM keys of hosted domains; local delivery for hosted domains) and a
//! [`DeliveryConfig`]; call `notify_one()` on [`Deliverer::waker`] after queueing a message;
//! spawn `Arc::new(deliverer).run(shutdown)`.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

// Lets the unit tests share the integration tests' harness, which names the crate.
#[cfg(test)]
extern crate self as mailroom_delivery;

mod config;
pub mod dkim;
mod hooks;
mod outcome;
mod route;
mod session;
mod tls;
mod worker;

pub use config::{DeliveryConfig, RelayConfig, TlsMode};
pub use hooks::{AccountRoute, DeliveryHooks, DkimKeyMaterial, LocalOutcome, RouteLookup};
pub use worker::Deliverer;

/// Errors of a delivery round. Per-recipient problems are never errors: they are recorded
/// as outcomes (SMTP problems are reply codes, not Rust errors).
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    /// The store failed while claiming recipients.
    #[error("the queue could not be read: {0}")]
    Store(#[from] mailroom_store::StoreError),
}
