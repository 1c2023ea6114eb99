//! The one policy step every outbound message passes, whoever sends it (REST send, reply and
//! forward, the agent tools, MCP), before anything is stored or queued.
//!
//! Every recipient — to, cc and bcc, builder defaults and runtime values alike — is compared
//! by its [`EmailAddress::policy_key`] (`+tag` removed, lower-cased) against the site's
//! suppression list and the allow/block lists for sending (site-wide and the sending
//! mailbox's own). A refusal names each refused address and why; it is a policy decision,
//! never a channel failure, so no other channel is tried. Replies to machine-sent mail are
//! refused (`auto_reply_loop`) unless the call allows it, and a mailbox may send at most
//! `thread_send_limit` messages into one thread per hour.

use crate::{Engine, EngineError, EngineResult};
use mailroom_core::*;

/// Why one recipient is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecipientRefusal {
    /// The address as given.
    pub address: String,
    /// `recipient_suppressed` or `recipient_blocked`.
    pub code: &'static str,
    /// A sentence saying why.
    pub reason: String,
}

/// Returns the `auto_reply_loop` refusal of a reply to `original`.
pub(crate) fn auto_reply_refusal(original: &Message) -> EngineError {
    EngineError::invalid(
        "auto_reply_loop",
        format!(
            "not sent: message {} was sent by a machine (Auto-Submitted, Precedence, List-Id or an auto-reply marker), and answering it \
             automatically risks a mail loop; pass `allow_auto_reply: true` if a person really means to reply",
            original.id
        ),
    )
}

/// Tells whether an engine error is a policy or validation refusal (which must never make a
/// caller try another channel) rather than a failure of the channel itself.
pub fn is_refusal(e: &EngineError) -> bool {
    matches!(
        e,
        EngineError::Invalid { .. } | EngineError::NotFound(_) | EngineError::Conflict { .. }
    )
}

impl Engine {
    /// Checks every recipient against the suppression list and the send allow/block lists of
    /// `site` (and of `mailbox`, when the send comes from one). Returns the refused ones, in
    /// the order given; empty means all may be sent to.
    pub async fn refused_recipients(
        &self,
        site: SiteId,
        mailbox: Option<MailboxId>,
        recipients: &[EmailAddress],
    ) -> EngineResult<Vec<RecipientRefusal>> {
        let lists = self
            .store
            .applicable_list_entries(site, ListDirection::Send, mailbox)
            .await?;
        let allows: Vec<&ListEntry> = lists.iter().filter(|e| e.kind == ListKind::Allow).collect();
        let mut refused = Vec::new();
        for address in recipients {
            let key = address.policy_key();
            let mut suppression = self.store.get_suppression(site, &key).await?;
            if suppression.is_none() && key != address.canonical() {
                suppression = self
                    .store
                    .get_suppression(site, &address.canonical())
                    .await?;
            }
            if let Some(s) = suppression {
                refused.push(RecipientRefusal {
                    address: address.to_string(),
                    code: "recipient_suppressed",
                    reason: format!("{key} is on the suppression list ({})", s.reason),
                });
                continue;
            }
            if let Some(block) = lists
                .iter()
                .find(|e| e.kind == ListKind::Block && e.matches(&key))
            {
                refused.push(RecipientRefusal {
                    address: address.to_string(),
                    code: "recipient_blocked",
                    reason: format!(
                        "{key} is blocked for sending by list entry {} ({})",
                        block.id, block.entry
                    ),
                });
                continue;
            }
            if !allows.is_empty() && !allows.iter().any(|e| e.matches(&key)) {
                refused.push(RecipientRefusal {
                    address: address.to_string(),
                    code: "recipient_blocked",
                    reason: format!("{key} is not on the send allow list (only listed addresses and domains may be mailed)"),
                });
            }
        }
        Ok(refused)
    }

    /// Refuses the send when any recipient is refused ([`Engine::refused_recipients`]): with
    /// `recipient_suppressed` when one is suppressed, else `recipient_blocked`; the message
    /// names every refused recipient and why.
    pub async fn enforce_send_policy(
        &self,
        site: SiteId,
        mailbox: Option<MailboxId>,
        recipients: &[EmailAddress],
    ) -> EngineResult<()> {
        let refused = self.refused_recipients(site, mailbox, recipients).await?;
        if refused.is_empty() {
            return Ok(());
        }
        let code = if refused.iter().any(|r| r.code == "recipient_suppressed") {
            "recipient_suppressed"
        } else {
            "recipient_blocked"
        };
        let detail = refused
            .iter()
            .map(|r| format!("{} ({})", r.address, r.reason))
            .collect::<Vec<_>>()
            .join("; ");
        let hint = if code == "recipient_suppressed" {
            "; remove a wrong suppression with DELETE /v1/suppressions/{address}"
        } else {
            "; see GET /v1/lists"
        };
        Err(EngineError::invalid(
            code,
            format!("not sent: {detail}{hint}"),
        ))
    }

    /// Refuses a send into `thread` when `mailbox` already sent `thread_send_limit` messages
    /// into it in the last hour (`thread_send_limit`).
    pub(crate) async fn enforce_thread_limit(
        &self,
        mailbox: &Mailbox,
        thread: ThreadId,
    ) -> EngineResult<()> {
        let limit = self.config.thread_send_limit;
        if limit == 0 {
            return Ok(());
        }
        let since = now() - chrono::Duration::hours(1);
        let sent = self
            .store
            .list_thread_messages(thread)
            .await?
            .iter()
            .filter(|m| {
                m.mailbox_id == mailbox.id
                    && m.direction == Direction::Outbound
                    && m.created_at >= since
            })
            .count();
        if sent >= limit as usize {
            return Err(EngineError::invalid(
                "thread_send_limit",
                format!(
                    "not sent: {} already sent {sent} messages into thread {thread} in the last hour (limit {limit}, \
                     limits.thread_send_limit); this guards against reply loops — wait, or start a new thread",
                    mailbox.address
                ),
            ));
        }
        Ok(())
    }
}

impl Engine {
    /// Adds an allow/block list entry to `site` after checking it: the entry must be an
    /// address or a domain (stored normalised), the mailbox one of the site's, the reason at
    /// most 500 characters. The same entry twice is `list_entry_exists` (409).
    pub async fn create_list_entry(
        &self,
        site: SiteId,
        req: &mailroom_core::api::CreateListEntryRequest,
    ) -> EngineResult<ListEntry> {
        let entry = ListEntry::normalize(&req.entry).ok_or_else(|| {
            EngineError::invalid(
                "validation_error",
                format!(
                    "`entry` `{}` is neither an email address nor a domain such as example.com",
                    req.entry.trim()
                ),
            )
        })?;
        if let Some(id) = req.mailbox_id
            && self
                .store
                .get_mailbox(id)
                .await?
                .filter(|m| m.site_id == site)
                .is_none()
        {
            return Err(EngineError::invalid(
                "validation_error",
                format!("`mailbox_id`: this site has no mailbox {id}"),
            ));
        }
        let reason = req
            .reason
            .as_deref()
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .map(str::to_string);
        if reason
            .as_ref()
            .is_some_and(|r| r.chars().count() > 500 || r.chars().any(char::is_control))
        {
            return Err(EngineError::invalid(
                "validation_error",
                "`reason` must be at most 500 characters without control characters",
            ));
        }
        let e = ListEntry {
            id: ListEntryId::new(),
            site_id: site,
            direction: req.direction,
            kind: req.kind,
            entry,
            mailbox_id: req.mailbox_id,
            reason,
            created_at: now(),
        };
        match self.store.create_list_entry(&e).await {
            Ok(()) => Ok(e),
            Err(mailroom_store::StoreError::Conflict { .. }) => Err(EngineError::Conflict {
                code: "list_entry_exists",
                message: format!(
                    "{} {} entry {} already exists for this {}",
                    e.direction.as_str(),
                    e.kind.as_str(),
                    e.entry,
                    if e.mailbox_id.is_some() {
                        "mailbox"
                    } else {
                        "site"
                    }
                ),
            }),
            Err(err) => Err(err.into()),
        }
    }
}
