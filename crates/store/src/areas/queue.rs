//! Outbound recipients: the durable delivery queue.

#[allow(unused_imports)]
use crate::*;
use async_trait::async_trait;
#[allow(unused_imports)]
use chrono::{DateTime, Utc};
#[allow(unused_imports)]
use mailroom_core::agent::*;
use mailroom_core::*;

/// Outbound recipients: the durable delivery queue.
#[async_trait]
pub trait QueueStore: Send + Sync + 'static {
    /// Updates one recipient of an outbound message and appends `events` in one transaction.
    /// `NotFound` if the message has no such recipient.
    async fn update_recipient(
        &self,
        message: MessageId,
        address: &EmailAddress,
        update: &RecipientUpdate,
        events: &[NewEvent],
    ) -> StoreResult<()>;

    /// Returns recipients in `queued` or `deferred` whose `next_attempt_at` is due by `now`
    /// (or unset), oldest first, at most `limit`.
    async fn due_recipients(&self, now: DateTime<Utc>, limit: u32) -> StoreResult<Vec<PendingRecipient>>;

    /// Claims up to `limit` recipients for a delivery attempt: those `queued` or `deferred`
    /// whose `next_attempt_at` is due by `now` (or unset), and those `sending` whose lease
    /// expired before `now` (their worker died). Each claimed recipient becomes `sending`
    /// with a lease until `lease_until`, and is returned in that new state, oldest message
    /// first. Two concurrent callers (on any number of nodes) never claim the same recipient.
    /// A later `update_recipient` ends the lease.
    async fn claim_recipients(&self, now: DateTime<Utc>, lease_until: DateTime<Utc>, limit: u32) -> StoreResult<Vec<PendingRecipient>>;

    /// Lists outbound recipients in one of `statuses` (every status when empty), of one site
    /// (`Some`) or all sites, oldest message first, at most `limit`.
    async fn list_queue(&self, site: Option<SiteId>, statuses: &[DeliveryStatus], limit: u32) -> StoreResult<Vec<PendingRecipient>>;

    /// Counts the recipients of every site that are `queued`, `sending` or `deferred`, and
    /// finds the creation time of the oldest message among them; exact however long the queue.
    async fn queue_backlog(&self) -> StoreResult<QueueBacklog>;
}
