//! Mailboxes.

use super::{limit, page_by_last};
use crate::AppState;
use crate::auth::Auth;
use crate::error::{ApiError, ApiJson, ApiQuery, ApiResult, PathId, RawBody, decode_json};
use crate::idempotency;
use crate::json::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use mailroom_core::api::{CreateMailboxRequest, ErrorBody, Page, UpdateMailboxRequest};
use mailroom_core::controls::MailboxView;
use mailroom_core::{KeyScope, Mailbox, MailboxId, SiteId};
use serde::Deserialize;

/// Paging of simple listings.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// The `next_cursor` of the previous page.
    #[param(format = Uuid)]
    pub cursor: Option<String>,
    /// Page size, 1-100 (default 50).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    /// Admin keys: only this site.
    pub site_id: Option<SiteId>,
}

/// Loads a mailbox the caller may see, or answers 404.
pub async fn visible_mailbox(state: &AppState, auth: &Auth, id: MailboxId) -> ApiResult<Mailbox> {
    Ok(state.engine.visible_mailbox(auth.scope, id).await?)
}

/// Returns the site a create lands in: the key's own site, or for admin keys the `site_id`
/// given (which must exist) or the default site.
pub async fn target_site(state: &AppState, auth: &Auth, requested: Option<SiteId>) -> ApiResult<SiteId> {
    Ok(state.engine.target_site(auth.scope, requested).await?)
}

/// Creates a mailbox; with a `client_id` already used in the site, returns that mailbox (200).
#[utoipa::path(post, operation_id = "mailboxes_create", path = "/v1/mailboxes", tag = "mailboxes", request_body = CreateMailboxRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "Retrying with the same key and body returns the first answer")),
    responses((status = 201, body = MailboxView), (status = 200, description = "The mailbox created earlier with this client_id", body = MailboxView),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
pub async fn create(State(state): State<AppState>, auth: Auth, RawBody(headers, body): RawBody) -> ApiResult<Response> {
    let req: CreateMailboxRequest = decode_json(&body)?;
    let site = target_site(&state, &auth, req.site_id).await?;
    idempotency::run(&state, site, &headers, &[b"POST /v1/mailboxes", &body], || async {
        let (mailbox, created) = state.engine.create_mailbox(site, &req).await?;
        let status = if created { StatusCode::CREATED } else { StatusCode::OK };
        Ok((status, serde_json::to_value(state.engine.mailbox_view(&mailbox).await?).map_err(ApiError::internal)?))
    })
    .await
}

/// Lists mailboxes, newest first.
#[utoipa::path(get, operation_id = "mailboxes_list", path = "/v1/mailboxes", tag = "mailboxes", params(ListQuery),
    responses((status = 200, body = Page<Mailbox>)), security(("bearer" = [])))]
pub async fn list(State(state): State<AppState>, auth: Auth, ApiQuery(q): ApiQuery<ListQuery>) -> ApiResult<Json<Page<Mailbox>>> {
    let limit = limit(q.limit)?;
    let before = q
        .cursor
        .as_deref()
        .map(|c| c.parse::<MailboxId>())
        .transpose()
        .map_err(|_| ApiError::new(StatusCode::BAD_REQUEST, "invalid_cursor", "`cursor` is not a cursor this server returned"))?;
    let site = match (auth.scope, q.site_id) {
        (KeyScope::Site(own), _) => Some(own),
        (KeyScope::Admin, s) => s,
    };
    let items = state.engine.list_mailboxes(site, before, limit).await?;
    Ok(Json(page_by_last(items, limit, |m| m.id)))
}

/// Returns a mailbox.
#[utoipa::path(get, operation_id = "mailboxes_get", path = "/v1/mailboxes/{id}", tag = "mailboxes", params(("id" = String, Path)),
    responses((status = 200, body = MailboxView), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn get(State(state): State<AppState>, auth: Auth, PathId(id): PathId<MailboxId>) -> ApiResult<Json<MailboxView>> {
    let mailbox = visible_mailbox(&state, &auth, id).await?;
    Ok(Json(state.engine.mailbox_view(&mailbox).await?))
}

/// Changes a mailbox's display name.
#[utoipa::path(patch, operation_id = "mailboxes_update", path = "/v1/mailboxes/{id}", tag = "mailboxes", params(("id" = String, Path)), request_body = UpdateMailboxRequest,
    responses((status = 200, body = MailboxView), (status = 422, body = ErrorBody), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn update(State(state): State<AppState>, auth: Auth, PathId(id): PathId<MailboxId>, ApiJson(req): ApiJson<UpdateMailboxRequest>) -> ApiResult<Json<MailboxView>> {
    let mailbox = visible_mailbox(&state, &auth, id).await?;
    let mailbox = state.engine.update_mailbox(mailbox, &req).await?;
    Ok(Json(state.engine.mailbox_view(&mailbox).await?))
}

/// Deletes a mailbox with all its messages.
#[utoipa::path(delete, operation_id = "mailboxes_delete", path = "/v1/mailboxes/{id}", tag = "mailboxes", params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorBody),
        (status = 409, description = "A team member sends from this mailbox (`mailbox_in_use`)", body = ErrorBody)), security(("bearer" = [])))]
pub async fn delete(State(state): State<AppState>, auth: Auth, PathId(id): PathId<MailboxId>) -> ApiResult<StatusCode> {
    let mailbox = visible_mailbox(&state, &auth, id).await?;
    state.engine.delete_mailbox(&mailbox).await?;
    Ok(StatusCode::NO_CONTENT)
}
