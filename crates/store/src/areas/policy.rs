//! Send policy: allow/block lists, the bookkeeping of applied delivery-status reports, and
//! the routes outbound messages were queued for.

use crate::StoreResult;
use async_trait::async_trait;
use mailroom_core::*;

/// Allow/block lists and DSN bookkeeping.
#[async_trait]
pub trait PolicyStore: Send + Sync + 'static {
    /// Adds a list entry. The same `(site, direction, kind, entry, mailbox)` twice is a
    /// `Conflict` on `list_entry`.
    async fn create_list_entry(&self, entry: &ListEntry) -> StoreResult<()>;

    /// Returns a list entry by id, whatever its site.
    async fn get_list_entry(&self, id: ListEntryId) -> StoreResult<Option<ListEntry>>;

    /// Lists entries, oldest first: of one site (or every site), optionally of one direction
    /// and of one mailbox (`mailbox`: only that mailbox's own entries).
    async fn list_list_entries(
        &self,
        site: Option<SiteId>,
        direction: Option<ListDirection>,
        mailbox: Option<MailboxId>,
    ) -> StoreResult<Vec<ListEntry>>;

    /// Returns the entries that apply to mail of `direction` handled by `mailbox` (when
    /// given) of `site`: the site-wide ones and that mailbox's own.
    async fn applicable_list_entries(
        &self,
        site: SiteId,
        direction: ListDirection,
        mailbox: Option<MailboxId>,
    ) -> StoreResult<Vec<ListEntry>>;

    /// Deletes an entry; `false` when there was none.
    async fn delete_list_entry(&self, id: ListEntryId) -> StoreResult<bool>;

    /// Records what was done with one recipient block of a delivery-status report. Returns
    /// `false` (and changes nothing) when that report was already recorded for that
    /// recipient, so a report delivered twice is applied once.
    async fn record_dsn(&self, record: &DsnRecord) -> StoreResult<bool>;

    /// Lists the reports recorded about `original` (an outbound message), oldest first.
    async fn list_dsn_records(&self, original: MessageId) -> StoreResult<Vec<DsnRecord>>;

    /// Records the route an outbound message is to be delivered by (such as the site's SMTP
    /// account), before the message itself is stored, so the delivery worker never sees the
    /// message without it. Writing it again replaces it.
    async fn put_message_route(
        &self,
        message: MessageId,
        site: SiteId,
        route: &str,
    ) -> StoreResult<()>;

    /// Returns the route recorded for `message`, if any.
    async fn get_message_route(&self, message: MessageId) -> StoreResult<Option<String>>;
}
