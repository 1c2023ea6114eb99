//! The event log.

use crate::AppState;
use crate::auth::Auth;
use crate::error::{ApiError, ApiQuery, ApiResult};
use crate::json::Json;
use axum::extract::State;
use axum::http::StatusCode;
use mailroom_core::api::{ErrorBody, Page};
use mailroom_core::cursor::{self, CursorError, CursorScope};
use mailroom_core::{Event, SiteId};
use mailroom_engine::listing_site;
use serde::Deserialize;

/// Reading position in the event log.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct EventQuery {
    /// Only events after this cursor (exclusive); from the start when absent. Cursors are
    /// opaque and per site (an admin read without `site_id` has cursors of its own).
    pub after: Option<String>,
    /// Page size, 1-1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
    /// Admin keys: only this site's events.
    pub site_id: Option<SiteId>,
}

/// Reads the site's ordered, durable event log. `next_cursor` is always the cursor to pass
/// as `after` next time (the same one when nothing new happened).
#[utoipa::path(get, operation_id = "events_list", path = "/v1/events", tag = "events", params(EventQuery),
    responses((status = 200, body = Page<Event>), (status = 400, body = ErrorBody)), security(("bearer" = [])))]
pub async fn list(State(state): State<AppState>, auth: Auth, ApiQuery(q): ApiQuery<EventQuery>) -> ApiResult<Json<Page<Event>>> {
    let limit = match q.limit {
        None => 100,
        Some(n @ 1..=1000) => n,
        Some(_) => return Err(ApiError::new(StatusCode::BAD_REQUEST, "invalid_query", "`limit` must be between 1 and 1000")),
    };
    let site = listing_site(auth.scope, q.site_id);
    let scope = scope_of(site);
    let after = q.after.as_deref().filter(|a| !a.is_empty()).map(|a| parse_cursor(a, scope)).transpose()?;
    let items = state.engine.list_events(site, after, limit).await?;
    let next_cursor = items.last().map(|e| e.cursor.clone()).or_else(|| after.map(|a| cursor::encode(scope, a)));
    Ok(Json(Page { items, next_cursor }))
}

/// The cursor scope of a read of `site` (or of every site).
pub(crate) fn scope_of(site: Option<SiteId>) -> CursorScope {
    if site.is_some() { CursorScope::Site } else { CursorScope::All }
}

/// Decodes a cursor a client passed back for a read of `scope`: a bare number, a cursor of a
/// version before per-site cursors, answers `cursor_outdated`; anything else that is not a
/// cursor of this scope, `invalid_cursor`.
pub(crate) fn parse_cursor(raw: &str, scope: CursorScope) -> ApiResult<i64> {
    cursor::parse_scoped(raw, scope).map_err(|e| match e {
        CursorError::Legacy => ApiError::new(
            StatusCode::BAD_REQUEST,
            "cursor_outdated",
            "event cursors are per-site and opaque since this version; this numeric cursor is from an earlier one. \
             Read again without a cursor (GET /v1/events from the start, or the stream from now)",
        ),
        CursorError::Invalid => ApiError::new(StatusCode::BAD_REQUEST, "invalid_cursor", "the cursor is not one this server returned for this read"),
    })
}
