//! The event log.

use crate::AppState;
use crate::auth::Auth;
use crate::error::{ApiError, ApiQuery, ApiResult};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use mailroom_core::api::{ErrorBody, Page};
use mailroom_core::{Event, SiteId};
use mailroom_engine::listing_site;
use serde::Deserialize;

/// Reading position in the event log.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct EventQuery {
    /// Only events after this cursor (exclusive); from the start when absent.
    #[param(pattern = "^[0-9]{0,18}$")]
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
    let after = q
        .after
        .as_deref()
        .filter(|a| !a.is_empty())
        .map(|a| a.parse::<i64>().ok().filter(|n| *n >= 0))
        .map(|a| a.ok_or_else(|| ApiError::new(StatusCode::BAD_REQUEST, "invalid_cursor", "`after` is not a cursor this server returned")))
        .transpose()?;
    let limit = match q.limit {
        None => 100,
        Some(n @ 1..=1000) => n,
        Some(_) => return Err(ApiError::new(StatusCode::BAD_REQUEST, "invalid_query", "`limit` must be between 1 and 1000")),
    };
    let items = state.engine.list_events(listing_site(auth.scope, q.site_id), after, limit).await?;
    let next_cursor = items.last().map(|e| e.cursor.clone()).or_else(|| after.map(|a| a.to_string()));
    Ok(Json(Page { items, next_cursor }))
}
