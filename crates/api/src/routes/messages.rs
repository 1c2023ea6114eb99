//! Messages: send, list, read, raw, update, delete, reply, attachments.

use super::mailboxes::visible_mailbox;
use super::page_by_last;
use crate::AppState;
use crate::auth::Auth;
use crate::error::{ApiJson, ApiQuery, ApiResult, PathId, RawBody, decode_json};
use crate::idempotency;
use crate::json::{Json, SizedJson};
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use mailroom_core::api::{ErrorBody, ForwardRequest, MessageQuery, Page, ReplyRequest, SendMessageRequest, SendMessageResponse, UpdateMessageRequest};
use mailroom_core::{AttachmentId, MailboxId, Message, MessageId};
use mailroom_engine::ListMessages;

/// Loads a message the caller may see, or answers 404.
pub async fn visible_message(state: &AppState, auth: &Auth, id: MessageId) -> ApiResult<Message> {
    Ok(state.engine.visible_message(auth.scope, id).await?)
}

/// Sends a message. Answers 202 once the message and one queued job per recipient are durable;
/// mailboxes of this server get their copy before the answer.
#[utoipa::path(post, operation_id = "messages_send", path = "/v1/mailboxes/{id}/messages", tag = "messages", params(("id" = String, Path),
        ("Idempotency-Key" = Option<String>, Header, description = "Retrying with the same key and body returns the first answer")),
    request_body = SendMessageRequest,
    responses((status = 202, description = "Sent (`SendMessageResponse` with `status: \"sent\"`), or held: `HeldSendResponse` with \
        `status: \"scheduled\"` (a future `send_at`) or `\"pending_approval\"` (issue 17)", body = SendMessageResponse),
        (status = 404, body = ErrorBody), (status = 413, body = ErrorBody),
        (status = 422, body = ErrorBody)), security(("bearer" = [])))]
pub async fn send(State(state): State<AppState>, auth: Auth, PathId(id): PathId<MailboxId>, RawBody(headers, body): RawBody) -> ApiResult<Response> {
    let mailbox = visible_mailbox(&state, &auth, id).await?;
    let req: SendMessageRequest = decode_json(&body)?;
    let path = format!("POST /v1/mailboxes/{id}/messages");
    let ctx = super::drafts::send_context(&auth, &headers);
    // Issue 17: with a future `send_at` or an approval policy the message is held (same 202);
    // otherwise it is sent in one transaction with its Idempotency-Key (issue 13).
    if !state.engine.would_hold(&mailbox, &req, &ctx).await? {
        let now = SendMessageRequest { send_at: None, ..req };
        return idempotency::send(&headers, &[path.as_bytes(), &body], |key| async move {
            state.engine.send_message_once(&mailbox, &now, key.as_ref()).await
        })
        .await;
    }
    idempotency::run(&state, mailbox.site_id, &headers, &[path.as_bytes(), &body], || async {
        let sent = state.engine.send_or_hold(&mailbox, &req, &ctx).await?;
        Ok((StatusCode::ACCEPTED, sent.to_json()))
    })
    .await
}

/// Lists a mailbox's messages, newest first.
#[utoipa::path(get, operation_id = "messages_list", path = "/v1/mailboxes/{id}/messages", tag = "messages",
    params(("id" = String, Path), ("direction" = Option<String>, Query, description = "inbound or outbound", pattern = "^(inbound|outbound)$"),
        ("thread_id" = Option<String>, Query, format = Uuid), ("unread" = Option<bool>, Query),
        ("since" = Option<String>, Query, format = DateTime, description = "RFC 3339"),
        ("label" = Option<String>, Query),
        ("q" = Option<String>, Query, description = "Full-text search of subject, text body, sender and recipients, 1-500 characters: \
            every word must appear, punctuation splits words (`alice@example.com` finds that address), the last word also matches \
            as a prefix. Combines with the other filters; same order and cursor. 400 `invalid_query` when empty or too long.",
            min_length = 1, max_length = 500),
        ("cursor" = Option<String>, Query, format = Uuid), ("limit" = Option<u32>, Query, minimum = 1, maximum = 100)),
    responses((status = 200, body = Page<Message>), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn list(State(state): State<AppState>, auth: Auth, PathId(id): PathId<MailboxId>, ApiQuery(q): ApiQuery<MessageQuery>) -> ApiResult<SizedJson<Page<Message>>> {
    let mailbox = visible_mailbox(&state, &auth, id).await?;
    let list = ListMessages::from_query(&q)?;
    let limit = list.filter.limit;
    let items = state.engine.list_messages(mailbox.id, &list.filter).await?;
    let size = items.iter().map(json_size_estimate).sum();
    Ok(SizedJson(page_by_last(items, limit, |m| m.id), size))
}

/// About how many bytes `message` takes as JSON: its text fields with a tenth more for escapes
/// (line ends), its headers, and a kilobyte for the fixed fields.
fn json_size_estimate(message: &Message) -> usize {
    let len = |s: &Option<String>| s.as_ref().map_or(0, String::len);
    let texts = len(&message.text) + len(&message.html) + len(&message.extracted_text) + len(&message.extracted_html);
    let headers: usize = message.headers.iter().map(|h| h.name.len() + h.value.len() + 24).sum();
    texts + texts / 10 + headers + message.snippet.len() + 1024
}

/// A message as `GET /v1/messages/{id}` returns it: its fields, with at most
/// `limits.api_max_header_entries` header entries.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct MessageResponse {
    /// The message.
    #[serde(flatten)]
    pub message: Message,
    /// Whether `headers` holds only the first entries: the message has more (`headers_total`);
    /// `GET /v1/messages/{id}/raw` has them all.
    pub headers_truncated: bool,
    /// How many header entries the message has.
    pub headers_total: usize,
}

impl MessageResponse {
    /// Keeps the first `max` header entries of `message`.
    pub fn capped(mut message: Message, max: usize) -> Self {
        let headers_total = message.headers.len();
        message.headers.truncate(max);
        message.headers.shrink_to_fit();
        Self { message, headers_truncated: headers_total > max, headers_total }
    }
}

/// Returns a message with its parsed fields. At most `limits.api_max_header_entries` headers
/// are listed; `headers_truncated` says when there were more (the raw route has them all).
#[utoipa::path(get, operation_id = "messages_get", path = "/v1/messages/{id}", tag = "messages", params(("id" = String, Path)),
    responses((status = 200, body = MessageResponse), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn get(State(state): State<AppState>, auth: Auth, PathId(id): PathId<MessageId>) -> ApiResult<Json<MessageResponse>> {
    let mut message = visible_message(&state, &auth, id).await?;
    state.engine.sign_downloads(&mut message);
    Ok(Json(MessageResponse::capped(message, state.config.max_header_entries)))
}

/// Returns the message exactly as stored (`message/rfc822`).
#[utoipa::path(get, operation_id = "messages_raw", path = "/v1/messages/{id}/raw", tag = "messages", params(("id" = String, Path)),
    responses((status = 200, content_type = "message/rfc822", body = Vec<u8>), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn raw(State(state): State<AppState>, auth: Auth, PathId(id): PathId<MessageId>) -> ApiResult<Response> {
    let message = visible_message(&state, &auth, id).await?;
    let bytes = state.engine.raw_message(&message).await?;
    Ok(([(header::CONTENT_TYPE, "message/rfc822")], bytes).into_response())
}

/// Marks a message read or unread and changes its labels.
#[utoipa::path(patch, operation_id = "messages_update", path = "/v1/messages/{id}", tag = "messages", params(("id" = String, Path)), request_body = UpdateMessageRequest,
    responses((status = 200, body = Message), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn update(State(state): State<AppState>, auth: Auth, PathId(id): PathId<MessageId>, ApiJson(req): ApiJson<UpdateMessageRequest>) -> ApiResult<Json<Message>> {
    let message = visible_message(&state, &auth, id).await?;
    Ok(Json(state.engine.update_message(message, req.read, req.labels, &req.add_labels, &req.remove_labels).await?))
}

/// Deletes a message.
#[utoipa::path(delete, operation_id = "messages_delete", path = "/v1/messages/{id}", tag = "messages", params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn delete(State(state): State<AppState>, auth: Auth, PathId(id): PathId<MessageId>) -> ApiResult<StatusCode> {
    let message = visible_message(&state, &auth, id).await?;
    state.engine.delete_message(&message).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Replies to a message in its thread, from its mailbox.
#[utoipa::path(post, operation_id = "messages_reply", path = "/v1/messages/{id}/reply", tag = "messages", params(("id" = String, Path),
        ("Idempotency-Key" = Option<String>, Header)), request_body = ReplyRequest,
    responses((status = 202, body = SendMessageResponse), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
pub async fn reply(State(state): State<AppState>, auth: Auth, PathId(id): PathId<MessageId>, RawBody(headers, body): RawBody) -> ApiResult<Response> {
    let original = visible_message(&state, &auth, id).await?;
    let req: ReplyRequest = decode_json(&body)?;
    let mailbox = visible_mailbox(&state, &auth, original.mailbox_id).await?;
    let path = format!("POST /v1/messages/{id}/reply");
    let ctx = super::drafts::send_context(&auth, &headers);
    if !state.engine.reply_would_hold(&mailbox, &original, &req, &ctx).await? {
        return idempotency::send(&headers, &[path.as_bytes(), &body], |key| async move {
            state.engine.reply_once(&mailbox, &original, &req, key.as_ref()).await
        })
        .await;
    }
    idempotency::run(&state, mailbox.site_id, &headers, &[path.as_bytes(), &body], || async {
        let sent = state.engine.reply_or_hold(&mailbox, &original, &req, &ctx).await?;
        Ok((StatusCode::ACCEPTED, sent.to_json()))
    })
    .await
}

/// Forwards a message from its mailbox as a new conversation: "Fwd: <subject>", the
/// original quoted below `text`, with its attachments.
#[utoipa::path(post, operation_id = "messages_forward", path = "/v1/messages/{id}/forward", tag = "messages", params(("id" = String, Path),
        ("Idempotency-Key" = Option<String>, Header)), request_body = ForwardRequest,
    responses((status = 202, body = SendMessageResponse), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
pub async fn forward(State(state): State<AppState>, auth: Auth, PathId(id): PathId<MessageId>, RawBody(headers, body): RawBody) -> ApiResult<Response> {
    let original = visible_message(&state, &auth, id).await?;
    let req: ForwardRequest = decode_json(&body)?;
    let mailbox = visible_mailbox(&state, &auth, original.mailbox_id).await?;
    let path = format!("POST /v1/messages/{id}/forward");
    state.engine.refuse_if_approval_needed(&mailbox, &req.to, &req.cc, &req.bcc).await?; // issue 17
    idempotency::send(&headers, &[path.as_bytes(), &body], |key| async move { state.engine.forward_once(&mailbox, &original, &req, key.as_ref()).await }).await
}

/// Downloads an attachment.
#[utoipa::path(get, operation_id = "attachments_download", path = "/v1/attachments/{id}", tag = "attachments", params(("id" = String, Path)),
    responses((status = 200, content_type = "application/octet-stream", body = Vec<u8>), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn attachment(State(state): State<AppState>, auth: Auth, PathId(id): PathId<AttachmentId>) -> ApiResult<Response> {
    let att = state.engine.visible_attachment(auth.scope, id).await?;
    let chunks = state.engine.attachment_stream(&att).await?;
    super::download_response(att.filename.as_deref(), &format!("attachment-{id}"), &att.content_type, att.size, chunks)
}
