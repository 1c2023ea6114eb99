//! The storage traits of Mailroom.
//!
//! [`Store`] holds every record (sites, keys, mailboxes, messages, threads, the event log,
//! idempotency keys); [`BlobStore`] holds the bytes (raw messages and attachments). The
//! engine only ever talks to these traits, so SQLite and PostgreSQL (and, for blobs, files and
//! S3) are interchangeable, and the conformance suites in [`testkit`] (feature `testkit`) check
//! that every backend behaves the same.
//!
//! Tenant isolation is not the store's job: `get_*` methods fetch by id whatever the site,
//! and the API layer answers "not found" when the caller's key may not see the result's site.
//! List methods take an optional site filter (`None` lists every site, for admin keys).
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod areas;
pub mod blob;
pub mod codec;
pub mod runner;
pub mod search;
#[cfg(feature = "testkit")]
pub mod testkit;

pub use areas::*;
pub use blob::{BlobStore, BlobStream, LocalBlobStore, TieredBlobStore};
pub use search::SearchQuery;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
#[cfg(feature = "testkit")]
use mailroom_core::agent::*;
use mailroom_core::*;

/// Errors a store can return.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique constraint was violated; `constraint` names which (for example
    /// `mailbox_address`, `mailbox_client_id`, `message_id`).
    #[error("conflict on {constraint}")]
    Conflict {
        /// Which uniqueness rule was broken.
        constraint: String,
    },
    /// A record the operation needs does not exist.
    #[error("{0} not found")]
    NotFound(String),
    /// The stored data could not be read back (corrupt row, unknown enum value).
    #[error("stored data is invalid: {0}")]
    Corrupt(String),
    /// The database failed.
    #[error("database error: {0}")]
    Database(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The blob store failed.
    #[error("blob store error: {0}")]
    Blob(#[from] std::io::Error),
}

/// Shorthand for store results.
pub type StoreResult<T> = Result<T, StoreError>;

/// An event to append to the log; the store assigns its cursor.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    /// The event's id.
    pub id: EventId,
    /// The site whose log it goes to.
    pub site_id: SiteId,
    /// The mailbox concerned, if any.
    pub mailbox_id: Option<MailboxId>,
    /// The type, such as `message.received`.
    pub event_type: String,
    /// The payload.
    pub data: serde_json::Value,
    /// When it happened.
    pub created_at: DateTime<Utc>,
}

impl NewEvent {
    /// Returns a new event of `event_type` for `site_id`, stamped now.
    pub fn new(site_id: SiteId, mailbox_id: Option<MailboxId>, event_type: &str, data: serde_json::Value) -> Self {
        Self { id: EventId::new(), site_id, mailbox_id, event_type: event_type.to_string(), data, created_at: mailroom_core::now() }
    }

    /// Returns the event of one recipient's delivery outcome (`message.delivered`,
    /// `message.deferred`, `message.bounced`, `message.failed`), in the sender's mailbox, with
    /// the payload every such event carries.
    pub fn recipient_outcome(
        message: &mailroom_core::Message,
        event_type: &str,
        recipient: &mailroom_core::EmailAddress,
        status: mailroom_core::DeliveryStatus,
        last_reply: &str,
        attempts: u32,
    ) -> Self {
        Self::new(
            message.site_id,
            Some(message.mailbox_id),
            event_type,
            serde_json::json!({
                "message_id": message.id,
                "mailbox_id": message.mailbox_id,
                "thread_id": message.thread_id,
                "recipient": recipient,
                "status": status,
                "last_reply": last_reply,
                "attempts": attempts,
            }),
        )
    }
}

/// A message to insert, complete with its attachments' metadata and (outbound) recipients.
#[derive(Debug, Clone, PartialEq)]
pub struct NewMessage {
    /// The message; `message.thread_id` is the thread it joins or starts.
    pub message: Message,
    /// `true` when `message.thread_id` is a new thread the store must create; `false` when it
    /// names an existing thread of the same mailbox whose counters the store updates.
    pub new_thread: bool,
}

/// Filters of a message listing; results are newest first.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MessageFilter {
    /// Only this direction.
    pub direction: Option<Direction>,
    /// Only this thread.
    pub thread_id: Option<ThreadId>,
    /// `Some(true)`: unread only; `Some(false)`: read only.
    pub unread: Option<bool>,
    /// Only messages with `created_at >= since`.
    pub since: Option<DateTime<Utc>>,
    /// Only messages carrying this label.
    pub label: Option<String>,
    /// Only messages matching this full-text query in their subject, text body, sender or
    /// recipients (To and Cc), read as [`SearchQuery::parse`] says: every word must appear,
    /// punctuation splits words, the last word may be a prefix. A query without letters or
    /// digits matches nothing. The backend's full-text index answers it.
    pub q: Option<String>,
    /// Only messages with an id lower than this one (the page cursor).
    pub before: Option<MessageId>,
    /// At most this many.
    pub limit: u32,
}

/// Where to start a thread listing (latest activity first): threads strictly after this
/// position in the `(last_message_at DESC, id DESC)` order.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ThreadCursor {
    /// The `last_message_at` of the last thread of the previous page.
    pub last_message_at: DateTime<Utc>,
    /// The id of the last thread of the previous page.
    pub id: ThreadId,
}

/// A change to one recipient of an outbound message.
#[derive(Debug, Clone, PartialEq)]
pub struct RecipientUpdate {
    /// The new status.
    pub status: DeliveryStatus,
    /// The reply or note to record.
    pub last_reply: Option<String>,
    /// The new attempt count.
    pub attempts: u32,
    /// When the next attempt is due, if any.
    pub next_attempt_at: Option<DateTime<Utc>>,
}

/// What waits in the outbound queue of every site: [`QueueStore::queue_backlog`].
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct QueueBacklog {
    /// Outbound recipients `queued`, `sending` or `deferred`.
    pub waiting: u64,
    /// When the oldest message with such a recipient was created.
    pub oldest: Option<DateTime<Utc>>,
}

/// A recipient still waiting for delivery, with the message it belongs to.
#[derive(Debug, Clone, PartialEq)]
pub struct PendingRecipient {
    /// The outbound message.
    pub message_id: MessageId,
    /// Its site.
    pub site_id: SiteId,
    /// The recipient.
    pub recipient: Recipient,
}

/// Filters of the tool-run audit listing; results are newest first.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ToolRunFilter {
    /// Only this site (`None`: all sites).
    pub site: Option<SiteId>,
    /// Only this tool.
    pub tool: Option<String>,
    /// Only runs about this contact.
    pub contact: Option<ContactId>,
    /// Only runs with this status.
    pub status: Option<String>,
    /// Only runs at or after this time.
    pub since: Option<DateTime<Utc>>,
    /// Only runs before this time.
    pub until: Option<DateTime<Utc>>,
    /// Only runs with an id lower than this one (the page cursor).
    pub before: Option<ToolRunId>,
    /// At most this many.
    pub limit: u32,
}

/// The outcome of claiming an idempotency key.
#[derive(Debug, Clone, PartialEq)]
pub enum IdempotencyClaim {
    /// The key was free and is now held by this request.
    Claimed,
    /// The key was used before with this request hash; `response` is the stored
    /// `(status, body)` or `None` while the first request is still running.
    Existing {
        /// The SHA-256 of the first request's method, path and body.
        request_hash: String,
        /// The first request's answer, once it finished.
        response: Option<(u16, String)>,
    },
}

/// A mailbox found by its address, with what mail received for it is checked against.
#[derive(Debug, Clone, PartialEq)]
pub struct InboundLookup {
    /// The mailbox.
    pub mailbox: Mailbox,
    /// The controls stored for the mailbox, then for its site.
    pub controls: [Option<mailroom_core::controls::Controls>; 2],
    /// The receive lists that apply to it: its site's and its own, oldest first.
    pub receive_lists: Vec<ListEntry>,
}

/// Everything Mailroom keeps: every area trait, with one implementation per database. Callers
/// hold an `Arc<dyn Store>` and call any area's methods on it.
#[async_trait]
pub trait Store:
    MailboxStore + MessageStore + QueueStore + DomainStore + WebhookStore + EventStore + AgentStore + SettingsStore + PolicyStore + DraftStore + ControlStore + ReadingStore + SendStore
{
    /// Returns the backend's name (`sqlite` or `postgres`).
    fn backend(&self) -> &'static str;

    /// Checks that the database answers.
    async fn ping(&self) -> StoreResult<()>;

    /// Returns the mailbox whose address, lower-cased, is `canonical_address`, with its and
    /// its site's controls and its receive lists: what a recipient of received mail is checked
    /// against, in one read where the backend can (one round trip on PostgreSQL).
    async fn inbound_lookup(&self, canonical_address: &str) -> StoreResult<Option<InboundLookup>> {
        let Some(mailbox) = self.get_mailbox_by_address(canonical_address).await? else {
            return Ok(None);
        };
        let scopes = [mailroom_core::controls::ControlScope::Mailbox(mailbox.id), mailroom_core::controls::ControlScope::Site(mailbox.site_id)];
        let mut stored = self.get_controls_of(&scopes).await?.into_iter();
        let controls = [stored.next().flatten(), stored.next().flatten()];
        let receive_lists = self.applicable_list_entries(mailbox.site_id, ListDirection::Receive, Some(mailbox.id)).await?;
        Ok(Some(InboundLookup { mailbox, controls, receive_lists }))
    }

    /// Reads at most `limit` events of the whole log after log position `after`: returns a
    /// pending job for each attachment their message events name ([`attachment_jobs`]), the
    /// log position of the last event read and how many were read. Only what the jobs need is
    /// read where the backend can (PostgreSQL sends a few fields of the events with
    /// attachments, not every event whole).
    async fn attachment_jobs_after(&self, after: i64, limit: u32) -> StoreResult<AttachmentScan> {
        let events = self.list_events(None, Some(after), limit).await?;
        Ok(AttachmentScan {
            jobs: events.iter().flat_map(|e| attachment_jobs(e.site_id, &e.event_type, &e.data)).collect(),
            last: events.last().map(|e| mailroom_core::cursor::position(&e.cursor)),
            read: events.len(),
        })
    }
}
