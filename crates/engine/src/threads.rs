//! Reading mail: threads, message listings, lookups by Message-ID and attachments.

use crate::access::not_found;
use crate::{Engine, EngineResult};
use mailroom_core::api::ThreadWithMessages;
use mailroom_core::{Attachment, AttachmentId, Direction, KeyScope, MailboxId, Message, MessageId, SiteId, Thread, ThreadId};
use mailroom_store::{MessageFilter, ThreadCursor};

/// How many mailboxes a Message-ID lookup reads per page.
const LOOKUP_MAILBOX_PAGE: u32 = 100;

impl Engine {
    /// Lists a mailbox's threads, latest activity first, after the cursor.
    pub async fn list_threads(&self, mailbox: MailboxId, cursor: Option<ThreadCursor>, limit: u32) -> EngineResult<Vec<Thread>> {
        Ok(self.store.list_threads(mailbox, cursor, limit).await?)
    }

    /// Returns a thread the caller may see with its messages, oldest first.
    pub async fn thread_with_messages(&self, scope: KeyScope, id: ThreadId) -> EngineResult<ThreadWithMessages> {
        let thread = self.store.get_thread(id).await?.filter(|t| scope.allows(t.site_id)).ok_or_else(|| not_found("thread", id))?;
        let messages = self.store.list_thread_messages(id).await?;
        Ok(ThreadWithMessages { thread, messages })
    }

    /// Lists a mailbox's messages through `filter`, newest first.
    pub async fn list_messages(&self, mailbox: MailboxId, filter: &MessageFilter) -> EngineResult<Vec<Message>> {
        Ok(self.store.list_messages(mailbox, filter).await?)
    }

    /// Returns a message, if it exists (no visibility check: for callers that checked the site).
    pub async fn get_message(&self, id: MessageId) -> EngineResult<Option<Message>> {
        Ok(self.store.get_message(id).await?)
    }

    /// Finds the messages with Message-ID `wanted` (without angle brackets) in every mailbox of
    /// `site` (every site: `None`), inbound and outbound copies alike.
    pub async fn find_messages_by_message_id(&self, site: Option<SiteId>, wanted: &str) -> EngineResult<Vec<Message>> {
        let mut items = Vec::new();
        let mut before = None;
        loop {
            let mailboxes = self.store.list_mailboxes(site, before, LOOKUP_MAILBOX_PAGE).await?;
            for mailbox in &mailboxes {
                for direction in [Direction::Inbound, Direction::Outbound] {
                    if let Some(m) = self.store.find_message_by_message_id(mailbox.id, Some(direction), wanted).await? {
                        items.push(m);
                    }
                }
            }
            match mailboxes.last() {
                Some(last) if mailboxes.len() as u32 == LOOKUP_MAILBOX_PAGE => before = Some(last.id),
                _ => break,
            }
        }
        Ok(items)
    }

    /// Returns an attachment the caller may see.
    pub async fn visible_attachment(&self, scope: KeyScope, id: AttachmentId) -> EngineResult<Attachment> {
        let (att, _, _) = self.store.get_attachment(id).await?.filter(|(_, _, site)| scope.allows(*site)).ok_or_else(|| not_found("attachment", id))?;
        Ok(att)
    }
}
