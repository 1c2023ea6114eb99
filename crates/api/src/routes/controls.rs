//! Operational controls (issue 15): usage, site limits, uploaded attachments, signed
//! download URLs, and the layer that adds the `RateLimit-*` headers.

use super::mailboxes::target_site;
use crate::AppState;
use crate::auth::Auth;
use crate::error::{ApiError, ApiJson, ApiQuery, ApiResult, PathId};
use crate::json::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use mailroom_core::api::ErrorBody;
use mailroom_core::controls::{ControlsView, SignedUrl, SignedUrlRequest, UpdateSiteRequest, UploadedAttachment, UsageReport};
use mailroom_core::{AttachmentId, SiteId};
use serde::Deserialize;
use std::cell::RefCell;

/// Runs a request with room for the engine's rate decision, then adds the IETF
/// `RateLimit-Limit`, `RateLimit-Remaining`, `RateLimit-Reset` headers (and `Retry-After` on
/// 429) when a limited operation ran.
pub async fn rate_headers(State(state): State<AppState>, req: Request, next: Next) -> Response {
    // The per-key API request limit (per node), before anything else runs.
    let settings = state.engine.control_settings();
    if let (Some(per_second), Some(key)) = (settings.api_requests_per_second, req.headers().get(header::AUTHORIZATION)) {
        let (note, allowed) = settings.api_limiter.take(key.as_bytes(), per_second);
        if !allowed {
            let retry = note.retry_after_secs.unwrap_or(1);
            let mut response =
                ApiError::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", format!("this API key's limit of {per_second} requests per second is reached; retry after {retry} s")).into_response();
            put_headers(&mut response, &note);
            return response;
        }
    }
    let (mut response, note) = mailroom_engine::controls::RATE_NOTE
        .scope(RefCell::new(None), async move {
            let response = next.run(req).await;
            (response, mailroom_engine::controls::rate_note())
        })
        .await;
    if let Some(n) = note {
        put_headers(&mut response, &n);
    }
    response
}

fn put_headers(response: &mut Response, n: &mailroom_engine::RateNote) {
    {
        let h = response.headers_mut();
        let mut put = |name: &'static str, v: u64| {
            if let Ok(v) = HeaderValue::from_str(&v.to_string()) {
                h.insert(name, v);
            }
        };
        put("ratelimit-limit", n.limit);
        put("ratelimit-remaining", n.remaining);
        put("ratelimit-reset", n.reset_secs);
        if let Some(r) = n.retry_after_secs {
            put("retry-after", r);
        }
        if let Ok(v) = HeaderValue::from_str(&n.name) {
            h.insert("ratelimit-policy-name", v);
        }
    }
}

/// The site of `GET /v1/usage`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct UsageQuery {
    /// Admin keys: the site (default site when absent).
    pub site_id: Option<SiteId>,
}

/// Returns the site's storage use, limits and retention, and each mailbox's.
#[utoipa::path(get, operation_id = "usage_get", path = "/v1/usage", tag = "usage", params(UsageQuery),
    responses((status = 200, body = UsageReport), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn usage(State(state): State<AppState>, auth: Auth, ApiQuery(q): ApiQuery<UsageQuery>) -> ApiResult<Json<UsageReport>> {
    let site = target_site(&state, &auth, q.site_id).await?;
    Ok(Json(state.engine.usage_report(site).await?))
}

/// Sets a site's limits (shared by all its mailboxes), retention and approval policy (admin
/// keys only: a site's own key must not lift the guard rails set on it).
#[utoipa::path(patch, operation_id = "sites_update", path = "/v1/sites/{id}", tag = "sites", params(("id" = String, Path)), request_body = UpdateSiteRequest,
    responses((status = 200, body = ControlsView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn update_site(State(state): State<AppState>, auth: Auth, PathId(id): PathId<SiteId>, ApiJson(req): ApiJson<UpdateSiteRequest>) -> ApiResult<Json<ControlsView>> {
    auth.require_admin()?;
    Ok(Json(state.engine.update_site_controls(id, &req).await?))
}

/// The optional query of an upload.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct UploadQuery {
    /// The file name (else the `X-Filename` header or `Content-Disposition`'s filename): 1 to
    /// 255 characters, no control characters.
    #[param(pattern = "^([^\\x00-\\x1F\\x7F-\\x9F]{1,255})?$")]
    pub filename: Option<String>,
    /// Admin keys: the site that owns the upload (default site when absent).
    pub site_id: Option<SiteId>,
}

fn filename_from_headers(headers: &HeaderMap) -> Option<String> {
    if let Some(v) = headers.get("x-filename").and_then(|v| v.to_str().ok()) {
        return Some(v.to_string());
    }
    let cd = headers.get(header::CONTENT_DISPOSITION)?.to_str().ok()?;
    cd.split(';').map(str::trim).find_map(|p| p.strip_prefix("filename=")).map(|f| f.trim_matches('"').to_string())
}

/// Uploads an attachment (the raw request body; `Content-Type` is its MIME type) to send
/// later by id: `attachments: [{"attachment_id": "…"}]`. Uploads expire after
/// `controls.upload_ttl_secs` (messages keep their own copy).
#[utoipa::path(post, operation_id = "attachments_upload", path = "/v1/attachments", tag = "attachments",
    params(UploadQuery, ("Idempotency-Key" = Option<String>, Header, description = "Retrying with the same key and body returns the first answer")),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 201, body = UploadedAttachment), (status = 413, body = ErrorBody), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
pub async fn upload(
    State(state): State<AppState>,
    auth: Auth,
    uri: axum::http::Uri,
    ApiQuery(q): ApiQuery<UploadQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let site = target_site(&state, &auth, q.site_id).await?;
    let filename = q.filename.or_else(|| filename_from_headers(&headers));
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(str::to_string);
    if content_type.as_deref().is_some_and(|c| c.starts_with("multipart/")) {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send the file's bytes as the request body with its own Content-Type (and ?filename=), not multipart/form-data",
        ));
    }
    // The query (file name, site), the name and type headers and the bytes make the request.
    let request = format!("POST {}", uri.path_and_query().map(|p| p.as_str()).unwrap_or("/v1/attachments"));
    let (name, kind) = (filename.clone().unwrap_or_default(), content_type.clone().unwrap_or_default());
    crate::idempotency::run(&state, site, &headers, &[request.as_bytes(), name.as_bytes(), kind.as_bytes(), &body], || async {
        crate::idempotency::json(StatusCode::CREATED, state.engine.upload_attachment(site, filename, content_type, body.clone()).await?)
    })
    .await
}

/// Returns a signed URL that downloads an attachment (of a message, or uploaded) without an
/// API key until it expires (default 1 hour, at most 7 days).
#[utoipa::path(post, operation_id = "attachments_url", path = "/v1/attachments/{id}/url", tag = "attachments", params(("id" = String, Path)),
    request_body = SignedUrlRequest, responses((status = 200, body = SignedUrl), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn signed_url(State(state): State<AppState>, auth: Auth, PathId(id): PathId<AttachmentId>, ApiJson(req): ApiJson<SignedUrlRequest>) -> ApiResult<Json<SignedUrl>> {
    // The attachment's site decides; a key of another site gets the same 404 as a missing id.
    let site = match auth.scope {
        mailroom_core::KeyScope::Site(own) => own,
        mailroom_core::KeyScope::Admin => state.engine.attachment_site(id).await?.ok_or_else(|| ApiError::not_found("attachment", id))?,
    };
    match state.engine.signed_attachment_url(site, id, req.expires_in_seconds).await {
        Err(mailroom_engine::EngineError::NotFound(_)) => Err(ApiError::not_found("attachment", id)),
        other => Ok(Json(other?)),
    }
}

/// The signature of a download URL.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DownloadQuery {
    /// The site the URL was signed for.
    pub site: Option<String>,
    /// Expiry, seconds since the epoch.
    pub expires: Option<String>,
    /// The HMAC-SHA256 signature, base64url.
    pub signature: Option<String>,
}

/// Downloads an attachment through a signed URL, without an API key. An expired, altered or
/// revoked URL (the attachment was deleted) answers 403 `invalid_signature` whether or not the
/// attachment exists.
#[utoipa::path(get, operation_id = "attachments_download_signed", path = "/v1/attachments/{id}/download", tag = "attachments",
    params(("id" = String, Path), DownloadQuery),
    responses((status = 200, content_type = "application/octet-stream", body = Vec<u8>), (status = 403, body = ErrorBody)))]
pub async fn download(State(state): State<AppState>, Path(id): Path<String>, Query(q): Query<DownloadQuery>) -> ApiResult<Response> {
    let forbidden = || ApiError::new(StatusCode::FORBIDDEN, "invalid_signature", "this download link is invalid or has expired; ask for a new one");
    let (Some(site), Some(expires), Some(sig)) = (q.site, q.expires, q.signature) else { return Err(forbidden()) };
    let Some((info, chunks)) = state.engine.open_signed_download(&id, &site, &expires, &sig).await? else { return Err(forbidden()) };
    super::download_response(info.filename.as_deref(), &format!("attachment-{id}"), &info.content_type, info.size, chunks)
}
