//! Domains, suppressions, allow/block lists and API keys as the interfaces list and remove
//! them (creating them, with their checks, is in `domains.rs`, `inbound.rs`, `policy.rs` and
//! `mailboxes.rs`).

use crate::access::not_found;
use crate::{Engine, EngineError, EngineResult};
use mailroom_core::{ApiKey, ApiKeyId, Domain, DomainId, EmailAddress, KeyScope, ListDirection, ListEntry, ListEntryId, MailboxId, SiteId, Suppression};

impl Engine {
    /// Returns a domain the caller may see.
    pub async fn visible_domain(&self, scope: KeyScope, id: DomainId) -> EngineResult<Domain> {
        self.store.get_domain(id).await?.filter(|d| scope.allows(d.site_id)).ok_or_else(|| not_found("domain", id))
    }

    /// Lists the domains of `site` (every site: `None`).
    pub async fn list_domains(&self, site: Option<SiteId>) -> EngineResult<Vec<Domain>> {
        Ok(self.store.list_domains(site).await?)
    }

    /// Removes a domain the caller may see (its mailboxes stay, but receive no more mail).
    pub async fn delete_domain(&self, scope: KeyScope, id: DomainId) -> EngineResult<()> {
        let domain = self.visible_domain(scope, id).await?;
        self.store.delete_domain(domain.id).await?;
        Ok(())
    }

    /// Lists suppressed addresses of `site` (every site: `None`), alphabetically, after `after`.
    pub async fn list_suppressions(&self, site: Option<SiteId>, after: Option<&str>, limit: u32) -> EngineResult<Vec<Suppression>> {
        Ok(self.store.list_suppressions(site, after, limit).await?)
    }

    /// Removes an address from the site's suppression list; `not_found` when it is not on it.
    pub async fn unsuppress(&self, site: SiteId, address: &EmailAddress) -> EngineResult<()> {
        if self.store.delete_suppression(site, &address.canonical()).await? {
            Ok(())
        } else {
            Err(EngineError::NotFound(format!("{address} is not on the suppression list")))
        }
    }

    /// Lists allow/block entries of `site` (every site: `None`), oldest first.
    pub async fn list_list_entries(&self, site: Option<SiteId>, direction: Option<ListDirection>, mailbox: Option<MailboxId>) -> EngineResult<Vec<ListEntry>> {
        Ok(self.store.list_list_entries(site, direction, mailbox).await?)
    }

    /// Deletes an allow/block entry the caller may see.
    pub async fn delete_list_entry(&self, scope: KeyScope, id: ListEntryId) -> EngineResult<()> {
        let visible = self.store.get_list_entry(id).await?.is_some_and(|e| scope.allows(e.site_id));
        if visible && self.store.delete_list_entry(id).await? { Ok(()) } else { Err(not_found("list entry", id)) }
    }

    /// Lists API keys of `site` (every key: `None`).
    pub async fn list_api_keys(&self, site: Option<SiteId>) -> EngineResult<Vec<ApiKey>> {
        Ok(self.store.list_api_keys(site).await?)
    }

    /// Deletes an API key the caller may see: site keys see only their site's keys.
    pub async fn delete_api_key(&self, scope: KeyScope, id: ApiKeyId) -> EngineResult<()> {
        let key = self.store.get_api_key(id).await?.ok_or_else(|| not_found("API key", id))?;
        let visible = match (scope, key.site_id) {
            (KeyScope::Admin, _) => true,
            (KeyScope::Site(own), Some(site)) => own == site,
            (KeyScope::Site(_), None) => false,
        };
        if !visible {
            return Err(not_found("API key", id));
        }
        self.store.delete_api_key(id).await?;
        Ok(())
    }
}
