//! The `send_email` tool (seed 002): send an email from the site's configured channel.
//!
//! Channel choice: the `agent_email` channel (a Mailroom mailbox, `channels.agent_email`,
//! found by `mailbox_id` or by `username@domain` in the site) when its `status` is
//! `active`; otherwise, or when that send fails, the site's own SMTP account
//! (`channels.email.email`, credentials in the secure token `email` / that address), queued
//! as a route of the delivery worker (durable, retried, reported as `message.delivered` /
//! `message.bounced` / `message.failed`) — the shared send path in [`crate::channel`], after
//! the engine's one policy step and the shared checks in [`crate::policy`] (suppression and
//! allow/block lists, rate limit, duplicates: each a `skipped` answer with its `code`). Every send is recorded as a `SentEmail`; a dry run returns the
//! decision and the rendered email without sending or recording anything.
//!
//! Errors carry the seed's codes and HTTP statuses ([`ToolError`]). Secrets (the SMTP
//! password) never appear in an output, an error message or a check.

use crate::catalog::SendEmailInput;
use crate::channel::{self, ChannelError, Email, Origin, check};
use crate::policy::{self, Policy};
use mailroom_core::{EmailAddress, MailboxId, MessageId, SiteId};
use mailroom_engine::Engine;
use serde::Serialize;
use serde_json::{Value, json};

/// The recipient the seed treats as "no address known": answered 200 `skipped`, nothing sent.
pub const NO_EMAIL_PLACEHOLDER: &str = "no-email@example.com";


/// A failed invocation: HTTP status, the seed's error code and a sentence for humans.
#[derive(Debug, Clone)]
pub struct ToolError {
    /// The HTTP status (400, 404, 500).
    pub status: u16,
    /// `INVALID_REQUEST`, `SITE_CONFIG_NOT_FOUND`, `EMAIL_NOT_CONFIGURED`,
    /// `INVALID_CONFIGURED_EMAIL`, `EMAIL_CONFIG_NOT_FOUND`, `AGENTMAIL_SEND_FAILED` or
    /// `INTERNAL_SERVER_ERROR`.
    pub code: &'static str,
    /// What went wrong.
    pub message: String,
    /// The checks made before failing (for the tool run).
    pub checks: Vec<Value>,
}

impl ToolError {
    fn new(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        Self { status, code, message: message.into(), checks: Vec::new() }
    }

    /// Returns the seed's error body `{"success": false, "error": {"code", "message"}}`.
    pub fn body(&self) -> Value {
        json!({"success": false, "error": {"code": self.code, "message": self.message}})
    }
}

/// What a successful (or skipped, or dry) invocation answers.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SendEmailOutput {
    /// Always `true` here.
    pub success: bool,
    /// `sent`, `skipped` or `dry_run`.
    pub status: String,
    /// The send record's id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email_id: Option<String>,
    /// The `Message-ID` of the email sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_message_id: Option<String>,
    /// The recipient.
    pub recipient: String,
    /// The sender address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sender: Option<String>,
    /// The subject.
    pub subject: String,
    /// The first 200 characters of the message.
    pub message_preview: String,
    /// When it was sent (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sent_at: Option<String>,
    /// The Mailroom thread (agent_email channel only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thread_id: Option<String>,
    /// `agent_email` or `smtp`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// Why nothing was sent (`skipped`): `placeholder_recipient`, `suppressed`,
    /// `rate_limited` or `duplicate_email`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// Why nothing was sent, as a sentence (`skipped`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The earlier email this one duplicates (`duplicate_email`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duplicate_of: Option<String>,
    /// Dry runs: the email that would be sent.
    #[schema(value_type = Option<Object>)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<Value>,
    /// Each check made, in order (for the tool run; not part of the answer).
    #[schema(value_type = Vec<Object>)]
    #[serde(skip)]
    pub checks: Vec<Value>,
    /// The decision taken and why (for the tool run).
    #[schema(value_type = Object)]
    #[serde(skip)]
    pub decision: Value,
    /// The stored Mailroom message, when sent through a mailbox.
    #[serde(skip)]
    pub message_id: Option<MessageId>,
}

fn invalid(message: impl Into<String>) -> ToolError {
    ToolError::new(400, "INVALID_REQUEST", message)
}

/// Checks the required fields and the recipient's format.
pub fn validate(input: &SendEmailInput) -> Result<EmailAddress, ToolError> {
    for (name, value) in [("email", &input.email), ("subject", &input.subject), ("message", &input.message), ("site_id", &input.site_id)] {
        if value.trim().is_empty() {
            return Err(invalid(format!("`{name}` is required")));
        }
    }
    let recipient = EmailAddress::parse(input.email.trim())
        .map_err(|e| invalid(format!("`email` is not a valid email address: {e}")))?;
    if input.subject.chars().any(char::is_control) {
        return Err(invalid("`subject` must not contain line breaks or control characters"));
    }
    if input.from.as_deref().is_some_and(|f| f.chars().any(char::is_control) || f.len() > 200) {
        return Err(invalid("`from` must be a display name of at most 200 characters without control characters"));
    }
    Ok(recipient)
}

/// The first 200 characters of the message.
pub fn preview(message: &str) -> String {
    message.chars().take(200).collect()
}

/// The signature: the settings' `signature_html` (top level, else of the channel), else the
/// one of the team member sending from `mailbox`. Never fails: anything unusable is `None`.
async fn signature(engine: &Engine, site: SiteId, settings: &Value, mailbox: Option<MailboxId>, checks: &mut Vec<Value>) -> Option<String> {
    let from_settings = settings
        .get("signature_html")
        .or_else(|| settings.pointer("/channels/agent_email/signature_html"))
        .or_else(|| settings.pointer("/channels/email/signature_html"))
        .and_then(Value::as_str)
        .filter(|s| !s.trim().is_empty())
        .map(str::to_string);
    if from_settings.is_some() {
        check(checks, "signature", true, "the site's signature is appended");
        return from_settings;
    }
    if let Some(mb) = mailbox {
        match engine.store().list_team_members(Some(site)).await {
            Ok(members) => {
                if let Some(sig) = members.into_iter().filter(|m| m.mailbox_id == mb).find_map(|m| m.signature_html.filter(|s| !s.trim().is_empty())) {
                    check(checks, "signature", true, "the sending team member's signature is appended");
                    return Some(sig);
                }
            }
            Err(e) => {
                check(checks, "signature", false, format!("the signature could not be loaded ({e}); sent without one"));
                return None;
            }
        }
    }
    check(checks, "signature", true, "no signature configured");
    None
}

fn context(input: &SendEmailInput) -> Value {
    json!({"agent_id": input.agent_id, "conversation_id": input.conversation_id, "lead_id": input.lead_id})
}

/// Sends `input` for `site`. Returns the HTTP status (201 sent, 200 skipped or dry run) and
/// the output, or a [`ToolError`].
pub async fn send_email(engine: &Engine, site: SiteId, input: SendEmailInput, dry_run: bool) -> Result<(u16, SendEmailOutput), ToolError> {
    let mut checks = Vec::new();
    let with_checks = |mut e: ToolError, checks: &Vec<Value>| {
        e.checks = checks.clone();
        e
    };
    let recipient = validate(&input)?;
    check(&mut checks, "input", true, "required fields present and the recipient is an email address");
    let mut out = SendEmailOutput {
        success: true,
        status: "sent".into(),
        email_id: None,
        external_message_id: None,
        recipient: recipient.as_str().to_string(),
        sender: None,
        subject: input.subject.clone(),
        message_preview: preview(&input.message),
        sent_at: None,
        thread_id: None,
        provider: None,
        code: None,
        reason: None,
        duplicate_of: None,
        email: None,
        checks: Vec::new(),
        decision: Value::Null,
        message_id: None,
    };
    let skip = |mut out: SendEmailOutput, checks: Vec<Value>, code: &str, reason: String| {
        out.status = "skipped".into();
        out.code = Some(code.to_string());
        out.decision = json!({"action": "skip", "code": code, "reason": reason});
        out.reason = Some(reason);
        out.checks = checks;
        Ok((200, out))
    };
    if recipient.canonical() == NO_EMAIL_PLACEHOLDER {
        check(&mut checks, "recipient", false, "the placeholder address no-email@example.com: nothing is sent");
        return skip(out, checks, "placeholder_recipient", "the recipient is the placeholder address no-email@example.com".into());
    }
    let internal = |m: String| ToolError::new(500, "INTERNAL_SERVER_ERROR", m);

    let settings = engine
        .store()
        .get_site_settings(site)
        .await
        .map_err(|e| internal(format!("the site settings could not be read: {e}")))?
        .ok_or_else(|| with_checks(ToolError::new(404, "SITE_CONFIG_NOT_FOUND", "this site has no settings; store them with PUT /v1/settings"), &checks))?;
    check(&mut checks, "site_settings", true, "found");

    // The shared checks: suppression list, rate limit, duplicates.
    let policy = Policy::from_settings(&settings);
    let blocked = match policy::suppression(engine, site, &recipient.policy_key(), &mut checks).await.map_err(internal)? {
        Some(b) => Some(b),
        None => policy::rate_and_duplicates(engine, site, &policy, &recipient.policy_key(), &input.subject, &input.message, &mut checks)
            .await
            .map_err(internal)?,
    };
    if let Some(b) = blocked {
        out.duplicate_of = b.duplicate_of();
        return skip(out, checks, b.code(), b.message());
    }

    // The provider: the agent_email mailbox when active, else (or when it fails) SMTP.
    let (mailbox, problem) = match channel::agent_channel_mailbox(engine, site, &settings).await {
        Ok(Some(mb)) => (Some(mb), None),
        Ok(None) => {
            check(&mut checks, "agent_email", false, "not configured or not active");
            (None, None)
        }
        Err(e) => {
            check(&mut checks, "agent_email", false, format!("active but unusable: {e}; falling back to SMTP"));
            (None, Some(e))
        }
    };
    let sig = signature(engine, site, &settings, mailbox.as_ref().map(|m| m.id), &mut checks).await;
    let (text, html) = channel::render_bodies(&input.message, sig.as_deref(), None);
    let email = Email {
        to: recipient.clone(),
        cc: Vec::new(),
        bcc: Vec::new(),
        subject: input.subject.clone(),
        text,
        html,
        from_name: input.from.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_string),
    };
    let origin = Origin {
        tool: "send_email".into(),
        contact_id: None,
        template: None,
        context: context(&input),
        fingerprint_subject: input.subject.clone(),
        fingerprint_body: input.message.clone(),
        tool_config: None,
    };
    let result = channel::deliver(engine, site, &settings, mailbox, problem, &email, &origin, &policy, dry_run, &mut checks).await;
    if let Err(ChannelError::Blocked(b)) = &result {
        out.duplicate_of = b.duplicate_of();
        return skip(out, checks, b.code(), b.message());
    }
    // A policy refusal is never a channel failure: skipped, whichever channel was tried.
    if let Err(e @ ChannelError::Refused { .. }) = &result {
        return skip(out, checks, e.refusal_code().unwrap_or("refused"), e.message());
    }
    let delivered = result.map_err(|e| {
        let err = match &e {
            ChannelError::Blocked(_) | ChannelError::Refused { .. } => unreachable!("answered above"),
            ChannelError::NotConfigured => ToolError::new(400, "EMAIL_NOT_CONFIGURED", e.message()),
            ChannelError::InvalidConfiguredEmail(_) => ToolError::new(400, "INVALID_CONFIGURED_EMAIL", e.message()),
            ChannelError::ConfigNotFound(_) => ToolError::new(404, "EMAIL_CONFIG_NOT_FOUND", e.message()),
            // Seed 002: AGENTMAIL_SEND_FAILED only when there is no SMTP fallback; a fallback
            // that fails too is the table's INTERNAL_SERVER_ERROR.
            ChannelError::MailboxFailedNoFallback(_) => ToolError::new(500, "AGENTMAIL_SEND_FAILED", e.message()),
            ChannelError::SmtpFailed { .. } | ChannelError::Internal(_) => ToolError::new(500, "INTERNAL_SERVER_ERROR", e.message()),
        };
        with_checks(err, &checks)
    })?;
    out.sender = Some(delivered.sender.address.as_str().to_string());
    out.provider = Some(delivered.provider.to_string());
    let mut decision = delivered.decision();
    decision["action"] = json!("send");
    if dry_run {
        out.status = "dry_run".into();
        out.email = Some(delivered.email);
        decision["dry_run"] = json!(true);
        out.decision = decision;
        out.checks = checks;
        return Ok((200, out));
    }
    out.email_id = delivered.email_id.map(|id| id.to_string());
    out.external_message_id = delivered.external_message_id;
    out.sent_at = delivered.sent_at.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true));
    out.thread_id = delivered.thread_id.map(|t| t.to_string());
    out.message_id = delivered.message_id;
    out.decision = decision;
    out.checks = checks;
    Ok((201, out))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(email: &str) -> SendEmailInput {
        SendEmailInput {
            email: email.into(),
            subject: "Hi".into(),
            message: "Hello".into(),
            site_id: "s".into(),
            from: None,
            agent_id: None,
            conversation_id: None,
            lead_id: None,
            dry_run: None,
        }
    }

    #[test]
    fn validation_names_the_field() {
        assert!(validate(&input("a@b.test")).is_ok());
        let e = validate(&input("not-an-address")).unwrap_err();
        assert_eq!((e.status, e.code), (400, "INVALID_REQUEST"));
        let mut i = input("a@b.test");
        i.subject = " ".into();
        assert!(validate(&i).unwrap_err().message.contains("subject"));
        i = input("a@b.test");
        i.from = Some("Eve\r\nBcc: x@y.test".into());
        assert!(validate(&i).is_err());
    }

    #[test]
    fn preview_is_200_characters() {
        assert_eq!(preview(&"é".repeat(300)).chars().count(), 200);
        assert_eq!(preview("short"), "short");
    }

    #[test]
    fn errors_have_the_seed_shape() {
        let e = ToolError::new(404, "SITE_CONFIG_NOT_FOUND", "none");
        assert_eq!(e.body(), json!({"success": false, "error": {"code": "SITE_CONFIG_NOT_FOUND", "message": "none"}}));
    }
}
