//! Operational controls: per-site and per-mailbox limits, TTL and retention, the shared state
//! of sending rate limits, uploaded attachments, and the leases that run each control worker
//! once per cluster.
//!
//! Rate limits are GCRA buckets (a "theoretical arrival time" per bucket) kept in the
//! database, so every node of a cluster draws from the same budget. The arithmetic is
//! [`gcra`], shared by both backends; a backend only loads the buckets' states under a lock
//! (PostgreSQL: `SELECT … FOR UPDATE`; SQLite: the single writer), calls it, and writes the
//! new states back when the request is allowed.

#[allow(unused_imports)]
use crate::*;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use mailroom_core::controls::*;
use mailroom_core::*;

/// One rate bucket: at most `limit` units per `period_ms`, with the whole `limit` available
/// as a burst.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateBucket {
    /// The bucket's key, such as `send:mailbox:<id>:minute`.
    pub key: String,
    /// Units per period (at least 1).
    pub limit: u64,
    /// The period in milliseconds.
    pub period_ms: i64,
}

/// One bucket's state after a decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BucketState {
    /// Units left in the current period.
    pub remaining: u64,
    /// Milliseconds until the bucket is full again.
    pub reset_ms: i64,
    /// Milliseconds until one more unit is allowed (0 when one is allowed now).
    pub retry_after_ms: i64,
}

/// The answer to [`ControlStore::take_rate`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateDecision {
    /// Whether the units were taken (from every bucket).
    pub allowed: bool,
    /// Each bucket's state, in the order given; unchanged states when not allowed.
    pub states: Vec<BucketState>,
}

/// Decides a request of `cost` units against `buckets` whose stored theoretical arrival
/// times are `tats` (ms since the epoch; 0 for a new bucket), at `now_ms`. Returns the
/// decision and the new arrival times to store when allowed. A `cost` of 0 only reports.
pub fn gcra(buckets: &[RateBucket], tats: &[i64], cost: u64, now_ms: i64) -> (RateDecision, Vec<i64>) {
    let mut allowed = true;
    let mut new_tats = Vec::with_capacity(buckets.len());
    let mut states = Vec::with_capacity(buckets.len());
    for (b, &stored) in buckets.iter().zip(tats) {
        let limit = b.limit.max(1);
        let interval = (b.period_ms / limit as i64).max(1);
        let tat = stored.max(now_ms);
        let new_tat = tat + interval * cost as i64;
        let allow_at = new_tat - b.period_ms;
        if allow_at > now_ms {
            allowed = false;
        }
        new_tats.push(new_tat);
        states.push((tat, new_tat, allow_at));
    }
    let states = buckets
        .iter()
        .zip(states)
        .map(|(b, (tat, new_tat, _))| {
            let limit = b.limit.max(1);
            let interval = (b.period_ms / limit as i64).max(1);
            let after = if allowed { new_tat } else { tat };
            let used = after - now_ms;
            let remaining = ((b.period_ms - used).max(0) / interval).min(limit as i64) as u64;
            let next_at = after + interval - b.period_ms;
            BucketState { remaining, reset_ms: used.max(0), retry_after_ms: if remaining > 0 { 0 } else { (next_at - now_ms).max(0) } }
        })
        .collect();
    (RateDecision { allowed, states }, new_tats)
}

/// Operational controls, rate-limit state, uploads and worker leases.
#[async_trait]
pub trait ControlStore: Send + Sync + 'static {
    /// Returns the controls stored for `scope`.
    async fn get_controls(&self, scope: ControlScope) -> StoreResult<Option<Controls>>;

    /// Returns the controls stored for each of `scopes`, in their order (one read where the
    /// backend can: a received message checks its mailbox's and its site's together).
    async fn get_controls_of(&self, scopes: &[ControlScope]) -> StoreResult<Vec<Option<Controls>>> {
        let mut out = Vec::with_capacity(scopes.len());
        for scope in scopes {
            out.push(self.get_controls(*scope).await?);
        }
        Ok(out)
    }

    /// Stores the controls of `scope` (of site `site`), replacing earlier ones.
    async fn put_controls(&self, scope: ControlScope, site: SiteId, controls: &Controls) -> StoreResult<()>;

    /// Takes `cost` units from every bucket atomically (all or none), across every node
    /// sharing the database; a `cost` of 0 only reports the buckets' states.
    async fn take_rate(&self, buckets: &[RateBucket], cost: u64, now: DateTime<Utc>) -> StoreResult<RateDecision>;

    /// Returns what `scope` stores: bytes of raw messages plus attachments, and messages.
    async fn usage(&self, scope: ControlScope) -> StoreResult<Usage>;

    /// Returns up to `limit` mailboxes whose expiry is at or before `now`.
    async fn expired_mailboxes(&self, now: DateTime<Utc>, limit: u32) -> StoreResult<Vec<MailboxId>>;

    /// Returns the scopes with a retention rule, with their site and days.
    async fn retention_rules(&self) -> StoreResult<Vec<(ControlScope, SiteId, u32)>>;

    /// Returns up to `limit` messages of `scope` created before `before`, oldest first. For a
    /// site, mailboxes with their own retention rule are left out.
    async fn messages_before(&self, scope: ControlScope, before: DateTime<Utc>, limit: u32) -> StoreResult<Vec<MessageId>>;

    /// Records an uploaded attachment (its blob is written first).
    async fn create_upload(&self, upload: &UploadedAttachment) -> StoreResult<()>;

    /// Returns an uploaded attachment by id.
    async fn get_upload(&self, id: AttachmentId) -> StoreResult<Option<UploadedAttachment>>;

    /// Deletes up to `limit` uploads that expired by `now`; returns them (to delete blobs).
    async fn delete_expired_uploads(&self, now: DateTime<Utc>, limit: u32) -> StoreResult<Vec<UploadedAttachment>>;

    /// Takes or renews the lease `name` for `holder` until `until` when it is free, expired
    /// by `now` or already held by `holder`; returns whether `holder` holds it.
    async fn acquire_lease(&self, name: &str, holder: &str, now: DateTime<Utc>, until: DateTime<Utc>) -> StoreResult<bool>;
}
