//! The API's one error shape, `{"error": {"code", "message"}}`, and the extractors that
//! turn every malformed request into it instead of axum's plain-text rejections.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use mailroom_core::api::{ErrorBody, ErrorDetail};
use mailroom_engine::EngineError;
use mailroom_store::StoreError;
use serde::de::DeserializeOwned;
use std::str::FromStr;

/// An error answer: HTTP status, stable code and a sentence for humans.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// The machine-readable code.
    pub code: &'static str,
    /// What went wrong and what to do.
    pub message: String,
}

impl ApiError {
    /// Returns an error with the given parts.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self { status, code, message: message.into() }
    }

    /// Returns a 404 for an object of `kind` with `id`: the answer for missing objects and for
    /// objects of another site alike.
    pub fn not_found(kind: &str, id: impl std::fmt::Display) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", format!("no {kind} with id {id}"))
    }

    /// Returns a 500 whose details are logged, never sent.
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        tracing::error!(error = %detail, "internal error");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal_error", "the server failed; the error was logged")
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody { error: ErrorDetail { code: self.code.to_string(), message: self.message } };
        (self.status, crate::json::Json(body)).into_response()
    }
}

impl From<EngineError> for ApiError {
    fn from(e: EngineError) -> Self {
        match e {
            EngineError::NotFound(m) => Self::new(StatusCode::NOT_FOUND, "not_found", m),
            EngineError::Invalid { code: "forbidden", message } => Self::new(StatusCode::FORBIDDEN, "forbidden", message),
            EngineError::Invalid { code: code @ ("invalid_query" | "invalid_cursor"), message } => {
                Self::new(StatusCode::BAD_REQUEST, code, message)
            }
            EngineError::Invalid { code: code @ "rate_limited", message } => Self::new(StatusCode::TOO_MANY_REQUESTS, code, message),
            EngineError::Invalid { code: code @ "quota_exceeded", message } => Self::new(StatusCode::INSUFFICIENT_STORAGE, code, message),
            EngineError::Invalid { code: code @ "attachment_too_large", message } => Self::new(StatusCode::PAYLOAD_TOO_LARGE, code, message),
            EngineError::Invalid { code, message } => Self::new(StatusCode::UNPROCESSABLE_ENTITY, code, message),
            EngineError::Conflict { code, message } => Self::new(StatusCode::CONFLICT, code, message),
            EngineError::Store(StoreError::Conflict { constraint }) => match constraint.as_str() {
                "contact_email" => Self::new(StatusCode::CONFLICT, "contact_email_taken", "the site already has a contact with this email address"),
                "contact_external_id" => {
                    Self::new(StatusCode::CONFLICT, "contact_external_id_taken", "the site already has a contact with this external id")
                }
                "tool_config_name" => Self::new(StatusCode::CONFLICT, "tool_config_name_taken", "the site already has a tool config with this name"),
                "team_member_mailbox" => Self::new(
                    StatusCode::CONFLICT,
                    "mailbox_in_use",
                    "a team member sends from this mailbox; move or delete the team member first",
                ),
                "sent_email_external_id" => Self::new(StatusCode::CONFLICT, "sent_email_exists", "this email was already recorded"),
                _ => Self::new(StatusCode::CONFLICT, "conflict", format!("the request conflicts with existing data ({constraint})")),
            },
            EngineError::Store(e) => Self::internal(e),
            EngineError::Internal(m) => Self::internal(m),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        EngineError::Store(e).into()
    }
}

/// Result type of handlers.
pub type ApiResult<T> = Result<T, ApiError>;

/// Decodes a JSON body with the project's errors: `malformed_json` (400) for bad syntax,
/// `unknown_field` (400) for a field the route does not take, `invalid_request` (422) for
/// a missing field or a wrong type.
pub fn decode_json<T: DeserializeOwned>(bytes: &[u8]) -> ApiResult<T> {
    let body: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) { b"{}" } else { bytes };
    // serde reads a struct from a JSON array too (`[null, null]` as positional fields): every
    // typed body of this API is an object, so an array is refused before it gets that far.
    // Routes that take any JSON (`Value`) check its shape themselves, with their own code.
    let any_json = std::any::type_name::<T>() == std::any::type_name::<serde_json::Value>();
    if !any_json && body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[') {
        return Err(ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_request", "the body must be a JSON object, not an array"));
    }
    serde_json::from_slice(body).map_err(|e| {
        use serde_json::error::Category;
        let text = e.to_string();
        match e.classify() {
            Category::Syntax | Category::Eof | Category::Io => {
                ApiError::new(StatusCode::BAD_REQUEST, "malformed_json", format!("the body is not valid JSON: {text}"))
            }
            Category::Data if text.starts_with("unknown field") => {
                ApiError::new(StatusCode::BAD_REQUEST, "unknown_field", format!("{text}; remove it or check its spelling"))
            }
            Category::Data => ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_request", text),
        }
    })
}

/// Reads a request body within the configured size limit.
pub async fn read_body(req: Request) -> ApiResult<(axum::http::HeaderMap, Bytes)> {
    if let Some(ct) = req.headers().get(header::CONTENT_TYPE) {
        let ct = ct.to_str().unwrap_or_default().to_ascii_lowercase();
        if !ct.starts_with("application/json") {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send the body as JSON with `Content-Type: application/json`",
            ));
        }
    }
    let headers = req.headers().clone();
    let bytes = Bytes::from_request(req, &()).await.map_err(|rejection| {
        if crate::listener::is_body_timeout(&rejection) {
            ApiError::new(StatusCode::REQUEST_TIMEOUT, "request_timeout", crate::listener::BODY_TIMEOUT_MESSAGE)
        } else if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", "the body is larger than this server accepts (`http.max_body_bytes`)")
        } else {
            ApiError::new(StatusCode::BAD_REQUEST, "invalid_body", rejection.body_text())
        }
    })?;
    Ok((headers, bytes))
}

/// A JSON body decoded with the project's errors.
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, Self::Rejection> {
        let (_, bytes) = read_body(req).await?;
        decode_json(&bytes).map(ApiJson)
    }
}

/// The raw body and headers of a request, for routes that hash the body (idempotency).
pub struct RawBody(pub axum::http::HeaderMap, pub Bytes);

impl<S: Send + Sync> FromRequest<S> for RawBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, Self::Rejection> {
        read_body(req).await.map(|(h, b)| RawBody(h, b))
    }
}

/// A typed id from the path; an unparseable id is an unknown id (404).
pub struct PathId<T>(pub T);

impl<S: Send + Sync, T: FromStr + Send> FromRequestParts<S> for PathId<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let axum::extract::Path(raw) = axum::extract::Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|e| ApiError::new(StatusCode::NOT_FOUND, "not_found", e.body_text()))?;
        raw.parse::<T>().map(PathId).map_err(|_| ApiError::new(StatusCode::NOT_FOUND, "not_found", format!("no object with id {raw}")))
    }
}

/// A query string decoded with the project's errors (`invalid_query`, 400).
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| ApiQuery(q.0))
            .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "invalid_query", e.body_text()))
    }
}

#[cfg(test)]
mod tests {
    use super::decode_json;
    use mailroom_core::api::UpdateMailboxRequest;

    #[test]
    fn a_body_is_an_object_never_an_array() {
        let e = decode_json::<UpdateMailboxRequest>(b" [null]").err().unwrap();
        assert_eq!((e.status.as_u16(), e.code), (422, "invalid_request"));
        assert!(decode_json::<UpdateMailboxRequest>(b"").is_ok());
        assert_eq!(decode_json::<UpdateMailboxRequest>(b"{\"nope\": 1}").err().unwrap().code, "unknown_field");
    }
}
