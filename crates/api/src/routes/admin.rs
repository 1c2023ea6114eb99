//! Sites and API keys.

use crate::AppState;
use crate::auth::Auth;
use crate::error::{ApiError, ApiResult, PathId, RawBody, decode_json};
use crate::idempotency;
use crate::json::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use mailroom_core::api::{CreateApiKeyRequest, CreateSiteRequest, CreatedApiKey, ErrorBody, Page};
use mailroom_core::{ApiKey, ApiKeyId, Site};

/// Creates a site (admin keys only).
#[utoipa::path(post, operation_id = "sites_create", path = "/v1/sites", tag = "sites", request_body = CreateSiteRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "Retrying with the same key and body returns the first answer")),
    responses((status = 201, body = Site), (status = 403, body = ErrorBody)), security(("bearer" = [])))]
pub async fn create_site(State(state): State<AppState>, auth: Auth, RawBody(headers, body): RawBody) -> ApiResult<Response> {
    auth.require_admin()?;
    let req: CreateSiteRequest = decode_json(&body)?;
    let site = state.engine.default_site_id().await?;
    idempotency::run(&state, site, &headers, &[b"POST /v1/sites", &body], || async {
        let site = state.engine.create_site(&req.name).await?;
        Ok((StatusCode::CREATED, serde_json::to_value(site).map_err(ApiError::internal)?))
    })
    .await
}

/// Lists sites (admin keys only).
#[utoipa::path(get, operation_id = "sites_list", path = "/v1/sites", tag = "sites", responses((status = 200, body = Page<Site>)), security(("bearer" = [])))]
pub async fn list_sites(State(state): State<AppState>, auth: Auth) -> ApiResult<Json<Page<Site>>> {
    auth.require_admin()?;
    Ok(Json(Page { items: state.engine.list_sites().await?, next_cursor: None }))
}

/// Creates an API key; the secret is in the answer and nowhere else.
#[utoipa::path(post, operation_id = "api_keys_create", path = "/v1/api-keys", tag = "api-keys", request_body = CreateApiKeyRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "Retrying with the same key and body returns the first answer")),
    responses((status = 201, body = CreatedApiKey), (status = 403, body = ErrorBody)), security(("bearer" = [])))]
pub async fn create_api_key(State(state): State<AppState>, auth: Auth, RawBody(headers, body): RawBody) -> ApiResult<Response> {
    let req: CreateApiKeyRequest = decode_json(&body)?;
    let site = idempotency::key_site(&state, &auth).await?;
    idempotency::run(&state, site, &headers, &[b"POST /v1/api-keys", &body], || async {
        idempotency::json(StatusCode::CREATED, state.engine.create_api_key(auth.scope, &req).await?)
    })
    .await
}

/// Lists API keys: all of them for admin keys, the site's for site keys.
#[utoipa::path(get, operation_id = "api_keys_list", path = "/v1/api-keys", tag = "api-keys", responses((status = 200, body = Page<ApiKey>)), security(("bearer" = [])))]
pub async fn list_api_keys(State(state): State<AppState>, auth: Auth) -> ApiResult<Json<Page<ApiKey>>> {
    Ok(Json(Page { items: state.engine.list_api_keys(auth.scope.site()).await?, next_cursor: None }))
}

/// Deletes an API key. Site keys may delete only their site's keys.
#[utoipa::path(delete, operation_id = "api_keys_delete", path = "/v1/api-keys/{id}", tag = "api-keys", params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn delete_api_key(State(state): State<AppState>, auth: Auth, PathId(id): PathId<ApiKeyId>) -> ApiResult<StatusCode> {
    state.engine.delete_api_key(auth.scope, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
