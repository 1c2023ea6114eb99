//! The conversation analysis behind `send_information_email` (seed 001): the object a model
//! fills from the conversation (or an agent passes in), and the JSON Schema that makes a model
//! fill it.
//!
//! The schema is written for OpenAI's strict structured outputs, the strictest common subset
//! of what providers accept: every object lists all its properties in `required` and has
//! `additionalProperties: false`; optional values are nullable instead of absent; only `type`,
//! `enum`, `properties`, `required`, `additionalProperties` and `description` are used (no
//! `$schema`, `format` or length limits, which strict mode rejects or ignores). `placeholders`
//! is one object holding the union of every template's placeholder names, each a nullable
//! string, rather than an `anyOf` per template: an `anyOf` branch cannot be tied to the chosen
//! `template`, so it would constrain nothing more, while the union keeps one flat object the
//! model can always fill. Which placeholders belong to which template is in each property's
//! description, and rendering ignores the ones a template does not use.

use crate::template::Templates;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

/// The name the analysis schema is sent under (`response_format.json_schema.name`).
pub const ANALYSIS_SCHEMA_NAME: &str = "send_information_email_analysis";

/// The analysis of a conversation: seed 001's fields, verbatim, plus the template chosen and its
/// placeholder values.
///
/// Every flag is a claim by the model or the calling agent; [`crate::decision::recompute`]
/// checks each against what the server knows before anything is sent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Analysis {
    /// Whether the user's email address is available.
    pub user_email_presence: bool,
    /// Whether the user confirmed the email address is correct.
    pub user_correctness_agreement: bool,
    /// Whether the agent explicitly promised to send an email.
    pub convo_agent_promise: bool,
    /// The subject line for the email.
    pub email_subject: String,
    /// The HTML body of the email.
    pub email_body: String,
    /// Whether similar content was already sent.
    pub is_duplicate: bool,
    /// Whether the content matches an allowed template.
    pub information_is_allowed_to_be_sent: bool,
    /// The final decision: `true` if the email should be sent.
    pub agent_must_send_email: bool,
    /// The allowed template the content matches, if any.
    #[serde(default)]
    pub template: Option<String>,
    /// The placeholder values taken from the conversation; `null` when unknown.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub placeholders: Map<String, Value>,
}

/// Seed 001's description of each boolean and text field, in schema order.
const FIELDS: &[(&str, &str, &str)] = &[
    ("user_email_presence", "boolean", "Whether the user's email address is available."),
    (
        "user_correctness_agreement",
        "boolean",
        "Whether the user confirmed in the conversation that the email address is correct.",
    ),
    ("convo_agent_promise", "boolean", "Whether the agent explicitly promised in the conversation to send an email."),
    (
        "email_subject",
        "string",
        "The subject line for the email: the chosen template's subject with its placeholders filled.",
    ),
    ("email_body", "string", "The HTML body of the email: the chosen template's body with its placeholders filled."),
    ("is_duplicate", "boolean", "Whether similar content was already sent to the user in this conversation."),
    ("information_is_allowed_to_be_sent", "boolean", "Whether the content matches one of the allowed templates."),
    (
        "agent_must_send_email",
        "boolean",
        "Final decision: true if the email should be sent, that is when the address is available and \
         confirmed, the agent promised to send it, the content is allowed and it is not a duplicate.",
    ),
];

/// Returns the JSON Schema of [`Analysis`] for the allowed `templates`: `template` is an enum of
/// their names (or `null`), and `placeholders` has one nullable string per placeholder name used
/// by any of them. See the [module docs](self) for why the schema has this shape.
pub fn analysis_schema(templates: &Templates) -> Value {
    let mut properties = Map::new();
    for (name, ty, description) in FIELDS {
        properties.insert(name.to_string(), json!({"type": ty, "description": description}));
    }

    let names: Vec<Value> = templates.names().map(|n| Value::String(n.to_string())).collect();
    let listing: Vec<String> = templates
        .iter()
        .map(|(name, t)| format!("`{name}` (subject: {:?}, placeholders: {})", t.subject, t.placeholders().join(", ")))
        .collect();
    let template = if names.is_empty() {
        json!({"type": "null", "description": "No template is allowed, so this is always null."})
    } else {
        let mut values = names;
        values.push(Value::Null);
        json!({
            "type": ["string", "null"],
            "enum": values,
            "description": format!(
                "The allowed template the information matches, or null when none does. Allowed templates: {}.",
                listing.join("; ")
            ),
        })
    };
    properties.insert("template".into(), template);

    // Placeholder name → the templates using it, in name order.
    let mut users: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut order: Vec<String> = Vec::new();
    for (name, t) in templates.iter() {
        for p in t.placeholders() {
            if !users.contains_key(&p) {
                order.push(p.clone());
            }
            users.entry(p).or_default().push(name.to_string());
        }
    }
    let mut slots = Map::new();
    for p in &order {
        slots.insert(
            p.clone(),
            json!({
                "type": ["string", "null"],
                "description": format!(
                    "The value of [{p}] (used by {}) as stated in the conversation; dates and times as ISO 8601 \
                     (2026-03-03T14:30:00+01:00). Null when the conversation does not give it.",
                    users[p].iter().map(|t| format!("`{t}`")).collect::<Vec<_>>().join(", ")
                ),
            }),
        );
    }
    properties.insert(
        "placeholders".into(),
        json!({
            "type": "object",
            "description": "Values for the chosen template's placeholders, taken from the conversation; null for \
                            every placeholder that is unknown or that the chosen template does not use.",
            "properties": slots,
            "required": order,
            "additionalProperties": false,
        }),
    );

    let required: Vec<&String> = properties.keys().collect();
    let required = json!(required);
    json!({
        "type": "object",
        "description": "Analysis of a conversation to decide whether an informational email must be sent.",
        "properties": properties,
        "required": required,
        "additionalProperties": false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{strict_violations, validate};

    fn seed_templates() -> Templates {
        Templates::parse(&json!({
            "appointment_confirmation": {
                "subject": "Your appointment at [business_name]",
                "body": "<p>Hi,</p><p>Your appointment is confirmed for [appointment_date] at [appointment_time].</p><p>Address: [address]</p><p>See you there!</p>"
            }
        }))
        .unwrap()
    }

    fn seed_analysis() -> Value {
        json!({
            "user_email_presence": true,
            "user_correctness_agreement": true,
            "convo_agent_promise": true,
            "email_subject": "Your appointment at Clínica Sol",
            "email_body": "<p>Hi,</p><p>Your appointment is confirmed for Tuesday, 3 March 2026 at 14:30.</p><p>See you there!</p>",
            "is_duplicate": false,
            "information_is_allowed_to_be_sent": true,
            "agent_must_send_email": true,
            "template": "appointment_confirmation",
            "placeholders": {
                "business_name": "Clínica Sol",
                "appointment_date": "2026-03-03",
                "appointment_time": "14:30",
                "address": null
            }
        })
    }

    #[test]
    fn schema_for_the_seed_appointment_template() {
        let schema = analysis_schema(&seed_templates());
        assert_eq!(schema["type"], "object");
        assert_eq!(schema["additionalProperties"], false);
        let required: Vec<&str> = schema["required"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
        let mut expected = vec![
            "user_email_presence",
            "user_correctness_agreement",
            "convo_agent_promise",
            "email_subject",
            "email_body",
            "is_duplicate",
            "information_is_allowed_to_be_sent",
            "agent_must_send_email",
            "template",
            "placeholders",
        ];
        expected.sort();
        let mut sorted = required.clone();
        sorted.sort();
        assert_eq!(sorted, expected);
        assert_eq!(schema["properties"]["template"]["type"], json!(["string", "null"]));
        assert_eq!(schema["properties"]["template"]["enum"], json!(["appointment_confirmation", null]));
        let placeholders = &schema["properties"]["placeholders"];
        assert_eq!(
            placeholders["required"],
            json!(["business_name", "appointment_date", "appointment_time", "address"])
        );
        assert_eq!(placeholders["additionalProperties"], false);
        for name in ["business_name", "appointment_date", "appointment_time", "address"] {
            assert_eq!(placeholders["properties"][name]["type"], json!(["string", "null"]));
        }
        assert!(
            placeholders["properties"]["address"]["description"]
                .as_str()
                .unwrap()
                .contains("`appointment_confirmation`")
        );
        assert_eq!(strict_violations(&schema), Vec::<String>::new());
    }

    #[test]
    fn the_seed_analysis_validates_and_deserialises() {
        let schema = analysis_schema(&seed_templates());
        let value = seed_analysis();
        validate(&schema, &value).unwrap();
        let analysis: Analysis = serde_json::from_value(value.clone()).unwrap();
        assert_eq!(analysis.template.as_deref(), Some("appointment_confirmation"));
        assert_eq!(serde_json::to_value(&analysis).unwrap(), value, "field names are verbatim");

        let mut unknown_template = value.clone();
        unknown_template["template"] = json!("refund");
        assert!(validate(&schema, &unknown_template).is_err());
        let mut extra = value.clone();
        extra["placeholders"]["city"] = json!("Madrid");
        assert!(validate(&schema, &extra).is_err());
        let mut missing = value.clone();
        missing.as_object_mut().unwrap().remove("is_duplicate");
        assert!(validate(&schema, &missing).is_err());
        assert!(serde_json::from_value::<Analysis>(missing).is_err());
        let mut typo = value;
        typo["agent_must_send"] = json!(true);
        assert!(serde_json::from_value::<Analysis>(typo).is_err(), "a misspelt flag is an error, not false");
    }

    #[test]
    fn placeholders_shared_between_templates_appear_once() {
        let templates = Templates::parse(&json!({
            "b_receipt": {"subject": "Receipt [ref]", "body": "Paid [amount] at [business_name]"},
            "a_booking": {"subject": "Booking at [business_name]", "body": "On [date]"}
        }))
        .unwrap();
        let schema = analysis_schema(&templates);
        assert_eq!(schema["properties"]["template"]["enum"], json!(["a_booking", "b_receipt", null]));
        let p = &schema["properties"]["placeholders"];
        assert_eq!(p["required"], json!(["business_name", "date", "ref", "amount"]));
        let d = p["properties"]["business_name"]["description"].as_str().unwrap();
        assert!(d.contains("`a_booking`, `b_receipt`"), "{d}");
        assert_eq!(strict_violations(&schema), Vec::<String>::new());
    }

    #[test]
    fn no_templates_means_template_is_always_null() {
        let schema = analysis_schema(&Templates::default());
        assert_eq!(schema["properties"]["template"]["type"], "null");
        assert_eq!(schema["properties"]["placeholders"]["properties"], json!({}));
        assert_eq!(strict_violations(&schema), Vec::<String>::new());
        let mut v = seed_analysis();
        v["template"] = Value::Null;
        v["placeholders"] = json!({});
        validate(&schema, &v).unwrap();
    }
}
