//! Sites, their API keys and their mailboxes.

#[allow(unused_imports)]
use crate::*;
use async_trait::async_trait;
#[allow(unused_imports)]
use chrono::{DateTime, Utc};
#[allow(unused_imports)]
use mailroom_core::agent::*;
use mailroom_core::*;

/// Sites, their API keys and their mailboxes.
#[async_trait]
pub trait MailboxStore: Send + Sync + 'static {
    /// Creates a site.
    async fn create_site(&self, site: &Site) -> StoreResult<()>;

    /// Returns a site by id.
    async fn get_site(&self, id: SiteId) -> StoreResult<Option<Site>>;

    /// Lists every site, oldest first.
    async fn list_sites(&self) -> StoreResult<Vec<Site>>;

    /// Stores a key with the SHA-256 hex hash of its secret. `Conflict` if the hash exists.
    async fn create_api_key(&self, key: &ApiKey, secret_hash: &str) -> StoreResult<()>;

    /// Returns the key whose secret hashes to `secret_hash`.
    async fn find_api_key_by_hash(&self, secret_hash: &str) -> StoreResult<Option<ApiKey>>;

    /// Returns a key by id.
    async fn get_api_key(&self, id: ApiKeyId) -> StoreResult<Option<ApiKey>>;

    /// Lists keys, oldest first: those of one site (`Some`), or all keys (`None`).
    async fn list_api_keys(&self, site: Option<SiteId>) -> StoreResult<Vec<ApiKey>>;

    /// Deletes a key; returns whether it existed.
    async fn delete_api_key(&self, id: ApiKeyId) -> StoreResult<bool>;

    /// Creates a mailbox and appends `event` in the same transaction. `Conflict` with
    /// `mailbox_address` when the address is taken, `mailbox_client_id` when the site already
    /// has a mailbox with that client id.
    async fn create_mailbox(&self, mailbox: &Mailbox, event: &NewEvent) -> StoreResult<()>;

    /// Returns a mailbox by id.
    async fn get_mailbox(&self, id: MailboxId) -> StoreResult<Option<Mailbox>>;

    /// Returns the mailbox whose address, lower-cased, is `canonical_address`.
    async fn get_mailbox_by_address(&self, canonical_address: &str) -> StoreResult<Option<Mailbox>>;

    /// Returns the site's mailbox with this client id.
    async fn get_mailbox_by_client_id(&self, site: SiteId, client_id: &str) -> StoreResult<Option<Mailbox>>;

    /// Lists mailboxes newest first, with ids lower than `before`, at most `limit`.
    async fn list_mailboxes(&self, site: Option<SiteId>, before: Option<MailboxId>, limit: u32) -> StoreResult<Vec<Mailbox>>;

    /// Saves a mailbox's changed fields (display name, updated_at) and appends `event`.
    async fn update_mailbox(&self, mailbox: &Mailbox, event: &NewEvent) -> StoreResult<()>;

    /// Deletes a mailbox with its threads, messages, recipients and attachments, appends
    /// `event`, and returns the blob keys that are no longer referenced (to delete after).
    /// A mailbox a team member sends from is not deleted: `Conflict` with
    /// `team_member_mailbox` (move or delete the member first).
    async fn delete_mailbox(&self, id: MailboxId, event: &NewEvent) -> StoreResult<Vec<String>>;
}
