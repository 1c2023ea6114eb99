//! Drafts, scheduled sends and approvals (issue 17).

use super::mailboxes::{target_site, visible_mailbox};
use super::page_by_last;
use crate::AppState;
use crate::auth::{Auth, KEY_RECHECK, revoked};
use crate::error::{ApiError, ApiJson, ApiQuery, ApiResult, PathId, RawBody, decode_json};
use crate::idempotency;
use crate::json::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use mailroom_core::api::{ErrorBody, Page, SendMessageRequest};
use mailroom_core::drafts::*;
use mailroom_core::{ApprovalId, DraftId, MailboxId, MessageId, SiteId};
use mailroom_engine::SendContext;
use serde::Deserialize;
use std::time::Duration;

/// The header an agent integration names itself with (`mcp`, `langchain`, …); shown as who
/// proposed a held message.
pub const PROPOSER_HEADER: &str = "mailroom-proposer";

/// Who proposes a message sent with these request headers and key.
pub fn proposer(auth: &Auth, headers: &HeaderMap) -> Proposer {
    let kind = headers
        .get(PROPOSER_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(|s| s.trim().chars().filter(|c| c.is_ascii_alphanumeric() || "-_.".contains(*c)).take(40).collect::<String>())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "api".into());
    Proposer { kind, api_key_id: Some(auth.key_id.to_string()), ..Default::default() }
}

/// The send context of a REST call.
pub fn send_context(auth: &Auth, headers: &HeaderMap) -> SendContext {
    SendContext { proposer: proposer(auth, headers), tool_config: None }
}

fn draft_site(auth: &Auth) -> Option<SiteId> {
    auth.scope.site()
}

/// Paging and filters of `GET /v1/mailboxes/{id}/drafts`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DraftQuery {
    /// Only these statuses, comma-separated (`draft`, `scheduled`, `pending_approval`, `sending`,
    /// `sent`, `cancelled`, `rejected`, `failed`).
    pub status: Option<String>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// 1 to 100, default 50.
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
}

/// Creates a draft: stored, not sent (`POST /v1/drafts/{id}/send` sends it).
#[utoipa::path(post, operation_id = "drafts_create", path = "/v1/mailboxes/{id}/drafts", tag = "drafts", params(("id" = String, Path),
        ("Idempotency-Key" = Option<String>, Header, description = "Retrying with the same key and body returns the first answer")),
    request_body = SendMessageRequest,
    responses((status = 201, body = Draft), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
pub async fn create(State(state): State<AppState>, auth: Auth, PathId(id): PathId<MailboxId>, RawBody(headers, body): RawBody) -> ApiResult<Response> {
    let mailbox = visible_mailbox(&state, &auth, id).await?;
    let req: SendMessageRequest = decode_json(&body)?;
    let path = format!("POST /v1/mailboxes/{id}/drafts");
    let who = proposer(&auth, &headers);
    idempotency::run(&state, mailbox.site_id, &headers, &[path.as_bytes(), &body], || async {
        let draft = state.engine.create_draft(&mailbox, &req, who).await?;
        Ok((StatusCode::CREATED, serde_json::to_value(draft).map_err(ApiError::internal)?))
    })
    .await
}

/// Lists a mailbox's drafts (kept, scheduled, waiting for approval, and finished ones), newest first.
#[utoipa::path(get, operation_id = "drafts_list", path = "/v1/mailboxes/{id}/drafts", tag = "drafts", params(("id" = String, Path), DraftQuery),
    responses((status = 200, body = Page<Draft>), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn list(State(state): State<AppState>, auth: Auth, PathId(id): PathId<MailboxId>, ApiQuery(q): ApiQuery<DraftQuery>) -> ApiResult<Json<Page<Draft>>> {
    let mailbox = visible_mailbox(&state, &auth, id).await?;
    let (items, limit) = state.engine.list_drafts(&mailbox, q.status.as_deref(), q.cursor.as_deref(), q.limit).await?;
    Ok(Json(page_by_last(items, limit, |d| d.id)))
}

fn parse_pair(mailbox: &str, draft: &str) -> ApiResult<(MailboxId, DraftId)> {
    let m = mailbox.parse::<MailboxId>().map_err(|_| ApiError::not_found("mailbox", mailbox))?;
    let d = draft.parse::<DraftId>().map_err(|_| ApiError::not_found("draft", draft))?;
    Ok((m, d))
}

async fn mailbox_draft(state: &AppState, auth: &Auth, mailbox: &str, draft: &str) -> ApiResult<Draft> {
    let (m, d) = parse_pair(mailbox, draft)?;
    let mailbox = visible_mailbox(state, auth, m).await?;
    let draft = state.engine.get_draft(Some(mailbox.site_id), d).await?;
    if draft.mailbox_id != mailbox.id {
        return Err(ApiError::not_found("draft", d));
    }
    Ok(draft)
}

/// Returns one draft of a mailbox.
#[utoipa::path(get, operation_id = "drafts_get_in_mailbox", path = "/v1/mailboxes/{id}/drafts/{draft_id}", tag = "drafts",
    params(("id" = String, Path), ("draft_id" = String, Path)),
    responses((status = 200, body = Draft), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn get_in_mailbox(State(state): State<AppState>, auth: Auth, Path((m, d)): Path<(String, String)>) -> ApiResult<Json<Draft>> {
    Ok(Json(mailbox_draft(&state, &auth, &m, &d).await?))
}

/// Edits an open draft of a mailbox (the earlier content is kept as a revision).
#[utoipa::path(patch, operation_id = "drafts_update_in_mailbox", path = "/v1/mailboxes/{id}/drafts/{draft_id}", tag = "drafts",
    params(("id" = String, Path), ("draft_id" = String, Path)), request_body = UpdateDraftRequest,
    responses((status = 200, body = Draft), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn update_in_mailbox(
    State(state): State<AppState>,
    auth: Auth,
    Path((m, d)): Path<(String, String)>,
    ApiJson(req): ApiJson<UpdateDraftRequest>,
) -> ApiResult<Json<Draft>> {
    let draft = mailbox_draft(&state, &auth, &m, &d).await?;
    Ok(Json(state.engine.update_draft(draft, &req, Some(format!("api_key:{}", auth.key_id))).await?))
}

/// Deletes a draft of a mailbox; a scheduled or held one is cancelled (`message.cancelled`).
#[utoipa::path(delete, operation_id = "drafts_delete_in_mailbox", path = "/v1/mailboxes/{id}/drafts/{draft_id}", tag = "drafts",
    params(("id" = String, Path), ("draft_id" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)), security(("bearer" = [])))]
pub async fn delete_in_mailbox(State(state): State<AppState>, auth: Auth, Path((m, d)): Path<(String, String)>) -> ApiResult<StatusCode> {
    let draft = mailbox_draft(&state, &auth, &m, &d).await?;
    state.engine.delete_draft(draft).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Returns a draft.
#[utoipa::path(get, operation_id = "drafts_get", path = "/v1/drafts/{id}", tag = "drafts", params(("id" = String, Path)),
    responses((status = 200, body = Draft), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn get(State(state): State<AppState>, auth: Auth, PathId(id): PathId<DraftId>) -> ApiResult<Json<Draft>> {
    Ok(Json(state.engine.get_draft(draft_site(&auth), id).await?))
}

/// Edits an open draft (kept, scheduled or waiting for approval); the earlier content is
/// kept as a revision.
#[utoipa::path(patch, operation_id = "drafts_update", path = "/v1/drafts/{id}", tag = "drafts", params(("id" = String, Path)),
    request_body = UpdateDraftRequest,
    responses((status = 200, body = Draft), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn update(State(state): State<AppState>, auth: Auth, PathId(id): PathId<DraftId>, ApiJson(req): ApiJson<UpdateDraftRequest>) -> ApiResult<Json<Draft>> {
    let draft = state.engine.get_draft(draft_site(&auth), id).await?;
    Ok(Json(state.engine.update_draft(draft, &req, Some(format!("api_key:{}", auth.key_id))).await?))
}

/// Deletes a draft; a scheduled or held one is cancelled (`message.cancelled`) and kept with
/// status `cancelled`.
#[utoipa::path(delete, operation_id = "drafts_delete", path = "/v1/drafts/{id}", tag = "drafts", params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)), security(("bearer" = [])))]
pub async fn delete(State(state): State<AppState>, auth: Auth, PathId(id): PathId<DraftId>) -> ApiResult<StatusCode> {
    let draft = state.engine.get_draft(draft_site(&auth), id).await?;
    state.engine.delete_draft(draft).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Sends a kept draft: now (`status: "sent"`, like a send), at its `send_at`
/// (`status: "scheduled"`), or once approved (`status: "pending_approval"`).
#[utoipa::path(post, operation_id = "drafts_send", path = "/v1/drafts/{id}/send", tag = "drafts", params(("id" = String, Path),
        ("Idempotency-Key" = Option<String>, Header, description = "Retrying with the same key and body returns the first answer")),
    request_body = SendDraftRequest,
    responses((status = 202, description = "Sent, scheduled or held for approval", body = HeldSendResponse), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
pub async fn send(State(state): State<AppState>, auth: Auth, PathId(id): PathId<DraftId>, RawBody(headers, body): RawBody) -> ApiResult<Response> {
    let draft = state.engine.get_draft(draft_site(&auth), id).await?;
    let req: SendDraftRequest = if body.iter().all(u8::is_ascii_whitespace) { SendDraftRequest::default() } else { decode_json(&body)? };
    let path = format!("POST /v1/drafts/{id}/send");
    idempotency::run(&state, draft.site_id, &headers, &[path.as_bytes(), &body], || async {
        let out = state.engine.send_draft(draft, &req, None).await?;
        Ok((StatusCode::ACCEPTED, out.to_json()))
    })
    .await
}

/// Cancels a scheduled message (or one waiting for approval) before it leaves.
#[utoipa::path(post, operation_id = "messages_cancel", path = "/v1/messages/{id}/cancel", tag = "messages", params(("id" = String, Path)),
    responses((status = 200, description = "The cancelled draft", body = Draft), (status = 404, body = ErrorBody),
        (status = 409, description = "Sent or being sent already (`already_sent`, `already_sending`)", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn cancel_message(State(state): State<AppState>, auth: Auth, PathId(id): PathId<MessageId>) -> ApiResult<Json<Draft>> {
    Ok(Json(state.engine.cancel_message(draft_site(&auth), id).await?))
}

/// Filters of `GET /v1/approvals`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ApprovalQuery {
    /// Only this status: `pending`, `approved`, `rejected` or `cancelled`.
    #[param(pattern = "^(pending|approved|rejected|cancelled)?$")]
    pub status: Option<String>,
    /// 1 to 100, default 50.
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    /// Admin keys: the site (default: the default site).
    pub site_id: Option<SiteId>,
}

/// Lists approvals: pending ones first (oldest first), then decided ones (newest first).
#[utoipa::path(get, operation_id = "approvals_list", path = "/v1/approvals", tag = "approvals", params(ApprovalQuery),
    responses((status = 200, body = Page<ApprovalItem>)), security(("bearer" = [])))]
pub async fn list_approvals(State(state): State<AppState>, auth: Auth, ApiQuery(q): ApiQuery<ApprovalQuery>) -> ApiResult<Json<Page<ApprovalItem>>> {
    let site = target_site(&state, &auth, q.site_id).await?;
    let items = state.engine.list_approvals(site, q.status.as_deref(), q.limit).await?;
    Ok(Json(Page { items, next_cursor: None }))
}

/// Returns one approval with its draft.
#[utoipa::path(get, operation_id = "approvals_get", path = "/v1/approvals/{id}", tag = "approvals", params(("id" = String, Path)),
    responses((status = 200, body = ApprovalItem), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn get_approval(State(state): State<AppState>, auth: Auth, PathId(id): PathId<ApprovalId>) -> ApiResult<Json<ApprovalItem>> {
    Ok(Json(state.engine.get_approval(draft_site(&auth), id).await?))
}

/// Long-poll of `GET /v1/approvals/{id}/wait`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct WaitQuery {
    /// Seconds to wait for a decision, 0 to 60 (default 30).
    pub timeout: Option<u64>,
}

/// Waits until an approval is decided, at most `timeout` seconds; answers it as it stands
/// then (`status` still `pending` on timeout).
#[utoipa::path(get, operation_id = "approvals_wait", path = "/v1/approvals/{id}/wait", tag = "approvals", params(("id" = String, Path), WaitQuery),
    responses((status = 200, body = ApprovalItem), (status = 401, body = ErrorBody, description = "The key is unknown, or was deleted while the request waited"),
        (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn wait_approval(State(state): State<AppState>, auth: Auth, PathId(id): PathId<ApprovalId>, ApiQuery(q): ApiQuery<WaitQuery>) -> ApiResult<Json<ApprovalItem>> {
    let timeout = q.timeout.unwrap_or(30);
    if timeout > 60 {
        return Err(ApiError::new(StatusCode::BAD_REQUEST, "invalid_query", "`timeout` must be between 0 and 60 seconds"));
    }
    // A key deleted while the request waits ends it with 401, as the other long-polls do.
    let waiting = state.engine.wait_for_approval(draft_site(&auth), id, Duration::from_secs(timeout));
    tokio::pin!(waiting);
    loop {
        tokio::select! {
            answer = &mut waiting => {
                let item = answer?;
                return if auth.still_valid(&state.engine).await { Ok(Json(item)) } else { Err(revoked()) };
            }
            () = tokio::time::sleep(KEY_RECHECK) => {
                if !auth.still_valid(&state.engine).await {
                    return Err(revoked());
                }
            }
        }
    }
}

fn decision(body: &[u8]) -> ApiResult<ApprovalDecision> {
    if body.iter().all(u8::is_ascii_whitespace) { Ok(ApprovalDecision::default()) } else { decode_json(body) }
}

/// Approves a held message: the send policy is checked again (a recipient suppressed
/// meanwhile answers `422 recipient_suppressed` and the approval stays pending); then it is
/// sent (or scheduled for its `send_at`).
#[utoipa::path(post, operation_id = "approvals_approve", path = "/v1/approvals/{id}/approve", tag = "approvals", params(("id" = String, Path)),
    request_body = ApprovalDecision,
    responses((status = 200, body = ApprovalItem), (status = 404, body = ErrorBody), (status = 409, description = "Decided already (`approval_decided`)", body = ErrorBody),
        (status = 422, body = ErrorBody)), security(("bearer" = [])))]
pub async fn approve(State(state): State<AppState>, auth: Auth, PathId(id): PathId<ApprovalId>, RawBody(_headers, body): RawBody) -> ApiResult<Json<ApprovalItem>> {
    let d = decision(&body)?;
    Ok(Json(state.engine.approve(draft_site(&auth), id, &format!("api_key:{}", auth.key_id), d.note).await?))
}

/// Rejects a held message: it is never sent.
#[utoipa::path(post, operation_id = "approvals_reject", path = "/v1/approvals/{id}/reject", tag = "approvals", params(("id" = String, Path)),
    request_body = ApprovalDecision,
    responses((status = 200, body = ApprovalItem), (status = 404, body = ErrorBody), (status = 409, description = "Decided already (`approval_decided`)", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn reject(State(state): State<AppState>, auth: Auth, PathId(id): PathId<ApprovalId>, RawBody(_headers, body): RawBody) -> ApiResult<Json<ApprovalItem>> {
    let d = decision(&body)?;
    Ok(Json(state.engine.reject(draft_site(&auth), id, &format!("api_key:{}", auth.key_id), d.note).await?))
}

/// Returns a site's approval policy.
#[utoipa::path(get, operation_id = "sites_approval_policy", path = "/v1/sites/{id}/approval-policy", tag = "sites", params(("id" = String, Path)),
    responses((status = 200, body = ApprovalPolicySetting), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn site_policy(State(state): State<AppState>, auth: Auth, PathId(id): PathId<SiteId>) -> ApiResult<Json<ApprovalPolicySetting>> {
    let site = target_site(&state, &auth, Some(id)).await?;
    let p = state.engine.approval_policy("site", &site.to_string()).await?;
    Ok(Json(ApprovalPolicySetting { scope: "site".into(), id: site.to_string(), approval_policy: p }))
}

/// Returns a mailbox's approval policy (set with `PATCH /v1/mailboxes/{id}`).
#[utoipa::path(get, operation_id = "mailboxes_approval_policy", path = "/v1/mailboxes/{id}/approval-policy", tag = "mailboxes", params(("id" = String, Path)),
    responses((status = 200, body = ApprovalPolicySetting), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn mailbox_policy(State(state): State<AppState>, auth: Auth, PathId(id): PathId<MailboxId>) -> ApiResult<Json<ApprovalPolicySetting>> {
    let mailbox = visible_mailbox(&state, &auth, id).await?;
    let p = state.engine.approval_policy("mailbox", &mailbox.id.to_string()).await?;
    Ok(Json(ApprovalPolicySetting { scope: "mailbox".into(), id: mailbox.id.to_string(), approval_policy: p }))
}
