//! Tool runs: the audit record of every tool invocation (read-only).

use super::{limit, page_by_last};
use crate::AppState;
use crate::auth::Auth;
use crate::error::{ApiError, ApiQuery, ApiResult, PathId};
use crate::json::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use mailroom_core::agent::ToolRun;
use mailroom_core::api::{ErrorBody, Page};
use mailroom_core::{ContactId, SiteId, ToolRunId};
use mailroom_engine::listing_site;
use mailroom_store::ToolRunFilter;
use serde::Deserialize;

/// Filters and paging of the tool-run listing.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ToolRunQuery {
    /// Only this tool.
    pub tool: Option<String>,
    /// Only runs about this contact.
    #[param(value_type = Option<String>, format = Uuid)]
    pub contact_id: Option<ContactId>,
    /// Only runs with this status.
    pub status: Option<String>,
    /// Only runs at or after this time (RFC 3339).
    pub since: Option<DateTime<Utc>>,
    /// Only runs before this time (RFC 3339).
    pub until: Option<DateTime<Utc>>,
    /// The `next_cursor` of the previous page.
    #[param(format = Uuid)]
    pub cursor: Option<String>,
    /// Page size, 1-100 (default 50).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    /// Admin keys: only this site.
    #[param(value_type = Option<String>, format = Uuid)]
    pub site_id: Option<SiteId>,
}

/// Lists tool runs, newest first.
#[utoipa::path(get, operation_id = "tool_runs_list", path = "/v1/tool-runs", tag = "tool-runs", params(ToolRunQuery),
    responses((status = 200, body = Page<ToolRun>), (status = 400, body = ErrorBody)), security(("bearer" = [])))]
pub async fn list(State(state): State<AppState>, auth: Auth, ApiQuery(q): ApiQuery<ToolRunQuery>) -> ApiResult<Json<Page<ToolRun>>> {
    let limit = limit(q.limit)?;
    let before = q
        .cursor
        .as_deref()
        .map(|c| c.parse::<ToolRunId>())
        .transpose()
        .map_err(|_| ApiError::new(StatusCode::BAD_REQUEST, "invalid_cursor", "`cursor` is not a cursor this server returned"))?;
    let site = listing_site(auth.scope, q.site_id);
    let filter = ToolRunFilter { site, tool: q.tool, contact: q.contact_id, status: q.status, since: q.since, until: q.until, before, limit };
    let items = state.engine.list_tool_runs(&filter).await?;
    Ok(Json(page_by_last(items, limit, |r| r.id)))
}

/// Returns a tool run: inputs, checks, decision and outputs.
#[utoipa::path(get, operation_id = "tool_runs_get", path = "/v1/tool-runs/{id}", tag = "tool-runs", params(("id" = String, Path)),
    responses((status = 200, body = ToolRun), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn get(State(state): State<AppState>, auth: Auth, PathId(id): PathId<ToolRunId>) -> ApiResult<Json<ToolRun>> {
    Ok(Json(state.engine.visible_tool_run(auth.scope, id).await?))
}
