//! Tool configs: builder-configured instances of the agent email tools.

use crate::AppState;
use crate::auth::Auth;
use crate::error::{ApiJson, ApiResult, PathId, RawBody, decode_json};
use crate::idempotency;
use axum::response::Response;
use crate::json::Json;
use axum::extract::State;
use axum::http::StatusCode;
use mailroom_core::agent::ToolConfig;
use mailroom_core::api::{CreateToolConfigRequest, ErrorBody, Page, UpdateToolConfigRequest};
use mailroom_core::ToolConfigId;
use mailroom_tools::configs;

/// Creates a tool config; its name is unique in the site (409 `tool_config_name_taken`).
#[utoipa::path(post, operation_id = "tool_configs_create", path = "/v1/tool-configs", tag = "tool-configs", request_body = CreateToolConfigRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "Retrying with the same key and body returns the first answer")),
    responses((status = 201, body = ToolConfig), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
pub async fn create(State(state): State<AppState>, auth: Auth, RawBody(headers, body): RawBody) -> ApiResult<Response> {
    let req: CreateToolConfigRequest = decode_json(&body)?;
    let site = idempotency::key_site(&state, &auth).await?;
    idempotency::run(&state, site, &headers, &[b"POST /v1/tool-configs", &body], || async {
        idempotency::json(StatusCode::CREATED, configs::create(&state.engine, auth.scope, req).await?)
    })
    .await
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
