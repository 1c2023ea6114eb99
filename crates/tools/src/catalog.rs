//! The three tools as agents see them: input JSON Schemas, descriptions, typed inputs, and
//! function definitions in the shapes OpenAI function calling and Anthropic tool use expect.
//!
//! Each input schema is written once, in a form both providers accept: `additionalProperties:
//! false` everywhere, required fields in `required`, optional fields left out of `required` *and*
//! nullable. OpenAI's strict mode additionally wants every property required, so the OpenAI
//! definition of a strict tool uses [`to_strict`]'s rewrite (all properties required — the
//! optional ones were already nullable); a model then sends `"from": null` where an Anthropic
//! model leaves `from` out, and both validate against the original schema and deserialise to
//! the same typed input.
//!
//! [`validate`] is a small structural validator (`type`, `enum`, `const`, `properties`,
//! `required`, `additionalProperties`, `items`, `anyOf`) — the subset these schemas use — so the
//! crate needs no JSON Schema engine.

use crate::analysis::{Analysis, analysis_schema};
use crate::template::Templates;
use mailroom_core::agent::ToolConfig;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use std::fmt;

/// One of the three agent email tools.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ToolKind {
    /// `send_email` (seed 002): an email to any address, from the site's sending identity.
    SendEmail,
    /// `send_one_to_one_email` (seed 000): an agent-written email to a contact from a team member.
    SendOneToOneEmail,
    /// `send_information_email` (seed 001): an allowed template, filled from the conversation.
    SendInformationEmail,
}

impl ToolKind {
    /// All tools.
    pub const ALL: [ToolKind; 3] = [ToolKind::SendEmail, ToolKind::SendOneToOneEmail, ToolKind::SendInformationEmail];

    /// Returns the tool's name.
    pub fn name(self) -> &'static str {
        match self {
            ToolKind::SendEmail => "send_email",
            ToolKind::SendOneToOneEmail => "send_one_to_one_email",
            ToolKind::SendInformationEmail => "send_information_email",
        }
    }

    /// Returns the tool called `name`.
    pub fn parse(name: &str) -> Option<ToolKind> {
        ToolKind::ALL.into_iter().find(|k| k.name() == name)
    }

    /// Returns the description agents see when the builder gave no prompt.
    pub fn description(self) -> &'static str {
        match self {
            ToolKind::SendEmail => {
                "Sends an email to an email address from the site's configured sender (its agent mailbox, or its \
                 SMTP account as a fallback), with the agent's signature appended. Use it to write to leads, \
                 customers or any address. The message may be plain text or HTML. Set dry_run to check the inputs \
                 and see what would be sent without sending."
            }
            ToolKind::SendOneToOneEmail => {
                "Sends a personal one-to-one email that you write to a contact, from a team member (by default the \
                 person who owns the relationship). Tailor the subject, preview and body to the contact's situation. \
                 The email is skipped when the contact opted out of such emails or when the same content was already \
                 sent. Set dry_run to see what would be sent without sending."
            }
            ToolKind::SendInformationEmail => {
                "Sends an informational email built from one of the site's allowed templates, with its placeholders \
                 filled from the conversation, when the user's address is known and confirmed and you promised to \
                 send it. Pass the conversation transcript (Mailroom analyses it), or your own analysis. If the user \
                 opted out of emails, the result tells you the question to ask for consent first. Set dry_run to see \
                 what would be sent without sending."
            }
        }
    }

    /// Returns the input JSON Schema. `templates` matter for `send_information_email` only: its
    /// `analysis` is [`analysis_schema`]`(templates)`.
    pub fn input_schema(self, templates: &Templates) -> Value {
        match self {
            ToolKind::SendEmail => send_email_schema(),
            ToolKind::SendOneToOneEmail => send_one_to_one_email_schema(),
            ToolKind::SendInformationEmail => send_information_email_schema(templates),
        }
    }
}

impl fmt::Display for ToolKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

fn string(description: &str) -> Value {
    json!({"type": "string", "description": description})
}

fn optional_string(description: &str) -> Value {
    json!({"type": ["string", "null"], "description": description})
}

fn dry_run() -> Value {
    json!({
        "type": ["boolean", "null"],
        "description": "When true, every check runs and the result shows what would be sent, but nothing is sent. \
                        Default false."
    })
}

fn object(properties: Vec<(&str, Value)>, required: &[&str]) -> Value {
    let mut props = Map::new();
    for (name, schema) in properties {
        props.insert(name.to_string(), schema);
    }
    json!({"type": "object", "properties": props, "required": required, "additionalProperties": false})
}

/// Returns the input schema of `send_email` (seed 002).
pub fn send_email_schema() -> Value {
    object(
        vec![
            ("email", string("Recipient email address.")),
            ("subject", string("Email subject line.")),
            ("message", string("Email message content, plain text or HTML.")),
            ("site_id", string("Site ID whose email configuration sends the email.")),
            ("from", optional_string("Sender display name; the sender address comes from the site's configuration.")),
            ("agent_id", optional_string("Agent ID, for logging and tracking.")),
            ("conversation_id", optional_string("Conversation ID, for context tracking.")),
            ("lead_id", optional_string("Lead ID, for relationship tracking.")),
            ("dry_run", dry_run()),
        ],
        &["email", "subject", "message", "site_id"],
    )
}

/// Returns the input schema of `send_one_to_one_email` (seed 000).
pub fn send_one_to_one_email_schema() -> Value {
    let recipients = |description: &str| {
        json!({
            "anyOf": [{"type": "array", "items": {"type": "string"}}, {"type": "null"}],
            "description": description,
        })
    };
    object(
        vec![
            ("send_to", string("The contact ID of the user to email.")),
            (
                "send_from",
                optional_string(
                    "The team member ID to send as. Default: the builder's sender rule, normally the team member who \
                     owns the relationship.",
                ),
            ),
            ("subject", string("The subject line you wrote for this contact.")),
            ("preview", optional_string("Optional preview text shown after the subject in the inbox.")),
            ("body", string("The email body you wrote for this contact, HTML or plain text.")),
            ("cc", recipients("Optional CC email addresses, added to the builder's defaults.")),
            ("bcc", recipients("Optional BCC email addresses, added to the builder's defaults.")),
            ("dry_run", dry_run()),
        ],
        &["send_to", "subject", "body"],
    )
}

/// Returns the input schema of `send_information_email` (seed 001) for the allowed `templates`.
pub fn send_information_email_schema(templates: &Templates) -> Value {
    let mut analysis = analysis_schema(templates);
    let description = analysis.as_object_mut().and_then(|o| o.remove("description"));
    // A caller's own analysis may leave out the placeholders it has no value for (absent is
    // null); the strict form for OpenAI lists them all again (see `to_strict`).
    if let Some(Value::Object(placeholders)) = analysis.pointer_mut("/properties/placeholders") {
        placeholders.insert("required".into(), json!([]));
    }
    object(
        vec![
            ("contact_id", string("The contact ID of the user to email.")),
            (
                "conversation",
                optional_string(
                    "The conversation transcript so far, one turn per line (`user: …`, `agent: …`). Required unless \
                     analysis is given; Mailroom analyses it to decide whether to send and to fill the template.",
                ),
            ),
            (
                "analysis",
                json!({
                    "anyOf": [analysis, {"type": "null"}],
                    "description": format!(
                        "{} Give it to skip Mailroom's own analysis of the conversation; Mailroom still checks every \
                         condition itself.",
                        description.as_ref().and_then(Value::as_str).unwrap_or("Your analysis of the conversation.")
                    ),
                }),
            ),
            (
                "language",
                optional_string(
                    "The language to send in, as a language tag such as `es` or `pt-BR`. Default: the contact's \
                     language. A template variant in that language is used, else the email is translated.",
                ),
            ),
            ("dry_run", dry_run()),
        ],
        &["contact_id"],
    )
}

/// The input of `send_email`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SendEmailInput {
    /// Recipient email address.
    pub email: String,
    /// Subject line.
    pub subject: String,
    /// Message, plain text or HTML.
    pub message: String,
    /// Site whose configuration sends.
    pub site_id: String,
    /// Sender display name.
    #[serde(default)]
    pub from: Option<String>,
    /// Agent ID.
    #[serde(default)]
    pub agent_id: Option<String>,
    /// Conversation ID.
    #[serde(default)]
    pub conversation_id: Option<String>,
    /// Lead ID.
    #[serde(default)]
    pub lead_id: Option<String>,
    /// Check without sending.
    #[serde(default)]
    pub dry_run: Option<bool>,
}

/// The input of `send_one_to_one_email`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SendOneToOneEmailInput {
    /// Contact ID of the recipient.
    pub send_to: String,
    /// Team member ID of the sender.
    #[serde(default)]
    pub send_from: Option<String>,
    /// Subject line.
    pub subject: String,
    /// Preview text.
    #[serde(default)]
    pub preview: Option<String>,
    /// Body, HTML or plain text.
    pub body: String,
    /// CC addresses.
    #[serde(default)]
    pub cc: Option<Vec<String>>,
    /// BCC addresses.
    #[serde(default)]
    pub bcc: Option<Vec<String>>,
    /// Check without sending.
    #[serde(default)]
    pub dry_run: Option<bool>,
}

/// The input of `send_information_email`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SendInformationEmailInput {
    /// Contact ID of the recipient.
    pub contact_id: String,
    /// The conversation transcript.
    #[serde(default)]
    pub conversation: Option<String>,
    /// The caller's own analysis.
    #[serde(default)]
    pub analysis: Option<Analysis>,
    /// Language tag to send in.
    #[serde(default)]
    pub language: Option<String>,
    /// Check without sending.
    #[serde(default)]
    pub dry_run: Option<bool>,
}

/// Checks `input` for tool `kind`: the schema, then the rules a schema cannot say (a
/// `send_information_email` needs a non-empty `conversation` or an `analysis`).
pub fn validate_input(kind: ToolKind, templates: &Templates, input: &Value) -> Result<(), Vec<SchemaError>> {
    validate(&kind.input_schema(templates), input)?;
    if kind == ToolKind::SendInformationEmail {
        let has_conversation = input.get("conversation").and_then(Value::as_str).is_some_and(|c| !c.trim().is_empty());
        let has_analysis = input.get("analysis").is_some_and(|a| !a.is_null());
        if !has_conversation && !has_analysis {
            return Err(vec![SchemaError {
                path: String::new(),
                message: "give the conversation transcript in `conversation`, or your own `analysis`".into(),
            }]);
        }
    }
    Ok(())
}

/// Why a tool configuration cannot be offered to agents.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CatalogError {
    /// The configured tool is not one of the three.
    #[error("`{0}` is not a tool: use send_email, send_one_to_one_email or send_information_email")]
    UnknownTool(String),
    /// The name is not a valid function name for the providers.
    #[error("`{0}` is not a valid tool name: use 1 to 64 ASCII letters, digits, `_` or `-`")]
    InvalidName(String),
}

/// A tool as offered to a model: its name, description and input schema.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolSpec {
    /// The function name the model calls.
    pub name: String,
    /// The underlying tool.
    pub kind: ToolKind,
    /// What the model reads to decide when and how to call it.
    pub description: String,
    /// The input schema (the provider-neutral form; see the [module docs](self)).
    pub input_schema: Value,
    /// Whether to ask OpenAI for strict function calling.
    pub strict: bool,
}

impl ToolSpec {
    /// Returns the tool under its own name and description, strict.
    pub fn builtin(kind: ToolKind, templates: &Templates) -> ToolSpec {
        ToolSpec {
            name: kind.name().into(),
            kind,
            description: kind.description().into(),
            input_schema: kind.input_schema(templates),
            strict: true,
        }
    }

    /// Returns a builder-configured tool: named after the config, described by its prompt (the
    /// tool's own description when the prompt is empty), strict.
    pub fn from_config(config: &ToolConfig, templates: &Templates) -> Result<ToolSpec, CatalogError> {
        let kind = ToolKind::parse(&config.tool).ok_or_else(|| CatalogError::UnknownTool(config.tool.clone()))?;
        let name = &config.name;
        let valid =
            (1..=64).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if !valid {
            return Err(CatalogError::InvalidName(name.clone()));
        }
        let prompt = config.prompt.trim();
        Ok(ToolSpec {
            name: name.clone(),
            kind,
            description: if prompt.is_empty() { kind.description().into() } else { prompt.into() },
            input_schema: kind.input_schema(templates),
            strict: true,
        })
    }
}

/// Function definitions for both providers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FunctionDefinitions {
    /// OpenAI function calling: `{type: "function", function: {name, description, parameters, strict?}}`.
    pub openai: Vec<Value>,
    /// Anthropic tool use: `{name, description, input_schema}`.
    pub anthropic: Vec<Value>,
}

/// Returns the definitions of `tools` for OpenAI and Anthropic.
pub fn function_definitions(tools: &[ToolSpec]) -> FunctionDefinitions {
    FunctionDefinitions {
        openai: tools
            .iter()
            .map(|t| {
                let mut function = json!({
                    "name": t.name,
                    "description": t.description,
                    "parameters": if t.strict { to_strict(&t.input_schema) } else { t.input_schema.clone() },
                });
                if t.strict {
                    function["strict"] = json!(true);
                }
                json!({"type": "function", "function": function})
            })
            .collect(),
        anthropic: tools
            .iter()
            .map(|t| json!({"name": t.name, "description": t.description, "input_schema": t.input_schema}))
            .collect(),
    }
}

/// Returns `schema` rewritten for OpenAI's strict mode: in every object, every property is
/// required and `additionalProperties` is `false`; a property that was optional is made
/// nullable if it was not already.
pub fn to_strict(schema: &Value) -> Value {
    let Value::Object(map) = schema else { return schema.clone() };
    let mut out = Map::new();
    for (key, value) in map {
        let value = match key.as_str() {
            "properties" => match value {
                Value::Object(props) => {
                    let required: Vec<&str> = map
                        .get("required")
                        .and_then(Value::as_array)
                        .map_or(Vec::new(), |r| r.iter().filter_map(Value::as_str).collect());
                    Value::Object(
                        props
                            .iter()
                            .map(|(name, s)| {
                                let s = to_strict(s);
                                let s = if required.contains(&name.as_str()) { s } else { nullable(s) };
                                (name.clone(), s)
                            })
                            .collect(),
                    )
                }
                other => other.clone(),
            },
            "items" | "additionalProperties" if value.is_object() => to_strict(value),
            "anyOf" | "allOf" | "oneOf" => match value {
                Value::Array(branches) => Value::Array(branches.iter().map(to_strict).collect()),
                other => other.clone(),
            },
            "$defs" | "definitions" => match value {
                Value::Object(defs) => Value::Object(defs.iter().map(|(k, v)| (k.clone(), to_strict(v))).collect()),
                other => other.clone(),
            },
            _ => value.clone(),
        };
        out.insert(key.clone(), value);
    }
    if let Some(Value::Object(props)) = out.get("properties") {
        let all: Vec<Value> = props.keys().map(|k| Value::String(k.clone())).collect();
        out.insert("required".into(), Value::Array(all));
        out.insert("additionalProperties".into(), Value::Bool(false));
    }
    Value::Object(out)
}

fn accepts_null(schema: &Value) -> bool {
    match schema.get("type") {
        Some(Value::String(t)) => t == "null",
        Some(Value::Array(types)) => types.iter().any(|t| t == "null"),
        _ => schema.get("anyOf").and_then(Value::as_array).is_some_and(|b| b.iter().any(accepts_null)),
    }
}

fn nullable(schema: Value) -> Value {
    if accepts_null(&schema) {
        return schema;
    }
    match schema.get("type").cloned() {
        Some(Value::String(t)) if !matches!(t.as_str(), "object" | "array") && schema.get("enum").is_none() => {
            let mut s = schema;
            s["type"] = json!([t, "null"]);
            s
        }
        _ => {
            let mut inner = schema;
            let description = inner.as_object_mut().and_then(|o| o.remove("description"));
            let mut s = json!({"anyOf": [inner, {"type": "null"}]});
            if let Some(d) = description {
                s["description"] = d;
            }
            s
        }
    }
}

/// Returns where `schema` breaks OpenAI's strict-mode rules: the root must be an object schema
/// (not `anyOf`), and every object must list all its properties in `required` and set
/// `additionalProperties: false`. Empty when it complies.
pub fn strict_violations(schema: &Value) -> Vec<String> {
    let mut out = Vec::new();
    if schema.get("type") != Some(&json!("object")) {
        out.push("the root must be `\"type\": \"object\"`".to_string());
    }
    strict_walk(schema, "", &mut out);
    out
}

fn strict_walk(schema: &Value, path: &str, out: &mut Vec<String>) {
    let Value::Object(map) = schema else { return };
    let is_object = match map.get("type") {
        Some(Value::String(t)) => t == "object",
        Some(Value::Array(ts)) => ts.iter().any(|t| t == "object"),
        _ => map.contains_key("properties"),
    };
    if is_object {
        let where_ = if path.is_empty() { "/" } else { path };
        if map.get("additionalProperties") != Some(&Value::Bool(false)) {
            out.push(format!("{where_}: `additionalProperties` must be false"));
        }
        let props: Vec<&String> =
            map.get("properties").and_then(Value::as_object).map_or(Vec::new(), |p| p.keys().collect());
        let required: Vec<&str> = map
            .get("required")
            .and_then(Value::as_array)
            .map_or(Vec::new(), |r| r.iter().filter_map(Value::as_str).collect());
        for p in &props {
            if !required.contains(&p.as_str()) {
                out.push(format!("{where_}: property `{p}` must be required"));
            }
        }
        for r in &required {
            if !props.iter().any(|p| p == r) {
                out.push(format!("{where_}: `{r}` is required but not a property"));
            }
        }
    }
    if let Some(Value::Object(props)) = map.get("properties") {
        for (name, s) in props {
            strict_walk(s, &format!("{path}/{name}"), out);
        }
    }
    if let Some(items) = map.get("items") {
        strict_walk(items, &format!("{path}/items"), out);
    }
    for key in ["anyOf", "allOf", "oneOf"] {
        if let Some(Value::Array(branches)) = map.get(key) {
            for (i, b) in branches.iter().enumerate() {
                strict_walk(b, &format!("{path}/{key}/{i}"), out);
            }
        }
    }
}

/// A value that does not match a schema.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SchemaError {
    /// Where, as a JSON Pointer (`/analysis/template`; empty for the whole value).
    pub path: String,
    /// What is wrong, as a sentence fragment.
    pub message: String,
}

impl fmt::Display for SchemaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() { f.write_str(&self.message) } else { write!(f, "{}: {}", self.path, self.message) }
    }
}

/// Checks `value` against `schema`, using the keywords `type`, `enum`, `const`, `properties`,
/// `required`, `additionalProperties` (boolean or schema), `items` and `anyOf`; other keywords
/// are ignored. Returns every error found.
pub fn validate(schema: &Value, value: &Value) -> Result<(), Vec<SchemaError>> {
    let mut errors = Vec::new();
    validate_at(schema, value, "", &mut errors);
    if errors.is_empty() { Ok(()) } else { Err(errors) }
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn type_matches(ty: &str, value: &Value) -> bool {
    let actual = type_name(value);
    ty == actual
        || (ty == "number" && actual == "integer")
        || (ty == "integer" && value.as_f64().is_some_and(|f| f.fract() == 0.0))
}

fn validate_at(schema: &Value, value: &Value, path: &str, errors: &mut Vec<SchemaError>) {
    let Value::Object(s) = schema else { return };
    let mut err = |message: String| errors.push(SchemaError { path: path.to_string(), message });
    if let Some(ty) = s.get("type") {
        let types: Vec<&str> = match ty {
            Value::String(t) => vec![t.as_str()],
            Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
            _ => vec![],
        };
        if !types.is_empty() && !types.iter().any(|t| type_matches(t, value)) {
            err(format!("expected {}, found {}", types.join(" or "), type_name(value)));
            return;
        }
    }
    if let Some(Value::Array(allowed)) = s.get("enum")
        && !allowed.contains(value)
    {
        let list: Vec<String> = allowed.iter().map(Value::to_string).collect();
        err(format!("{value} is not one of {}", list.join(", ")));
    }
    if let Some(c) = s.get("const")
        && c != value
    {
        err(format!("expected {c}"));
    }
    if let Some(Value::Array(branches)) = s.get("anyOf") {
        let mut best: Option<Vec<SchemaError>> = None;
        for b in branches {
            let mut e = Vec::new();
            validate_at(b, value, path, &mut e);
            if e.is_empty() {
                best = None;
                break;
            }
            if best.as_ref().is_none_or(|x| e.len() < x.len()) {
                best = Some(e);
            }
        }
        if let Some(e) = best {
            errors.extend(e);
        }
    }
    if let Value::Object(obj) = value {
        let props = s.get("properties").and_then(Value::as_object);
        if let Some(Value::Array(required)) = s.get("required") {
            for r in required.iter().filter_map(Value::as_str) {
                if !obj.contains_key(r) {
                    errors.push(SchemaError { path: path.to_string(), message: format!("`{r}` is required") });
                }
            }
        }
        for (k, v) in obj {
            let child = format!("{path}/{k}");
            match props.and_then(|p| p.get(k)) {
                Some(ps) => validate_at(ps, v, &child, errors),
                None => match s.get("additionalProperties") {
                    Some(Value::Bool(false)) => errors.push(SchemaError {
                        path: path.to_string(),
                        message: format!("`{k}` is not a known property"),
                    }),
                    Some(extra @ Value::Object(_)) => validate_at(extra, v, &child, errors),
                    _ => {}
                },
            }
        }
    }
    if let (Value::Array(items), Some(item_schema)) = (value, s.get("items")) {
        for (i, item) in items.iter().enumerate() {
            validate_at(item_schema, item, &format!("{path}/{i}"), errors);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;
    use mailroom_core::{SiteId, ToolConfigId};

    fn seed_templates() -> Templates {
        Templates::parse(&json!({
            "appointment_confirmation": {
                "subject": "Your appointment at [business_name]",
                "body": "<p>Hi,</p><p>Your appointment is confirmed for [appointment_date] at [appointment_time].</p><p>Address: [address]</p><p>See you there!</p>"
            }
        }))
        .unwrap()
    }

    /// The three `send_email` examples of seed 002, verbatim.
    fn seed_002_examples() -> Vec<Value> {
        vec![
            json!({
                "email": "customer@example.com",
                "subject": "Thank you for your interest",
                "message": "Dear Customer,\n\nThank you for reaching out to us. We will get back to you soon.\n\nBest regards,\nSupport Team",
                "site_id": "site-12345"
            }),
            json!({
                "email": "lead@company.com",
                "from": "Sales Team",
                "subject": "Follow-up on your inquiry",
                "message": "Hi there,\n\nWe wanted to follow up on your recent inquiry about our services...",
                "site_id": "site-12345",
                "agent_id": "agent-abc123",
                "conversation_id": "conv-xyz789",
                "lead_id": "lead-456"
            }),
            json!({
                "email": "client@business.com",
                "subject": "Your proposal is ready",
                "message": "<h1>Hello!</h1><p>Your custom proposal is ready for review.</p><ul><li>Feature 1</li><li>Feature 2</li></ul>",
                "site_id": "site-12345"
            }),
        ]
    }

    fn one_to_one_example() -> Value {
        json!({
            "send_to": "0195f0c2-7a1e-7c3d-9a53-2b3c4d5e6f70",
            "send_from": "0195f0c2-7a1e-7c3d-9a53-2b3c4d5e6f71",
            "subject": "Welcome to Pro, Tom",
            "preview": "A quick note from your success manager",
            "body": "<p>Hi Tom,</p><p>Congratulations on moving to the Pro plan!</p>",
            "cc": ["csm-team@example.com"],
            "bcc": []
        })
    }

    fn information_example() -> Value {
        json!({
            "contact_id": "0195f0c2-7a1e-7c3d-9a53-2b3c4d5e6f70",
            "conversation": "agent: Your appointment is booked for Tuesday at 14:30.\nuser: Great, please email me.\nagent: I will send you a confirmation email now.",
            "language": "en"
        })
    }

    #[test]
    fn seed_examples_validate_and_deserialise() {
        let templates = seed_templates();
        for example in seed_002_examples() {
            validate_input(ToolKind::SendEmail, &templates, &example).unwrap();
            let input: SendEmailInput = serde_json::from_value(example).unwrap();
            assert_eq!(input.site_id, "site-12345");
        }
        validate_input(ToolKind::SendOneToOneEmail, &templates, &one_to_one_example()).unwrap();
        let input: SendOneToOneEmailInput = serde_json::from_value(one_to_one_example()).unwrap();
        assert_eq!(input.cc.as_deref(), Some(&["csm-team@example.com".to_string()][..]));
        validate_input(ToolKind::SendInformationEmail, &templates, &information_example()).unwrap();
        let input: SendInformationEmailInput = serde_json::from_value(information_example()).unwrap();
        assert!(input.analysis.is_none());
    }

    #[test]
    fn information_email_with_the_seed_analysis_instead_of_a_conversation() {
        let templates = seed_templates();
        let input = json!({
            "contact_id": "c-1",
            "analysis": {
                "user_email_presence": true, "user_correctness_agreement": true, "convo_agent_promise": true,
                "email_subject": "Your appointment at Clínica Sol", "email_body": "<p>Hi,</p>",
                "is_duplicate": false, "information_is_allowed_to_be_sent": true, "agent_must_send_email": true,
                "template": "appointment_confirmation",
                "placeholders": {"business_name": "Clínica Sol", "appointment_date": "2026-03-03",
                                 "appointment_time": "14:30", "address": null}
            },
            "dry_run": true
        });
        validate_input(ToolKind::SendInformationEmail, &templates, &input).unwrap();
        let parsed: SendInformationEmailInput = serde_json::from_value(input.clone()).unwrap();
        assert_eq!(parsed.analysis.unwrap().template.as_deref(), Some("appointment_confirmation"));

        let mut wrong_template = input.clone();
        wrong_template["analysis"]["template"] = json!("refund");
        let errors = validate_input(ToolKind::SendInformationEmail, &templates, &wrong_template).unwrap_err();
        assert!(errors.iter().any(|e| e.path == "/analysis/template"), "{errors:?}");

        let neither = json!({"contact_id": "c-1", "conversation": "  ", "analysis": null});
        let errors = validate_input(ToolKind::SendInformationEmail, &templates, &neither).unwrap_err();
        assert!(errors[0].message.contains("conversation"));
    }

    #[test]
    fn invalid_inputs_are_reported_with_paths() {
        let t = Templates::default();
        let errors =
            validate_input(ToolKind::SendEmail, &t, &json!({"email": "a@b.c", "subject": 3, "site": "x"})).unwrap_err();
        let shown: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert!(shown.contains(&"`message` is required".to_string()), "{shown:?}");
        assert!(shown.contains(&"`site_id` is required".to_string()), "{shown:?}");
        assert!(shown.contains(&"/subject: expected string, found integer".to_string()), "{shown:?}");
        assert!(shown.contains(&"`site` is not a known property".to_string()), "{shown:?}");
        let errors = validate_input(
            ToolKind::SendOneToOneEmail,
            &t,
            &json!({"send_to": "c", "subject": "s", "body": "b", "cc": ["x", 1]}),
        )
        .unwrap_err();
        assert_eq!(errors[0].path, "/cc/1");
        assert!(validate_input(ToolKind::SendEmail, &t, &json!("not an object")).is_err());
        let nulls =
            json!({"email": "a@b.c", "subject": "s", "message": "m", "site_id": "x", "from": null, "dry_run": null});
        validate_input(ToolKind::SendEmail, &t, &nulls).unwrap();
        let parsed: SendEmailInput = serde_json::from_value(nulls).unwrap();
        assert_eq!((parsed.from, parsed.dry_run), (None, None));
    }

    #[test]
    fn provider_shapes() {
        let templates = seed_templates();
        let specs: Vec<ToolSpec> = ToolKind::ALL.iter().map(|k| ToolSpec::builtin(*k, &templates)).collect();
        let defs = function_definitions(&specs);
        assert_eq!(defs.openai.len(), 3);
        assert_eq!(defs.anthropic.len(), 3);
        for (kind, (openai, anthropic)) in ToolKind::ALL.iter().zip(defs.openai.iter().zip(&defs.anthropic)) {
            assert_eq!(openai["type"], "function");
            let f = openai["function"].as_object().unwrap();
            let mut keys: Vec<&str> = f.keys().map(String::as_str).collect();
            keys.sort();
            assert_eq!(keys, ["description", "name", "parameters", "strict"]);
            assert_eq!(f["name"], kind.name());
            assert_eq!(f["strict"], true);
            assert_eq!(strict_violations(&f["parameters"]), Vec::<String>::new(), "{kind}");
            let a = anthropic.as_object().unwrap();
            let mut keys: Vec<&str> = a.keys().map(String::as_str).collect();
            keys.sort();
            assert_eq!(keys, ["description", "input_schema", "name"]);
            assert_eq!(a["input_schema"], kind.input_schema(&templates));
            assert_eq!(a["input_schema"]["type"], "object");
        }
        // The strict form requires everything; the optional fields were already nullable.
        let strict = &defs.openai[0]["function"]["parameters"];
        assert_eq!(strict["required"].as_array().unwrap().len(), 9);
        assert_eq!(strict["properties"]["from"]["type"], json!(["string", "null"]));
        // Seed inputs, with the omitted fields as null (what a strict model sends), still validate.
        let mut with_nulls = seed_002_examples()[0].clone();
        for k in ["from", "agent_id", "conversation_id", "lead_id", "dry_run"] {
            with_nulls[k] = Value::Null;
        }
        validate(strict, &with_nulls).unwrap();
        validate(&send_email_schema(), &with_nulls).unwrap();

        let non_strict = ToolSpec { strict: false, ..specs[0].clone() };
        let defs = function_definitions(&[non_strict]);
        assert!(defs.openai[0]["function"].get("strict").is_none());
        assert_eq!(defs.openai[0]["function"]["parameters"], send_email_schema());
    }

    #[test]
    fn schemas_are_shaped_for_both_providers() {
        let templates = seed_templates();
        for kind in ToolKind::ALL {
            let schema = kind.input_schema(&templates);
            // Every optional property accepts null; every object closes its properties.
            let required: Vec<&str> = schema["required"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
            for (name, s) in schema["properties"].as_object().unwrap() {
                assert!(s["description"].is_string(), "{kind}.{name} has a description");
                if !required.contains(&name.as_str()) {
                    assert!(accepts_null(s), "{kind}.{name} is optional, so nullable");
                }
            }
            assert!(schema["properties"]["dry_run"].is_object(), "{kind} has dry_run");
            let violations = strict_violations(&schema);
            assert!(violations.iter().all(|v| v.contains("must be required")), "{violations:?}");
            assert_eq!(to_strict(&to_strict(&schema)), to_strict(&schema), "the rewrite is idempotent");
        }
        let info = ToolKind::SendInformationEmail.input_schema(&templates);
        // The analysis is the model's schema, except that a caller may leave placeholders out;
        // the strict form (what OpenAI gets) is the model's schema again.
        let mut want = analysis_schema(&templates);
        want.as_object_mut().unwrap().remove("description");
        let mut strict = to_strict(&info["properties"]["analysis"]["anyOf"][0]);
        let sorted = |v: &Value| {
            let mut names: Vec<String> = v.as_array().unwrap().iter().map(|n| n.as_str().unwrap().to_string()).collect();
            names.sort();
            names
        };
        let placeholders_required = strict["properties"]["placeholders"]["required"].take();
        assert_eq!(sorted(&placeholders_required), sorted(&want["properties"]["placeholders"]["required"]));
        want["properties"]["placeholders"]["required"] = json!([]);
        strict["properties"]["placeholders"]["required"] = json!([]);
        assert_eq!(strict, want);
        assert_eq!(info["properties"]["analysis"]["anyOf"][0], want);
    }

    #[test]
    fn strictness_rewrite_and_check() {
        let loose = json!({
            "type": "object",
            "properties": {
                "a": {"type": "string"},
                "b": {"type": "object", "properties": {"c": {"type": "integer"}}},
                "d": {"type": "array", "items": {"type": "object", "properties": {"e": {"type": "boolean"}}, "required": ["e"]}},
                "f": {"type": "string", "enum": ["x", "y"]}
            },
            "required": ["a"]
        });
        let violations = strict_violations(&loose);
        assert_eq!(violations.len(), 7, "{violations:?}");
        let strict = to_strict(&loose);
        assert_eq!(strict_violations(&strict), Vec::<String>::new());
        assert_eq!(strict["properties"]["b"]["anyOf"][1], json!({"type": "null"}));
        assert_eq!(strict["properties"]["f"]["anyOf"][0]["enum"], json!(["x", "y"]));
        assert_eq!(strict["properties"]["a"], json!({"type": "string"}), "required stays non-null");
        assert_eq!(strict_violations(&json!({"anyOf": []})).len(), 1);
    }

    #[test]
    fn validator_keywords() {
        let schema = json!({
            "type": "object",
            "properties": {
                "n": {"type": "number"},
                "i": {"type": "integer"},
                "c": {"const": "k"},
                "e": {"enum": [1, "two", null]},
                "any": {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]},
                "free": {"type": "object", "additionalProperties": {"type": "boolean"}}
            },
            "additionalProperties": true
        });
        validate(
            &schema,
            &json!({"n": 1, "i": 2.0, "c": "k", "e": null, "any": ["x"], "free": {"x": true}, "extra": 1}),
        )
        .unwrap();
        let errors =
            validate(&schema, &json!({"n": "1", "i": 2.5, "c": "j", "e": 3, "any": 4, "free": {"x": 1}})).unwrap_err();
        let paths: Vec<&str> = errors.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(paths, ["/any", "/c", "/e", "/free/x", "/i", "/n"], "{errors:?}");
    }

    #[test]
    fn configured_tools() {
        let templates = seed_templates();
        let config = |name: &str, tool: &str, prompt: &str| ToolConfig {
            id: ToolConfigId::new(),
            site_id: SiteId::new(),
            name: name.into(),
            tool: tool.into(),
            prompt: prompt.into(),
            settings: json!({}),
            created_at: Utc::now(),
            updated_at: Utc::now(),
        };
        let spec = ToolSpec::from_config(
            &config("welcome_followup", "send_one_to_one_email", " Use after an upgrade. "),
            &templates,
        )
        .unwrap();
        assert_eq!(
            (spec.name.as_str(), spec.kind, spec.description.as_str()),
            ("welcome_followup", ToolKind::SendOneToOneEmail, "Use after an upgrade.")
        );
        assert_eq!(spec.input_schema, send_one_to_one_email_schema());
        let spec = ToolSpec::from_config(&config("info", "send_information_email", ""), &templates).unwrap();
        assert_eq!(spec.description, ToolKind::SendInformationEmail.description());
        assert_eq!(
            ToolSpec::from_config(&config("x", "send_fax", "p"), &templates),
            Err(CatalogError::UnknownTool("send_fax".into()))
        );
        assert_eq!(
            ToolSpec::from_config(&config("has space", "send_email", "p"), &templates),
            Err(CatalogError::InvalidName("has space".into()))
        );
        assert_eq!(ToolKind::parse("send_email"), Some(ToolKind::SendEmail));
        assert_eq!(ToolKind::parse("nope"), None);
        assert_eq!(serde_json::to_value(ToolKind::SendOneToOneEmail).unwrap(), "send_one_to_one_email");
    }
}
