//! Webhook endpoints: signed deliveries of the event log (Standard Webhooks v1).

use super::mailboxes::target_site;
use crate::AppState;
use crate::auth::Auth;
use crate::error::{ApiError, ApiJson, ApiQuery, ApiResult, PathId, RawBody, decode_json};
use crate::idempotency;
use axum::response::Response;
use crate::json::Json;
use axum::extract::State;
use axum::http::StatusCode;
use mailroom_core::api::{ErrorBody, Page, ReplayRequest, ReplayResponse};
use mailroom_core::{WebhookDelivery, WebhookDeliveryId, WebhookEndpoint, WebhookId};
use mailroom_webhooks::endpoints;
use mailroom_webhooks::service::{CreateWebhookRequest, UpdateWebhookRequest, WebhookResponse};
use mailroom_webhooks::WebhookError;
use serde::Deserialize;

impl From<WebhookError> for ApiError {
    fn from(e: WebhookError) -> Self {
        let code = e.code();
        match code {
            "not_found" => ApiError::new(StatusCode::NOT_FOUND, "not_found", e.to_string()),
            "internal_error" => ApiError::internal(e),
            _ => ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, e.to_string()),
        }
    }
}

async fn visible(state: &AppState, auth: &Auth, id: WebhookId) -> ApiResult<WebhookEndpoint> {
    Ok(endpoints::visible(&state.engine, auth.scope, id).await?)
}

/// Creates an endpoint. The answer holds its signing secret (`whsec_…`), shown only here.
/// Admin keys may add `site_id` to choose the site whose events are sent.
#[utoipa::path(post, operation_id = "webhooks_create", path = "/v1/webhooks", tag = "webhooks", request_body = CreateWebhookRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "Retrying with the same key and body returns the first answer")),
    responses((status = 201, body = WebhookResponse), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
pub async fn create(State(state): State<AppState>, auth: Auth, RawBody(headers, body): RawBody) -> ApiResult<Response> {
    let req: CreateWebhookRequest = decode_json(&body)?;
    let site = target_site(&state, &auth, req.site_id).await?;
    idempotency::run(&state, site, &headers, &[b"POST /v1/webhooks", &body], || async {
        let (endpoint, secret) = endpoints::create(&state.engine, &state.webhooks, site, req).await?;
        idempotency::json(StatusCode::CREATED, WebhookResponse { endpoint, secret: Some(secret) })
    })
    .await
}

/// Lists the site's endpoints (all for admin keys).
#[utoipa::path(get, operation_id = "webhooks_list", path = "/v1/webhooks", tag = "webhooks", responses((status = 200, body = Page<WebhookEndpoint>)), security(("bearer" = [])))]
pub async fn list(State(state): State<AppState>, auth: Auth) -> ApiResult<Json<Page<WebhookEndpoint>>> {
    Ok(Json(Page { items: endpoints::list(&state.engine, auth.scope.site()).await?, next_cursor: None }))
}

/// Returns an endpoint (never its secret).
#[utoipa::path(get, operation_id = "webhooks_get", path = "/v1/webhooks/{id}", tag = "webhooks", params(("id" = String, Path)),
    responses((status = 200, body = WebhookEndpoint), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn get(State(state): State<AppState>, auth: Auth, PathId(id): PathId<WebhookId>) -> ApiResult<Json<WebhookEndpoint>> {
    Ok(Json(visible(&state, &auth, id).await?))
}

/// Changes an endpoint: URL, event types, mailbox filter, description, enabled.
#[utoipa::path(patch, operation_id = "webhooks_update", path = "/v1/webhooks/{id}", tag = "webhooks", params(("id" = String, Path)), request_body = UpdateWebhookRequest,
    responses((status = 200, body = WebhookEndpoint), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
pub async fn update(State(state): State<AppState>, auth: Auth, PathId(id): PathId<WebhookId>, ApiJson(req): ApiJson<UpdateWebhookRequest>) -> ApiResult<Json<WebhookEndpoint>> {
    Ok(Json(endpoints::update(&state.engine, &state.webhooks, auth.scope, id, req).await?))
}

/// Deletes an endpoint and its deliveries.
#[utoipa::path(delete, operation_id = "webhooks_delete", path = "/v1/webhooks/{id}", tag = "webhooks", params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn delete(State(state): State<AppState>, auth: Auth, PathId(id): PathId<WebhookId>) -> ApiResult<StatusCode> {
    endpoints::delete(&state.engine, auth.scope, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Issues a new signing secret. The previous one keeps signing beside it (both signatures are
/// sent) for the configured overlap, so receivers can switch without losing a delivery.
#[utoipa::path(post, operation_id = "webhooks_rotate_secret", path = "/v1/webhooks/{id}/rotate-secret", tag = "webhooks", params(("id" = String, Path)),
    responses((status = 200, body = WebhookResponse), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn rotate_secret(State(state): State<AppState>, auth: Auth, PathId(id): PathId<WebhookId>) -> ApiResult<Json<WebhookResponse>> {
    let (endpoint, secret) = endpoints::rotate_secret(&state.engine, &state.webhooks, auth.scope, id).await?;
    Ok(Json(WebhookResponse { endpoint, secret: Some(secret) }))
}

/// Paging of delivery listings.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DeliveryQuery {
    /// The `next_cursor` of the previous page.
    #[param(format = Uuid)]
    pub cursor: Option<String>,
    /// Page size, 1-100 (default 50).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
}

/// Lists an endpoint's deliveries, newest first, each with its attempts (status code, latency,
/// error).
#[utoipa::path(get, operation_id = "webhooks_deliveries", path = "/v1/webhooks/{id}/deliveries", tag = "webhooks", params(("id" = String, Path), DeliveryQuery),
    responses((status = 200, body = Page<WebhookDelivery>), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn deliveries(State(state): State<AppState>, auth: Auth, PathId(id): PathId<WebhookId>, ApiQuery(q): ApiQuery<DeliveryQuery>) -> ApiResult<Json<Page<WebhookDelivery>>> {
    let endpoint = visible(&state, &auth, id).await?;
    let limit = super::limit(q.limit)?;
    let before = q
        .cursor
        .as_deref()
        .map(|c| c.parse::<WebhookDeliveryId>())
        .transpose()
        .map_err(|_| ApiError::new(StatusCode::BAD_REQUEST, "invalid_cursor", "`cursor` is not a cursor this server returned"))?;
    let items = endpoints::deliveries(&state.engine, &endpoint, before, limit).await?;
    Ok(Json(super::page_by_last(items, limit, |d| d.id)))
}

/// Redelivers the endpoint's events after a cursor: events never sent get new deliveries,
/// events already sent (or failed) are sent again.
#[utoipa::path(post, operation_id = "webhooks_replay", path = "/v1/webhooks/{id}/replay", tag = "webhooks", params(("id" = String, Path)), request_body = ReplayRequest,
    responses((status = 202, body = ReplayResponse), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
pub async fn replay(State(state): State<AppState>, auth: Auth, PathId(id): PathId<WebhookId>, RawBody(_headers, body): RawBody) -> ApiResult<(StatusCode, Json<ReplayResponse>)> {
    let req: ReplayRequest = crate::error::decode_json(&body)?;
    let endpoint = visible(&state, &auth, id).await?;
    let after = req
        .after
        .as_deref()
        .filter(|a| !a.trim().is_empty())
        .map(|a| super::events::parse_cursor(a, mailroom_core::cursor::CursorScope::Site))
        .transpose()?;
    let (report, requeued) = endpoints::replay(&state.engine, &endpoint, after).await?;
    if let Some(w) = &state.webhook_waker {
        w.notify_one();
    }
    Ok((StatusCode::ACCEPTED, Json(ReplayResponse { matched: Some(report.matched), created: report.queued, requeued, next_cursor: report.next_cursor })))
}
