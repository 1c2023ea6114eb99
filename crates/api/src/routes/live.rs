//! Live views of the event log: a server-sent event stream and a long-poll wait for the next
//! inbound message. Both read the durable log from a cursor and sleep on the store's event
//! signal between reads, so nothing is lost however long a client was away and nothing is
//! sent twice on one connection.

use super::events::{parse_cursor, scope_of};
use super::mailboxes::visible_mailbox;
use crate::AppState;
use crate::auth::{Auth, KEY_RECHECK, revoked};
use crate::error::{ApiError, ApiQuery, ApiResult, PathId};
use crate::json::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::Stream;
use mailroom_core::api::{ErrorBody, WaitResponse};
use mailroom_core::cursor::CursorScope;
use mailroom_core::event_types::MESSAGE_RECEIVED;
use mailroom_core::{Event, KeyScope, MailboxId, SiteId};
use serde::Deserialize;
use std::collections::VecDeque;
use std::convert::Infallible;
use std::time::Duration;

/// Filters and position of `GET /v1/events/stream`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct StreamQuery {
    /// Start after this cursor (`Last-Event-ID` wins when both are given); without either,
    /// the stream starts at the end of the log (new events only). Cursors are opaque and per
    /// site.
    pub after: Option<String>,
    /// Only events of this mailbox.
    pub mailbox_id: Option<MailboxId>,
    /// Comma-separated event types (`message.received,message.sent`).
    pub types: Option<String>,
    /// Admin keys: only this site.
    pub site_id: Option<SiteId>,
}

struct Filter {
    site: Option<SiteId>,
    mailbox: Option<MailboxId>,
    types: Option<Vec<String>>,
}

impl Filter {
    fn matches(&self, e: &Event) -> bool {
        self.mailbox.is_none_or(|m| e.mailbox_id == Some(m)) && self.types.as_ref().is_none_or(|t| t.contains(&e.event_type))
    }
}

struct StreamState {
    engine: mailroom_engine::Engine,
    /// The stream ends when this key is deleted (checked every [`KEY_RECHECK`] and before
    /// each batch of events is sent).
    auth: Auth,
    next_check: tokio::time::Instant,
    signal: tokio::sync::watch::Receiver<u64>,
    shutdown: tokio::sync::watch::Receiver<bool>,
    /// The position to announce before the first event, so a client that connected without a
    /// cursor knows where it is even if it loses the connection before any event.
    announce: Option<i64>,
    scope: mailroom_core::cursor::CursorScope,
    cursor: i64,
    filter: Filter,
    buffer: VecDeque<Event>,
}

/// Streams the site's events as server-sent events. Each event's `id:` is its cursor; a client
/// that reconnects with `Last-Event-ID` (or `?after=`) resumes right after it. A comment
/// heartbeat is sent every 15 s.
#[utoipa::path(get, operation_id = "events_stream", path = "/v1/events/stream", tag = "events", params(StreamQuery, ("Last-Event-ID" = Option<String>, Header)),
    responses((status = 200, content_type = "text/event-stream", description = "One SSE event per log entry: `id` = cursor, `event` = type, `data` = the event JSON"),
        (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn stream(
    State(state): State<AppState>,
    auth: Auth,
    headers: HeaderMap,
    ApiQuery(q): ApiQuery<StreamQuery>,
) -> ApiResult<Sse<impl Stream<Item = Result<SseEvent, Infallible>>>> {
    let site = match auth.scope {
        KeyScope::Site(own) => Some(own),
        KeyScope::Admin => q.site_id,
    };
    if let Some(m) = q.mailbox_id {
        visible_mailbox(&state, &auth, m).await?;
    }
    let engine = state.engine.clone();
    let signal = engine.event_signal();
    let resume = headers.get("last-event-id").and_then(|v| v.to_str().ok()).map(str::to_string).or(q.after);
    let scope = scope_of(site);
    let cursor = match resume.as_deref().filter(|s| !s.trim().is_empty()) {
        Some(c) => parse_cursor(c, scope)?,
        None => engine.last_event_cursor(site).await?,
    };
    let types = q.types.map(|t| t.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect::<Vec<_>>());
    let init = StreamState {
        engine,
        auth,
        next_check: tokio::time::Instant::now() + KEY_RECHECK,
        signal,
        shutdown: state.shutdown.clone(),
        announce: Some(cursor),
        scope,
        cursor,
        filter: Filter { site, mailbox: q.mailbox_id, types },
        buffer: VecDeque::new(),
    };
    let events = futures::stream::unfold(init, |mut st| async move {
        if let Some(position) = st.announce.take() {
            // An `id` without data: sets the client's Last-Event-ID, dispatches nothing.
            return Some((Ok(SseEvent::default().id(mailroom_core::cursor::encode(st.scope, position)).comment("position")), st));
        }
        loop {
            if *st.shutdown.borrow() {
                return None;
            }
            if tokio::time::Instant::now() >= st.next_check {
                if !st.auth.still_valid(&st.engine).await {
                    tracing::debug!(key_id = %st.auth.key_id, "event stream ended: its API key was deleted");
                    return None;
                }
                st.next_check = tokio::time::Instant::now() + KEY_RECHECK;
            }
            if let Some(e) = st.buffer.pop_front() {
                let data = serde_json::to_string(&e).unwrap_or_default();
                let sse = SseEvent::default().id(e.cursor.clone()).event(e.event_type.clone()).data(data);
                return Some((Ok(sse), st));
            }
            // Mark the signal seen before reading, so a commit after the read wakes us.
            st.signal.borrow_and_update();
            match st.engine.list_events(st.filter.site, Some(st.cursor), 500).await {
                Ok(batch) if !batch.is_empty() => {
                    // Never hand events to a key deleted since the last check.
                    if !st.auth.still_valid(&st.engine).await {
                        return None;
                    }
                    if let Some(last) = batch.last() {
                        st.cursor = mailroom_core::cursor::parse_scoped(&last.cursor, st.scope).unwrap_or(st.cursor);
                    }
                    st.buffer.extend(batch.into_iter().filter(|e| st.filter.matches(e)));
                }
                Ok(_) => {
                    tokio::select! {
                        changed = st.signal.changed() => if changed.is_err() { return None },
                        _ = st.shutdown.wait_for(|s| *s) => return None,
                        () = tokio::time::sleep_until(st.next_check) => {}
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "event stream ended by a store error; the client will resume");
                    return None;
                }
            }
        }
    });
    Ok(Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)).text("heartbeat")))
}

/// Position and timeout of a long-poll wait.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct WaitQuery {
    /// Wait for a message received after this event cursor (opaque: of the mailbox's site, or
    /// for admin keys of the whole log; `0` is the start); without it, after now.
    #[param(pattern = "^([eg][0-9a-z]{1,12}|0)?$")]
    pub after: Option<String>,
    /// Seconds to wait, 0-60 (default 30).
    #[param(minimum = 0, maximum = 60)]
    pub timeout: Option<u64>,
}

/// Waits for the next inbound message of a mailbox: answers as soon as one arrives, or 204
/// when `timeout` passes first.
#[utoipa::path(get, operation_id = "messages_wait", path = "/v1/mailboxes/{id}/messages/wait", tag = "messages", params(("id" = String, Path), WaitQuery),
    responses((status = 200, body = WaitResponse), (status = 204, description = "Nothing arrived before the timeout"),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody, description = "The key is unknown, or was deleted while the request waited"),
        (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn wait(State(state): State<AppState>, auth: Auth, PathId(id): PathId<MailboxId>, ApiQuery(q): ApiQuery<WaitQuery>) -> ApiResult<Response> {
    let mailbox = visible_mailbox(&state, &auth, id).await?;
    let timeout = match q.timeout {
        None => 30,
        Some(t @ 0..=60) => t,
        Some(_) => return Err(ApiError::new(StatusCode::BAD_REQUEST, "invalid_query", "`timeout` must be between 0 and 60 seconds")),
    };
    let engine = state.engine.clone();
    let mut signal = engine.event_signal();
    // A cursor of the mailbox's site; or, for an admin key, one of the whole log (what its
    // `events.cursor()` / stream without `site_id` hands out), read in that log's order and
    // answered in its kind, so an admin's wait → reply → wait chain keeps working.
    let after = q.after.as_deref().filter(|s| !s.trim().is_empty());
    let scope = match after {
        Some(c) if matches!(auth.scope, KeyScope::Admin) && mailroom_core::cursor::parse_scoped(c, CursorScope::All).is_ok() => CursorScope::All,
        _ => CursorScope::Site,
    };
    let read_site = match scope {
        CursorScope::Site => Some(mailbox.site_id),
        CursorScope::All => None,
    };
    let mut cursor = match after {
        Some(c) => parse_cursor(c, scope)?,
        None => engine.last_event_cursor(Some(mailbox.site_id)).await?,
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(timeout);
    let mut next_check = tokio::time::Instant::now() + KEY_RECHECK;
    let mut shutdown = state.shutdown.clone();
    loop {
        signal.borrow_and_update();
        let batch = engine.list_events(read_site, Some(cursor), 500).await?;
        for e in &batch {
            cursor = mailroom_core::cursor::parse_scoped(&e.cursor, scope).unwrap_or(cursor);
            if e.event_type == MESSAGE_RECEIVED && e.mailbox_id == Some(mailbox.id) {
                let message_id = e.data.get("id").and_then(|v| v.as_str()).and_then(|s| s.parse().ok());
                if let Some(message) = match message_id {
                    Some(mid) => engine.get_message(mid).await?,
                    None => None,
                } {
                    // The key may have been deleted while this request waited.
                    if !auth.still_valid(&engine).await {
                        return Err(revoked());
                    }
                    return Ok(Json(WaitResponse { cursor: e.cursor.clone(), message }).into_response());
                }
            }
        }
        if !batch.is_empty() {
            continue;
        }
        tokio::select! {
            changed = tokio::time::timeout_at(deadline, signal.changed()) => match changed {
                Ok(Ok(())) => {}
                Ok(Err(_)) | Err(_) => return Ok(StatusCode::NO_CONTENT.into_response()),
            },
            // The server is stopping: answer as a timeout; the client waits again elsewhere.
            () = async { let _ = shutdown.wait_for(|s| *s).await; } => return Ok(StatusCode::NO_CONTENT.into_response()),
            () = tokio::time::sleep_until(next_check.min(deadline)) => {
                if !auth.still_valid(&engine).await {
                    return Err(revoked());
                }
                next_check = tokio::time::Instant::now() + KEY_RECHECK;
                if tokio::time::Instant::now() >= deadline {
                    return Ok(StatusCode::NO_CONTENT.into_response());
                }
            }
        }
    }
}
