//! The outbound queue: what is waiting, and operator actions on it.

use super::messages::visible_message;
use crate::AppState;
use crate::auth::Auth;
use crate::error::{ApiError, ApiQuery, ApiResult};
use crate::json::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use mailroom_core::api::{ErrorBody, Page, QueueEntry};
use mailroom_core::{DeliveryStatus, MessageId, SiteId};
use mailroom_engine::listing_site;
use serde::Deserialize;

/// Filters of the queue listing.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct QueueQuery {
    /// Comma-separated statuses (default `queued,sending,deferred`; `all` for every status).
    #[param(pattern = "^(all|(queued|sending|delivered|deferred|bounced|failed)(,(queued|sending|delivered|deferred|bounced|failed))*)$")]
    pub status: Option<String>,
    /// At most this many (1-1000, default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
    /// Admin keys: only this site.
    pub site_id: Option<SiteId>,
}

/// Lists outbound recipients that are waiting (or in the given statuses), oldest first.
#[utoipa::path(get, operation_id = "queue_list", path = "/v1/queue", tag = "queue", params(QueueQuery),
    responses((status = 200, body = Page<QueueEntry>), (status = 400, body = ErrorBody)), security(("bearer" = [])))]
pub async fn list(State(state): State<AppState>, auth: Auth, ApiQuery(q): ApiQuery<QueueQuery>) -> ApiResult<Json<Page<QueueEntry>>> {
    let statuses: Vec<DeliveryStatus> = match q.status.as_deref() {
        None => vec![DeliveryStatus::Queued, DeliveryStatus::Sending, DeliveryStatus::Deferred],
        Some("all") => Vec::new(),
        Some(list) => list
            .split(',')
            .map(|s| s.trim().parse::<DeliveryStatus>().map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "invalid_query", e)))
            .collect::<Result<_, _>>()?,
    };
    let limit = match q.limit {
        None => 100,
        Some(n @ 1..=1000) => n,
        Some(_) => return Err(ApiError::new(StatusCode::BAD_REQUEST, "invalid_query", "`limit` must be between 1 and 1000")),
    };
    let items = state
        .engine
        .list_queue(listing_site(auth.scope, q.site_id), &statuses, limit)
        .await?
        .into_iter()
        .map(|p| QueueEntry {
            message_id: p.message_id,
            site_id: p.site_id,
            address: p.recipient.address,
            kind: p.recipient.kind,
            status: p.recipient.status,
            attempts: p.recipient.attempts,
            next_attempt_at: p.recipient.next_attempt_at,
            last_reply: p.recipient.last_reply,
            updated_at: p.recipient.updated_at,
        })
        .collect();
    Ok(Json(Page { items, next_cursor: None }))
}

/// Schedules a deferred, bounced or failed recipient for another attempt now.
#[utoipa::path(post, operation_id = "queue_retry", path = "/v1/messages/{id}/recipients/{address}/retry", tag = "queue", params(("id" = String, Path), ("address" = String, Path)),
    responses((status = 200, body = mailroom_core::Message), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)), security(("bearer" = [])))]
pub async fn retry(State(state): State<AppState>, auth: Auth, Path((id, address)): Path<(String, String)>) -> ApiResult<Json<mailroom_core::Message>> {
    let id: MessageId = id.parse().map_err(|_| ApiError::not_found("message", &id))?;
    let message = visible_message(&state, &auth, id).await?;
    Ok(Json(state.engine.retry_recipient(&message, &address).await?))
}

/// Gives up on a waiting recipient (it becomes `failed`).
#[utoipa::path(post, operation_id = "queue_cancel", path = "/v1/messages/{id}/recipients/{address}/cancel", tag = "queue", params(("id" = String, Path), ("address" = String, Path)),
    responses((status = 200, body = mailroom_core::Message), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)), security(("bearer" = [])))]
pub async fn cancel(State(state): State<AppState>, auth: Auth, Path((id, address)): Path<(String, String)>) -> ApiResult<Json<mailroom_core::Message>> {
    let id: MessageId = id.parse().map_err(|_| ApiError::not_found("message", &id))?;
    let message = visible_message(&state, &auth, id).await?;
    Ok(Json(state.engine.cancel_recipient(&message, &address).await?))
}
