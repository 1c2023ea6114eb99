//! What agents read of messages: the durable queue of attachment-text extraction and its
//! results (issue 18). The reply extraction and security flags of a message are stored on the
//! message itself (the `reading` column) by [`MessageStore`](crate::MessageStore).

#[allow(unused_imports)]
use crate::*;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use mailroom_core::reading::{AttachmentText, TextStatus};
use mailroom_core::*;

/// An attachment whose text is to be extracted.
#[derive(Debug, Clone, PartialEq)]
pub struct AttachmentTextJob {
    /// The attachment.
    pub attachment_id: AttachmentId,
    /// Its message.
    pub message_id: MessageId,
    /// Its site.
    pub site_id: SiteId,
    /// Its mailbox (for the event).
    pub mailbox_id: MailboxId,
    /// Attempts made before this one.
    pub attempts: u32,
}

/// The event types whose events name a message's attachments.
pub const ATTACHMENT_EVENT_TYPES: [&str; 3] =
    [mailroom_core::event_types::MESSAGE_RECEIVED, mailroom_core::event_types::MESSAGE_IMPORTED, mailroom_core::event_types::MESSAGE_SENT];

/// A pending job for each attachment that an event of site `site_id` names: a message event
/// (see [`ATTACHMENT_EVENT_TYPES`]) whose `data` has the message's `id`, `mailbox_id` and
/// `attachments` (objects with an `id`). None for other events.
pub fn attachment_jobs(site_id: SiteId, event_type: &str, data: &serde_json::Value) -> Vec<AttachmentTextJob> {
    let found = || -> Option<(MessageId, MailboxId, &Vec<serde_json::Value>)> {
        if !ATTACHMENT_EVENT_TYPES.contains(&event_type) {
            return None;
        }
        let message: MessageId = data.get("id")?.as_str()?.parse().ok()?;
        let mailbox: MailboxId = data.get("mailbox_id")?.as_str()?.parse().ok()?;
        Some((message, mailbox, data.get("attachments")?.as_array()?))
    };
    let Some((message_id, mailbox_id, attachments)) = found() else { return Vec::new() };
    attachments
        .iter()
        .filter_map(|a| a.get("id")?.as_str()?.parse().ok())
        .map(|attachment_id| AttachmentTextJob { attachment_id, message_id, site_id, mailbox_id, attempts: 0 })
        .collect()
}

/// What [`Store::attachment_jobs_after`](crate::Store::attachment_jobs_after) read.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AttachmentScan {
    /// A pending job for each attachment the events read name.
    pub jobs: Vec<AttachmentTextJob>,
    /// The log position of the last event read; `None` when none was.
    pub last: Option<i64>,
    /// How many events were read (fewer than asked: the log's end).
    pub read: usize,
}

/// The outcome of one extraction attempt.
#[derive(Debug, Clone, PartialEq)]
pub struct AttachmentTextUpdate {
    /// The new status (`pending` with `next_attempt_at` to retry).
    pub status: TextStatus,
    /// The text, when done.
    pub text: Option<String>,
    /// Whether the text stops at the output limit.
    pub truncated: bool,
    /// Why it failed or is unsupported.
    pub error: Option<String>,
    /// The attempt count after this attempt.
    pub attempts: u32,
    /// When to try again (`pending` only).
    pub next_attempt_at: Option<DateTime<Utc>>,
}

/// The attachment-text queue and its results.
#[async_trait]
pub trait ReadingStore: Send + Sync + 'static {
    /// Queues `jobs` as `pending` (attachments already queued, or deleted meanwhile, are
    /// skipped) and, in the same transaction, stores `cursor` as a setting `(key, value)`.
    async fn queue_attachment_texts(&self, jobs: &[AttachmentTextJob], cursor: Option<(&str, &str)>) -> StoreResult<()>;

    /// Claims up to `limit` due `pending` jobs (never attempted, retry due, or lease expired)
    /// with a lease until `lease_until`. Concurrent callers never claim the same job.
    async fn claim_attachment_texts(&self, now: DateTime<Utc>, lease_until: DateTime<Utc>, limit: u32) -> StoreResult<Vec<AttachmentTextJob>>;

    /// Records an attempt's outcome (ending the lease) and appends `events`, in one
    /// transaction. `NotFound` if the job is gone (its message was deleted).
    async fn record_attachment_text(&self, id: AttachmentId, update: &AttachmentTextUpdate, events: &[NewEvent]) -> StoreResult<()>;

    /// Returns the extraction state of these attachments (those with one).
    async fn get_attachment_texts(&self, ids: &[AttachmentId]) -> StoreResult<Vec<AttachmentText>>;
}
