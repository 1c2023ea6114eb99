//! Drafts, scheduled sends and approvals (issue 17).
//!
//! A draft is kept whole as one JSON document next to the columns it is found by (site,
//! mailbox, status, due time, lease, reserved message id, approval). Every change is a
//! compare-and-swap on [`Draft::version`], so two nodes (or a person and the scheduler)
//! never both move the same draft.

#[allow(unused_imports)]
use crate::*;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use mailroom_core::drafts::*;
use mailroom_core::*;

/// Which drafts a listing returns.
#[derive(Debug, Clone, Default)]
pub struct DraftFilter {
    /// Only this mailbox's.
    pub mailbox: Option<MailboxId>,
    /// Only these statuses (empty: all).
    pub statuses: Vec<DraftStatus>,
    /// Drafts older than this one (the cursor).
    pub before: Option<DraftId>,
    /// At most this many.
    pub limit: u32,
}

/// Drafts, scheduled sends and approvals.
#[async_trait]
pub trait DraftStore: Send + Sync + 'static {
    /// Inserts a new draft (its `version` is stored as given) with its events, in one
    /// transaction. A second draft reserving the same message id conflicts.
    async fn insert_draft(&self, draft: &Draft, events: &[NewEvent]) -> StoreResult<()>;

    /// Replaces a draft whose stored version is `expected_version`, with its events, in one
    /// transaction; `draft.version` is stored as given (the caller bumps it). Returns `false`
    /// (and writes nothing) when the draft changed meanwhile or is gone.
    async fn update_draft(&self, draft: &Draft, expected_version: u32, events: &[NewEvent]) -> StoreResult<bool>;

    /// Deletes a draft; returns whether it existed.
    async fn delete_draft(&self, id: DraftId, events: &[NewEvent]) -> StoreResult<bool>;

    /// Returns a draft.
    async fn get_draft(&self, id: DraftId) -> StoreResult<Option<Draft>>;

    /// Returns the draft that reserved this message id.
    async fn get_draft_by_message(&self, message: MessageId) -> StoreResult<Option<Draft>>;

    /// Returns the draft holding this approval.
    async fn get_draft_by_approval(&self, approval: ApprovalId) -> StoreResult<Option<Draft>>;

    /// Lists a site's drafts, newest first.
    async fn list_drafts(&self, site: SiteId, filter: &DraftFilter) -> StoreResult<Vec<Draft>>;

    /// Lists a site's drafts that have an approval: pending ones first (oldest request first),
    /// then decided ones (newest request first); `status` narrows to one approval status.
    async fn list_approval_drafts(&self, site: SiteId, status: Option<ApprovalStatus>, limit: u32) -> StoreResult<Vec<Draft>>;

    /// Claims up to `limit` scheduled drafts due at `now` whose lease is free or expired,
    /// leasing them until `lease_until`; no two claimers get the same draft while its lease
    /// holds.
    async fn claim_due_drafts(&self, now: DateTime<Utc>, lease_until: DateTime<Utc>, limit: u32) -> StoreResult<Vec<Draft>>;

    /// Returns the earliest due time of a scheduled draft (leased or not), if any.
    async fn next_draft_due(&self) -> StoreResult<Option<DateTime<Utc>>>;

    /// Whether the site has ever sent a message to this address (any recipient kind, compared
    /// in lower case): the test of a first contact.
    async fn site_has_mailed(&self, site: SiteId, address: &str) -> StoreResult<bool>;
}
