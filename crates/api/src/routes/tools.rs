//! The agent email tools over HTTP: `POST /v1/tools/send_email/invoke` and the seed-shaped
//! alias `POST /v1/send-email`. Answers use the seed's shapes: 201 `{"success": true, …}`
//! when sent, 200 when skipped (or a dry run), and `{"success": false, "error": {"code",
//! "message"}}` with the seed's codes otherwise. Every invocation is recorded as a tool run.

use crate::AppState;
use crate::auth::Auth;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use mailroom_core::agent::ToolRun;
use mailroom_core::{SiteId, ToolRunId};
use mailroom_tools::catalog::SendEmailInput;
use mailroom_tools::send_email::{self, ToolError};
use serde_json::{Value, json};

fn answer(status: u16, body: Value) -> Response {
    (StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR), Json(body)).into_response()
}

/// Replaces the values of secret-looking keys, at any depth.
fn redact(v: &mut Value) {
    match v {
        Value::Object(map) => {
            for (k, val) in map.iter_mut() {
                let k = k.to_ascii_lowercase();
                if ["password", "secret", "token", "api_key", "apikey"].iter().any(|s| k.contains(s)) {
                    *val = json!("[redacted]");
                } else {
                    redact(val);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact),
        _ => {}
    }
}

/// Resolves the body's `site_id`: a site the key may reach, else 404 `SITE_CONFIG_NOT_FOUND`.
async fn visible_site(state: &AppState, auth: &Auth, raw: &str) -> Result<SiteId, ToolError> {
    let not_found = || ToolError {
        status: 404,
        code: "SITE_CONFIG_NOT_FOUND",
        message: format!("no site `{raw}` visible to this key"),
        checks: Vec::new(),
    };
    let site: SiteId = raw.trim().parse().map_err(|_| not_found())?;
    if !auth.allows(site) {
        return Err(not_found());
    }
    match state.engine.store().get_site(site).await {
        Ok(Some(_)) => Ok(site),
        Ok(None) => Err(not_found()),
        Err(e) => Err(ToolError { status: 500, code: "INTERNAL_SERVER_ERROR", message: format!("the site could not be read: {e}"), checks: Vec::new() }),
    }
}

/// Sends an email from the site's configured channel (seed 002's `send_email`): the
/// `agent_email` mailbox when active, else the site's SMTP account.
#[utoipa::path(post, path = "/v1/tools/send_email/invoke", tag = "tools", request_body = Object,
    responses((status = 201, description = "Sent", body = Object), (status = 200, description = "Skipped (no-email@example.com) or dry run", body = Object),
        (status = 400, description = "INVALID_REQUEST, EMAIL_NOT_CONFIGURED, INVALID_CONFIGURED_EMAIL", body = Object),
        (status = 404, description = "SITE_CONFIG_NOT_FOUND, EMAIL_CONFIG_NOT_FOUND", body = Object),
        (status = 500, description = "AGENT_EMAIL_SEND_FAILED, INTERNAL_SERVER_ERROR", body = Object)),
    security(("bearer" = [])))]
pub async fn send_email_invoke(State(state): State<AppState>, auth: Auth, body: Bytes) -> Response {
    let invalid = |m: String| ToolError { status: 400, code: "INVALID_REQUEST", message: m, checks: Vec::new() };
    let parsed: Result<SendEmailInput, ToolError> = serde_json::from_slice::<Value>(&body)
        .map_err(|e| invalid(format!("the body is not JSON: {e}")))
        .and_then(|v| serde_json::from_value(v).map_err(|e| invalid(format!("invalid input: {e}"))));
    let input = match parsed.and_then(|i| send_email::validate(&i).map(|_| i)) {
        Ok(i) => i,
        Err(e) => return answer(e.status, e.body()),
    };
    let site = match visible_site(&state, &auth, &input.site_id).await {
        Ok(s) => s,
        Err(e) => return answer(e.status, e.body()),
    };
    let dry_run = input.dry_run.unwrap_or(false);
    let mut inputs = serde_json::to_value(&input).unwrap_or(Value::Null);
    redact(&mut inputs);
    let result = send_email::send_email(&state.engine, site, input, dry_run).await;
    let (status, body, run_status, code, checks, decision, message_id) = match result {
        Ok((status, out)) => {
            let body = serde_json::to_value(&out).unwrap_or(Value::Null);
            (status, body, out.status.clone(), None, out.checks, out.decision, out.message_id)
        }
        Err(e) => {
            let decision = json!({"action": "fail", "code": e.code});
            (e.status, e.body(), "failure".to_string(), Some(e.code.to_string()), e.checks.clone(), decision, None)
        }
    };
    let mut outputs = body.clone();
    redact(&mut outputs);
    let run = ToolRun {
        id: ToolRunId::new(),
        site_id: site,
        tool: "send_email".into(),
        tool_config_id: None,
        contact_id: None,
        status: run_status,
        code,
        dry_run,
        inputs,
        checks: Value::Array(checks),
        decision,
        outputs,
        message_id,
        created_at: chrono::Utc::now(),
    };
    if let Err(e) = state.engine.store().insert_tool_run(&run, &[]).await {
        tracing::error!(error = %e, "the send_email tool run could not be recorded");
    }
    answer(status, body)
}

/// The seed's own path for `send_email`: the same as `POST /v1/tools/send_email/invoke`.
#[utoipa::path(post, path = "/v1/send-email", tag = "tools", request_body = Object,
    responses((status = 201, description = "Sent", body = Object), (status = 200, description = "Skipped or dry run", body = Object),
        (status = 400, body = Object), (status = 404, body = Object), (status = 500, body = Object)),
    security(("bearer" = [])))]
pub async fn send_email_alias(state: State<AppState>, auth: Auth, body: Bytes) -> Response {
    send_email_invoke(state, auth, body).await
}
