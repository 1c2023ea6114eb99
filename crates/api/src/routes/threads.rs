//! Threads.

use super::mailboxes::visible_mailbox;
use super::limit;
use crate::AppState;
use crate::auth::Auth;
use crate::error::{ApiError, ApiQuery, ApiResult, PathId};
use crate::json::Json;
use axum::extract::State;
use axum::http::StatusCode;
use base64::Engine as _;
use chrono::{DateTime, Utc};
use mailroom_core::api::{ErrorBody, Page, ThreadWithMessages};
use mailroom_core::reading::agent::{AgentThreadView, MAX_TOKEN_BUDGET, MIN_TOKEN_BUDGET};
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

/// How to return a thread.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ThreadViewQuery {
    /// `agent`: the thread as an agent should read it (each message's new text only, hidden
    /// text and invisible characters removed, attachment excerpts, security flags, newest last,
    /// within `max_tokens`, older messages summarised or left out and said so). Absent: the
    /// thread with its stored messages.
    pub view: Option<String>,
    /// The agent view's token budget, 200-100000 (default 4000).
    #[param(minimum = 200, maximum = 100000)]
    pub max_tokens: Option<u32>,
}

/// A thread: with its stored messages, or (`view=agent`) as an agent reads it.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum ThreadAnswer {
    /// The default view.
    Full(ThreadWithMessages),
    /// `view=agent`.
    Agent(AgentThreadView),
}

/// Returns a thread with its messages, oldest first; with `view=agent`, the agent view.
#[utoipa::path(get, operation_id = "threads_get", path = "/v1/threads/{id}", tag = "threads", params(("id" = String, Path), ThreadViewQuery),
    responses((status = 200, body = ThreadAnswer), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn get(State(state): State<AppState>, auth: Auth, PathId(id): PathId<ThreadId>, ApiQuery(q): ApiQuery<ThreadViewQuery>) -> ApiResult<Json<ThreadAnswer>> {
    match q.view.as_deref() {
        None | Some("full") => {}
        Some("agent") => {
            if let Some(n) = q.max_tokens
                && !(MIN_TOKEN_BUDGET..=MAX_TOKEN_BUDGET).contains(&n)
            {
                return Err(ApiError::new(StatusCode::BAD_REQUEST, "validation_error", format!("`max_tokens` must be {MIN_TOKEN_BUDGET} to {MAX_TOKEN_BUDGET}")));
            }
            let (view, _) = state
                .engine
                .agent_thread_view(id, q.max_tokens)
                .await?
                .filter(|(_, site)| auth.allows(*site))
                .ok_or_else(|| ApiError::not_found("thread", id))?;
            return Ok(Json(ThreadAnswer::Agent(view)));
        }
        Some(other) => {
            return Err(ApiError::new(StatusCode::BAD_REQUEST, "validation_error", format!("`view` must be `agent` or absent, not `{other}`")));
        }
    }
    if q.max_tokens.is_some() {
        return Err(ApiError::new(StatusCode::BAD_REQUEST, "validation_error", "`max_tokens` applies to `view=agent` only"));
    }
    Ok(Json(ThreadAnswer::Full(state.engine.thread_with_messages(auth.scope, id).await?)))
}
