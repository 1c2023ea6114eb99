//! The `send_email` tool (seed 002): send an email from the site's configured channel.
//!
//! Channel choice: the `agent_email` channel (a Mailroom mailbox, `channels.agent_email`,
//! found by `mailbox_id` or by `username@domain` in the site) when its `status` is
//! `active`; otherwise, or when that send fails, the site's own SMTP account
//! (`channels.email.email`, credentials in the secure token `email` / that address),
//! submitted with mail-send. Every send is recorded as a [`SentEmail`]; a dry run returns
//! the decision and the rendered email without sending or recording anything.
//!
//! Errors carry the seed's codes and HTTP statuses ([`ToolError`]). Secrets (the SMTP
//! password) never appear in an output, an error message or a check.

use crate::catalog::SendEmailInput;
use crate::dedupe;
use chrono::Utc;
use mailroom_core::agent::SentEmail;
use mailroom_core::mime::{self, OutgoingMessage};
use mailroom_core::{EmailAddress, Mailbox, MailboxId, MessageId, NamedAddress, SentEmailId, SiteId};
use mailroom_engine::Engine;
use serde::Serialize;
use serde_json::{Value, json};
use std::time::Duration;

/// The recipient the seed treats as "no address known": answered 200 `skipped`, nothing sent.
pub const NO_EMAIL_PLACEHOLDER: &str = "no-email@example.com";

/// How long one SMTP submission may take.
const SMTP_TIMEOUT: Duration = Duration::from_secs(30);

/// A failed invocation: HTTP status, the seed's error code and a sentence for humans.
#[derive(Debug, Clone)]
pub struct ToolError {
    /// The HTTP status (400, 404, 500).
    pub status: u16,
    /// `INVALID_REQUEST`, `SITE_CONFIG_NOT_FOUND`, `EMAIL_NOT_CONFIGURED`,
    /// `INVALID_CONFIGURED_EMAIL`, `EMAIL_CONFIG_NOT_FOUND`, `AGENT_EMAIL_SEND_FAILED` or
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
#[derive(Debug, Clone, Serialize)]
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
    /// Why nothing was sent (`skipped`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Dry runs: the email that would be sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<Value>,
    /// Each check made, in order (for the tool run; not part of the answer).
    #[serde(skip)]
    pub checks: Vec<Value>,
    /// The decision taken and why (for the tool run).
    #[serde(skip)]
    pub decision: Value,
    /// The stored Mailroom message, when sent through a mailbox.
    #[serde(skip)]
    pub message_id: Option<MessageId>,
}

fn check(checks: &mut Vec<Value>, name: &str, passed: bool, detail: impl Into<String>) {
    checks.push(json!({"name": name, "passed": passed, "detail": detail.into()}));
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

/// Whether the message looks like HTML (holds a tag such as `<p>`, `</div>` or `<br/>`).
pub fn looks_like_html(message: &str) -> bool {
    let bytes = message.as_bytes();
    bytes.iter().enumerate().any(|(i, &b)| {
        b == b'<'
            && bytes.get(i + 1).is_some_and(|n| n.is_ascii_alphabetic() || *n == b'/' || *n == b'!')
            && message[i..].contains('>')
    })
}

fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            _ => out.push(c),
        }
    }
    out
}

/// The bodies of the email: HTML messages as given (plus the signature), plain text as text
/// and, when a signature is appended, also as HTML with the signature.
pub fn render_bodies(message: &str, signature_html: Option<&str>) -> (Option<String>, Option<String>) {
    let sig = signature_html.map(str::trim).filter(|s| !s.is_empty());
    if looks_like_html(message) {
        let html = match sig {
            Some(s) => format!("{message}\n<br><div class=\"signature\">{s}</div>"),
            None => message.to_string(),
        };
        return (None, Some(html));
    }
    match sig {
        None => (Some(message.to_string()), None),
        Some(s) => {
            let body = escape_html(message).replace("\r\n", "\n").replace('\n', "<br>\n");
            (Some(message.to_string()), Some(format!("<div>{body}</div>\n<br><div class=\"signature\">{s}</div>")))
        }
    }
}

/// The signature: the settings' `signature_html` (top level, else of the channel), else the
/// one of the team member sending from `mailbox`. Never fails: anything unusable is `None`.
async fn signature(engine: &Engine, site: SiteId, settings: &Value, channel: &str, mailbox: Option<MailboxId>, checks: &mut Vec<Value>) -> Option<String> {
    let from_settings = settings
        .get("signature_html")
        .or_else(|| settings.pointer(&format!("/channels/{channel}/signature_html")))
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

fn str_at<'a>(v: &'a Value, pointer: &str) -> Option<&'a str> {
    v.pointer(pointer).and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty())
}

fn context(input: &SendEmailInput) -> Value {
    json!({"agent_id": input.agent_id, "conversation_id": input.conversation_id, "lead_id": input.lead_id})
}

/// Finds the mailbox of the `agent_email` channel in the site.
async fn agent_mailbox(engine: &Engine, site: SiteId, channel: &Value) -> Result<Option<Mailbox>, String> {
    if let Some(id) = str_at(channel, "/mailbox_id") {
        let id: MailboxId = id.parse().map_err(|_| format!("`mailbox_id` {id} is not a mailbox id"))?;
        return Ok(engine.store().get_mailbox(id).await.map_err(|e| e.to_string())?.filter(|m| m.site_id == site));
    }
    let (Some(user), Some(domain)) = (str_at(channel, "/username"), str_at(channel, "/domain")) else {
        return Err("`username` and `domain` (or `mailbox_id`) are not configured".into());
    };
    let address = EmailAddress::parse(&format!("{user}@{domain}")).map_err(|e| format!("`{user}@{domain}` is not an address: {e}"))?;
    Ok(engine.store().get_mailbox_by_address(&address.canonical()).await.map_err(|e| e.to_string())?.filter(|m| m.site_id == site))
}

fn is_loopback(host: &str) -> bool {
    let h = host.trim_start_matches('[').trim_end_matches(']');
    h.eq_ignore_ascii_case("localhost") || h.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// SMTP credentials from the secure token's value.
struct SmtpAccount {
    host: String,
    port: u16,
    user: String,
    password: String,
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
        reason: None,
        email: None,
        checks: Vec::new(),
        decision: Value::Null,
        message_id: None,
    };
    if recipient.canonical() == NO_EMAIL_PLACEHOLDER {
        check(&mut checks, "recipient", false, "the placeholder address no-email@example.com: nothing is sent");
        out.status = "skipped".into();
        out.reason = Some("the recipient is the placeholder address no-email@example.com".into());
        out.decision = json!({"action": "skip", "reason": "placeholder_recipient"});
        out.checks = checks;
        return Ok((200, out));
    }

    let settings = engine
        .store()
        .get_site_settings(site)
        .await
        .map_err(|e| ToolError::new(500, "INTERNAL_SERVER_ERROR", format!("the site settings could not be read: {e}")))?
        .ok_or_else(|| with_checks(ToolError::new(404, "SITE_CONFIG_NOT_FOUND", "this site has no settings; store them with PUT /v1/settings"), &checks))?;
    check(&mut checks, "site_settings", true, "found");

    // 1. The agent_email channel.
    let agent = settings.pointer("/channels/agent_email").cloned().unwrap_or(Value::Null);
    let agent_active = str_at(&agent, "/status") == Some("active");
    let mut agent_failure: Option<String> = None;
    if agent_active {
        match agent_mailbox(engine, site, &agent).await {
            Err(e) => agent_failure = Some(e),
            Ok(None) => agent_failure = Some("the channel's mailbox does not exist in this site".into()),
            Ok(Some(mut mailbox)) => {
                check(&mut checks, "agent_email", true, format!("active, mailbox {}", mailbox.address));
                if let Some(name) = input.from.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
                    mailbox.display_name = Some(name.to_string());
                }
                let sig = signature(engine, site, &settings, "agent_email", Some(mailbox.id), &mut checks).await;
                let (text, html) = render_bodies(&input.message, sig.as_deref());
                out.sender = Some(mailbox.address.as_str().to_string());
                out.provider = Some("agent_email".into());
                if dry_run {
                    return Ok(dry(out, checks, "agent_email", &mailbox.named_address(), &recipient, &input.subject, text, html));
                }
                let req = mailroom_core::api::SendMessageRequest {
                    to: vec![recipient.as_str().to_string()],
                    subject: input.subject.clone(),
                    text: text.clone(),
                    html: html.clone(),
                    ..Default::default()
                };
                match engine.send_message(&mailbox, &req).await {
                    Ok(sent) => {
                        let now = Utc::now();
                        let email_id = record(engine, site, &recipient, &input, "agent_email", &sent.message_id, Some(sent.id), &mut checks).await;
                        out.email_id = Some(email_id.to_string());
                        out.external_message_id = Some(sent.message_id.clone());
                        out.sent_at = Some(now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true));
                        out.thread_id = Some(sent.thread_id.to_string());
                        out.message_id = Some(sent.id);
                        out.decision = json!({"action": "send", "channel": "agent_email", "mailbox_id": mailbox.id});
                        out.checks = checks;
                        return Ok((201, out));
                    }
                    Err(e) => agent_failure = Some(e.to_string()),
                }
            }
        }
        if let Some(f) = &agent_failure {
            check(&mut checks, "agent_email", false, format!("send failed: {f}; falling back to SMTP"));
        }
    } else {
        check(&mut checks, "agent_email", false, "not configured or not active");
    }

    // 2. The SMTP fallback.
    let email = settings.pointer("/channels/email").cloned().unwrap_or(Value::Null);
    let enabled = email.get("enabled").and_then(Value::as_bool) != Some(false);
    let Some(configured) = str_at(&email, "/email").filter(|_| enabled) else {
        let e = match &agent_failure {
            Some(f) => ToolError::new(500, "AGENT_EMAIL_SEND_FAILED", format!("sending through the agent_email channel failed ({f}) and no SMTP fallback is configured")),
            None => ToolError::new(400, "EMAIL_NOT_CONFIGURED", "email is not configured for this site: activate `channels.agent_email` or set `channels.email.email` in the settings"),
        };
        check(&mut checks, "smtp", false, "`channels.email.email` is not configured");
        return Err(with_checks(e, &checks));
    };
    let sender = EmailAddress::parse(configured).map_err(|e| {
        with_checks(ToolError::new(400, "INVALID_CONFIGURED_EMAIL", format!("the configured email `{configured}` is not a valid address: {e}")), &checks)
    })?;
    let token = match engine.store().get_secure_token(site, "email", configured).await {
        Ok(Some(t)) => Some(t),
        Ok(None) => engine.store().get_secure_token(site, "email", &sender.canonical()).await.ok().flatten(),
        Err(e) => return Err(ToolError::new(500, "INTERNAL_SERVER_ERROR", format!("the secure token could not be read: {e}"))),
    };
    let not_found = |what: &str| {
        ToolError::new(404, "EMAIL_CONFIG_NOT_FOUND", format!("{what}; store the SMTP credentials with POST /v1/secure-tokens (token_type `email`, identifier `{configured}`)"))
    };
    let Some(token) = token else {
        check(&mut checks, "smtp_token", false, "no secure token");
        return Err(with_checks(not_found(&format!("no SMTP credentials for {configured}")), &checks));
    };
    let plain = engine.secrets().open(&token.value_encrypted).map_err(|_| {
        ToolError::new(500, "INTERNAL_SERVER_ERROR", "the secure token could not be opened with the server key")
    })?;
    let value: Value = serde_json::from_slice(&plain).unwrap_or(Value::Null);
    drop(plain);
    let host = str_at(&value, "/smtpHost").or_else(|| str_at(&email, "/outgoingServer")).map(str::to_string);
    let port = value
        .get("smtpPort")
        .or_else(|| email.get("outgoingPort"))
        .and_then(|p| p.as_u64().or_else(|| p.as_str().and_then(|s| s.trim().parse().ok())))
        .unwrap_or(587);
    let password = str_at(&value, "/password").map(str::to_string);
    let (Some(host), Some(password), Ok(port)) = (host, password, u16::try_from(port)) else {
        check(&mut checks, "smtp_token", false, "the token lacks smtpHost, smtpPort or password");
        return Err(with_checks(not_found("the SMTP credentials lack `smtpHost`, a valid `smtpPort` or `password`"), &checks));
    };
    let account = SmtpAccount { user: str_at(&value, "/email").unwrap_or(configured).to_string(), host, port, password };
    check(&mut checks, "smtp_token", true, format!("SMTP account {} at {}:{}", account.user, account.host, account.port));

    let sig = signature(engine, site, &settings, "email", None, &mut checks).await;
    let (text, html) = render_bodies(&input.message, sig.as_deref());
    let from = NamedAddress { name: input.from.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_string), address: sender.clone() };
    out.sender = Some(sender.as_str().to_string());
    out.provider = Some("smtp".into());
    if dry_run {
        let mut o = dry(out, checks, "smtp", &from, &recipient, &input.subject, text, html);
        o.1.decision["smtp"] = json!({"host": account.host, "port": account.port});
        return Ok(o);
    }
    let now = Utc::now();
    let header_id = format!("{}@{}", uuid::Uuid::now_v7().simple(), sender.domain());
    let msg = OutgoingMessage {
        from,
        to: vec![NamedAddress { name: None, address: recipient.clone() }],
        cc: Vec::new(),
        reply_to: Vec::new(),
        subject: input.subject.clone(),
        text,
        html,
        attachments: Vec::new(),
        headers: Vec::new(),
        message_id: header_id.clone(),
        in_reply_to: None,
        references: Vec::new(),
        date: now,
    };
    let raw = mime::build(&msg).map_err(|e| ToolError::new(500, "INTERNAL_SERVER_ERROR", format!("the email could not be built: {e}")))?;
    if let Err(e) = submit(&account, sender.as_str(), recipient.as_str(), raw).await {
        let detail = format!("SMTP submission to {}:{} failed: {e}", account.host, account.port);
        check(&mut checks, "smtp_send", false, detail.clone());
        let e = match &agent_failure {
            Some(f) => ToolError::new(500, "AGENT_EMAIL_SEND_FAILED", format!("the agent_email channel failed ({f}) and so did the SMTP fallback ({detail})")),
            None => ToolError::new(500, "INTERNAL_SERVER_ERROR", detail),
        };
        return Err(with_checks(e, &checks));
    }
    check(&mut checks, "smtp_send", true, "accepted by the SMTP server");
    let email_id = record(engine, site, &recipient, &input, "smtp", &header_id, None, &mut checks).await;
    out.email_id = Some(email_id.to_string());
    out.external_message_id = Some(header_id);
    out.sent_at = Some(now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true));
    out.decision = json!({"action": "send", "channel": "smtp", "fallback": agent_failure.is_some(), "smtp": {"host": account.host, "port": account.port}});
    out.checks = checks;
    Ok((201, out))
}

#[allow(clippy::too_many_arguments)]
fn dry(mut out: SendEmailOutput, checks: Vec<Value>, channel: &str, from: &NamedAddress, to: &EmailAddress, subject: &str, text: Option<String>, html: Option<String>) -> (u16, SendEmailOutput) {
    out.status = "dry_run".into();
    out.email = Some(json!({"from": from.to_string(), "to": to.as_str(), "subject": subject, "text": text, "html": html}));
    out.decision = json!({"action": "send", "channel": channel, "dry_run": true});
    out.checks = checks;
    (200, out)
}

/// Records the send; a failure to record is logged and noted, never turned into an error
/// (the email is already sent, and a retry would send it twice).
#[allow(clippy::too_many_arguments)]
async fn record(engine: &Engine, site: SiteId, recipient: &EmailAddress, input: &SendEmailInput, provider: &str, external: &str, message: Option<MessageId>, checks: &mut Vec<Value>) -> SentEmailId {
    let fp = dedupe::fingerprint(&input.subject, &input.message);
    let sent = SentEmail {
        id: SentEmailId::new(),
        site_id: site,
        recipient: recipient.canonical(),
        contact_id: None,
        tool: "send_email".into(),
        provider: provider.into(),
        external_message_id: external.into(),
        message_id: message,
        subject: input.subject.clone(),
        content_hash: fp.content_hash,
        simhash: fp.simhash,
        template: None,
        context: context(input),
        created_at: Utc::now(),
    };
    if let Err(e) = engine.store().insert_sent_email(&sent).await {
        tracing::error!(error = %e, "the sent email could not be recorded");
        check(checks, "record", false, format!("the send could not be recorded: {e}"));
    }
    sent.id
}

/// Submits one message to the account's server: implicit TLS on 465, STARTTLS on 587,
/// plain text otherwise; certificates are checked unless the host is a loopback address.
async fn submit(account: &SmtpAccount, from: &str, to: &str, raw: Vec<u8>) -> Result<(), String> {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let mut builder = mail_send::SmtpClientBuilder::new(account.host.clone(), account.port)?
        .credentials((account.user.clone(), account.password.clone()))
        .timeout(SMTP_TIMEOUT)
        .helo_host("mailroom.localhost");
    if is_loopback(&account.host) {
        builder = builder.allow_invalid_certs();
    }
    let message = mail_send::smtp::message::Message::new(from, [to], raw);
    match account.port {
        465 => builder.implicit_tls(true).connect().await.map_err(|e| e.to_string())?.send(message).await.map_err(|e| e.to_string()),
        587 => builder.implicit_tls(false).connect().await.map_err(|e| e.to_string())?.send(message).await.map_err(|e| e.to_string()),
        _ => builder.connect_plain().await.map_err(|e| e.to_string())?.send(message).await.map_err(|e| e.to_string()),
    }
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
    fn html_detection_and_signature() {
        assert!(looks_like_html("<p>Hi</p>"));
        assert!(looks_like_html("Hi<br/>there"));
        assert!(!looks_like_html("1 < 2 and 3 > 2"));
        assert!(!looks_like_html("plain"));
        assert_eq!(render_bodies("plain", None), (Some("plain".into()), None));
        let (text, html) = render_bodies("a < b\nc", Some("<b>Sig</b>"));
        assert_eq!(text.as_deref(), Some("a < b\nc"));
        let html = html.unwrap();
        assert!(html.contains("a &lt; b<br>") && html.ends_with("<div class=\"signature\"><b>Sig</b></div>"), "{html}");
        let (text, html) = render_bodies("<p>Hi</p>", Some("  "));
        assert_eq!((text, html.as_deref()), (None, Some("<p>Hi</p>")));
    }

    #[test]
    fn preview_is_200_characters_and_loopback_is_recognised() {
        assert_eq!(preview(&"é".repeat(300)).chars().count(), 200);
        assert!(is_loopback("127.0.0.1") && is_loopback("localhost") && is_loopback("[::1]"));
        assert!(!is_loopback("smtp.example.com"));
    }

    #[test]
    fn errors_have_the_seed_shape() {
        let e = ToolError::new(404, "SITE_CONFIG_NOT_FOUND", "none");
        assert_eq!(e.body(), json!({"success": false, "error": {"code": "SITE_CONFIG_NOT_FOUND", "message": "none"}}));
    }
}
