//! Webhooks: Mailroom pushes every event of a site's log to the URLs the site registered.
//!
//! Agents that run a server want new mail pushed to them the moment it arrives, signed so
//! they can trust it, and retried until they have it. This crate does that on top of the
//! durable event log, following [Standard Webhooks](https://www.standardwebhooks.com/):
//!
//! - [`signing`]: `whsec_…` secrets and the `v1,<HMAC-SHA256>` signatures, with rotation.
//! - [`ssrf`]: which URLs may be called at all, checked when an endpoint is saved and again on
//!   every connection (the resolver only ever hands the HTTP client addresses that passed).
//! - [`payload`]: the JSON body, trimmed to a size limit with a link to the full object.
//! - [`service`]: creating, changing, rotating and replaying endpoints (used by REST routes).
//! - [`worker`]: the fan-out from the log to per-endpoint deliveries, and the delivery loop
//!   with retries, `Retry-After`, and automatic disabling of endpoints that are gone or keep
//!   failing.
//!
//! Everything durable lives in the [`Store`](mailroom_store::Store): the fan-out position is
//! a setting written in the same transaction as the deliveries it produced, and deliveries
//! are leased, so a crash or restart repeats work but never loses or duplicates it.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod config;
pub mod endpoints;
mod error;
pub mod payload;
pub mod service;
pub mod signing;
pub mod ssrf;
pub mod worker;

pub use config::WebhookConfig;
pub use error::WebhookError;
pub use payload::build_payload;
pub use service::{
    CreateWebhookRequest, ReplayReport, UpdateWebhookRequest, WebhookResponse, create_endpoint, replay, rotate_secret, signing_secrets,
    update_endpoint,
};
pub use signing::{SigningError, generate_secret, sign, signature_header};
pub use ssrf::{check_target, validate_url};
pub use worker::{EventHook, FANOUT_CURSOR_SETTING, WebhookWorker};
