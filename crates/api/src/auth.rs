//! Bearer-key authentication: every `/v1` route needs `Authorization: Bearer <key>`.

use crate::AppState;
use crate::error::ApiError;
use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::request::Parts;
use mailroom_core::{ApiKeyId, KeyScope, SiteId};
use std::time::Duration;

/// How often a long-lived answer (an event stream, a long-poll wait) checks that its key still
/// exists: a deleted key's streams end within this (plus one store read), on every node, since
/// the store is what all nodes share.
pub const KEY_RECHECK: Duration = Duration::from_secs(2);

/// Where the access log learns which key a request used: the logging layer puts an empty
/// slot into the request, and [`Auth`] fills it with the key's id (never its secret).
#[derive(Debug, Clone, Default)]
pub struct KeySlot(pub std::sync::Arc<std::sync::OnceLock<String>>);

/// The authenticated caller.
#[derive(Debug, Clone, Copy)]
pub struct Auth {
    /// What the key may reach.
    pub scope: KeyScope,
    /// The key the request was made with.
    pub key_id: ApiKeyId,
}

/// The answer to a request whose key was deleted while it was being served.
pub fn revoked() -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, "invalid_api_key", "the API key was deleted while the request was open")
}

impl Auth {
    /// Fails with 403 unless the key is an admin key.
    pub fn require_admin(&self) -> Result<(), ApiError> {
        match self.scope {
            KeyScope::Admin => Ok(()),
            KeyScope::Site(_) => Err(ApiError::new(StatusCode::FORBIDDEN, "forbidden", "this route needs an admin API key")),
        }
    }

    /// Tells whether the caller's key still exists. A store error counts as "still valid": a
    /// database hiccup should not cut every stream; the next check decides.
    pub async fn still_valid(&self, engine: &mailroom_engine::Engine) -> bool {
        engine.api_key_still_valid(self.key_id).await
    }

    /// Tells whether the caller may see objects of `site`.
    pub fn allows(&self, site: SiteId) -> bool {
        self.scope.allows(site)
    }
}

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let header = parts.headers.get(axum::http::header::AUTHORIZATION).ok_or_else(|| {
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                "missing_api_key",
                "send an API key as `Authorization: Bearer <key>`; the first admin key is in <data-dir>/admin-api-key",
            )
        })?;
        let value = header.to_str().unwrap_or_default().trim();
        let secret = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| {
                ApiError::new(StatusCode::UNAUTHORIZED, "invalid_api_key", "the Authorization header must be `Bearer <key>`")
            })?;
        let hash = mailroom_engine::hash_api_key(secret);
        let key = state.engine.find_api_key_by_hash(&hash).await?.ok_or_else(|| {
            ApiError::new(StatusCode::UNAUTHORIZED, "invalid_api_key", "the API key is not valid (unknown or deleted)")
        })?;
        if let Some(slot) = parts.extensions.get::<KeySlot>() {
            let _ = slot.0.set(key.id.to_string());
        }
        Ok(Auth { scope: key.key_scope(), key_id: key.id })
    }
}
