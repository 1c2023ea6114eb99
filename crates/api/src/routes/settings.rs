//! The site's sending settings document (seed 002's `settings`): channels (`agent_email`,
//! `email`) and the informational-email configuration.

use super::mailboxes::target_site;
use crate::AppState;
use crate::auth::Auth;
use crate::error::{ApiError, ApiJson, ApiQuery, ApiResult};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use mailroom_core::api::ErrorBody;
use mailroom_core::SiteId;
use serde::Deserialize;
use mailroom_tools::information::InformationSettings;
use mailroom_tools::policy::Policy;
use serde_json::Value;

/// The site of settings routes.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
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
#[utoipa::path(get, path = "/v1/settings", tag = "settings", params(SettingsQuery),
    responses((status = 200, body = Object), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn get(State(state): State<AppState>, auth: Auth, ApiQuery(q): ApiQuery<SettingsQuery>) -> ApiResult<Json<Value>> {
    let site = target_site(&state, &auth, q.site_id).await?;
    let doc = state.engine.store().get_site_settings(site).await?.unwrap_or_else(|| Value::Object(Default::default()));
    Ok(Json(doc))
}

/// Replaces the site's sending settings document.
#[utoipa::path(put, path = "/v1/settings", tag = "settings", params(SettingsQuery), request_body = Object,
    responses((status = 200, body = Object), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
pub async fn put(State(state): State<AppState>, auth: Auth, ApiQuery(q): ApiQuery<SettingsQuery>, ApiJson(doc): ApiJson<Value>) -> ApiResult<Json<Value>> {
    let site = target_site(&state, &auth, q.site_id).await?;
    validate(&doc)?;
    state.engine.store().put_site_settings(site, &doc).await?;
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
    }
}
