//! Secure tokens: secrets a site stores for its tools (SMTP credentials, …), sealed at rest
//! with the server key. Values are write-only: no answer and no log line ever holds one.

use crate::AppState;
use crate::auth::Auth;
use crate::error::{ApiQuery, ApiResult, PathId, RawBody, decode_json};
use crate::idempotency;
use axum::response::Response;
use crate::json::Json;
use axum::extract::State;
use axum::http::StatusCode;
use mailroom_core::agent::SecureToken;
use mailroom_core::api::{CreateSecureTokenRequest, ErrorBody, Page};
use mailroom_core::{SecureTokenId, SiteId};
use serde::Deserialize;

/// The site of secure-token listings.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct TokenQuery {
    /// Admin keys: the site (default: the default site).
    pub site_id: Option<SiteId>,
}

/// Stores a secret for the site, sealed with the server key; a token with the same type and
/// identifier is replaced. The answer holds the metadata only, never the value.
#[utoipa::path(post, operation_id = "secure_tokens_create", path = "/v1/secure-tokens", tag = "secure-tokens", request_body = CreateSecureTokenRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "Retrying with the same key and body returns the first answer")),
    responses((status = 201, body = SecureToken), (status = 404, body = ErrorBody), (status = 422, description = "Invalid, or an `email` token whose smtpHost is not a public address (forbidden_smtp_host)", body = ErrorBody)), security(("bearer" = [])))]
pub async fn create(State(state): State<AppState>, auth: Auth, RawBody(headers, body): RawBody) -> ApiResult<Response> {
    let req: CreateSecureTokenRequest = decode_json(&body)?;
    let site = idempotency::key_site(&state, &auth).await?;
    idempotency::run(&state, site, &headers, &[b"POST /v1/secure-tokens", &body], || async {
        idempotency::json(StatusCode::CREATED, state.engine.put_secure_token(auth.scope, req).await?)
    })
    .await
}

/// Lists the site's tokens (type, identifier, times), oldest first; values are never shown.
#[utoipa::path(get, operation_id = "secure_tokens_list", path = "/v1/secure-tokens", tag = "secure-tokens", params(TokenQuery),
    responses((status = 200, body = Page<SecureToken>)), security(("bearer" = [])))]
pub async fn list(State(state): State<AppState>, auth: Auth, ApiQuery(q): ApiQuery<TokenQuery>) -> ApiResult<Json<Page<SecureToken>>> {
    Ok(Json(Page { items: state.engine.list_secure_tokens(auth.scope, q.site_id).await?, next_cursor: None }))
}

/// Deletes a token (admin keys: of any site, or of `site_id`).
#[utoipa::path(delete, operation_id = "secure_tokens_delete", path = "/v1/secure-tokens/{id}", tag = "secure-tokens", params(("id" = String, Path), TokenQuery),
    responses((status = 204), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn delete(State(state): State<AppState>, auth: Auth, PathId(id): PathId<SecureTokenId>, ApiQuery(q): ApiQuery<TokenQuery>) -> ApiResult<StatusCode> {
    state.engine.delete_secure_token(auth.scope, id, q.site_id).await?;
    Ok(StatusCode::NO_CONTENT)
}
