//! Who may reach what: the site a create lands in, and the objects a key may see. The
//! interfaces pass the caller's [`KeyScope`]; an object of another site answers as a missing
//! one (`not_found`), whatever id was guessed.

use crate::{Engine, EngineError, EngineResult};
use mailroom_core::{KeyScope, Mailbox, MailboxId, Message, MessageId, Site, SiteId};

/// Returns the `not_found` error for an object of `kind` with `id`, worded as every route words it.
pub fn not_found(kind: &str, id: impl std::fmt::Display) -> EngineError {
    EngineError::NotFound(format!("no {kind} with id {id}"))
}

/// Returns the sites a listing covers: a site key's own site, or for admin keys the site asked
/// for (`None`: every site).
pub fn listing_site(scope: KeyScope, requested: Option<SiteId>) -> Option<SiteId> {
    match scope {
        KeyScope::Site(own) => Some(own),
        KeyScope::Admin => requested,
    }
}

impl Engine {
    /// Returns the site a create lands in: the key's own site, or for admin keys the
    /// `requested` site (which must exist) or the default site.
    pub async fn target_site(&self, scope: KeyScope, requested: Option<SiteId>) -> EngineResult<SiteId> {
        match (scope, requested) {
            (KeyScope::Site(own), None) => Ok(own),
            (KeyScope::Site(own), Some(s)) if s == own => Ok(own),
            (KeyScope::Site(_), Some(s)) => Err(not_found("site", s)),
            (KeyScope::Admin, Some(s)) => self.store.get_site(s).await?.map(|site| site.id).ok_or_else(|| not_found("site", s)),
            (KeyScope::Admin, None) => self.default_site_id().await,
        }
    }

    /// Returns a site, if it exists.
    pub async fn get_site(&self, id: SiteId) -> EngineResult<Option<Site>> {
        Ok(self.store.get_site(id).await?)
    }

    /// Lists every site.
    pub async fn list_sites(&self) -> EngineResult<Vec<Site>> {
        Ok(self.store.list_sites().await?)
    }

    /// Returns a mailbox the caller may see.
    pub async fn visible_mailbox(&self, scope: KeyScope, id: MailboxId) -> EngineResult<Mailbox> {
        self.store.get_mailbox(id).await?.filter(|m| scope.allows(m.site_id)).ok_or_else(|| not_found("mailbox", id))
    }

    /// Lists mailboxes of `site` (every site: `None`), newest first, before the cursor.
    pub async fn list_mailboxes(&self, site: Option<SiteId>, before: Option<MailboxId>, limit: u32) -> EngineResult<Vec<Mailbox>> {
        Ok(self.store.list_mailboxes(site, before, limit).await?)
    }

    /// Returns a message the caller may see.
    pub async fn visible_message(&self, scope: KeyScope, id: MessageId) -> EngineResult<Message> {
        self.store.get_message(id).await?.filter(|m| scope.allows(m.site_id)).ok_or_else(|| not_found("message", id))
    }
}

impl Engine {
    /// Returns the API key whose secret hashes to `secret_hash`, if any.
    pub async fn find_api_key_by_hash(&self, secret_hash: &str) -> EngineResult<Option<mailroom_core::ApiKey>> {
        Ok(self.store.find_api_key_by_hash(secret_hash).await?)
    }

    /// Claims an idempotency key of `site` for a request with this hash, or returns its
    /// earlier use.
    pub async fn claim_idempotency_key(&self, site: SiteId, key: &str, request_hash: &str) -> EngineResult<mailroom_store::IdempotencyClaim> {
        Ok(self.store.claim_idempotency_key(site, key, request_hash).await?)
    }

    /// Records the answer given under a claimed idempotency key.
    pub async fn complete_idempotency_key(&self, site: SiteId, key: &str, status: u16, body: &str) -> EngineResult<()> {
        Ok(self.store.complete_idempotency_key(site, key, status, body).await?)
    }

    /// Releases a claimed idempotency key whose request failed, so a retry runs again.
    pub async fn release_idempotency_key(&self, site: SiteId, key: &str) -> EngineResult<()> {
        Ok(self.store.release_idempotency_key(site, key).await?)
    }
}
