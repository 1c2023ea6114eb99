//! Secure tokens: secrets a site stores for its tools (SMTP credentials, …), sealed at rest
//! with the server key. Values are write-only: no answer and no log line ever holds one.

use super::mailboxes::target_site;
use crate::AppState;
use crate::auth::Auth;
use crate::error::{ApiError, ApiJson, ApiQuery, ApiResult, PathId};
use axum::Json;
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

/// The largest sealed value accepted, in bytes of JSON.
const MAX_VALUE_BYTES: usize = 64 * 1024;

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "validation_error", message)
}

/// Stores a secret for the site, sealed with the server key; a token with the same type and
/// identifier is replaced. The answer holds the metadata only, never the value.
#[utoipa::path(post, operation_id = "secure_tokens_create", path = "/v1/secure-tokens", tag = "secure-tokens", request_body = CreateSecureTokenRequest,
    responses((status = 201, body = SecureToken), (status = 404, body = ErrorBody), (status = 422, description = "Invalid, or an `email` token whose smtpHost is not a public address (forbidden_smtp_host)", body = ErrorBody)), security(("bearer" = [])))]
pub async fn create(State(state): State<AppState>, auth: Auth, ApiJson(req): ApiJson<CreateSecureTokenRequest>) -> ApiResult<(StatusCode, Json<SecureToken>)> {
    let site = target_site(&state, &auth, Some(req.site_id)).await?;
    let token_type = req.token_type.trim();
    let identifier = req.identifier.trim();
    if token_type.is_empty() || token_type.len() > 64 {
        return Err(invalid("`token_type` must be 1 to 64 characters"));
    }
    if identifier.is_empty() || identifier.len() > 255 {
        return Err(invalid("`identifier` must be 1 to 255 characters"));
    }
    if req.token_value.is_null() {
        return Err(invalid("`token_value` must not be null"));
    }
    // SMTP credentials: the host must be public (SSRF guard) and the security mode known.
    if token_type == "email" {
        state.engine.check_smtp_token(&req.token_value).await?;
    }
    let plain = serde_json::to_vec(&req.token_value).map_err(|_| ApiError::internal("secure token value does not serialise"))?;
    if plain.len() > MAX_VALUE_BYTES {
        return Err(invalid(format!("`token_value` must be at most {MAX_VALUE_BYTES} bytes of JSON")));
    }
    let now = chrono::Utc::now();
    let token = SecureToken {
        id: SecureTokenId::new(),
        site_id: site,
        token_type: token_type.to_string(),
        identifier: identifier.to_string(),
        value_encrypted: state.engine.secrets().seal(&plain),
        created_at: now,
        updated_at: now,
    };
    drop(plain);
    let stored = state.engine.store().put_secure_token(&token).await?;
    Ok((StatusCode::CREATED, Json(stored)))
}

/// Lists the site's tokens (type, identifier, times), oldest first; values are never shown.
#[utoipa::path(get, operation_id = "secure_tokens_list", path = "/v1/secure-tokens", tag = "secure-tokens", params(TokenQuery),
    responses((status = 200, body = Page<SecureToken>)), security(("bearer" = [])))]
pub async fn list(State(state): State<AppState>, auth: Auth, ApiQuery(q): ApiQuery<TokenQuery>) -> ApiResult<Json<Page<SecureToken>>> {
    let site = target_site(&state, &auth, q.site_id).await?;
    Ok(Json(Page { items: state.engine.store().list_secure_tokens(site).await?, next_cursor: None }))
}

/// Deletes a token (admin keys: of any site, or of `site_id`).
#[utoipa::path(delete, operation_id = "secure_tokens_delete", path = "/v1/secure-tokens/{id}", tag = "secure-tokens", params(("id" = String, Path), TokenQuery),
    responses((status = 204), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn delete(State(state): State<AppState>, auth: Auth, PathId(id): PathId<SecureTokenId>, ApiQuery(q): ApiQuery<TokenQuery>) -> ApiResult<StatusCode> {
    // The store lists tokens by site: look among the sites the caller may reach.
    let sites = match (auth.scope, q.site_id) {
        (mailroom_core::KeyScope::Admin, None) => state.engine.store().list_sites().await?.into_iter().map(|s| s.id).collect(),
        _ => vec![target_site(&state, &auth, q.site_id).await?],
    };
    let mut owned = false;
    for site in sites {
        if state.engine.store().list_secure_tokens(site).await?.iter().any(|t| t.id == id) {
            owned = true;
            break;
        }
    }
    if owned && state.engine.store().delete_secure_token(id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("secure token", id))
    }
}
