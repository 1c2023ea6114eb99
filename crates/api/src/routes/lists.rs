//! Allow and block lists (as AgentMail's): per site or per mailbox, for mail sent (checked in
//! the engine's one policy step, `recipient_blocked`) and mail received (`550 5.7.1` at RCPT).

use super::mailboxes::target_site;
use crate::AppState;
use crate::auth::Auth;
use crate::error::{ApiQuery, ApiResult, PathId, RawBody, decode_json};
use crate::idempotency;
use axum::response::Response;
use crate::json::Json;
use axum::extract::State;
use axum::http::StatusCode;
use mailroom_core::api::{CreateListEntryRequest, ErrorBody, Page};
use mailroom_core::{ListDirection, ListEntry, ListEntryId, MailboxId, SiteId};
use mailroom_engine::listing_site;
use serde::Deserialize;

/// Filters of `GET /v1/lists`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Only `send` or `receive` entries.
    pub direction: Option<ListDirection>,
    /// Only this mailbox's own entries.
    pub mailbox_id: Option<MailboxId>,
    /// Admin keys: only this site's entries (site keys see their own site's).
    pub site_id: Option<SiteId>,
}

/// Adds an allow or block entry.
#[utoipa::path(post, path = "/v1/lists", tag = "lists", operation_id = "lists_create", request_body = CreateListEntryRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "Retrying with the same key and body returns the first answer")),
    responses((status = 201, body = ListEntry), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
pub async fn create(
    State(state): State<AppState>,
    auth: Auth,
    RawBody(headers, body): RawBody,
) -> ApiResult<Response> {
    let req: CreateListEntryRequest = decode_json(&body)?;
    let site = target_site(&state, &auth, req.site_id).await?;
    idempotency::run(&state, site, &headers, &[b"POST /v1/lists", &body], || async {
        idempotency::json(StatusCode::CREATED, state.engine.create_list_entry(site, &req).await?)
    })
    .await
}

/// Lists the entries, oldest first.
#[utoipa::path(get, path = "/v1/lists", tag = "lists", operation_id = "lists_list", params(ListQuery),
    responses((status = 200, body = Page<ListEntry>), (status = 401, body = ErrorBody)), security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    auth: Auth,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Json<Page<ListEntry>>> {
    let items = state
        .engine
        .list_list_entries(listing_site(auth.scope, q.site_id), q.direction, q.mailbox_id)
        .await?;
    Ok(Json(Page {
        items,
        next_cursor: None,
    }))
}

/// Deletes an entry.
#[utoipa::path(delete, path = "/v1/lists/{id}", tag = "lists", operation_id = "lists_delete", params(("id" = String, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn delete(
    State(state): State<AppState>,
    auth: Auth,
    PathId(id): PathId<ListEntryId>,
) -> ApiResult<StatusCode> {
    state.engine.delete_list_entry(auth.scope, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
