//! Mail arriving over SMTP: which recipients to accept (no open relay), storing a copy per
//! mailbox before the `250`, and reading bounce reports about mail this server sent.

use crate::{Engine, EngineError, EngineResult};

/// The error code of a received message refused for crossing a structural limit.
pub const MESSAGE_LIMIT_EXCEEDED: &str = "message_limit_exceeded";
use bytes::Bytes;
use mailroom_core::event_types::{MESSAGE_BOUNCED, SUPPRESSION_CREATED};
use mailroom_core::*;
use mailroom_store::{NewEvent, RecipientUpdate};

/// Who handed a message over, for SPF and the record.
#[derive(Debug, Clone)]
pub struct InboundSession {
    /// The client's IP address.
    pub remote_ip: std::net::IpAddr,
    /// The name it gave in EHLO/HELO.
    pub helo: String,
    /// The envelope sender (`""` for bounces).
    pub mail_from: String,
}

/// The answer to one `RCPT TO`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InboundRecipient {
    /// A mailbox here: accept.
    Accept,
    /// A hosted domain without such a mailbox: `550 5.1.1`.
    UnknownMailbox,
    /// Not a domain this server hosts: relaying denied, `550 5.7.1`.
    NotHosted,
}

impl Engine {
    /// Decides one `RCPT TO`: only existing mailboxes on hosted domains are accepted
    /// (plus-addressing resolves to the base mailbox).
    pub async fn check_inbound_recipient(&self, rcpt: &str) -> EngineResult<InboundRecipient> {
        let Ok(address) = EmailAddress::parse(rcpt) else { return Ok(InboundRecipient::UnknownMailbox) };
        if !self.is_hosted(address.domain()).await? {
            return Ok(InboundRecipient::NotHosted);
        }
        let (base, _) = address.without_tag();
        Ok(match self.store.get_mailbox_by_address(&base.canonical()).await? {
            Some(_) => InboundRecipient::Accept,
            None => InboundRecipient::UnknownMailbox,
        })
    }

    /// Stores a received message once per recipient mailbox (durably: when this returns the
    /// copies are on disk and recorded) with its SPF/DKIM/DMARC verdicts, then applies it if
    /// it is a bounce report about mail this server sent. Recipients that are no longer valid
    /// are skipped.
    ///
    /// A message past the structural limits (header fields, header bytes, MIME parts, nesting)
    /// is refused with `Invalid { code: "message_limit_exceeded" }` naming the limit, before
    /// anything — DKIM verification included — parses it.
    pub async fn accept_inbound(&self, session: &InboundSession, rcpts: &[String], raw: Bytes) -> EngineResult<Vec<Message>> {
        if let Err(limit) = mailroom_core::mime::check_limits(&raw, &self.config().mime_limits) {
            return Err(EngineError::invalid(MESSAGE_LIMIT_EXCEEDED, format!("message refused: {limit}")));
        }
        let auth = match &self.auth {
            Some(verifier) => {
                let results = verifier.verify(session.remote_ip, &session.helo, &session.mail_from, &raw).await;
                Some(serde_json::to_value(results).unwrap_or_default())
            }
            None => None,
        };
        let mut stored: Vec<Message> = Vec::new();
        for rcpt in rcpts {
            let Ok(address) = EmailAddress::parse(rcpt) else { continue };
            let (base, tag) = address.without_tag();
            let Some(mailbox) = self.store.get_mailbox_by_address(&base.canonical()).await? else { continue };
            if stored.iter().any(|m| m.mailbox_id == mailbox.id) {
                continue;
            }
            let message = self.store_inbound_copy(&mailbox, raw.clone(), tag, auth.clone()).await?;
            stored.push(message);
        }
        if let Some(report) = mailroom_core::dsn::parse(&raw) {
            for copy in &stored {
                if let Err(e) = self.apply_bounce_report(copy.mailbox_id, &report).await {
                    tracing::warn!(error = %e, "could not apply a bounce report");
                }
            }
        }
        Ok(stored)
    }

    /// Marks the failed recipients of a report about a message `mailbox` sent as bounced, and
    /// suppresses hard-bounced addresses.
    async fn apply_bounce_report(&self, mailbox: MailboxId, report: &mailroom_core::dsn::Dsn) -> EngineResult<()> {
        let Some(original_id) = &report.original_message_id else { return Ok(()) };
        let Some(original) = self.store.find_message_by_message_id(mailbox, Some(Direction::Outbound), original_id).await? else {
            return Ok(());
        };
        for r in report.recipients.iter().filter(|r| r.action == "failed") {
            let Some(ours) = original.recipients.iter().find(|x| x.address.canonical() == r.address.canonical()) else { continue };
            let reply = r.diagnostic.clone().unwrap_or_else(|| format!("bounce report: status {}", r.status));
            let update = RecipientUpdate { status: DeliveryStatus::Bounced, last_reply: Some(reply.clone()), attempts: ours.attempts, next_attempt_at: None };
            let event = NewEvent::new(
                original.site_id,
                Some(original.mailbox_id),
                MESSAGE_BOUNCED,
                serde_json::json!({
                    "message_id": original.id, "mailbox_id": original.mailbox_id, "thread_id": original.thread_id,
                    "recipient": ours.address, "status": DeliveryStatus::Bounced, "last_reply": reply, "source": "bounce_report",
                }),
            );
            self.store.update_recipient(original.id, &ours.address, &update, std::slice::from_ref(&event)).await?;
            if r.is_hard_bounce() {
                self.suppress(original.site_id, &ours.address, "hard_bounce", Some(reply)).await?;
            }
        }
        Ok(())
    }

    /// Adds `address` to the site's suppression list (or refreshes it) and logs it.
    pub async fn suppress(&self, site: SiteId, address: &EmailAddress, reason: &str, detail: Option<String>) -> EngineResult<Suppression> {
        let canonical = EmailAddress::parse(&address.canonical()).unwrap_or_else(|_| address.clone());
        let s = Suppression { site_id: site, address: canonical, reason: reason.to_string(), detail, created_at: now() };
        let event = NewEvent::new(site, None, SUPPRESSION_CREATED, serde_json::to_value(&s).unwrap_or_default());
        self.store.put_suppression(&s, Some(&event)).await?;
        Ok(s)
    }
}
