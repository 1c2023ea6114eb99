//! Messages with their attachments and recipients, and the threads they form.

#[allow(unused_imports)]
use crate::*;
use async_trait::async_trait;
#[allow(unused_imports)]
use chrono::{DateTime, Utc};
#[allow(unused_imports)]
use mailroom_core::agent::*;
use mailroom_core::*;

/// Messages with their attachments and recipients, and the threads they form.
#[async_trait]
pub trait MessageStore: Send + Sync + 'static {
    /// Inserts a message with its attachments and recipients, creates or updates its thread
    /// (count, latest activity, snippet, participants), and appends `events`, all in one
    /// transaction. `Conflict` with `message_id` when the mailbox already holds a message of
    /// the same direction with the same `Message-ID`.
    async fn insert_message(&self, new: &NewMessage, events: &[NewEvent]) -> StoreResult<()>;

    /// The largest blob this store can keep itself, written in the same transaction as the
    /// message that refers to it ([`MessageStore::insert_message_with_blobs`]); 0 when it cannot.
    fn inline_blob_max(&self) -> usize {
        0
    }

    /// Like [`MessageStore::insert_message`], also storing `blobs` (key, bytes) in the same
    /// transaction, each at most [`MessageStore::inline_blob_max`] bytes. The default supports only
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
}
