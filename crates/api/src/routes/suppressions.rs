//! The suppression list: addresses a site must not mail.

use super::limit;
use super::mailboxes::target_site;
use crate::AppState;
use crate::auth::Auth;
use crate::error::{ApiError, ApiQuery, ApiResult, RawBody, decode_json};
use crate::idempotency;
use axum::response::Response;
use crate::json::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use mailroom_core::api::{CreateSuppressionRequest, ErrorBody, Page};
use mailroom_core::{EmailAddress, SiteId, Suppression};
use mailroom_engine::listing_site;
use serde::Deserialize;

/// Paging and site of suppression routes.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct SuppressionQuery {
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Page size, 1-100 (default 50).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    /// Admin keys: only this site.
    pub site_id: Option<SiteId>,
}

/// The site of a removal.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct SuppressionSiteQuery {
    /// Admin keys: the site to act on (default site).
    pub site_id: Option<SiteId>,
}

fn parse_address(a: &str) -> ApiResult<EmailAddress> {
    EmailAddress::parse(a).map_err(|e| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_email_address", e.to_string()))
}

/// Lists suppressed addresses, alphabetically.
#[utoipa::path(get, operation_id = "suppressions_list", path = "/v1/suppressions", tag = "suppressions", params(SuppressionQuery),
    responses((status = 200, body = Page<Suppression>)), security(("bearer" = [])))]
pub async fn list(State(state): State<AppState>, auth: Auth, ApiQuery(q): ApiQuery<SuppressionQuery>) -> ApiResult<Json<Page<Suppression>>> {
    let limit = limit(q.limit)?;
    let items = state.engine.list_suppressions(listing_site(auth.scope, q.site_id), q.cursor.as_deref(), limit).await?;
    let next_cursor = if items.len() as u32 >= limit { items.last().map(|s| s.address.to_string()) } else { None };
    Ok(Json(Page { items, next_cursor }))
}

/// Adds an address to the suppression list; sends to it are refused until it is removed.
#[utoipa::path(post, operation_id = "suppressions_create", path = "/v1/suppressions", tag = "suppressions", request_body = CreateSuppressionRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "Retrying with the same key and body returns the first answer")),
    responses((status = 201, body = Suppression), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
pub async fn create(State(state): State<AppState>, auth: Auth, RawBody(headers, body): RawBody) -> ApiResult<Response> {
    let req: CreateSuppressionRequest = decode_json(&body)?;
    let site = target_site(&state, &auth, req.site_id).await?;
    let address = parse_address(&req.address)?;
    let reason = req.reason.unwrap_or_else(|| "manual".into());
    if !["manual", "hard_bounce", "complaint", "unsubscribe"].contains(&reason.as_str()) {
        return Err(ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "validation_error", "`reason` must be manual, hard_bounce, complaint or unsubscribe"));
    }
    idempotency::run(&state, site, &headers, &[b"POST /v1/suppressions", &body], || async {
        idempotency::json(StatusCode::CREATED, state.engine.suppress(site, &address, &reason, req.detail).await?)
    })
    .await
}

/// Removes an address from the suppression list.
#[utoipa::path(delete, operation_id = "suppressions_delete", path = "/v1/suppressions/{address}", tag = "suppressions", params(("address" = String, Path), SuppressionSiteQuery),
    responses((status = 204), (status = 404, body = ErrorBody), (status = 422, description = "Not an email address (`invalid_email_address`)", body = ErrorBody)), security(("bearer" = [])))]
pub async fn delete(State(state): State<AppState>, auth: Auth, Path(address): Path<String>, ApiQuery(q): ApiQuery<SuppressionSiteQuery>) -> ApiResult<StatusCode> {
    let site = target_site(&state, &auth, q.site_id).await?;
    let address = parse_address(&address)?;
    state.engine.unsuppress(site, &address).await?;
    Ok(StatusCode::NO_CONTENT)
}
