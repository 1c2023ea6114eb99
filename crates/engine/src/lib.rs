//! Mailroom's application services.
//!
//! The engine sits between the interfaces (REST, CLI through REST, and later SMTP and MCP) and
//! the storage traits. It owns every rule that is not pure data: validating a send, building
//! the MIME message, storing raw bytes durably before the records that point at them,
//! threading, local delivery between mailboxes of this server, and the events each step logs.
//! Tenant checks stay at the interface: the engine trusts the site ids it is given.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod access;
mod account;
mod agent;
mod auth;
mod contacts;
pub mod controls;
mod domains;
mod drafts;
mod error;
mod events;
mod idempotency;
mod inbound;
mod keys;
mod lists;
mod mailboxes;
mod messages;
pub mod policy;
mod reading;
pub mod secrets;
mod status;
mod threads;

pub use access::{listing_site, not_found};
pub use contacts::{CONTACT_HISTORY_LIMIT, MAX_SIGNATURE_BYTES};
pub use account::{AccountError, SmtpAccount, SmtpSecurity, account_from_token};
pub use auth::{AuthResults, AuthVerifier};
pub use controls::{ControlSettings, RateNote};
pub use domains::{DkimSigningKey, DnsRecord, ED25519_SELECTOR, RSA_SELECTOR};
pub use error::{EngineError, EngineResult};
pub use idempotency::{IdempotencyKey, Sent};
pub use inbound::{InboundRecipient, InboundSession, MESSAGE_LIMIT_EXCEEDED, ResolvedRecipient};
pub use secrets::SecretBox;
pub use status::Backlog;
pub use keys::{GeneratedKey, generate_api_key, hash_api_key, key_parts};
pub use drafts::{DraftScheduler, SendContext, SendOutcome, reply_as_send, sent_answer};
pub use messages::{ListMessages, message_event_data, page_limit};

use mailroom_core::SiteId;
use mailroom_store::{BlobStore, Store};
use std::sync::Arc;

/// Settings the engine needs from the server configuration.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// The domain mailboxes get when none is given; always hosted.
    pub default_domain: String,
    /// Further domains this server receives for.
    pub extra_domains: Vec<String>,
    /// The most recipients one message may have.
    pub max_recipients: usize,
    /// This server's host name: the MX target of hosted domains and the EHLO name.
    pub hostname: String,
    /// The most messages one mailbox may send into one thread per hour (0: no limit).
    pub thread_send_limit: u32,
    /// Lifts the SSRF guard on tenant-chosen hosts (the SMTP account's `smtpHost`): for
    /// development and tests (`security.allow_private_targets`).
    pub allow_private_targets: bool,
    /// Structural limits on received messages, checked before they are parsed.
    pub mime_limits: mailroom_core::mime::MimeLimits,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self { default_domain: "mailroom.localhost".into(), extra_domains: Vec::new(), max_recipients: 100, hostname: "localhost".into(), thread_send_limit: 10, allow_private_targets: false, mime_limits: Default::default() }
    }
}

/// The application services over one store and one blob store.
#[derive(Clone)]
pub struct Engine {
    store: Arc<dyn Store>,
    blobs: Arc<dyn BlobStore>,
    config: Arc<EngineConfig>,
    secrets: SecretBox,
    outbound: Arc<tokio::sync::Notify>,
    auth: Option<Arc<AuthVerifier>>,
    /// Raised when a draft is scheduled or approved (issue 17), for the draft scheduler.
    scheduler: Arc<tokio::sync::Notify>,
    controls: Arc<ControlSettings>,
}

const DEFAULT_SITE_SETTING: &str = "default_site_id";

impl Engine {
    /// Returns an engine over `store` and `blobs` that seals secrets with `secrets`.
    pub fn new(store: Arc<dyn Store>, blobs: Arc<dyn BlobStore>, config: EngineConfig, secrets: SecretBox) -> Self {
        Self { store, blobs, config: Arc::new(config), secrets, outbound: Arc::new(tokio::sync::Notify::new()), auth: None, scheduler: Arc::new(tokio::sync::Notify::new()), controls: Arc::default() }
    }

    /// Returns the engine with SPF/DKIM/DMARC verification of received mail.
    pub fn with_auth_verifier(mut self, verifier: Arc<AuthVerifier>) -> Self {
        self.auth = Some(verifier);
        self
    }

    /// Returns the signal raised whenever a recipient is queued for remote delivery, for the
    /// delivery worker to wake on.
    pub fn outbound_notify(&self) -> Arc<tokio::sync::Notify> {
        self.outbound.clone()
    }

    /// Returns the box that seals and opens secrets at rest.
    pub fn secrets(&self) -> &SecretBox {
        &self.secrets
    }

    /// Returns the store.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// Returns the blob store.
    pub fn blobs(&self) -> &Arc<dyn BlobStore> {
        &self.blobs
    }

    /// Returns the configuration.
    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// Tells whether `domain` is hosted through the configuration (the default domain or
    /// `domains`); see [`Engine::is_hosted`] for domains that sites added.
    pub fn is_hosted_domain(&self, domain: &str) -> bool {
        let d = domain.to_ascii_lowercase();
        d == self.config.default_domain || self.config.extra_domains.contains(&d)
    }

    /// Returns the default site, creating it on first start. Safe when several nodes start
    /// at once: the id is agreed through `put_setting_if_absent` before the site is written.
    pub async fn ensure_default_site(&self) -> EngineResult<mailroom_core::Site> {
        let candidate = SiteId::new().to_string();
        let id: SiteId = self
            .store
            .put_setting_if_absent(DEFAULT_SITE_SETTING, &candidate)
            .await?
            .parse()
            .map_err(|_| EngineError::Internal("the stored default site id is not a UUID".into()))?;
        if let Some(site) = self.store.get_site(id).await? {
            return Ok(site);
        }
        let site = mailroom_core::Site { id, name: "default".into(), created_at: mailroom_core::now() };
        match self.store.create_site(&site).await {
            Ok(()) => Ok(site),
            Err(mailroom_store::StoreError::Conflict { .. }) => {
                self.store.get_site(id).await?.ok_or_else(|| EngineError::Internal("default site vanished".into()))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Returns the id of the default site.
    pub async fn default_site_id(&self) -> EngineResult<SiteId> {
        Ok(self.ensure_default_site().await?.id)
    }
}
