//! Tool configs: builder-configured instances of the agent email tools.

use crate::AppState;
use crate::auth::Auth;
use crate::error::{ApiJson, ApiResult, PathId};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use mailroom_core::agent::ToolConfig;
use mailroom_core::api::{CreateToolConfigRequest, ErrorBody, Page, UpdateToolConfigRequest};
use mailroom_core::ToolConfigId;
use mailroom_tools::configs;

/// Creates a tool config; its name is unique in the site (409 `tool_config_name_taken`).
#[utoipa::path(post, operation_id = "tool_configs_create", path = "/v1/tool-configs", tag = "tool-configs", request_body = CreateToolConfigRequest,
    responses((status = 201, body = ToolConfig), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
pub async fn create(State(state): State<AppState>, auth: Auth, ApiJson(req): ApiJson<CreateToolConfigRequest>) -> ApiResult<(StatusCode, Json<ToolConfig>)> {
    Ok((StatusCode::CREATED, Json(configs::create(&state.engine, auth.scope, req).await?)))
}

/// Lists tool configs by name.
#[utoipa::path(get, operation_id = "tool_configs_list", path = "/v1/tool-configs", tag = "tool-configs", responses((status = 200, body = Page<ToolConfig>)), security(("bearer" = [])))]
pub async fn list(State(state): State<AppState>, auth: Auth) -> ApiResult<Json<Page<ToolConfig>>> {
    Ok(Json(Page { items: configs::list(&state.engine, auth.scope.site()).await?, next_cursor: None }))
}

/// Returns a tool config.
#[utoipa::path(get, operation_id = "tool_configs_get", path = "/v1/tool-configs/{id}", tag = "tool-configs", params(("id" = String, Path)),
    responses((status = 200, body = ToolConfig), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn get(State(state): State<AppState>, auth: Auth, PathId(id): PathId<ToolConfigId>) -> ApiResult<Json<ToolConfig>> {
    Ok(Json(configs::visible(&state.engine, auth.scope, id).await?))
}

/// Changes a tool config's name, prompt or settings (the tool itself cannot change).
#[utoipa::path(patch, operation_id = "tool_configs_update", path = "/v1/tool-configs/{id}", tag = "tool-configs", params(("id" = String, Path)), request_body = UpdateToolConfigRequest,
    responses((status = 200, body = ToolConfig), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn update(State(state): State<AppState>, auth: Auth, PathId(id): PathId<ToolConfigId>, ApiJson(req): ApiJson<UpdateToolConfigRequest>) -> ApiResult<Json<ToolConfig>> {
    Ok(Json(configs::update(&state.engine, auth.scope, id, req).await?))
}

/// Deletes a tool config; its runs stay (without it).
#[utoipa::path(delete, operation_id = "tool_configs_delete", path = "/v1/tool-configs/{id}", tag = "tool-configs", params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn delete(State(state): State<AppState>, auth: Auth, PathId(id): PathId<ToolConfigId>) -> ApiResult<StatusCode> {
    configs::delete(&state.engine, auth.scope, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
