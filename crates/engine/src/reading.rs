//! What agents read (issue 18), on the engine's side: reply extraction and untrusted-content
//! flags computed as a message is stored, the extracted text of attachments, and the agent
//! view of a thread. The rules themselves are in `mailroom_core::reading`.

use crate::{Engine, EngineResult};
use mailroom_core::reading::agent::{self, AgentThreadView, AttachmentTextState};
use mailroom_core::reading::{self, AttachmentText, Security, TextStatus};
use mailroom_core::*;
use std::collections::HashMap;

/// Bodies larger than this (text and HTML together) are read on the blocking pool rather than
/// on the task that stores the message.
const INLINE_READ_MAX: usize = 64 * 1024;

impl Engine {
    /// Fills a message's `extracted_text`, `extracted_html` and (inbound) `security`, adding
    /// the check only the engine can make: a `From` on a hosted domain with a DMARC `fail`.
    pub(crate) async fn read_content(&self, mut message: Message) -> Message {
        let size = message.text.as_ref().map_or(0, String::len) + message.html.as_ref().map_or(0, String::len);
        if size > INLINE_READ_MAX {
            let mut copy = message.clone();
            match tokio::task::spawn_blocking(move || {
                reading::annotate(&mut copy);
                copy
            })
            .await
            {
                Ok(m) => message = m,
                // Stored without the reading fields: they are computed again when read.
                Err(e) => tracing::error!(error = %e, "reading a message's content failed"),
            }
        } else {
            reading::annotate(&mut message);
        }
        if message.direction == Direction::Inbound
            && let Some(verdict) = message.auth_results.as_ref().and_then(|a| a.get("dmarc")).and_then(|v| v.as_str())
            && verdict == "fail"
            && let Some(from) = &message.from
        {
            let domain = from.address.domain().to_string();
            if self.is_hosted(&domain).await.unwrap_or(false) {
                message.security.get_or_insert_with(Security::default).push(reading::security::dmarc_hosted_flag(&domain, verdict));
            }
        }
        message
    }

    /// Returns the extracted text of an attachment with the site it belongs to, or `None` when
    /// there is no such attachment. An attachment not yet picked up by the worker is `pending`.
    pub async fn attachment_text(&self, id: AttachmentId) -> EngineResult<Option<(AttachmentText, SiteId)>> {
        let Some((attachment, message_id, site)) = self.store.get_attachment(id).await? else { return Ok(None) };
        let found = self.store.get_attachment_texts(&[attachment.id]).await?.into_iter().next();
        let text = found.unwrap_or(AttachmentText {
            attachment_id: attachment.id,
            message_id,
            text_status: TextStatus::Pending,
            text: None,
            truncated: false,
            error: None,
            attempts: 0,
            updated_at: now(),
        });
        Ok(Some((text, site)))
    }

    /// Returns the agent view of a thread within `budget` tokens (see
    /// `mailroom_core::reading::agent`), with the thread's site, or `None` when there is no
    /// such thread.
    pub async fn agent_thread_view(&self, id: ThreadId, budget: Option<u32>) -> EngineResult<Option<(AgentThreadView, SiteId)>> {
        let Some(thread) = self.store.get_thread(id).await? else { return Ok(None) };
        let messages = self.store.list_thread_messages(id).await?;
        let ids: Vec<AttachmentId> = messages.iter().flat_map(|m| m.attachments.iter().map(|a| a.id)).collect();
        let texts: HashMap<AttachmentId, AttachmentTextState> = if ids.is_empty() {
            HashMap::new()
        } else {
            self.store
                .get_attachment_texts(&ids)
                .await?
                .into_iter()
                .map(|t| (t.attachment_id, AttachmentTextState { status: t.text_status.as_str().to_string(), text: t.text }))
                .collect()
        };
        let view = agent::build(&thread, &messages, &texts, budget.unwrap_or(agent::DEFAULT_TOKEN_BUDGET));
        Ok(Some((view, thread.site_id)))
    }
}
