//! Importing existing mail into a mailbox: raw RFC 5322 bytes stored as received mail,
//! through the engine (threaded, searchable, in the event log as `message.imported`), never
//! sent. `mailroom import` streams mbox, Maildir and .eml files through this route.

use super::mailboxes::visible_mailbox;
use crate::AppState;
use crate::auth::Auth;
use crate::error::{ApiError, ApiResult, PathId};
use crate::json::Json;
use axum::extract::State;
use axum::http::StatusCode;
use mailroom_core::api::ErrorBody;
use mailroom_core::{MailboxId, Message};
use serde::{Deserialize, Serialize};

/// The answer to an import: one message's result, or a batch's results in order.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum ImportResponse {
    /// The answer to a single message.
    One(Box<ImportedMessage>),
    /// The answer to a batch.
    Batch(ImportBatchResponse),
}

/// The answer to a batch import.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ImportBatchResponse {
    /// One result per message, in the order sent.
    pub results: Vec<ImportedMessage>,
}

/// What became of one imported message.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ImportedMessage {
    /// `true` when the message was stored now; `false` when the mailbox already held a
    /// message with its `Message-ID` (which is returned instead).
    pub imported: bool,
    /// The stored message.
    pub message: Message,
}

/// Imports mail into the mailbox as received mail; nothing is sent. The body is one message's
/// raw bytes (`Content-Type: message/rfc822`), or with `Content-Type: application/json` a
/// batch `{"messages": [{"raw_base64": "…"}]}` of up to 1,000 messages, stored in order and
/// threaded (a reply finds its parent earlier in the batch). Answers 201 when something was
/// imported, 200 when every message was there already: a message whose `Message-ID` the
/// mailbox holds is never stored twice, so re-running an import is safe.
#[utoipa::path(post, path = "/v1/mailboxes/{id}/import", tag = "messages", operation_id = "messages_import",
    params(("id" = String, Path, description = "The mailbox's id"), ("Idempotency-Key" = Option<String>, Header, description = "Retrying with the same key and body returns the first answer")),
    request_body(description = "One message's raw bytes (message/rfc822), kept exactly, or a batch (application/json)", content(
        (String = "message/rfc822"),
        (ImportBatchRequest = "application/json"),
    )),
    responses((status = 201, body = ImportResponse, description = "Imported"), (status = 200, body = ImportResponse, description = "Already there"),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 413, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn import(
    State(state): State<AppState>,
    auth: Auth,
    PathId(id): PathId<MailboxId>,
    headers: axum::http::HeaderMap,
    body: Result<bytes::Bytes, axum::extract::rejection::BytesRejection>) -> ApiResult<axum::response::Response> {
    let mailbox = visible_mailbox(&state, &auth, id).await?;
    let body = body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", "the message is larger than this server accepts (`http.max_body_bytes`)")
        } else {
            ApiError::new(StatusCode::BAD_REQUEST, "invalid_body", rejection.body_text())
        }
    })?;
    let content_type = headers.get(axum::http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default().to_ascii_lowercase();
    let path = format!("POST /v1/mailboxes/{id}/import");
    let kind = if content_type.starts_with("application/json") { "batch" } else { "one" };
    crate::idempotency::run(&state, mailbox.site_id, &headers, &[path.as_bytes(), kind.as_bytes(), &body], || async {
        let (status, Json(answer)) = import_body(&state, &mailbox, kind == "batch", &body).await?;
        crate::idempotency::json(status, answer)
    })
    .await
}

/// Imports one message (`batch` false) or a JSON batch.
async fn import_body(state: &AppState, mailbox: &mailroom_core::Mailbox, batch: bool, body: &bytes::Bytes) -> ApiResult<(StatusCode, Json<ImportResponse>)> {
    if batch {
        return import_batch(state, mailbox, body).await;
    }
    let body = body.clone();
    if body.is_empty() {
        return Err(ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_message", "the body must be a message's raw RFC 5322 bytes; it is empty"));
    }
    if !looks_like_a_message(&body) {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_message",
            "the body is not an RFC 5322 message: it must start with header fields (`Name: value`)",
        ));
    }
    let (message, imported) = state.engine.import_message(mailbox, body).await?;
    let status = if imported { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, Json(ImportResponse::One(Box::new(ImportedMessage { imported, message })))))
}

/// The most messages one batch may hold.
pub const MAX_BATCH: usize = 1000;

/// A batch of messages to import, in order: `{"messages": [{"raw_base64": "…"}, …]}`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ImportBatchRequest {
    /// The messages, oldest first (1-1000).
    pub messages: Vec<ImportBatchItem>,
}

/// One message of a batch.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ImportBatchItem {
    /// The message's raw RFC 5322 bytes, base64-encoded.
    pub raw_base64: String,
}

async fn import_batch(state: &AppState, mailbox: &mailroom_core::Mailbox, body: &[u8]) -> ApiResult<(StatusCode, Json<ImportResponse>)> {
    use base64::Engine as _;
    let req: ImportBatchRequest = crate::error::decode_json(body)?;
    if req.messages.is_empty() || req.messages.len() > MAX_BATCH {
        return Err(ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_batch", format!("`messages` must hold 1 to {MAX_BATCH} messages")));
    }
    let mut raws = Vec::with_capacity(req.messages.len());
    for (i, item) in req.messages.iter().enumerate() {
        let raw = base64::engine::general_purpose::STANDARD
            .decode(item.raw_base64.trim())
            .map_err(|e| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_base64", format!("`messages[{i}].raw_base64` is not base64: {e}")))?;
        if !looks_like_a_message(&raw) {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_message",
                format!("`messages[{i}]` is not an RFC 5322 message: it must start with header fields (`Name: value`)"),
            ));
        }
        raws.push(bytes::Bytes::from(raw));
    }
    let results = state.engine.import_messages(mailbox, raws).await?;
    let any_new = results.iter().any(|(_, new)| *new);
    let items = results.into_iter().map(|(message, imported)| ImportedMessage { imported, message }).collect();
    Ok((if any_new { StatusCode::CREATED } else { StatusCode::OK }, Json(ImportResponse::Batch(ImportBatchResponse { results: items }))))
}

/// Tells whether the bytes start with a header field, so a file that is not mail (a JSON
/// body, a stray mbox `From ` line) is refused instead of stored as a message without
/// headers. Field names are held to letters, digits, `-` and `_`, as every real header is.
fn looks_like_a_message(raw: &[u8]) -> bool {
    let first = raw.split(|&b| b == b'\n').next().unwrap_or_default();
    match first.iter().position(|&b| b == b':') {
        Some(colon) if colon > 0 => first[..colon].iter().all(|&b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::looks_like_a_message;

    #[test]
    fn only_header_fields_start_a_message() {
        assert!(looks_like_a_message(b"From: a@x.test\r\nSubject: s\r\n\r\nbody"));
        assert!(looks_like_a_message(b"Received: from x\n\tby y\n"));
        assert!(!looks_like_a_message(b"From a@x.test Mon Jan  1 00:00:00 2026\nFrom: a@x.test\n"));
        assert!(!looks_like_a_message(b"{\"json\": 1}"));
        assert!(!looks_like_a_message(b": no name"));
    }
}
