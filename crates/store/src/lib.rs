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

pub mod blob;
pub mod runner;
pub mod search;
#[cfg(feature = "testkit")]
pub mod testkit;

pub use blob::{BlobStore, LocalBlobStore, TieredBlobStore};
pub use search::SearchQuery;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
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

/// Everything Mailroom keeps, behind one trait with one implementation per database.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Returns the backend's name (`sqlite` or `postgres`).
    fn backend(&self) -> &'static str;

    /// Checks that the database answers.
    async fn ping(&self) -> StoreResult<()>;

    // --- settings: a small key-value table for server-wide values -------------------------

    /// Returns a server-wide setting.
    async fn get_setting(&self, key: &str) -> StoreResult<Option<String>>;
    /// Stores `value` under `key` unless the key exists; returns the value now stored (the
    /// existing one if another node won the race).
    async fn put_setting_if_absent(&self, key: &str, value: &str) -> StoreResult<String>;

    // --- sites ----------------------------------------------------------------------------

    /// Creates a site.
    async fn create_site(&self, site: &Site) -> StoreResult<()>;
    /// Returns a site by id.
    async fn get_site(&self, id: SiteId) -> StoreResult<Option<Site>>;
    /// Lists every site, oldest first.
    async fn list_sites(&self) -> StoreResult<Vec<Site>>;

    // --- API keys -------------------------------------------------------------------------

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

    // --- mailboxes ------------------------------------------------------------------------

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

    // --- messages and threads -------------------------------------------------------------

    /// Inserts a message with its attachments and recipients, creates or updates its thread
    /// (count, latest activity, snippet, participants), and appends `events`, all in one
    /// transaction. `Conflict` with `message_id` when the mailbox already holds a message of
    /// the same direction with the same `Message-ID`.
    async fn insert_message(&self, new: &NewMessage, events: &[NewEvent]) -> StoreResult<()>;
    /// The largest blob this store can keep itself, written in the same transaction as the
    /// message that refers to it ([`Store::insert_message_with_blobs`]); 0 when it cannot.
    fn inline_blob_max(&self) -> usize {
        0
    }

    /// Like [`Store::insert_message`], also storing `blobs` (key, bytes) in the same
    /// transaction, each at most [`Store::inline_blob_max`] bytes. The default supports only
    /// an empty list. Stored blobs are read through the blob store the server pairs with this
    /// store.
    async fn insert_message_with_blobs(&self, new: &NewMessage, events: &[NewEvent], blobs: Vec<(String, bytes::Bytes)>) -> StoreResult<()> {
        if !blobs.is_empty() {
            return Err(StoreError::Database("this store does not keep blobs".into()));
        }
        self.insert_message(new, events).await
    }

    /// Returns a message with its attachments and recipients.
    async fn get_message(&self, id: MessageId) -> StoreResult<Option<Message>>;
    /// Returns the mailbox's message with this `Message-ID`, of `direction` if given (the
    /// newest if several).
    async fn find_message_by_message_id(
        &self,
        mailbox: MailboxId,
        direction: Option<Direction>,
        message_id: &str,
    ) -> StoreResult<Option<Message>>;
    /// Returns the thread of the newest message of `mailbox` whose `Message-ID` is one of
    /// `message_ids`.
    async fn find_thread_by_message_ids(&self, mailbox: MailboxId, message_ids: &[String]) -> StoreResult<Option<ThreadId>>;
    /// Lists a mailbox's messages, newest first.
    async fn list_messages(&self, mailbox: MailboxId, filter: &MessageFilter) -> StoreResult<Vec<Message>>;
    /// Sets a message's read flag and labels.
    async fn update_message_flags(&self, id: MessageId, read: bool, labels: &[String]) -> StoreResult<()>;
    /// Deletes a message (its thread's counters follow; an emptied thread is deleted),
    /// appends `event`, and returns its blob keys (raw and attachments) to delete after.
    async fn delete_message(&self, id: MessageId, event: &NewEvent) -> StoreResult<Vec<String>>;
    /// Returns an attachment's metadata with the message and site it belongs to.
    async fn get_attachment(&self, id: AttachmentId) -> StoreResult<Option<(Attachment, MessageId, SiteId)>>;
    /// Returns a thread.
    async fn get_thread(&self, id: ThreadId) -> StoreResult<Option<Thread>>;
    /// Lists a mailbox's threads, latest activity first, after `cursor`.
    async fn list_threads(&self, mailbox: MailboxId, cursor: Option<ThreadCursor>, limit: u32) -> StoreResult<Vec<Thread>>;
    /// Returns a thread's messages, oldest first.
    async fn list_thread_messages(&self, thread: ThreadId) -> StoreResult<Vec<Message>>;

    // --- outbound recipients (the durable delivery queue) ---------------------------------

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

    // --- domains ----------------------------------------------------------------------------

    /// Adds a hosted domain with its DKIM keys and appends `event`. `Conflict` with
    /// `domain_name` when any site already has the name.
    async fn create_domain(&self, domain: &Domain, event: &NewEvent) -> StoreResult<()>;
    /// Returns a domain by id.
    async fn get_domain(&self, id: DomainId) -> StoreResult<Option<Domain>>;
    /// Returns the domain with this name (compared lower-cased).
    async fn get_domain_by_name(&self, name: &str) -> StoreResult<Option<Domain>>;
    /// Lists domains by name: of one site (`Some`) or all (`None`).
    async fn list_domains(&self, site: Option<SiteId>) -> StoreResult<Vec<Domain>>;
    /// Deletes a domain; returns whether it existed.
    async fn delete_domain(&self, id: DomainId) -> StoreResult<bool>;

    // --- suppressions -----------------------------------------------------------------------

    /// Adds `suppression`, or replaces the reason, detail and time of an existing one for the
    /// same site and address, and appends `event` if given, in one transaction.
    async fn put_suppression(&self, suppression: &Suppression, event: Option<&NewEvent>) -> StoreResult<()>;
    /// Returns the site's suppression of `address` (compared lower-cased).
    async fn get_suppression(&self, site: SiteId, address: &str) -> StoreResult<Option<Suppression>>;
    /// Lists suppressions ordered by address, with addresses greater than `after`: of one
    /// site (`Some`) or all (`None`), at most `limit`.
    async fn list_suppressions(&self, site: Option<SiteId>, after: Option<&str>, limit: u32) -> StoreResult<Vec<Suppression>>;
    /// Deletes the site's suppression of `address`; returns whether it existed.
    async fn delete_suppression(&self, site: SiteId, address: &str) -> StoreResult<bool>;

    // --- webhooks ---------------------------------------------------------------------------

    /// Creates a webhook endpoint.
    async fn create_webhook(&self, endpoint: &WebhookEndpoint) -> StoreResult<()>;
    /// Returns an endpoint by id.
    async fn get_webhook(&self, id: WebhookId) -> StoreResult<Option<WebhookEndpoint>>;
    /// Lists endpoints oldest first: of one site (`Some`) or all (`None`).
    async fn list_webhooks(&self, site: Option<SiteId>) -> StoreResult<Vec<WebhookEndpoint>>;
    /// Saves every mutable field of an endpoint (url, event types, mailbox, description,
    /// enabled, disabled reason, failing since, both secrets and the previous secret's expiry,
    /// updated_at) and appends `events`, in one transaction. `NotFound` if it does not exist.
    async fn update_webhook(&self, endpoint: &WebhookEndpoint, events: &[NewEvent]) -> StoreResult<()>;
    /// Deletes an endpoint with its deliveries; returns whether it existed.
    async fn delete_webhook(&self, id: WebhookId) -> StoreResult<bool>;
    /// Inserts deliveries (with their given status, normally `pending` and due now) and, when
    /// `cursor` is `Some((key, value))`, overwrites the setting `key` with `value`, in one
    /// transaction: a fan-out that stores its position with the jobs it made can crash and
    /// repeat, never skip. A delivery whose (endpoint, event) pair already exists is skipped.
    async fn create_webhook_deliveries(&self, deliveries: &[WebhookDelivery], cursor: Option<(&str, &str)>) -> StoreResult<()>;
    /// Claims up to `limit` deliveries for an attempt: `pending` ones due by `now` (or with no
    /// time set), and `sending` ones whose lease expired before `now`. Each becomes `sending`
    /// with a lease until `lease_until` and is returned in that state (without history),
    /// oldest event first. Concurrent callers on any number of nodes never claim the same one.
    async fn claim_webhook_deliveries(&self, now: DateTime<Utc>, lease_until: DateTime<Utc>, limit: u32) -> StoreResult<Vec<WebhookDelivery>>;
    /// Records one attempt of a delivery and its new state (status, attempts = the attempt's
    /// number, next attempt), ending the lease, in one transaction.
    async fn record_webhook_attempt(
        &self,
        id: WebhookDeliveryId,
        attempt: &WebhookAttempt,
        status: WebhookDeliveryStatus,
        next_attempt_at: Option<DateTime<Utc>>,
    ) -> StoreResult<()>;
    /// Lists an endpoint's deliveries newest first, with their attempts, with ids lower than
    /// `before`, at most `limit`.
    async fn list_webhook_deliveries(&self, endpoint: WebhookId, before: Option<WebhookDeliveryId>, limit: u32) -> StoreResult<Vec<WebhookDelivery>>;
    /// Marks every `pending` delivery of an endpoint `failed` (the endpoint was disabled);
    /// returns how many.
    async fn fail_pending_webhook_deliveries(&self, endpoint: WebhookId) -> StoreResult<u64>;
    /// Makes deliveries `pending` and due now again (a replay), whatever their state, except
    /// `sending` ones (an attempt is under way); returns how many. Ids, attempt counts and
    /// histories are kept.
    async fn requeue_webhook_deliveries(&self, ids: &[WebhookDeliveryId]) -> StoreResult<u64>;
    /// Overwrites (or creates) a server-wide setting.
    async fn put_setting(&self, key: &str, value: &str) -> StoreResult<()>;
    /// Returns the cursor of the newest event (0 when the log is empty).
    async fn last_event_cursor(&self) -> StoreResult<i64>;
    /// Returns the event with this cursor.
    async fn get_event(&self, cursor: i64) -> StoreResult<Option<Event>>;

    /// Returns a receiver whose value changes after every commit on this store that appended
    /// events — and, where several nodes share the database (PostgreSQL), soon after other
    /// nodes' commits too. SSE streams, long-poll waits and the webhook fan-out wake on it and
    /// then read the log from their own cursor: the log is the truth, the signal only a wake-up.
    fn event_signal(&self) -> tokio::sync::watch::Receiver<u64>;

    // --- agent tools: contacts, team members, settings, secrets, configs, runs, sends -------

    /// Creates a contact. `Conflict` with `contact_email` when the site has a contact with the
    /// same (lower-cased) email, `contact_external_id` with the same external id.
    async fn create_contact(&self, contact: &Contact) -> StoreResult<()>;
    /// Saves every mutable field of a contact (email, external id, name, attributes, consent,
    /// opt-out, owner, updated_at); the same conflicts as `create_contact`.
    async fn update_contact(&self, contact: &Contact) -> StoreResult<()>;
    /// Returns a contact by id.
    async fn get_contact(&self, id: ContactId) -> StoreResult<Option<Contact>>;
    /// Returns the site's contact with this email (compared lower-cased), else with this
    /// external id.
    async fn find_contact(&self, site: SiteId, email: Option<&str>, external_id: Option<&str>) -> StoreResult<Option<Contact>>;
    /// Lists contacts newest first with ids lower than `before`: of one site or all.
    async fn list_contacts(&self, site: Option<SiteId>, before: Option<ContactId>, limit: u32) -> StoreResult<Vec<Contact>>;
    /// Deletes a contact, keeping its sent emails and tool runs (without the contact); returns
    /// whether it existed.
    async fn delete_contact(&self, id: ContactId) -> StoreResult<bool>;

    /// Creates a team member.
    async fn create_team_member(&self, member: &TeamMember) -> StoreResult<()>;
    /// Saves a team member's name, mailbox, signature and updated_at.
    async fn update_team_member(&self, member: &TeamMember) -> StoreResult<()>;
    /// Returns a team member by id.
    async fn get_team_member(&self, id: TeamMemberId) -> StoreResult<Option<TeamMember>>;
    /// Lists team members oldest first: of one site or all.
    async fn list_team_members(&self, site: Option<SiteId>) -> StoreResult<Vec<TeamMember>>;
    /// Deletes a team member, leaving the contacts they owned without an owner; returns
    /// whether it existed.
    async fn delete_team_member(&self, id: TeamMemberId) -> StoreResult<bool>;

    /// Returns a site's sending settings document (seed 002's `settings.channels`, the
    /// informational-email configuration, …), if one was stored.
    async fn get_site_settings(&self, site: SiteId) -> StoreResult<Option<serde_json::Value>>;
    /// Replaces a site's sending settings document.
    async fn put_site_settings(&self, site: SiteId, settings: &serde_json::Value) -> StoreResult<()>;

    /// Stores a secure token, replacing the value of an existing one with the same site, type
    /// and identifier (which keeps its id and created_at); returns the stored record.
    async fn put_secure_token(&self, token: &SecureToken) -> StoreResult<SecureToken>;
    /// Returns the site's token of this type and identifier.
    async fn get_secure_token(&self, site: SiteId, token_type: &str, identifier: &str) -> StoreResult<Option<SecureToken>>;
    /// Lists a site's tokens (type, identifier, times; values stay sealed), oldest first.
    async fn list_secure_tokens(&self, site: SiteId) -> StoreResult<Vec<SecureToken>>;
    /// Deletes a token; returns whether it existed.
    async fn delete_secure_token(&self, id: SecureTokenId) -> StoreResult<bool>;

    /// Creates a tool config. `Conflict` with `tool_config_name` when the site has one with the
    /// same name.
    async fn create_tool_config(&self, config: &ToolConfig) -> StoreResult<()>;
    /// Saves a tool config's name, prompt, settings and updated_at.
    async fn update_tool_config(&self, config: &ToolConfig) -> StoreResult<()>;
    /// Returns a tool config by id.
    async fn get_tool_config(&self, id: ToolConfigId) -> StoreResult<Option<ToolConfig>>;
    /// Returns the site's tool config with this name.
    async fn get_tool_config_by_name(&self, site: SiteId, name: &str) -> StoreResult<Option<ToolConfig>>;
    /// Lists tool configs by name (bytewise): of one site or all.
    async fn list_tool_configs(&self, site: Option<SiteId>) -> StoreResult<Vec<ToolConfig>>;
    /// Deletes a tool config, keeping its tool runs (without the config); returns whether it
    /// existed.
    async fn delete_tool_config(&self, id: ToolConfigId) -> StoreResult<bool>;

    /// Records a tool run, appending `events` in the same transaction.
    async fn insert_tool_run(&self, run: &ToolRun, events: &[NewEvent]) -> StoreResult<()>;
    /// Returns a tool run by id.
    async fn get_tool_run(&self, id: ToolRunId) -> StoreResult<Option<ToolRun>>;
    /// Lists tool runs, newest first (by id); `since` is inclusive, `until` exclusive.
    async fn list_tool_runs(&self, filter: &ToolRunFilter) -> StoreResult<Vec<ToolRun>>;

    /// Records an email the tools sent (the recipient is stored lower-cased). `Conflict` with
    /// `sent_email_external_id` when the site has one with the same provider and external
    /// message id.
    async fn insert_sent_email(&self, sent: &SentEmail) -> StoreResult<()>;
    /// Lists the site's emails to `recipient` (lower-cased) sent at or after `since`, newest
    /// first, at most `limit`: what the duplicate check compares against.
    async fn list_sent_emails(&self, site: SiteId, recipient: &str, since: DateTime<Utc>, limit: u32) -> StoreResult<Vec<SentEmail>>;
    /// Lists the emails sent to a contact, newest first (its history).
    async fn list_contact_sends(&self, contact: ContactId, limit: u32) -> StoreResult<Vec<SentEmail>>;
    /// Returns the site's sent email with this provider and external message id.
    async fn find_sent_email(&self, site: SiteId, provider: &str, external_message_id: &str) -> StoreResult<Option<SentEmail>>;
    /// Records `sent` (a reservation made before sending) and returns the site's earlier emails
    /// to the same recipient since `since`, newest first, at most `limit` — atomically per
    /// recipient: of two concurrent reservations for one recipient (on any nodes), the later
    /// one always sees the earlier one.
    async fn reserve_sent_email(&self, sent: &SentEmail, since: DateTime<Utc>, limit: u32) -> StoreResult<Vec<SentEmail>>;
    /// Completes a sent email recorded before its send (a reservation): sets the provider, its
    /// external message id and the stored message. Returns whether the record exists.
    async fn complete_sent_email(&self, id: SentEmailId, provider: &str, external_message_id: &str, message: Option<MessageId>) -> StoreResult<bool>;
    /// Deletes a sent email (a reservation whose send was abandoned). Returns whether it existed.
    async fn delete_sent_email(&self, id: SentEmailId) -> StoreResult<bool>;

    // --- the event log --------------------------------------------------------------------

    /// Appends events. Their cursors increase in commit order.
    async fn append_events(&self, events: &[NewEvent]) -> StoreResult<()>;
    /// Returns events with a cursor greater than `after`, in log order, at most `limit`:
    /// of one site (`Some`) or of all sites (`None`).
    async fn list_events(&self, site: Option<SiteId>, after: Option<i64>, limit: u32) -> StoreResult<Vec<Event>>;

    // --- idempotency keys -----------------------------------------------------------------

    /// Claims `key` for a request whose hash is `request_hash`, or reports the earlier use.
    async fn claim_idempotency_key(&self, site: SiteId, key: &str, request_hash: &str) -> StoreResult<IdempotencyClaim>;
    /// Records the answer of the request holding `key`.
    async fn complete_idempotency_key(&self, site: SiteId, key: &str, status: u16, body: &str) -> StoreResult<()>;
    /// Frees `key` after its request failed, so a retry runs again.
    async fn release_idempotency_key(&self, site: SiteId, key: &str) -> StoreResult<()>;
    /// Deletes keys created before `before`; returns how many.
    async fn purge_idempotency_keys(&self, before: DateTime<Utc>) -> StoreResult<u64>;
}
