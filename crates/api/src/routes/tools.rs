//! The agent email tools over HTTP.
//!
//! * `GET /v1/tools` — the catalogue: the three built-in tools and every tool config of the
//!   site, each with its description and input JSON Schema, plus the same as OpenAI and
//!   Anthropic function-calling definitions;
//! * `POST /v1/tools/{name}/invoke` — runs a built-in tool or a tool config by name;
//! * `POST /v1/send-email` — seed 002's own route for `send_email`.
//!
//! `send_email` answers in seed 002's shapes (201 `{"success": true, …}` when sent, 200 when
//! skipped or dry, `{"success": false, "error": {"code", "message"}}` with the seed's codes
//! otherwise). The other tools answer with their outputs (201 when an email was sent, 200
//! otherwise) and use the API's one error shape for requests they cannot run; a
//! `send_one_to_one_email` whose send failed under `complete_on_send_failure: false` answers
//! 502 so that the agent's run stops. Every invocation is recorded as a tool run.

use super::mailboxes::target_site;
use crate::AppState;
use crate::auth::Auth;
use crate::error::{ApiError, ApiQuery, ApiResult};
use crate::json::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use mailroom_core::agent::{ToolConfig, ToolRun};
use mailroom_core::api::ErrorBody;
use mailroom_core::{ContactId, MessageId, SiteId, ToolConfigId, ToolRunId};
use mailroom_store::NewEvent;
use mailroom_tools::catalog::{self, SendEmailInput, SendInformationEmailInput, SendOneToOneEmailInput, ToolKind, ToolSpec};
use mailroom_tools::information::{self, InformationSettings};
use mailroom_tools::one_to_one;
use mailroom_tools::send_email::{self, ToolError};
use mailroom_tools::template::Templates;
use serde::{Deserialize, Serialize};
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

/// What a tool run records, gathered before it is stored.
struct RunRecord {
    site: SiteId,
    tool: String,
    config: Option<ToolConfigId>,
    contact: Option<ContactId>,
    status: String,
    code: Option<String>,
    dry_run: bool,
    inputs: Value,
    checks: Vec<Value>,
    decision: Value,
    outputs: Value,
    message: Option<MessageId>,
    events: Vec<NewEvent>,
}

impl RunRecord {
    fn new(site: SiteId, tool: &str, config: Option<&ToolConfig>, inputs: &Value) -> RunRecord {
        // `inputs` is an object (as `ToolRun.inputs` is documented): a body that was not one
        // (refused as INVALID_REQUEST, and recorded all the same) is recorded as `{}`.
        let mut inputs = if inputs.is_object() {
            inputs.clone()
        } else {
            Value::Object(Default::default())
        };
        redact(&mut inputs);
        RunRecord {
            site,
            tool: tool.to_string(),
            config: config.map(|c| c.id),
            contact: None,
            status: "failure".into(),
            code: None,
            dry_run: inputs.get("dry_run").and_then(Value::as_bool).unwrap_or(false),
            inputs,
            checks: Vec::new(),
            decision: Value::Null,
            outputs: Value::Null,
            message: None,
            events: Vec::new(),
        }
    }

    /// Records a request refused before the tool ran.
    fn refused(mut self, code: &str, message: &str) -> RunRecord {
        self.status = "failure".into();
        self.code = Some(code.to_string());
        self.decision = json!({"action": "refuse", "code": code, "reason": message});
        self
    }

    /// Records how a tool that ran ended.
    #[allow(clippy::too_many_arguments)]
    fn finish(&mut self, outputs: &Value, status: &str, code: Option<String>, contact: Option<ContactId>, checks: Vec<Value>, decision: Value, message: Option<MessageId>) {
        self.outputs = outputs.clone();
        self.status = status.to_string();
        self.code = code;
        self.contact = contact;
        self.checks = checks;
        self.decision = decision;
        self.message = message;
    }

    /// Stores the run (a failure to store is logged: the email, if any, is already sent) and
    /// returns its id.
    async fn store(self, state: &AppState) -> ToolRunId {
        let mut outputs = self.outputs;
        redact(&mut outputs);
        let run = ToolRun {
            id: ToolRunId::new(),
            site_id: self.site,
            tool: self.tool,
            tool_config_id: self.config,
            contact_id: self.contact,
            status: self.status,
            code: self.code,
            dry_run: self.dry_run,
            inputs: self.inputs,
            checks: Value::Array(self.checks),
            decision: self.decision,
            outputs,
            message_id: self.message,
            created_at: chrono::Utc::now(),
            delivery: None,
        };
        let mut events = self.events;
        for e in &mut events {
            if let Some(obj) = e.data.as_object_mut() {
                obj.insert("tool_run_id".into(), json!(run.id));
            }
        }
        metrics::counter!("mailroom_tool_runs_total", "tool" => run.tool.to_string(), "decision" => run.decision.get("action").and_then(|a| a.as_str()).unwrap_or(run.status.as_str()).to_string()).increment(1);
        if let Err(e) = state.engine.record_tool_run(&run, &events).await {
            tracing::error!(error = %e, tool = %run.tool, "the tool run could not be recorded");
        }
        run.id
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
    match state.engine.get_site(site).await {
        Ok(Some(_)) => Ok(site),
        Ok(None) => Err(not_found()),
        Err(e) => Err(ToolError { status: 500, code: "INTERNAL_SERVER_ERROR", message: format!("the site could not be read: {e}"), checks: Vec::new() }),
    }
}

/// Runs `send_email` (built in, or through a config whose site fills a missing `site_id`).
async fn run_send_email(state: &AppState, auth: &Auth, config: Option<&ToolConfig>, mut body: Value) -> Response {
    let invalid = |m: String| ToolError { status: 400, code: "INVALID_REQUEST", message: m, checks: Vec::new() };
    if let (Some(c), Some(obj)) = (config, body.as_object_mut()) {
        obj.entry("site_id").or_insert_with(|| json!(c.site_id));
    }
    let parsed: Result<SendEmailInput, ToolError> = if body.is_object() {
        serde_json::from_value(body.clone()).map_err(|e| invalid(format!("invalid input: {e}")))
    } else {
        Err(invalid("the body must be a JSON object".into()))
    };
    let input = match parsed.and_then(|i| send_email::validate(&i).map(|_| i)) {
        Ok(i) => i,
        Err(e) => return refuse_send_email(state, auth, config, &body, e).await,
    };
    let site = match visible_site(state, auth, &input.site_id).await {
        Ok(s) if config.is_none_or(|c| c.site_id == s) => s,
        Ok(_) => {
            let e = ToolError { status: 404, code: "SITE_CONFIG_NOT_FOUND", message: "`site_id` is not the tool config's site".into(), checks: Vec::new() };
            return refuse_send_email(state, auth, config, &body, e).await;
        }
        Err(e) => return refuse_send_email(state, auth, config, &body, e).await,
    };
    let dry_run = input.dry_run.unwrap_or(false);
    let mut rec = RunRecord::new(site, "send_email", config, &body);
    rec.dry_run = dry_run;
    let (status, out) = match send_email::send_email(&state.engine, site, input, dry_run).await {
        Ok((status, out)) => {
            let body = serde_json::to_value(&out).unwrap_or(Value::Null);
            rec.status = out.status.clone();
            rec.code = out.code.clone();
            rec.checks = out.checks;
            rec.decision = out.decision;
            rec.message = out.message_id;
            (status, body)
        }
        Err(e) => {
            rec.code = Some(e.code.to_string());
            rec.checks = e.checks.clone();
            rec.decision = json!({"action": "fail", "code": e.code});
            (e.status, e.body())
        }
    };
    rec.outputs = out.clone();
    rec.store(state).await;
    answer(status, out)
}

/// Answers a `send_email` refused before it ran, recorded as a tool run like every
/// invocation: in the config's site, the `site_id` given (when the caller may see it), or the
/// caller's own site.
async fn refuse_send_email(state: &AppState, auth: &Auth, config: Option<&ToolConfig>, body: &Value, e: ToolError) -> Response {
    let given = body.get("site_id").and_then(Value::as_str).map(str::to_string);
    let site = match (config, given) {
        (Some(c), _) => Some(c.site_id),
        (None, Some(id)) => match visible_site(state, auth, &id).await {
            Ok(s) => Some(s),
            Err(_) => target_site(state, auth, None).await.ok(),
        },
        (None, None) => target_site(state, auth, None).await.ok(),
    };
    if let Some(site) = site {
        let mut rec = RunRecord::new(site, "send_email", config, body).refused(e.code, &e.message);
        rec.outputs = e.body();
        rec.store(state).await;
    }
    answer(e.status, e.body())
}

/// The site a non-`send_email` invocation runs in, and the config it names (if any).
async fn resolve(state: &AppState, auth: &Auth, name: &str, site_id: Option<SiteId>) -> ApiResult<(SiteId, ToolKind, Option<ToolConfig>)> {
    let site = target_site(state, auth, site_id).await?;
    if let Some(kind) = ToolKind::parse(name) {
        return Ok((site, kind, None));
    }
    let config = mailroom_tools::configs::by_name(&state.engine, site, name).await?.ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "tool_not_found",
            format!("no tool `{name}`: use send_email, send_one_to_one_email, send_information_email or a tool config's name (GET /v1/tools)"),
        )
    })?;
    let kind = ToolKind::parse(&config.tool).ok_or_else(|| ApiError::internal(format!("tool config {} wraps unknown tool {}", config.id, config.tool)))?;
    Ok((site, kind, Some(config)))
}

/// The templates a `send_information_email` (config) offers, for its schema.
fn information_templates(site_settings: &Value, config: Option<&ToolConfig>) -> Templates {
    InformationSettings::resolve(site_settings, config).map(|s| s.templates).unwrap_or_default()
}

/// `site_id` for admin keys; site keys use their own site.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ToolsQuery {
    /// The site (admin keys; default: the default site).
    pub site_id: Option<SiteId>,
}

/// The input of a tool: the shape of the tool invoked (a tool config takes its tool's input);
/// `GET /v1/tools` gives each one's exact JSON Schema.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum ToolInput {
    /// `send_email` (seed 002).
    SendEmail(SendEmailInput),
    /// `send_one_to_one_email` (seed 000).
    SendOneToOneEmail(SendOneToOneEmailInput),
    /// `send_information_email` (seed 001).
    SendInformationEmail(SendInformationEmailInput),
}

/// What a tool answers when it ran (sent, skipped, consent required, failed or dry run).
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum ToolResult {
    /// `send_email`'s answer (`success`, `status`: `sent`, `skipped` or `dry_run`).
    SendEmail(send_email::SendEmailOutput),
    /// `send_one_to_one_email`'s outputs (`status`: `success`, `failure`, `skipped` or `dry_run`).
    SendOneToOneEmail(one_to_one::OneToOneOutput),
    /// `send_information_email`'s outputs.
    SendInformationEmail(information::InformationOutput),
}

/// A tool's refusal: the API's error shape; `send_email` adds `"success": false` (seed 002's
/// shape, with its upper-case codes such as `INVALID_REQUEST` or `SITE_CONFIG_NOT_FOUND`).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ToolErrorBody {
    /// `false` (`send_email` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub success: Option<bool>,
    /// The code and message.
    pub error: mailroom_core::api::ErrorDetail,
    /// 502 of `send_one_to_one_email`: the outputs of the failed send.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<one_to_one::OneToOneOutput>,
    /// 502 of `send_one_to_one_email`: the tool run that recorded it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_run_id: Option<ToolRunId>,
}

/// Runs a tool by name: a built-in tool or a tool config of the site.
#[utoipa::path(post, operation_id = "tools_invoke", path = "/v1/tools/{name}/invoke", tag = "tools", request_body = ToolInput,
    params(("name" = String, Path, description = "send_email, send_one_to_one_email, send_information_email or a tool config's name"), ToolsQuery,
        ("Idempotency-Key" = Option<String>, Header, description = "Retrying with the same key and body returns the first answer (a refused or failed run is not kept: it may be retried)")),
    responses((status = 201, description = "An email was sent", body = ToolResult),
        (status = 200, description = "Skipped, consent_required, failure (the run completes) or dry run", body = ToolResult),
        (status = 400, description = "Invalid input (send_email: INVALID_REQUEST in the seed's shape)", body = ToolErrorBody),
        (status = 404, description = "No such tool, contact or site", body = ToolErrorBody),
        (status = 422, description = "No model configured for a transcript, invalid settings", body = ToolErrorBody),
        (status = 500, description = "AGENTMAIL_SEND_FAILED, INTERNAL_SERVER_ERROR (send_email)", body = ToolErrorBody),
        (status = 502, description = "send_one_to_one_email: the send failed and complete_on_send_failure is false; the model failed", body = ToolErrorBody)),
    security(("bearer" = [])))]
pub async fn invoke(
    State(state): State<AppState>,
    auth: Auth,
    uri: axum::http::Uri,
    headers: axum::http::HeaderMap,
    Path(name): Path<String>,
    ApiQuery(q): ApiQuery<ToolsQuery>,
    body: Bytes,
) -> ApiResult<Response> {
    let site = crate::idempotency::key_site(&state, &auth).await?;
    let request = format!("POST {}", uri.path_and_query().map(|p| p.as_str()).unwrap_or_default());
    crate::idempotency::run_response(&state, site, &headers, &[request.as_bytes(), &body], || invoke_once(&state, &auth, &name, q, &body)).await
}

/// Runs one invocation (under its `Idempotency-Key`, if any).
async fn invoke_once(state: &AppState, auth: &Auth, name: &str, q: ToolsQuery, body: &[u8]) -> Response {
    let parsed: Result<Value, String> = match serde_json::from_slice(body) {
        Ok(v @ Value::Object(_)) => Ok(v),
        Ok(_) => Err("the body must be a JSON object".into()),
        Err(e) => Err(format!("the body is not JSON: {e}")),
    };
    if name == "send_email" {
        // A body that is not an object is refused as INVALID_REQUEST there, and recorded.
        return run_send_email(state, auth, None, parsed.unwrap_or(Value::Null)).await;
    }
    let (site, kind, config) = match resolve(state, auth, name, q.site_id).await {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    if kind == ToolKind::SendEmail {
        return run_send_email(state, auth, config.as_ref(), parsed.unwrap_or(Value::Null)).await;
    }
    let value = match parsed {
        Ok(v) => v,
        Err(message) => {
            // Refused before the tool ran, and recorded as a tool run like every invocation.
            let err = ApiError::new(StatusCode::BAD_REQUEST, "invalid_json", message);
            let mut rec = RunRecord::new(site, kind.name(), config.as_ref(), &Value::Null).refused(err.code, &err.message);
            rec.outputs = json!({"error": {"code": err.code, "message": err.message}});
            rec.store(state).await;
            return err.into_response();
        }
    };
    let mut rec = RunRecord::new(site, kind.name(), config.as_ref(), &value);

    // The schema, then the typed input.
    let site_settings = match state.engine.site_settings(site).await {
        Ok(s) => s.unwrap_or(Value::Null),
        Err(e) => return ApiError::internal(e).into_response(),
    };
    let templates = information_templates(&site_settings, config.as_ref());
    if let Err(errors) = catalog::validate_input(kind, &templates, &value) {
        let message = errors.iter().map(|e| if e.path.is_empty() { e.message.clone() } else { format!("`{}`: {}", e.path, e.message) }).collect::<Vec<_>>().join("; ");
        rec = rec.refused("validation_error", &message);
        let err = ApiError::new(StatusCode::BAD_REQUEST, "validation_error", message);
        rec.outputs = json!({"error": {"code": err.code, "message": err.message}});
        rec.store(state).await;
        return err.into_response();
    }
    match kind {
        ToolKind::SendOneToOneEmail => {
            let input: SendOneToOneEmailInput = match serde_json::from_value(value) {
                Ok(i) => i,
                Err(e) => {
                    rec.refused("validation_error", &e.to_string()).store(state).await;
                    return ApiError::new(StatusCode::BAD_REQUEST, "validation_error", e.to_string()).into_response();
                }
            };
            match one_to_one::run(&state.engine, site, config.as_ref(), input).await {
                Err(e) => {
                    let rec = rec.refused("validation_error", &e.0);
                    rec.store(state).await;
                    ApiError::new(StatusCode::BAD_REQUEST, "validation_error", e.0).into_response()
                }
                Ok(run) => {
                    let out = serde_json::to_value(&run.output).unwrap_or(Value::Null);
                    rec.finish(&out, &run.output.status, run.output.code.clone(), run.contact_id, run.checks, run.decision, run.message_id);
                    let run_id = rec.store(state).await;
                    if !run.completes {
                        let message = run.output.error_message.clone().unwrap_or_else(|| "the send failed".into());
                        let body = json!({
                            "error": {"code": run.output.code.as_deref().unwrap_or("resend_error"), "message": format!("{message} (complete_on_send_failure is false: stop the run)")},
                            "result": out,
                            "tool_run_id": run_id,
                            "stop_run": true,
                        });
                        return answer(502, body);
                    }
                    let status = if run.output.status == "success" { 201 } else { 200 };
                    answer(status, out)
                }
            }
        }
        ToolKind::SendInformationEmail => {
            let input: SendInformationEmailInput = match serde_json::from_value(value) {
                Ok(i) => i,
                Err(e) => {
                    rec.refused("validation_error", &e.to_string()).store(state).await;
                    return ApiError::new(StatusCode::BAD_REQUEST, "validation_error", e.to_string()).into_response();
                }
            };
            match information::run(&state.engine, state.llm.as_deref(), site, config.as_ref(), input).await {
                Err(e) => {
                    let err = ApiError::new(StatusCode::from_u16(e.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR), e.code, e.message);
                    let mut rec = rec.refused(e.code, &err.message);
                    rec.outputs = json!({"error": {"code": err.code, "message": err.message}});
                    rec.store(state).await;
                    err.into_response()
                }
                Ok(run) => {
                    let out = serde_json::to_value(&run.output).unwrap_or(Value::Null);
                    rec.finish(&out, &run.output.status, run.output.code.clone(), run.contact_id, run.checks, run.decision, run.message_id);
                    rec.events = run.events;
                    rec.store(state).await;
                    answer(run.http_status, out)
                }
            }
        }
        ToolKind::SendEmail => unreachable!("handled above"),
    }
}

/// The seed's own path for `send_email`: the same as `POST /v1/tools/send_email/invoke`.
#[utoipa::path(post, operation_id = "tools_send_email", path = "/v1/send-email", tag = "tools", request_body = SendEmailInput,
    params(("Idempotency-Key" = Option<String>, Header, description = "Retrying with the same key and body returns the first answer (a refused or failed send is not kept: it may be retried)")),
    responses((status = 201, description = "Sent", body = send_email::SendEmailOutput), (status = 200, description = "Skipped or dry run", body = send_email::SendEmailOutput),
        (status = 400, description = "INVALID_REQUEST (seed 002's shape)", body = ToolErrorBody), (status = 404, description = "SITE_CONFIG_NOT_FOUND and the like", body = ToolErrorBody),
        (status = 500, description = "AGENTMAIL_SEND_FAILED, INTERNAL_SERVER_ERROR", body = ToolErrorBody)),
    security(("bearer" = [])))]
pub async fn send_email_alias(State(state): State<AppState>, auth: Auth, headers: axum::http::HeaderMap, body: Bytes) -> ApiResult<Response> {
    let site = crate::idempotency::key_site(&state, &auth).await?;
    crate::idempotency::run_response(&state, site, &headers, &[b"POST /v1/send-email", &body], || async {
        let value: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        run_send_email(&state, &auth, None, value).await
    })
    .await
}

/// One tool in the catalogue.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ToolEntry {
    /// The name to invoke (`POST /v1/tools/{name}/invoke`) and the function name for models.
    pub name: String,
    /// The underlying tool.
    pub tool: String,
    /// The tool config, for configured tools.
    pub tool_config_id: Option<ToolConfigId>,
    /// What the model reads: the tool's description, or the builder's prompt.
    pub description: String,
    /// The input JSON Schema.
    #[schema(value_type = Object)]
    pub input_schema: Value,
    /// Whether OpenAI strict function calling applies.
    pub strict: bool,
}

/// The catalogue.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ToolCatalog {
    /// Every tool.
    pub data: Vec<ToolEntry>,
    /// The same as OpenAI function-calling definitions (`tools` of a chat completion).
    #[schema(value_type = Vec<Object>)]
    pub openai: Vec<Value>,
    /// The same as Anthropic tool definitions (`tools` of a message).
    #[schema(value_type = Vec<Object>)]
    pub anthropic: Vec<Value>,
}

/// Lists the tools agents can call in the site: the three built-in tools and every tool config.
#[utoipa::path(get, operation_id = "tools_list", path = "/v1/tools", tag = "tools", params(ToolsQuery),
    responses((status = 200, body = ToolCatalog), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn list(State(state): State<AppState>, auth: Auth, ApiQuery(q): ApiQuery<ToolsQuery>) -> ApiResult<Json<ToolCatalog>> {
    let site = target_site(&state, &auth, q.site_id).await?;
    let settings = state.engine.site_settings(site).await?.unwrap_or(Value::Null);
    let mut specs: Vec<(ToolSpec, Option<ToolConfigId>)> =
        ToolKind::ALL.iter().map(|k| (ToolSpec::builtin(*k, &information_templates(&settings, None)), None)).collect();
    for config in mailroom_tools::configs::list(&state.engine, Some(site)).await? {
        match ToolSpec::from_config(&config, &information_templates(&settings, Some(&config))) {
            Ok(spec) => specs.push((spec, Some(config.id))),
            Err(e) => tracing::warn!(config = %config.id, error = %e, "a tool config is not offered"),
        }
    }
    let defs = catalog::function_definitions(&specs.iter().map(|(s, _)| s.clone()).collect::<Vec<_>>());
    let data = specs
        .into_iter()
        .map(|(s, id)| ToolEntry { name: s.name, tool: s.kind.name().into(), tool_config_id: id, description: s.description, input_schema: s.input_schema, strict: s.strict })
        .collect();
    Ok(Json(ToolCatalog { data, openai: defs.openai, anthropic: defs.anthropic }))
}
