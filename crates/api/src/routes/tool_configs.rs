//! Tool configs: builder-configured instances of the agent email tools.

use super::mailboxes::target_site;
use crate::AppState;
use crate::auth::Auth;
use crate::error::{ApiError, ApiJson, ApiResult, PathId};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use mailroom_core::agent::ToolConfig;
use mailroom_core::api::{CreateToolConfigRequest, ErrorBody, Page, UpdateToolConfigRequest};
use mailroom_core::ToolConfigId;

/// The tools a config may wrap.
pub const TOOLS: [&str; 3] = ["send_email", "send_one_to_one_email", "send_information_email"];

fn invalid(code: &'static str, message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, message)
}

fn check_name(name: &str) -> ApiResult<()> {
    let ok = (1..=64).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if !ok {
        return Err(invalid("invalid_tool_config_name", "`name` must be 1 to 64 of a-z, 0-9 and _"));
    }
    if TOOLS.contains(&name) {
        return Err(invalid("invalid_tool_config_name", format!("`{name}` is a built-in tool's name; choose another")));
    }
    if mailroom_core::agent::MCP_BUILTIN_TOOL_NAMES.contains(&name) {
        return Err(invalid(
            "invalid_tool_config_name",
            format!("`{name}` is the name of one of MCP's built-in tools, so MCP could not offer this config; choose another"),
        ));
    }
    Ok(())
}

fn check_prompt(prompt: &str) -> ApiResult<()> {
    let n = prompt.chars().count();
    if prompt.trim().is_empty() || n > 10_000 {
        return Err(invalid("invalid_prompt", "`prompt` must be 1 to 10000 characters"));
    }
    Ok(())
}

/// Checks a config's settings for its tool: `send_one_to_one_email` takes the sender rule,
/// default cc/bcc and `complete_on_send_failure`; `send_information_email` takes `enabled`,
/// `allowed_content`, `business_time_zone`, `default_language` and `team_member_id`;
/// `send_email` takes none.
fn check_settings(tool: &str, settings: Option<serde_json::Value>) -> ApiResult<serde_json::Value> {
    let settings = match settings {
        None | Some(serde_json::Value::Null) => serde_json::Value::Object(Default::default()),
        Some(v @ serde_json::Value::Object(_)) => v,
        Some(_) => return Err(invalid("validation_error", "`settings` must be an object")),
    };
    let checked = match tool {
        "send_one_to_one_email" => mailroom_tools::one_to_one::OneToOneSettings::parse(&settings).map(|_| ()),
        "send_information_email" => mailroom_tools::information::InformationSettings::validate(&settings),
        _ if settings.as_object().is_some_and(|o| !o.is_empty()) => Err("`send_email` configs take no settings".to_string()),
        _ => Ok(()),
    };
    checked.map_err(|e| invalid("invalid_settings", e))?;
    Ok(settings)
}

/// Loads a tool config the caller may see, or answers 404.
pub async fn visible_config(state: &AppState, auth: &Auth, id: ToolConfigId) -> ApiResult<ToolConfig> {
    state.engine.store().get_tool_config(id).await?.filter(|c| auth.allows(c.site_id)).ok_or_else(|| ApiError::not_found("tool config", id))
}

/// Creates a tool config; its name is unique in the site (409 `tool_config_name_taken`).
#[utoipa::path(post, operation_id = "tool_configs_create", path = "/v1/tool-configs", tag = "tool-configs", request_body = CreateToolConfigRequest,
    responses((status = 201, body = ToolConfig), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
pub async fn create(State(state): State<AppState>, auth: Auth, ApiJson(req): ApiJson<CreateToolConfigRequest>) -> ApiResult<(StatusCode, Json<ToolConfig>)> {
    let site = target_site(&state, &auth, req.site_id).await?;
    check_name(&req.name)?;
    if !TOOLS.contains(&req.tool.as_str()) {
        return Err(invalid("invalid_tool", "`tool` must be send_email, send_one_to_one_email or send_information_email"));
    }
    check_prompt(&req.prompt)?;
    let settings = check_settings(&req.tool, req.settings)?;
    let now = chrono::Utc::now();
    let config = ToolConfig { id: ToolConfigId::new(), site_id: site, name: req.name, tool: req.tool, prompt: req.prompt, settings, created_at: now, updated_at: now };
    state.engine.store().create_tool_config(&config).await?;
    Ok((StatusCode::CREATED, Json(config)))
}

/// Lists tool configs by name.
#[utoipa::path(get, operation_id = "tool_configs_list", path = "/v1/tool-configs", tag = "tool-configs", responses((status = 200, body = Page<ToolConfig>)), security(("bearer" = [])))]
pub async fn list(State(state): State<AppState>, auth: Auth) -> ApiResult<Json<Page<ToolConfig>>> {
    Ok(Json(Page { items: state.engine.store().list_tool_configs(auth.scope.site()).await?, next_cursor: None }))
}

/// Returns a tool config.
#[utoipa::path(get, operation_id = "tool_configs_get", path = "/v1/tool-configs/{id}", tag = "tool-configs", params(("id" = String, Path)),
    responses((status = 200, body = ToolConfig), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn get(State(state): State<AppState>, auth: Auth, PathId(id): PathId<ToolConfigId>) -> ApiResult<Json<ToolConfig>> {
    Ok(Json(visible_config(&state, &auth, id).await?))
}

/// Changes a tool config's name, prompt or settings (the tool itself cannot change).
#[utoipa::path(patch, operation_id = "tool_configs_update", path = "/v1/tool-configs/{id}", tag = "tool-configs", params(("id" = String, Path)), request_body = UpdateToolConfigRequest,
    responses((status = 200, body = ToolConfig), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn update(State(state): State<AppState>, auth: Auth, PathId(id): PathId<ToolConfigId>, ApiJson(req): ApiJson<UpdateToolConfigRequest>) -> ApiResult<Json<ToolConfig>> {
    let mut config = visible_config(&state, &auth, id).await?;
    if let Some(p) = req.approval_policy {
        // Issue 17: kept with the approval policies (engine `drafts.rs`).
        state.engine.set_approval_policy("tool_config", &config.id.to_string(), p).await?;
    }
    if let Some(n) = req.name {
        check_name(&n)?;
        config.name = n;
    }
    if let Some(p) = req.prompt {
        check_prompt(&p)?;
        config.prompt = p;
    }
    if req.settings.is_some() {
        config.settings = check_settings(&config.tool, req.settings)?;
    }
    config.updated_at = chrono::Utc::now();
    state.engine.store().update_tool_config(&config).await?;
    Ok(Json(config))
}

/// Deletes a tool config; its runs stay (without it).
#[utoipa::path(delete, operation_id = "tool_configs_delete", path = "/v1/tool-configs/{id}", tag = "tool-configs", params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn delete(State(state): State<AppState>, auth: Auth, PathId(id): PathId<ToolConfigId>) -> ApiResult<StatusCode> {
    let config = visible_config(&state, &auth, id).await?;
    if state.engine.store().delete_tool_config(config.id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("tool config", id))
    }
}
