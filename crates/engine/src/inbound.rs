//! Mail arriving over SMTP: which recipients to accept (no open relay), storing a copy per
//! mailbox before the `250`, and reading bounce reports about mail this server sent.

use crate::{Engine, EngineError, EngineResult};

/// The error code of a received message refused for crossing a structural limit.
pub const MESSAGE_LIMIT_EXCEEDED: &str = "message_limit_exceeded";
use bytes::Bytes;
use mailroom_core::event_types::{MESSAGE_BOUNCED, SUPPRESSION_CREATED};
use mailroom_core::*;
use mailroom_core::controls::{Controls, Limits};
use mailroom_store::{NewEvent, RecipientUpdate, StoreError};

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

/// A judged delivery-status report.
struct Judged {
    /// `applied` or `ignored: <reason>`.
    decision: String,
    /// The message it is about, when the report passed the envelope checks.
    original: Option<Message>,
    /// The failed recipients to mark bounced: the report's block and our recipient.
    apply: Vec<(mailroom_core::dsn::DsnRecipient, Recipient)>,
    /// The recipient blocks left alone, and why.
    skipped: Vec<(String, String)>,
}

/// The answer to one `RCPT TO`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InboundRecipient {
    /// A mailbox here: accept.
    Accept,
    /// A hosted domain without such a mailbox: `550 5.1.1`.
    UnknownMailbox,
    /// Not a domain this server hosts: relaying denied, `550 5.7.1`.
    NotHosted,
    /// The mailbox's (or site's) receive lists refuse this sender: `550 5.7.1`.
    SenderRefused,
    /// A control refuses the recipient for now or for good: this SMTP reply (`452 4.2.2`
    /// mailbox full, `451 4.7.1` receive rate exceeded).
    Reply(String),
}

/// What an accepted `RCPT TO` found: the mailbox and the controls in force for it (its own,
/// then its site's). The SMTP server hands it back at DATA ([`Engine::accept_inbound_with`]),
/// so the same transaction does not look them up again: the recipient checks made at `RCPT`
/// hold for the transaction, as in any MTA. The message's quota is still checked at DATA,
/// against these controls and the mailbox's usage then.
#[derive(Debug, Clone)]
pub struct ResolvedRecipient {
    /// The mailbox the address (without its `+tag`) names.
    pub mailbox: Mailbox,
    /// The controls of [`Engine::mailbox_scopes`], with the limits in force.
    pub(crate) controls: Vec<(Controls, Limits)>,
}

impl Engine {
    /// Decides one `RCPT TO`: only existing mailboxes on hosted domains are accepted
    /// (plus-addressing resolves to the base mailbox).
    pub async fn check_inbound_recipient(&self, rcpt: &str) -> EngineResult<InboundRecipient> {
        self.check_inbound(rcpt, "").await
    }

    /// Decides one `RCPT TO` from `mail_from` (the envelope sender; empty for bounces): as
    /// [`Engine::check_inbound_recipient`], then the receive lists of the mailbox and its
    /// site: a blocked sender is refused, and when any allow entry applies, only allowed
    /// senders are accepted. Bounces (`<>`) pass the lists: they answer our own mail.
    pub async fn check_inbound(&self, rcpt: &str, mail_from: &str) -> EngineResult<InboundRecipient> {
        self.check_inbound_from(rcpt, mail_from, None).await
    }

    /// Like [`Engine::check_inbound`], also applying the receive controls (expiry, quotas,
    /// receive rates) for a client at `client` (`Some((address, first recipient of the
    /// transaction))`).
    pub async fn check_inbound_from(&self, rcpt: &str, mail_from: &str, client: Option<(std::net::IpAddr, bool)>) -> EngineResult<InboundRecipient> {
        Ok(self.resolve_inbound(rcpt, mail_from, client).await?.0)
    }

    /// Like [`Engine::check_inbound_from`], also returning, for an accepted recipient, what
    /// the check found, for [`Engine::accept_inbound_with`].
    pub async fn resolve_inbound(
        &self,
        rcpt: &str,
        mail_from: &str,
        client: Option<(std::net::IpAddr, bool)>,
    ) -> EngineResult<(InboundRecipient, Option<ResolvedRecipient>)> {
        let Ok(address) = EmailAddress::parse(rcpt) else { return Ok((InboundRecipient::UnknownMailbox, None)) };
        if !self.is_hosted(address.domain()).await? {
            return Ok((InboundRecipient::NotHosted, None));
        }
        let (base, _) = address.without_tag();
        // The mailbox with its and its site's controls (for the expiry and the receive
        // controls) and its receive lists, in one read.
        let Some(found) = self.store.inbound_lookup(&base.canonical()).await? else {
            return Ok((InboundRecipient::UnknownMailbox, None));
        };
        let mailbox = found.mailbox;
        let controls = self.each_in_force(&Self::mailbox_scopes(&mailbox), found.controls);
        let sender = mail_from.trim().trim_start_matches('<').trim_end_matches('>');
        if controls.first().is_some_and(|(c, _)| c.expires_at.is_some_and(|t| t <= now())) {
            return Ok((InboundRecipient::UnknownMailbox, None));
        }
        if let Some((ip, first)) = client
            && let Some(reply) = self.receive_controls_reply(&mailbox, ip, first, &controls).await?
        {
            return Ok((InboundRecipient::Reply(reply), None));
        }
        // Bounces (`<>`) pass the lists: they answer our own mail.
        if !sender.is_empty() && !Self::lists_allow(&found.receive_lists, sender) {
            return Ok((InboundRecipient::SenderRefused, None));
        }
        Ok((InboundRecipient::Accept, Some(ResolvedRecipient { mailbox, controls })))
    }

    /// Tells whether the receive lists of `mailbox` (site-wide and its own) let `sender`
    /// through.
    pub async fn sender_allowed(&self, mailbox: &Mailbox, sender: &str) -> EngineResult<bool> {
        let lists = self.store.applicable_list_entries(mailbox.site_id, ListDirection::Receive, Some(mailbox.id)).await?;
        Ok(Self::lists_allow(&lists, sender))
    }

    /// Whether receive lists `lists` (a mailbox's and its site's) let `sender` through.
    fn lists_allow(lists: &[ListEntry], sender: &str) -> bool {
        if lists.is_empty() {
            return true;
        }
        let key = match EmailAddress::parse(sender) {
            Ok(a) => a.policy_key(),
            Err(_) => sender.to_ascii_lowercase(),
        };
        if lists.iter().any(|e| e.kind == ListKind::Block && e.matches(&key)) {
            return false;
        }
        let allows: Vec<&ListEntry> = lists.iter().filter(|e| e.kind == ListKind::Allow).collect();
        allows.is_empty() || allows.iter().any(|e| e.matches(&key))
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
        self.accept_inbound_with(session, rcpts, &[], raw).await
    }

    /// Like [`Engine::accept_inbound`], with what the `RCPT TO` checks of the transaction
    /// found: `resolved[i]`, when present, is recipient `i`'s mailbox and controls, which are
    /// then not read again.
    pub async fn accept_inbound_with(
        &self,
        session: &InboundSession,
        rcpts: &[String],
        resolved: &[Option<ResolvedRecipient>],
        raw: Bytes,
    ) -> EngineResult<Vec<Message>> {
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
        // Each recipient's mailbox (looked up once, or found at RCPT) with its `+tag`.
        let mut recipients: Vec<(Mailbox, Option<String>)> = Vec::new();
        let mut targets: Vec<(Mailbox, Option<&ResolvedRecipient>)> = Vec::new();
        for (i, rcpt) in rcpts.iter().enumerate() {
            let Ok(address) = EmailAddress::parse(rcpt) else { continue };
            let (base, tag) = address.without_tag();
            let known = resolved.get(i).and_then(Option::as_ref);
            let mailbox = match known {
                Some(r) => Some(r.mailbox.clone()),
                None => self.store.get_mailbox_by_address(&base.canonical()).await?,
            };
            if let Some(m) = mailbox {
                if !targets.iter().any(|(t, _)| t.id == m.id) {
                    targets.push((m.clone(), known));
                }
                recipients.push((m, tag));
            }
        }
        // Controls: quotas of every recipient mailbox, before anything is stored.
        for (mailbox, known) in &targets {
            let controls = match known {
                Some(r) => r.controls.clone(),
                None => self.controls_of_each(&Self::mailbox_scopes(mailbox)).await?,
            };
            if let Some(reply) = self.quota_reply(mailbox, &controls, raw.len() as u64, "smtp").await? {
                return Err(EngineError::invalid(crate::controls::SMTP_REPLY, reply));
            }
        }
        let report = mailroom_core::dsn::parse(&raw);
        let mut stored: Vec<Message> = Vec::new();
        for (mailbox, tag) in recipients {
            if stored.iter().any(|m| m.mailbox_id == mailbox.id) {
                continue;
            }
            // A delivery-status report: decide before storing, so the decision is on the copy.
            let judged = match &report {
                Some(r) => Some(self.judge_bounce_report(session, &mailbox, tag.as_deref(), r).await?),
                None => None,
            };
            let mut auth = auth.clone();
            if let Some(j) = &judged {
                let mut a = auth.take().unwrap_or_else(|| serde_json::json!({}));
                if let Some(obj) = a.as_object_mut() {
                    obj.insert("dsn".into(), serde_json::Value::String(j.decision.clone()));
                }
                auth = Some(a);
                tracing::info!(mailbox = %mailbox.address, decision = j.decision.as_str(), "delivery-status report judged");
            }
            let message = match self.store_inbound_copy(&mailbox, raw.clone(), tag, auth).await {
                Ok(m) => m,
                // The mailbox was deleted after RCPT accepted it (what RCPT found is used at
                // DATA): its copy is skipped, as for a mailbox gone before DATA began.
                Err(EngineError::Store(StoreError::NotFound(_))) if self.store.get_mailbox(mailbox.id).await?.is_none() => continue,
                Err(e) => return Err(e),
            };
            if let Some(j) = judged
                && let Err(e) = self.apply_bounce_report(&message, j).await
            {
                tracing::warn!(error = %e, "could not apply a bounce report");
            }
            stored.push(message);
        }
        Ok(stored)
    }

    /// Decides whether a delivery-status report may change anything: only when its envelope
    /// sender is the null sender `<>`, it came to a bounce address of this server
    /// (`local+b-<token>@domain`, the VERP envelope sender of our outbound mail, whose keyed
    /// token names the message), that message was sent by this very mailbox, and the failed
    /// recipient it names was a recipient of that message not already `delivered`.
    async fn judge_bounce_report(&self, session: &InboundSession, mailbox: &Mailbox, tag: Option<&str>, report: &mailroom_core::dsn::Dsn) -> EngineResult<Judged> {
        let ignored = |why: &str| Judged { decision: format!("ignored: {why}"), original: None, apply: Vec::new(), skipped: Vec::new() };
        if !session.mail_from.trim().trim_start_matches('<').trim_end_matches('>').is_empty() {
            return Ok(ignored("the envelope sender is not the null sender <>"));
        }
        let Some(id) = tag.and_then(|t| t.strip_prefix("b-").or_else(|| t.strip_prefix("B-"))).and_then(|t| self.parse_bounce_token(t)) else {
            return Ok(ignored("not sent to a bounce address of this server (no valid token in the address)"));
        };
        let Some(original) = self.store.get_message(id).await?.filter(|m| m.direction == Direction::Outbound && m.mailbox_id == mailbox.id) else {
            return Ok(ignored("the token names no message this mailbox sent"));
        };
        let mut apply = Vec::new();
        let mut skipped = Vec::new();
        for r in &report.recipients {
            if !r.action.eq_ignore_ascii_case("failed") {
                skipped.push((r.address.policy_key(), format!("action {} is not a failure", r.action)));
                continue;
            }
            let Some(ours) = original.recipients.iter().find(|x| x.address.policy_key() == r.address.policy_key()) else {
                skipped.push((r.address.policy_key(), "not a recipient of the message".into()));
                continue;
            };
            if ours.status == DeliveryStatus::Delivered {
                skipped.push((r.address.policy_key(), "the recipient is already delivered".into()));
                continue;
            }
            apply.push((r.clone(), ours.clone()));
        }
        let decision = if !apply.is_empty() {
            "applied".to_string()
        } else {
            format!("ignored: {}", skipped.first().map(|(_, why)| why.as_str()).unwrap_or("the report names no recipient"))
        };
        Ok(Judged { decision, original: Some(original), apply, skipped })
    }

    /// Marks the recipients a judged report applies to as bounced, suppresses hard-bounced
    /// addresses, and records what was done with every recipient block (once per report).
    async fn apply_bounce_report(&self, report: &Message, judged: Judged) -> EngineResult<()> {
        let Some(original) = judged.original else { return Ok(()) };
        for (key, why) in &judged.skipped {
            let record = DsnRecord {
                site_id: original.site_id,
                report_message_id: report.id,
                original_message_id: original.id,
                recipient: key.clone(),
                decision: format!("ignored: {why}"),
                created_at: now(),
            };
            self.store.record_dsn(&record).await?;
        }
        for (r, ours) in judged.apply {
            let record = DsnRecord {
                site_id: original.site_id,
                report_message_id: report.id,
                original_message_id: original.id,
                recipient: ours.address.policy_key(),
                decision: "applied".into(),
                created_at: now(),
            };
            if !self.store.record_dsn(&record).await? {
                continue;
            }
            let reply = r.diagnostic.clone().unwrap_or_else(|| format!("bounce report: status {}", r.status));
            let update = RecipientUpdate { status: DeliveryStatus::Bounced, last_reply: Some(reply.clone()), attempts: ours.attempts, next_attempt_at: None };
            let event = NewEvent::new(
                original.site_id,
                Some(original.mailbox_id),
                MESSAGE_BOUNCED,
                serde_json::json!({
                    "message_id": original.id, "mailbox_id": original.mailbox_id, "thread_id": original.thread_id,
                    "recipient": ours.address, "status": DeliveryStatus::Bounced, "last_reply": reply, "source": "bounce_report",
                    "report_message_id": report.id,
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
