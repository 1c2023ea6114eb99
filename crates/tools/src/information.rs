//! `send_information_email` (seed 001): an allowed template, filled from the conversation, sent
//! when the conversation shows the user wants it and every server-side condition holds.
//!
//! The flow, as the seed orders it:
//!
//! 1. **consent** — a contact with `email_subscribed: false` gets `consent_required` and the
//!    question the agent must ask (only when everything else would allow the send; a grant is
//!    `POST /v1/contacts/{id}/consent`); unset proceeds;
//! 2. **schema** — the analysis schema is generated from the allowed templates;
//! 3. **analysis** — given by the caller, or produced by the configured model from the
//!    transcript with that schema as strict structured output;
//! 4. **recomputation** — [`decision::recompute`] checks every claim against what the server
//!    knows (address, template, its own duplicate check), plus the suppression list and the
//!    rate limit;
//! 5. **rendering** — placeholders filled, lines with unfilled ones removed, date-times in the
//!    business time zone, the agent's language (a template variant, else a translation by the
//!    model, else the original with `translated: false`);
//! 6. **send and record** — the contact's history, an `information_email.sent` event, and
//!    `followup_delay_seconds: 60` in the output.
//!
//! Settings: the site's `information_email` section (`PUT /v1/settings`), overridden field by
//! field by a tool config's `settings`: `enabled` (`true` or seed 001's `"True"`),
//! `allowed_content` (templates), `business_time_zone`, `default_language` (the templates'
//! language, default `en`) and `team_member_id` (the sender; default the site's channels).

use crate::analysis::{ANALYSIS_SCHEMA_NAME, Analysis, analysis_schema};
use crate::catalog::SendInformationEmailInput;
use crate::channel::{self, Email, Origin, check};
use crate::decision::{self, Consent, DecisionStatus, Facts};
use crate::llm::LlmClient;
use crate::policy::{self, Blocked, Policy};
use crate::template::{Templates, format_datetimes};
use chrono_tz::Tz;
use mailroom_core::agent::{Contact, ToolConfig};
use mailroom_core::{ContactId, MailboxId, MessageId, SiteId, TeamMemberId};
use mailroom_engine::Engine;
use mailroom_store::NewEvent;
use serde::Serialize;
use serde_json::{Map, Value, json};

/// How long the agent should wait before speaking again after a send (seed 001).
pub const FOLLOWUP_DELAY_SECONDS: u64 = 60;

/// The event logged for every informational email sent.
pub const SENT_EVENT: &str = "information_email.sent";

/// The effective settings of the tool for a site (and tool config).
#[derive(Debug, Clone, PartialEq)]
pub struct InformationSettings {
    /// Whether the tool may send at all.
    pub enabled: bool,
    /// The allowed templates.
    pub templates: Templates,
    /// The business time zone for date-times.
    pub time_zone: Option<Tz>,
    /// The language the templates are written in.
    pub default_language: String,
    /// The sender, when not the site's channels.
    pub team_member_id: Option<TeamMemberId>,
}

const FIELDS: [&str; 5] = ["enabled", "allowed_content", "business_time_zone", "default_language", "team_member_id"];

fn parse_enabled(v: &Value) -> Result<bool, String> {
    match v {
        Value::Bool(b) => Ok(*b),
        Value::String(s) if s.trim().eq_ignore_ascii_case("true") => Ok(true),
        Value::String(s) if s.trim().eq_ignore_ascii_case("false") => Ok(false),
        _ => Err("`enabled` must be true or false (or \"True\"/\"False\")".into()),
    }
}

impl InformationSettings {
    /// Checks one settings object (the site's `information_email` section or a tool config's
    /// settings); the error names the field.
    pub fn validate(section: &Value) -> Result<(), String> {
        Self::merge(&[section]).map(|_| ())
    }

    /// Merges the site section and the config's settings (later wins, field by field).
    pub fn merge(sections: &[&Value]) -> Result<InformationSettings, String> {
        let mut out = InformationSettings {
            enabled: false,
            templates: Templates::default(),
            time_zone: None,
            default_language: "en".into(),
            team_member_id: None,
        };
        for section in sections {
            if section.is_null() {
                continue;
            }
            let obj = section.as_object().ok_or("the information_email settings must be an object")?;
            if let Some(k) = obj.keys().find(|k| !FIELDS.contains(&k.as_str())) {
                return Err(format!("unknown field `{k}`; expected one of {}", FIELDS.join(", ")));
            }
            if let Some(v) = obj.get("enabled").filter(|v| !v.is_null()) {
                out.enabled = parse_enabled(v)?;
            }
            if let Some(v) = obj.get("allowed_content").filter(|v| !v.is_null()) {
                out.templates = Templates::parse(v).map_err(|e| format!("`allowed_content`: {e}"))?;
            }
            if let Some(v) = obj.get("business_time_zone").filter(|v| !v.is_null()) {
                let tz = v.as_str().and_then(|s| s.parse::<Tz>().ok());
                out.time_zone = Some(tz.ok_or("`business_time_zone` must be an IANA time zone such as `Europe/Paris`")?);
            }
            if let Some(v) = obj.get("default_language").filter(|v| !v.is_null()) {
                let lang = v.as_str().map(str::trim).filter(|s| (2..=35).contains(&s.len()));
                out.default_language = lang.ok_or("`default_language` must be a language tag such as `en`")?.to_string();
            }
            if let Some(v) = obj.get("team_member_id").filter(|v| !v.is_null()) {
                let id = v.as_str().and_then(|s| s.parse::<TeamMemberId>().ok());
                out.team_member_id = Some(id.ok_or("`team_member_id` must be a team member id")?);
            }
        }
        Ok(out)
    }

    /// The effective settings from the site settings document and an optional tool config.
    pub fn resolve(site_settings: &Value, config: Option<&ToolConfig>) -> Result<InformationSettings, String> {
        let site = site_settings.get("information_email").cloned().unwrap_or(Value::Null);
        let config = config.map(|c| c.settings.clone()).unwrap_or(Value::Null);
        Self::merge(&[&site, &config])
    }
}

/// The tool's answer.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct InformationOutput {
    /// `sent`, `skipped`, `consent_required`, `failure` or `dry_run`.
    pub status: String,
    /// Why it was not sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// A sentence for the agent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// `consent_required`: the question the agent must ask the user.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub question: Option<String>,
    /// The contact.
    pub contact_id: String,
    /// The send record (`sent`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email_id: Option<String>,
    /// The `Message-ID` (`sent`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_message_id: Option<String>,
    /// `agent_email` or `smtp` (`sent`, `dry_run`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// The template used.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub template: Option<String>,
    /// The rendered email: to, subject, body, language, translated, removed lines.
    #[schema(value_type = Option<Object>)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<Value>,
    /// The analysis (the caller's or the model's).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub analysis: Option<Analysis>,
    /// The server's decision: `send`, `status`, `code` and every check.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub decision: Option<decision::Decision>,
    /// Where the analysis came from: `caller` or `model`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub analysis_source: Option<String>,
    /// How long the agent should stay quiet after this (seed 001: 60 seconds).
    pub followup_delay_seconds: u64,
}

/// A finished run.
#[derive(Debug, Clone)]
pub struct InformationRun {
    /// The HTTP status: 201 sent, 200 otherwise.
    pub http_status: u16,
    /// The outputs.
    pub output: InformationOutput,
    /// Each check.
    pub checks: Vec<Value>,
    /// The decision record.
    pub decision: Value,
    /// The contact.
    pub contact_id: Option<ContactId>,
    /// The message sent through a mailbox.
    pub message_id: Option<MessageId>,
    /// Events to log with the run (`information_email.sent`).
    pub events: Vec<NewEvent>,
}

/// Why the tool could not run (an HTTP error, an MCP error result).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InformationError {
    /// 400, 404, 422, 502 or 500.
    pub status: u16,
    /// `validation_error`, `not_found`, `llm_not_configured`, `llm_*`, `internal_error`.
    pub code: &'static str,
    /// What went wrong and what to do.
    pub message: String,
}

impl InformationError {
    fn new(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        Self { status, code, message: message.into() }
    }
}

fn internal(e: impl std::fmt::Display) -> InformationError {
    InformationError::new(500, "internal_error", e.to_string())
}

fn primary(tag: &str) -> String {
    tag.split(['-', '_']).next().unwrap_or("").to_ascii_lowercase()
}

/// The system prompt of the conversation analysis.
fn analysis_prompt(templates: &Templates, contact: &Contact) -> String {
    let listing: Vec<String> = templates
        .iter()
        .map(|(name, t)| format!("- `{name}`: subject {:?}; body {:?}; placeholders: {}", t.subject, t.body, t.placeholders().join(", ")))
        .collect();
    format!(
        "You analyse a conversation between an AI agent and a user to decide whether an informational email must be \
         sent to the user, and fill it from an allowed template.\n\
         Allowed templates:\n{}\n\
         The user's email address on file: {}.\n\
         Rules: user_email_presence is true only if the user's email address is known. user_correctness_agreement is \
         true only if the user confirmed the address is correct. convo_agent_promise is true only if the agent \
         explicitly said it will send an email. information_is_allowed_to_be_sent is true only if the information \
         matches one of the allowed templates; set template to its name. is_duplicate is true if the same \
         information was already sent in this conversation. Fill placeholders only with values stated in the \
         conversation (dates and times as ISO 8601), null otherwise; never invent values. email_subject and \
         email_body are the chosen template's subject and body with the placeholders filled. agent_must_send_email \
         is the final decision.",
        if listing.is_empty() { "(none)".to_string() } else { listing.join("\n") },
        contact.email.as_ref().map_or("none".to_string(), |e| e.to_string()),
    )
}

/// Runs the tool for `site` with the builder's `config` (none: the built-in tool with the
/// site's settings). `llm` is the configured model, if any.
pub async fn run(
    engine: &Engine,
    llm: Option<&LlmClient>,
    site: SiteId,
    config: Option<&ToolConfig>,
    input: SendInformationEmailInput,
) -> Result<InformationRun, InformationError> {
    let dry_run = input.dry_run.unwrap_or(false);
    let mut checks: Vec<Value> = Vec::new();

    // The contact.
    let id: ContactId = input
        .contact_id
        .trim()
        .parse()
        .map_err(|_| InformationError::new(404, "not_found", format!("no contact with id `{}`", input.contact_id.trim())))?;
    let contact = engine
        .store()
        .get_contact(id)
        .await
        .map_err(internal)?
        .filter(|c| c.site_id == site)
        .ok_or_else(|| InformationError::new(404, "not_found", format!("no contact with id {id}")))?;

    // The settings and the templates (the schema is generated from them).
    let site_settings = engine.store().get_site_settings(site).await.map_err(internal)?.unwrap_or(Value::Null);
    let settings = InformationSettings::resolve(&site_settings, config)
        .map_err(|e| InformationError::new(422, "invalid_settings", format!("the information_email settings are invalid: {e}")))?;
    let language = input
        .language
        .as_deref()
        .or_else(|| contact.attributes.get("language").and_then(Value::as_str))
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string);

    // The analysis: the caller's, else the model's.
    let (analysis, source) = match (input.analysis.clone(), input.conversation.as_deref().map(str::trim).filter(|c| !c.is_empty())) {
        (Some(a), _) => (a, "caller"),
        (None, Some(conversation)) => {
            let Some(llm) = llm else {
                return Err(InformationError::new(
                    422,
                    "llm_not_configured",
                    "no model is configured to analyse the conversation: pass your own `analysis`, or set llm.base_url, \
                     llm.model and llm.api_key in the server configuration",
                ));
            };
            let schema = analysis_schema(&settings.templates);
            let value = llm
                .structured(&analysis_prompt(&settings.templates, &contact), conversation, ANALYSIS_SCHEMA_NAME, &schema)
                .await
                .map_err(|e| InformationError::new(502, e.code(), format!("the model could not analyse the conversation: {e}")))?;
            let analysis: Analysis = serde_json::from_value(value).map_err(|e| {
                InformationError::new(502, "llm_unparseable", format!("the model's analysis does not match the schema: {e}"))
            })?;
            (analysis, "model")
        }
        (None, None) => {
            return Err(InformationError::new(400, "validation_error", "give the conversation transcript in `conversation`, or your own `analysis`"));
        }
    };
    check(&mut checks, "analysis", true, format!("from the {source}"));

    // Rendering (when the template is allowed): placeholders, line removal, time zone.
    let render_lang = language.clone().unwrap_or_else(|| settings.default_language.clone());
    let template_name = analysis.template.as_deref().map(str::trim).filter(|t| !t.is_empty());
    let template = template_name.and_then(|t| settings.templates.get(t));
    let mut rendered = None;
    if let Some(t) = template {
        let values: Map<String, Value> = match settings.time_zone {
            Some(tz) => format_datetimes(&analysis.placeholders, tz, &render_lang),
            None => analysis.placeholders.clone(),
        };
        rendered = Some(t.render(language.as_deref(), &values));
    }

    // What the server knows.
    let recipient = contact.email.clone();
    let policy = Policy::from_settings(&site_settings);
    let mut blocked: Option<Blocked> = None;
    let mut server_duplicate = None;
    if let (Some(to), Some(r)) = (&recipient, &rendered) {
        let canonical = to.policy_key();
        blocked = policy::suppression(engine, site, &canonical, &mut checks).await.map_err(internal)?;
        if blocked.is_none() {
            match policy::rate_and_duplicates(engine, site, &policy, &canonical, &r.subject.text, &r.body.text, &mut checks).await.map_err(internal)? {
                Some(Blocked::Duplicate(hit)) => server_duplicate = Some(hit),
                other => blocked = other,
            }
        }
    }
    let facts = Facts {
        email_present_and_valid: recipient.is_some(),
        template_allowed: template.is_some(),
        server_duplicate,
        enabled: settings.enabled,
        consent: Consent::from_subscribed(contact.email_subscribed),
    };
    let mut decision = decision::recompute(&analysis, &facts);
    if decision.status == DecisionStatus::ConsentRequired {
        decision.question = Some(decision::consent_question(&render_lang));
    }
    for c in &decision.reasons {
        check(&mut checks, &c.name, c.passed, c.detail.clone());
    }

    let mut output = InformationOutput {
        status: decision.status.as_str().to_string(),
        code: decision.code.map(|c| c.as_str().to_string()),
        message: None,
        question: decision.question.clone(),
        contact_id: contact.id.to_string(),
        email_id: None,
        external_message_id: None,
        provider: None,
        template: template_name.map(str::to_string),
        email: None,
        analysis: Some(analysis.clone()),
        decision: None,
        analysis_source: Some(source.to_string()),
        followup_delay_seconds: FOLLOWUP_DELAY_SECONDS,
    };
    let mut run = InformationRun {
        http_status: 200,
        output: output.clone(),
        checks: Vec::new(),
        decision: Value::Null,
        contact_id: Some(contact.id),
        message_id: None,
        events: Vec::new(),
    };
    // Suppression and rate limit stop a send the decision would allow (or ask consent for).
    if let (Some(b), DecisionStatus::Send | DecisionStatus::ConsentRequired) = (&blocked, decision.status) {
        output.status = "skipped".into();
        output.code = Some(b.code().into());
        output.question = None;
        output.message = Some(b.message());
    } else if decision.status == DecisionStatus::ConsentRequired {
        output.message = Some("the contact opted out of emails: ask the question, and on a yes grant consent (POST /v1/contacts/{id}/consent) and call the tool again".into());
    } else if decision.status == DecisionStatus::Skipped {
        output.message = decision.reasons.iter().find(|c| !c.passed).map(|c| c.detail.clone());
    }
    let decision_json = serde_json::to_value(&decision).unwrap_or(Value::Null);
    output.decision = Some(decision.clone());
    if output.status != "send" {
        run.output = output;
        run.checks = checks;
        run.decision = decision_json;
        return Ok(run);
    }

    // Translation: the template's variant, else the model, else the original.
    let r = rendered.expect("a send needs an allowed, rendered template");
    let to = recipient.expect("a send needs an address");
    let mut subject = r.subject.text.clone();
    let mut body = r.body.text.clone();
    let mut translated = r.language.is_some();
    let needs_translation = language.as_deref().is_some_and(|l| primary(l) != primary(&settings.default_language)) && r.language.is_none();
    if needs_translation {
        let target = language.clone().unwrap_or_default();
        match llm {
            Some(llm) => match (llm.translate(&subject, &target, false).await, llm.translate(&body, &target, r.html).await) {
                (Ok(s), Ok(b)) => {
                    subject = s.lines().next().unwrap_or("").trim().to_string();
                    body = b;
                    translated = true;
                    check(&mut checks, "translation", true, format!("translated into {target} by the model"));
                }
                (Err(e), _) | (_, Err(e)) => {
                    check(&mut checks, "translation", false, format!("the model could not translate ({}); sent in the original language", e.code()));
                }
            },
            None => check(&mut checks, "translation", false, format!("no template variant for {target} and no model configured; sent in the original language")),
        }
    } else {
        check(&mut checks, "translation", true, match &r.language {
            Some(l) => format!("the template's `{l}` variant"),
            None => "the template's own language".to_string(),
        });
    }
    let email_json = json!({
        "to": to.as_str(),
        "subject": subject,
        "body": body,
        "html": r.html,
        "language": if translated { language.clone() } else { r.language.clone().or(Some(settings.default_language.clone())) },
        "translated": translated,
        "removed_lines": r.body.removed_lines,
        "missing_placeholders": r.body.missing,
    });
    output.email = Some(email_json);

    // The sender: the configured team member's mailbox, else the site's channels.
    let (mailbox, problem, from_name, signature) = match settings.team_member_id {
        Some(member_id) => {
            let member = engine.store().get_team_member(member_id).await.map_err(internal)?.filter(|m| m.site_id == site);
            let Some(member) = member else {
                return Err(InformationError::new(422, "invalid_settings", format!("the configured team member {member_id} does not exist")));
            };
            let mb = engine.store().get_mailbox(member.mailbox_id).await.map_err(internal)?;
            if channel::agent_channel_inactive(&site_settings) {
                (None, None, Some(member.name), member.signature_html)
            } else {
                (mb, None, Some(member.name), member.signature_html)
            }
        }
        None => match channel::agent_channel_mailbox(engine, site, &site_settings).await {
            Ok(mb) => (mb, None, None, None),
            Err(e) => (None, Some(e), None, None),
        },
    };
    let (text, html) = channel::render_bodies(&body, signature.as_deref(), None);
    let email = Email { to: to.clone(), cc: Vec::new(), bcc: Vec::new(), subject: subject.clone(), text, html, from_name };
    let origin = Origin {
        tool: "send_information_email".into(),
        contact_id: Some(contact.id),
        template: template_name.map(str::to_string),
        context: json!({"tool_config": config.map(|c| c.name.clone()), "language": language}),
        fingerprint_subject: r.subject.text.clone(),
        fingerprint_body: r.body.text.clone(),
        tool_config: config.map(|c| c.id),
    };
    match channel::deliver(engine, site, &site_settings, mailbox, problem, &email, &origin, &policy, dry_run, &mut checks).await {
        Ok(d) => {
            output.provider = Some(d.provider.to_string());
            let mut decision_json = decision_json;
            decision_json["provider"] = d.decision();
            if dry_run {
                output.status = "dry_run".into();
                if let Some(e) = output.email.as_mut() {
                    e["from"] = json!(d.sender.to_string());
                    e["rendered"] = d.email.clone();
                }
            } else {
                output.status = "sent".into();
                output.email_id = d.email_id.map(|i| i.to_string());
                output.external_message_id = d.external_message_id.clone();
                if let Some(e) = output.email.as_mut() {
                    e["from"] = json!(d.sender.to_string());
                }
                run.http_status = 201;
                run.message_id = d.message_id;
                let mailbox_id = email_mailbox(engine, d.message_id).await;
                run.events.push(NewEvent::new(
                    site,
                    mailbox_id,
                    SENT_EVENT,
                    json!({
                        "contact_id": contact.id,
                        "email_id": output.email_id,
                        "template": output.template,
                        "to": to.as_str(),
                        "subject": subject,
                        "provider": d.provider,
                        "external_message_id": d.external_message_id,
                        "message_id": d.message_id,
                        "language": output.email.as_ref().and_then(|e| e.get("language")).cloned(),
                        "translated": translated,
                        "followup_delay_seconds": FOLLOWUP_DELAY_SECONDS,
                    }),
                ));
            }
            run.output = output;
            run.checks = checks;
            run.decision = decision_json;
            Ok(run)
        }
        Err(channel::ChannelError::Blocked(b)) => {
            output.status = "skipped".into();
            output.code = Some(b.code().into());
            output.message = Some(b.message());
            run.output = output;
            run.checks = checks;
            run.decision = decision_json;
            Ok(run)
        }
        Err(e @ channel::ChannelError::Refused { .. }) => {
            output.status = "skipped".into();
            output.code = e.refusal_code().map(str::to_string);
            output.message = Some(e.message());
            run.output = output;
            run.checks = checks;
            run.decision = decision_json;
            Ok(run)
        }
        Err(e) => {
            output.status = "failure".into();
            output.code = Some(match e {
                channel::ChannelError::Internal(_) => "internal_error".into(),
                channel::ChannelError::NotConfigured => "email_not_configured".into(),
                _ => "resend_error".into(),
            });
            output.message = Some(e.message());
            run.output = output;
            run.checks = checks;
            run.decision = decision_json;
            Ok(run)
        }
    }
}

async fn email_mailbox(engine: &Engine, message: Option<MessageId>) -> Option<MailboxId> {
    let id = message?;
    engine.store().get_message(id).await.ok().flatten().map(|m| m.mailbox_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_merge_field_by_field_and_name_bad_fields() {
        let site = json!({"enabled": "True", "business_time_zone": "Europe/Madrid",
            "allowed_content": {"confirmation": {"subject": "At [business_name]", "body": "<p>On [date]</p>"}}});
        let s = InformationSettings::merge(&[&site]).unwrap();
        assert!(s.enabled);
        assert_eq!(s.time_zone, Some(chrono_tz::Europe::Madrid));
        assert_eq!(s.templates.len(), 1);
        let s = InformationSettings::merge(&[&site, &json!({"enabled": false, "default_language": "es"})]).unwrap();
        assert!(!s.enabled);
        assert_eq!((s.templates.len(), s.default_language.as_str()), (1, "es"));
        // The seed's form: the templates as a JSON string.
        let s = InformationSettings::merge(&[&json!({"allowed_content": "{\"a\": {\"subject\": \"S\", \"body\": \"B\"}}"})]).unwrap();
        assert!(s.templates.get("a").is_some());
        assert!(InformationSettings::validate(&json!({"enabled": "yes"})).unwrap_err().contains("enabled"));
        assert!(InformationSettings::validate(&json!({"business_time_zone": "Mars/Base"})).unwrap_err().contains("business_time_zone"));
        assert!(InformationSettings::validate(&json!({"allowed_content": ["x"]})).unwrap_err().contains("allowed_content"));
        assert!(InformationSettings::validate(&json!({"templates": {}})).unwrap_err().contains("unknown field"));
    }
}
