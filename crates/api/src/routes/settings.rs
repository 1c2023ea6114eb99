//! The site's sending settings document (seed 002's `settings`): channels (`agent_email`,
//! `email`) and the informational-email configuration.

use super::mailboxes::target_site;
use crate::AppState;
use crate::auth::Auth;
use crate::error::{ApiError, ApiJson, ApiQuery, ApiResult};
use crate::json::Json;
use axum::extract::State;
use axum::http::StatusCode;
use mailroom_core::api::ErrorBody;
use mailroom_core::SiteId;
use mailroom_tools::information::InformationSettings;
use mailroom_tools::policy::Policy;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

/// The site's settings document (seed 002's `settings`): every key is optional, unknown keys
/// are refused (`unknown_field`, naming the key's path).
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"channels": {"agent_email": {"status": "active", "username": "sales", "domain": "example.com"},
    "email": {"email": "support@example.com", "enabled": true, "outgoingServer": "smtp.example.com", "outgoingPort": 587}},
    "information_email": {"enabled": true, "business_time_zone": "Europe/Paris",
        "allowed_content": {"appointment_confirmation": {"subject": "Your appointment at [business_name]",
            "body": "<p>Your appointment is confirmed for [appointment_date] at [appointment_time].</p>"}}},
    "tools": {"duplicate_window_days": 7, "rate_limit": {"per_recipient_per_day": 5}}}))]
pub struct SiteSettings {
    /// The sending channels of the tools.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channels: Option<Channels>,
    /// `send_information_email`'s configuration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub information_email: Option<InformationEmailSettings>,
    /// The send policy of the tools: duplicates and rate limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tools: Option<ToolSettings>,
    /// An HTML signature appended by `send_email` (before the channels' own).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature_html: Option<String>,
}

/// The channels the tools send through.
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Channels {
    /// A Mailroom mailbox (preferred when active).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_email: Option<AgentEmailChannel>,
    /// The site's own SMTP account (credentials in the secure token `email`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<EmailChannel>,
}

/// The `agent_email` channel: a mailbox of this server, by id or `username@domain`.
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AgentEmailChannel {
    /// `active` or `inactive`.
    #[schema(example = "active", pattern = "^(active|inactive)$")]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// The mailbox's local part.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// The mailbox's domain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    /// The mailbox, by id (wins over `username`/`domain`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mailbox_id: Option<String>,
    /// An HTML signature for emails sent through this channel.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature_html: Option<String>,
    /// Free-form data kept as given (seed 002 stores `username`/`domain` here too).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<serde_json::Map<String, Value>>,
}

/// A port as a number or a string of digits (seed 002 stores `"587"`).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum PortValue {
    /// A port number.
    Number(u16),
    /// A port number as text.
    Text(String),
}

/// The `email` channel: the site's own mailbox at another provider, reached over SMTP.
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmailChannel {
    /// The address mail is sent from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Whether the channel may be used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// Free text kept as given (seed 002: `synced`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Free text kept as given (seed 002: `Gmail`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// The SMTP host (the secure token's `smtpHost` wins). Refused with 422
    /// `forbidden_smtp_host` when it is, or resolves to, a loopback, private, link-local or
    /// other non-public address (unless `security.allow_private_targets`).
    #[serde(default, rename = "outgoingServer", skip_serializing_if = "Option::is_none")]
    pub outgoing_server: Option<String>,
    /// The SMTP port (the secure token's `smtpPort` wins).
    #[serde(default, rename = "outgoingPort", skip_serializing_if = "Option::is_none")]
    pub outgoing_port: Option<PortValue>,
    /// `tls`, `starttls` or `none` (the secure token's `smtpSecurity` wins).
    #[serde(default, rename = "outgoingSecurity", skip_serializing_if = "Option::is_none")]
    pub outgoing_security: Option<String>,
    /// The IMAP host (kept; Mailroom does not read from it).
    #[serde(default, rename = "incomingServer", skip_serializing_if = "Option::is_none")]
    pub incoming_server: Option<String>,
    /// The IMAP port (kept; Mailroom does not read from it).
    #[serde(default, rename = "incomingPort", skip_serializing_if = "Option::is_none")]
    pub incoming_port: Option<PortValue>,
    /// An HTML signature for emails sent through this channel.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature_html: Option<String>,
}

/// `send_information_email`'s site-wide configuration (a tool config's settings override it
/// field by field).
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InformationEmailSettings {
    /// Whether the tool may send: true or false (or seed 001's strings "True"/"False").
    #[schema(value_type = Option<Object>, example = true)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<Value>,
    /// The allowed templates by name: `{"name": {"subject", "body", "variants": {"es": {"subject", "body"}}}}`,
    /// or the same as a JSON string (seed 001's form).
    #[schema(value_type = Option<Object>)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_content: Option<Value>,
    /// The IANA time zone of the business (`Europe/Paris`), for dates and times.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub business_time_zone: Option<String>,
    /// The language the templates are written in (default `en`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_language: Option<String>,
    /// The team member who sends, when not the site's channels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team_member_id: Option<String>,
}

/// The send policy shared by the tools.
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ToolSettings {
    /// How far back an identical or near-identical email counts as a duplicate (1-3650 days).
    #[schema(minimum = 1, maximum = 3650)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duplicate_window_days: Option<u64>,
    /// The largest SimHash distance (bits) still counted as a near duplicate; 0 = exact only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub near_duplicate_max_distance: Option<u64>,
    /// The per-recipient rate limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<RateLimitSettings>,
}

/// The per-recipient rate limit of the tools.
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RateLimitSettings {
    /// Emails allowed per recipient in 24 hours (0 or null: no limit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_recipient_per_day: Option<u64>,
}

/// Checks the document against [`SiteSettings`]: an unknown key is `unknown_field` (400) and a
/// wrong type `invalid_settings` (422), both naming the key's path (`channels.agent_emial`).
pub fn check_shape(doc: &Value) -> ApiResult<()> {
    if !doc.is_object() {
        return Err(invalid("the settings must be a JSON object"));
    }
    serde_path_to_error::deserialize::<_, SiteSettings>(doc).map(|_| ()).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner().to_string();
        if let Some(rest) = inner.strip_prefix("unknown field `") {
            // The path already ends with the unknown key.
            let expected = rest.find(", expected").map(|i| &rest[i..]).unwrap_or("");
            ApiError::new(StatusCode::BAD_REQUEST, "unknown_field", format!("unknown field `{path}` in the settings{expected}; remove it or check its spelling"))
        } else {
            invalid(format!("`{path}`: {inner}"))
        }
    })
}

/// The site of settings routes.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct SettingsQuery {
    /// Admin keys: the site (default: the default site).
    pub site_id: Option<SiteId>,
}

/// The largest document accepted, in bytes of JSON.
const MAX_SETTINGS_BYTES: usize = 64 * 1024;

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_settings", message)
}

/// Checks the document's shape loosely: the parts the tools read must have the right types.
pub fn validate(doc: &Value) -> ApiResult<()> {
    check_shape(doc)?;
    let obj = doc.as_object().ok_or_else(|| invalid("the settings must be a JSON object"))?;
    if serde_json::to_vec(doc).map(|v| v.len()).unwrap_or(usize::MAX) > MAX_SETTINGS_BYTES {
        return Err(invalid(format!("the settings must be at most {MAX_SETTINGS_BYTES} bytes of JSON")));
    }
    if let Some(channels) = obj.get("channels") {
        let channels = channels.as_object().ok_or_else(|| invalid("`channels` must be an object"))?;
        for (name, ch) in channels {
            if !ch.is_object() {
                return Err(invalid(format!("`channels.{name}` must be an object")));
            }
        }
        let agent = channels.get("agent_email");
        if agent.and_then(|a| a.get("status")).is_some_and(|s| !matches!(s.as_str(), Some("active" | "inactive"))) {
            return Err(invalid("`channels.agent_email.status` must be `active` or `inactive`"));
        }
        let mailbox = agent.and_then(|a| a.get("mailbox_id")).filter(|m| !m.is_null());
        if mailbox.is_some_and(|m| m.as_str().and_then(|s| s.parse::<uuid::Uuid>().ok()).is_none()) {
            return Err(invalid("`channels.agent_email.mailbox_id` must be a mailbox id"));
        }
        if channels.get("email").and_then(|e| e.get("enabled")).is_some_and(|e| !e.is_boolean()) {
            return Err(invalid("`channels.email.enabled` must be true or false"));
        }
    }
    if let Some(info) = obj.get("information_email") {
        if let Some(tz) = info.get("business_time_zone").filter(|v| !v.is_null())
            && tz.as_str().is_none_or(|s| s.parse::<chrono_tz::Tz>().is_err())
        {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_time_zone",
                "`information_email.business_time_zone` must be an IANA time zone such as `Europe/Paris`",
            ));
        }
        InformationSettings::validate(info).map_err(|e| invalid(format!("`information_email`: {e}")))?;
    }
    Policy::validate(doc).map_err(invalid)?;
    Ok(())
}

/// Returns the site's sending settings (`{}` when none were stored).
#[utoipa::path(get, operation_id = "settings_get", path = "/v1/settings", tag = "settings", params(SettingsQuery),
    responses((status = 200, body = SiteSettings), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn get(State(state): State<AppState>, auth: Auth, ApiQuery(q): ApiQuery<SettingsQuery>) -> ApiResult<Json<Value>> {
    let site = target_site(&state, &auth, q.site_id).await?;
    let doc = state.engine.site_settings(site).await?.unwrap_or_else(|| Value::Object(Default::default()));
    Ok(Json(doc))
}

/// Replaces the site's sending settings document.
#[utoipa::path(put, operation_id = "settings_update", path = "/v1/settings", tag = "settings", params(SettingsQuery), request_body = SiteSettings,
    responses((status = 200, body = SiteSettings), (status = 400, body = ErrorBody, description = "`unknown_field` (naming the key's path) or `malformed_json`"),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
pub async fn put(State(state): State<AppState>, auth: Auth, ApiQuery(q): ApiQuery<SettingsQuery>, ApiJson(doc): ApiJson<Value>) -> ApiResult<Json<Value>> {
    let site = target_site(&state, &auth, q.site_id).await?;
    validate(&doc)?;
    state.engine.put_site_settings(site, &doc).await?;
    Ok(Json(doc))
}

#[cfg(test)]
mod tests {
    use super::validate;
    use serde_json::json;

    #[test]
    fn the_seed_document_passes_and_bad_parts_are_named() {
        let seed = json!({"channels": {"agent_email": {"status": "active", "username": "hello", "domain": "x.test"},
            "email": {"email": "a@x.test", "enabled": true, "incomingServer": "imap.x.test", "outgoingServer": "smtp.x.test",
                "incomingPort": 993, "outgoingPort": 587, "provider": "custom"}},
            "information_email": {"enabled": "True", "business_time_zone": "Europe/Paris",
                "allowed_content": {"appointment_confirmation": {"subject": "Your appointment at [business_name]",
                    "body": "<p>Hi,</p><p>Your appointment is confirmed for [appointment_date] at [appointment_time].</p>"}}}});
        assert!(validate(&seed).is_ok());
        assert!(validate(&json!([])).is_err());
        assert!(validate(&json!({"channels": {"agent_email": {"status": "on"}}})).is_err());
        assert_eq!(validate(&json!({"information_email": {"business_time_zone": "Mars/Olympus"}})).unwrap_err().code, "invalid_time_zone");
        assert!(validate(&json!({"information_email": {"allowed_content": ["product_updates"]}})).unwrap_err().message.contains("allowed_content"));
        assert!(validate(&json!({"tools": {"duplicate_window_days": -1}})).unwrap_err().message.contains("duplicate_window_days"));
        let seed_002 = json!({"channels": {"agent_email": {"status": "active", "username": "sales", "domain": "example.com",
            "data": {"username": "sales", "domain": "example.com"}},
            "email": {"email": "support@example.com", "status": "synced", "enabled": true, "provider": "Gmail", "incomingPort": "993",
                "outgoingPort": "587", "incomingServer": "imap.gmail.com", "outgoingServer": "smtp.gmail.com"}}});
        assert!(validate(&seed_002).is_ok());
    }

    #[test]
    fn unknown_keys_are_refused_with_their_path() {
        let e = validate(&json!({"channels": {"agent_emial": {"status": "active"}}})).unwrap_err();
        assert_eq!((e.status.as_u16(), e.code), (400, "unknown_field"));
        assert!(e.message.contains("`channels.agent_emial`"), "{}", e.message);
        let e = validate(&json!({"tools": {"rate_limit": {"per_recipient_per_dya": 3}}})).unwrap_err();
        assert_eq!(e.code, "unknown_field");
        assert!(e.message.contains("`tools.rate_limit.per_recipient_per_dya`"), "{}", e.message);
        assert_eq!(validate(&json!({"chanels": {}})).unwrap_err().code, "unknown_field");
        let e = validate(&json!({"channels": {"email": {"enabled": "yes"}}})).unwrap_err();
        assert_eq!((e.code, e.message.contains("channels.email.enabled")), ("invalid_settings", true), "{}", e.message);
    }
}
