//! The one send path of the agent tools, after their policy checks: choose the provider, send,
//! record.
//!
//! Providers, as seed 002 orders them:
//!
//! 1. **`agent_email`** — a Mailroom mailbox (the site's `channels.agent_email` mailbox for
//!    `send_email`, the team member's mailbox for `send_one_to_one_email`), used unless the
//!    site set `channels.agent_email.status` to `inactive`;
//! 2. **`smtp`** — the site's own SMTP account (`channels.email.email`, credentials in the
//!    secure token `email` / that address), used when there is no usable mailbox or its send
//!    fails. It is a *route* of the delivery queue: the message is stored and queued like any
//!    other (the tool answers once it is durable), and the delivery worker submits it with
//!    AUTH over implicit TLS or STARTTLS — plain text only when the token says
//!    `smtpSecurity: "none"` — retrying and reporting like any other delivery.
//!
//! A policy refusal (suppressed, blocked, rate-limited, invalid, loop guard…) is never a
//! channel failure: it ends the send on every channel, and no fallback is tried. Every
//! recipient — to, cc and bcc — is checked by the engine's one policy step and by the tools'
//! per-recipient rate limit before anything is recorded.
//!
//! Every send is recorded as a [`SentEmail`] with the provider and its external message id
//! (the `Message-ID`), so duplicate checks see it and a later sync of that account can never
//! import it twice. Secrets never appear in a check, an error or a log line.

use crate::dedupe;
use crate::policy::{Blocked, Policy};
use chrono::{DateTime, Utc};
use mailroom_core::agent::SentEmail;
use mailroom_core::api::SendMessageRequest;
use mailroom_core::{ContactId, EmailAddress, Mailbox, MailboxId, MessageId, NamedAddress, SentEmailId, SiteId, ThreadId};
use mailroom_engine::{AccountError, Engine, EngineError};
use serde_json::{Value, json};

/// Appends `{name, passed, detail}` to a tool run's checks.
pub fn check(checks: &mut Vec<Value>, name: &str, passed: bool, detail: impl Into<String>) {
    checks.push(json!({"name": name, "passed": passed, "detail": detail.into()}));
}

/// Returns the non-empty, trimmed string at `pointer`.
pub fn str_at<'a>(v: &'a Value, pointer: &str) -> Option<&'a str> {
    v.pointer(pointer).and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty())
}

/// An email ready to go: addresses checked, bodies rendered (signature and preheader included).
#[derive(Debug, Clone)]
pub struct Email {
    /// The recipient.
    pub to: EmailAddress,
    /// Copies.
    pub cc: Vec<EmailAddress>,
    /// Blind copies.
    pub bcc: Vec<EmailAddress>,
    /// The subject.
    pub subject: String,
    /// The plain-text body.
    pub text: Option<String>,
    /// The HTML body.
    pub html: Option<String>,
    /// The display name to send under (`None`: the mailbox's own, or none over SMTP).
    pub from_name: Option<String>,
}

impl Email {
    /// Returns the email as the tools show it in dry runs and tool runs.
    pub fn to_json(&self, from: &NamedAddress) -> Value {
        json!({
            "from": from.to_string(),
            "to": self.to.as_str(),
            "cc": self.cc.iter().map(EmailAddress::as_str).collect::<Vec<_>>(),
            "bcc": self.bcc.iter().map(EmailAddress::as_str).collect::<Vec<_>>(),
            "subject": self.subject,
            "text": self.text,
            "html": self.html,
        })
    }
}

/// What the record of a send says about its origin (duplicate checks and audit).
#[derive(Debug, Clone)]
pub struct Origin {
    /// The tool that sent it.
    pub tool: String,
    /// The contact, if known.
    pub contact_id: Option<ContactId>,
    /// The template, for informational emails.
    pub template: Option<String>,
    /// The caller's conversation, agent and lead ids.
    pub context: Value,
    /// The subject and body the duplicate fingerprint is taken of (the content as written,
    /// before signature and preheader).
    pub fingerprint_subject: String,
    /// See `fingerprint_subject`.
    pub fingerprint_body: String,
    /// The tool config used, whose approval policy applies too (issue 17).
    pub tool_config: Option<mailroom_core::ToolConfigId>,
}

/// The email was sent (or, in a dry run, would be) this way.
#[derive(Debug, Clone)]
pub struct Delivered {
    /// `agent_email` or `smtp`.
    pub provider: &'static str,
    /// The `From` used.
    pub sender: NamedAddress,
    /// Whether the mailbox was tried first and failed.
    pub fallback: bool,
    /// The send record (`email_id`); `None` in a dry run.
    pub email_id: Option<SentEmailId>,
    /// The `Message-ID`; `None` in a dry run.
    pub external_message_id: Option<String>,
    /// The stored Mailroom message (mailbox sends).
    pub message_id: Option<MessageId>,
    /// Its thread (mailbox sends).
    pub thread_id: Option<ThreadId>,
    /// When it was sent.
    pub sent_at: Option<DateTime<Utc>>,
    /// The SMTP server used (`host:port`).
    pub smtp_server: Option<String>,
    /// The email as sent.
    pub email: Value,
}

/// Why nothing could be sent.
#[derive(Debug, Clone, PartialEq)]
pub enum ChannelError {
    /// No usable mailbox and no SMTP account configured.
    NotConfigured,
    /// `channels.email.email` is not an address.
    InvalidConfiguredEmail(String),
    /// The SMTP account's credentials are missing or incomplete.
    ConfigNotFound(String),
    /// The mailbox's send failed and there is no SMTP fallback.
    MailboxFailedNoFallback(String),
    /// The SMTP submission failed (after the mailbox failed, when `mailbox_failure` is set).
    SmtpFailed {
        /// The mailbox's failure, when there was one.
        mailbox_failure: Option<String>,
        /// The submission's failure.
        detail: String,
    },
    /// Something on our side (store, key) failed.
    Internal(String),
    /// The engine's policy step (or its validation) refused the send: never a channel
    /// failure, so no other channel was tried.
    Refused {
        /// The engine's code (`recipient_suppressed`, `recipient_blocked`, …).
        code: &'static str,
        /// Its sentence.
        message: String,
    },
    /// A concurrent send of the same (or a similar) email, or of one past the rate limit, was
    /// recorded first — on this node or another — so this one is not sent.
    Blocked(Blocked),
}

impl ChannelError {
    /// Returns a sentence for the caller.
    pub fn message(&self) -> String {
        match self {
            ChannelError::NotConfigured => "email is not configured for this site: activate `channels.agent_email` or set \
                                            `channels.email.email` in the settings"
                .into(),
            ChannelError::InvalidConfiguredEmail(m) | ChannelError::ConfigNotFound(m) | ChannelError::Internal(m) => m.clone(),
            ChannelError::MailboxFailedNoFallback(f) => {
                format!("sending through the agent_email channel failed ({f}) and no SMTP fallback is configured")
            }
            ChannelError::SmtpFailed { mailbox_failure: Some(f), detail } => {
                format!("the agent_email channel failed ({f}) and so did the SMTP fallback ({detail})")
            }
            ChannelError::SmtpFailed { mailbox_failure: None, detail } => detail.clone(),
            ChannelError::Blocked(b) => b.message(),
            ChannelError::Refused { message, .. } => message.clone(),
        }
    }

    /// The tools' skip code of a refusal: `suppressed`, `recipient_blocked`, … (the engine's
    /// code, with `recipient_suppressed` named as the tools name it).
    pub fn refusal_code(&self) -> Option<&'static str> {
        match self {
            ChannelError::Refused { code: "recipient_suppressed", .. } => Some("suppressed"),
            ChannelError::Refused { code, .. } => Some(code),
            _ => None,
        }
    }
}

fn refusal(e: EngineError) -> ChannelError {
    match e {
        EngineError::Invalid { code, message } | EngineError::Conflict { code, message } => ChannelError::Refused { code, message },
        EngineError::NotFound(message) => ChannelError::Refused { code: "not_found", message },
        other => ChannelError::Internal(other.to_string()),
    }
}

/// Whether the site switched its mailbox channel off (`channels.agent_email.status: inactive`).
pub fn agent_channel_inactive(settings: &Value) -> bool {
    str_at(settings, "/channels/agent_email/status") == Some("inactive")
}

/// Finds the mailbox of the `agent_email` channel in the site, when the channel is active.
pub async fn agent_channel_mailbox(engine: &Engine, site: SiteId, settings: &Value) -> Result<Option<Mailbox>, String> {
    let channel = settings.pointer("/channels/agent_email").cloned().unwrap_or(Value::Null);
    if str_at(&channel, "/status") != Some("active") {
        return Ok(None);
    }
    if let Some(id) = str_at(&channel, "/mailbox_id") {
        let id: MailboxId = id.parse().map_err(|_| format!("`mailbox_id` {id} is not a mailbox id"))?;
        return engine
            .store()
            .get_mailbox(id)
            .await
            .map_err(|e| e.to_string())?
            .filter(|m| m.site_id == site)
            .map(Some)
            .ok_or_else(|| "the channel's mailbox does not exist in this site".to_string());
    }
    let (Some(user), Some(domain)) = (str_at(&channel, "/username"), str_at(&channel, "/domain")) else {
        return Err("`username` and `domain` (or `mailbox_id`) are not configured".into());
    };
    let address = EmailAddress::parse(&format!("{user}@{domain}")).map_err(|e| format!("`{user}@{domain}` is not an address: {e}"))?;
    engine
        .store()
        .get_mailbox_by_address(&address.canonical())
        .await
        .map_err(|e| e.to_string())?
        .filter(|m| m.site_id == site)
        .map(Some)
        .ok_or_else(|| format!("the channel's mailbox {} does not exist in this site", address.as_str()))
}

/// Sends `email` from `mailbox` (when given), falling back to the site's SMTP account; with
/// `dry_run`, resolves the provider (credentials included) but sends and records nothing.
/// `mailbox_problem` is a reason the mailbox channel is unusable that was found earlier (it
/// makes the SMTP channel a fallback).
#[allow(clippy::too_many_arguments)]
pub async fn deliver(
    engine: &Engine,
    site: SiteId,
    settings: &Value,
    mailbox: Option<Mailbox>,
    mailbox_problem: Option<String>,
    email: &Email,
    origin: &Origin,
    policy: &Policy,
    dry_run: bool,
    checks: &mut Vec<Value>,
) -> Result<Delivered, ChannelError> {
    // Every recipient, copies included, through the engine's policy step (suppression and
    // allow/block lists, `+tag` removed) and the per-recipient rate limit.
    check_recipients(engine, site, mailbox.as_ref().map(|m| m.id), email, policy, checks).await?;
    if dry_run {
        return send(engine, site, settings, mailbox, mailbox_problem, email, origin, true, checks).await.map(|(d, _)| d);
    }
    // Recorded before it is sent, and checked against what was recorded before it: of two
    // concurrent sends of one email (on any nodes) exactly one goes out.
    let reservations = reserve(engine, site, email, origin, policy, checks).await?;
    let reservation = reservations[0];
    match send(engine, site, settings, mailbox, mailbox_problem, email, origin, false, checks).await {
        Ok((mut d, external)) => {
            let external = external.unwrap_or_default();
            for (i, id) in reservations.iter().enumerate() {
                // The copies' records share the message; their external ids stay unique.
                let ext = if i == 0 { external.clone() } else { format!("{external}#{i}") };
                match engine.store().complete_sent_email(*id, d.provider, &ext, d.message_id).await {
                    Ok(true) => {}
                    Ok(false) => check(checks, "record", false, "the send's record vanished before it was completed"),
                    Err(e) => {
                        tracing::error!(error = %e, "the sent email could not be completed");
                        check(checks, "record", false, format!("the send could not be recorded: {e}"));
                    }
                }
            }
            d.email_id = Some(reservation);
            Ok(d)
        }
        Err(e) => {
            for id in reservations {
                if let Err(err) = engine.store().delete_sent_email(id).await {
                    tracing::warn!(error = %err, "an abandoned send's reservation could not be removed");
                }
            }
            Err(e)
        }
    }
}

/// Checks every recipient of `email`: the engine's policy step (suppression, allow/block
/// lists) for all, the per-recipient rate limit for the copies (the main recipient's is
/// checked with the duplicate rule, and again at the reservation). The refusal names the
/// recipient and why.
async fn check_recipients(
    engine: &Engine,
    site: SiteId,
    mailbox: Option<MailboxId>,
    email: &Email,
    policy: &Policy,
    checks: &mut Vec<Value>,
) -> Result<(), ChannelError> {
    let all: Vec<EmailAddress> = std::iter::once(&email.to).chain(&email.cc).chain(&email.bcc).cloned().collect();
    let refused = engine.refused_recipients(site, mailbox, &all).await.map_err(|e| ChannelError::Internal(e.to_string()))?;
    if let Some(first) = refused.first() {
        let detail = refused.iter().map(|r| format!("{}: {}", r.address, r.reason)).collect::<Vec<_>>().join("; ");
        check(checks, "recipients_allowed", false, detail.clone());
        return Err(ChannelError::Refused { code: first.code, message: format!("not sent: {detail}") });
    }
    check(checks, "recipients_allowed", true, format!("{} recipient(s) checked against the suppression and allow/block lists", all.len()));
    if let Some(limit) = policy.per_recipient_per_day {
        let now = Utc::now();
        for copy in email.cc.iter().chain(&email.bcc) {
            let earlier = engine
                .store()
                .list_sent_emails(site, &copy.policy_key(), now - chrono::Duration::days(1), limit + 1)
                .await
                .map_err(|e| ChannelError::Internal(format!("the earlier emails could not be read: {e}")))?;
            let sent = policy.sent_today(&earlier, now);
            if sent >= limit as usize {
                let b = Blocked::RateLimited { sent, limit };
                let message = format!("{}: {}", copy.as_str(), b.message());
                check(checks, "rate_limit", false, message.clone());
                // A refusal naming the copy (the main recipient's is `Blocked`).
                return Err(ChannelError::Refused { code: b.code(), message: format!("not sent: {message}") });
            }
        }
    }
    Ok(())
}

/// Records `email` as sent (provider `pending`) and re-applies the rate limit and the duplicate
/// rule against the emails recorded before it (read in the same atomic step); a blocked
/// reservation is removed again.
async fn reserve(engine: &Engine, site: SiteId, email: &Email, origin: &Origin, policy: &Policy, checks: &mut Vec<Value>) -> Result<Vec<SentEmailId>, ChannelError> {
    let fp = dedupe::fingerprint(&origin.fingerprint_subject, &origin.fingerprint_body);
    let id = SentEmailId::new();
    let now = Utc::now();
    let sent = SentEmail {
        id,
        site_id: site,
        recipient: email.to.policy_key(),
        contact_id: origin.contact_id,
        tool: origin.tool.clone(),
        provider: "pending".into(),
        external_message_id: format!("pending:{id}"),
        message_id: None,
        subject: email.subject.clone(),
        content_hash: fp.content_hash,
        simhash: fp.simhash,
        template: origin.template.clone(),
        context: origin.context.clone(),
        created_at: now,
    };
    let internal = |e: mailroom_store::StoreError| ChannelError::Internal(format!("the send could not be recorded: {e}"));
    // Atomic per recipient: the earlier emails are read and this one recorded under one lock,
    // so of two concurrent reservations the later always sees the earlier.
    let earlier = engine.store().reserve_sent_email(&sent, policy.since(now), 1000).await.map_err(internal)?;
    let blocked = policy.blocks(&earlier, &origin.fingerprint_subject, &origin.fingerprint_body, now);
    if let Some(b) = blocked {
        let _ = engine.store().delete_sent_email(id).await;
        check(checks, "reservation", false, format!("{} (recorded concurrently, before this one)", b.message()));
        return Err(ChannelError::Blocked(b));
    }
    // Each copy is recorded too, so the per-recipient rate limit counts cc'd and bcc'd
    // addresses as well; a copy over the limit (recorded concurrently) stops the send.
    let mut ids = vec![id];
    for copy in email.cc.iter().chain(&email.bcc) {
        let cid = SentEmailId::new();
        let record = SentEmail { id: cid, recipient: copy.policy_key(), external_message_id: format!("pending:{cid}"), ..sent.clone() };
        let earlier = match engine.store().reserve_sent_email(&record, now - chrono::Duration::days(1), 1000).await {
            Ok(e) => e,
            Err(e) => {
                for id in &ids {
                    let _ = engine.store().delete_sent_email(*id).await;
                }
                return Err(internal(e));
            }
        };
        ids.push(cid);
        if let Some(limit) = policy.per_recipient_per_day {
            let sent_today = policy.sent_today(&earlier, now);
            if sent_today >= limit as usize {
                for id in &ids {
                    let _ = engine.store().delete_sent_email(*id).await;
                }
                let b = Blocked::RateLimited { sent: sent_today, limit };
                let message = format!("{}: {}", copy.as_str(), b.message());
                check(checks, "reservation", false, message.clone());
                return Err(ChannelError::Refused { code: b.code(), message: format!("not sent: {message}") });
            }
        }
    }
    Ok(ids)
}

/// Sends through the mailbox, else the SMTP account; returns how, and the `Message-ID`.
#[allow(clippy::too_many_arguments)]
async fn send(
    engine: &Engine,
    site: SiteId,
    settings: &Value,
    mailbox: Option<Mailbox>,
    mailbox_problem: Option<String>,
    email: &Email,
    origin: &Origin,
    dry_run: bool,
    checks: &mut Vec<Value>,
) -> Result<(Delivered, Option<String>), ChannelError> {
    let mut mailbox_failure = mailbox_problem;
    if let Some(mut mb) = mailbox {
        if let Some(name) = &email.from_name {
            mb.display_name = Some(name.clone());
        }
        let sender = mb.named_address();
        check(checks, "provider", true, format!("agent_email: mailbox {}", mb.address));
        if dry_run {
            return Ok((Delivered::dry("agent_email", sender.clone(), false, None, email.to_json(&sender)), None));
        }
        let req = SendMessageRequest {
            to: vec![email.to.as_str().to_string()],
            cc: email.cc.iter().map(|a| a.as_str().to_string()).collect(),
            bcc: email.bcc.iter().map(|a| a.as_str().to_string()).collect(),
            subject: email.subject.clone(),
            text: email.text.clone(),
            html: email.html.clone(),
            ..Default::default()
        };
        // Issue 17: an approval policy (site or mailbox) may hold the message: the tool then
        // answers `skipped` with code `pending_approval`.
        let ctx = mailroom_engine::SendContext {
            proposer: mailroom_core::drafts::Proposer {
                kind: "tool".into(),
                tool_config_id: origin.tool_config,
                label: Some(origin.tool.clone()),
                ..Default::default()
            },
            tool_config: origin.tool_config,
        };
        match engine.send_or_hold(&mb, &req, &ctx).await {
            Ok(mailroom_engine::SendOutcome::Held(h)) => {
                check(checks, "approval", false, format!("held for approval {} as message {}", h.approval_id.map(|a| a.to_string()).unwrap_or_default(), h.id));
                return Err(ChannelError::Blocked(crate::policy::Blocked::PendingApproval { message_id: h.id, approval_id: h.approval_id }));
            }
            Ok(mailroom_engine::SendOutcome::Sent(sent)) => {
                check(checks, "send", true, format!("queued from {} as message {}", mb.address, sent.id));
                let delivered = Delivered {
                    provider: "agent_email",
                    email: email.to_json(&sender),
                    sender,
                    fallback: false,
                    email_id: None,
                    external_message_id: Some(sent.message_id.clone()),
                    message_id: Some(sent.id),
                    thread_id: Some(sent.thread_id),
                    sent_at: Some(Utc::now()),
                    smtp_server: None,
                };
                return Ok((delivered, Some(sent.message_id)));
            }
            Err(e) if mailroom_engine::policy::is_refusal(&e) => {
                check(checks, "send", false, format!("refused by policy: {e} (not a channel failure: no fallback)"));
                return Err(refusal(e));
            }
            Err(e) => {
                check(checks, "send", false, format!("the mailbox {} could not send: {e}; trying the SMTP channel", mb.address));
                mailbox_failure = Some(e.to_string());
            }
        }
    }

    let account = match smtp_account(engine, site, settings, checks).await {
        Ok(Some(a)) => a,
        Ok(None) => {
            return Err(match mailbox_failure {
                Some(f) => ChannelError::MailboxFailedNoFallback(f),
                None => ChannelError::NotConfigured,
            });
        }
        Err(e) => return Err(e),
    };
    let sender = NamedAddress { name: email.from_name.clone(), address: account.address.clone() };
    let server = format!("{}:{}", account.host, account.port);
    let fallback = mailbox_failure.is_some();
    if dry_run {
        return Ok((Delivered::dry("smtp", sender.clone(), fallback, Some(server), email.to_json(&sender)), None));
    }
    let req = SendMessageRequest {
        to: vec![email.to.as_str().to_string()],
        cc: email.cc.iter().map(|a| a.as_str().to_string()).collect(),
        bcc: email.bcc.iter().map(|a| a.as_str().to_string()).collect(),
        subject: email.subject.clone(),
        text: email.text.clone(),
        html: email.html.clone(),
        ..Default::default()
    };
    // Queued for the account's route: durable when this returns; the delivery worker submits
    // it, retries it and reports it (message.delivered / bounced / failed).
    let queued = match engine.send_through_account(site, &account, email.from_name.as_deref(), &req).await {
        Ok(q) => q,
        Err(e) if mailroom_engine::policy::is_refusal(&e) => {
            check(checks, "send", false, format!("refused by policy: {e}"));
            return Err(refusal(e));
        }
        Err(e) => {
            let detail = format!("the email could not be queued for the SMTP account {server}: {e}");
            check(checks, "send", false, detail.clone());
            return Err(ChannelError::SmtpFailed { mailbox_failure, detail });
        }
    };
    check(checks, "send", true, format!("queued as message {} for the SMTP account {server} ({})", queued.id, account.security.as_str()));
    let delivered = Delivered {
        provider: "smtp",
        email: email.to_json(&sender),
        sender,
        fallback,
        email_id: None,
        external_message_id: Some(queued.message_id.clone()),
        message_id: Some(queued.id),
        thread_id: None,
        sent_at: Some(Utc::now()),
        smtp_server: Some(server),
    };
    Ok((delivered, Some(queued.message_id)))
}

impl Delivered {
    fn dry(provider: &'static str, sender: NamedAddress, fallback: bool, smtp_server: Option<String>, email: Value) -> Delivered {
        Delivered {
            provider,
            sender,
            fallback,
            email_id: None,
            external_message_id: None,
            message_id: None,
            thread_id: None,
            sent_at: None,
            smtp_server,
            email,
        }
    }

    /// Returns what the tool runs record about the provider.
    pub fn decision(&self) -> Value {
        json!({"provider": self.provider, "fallback": self.fallback, "smtp_server": self.smtp_server, "sender": self.sender.address.as_str()})
    }
}

/// Loads and opens the site's SMTP account; `Ok(None)` when none is configured (or disabled).
async fn smtp_account(engine: &Engine, site: SiteId, settings: &Value, checks: &mut Vec<Value>) -> Result<Option<mailroom_engine::SmtpAccount>, ChannelError> {
    match engine.smtp_account(site, settings).await {
        Ok(None) => {
            check(checks, "smtp", false, "`channels.email.email` is not configured (or the channel is disabled)");
            Ok(None)
        }
        Ok(Some(a)) => {
            check(checks, "smtp_token", true, format!("SMTP account {} at {}:{} ({})", a.user, a.host, a.port, a.security.as_str()));
            Ok(Some(a))
        }
        Err(AccountError::InvalidConfiguredEmail(m)) => {
            check(checks, "smtp", false, "the configured address is invalid");
            Err(ChannelError::InvalidConfiguredEmail(m))
        }
        Err(AccountError::ConfigNotFound(m)) => {
            check(checks, "smtp_token", false, m.clone());
            Err(ChannelError::ConfigNotFound(m))
        }
        Err(AccountError::Internal(m)) => Err(ChannelError::Internal(m)),
    }
}

/// Returns `html` with `preview` as a hidden preheader: the line inbox lists show after the
/// subject, invisible in the opened email. It goes right after `<body …>` when there is one.
pub fn with_preheader(html: &str, preview: &str) -> String {
    let preview = preview.trim();
    if preview.is_empty() {
        return html.to_string();
    }
    let hidden = format!(
        "<div style=\"display:none;font-size:1px;color:transparent;line-height:1px;max-height:0;max-width:0;opacity:0;overflow:hidden;mso-hide:all\">{}</div>",
        escape_html(preview)
    );
    let lower = html.to_ascii_lowercase();
    if let Some(start) = lower.find("<body")
        && let Some(end) = lower[start..].find('>')
    {
        let at = start + end + 1;
        return format!("{}\n{hidden}{}", &html[..at], &html[at..]);
    }
    format!("{hidden}\n{html}")
}

/// Escapes text for HTML.
pub fn escape_html(s: &str) -> String {
    crate::html::escape(s)
}

/// Whether the message looks like HTML (holds a common tag such as `<p>`, `</div>` or
/// `<br/>`): the same test template rendering and duplicate detection use.
pub fn looks_like_html(message: &str) -> bool {
    crate::html::looks_like_html(message)
}

/// The bodies of an email: an HTML message as given (plus the signature), plain text as text
/// and, when a signature or a preheader is added, also as HTML.
pub fn render_bodies(message: &str, signature_html: Option<&str>, preheader: Option<&str>) -> (Option<String>, Option<String>) {
    let sig = signature_html.map(str::trim).filter(|s| !s.is_empty());
    let pre = preheader.map(str::trim).filter(|s| !s.is_empty());
    let finish = |html: String| match pre {
        Some(p) => with_preheader(&html, p),
        None => html,
    };
    if looks_like_html(message) {
        let html = match sig {
            Some(s) => format!("{message}\n<br><div class=\"signature\">{s}</div>"),
            None => message.to_string(),
        };
        return (None, Some(finish(html)));
    }
    if sig.is_none() && pre.is_none() {
        return (Some(message.to_string()), None);
    }
    let body = escape_html(message).replace("\r\n", "\n").replace('\n', "<br>\n");
    let html = match sig {
        Some(s) => format!("<div>{body}</div>\n<br><div class=\"signature\">{s}</div>"),
        None => format!("<div>{body}</div>"),
    };
    (Some(message.to_string()), Some(finish(html)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_detection_signature_and_preheader() {
        assert!(looks_like_html("<p>Hi</p>"));
        assert!(looks_like_html("Hi<br/>there"));
        assert!(!looks_like_html("1 < 2 and 3 > 2"));
        assert!(!looks_like_html("plain"));
        assert_eq!(render_bodies("plain", None, None), (Some("plain".into()), None));
        let (text, html) = render_bodies("a < b\nc", Some("<b>Sig</b>"), None);
        assert_eq!(text.as_deref(), Some("a < b\nc"));
        let html = html.unwrap();
        assert!(html.contains("a &lt; b<br>") && html.ends_with("<div class=\"signature\"><b>Sig</b></div>"), "{html}");
        let (text, html) = render_bodies("<p>Hi</p>", Some("  "), None);
        assert_eq!((text, html.as_deref()), (None, Some("<p>Hi</p>")));

        let (_, html) = render_bodies("Hello", None, Some("Quick <update>"));
        let html = html.unwrap();
        assert!(html.starts_with("<div style=\"display:none"), "{html}");
        assert!(html.contains("Quick &lt;update&gt;</div>") && html.ends_with("<div>Hello</div>"), "{html}");
        let doc = with_preheader("<html><BODY class=x><p>Hi</p></body></html>", "Pre");
        assert!(doc.starts_with("<html><BODY class=x>\n<div style=\"display:none") && doc.contains("Pre</div><p>Hi</p>"), "{doc}");
        assert_eq!(with_preheader("<p>x</p>", "  "), "<p>x</p>");
    }

}
