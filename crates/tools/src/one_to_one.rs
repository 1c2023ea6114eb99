//! `send_one_to_one_email` (seed 000): an email the agent wrote, to one contact, from a team
//! member.
//!
//! Checks, in order, each ending the run with the seed's outputs:
//!
//! 1. the contact exists in the site and has a valid address — else `failure`
//!    (`contact_not_found` / `invalid_recipient`);
//! 2. the sender: the builder's rule picks the team member — else `failure`
//!    (`sender_not_allowed` / `no_sender`);
//! 3. `marketing_opt_out` — `skipped` / `user_marketing_email_opt_out`;
//! 4. the suppression list — `skipped` / `suppressed`;
//! 5. the rate limit — `skipped` / `rate_limited`; the duplicate rule — `skipped` /
//!    `duplicate_email`;
//! 6. send from the member's mailbox under their name with their signature and the preview as
//!    a hidden preheader (the site's SMTP account when the mailbox channel is off or fails) —
//!    `success`, or `failure` / `send_error`.
//!
//! With `complete_on_send_failure: false` a send failure also fails the invocation (HTTP 502,
//! an MCP error result), so that the agent's run stops.

use crate::catalog::SendOneToOneEmailInput;
use crate::channel::{self, ChannelError, Email, Origin, check};
use crate::policy::{self, Policy};
use mailroom_core::agent::{Contact, TeamMember, ToolConfig};
use mailroom_core::{ContactId, EmailAddress, MessageId, SiteId, TeamMemberId};
use mailroom_engine::Engine;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// How the sender is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SenderRule {
    /// Always `team_member_id`.
    Fixed,
    /// The contact's owner (`owner_team_member_id`), else `team_member_id` when set.
    #[default]
    ContactOwner,
    /// The agent picks `send_from` among `allowed_team_member_ids` (any member of the site
    /// when the list is empty); without `send_from`, the contact's owner.
    AgentChoice,
}

/// A `send_one_to_one_email` tool config's `settings`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OneToOneSettings {
    /// The sender rule.
    #[serde(default)]
    pub sender_rule: SenderRule,
    /// The fixed sender (and the fallback of `contact_owner`).
    #[serde(default)]
    pub team_member_id: Option<TeamMemberId>,
    /// The members an agent may choose (`agent_choice`).
    #[serde(default)]
    pub allowed_team_member_ids: Vec<TeamMemberId>,
    /// CC recipients added to every email.
    #[serde(default)]
    pub cc: Vec<String>,
    /// BCC recipients added to every email.
    #[serde(default)]
    pub bcc: Vec<String>,
    /// Whether the agent's run goes on when the send fails (default true).
    #[serde(default = "yes")]
    pub complete_on_send_failure: bool,
}

fn yes() -> bool {
    true
}

impl Default for OneToOneSettings {
    fn default() -> Self {
        OneToOneSettings {
            sender_rule: SenderRule::AgentChoice,
            team_member_id: None,
            allowed_team_member_ids: Vec::new(),
            cc: Vec::new(),
            bcc: Vec::new(),
            complete_on_send_failure: true,
        }
    }
}

impl OneToOneSettings {
    /// Parses and checks a tool config's settings; the error names the field.
    pub fn parse(settings: &Value) -> Result<OneToOneSettings, String> {
        let parsed: OneToOneSettings = if settings.is_null() {
            OneToOneSettings { sender_rule: SenderRule::ContactOwner, ..Default::default() }
        } else {
            serde_json::from_value(settings.clone()).map_err(|e| format!("invalid send_one_to_one_email settings: {e}"))?
        };
        if parsed.sender_rule == SenderRule::Fixed && parsed.team_member_id.is_none() {
            return Err("`sender_rule: fixed` needs `team_member_id`".into());
        }
        for (field, list) in [("cc", &parsed.cc), ("bcc", &parsed.bcc)] {
            for a in list {
                EmailAddress::parse(a).map_err(|e| format!("`{field}`: `{a}` is not an email address: {e}"))?;
            }
        }
        Ok(parsed)
    }
}

/// The tool's outputs (seed 000), plus the provider details of a send.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct OneToOneOutput {
    /// `success`, `failure` or `skipped` (`dry_run` for a dry run that would send).
    pub status: String,
    /// The contact emailed.
    pub to_id: String,
    /// The team member sending (empty when none could be chosen).
    pub from_id: String,
    /// The send record's id (success).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email_id: Option<String>,
    /// From, to, cc, bcc, subject, preview and body (success and dry runs).
    #[schema(value_type = Option<Object>)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub create_email_options: Option<Value>,
    /// What the provider answered (success).
    #[schema(value_type = Option<Object>)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub create_email_response: Option<Value>,
    /// Why it failed or was skipped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// The failure, as a sentence.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
    /// The earlier email a `duplicate_email` names.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duplicate_of: Option<String>,
    /// Dry runs: the rendered email.
    #[schema(value_type = Option<Object>)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<Value>,
}

/// A finished run: the outputs plus what the tool run records.
#[derive(Debug, Clone)]
pub struct OneToOneRun {
    /// The outputs.
    pub output: OneToOneOutput,
    /// `false` when a send failed and the config says not to complete on send failure: the
    /// invocation itself fails.
    pub completes: bool,
    /// Each check.
    pub checks: Vec<Value>,
    /// The decision.
    pub decision: Value,
    /// The contact, when found.
    pub contact_id: Option<ContactId>,
    /// The message sent through a mailbox.
    pub message_id: Option<MessageId>,
}

/// Why the input is refused before any check (HTTP 400).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputError(pub String);

fn parse_list(field: &str, given: &Option<Vec<String>>, defaults: &[String]) -> Result<Vec<EmailAddress>, InputError> {
    let mut out: Vec<EmailAddress> = Vec::new();
    for a in defaults.iter().chain(given.iter().flatten()) {
        let addr = EmailAddress::parse(a.trim()).map_err(|e| InputError(format!("`{field}`: `{a}` is not an email address: {e}")))?;
        if !out.iter().any(|x| x.canonical() == addr.canonical()) {
            out.push(addr);
        }
    }
    if out.len() > 50 {
        return Err(InputError(format!("`{field}` may hold at most 50 addresses")));
    }
    Ok(out)
}

/// Runs the tool for `site` with the builder's `config` (none: the built-in tool, where the
/// agent may pick any team member and the contact's owner is the default).
pub async fn run(engine: &Engine, site: SiteId, config: Option<&ToolConfig>, input: SendOneToOneEmailInput) -> Result<OneToOneRun, InputError> {
    let settings = match config {
        Some(c) => OneToOneSettings::parse(&c.settings).map_err(InputError)?,
        None => OneToOneSettings::default(),
    };
    if input.subject.trim().is_empty() || input.subject.chars().any(char::is_control) {
        return Err(InputError("`subject` must be a non-empty line without control characters".into()));
    }
    if input.body.trim().is_empty() {
        return Err(InputError("`body` must not be empty".into()));
    }
    let preview = input.preview.as_deref().map(str::trim).filter(|p| !p.is_empty()).map(str::to_string);
    if preview.as_deref().is_some_and(|p| p.chars().any(char::is_control)) {
        return Err(InputError("`preview` must be one line without control characters".into()));
    }
    let cc = parse_list("cc", &input.cc, &settings.cc)?;
    let bcc = parse_list("bcc", &input.bcc, &settings.bcc)?;
    let dry_run = input.dry_run.unwrap_or(false);

    let mut checks = Vec::new();
    let mut run = OneToOneRun {
        output: OneToOneOutput {
            status: "failure".into(),
            to_id: input.send_to.trim().to_string(),
            from_id: String::new(),
            email_id: None,
            create_email_options: None,
            create_email_response: None,
            code: None,
            error_message: None,
            duplicate_of: None,
            email: None,
        },
        completes: true,
        checks: Vec::new(),
        decision: Value::Null,
        contact_id: None,
        message_id: None,
    };
    let finish = |mut run: OneToOneRun, checks: Vec<Value>, status: &str, code: Option<&str>, message: Option<String>| {
        run.output.status = status.into();
        run.output.code = code.map(str::to_string);
        run.decision = json!({"action": if status == "success" { "send" } else { status }, "code": code, "reason": message});
        // A failure says what failed; a skip by a refused recipient says which one and why.
        if status == "failure" || (status == "skipped" && matches!(code, Some("suppressed" | "recipient_blocked" | "rate_limited"))) {
            run.output.error_message = message;
        }
        run.checks = checks;
        run
    };

    // 1. The contact and its address.
    let contact: Option<Contact> = match input.send_to.trim().parse::<ContactId>() {
        Ok(id) => match engine.store().get_contact(id).await {
            Ok(c) => c.filter(|c| c.site_id == site),
            Err(e) => {
                check(&mut checks, "contact", false, format!("the contact could not be read: {e}"));
                return Ok(finish(run, checks, "failure", Some("internal_error"), Some(format!("the contact could not be read: {e}"))));
            }
        },
        Err(_) => None,
    };
    let Some(contact) = contact else {
        check(&mut checks, "contact", false, "no such contact in this site");
        let m = format!("no contact with id `{}` in this site", input.send_to.trim());
        return Ok(finish(run, checks, "failure", Some("contact_not_found"), Some(m)));
    };
    run.contact_id = Some(contact.id);
    run.output.to_id = contact.id.to_string();
    let Some(recipient) = contact.email.clone() else {
        check(&mut checks, "contact", false, "the contact has no email address");
        return Ok(finish(run, checks, "failure", Some("invalid_recipient"), Some("the contact has no email address".into())));
    };
    check(&mut checks, "contact", true, format!("contact {} <{}>", contact.name.as_deref().unwrap_or(""), recipient));

    // 2. The sender.
    let member = match choose_sender(engine, site, &settings, &contact, input.send_from.as_deref()).await {
        Ok(m) => m,
        Err((code, message)) => {
            check(&mut checks, "sender", false, message.clone());
            return Ok(finish(run, checks, "failure", Some(code), Some(message)));
        }
    };
    run.output.from_id = member.id.to_string();
    check(&mut checks, "sender", true, format!("team member {} ({:?} rule)", member.name, settings.sender_rule));

    // 3. Opt-out.
    if contact.marketing_opt_out {
        check(&mut checks, "marketing_consent", false, "the contact opted out of one-to-one and marketing email");
        return Ok(finish(run, checks, "skipped", Some("user_marketing_email_opt_out"), Some("the contact opted out".into())));
    }
    check(&mut checks, "marketing_consent", true, "the contact has not opted out");

    // 4–5. Suppression list, rate limit, duplicates.
    let site_settings = match engine.store().get_site_settings(site).await {
        Ok(s) => s.unwrap_or(Value::Null),
        Err(e) => return Ok(finish(run, checks, "failure", Some("internal_error"), Some(format!("the settings could not be read: {e}")))),
    };
    let policy = Policy::from_settings(&site_settings);
    let canonical = recipient.policy_key();
    let blocked = match policy::suppression(engine, site, &canonical, &mut checks).await {
        Ok(Some(b)) => Ok(Some(b)),
        Ok(None) => policy::rate_and_duplicates(engine, site, &policy, &canonical, &input.subject, &input.body, &mut checks).await,
        Err(e) => Err(e),
    };
    match blocked {
        Err(e) => return Ok(finish(run, checks, "failure", Some("internal_error"), Some(e))),
        Ok(Some(b)) => {
            run.output.duplicate_of = b.duplicate_of();
            let (code, message) = (b.code(), b.message());
            return Ok(finish(run, checks, "skipped", Some(code), Some(message)));
        }
        Ok(None) => {}
    }

    // 6. Send.
    let mailbox = match engine.store().get_mailbox(member.mailbox_id).await {
        Ok(m) => m.filter(|m| m.site_id == site),
        Err(e) => return Ok(finish(run, checks, "failure", Some("internal_error"), Some(format!("the mailbox could not be read: {e}")))),
    };
    let (mailbox, problem) = match mailbox {
        None => (None, Some(format!("the team member's mailbox {} does not exist", member.mailbox_id))),
        Some(_) if channel::agent_channel_inactive(&site_settings) => {
            check(&mut checks, "agent_email", false, "the site's agent_email channel is inactive; using the SMTP channel");
            (None, None)
        }
        Some(mb) => (Some(mb), None),
    };
    let (text, html) = channel::render_bodies(&input.body, member.signature_html.as_deref(), preview.as_deref());
    let email = Email { to: recipient.clone(), cc, bcc, subject: input.subject.trim().to_string(), text, html, from_name: Some(member.name.clone()) };
    let origin = Origin {
        tool: "send_one_to_one_email".into(),
        contact_id: Some(contact.id),
        template: None,
        context: json!({"tool_config": config.map(|c| c.name.clone())}),
        fingerprint_subject: input.subject.clone(),
        fingerprint_body: input.body.clone(),
        tool_config: config.map(|c| c.id),
    };
    let options = |from: &str| {
        json!({
            "from": from,
            "to": recipient.as_str(),
            "cc": email.cc.iter().map(EmailAddress::as_str).collect::<Vec<_>>(),
            "bcc": email.bcc.iter().map(EmailAddress::as_str).collect::<Vec<_>>(),
            "subject": email.subject,
            "preview": preview,
            "body": input.body,
        })
    };
    match channel::deliver(engine, site, &site_settings, mailbox, problem, &email, &origin, &policy, dry_run, &mut checks).await {
        Ok(d) => {
            let from = d.sender.to_string();
            run.output.create_email_options = Some(options(&from));
            let mut decision = d.decision();
            if dry_run {
                run.output.email = Some(d.email.clone());
                decision["dry_run"] = json!(true);
                let mut r = finish(run, checks, "dry_run", None, None);
                decision["action"] = json!("send");
                r.decision = decision;
                return Ok(r);
            }
            run.output.email_id = d.email_id.map(|i| i.to_string());
            run.output.create_email_response = Some(json!({
                "id": d.email_id,
                "provider": d.provider,
                "external_message_id": d.external_message_id,
                "message_id": d.message_id,
                "thread_id": d.thread_id,
                "sent_at": d.sent_at.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)),
            }));
            run.message_id = d.message_id;
            let mut r = finish(run, checks, "success", None, None);
            decision["action"] = json!("send");
            r.decision = decision;
            Ok(r)
        }
        Err(ChannelError::Blocked(b)) => {
            run.output.duplicate_of = b.duplicate_of();
            let (code, message) = (b.code(), b.message());
            Ok(finish(run, checks, "skipped", Some(code), Some(message)))
        }
        // A policy refusal (a suppressed or blocked cc, the loop guard…) skips; it is not a
        // send failure and never stops the run.
        Err(e @ ChannelError::Refused { .. }) => Ok(finish(run, checks, "skipped", e.refusal_code(), Some(e.message()))),
        Err(e) => {
            // Seed 000's code for a failed send: "the sending provider failed".
            let code = match e {
                ChannelError::Internal(_) => "internal_error",
                _ => "resend_error",
            };
            let mut r = finish(run, checks, "failure", Some(code), Some(e.message()));
            r.output.create_email_options = Some(options(&member.name));
            r.completes = settings.complete_on_send_failure || dry_run;
            r.decision["complete_on_send_failure"] = json!(settings.complete_on_send_failure);
            Ok(r)
        }
    }
}

/// Picks the team member by the rule; an error is `(code, message)`.
async fn choose_sender(
    engine: &Engine,
    site: SiteId,
    settings: &OneToOneSettings,
    contact: &Contact,
    send_from: Option<&str>,
) -> Result<TeamMember, (&'static str, String)> {
    let requested: Option<TeamMemberId> = match send_from.map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => Some(s.parse().map_err(|_| ("sender_not_allowed", format!("`send_from` `{s}` is not a team member id")))?),
    };
    let load = |id: TeamMemberId| async move {
        match engine.store().get_team_member(id).await {
            Ok(Some(m)) if m.site_id == site => Ok(m),
            Ok(_) => Err(("sender_not_allowed", format!("no team member with id {id} in this site"))),
            Err(e) => Err(("internal_error", format!("the team member could not be read: {e}"))),
        }
    };
    let ruled = match settings.sender_rule {
        SenderRule::Fixed => settings.team_member_id,
        SenderRule::ContactOwner => contact.owner_team_member_id.or(settings.team_member_id),
        SenderRule::AgentChoice => {
            if let Some(id) = requested {
                if !settings.allowed_team_member_ids.is_empty() && !settings.allowed_team_member_ids.contains(&id) {
                    return Err(("sender_not_allowed", format!("team member {id} is not one of the senders this tool allows")));
                }
                return load(id).await;
            }
            contact.owner_team_member_id.or(settings.team_member_id).or_else(|| settings.allowed_team_member_ids.first().copied())
        }
    };
    let Some(id) = ruled else {
        return Err((
            "no_sender",
            "no sender: the contact has no owner (owner_team_member_id) and no team member is configured or given in `send_from`".into(),
        ));
    };
    if let Some(r) = requested.filter(|r| *r != id) {
        return Err((
            "sender_not_allowed",
            format!("the sender rule ({:?}) picks team member {id}; `send_from` {r} is not allowed", settings.sender_rule),
        ));
    }
    load(id).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_parse_and_name_bad_fields() {
        let s = OneToOneSettings::parse(&json!({})).unwrap();
        assert_eq!((s.sender_rule, s.complete_on_send_failure), (SenderRule::ContactOwner, true));
        let s = OneToOneSettings::parse(&json!({"sender_rule": "agent_choice", "cc": ["a@x.test"], "complete_on_send_failure": false})).unwrap();
        assert_eq!((s.sender_rule, s.cc.len(), s.complete_on_send_failure), (SenderRule::AgentChoice, 1, false));
        assert!(OneToOneSettings::parse(&json!({"sender_rule": "fixed"})).unwrap_err().contains("team_member_id"));
        assert!(OneToOneSettings::parse(&json!({"cc": ["nope"]})).unwrap_err().contains("cc"));
        assert!(OneToOneSettings::parse(&json!({"sender": "x"})).is_err());
        assert!(OneToOneSettings::parse(&json!({"sender_rule": "random"})).is_err());
    }

    #[test]
    fn lists_merge_defaults_and_refuse_bad_addresses() {
        let l = parse_list("cc", &Some(vec!["B@x.test".into(), "c@x.test".into()]), &["b@x.test".into()]).unwrap();
        assert_eq!(l.len(), 2);
        assert!(parse_list("bcc", &Some(vec!["x".into()]), &[]).unwrap_err().0.contains("bcc"));
    }
}
