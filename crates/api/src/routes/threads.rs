//! Threads.

use super::mailboxes::visible_mailbox;
use super::limit;
use crate::AppState;
use crate::auth::Auth;
use crate::error::{ApiError, ApiQuery, ApiResult, PathId};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use base64::Engine as _;
use chrono::{DateTime, Utc};
use mailroom_core::api::{ErrorBody, Page, ThreadWithMessages};
use mailroom_core::{MailboxId, Thread, ThreadId};
use mailroom_store::ThreadCursor;
use serde::Deserialize;

/// Paging of thread listings.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ThreadQuery {
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Page size, 1-100 (default 50).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
}

fn encode_cursor(t: &Thread) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{}|{}", t.last_message_at.to_rfc3339(), t.id))
}

fn decode_cursor(c: &str) -> Option<ThreadCursor> {
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(c).ok()?;
    let text = String::from_utf8(raw).ok()?;
    let (ts, id) = text.split_once('|')?;
    Some(ThreadCursor { last_message_at: DateTime::parse_from_rfc3339(ts).ok()?.with_timezone(&Utc), id: id.parse().ok()? })
}

/// Lists a mailbox's threads, latest activity first.
#[utoipa::path(get, operation_id = "threads_list", path = "/v1/mailboxes/{id}/threads", tag = "threads", params(("id" = String, Path), ThreadQuery),
    responses((status = 200, body = Page<Thread>), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn list(State(state): State<AppState>, auth: Auth, PathId(id): PathId<MailboxId>, ApiQuery(q): ApiQuery<ThreadQuery>) -> ApiResult<Json<Page<Thread>>> {
    let mailbox = visible_mailbox(&state, &auth, id).await?;
    let limit = limit(q.limit)?;
    let cursor = q
        .cursor
        .as_deref()
        .map(|c| decode_cursor(c).ok_or_else(|| ApiError::new(StatusCode::BAD_REQUEST, "invalid_cursor", "`cursor` is not a cursor this server returned")))
        .transpose()?;
    let items = state.engine.list_threads(mailbox.id, cursor, limit).await?;
    let next_cursor = if items.len() as u32 >= limit { items.last().map(encode_cursor) } else { None };
    Ok(Json(Page { items, next_cursor }))
}

/// Returns a thread with its messages, oldest first.
#[utoipa::path(get, operation_id = "threads_get", path = "/v1/threads/{id}", tag = "threads", params(("id" = String, Path)),
    responses((status = 200, body = ThreadWithMessages), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn get(State(state): State<AppState>, auth: Auth, PathId(id): PathId<ThreadId>) -> ApiResult<Json<ThreadWithMessages>> {
    Ok(Json(state.engine.thread_with_messages(auth.scope, id).await?))
}
