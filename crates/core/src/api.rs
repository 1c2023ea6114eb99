//! Request and response bodies of the REST API, shared by the server and the Rust client so
//! the two can never drift apart.
//!
//! Request bodies deny unknown fields: a misspelt field is an error, not a silent no-op.
//! Addresses arrive as strings and are parsed by the server, so that a bad one gets its own
//! error code naming the field.

use crate::address::EmailAddress;
use crate::ids::*;
use crate::model::{DeliveryStatus, Message, RecipientKind, Thread, WebhookEndpoint};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};
use std::collections::BTreeMap;

/// The one error shape of the API: `{"error": {"code": "...", "message": "..."}}`.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// A machine-readable code and a human sentence saying what to do.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// A stable, machine-readable code such as `not_found`.
    pub code: String,
    /// A sentence for humans.
    pub message: String,
}

/// A page of a list, newest or oldest first as the route says.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Page<T> {
    /// The items of this page.
    pub items: Vec<T>,
    /// Pass as `cursor` (or `after` for events) to get the next page; absent on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// `POST /v1/sites`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateSiteRequest {
    /// A human name for the site.
    #[schema(max_length = 200, pattern = r"^[^\x00-\x1f\x7f]*[^\s\x00-\x1f\x7f][^\x00-\x1f\x7f]*$")]
    pub name: String,
}

/// `POST /v1/api-keys`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateApiKeyRequest {
    /// A name to recognise the key by.
    #[schema(max_length = 200, pattern = r"^[^\x00-\x1f\x7f]*[^\s\x00-\x1f\x7f][^\x00-\x1f\x7f]*$")]
    pub name: String,
    /// `admin` (every site; admin keys only may create one) or `site` (the default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// The site a `site` key is limited to. A site key may only create keys for its own site;
    /// an admin key creating a site key without it gets the default site.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site_id: Option<SiteId>,
}

/// The answer to `POST /v1/api-keys`: the only time the secret is shown.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CreatedApiKey {
    /// The stored key's metadata.
    #[serde(flatten)]
    pub api_key: crate::model::ApiKey,
    /// The secret to send as `Authorization: Bearer <key>`. It is not stored and cannot be
    /// shown again.
    pub key: String,
}

/// `POST /v1/mailboxes`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"username": "support", "display_name": "Support", "client_id": "support-agent"}))]
pub struct CreateMailboxRequest {
    /// The part before the `@`: 1-64 of a-z, 0-9, `.`, `_`, `-`.
    #[schema(pattern = r"^[a-z0-9_-]([a-z0-9._-]{0,62}[a-z0-9_-])?$", example = "support")]
    pub username: String,
    /// A hosted domain; the server's default domain when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    /// The name shown in `From`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(pattern = r"^[^\x00-\x1f\x7f]*$", example = "Support")]
    pub display_name: Option<String>,
    /// Your own id for this mailbox: creating again with the same `client_id` returns the
    /// same mailbox (200) instead of a new one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// Admin keys only: the site to create the mailbox in (default site when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site_id: Option<SiteId>,
    /// Makes the mailbox ephemeral: it is deleted with its mail this many seconds after
    /// creation (`mailbox.expired`).
    #[serde(default, deserialize_with = "crate::controls::whole_number", skip_serializing_if = "Option::is_none")]
    pub ttl_seconds: Option<u64>,
    /// Makes the mailbox ephemeral: it is deleted with its mail at this time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<DateTime<Utc>>,
}

/// `PATCH /v1/mailboxes/{id}`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateMailboxRequest {
    /// The new display name; an empty string removes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// Whether outbound mail from this mailbox needs a person's approval: `none`, `all` or
    /// `first_contact` (a recipient the site never mailed). The strictest of the site's, the
    /// mailbox's and the tool config's applies. Read it with `GET /v1/mailboxes/{id}/approval-policy`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval_policy: Option<crate::drafts::ApprovalPolicy>,
    /// Limits of this mailbox (they apply together with its site's).
    #[serde(default, deserialize_with = "crate::controls::limits_object", skip_serializing_if = "Option::is_none")]
    pub limits: Option<crate::controls::LimitsPatch>,
    /// Days messages are kept (`null`: the site's rule, else forever).
    #[serde(default, deserialize_with = "crate::controls::whole_or_null", skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<u32>, minimum = 1, maximum = 36500)]
    pub retention_days: Option<Option<u32>>,
    /// Sets the expiry this many seconds from now.
    #[serde(default, deserialize_with = "crate::controls::whole_number", skip_serializing_if = "Option::is_none")]
    pub ttl_seconds: Option<u64>,
    /// Sets the expiry (`null`: the mailbox no longer expires).
    #[serde(default, deserialize_with = "double_option", skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<DateTime<Utc>>)]
    pub expires_at: Option<Option<DateTime<Utc>>>,
}

/// One attachment of a message to send.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AttachmentInput {
    /// An attachment uploaded first (`POST /v1/attachments`); then only `filename` (to
    /// rename it) and `content_id` may be given besides it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attachment_id: Option<AttachmentId>,
    /// The file name shown to the recipient (required with `content_base64`).
    #[serde(default)]
    pub filename: String,
    /// The MIME type; `application/octet-stream` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    /// The content, base64-encoded (standard alphabet, padding optional); not with
    /// `attachment_id`.
    #[serde(default)]
    pub content_base64: String,
    /// A `Content-ID` to reference the part from HTML (`cid:`); makes it inline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_id: Option<String>,
}

/// `POST /v1/mailboxes/{id}/messages`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"to": ["customer@example.com"], "subject": "Re: Your support request",
    "text": "Thanks for the details. Here is the next step.", "html": "<p>Thanks for the details. Here is the next step.</p>"}))]
pub struct SendMessageRequest {
    /// `To` recipients: `a@b.test` or `Name <a@b.test>`.
    #[serde(default)]
    pub to: Vec<String>,
    /// `Cc` recipients.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cc: Vec<String>,
    /// Blind-copy recipients (never shown in the message).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub bcc: Vec<String>,
    /// `Reply-To` addresses.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reply_to: Vec<String>,
    /// The subject.
    #[serde(default)]
    pub subject: String,
    /// The plain-text body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// The HTML body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub html: Option<String>,
    /// Files to attach.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<AttachmentInput>,
    /// Extra headers (`X-…` and other non-structural headers).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// The message this one answers: a Mailroom message id of the same mailbox, or a
    /// `Message-ID` header value. Sets `In-Reply-To`, `References` and the thread.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_reply_to: Option<String>,
    /// Labels to put on the sent copy.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<String>,
    /// Sends even when the message replied to was machine-sent (`auto_submitted`), which is
    /// otherwise refused with `auto_reply_loop`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub allow_auto_reply: bool,
    /// Sends later: an RFC 3339 time (`2026-01-31T09:00:00Z`). The message is stored at once
    /// and delivered at that time; the answer is `202` with `status: "scheduled"`. Cancel it
    /// with `POST /v1/messages/{id}/cancel` before it goes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub send_at: Option<String>,
}

/// `POST /v1/messages/{id}/reply`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"text": "Noon works for me."}))]
pub struct ReplyRequest {
    /// The plain-text body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// The HTML body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub html: Option<String>,
    /// Also reply to every `To` and `Cc` recipient of the original (except this mailbox).
    #[serde(default)]
    pub reply_all: bool,
    /// Extra `Cc` recipients.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cc: Vec<String>,
    /// Extra blind-copy recipients.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub bcc: Vec<String>,
    /// Files to attach.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<AttachmentInput>,
    /// Extra headers.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// Labels to put on the sent copy.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<String>,
    /// Sends even when the message replied to was machine-sent (`auto_submitted`), which is
    /// otherwise refused with `auto_reply_loop`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub allow_auto_reply: bool,
    /// Sends later: an RFC 3339 time (`2026-01-31T09:00:00Z`). The message is stored at once
    /// and delivered at that time; the answer is `202` with `status: "scheduled"`. Cancel it
    /// with `POST /v1/messages/{id}/cancel` before it goes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub send_at: Option<String>,
}

/// `POST /v1/messages/{id}/forward`: sends the message on from its mailbox as a new
/// conversation, "Fwd: <subject>", with the original quoted below `text` and its attachments.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ForwardRequest {
    /// `To` recipients: `a@b.test` or `Name <a@b.test>`.
    #[serde(default)]
    pub to: Vec<String>,
    /// `Cc` recipients.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cc: Vec<String>,
    /// Blind-copy recipients.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub bcc: Vec<String>,
    /// A note written above the forwarded message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Further attachments (inline base64 or `attachment_id` of an upload), after the
    /// original's.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<AttachmentInput>,
}

/// One recipient's state in the answer to a send.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RecipientStatus {
    /// The recipient.
    pub address: EmailAddress,
    /// `delivered` for local mailboxes, `queued` for other domains, `bounced` for an unknown
    /// mailbox on a hosted domain.
    pub status: DeliveryStatus,
}

/// The answer to a send or a reply (202 Accepted: the message is durable).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SendMessageResponse {
    /// The stored outbound message.
    pub id: MessageId,
    /// Its thread.
    pub thread_id: ThreadId,
    /// Its `Message-ID` header, without angle brackets.
    pub message_id: String,
    /// Where each recipient stands.
    pub recipients: Vec<RecipientStatus>,
}

/// `PATCH /v1/messages/{id}`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateMessageRequest {
    /// Marks the message read or unread.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read: Option<bool>,
    /// Replaces all labels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<Vec<String>>,
    /// Adds these labels.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub add_labels: Vec<String>,
    /// Removes these labels.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub remove_labels: Vec<String>,
}

/// A thread with its messages, oldest first.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ThreadWithMessages {
    /// The thread.
    #[serde(flatten)]
    pub thread: Thread,
    /// Its messages in the order they were stored.
    pub messages: Vec<Message>,
}

/// Filters of `GET /v1/mailboxes/{id}/messages`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct MessageQuery {
    /// `inbound` or `outbound`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub direction: Option<String>,
    /// Only messages of this thread.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thread_id: Option<ThreadId>,
    /// `true` for unread messages only, `false` for read ones only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unread: Option<bool>,
    /// Only messages stored at or after this RFC 3339 time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<String>,
    /// Only messages carrying this label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// Full-text search of the subject, text body, sender and recipients (1-500 characters):
    /// every word must appear, punctuation splits words (so `alice@example.com` matches that
    /// address), the last word matches as a prefix.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub q: Option<String>,
    /// The `next_cursor` of the previous page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
    /// Page size, 1-100 (default 50).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
}

/// `POST /v1/domains`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateDomainRequest {
    /// The domain name, such as `agents.example.com`.
    pub name: String,
    /// Admin keys: the site that owns the domain (default site when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site_id: Option<SiteId>,
}

/// One DNS record to publish for a hosted domain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DnsRecord {
    /// `MX` or `TXT`.
    #[serde(rename = "type")]
    pub record_type: String,
    /// The owner name, fully qualified (without the trailing dot).
    pub name: String,
    /// The value (TXT without quotes; MX as `<preference> <host>`).
    pub value: String,
    /// What the record is for.
    pub purpose: String,
}

/// The answer to `GET /v1/domains/{id}/dns`: the records to publish for a domain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DomainDns {
    /// The domain.
    pub domain: String,
    /// MX, SPF, DKIM (one per key) and DMARC.
    pub records: Vec<DnsRecord>,
}

/// `POST /v1/suppressions`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateSuppressionRequest {
    /// The address to stop mailing.
    pub address: String,
    /// `manual` (default), `hard_bounce`, `complaint` or `unsubscribe`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// A note.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Admin keys: the site (default site when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site_id: Option<SiteId>,
}

/// One recipient in the outbound queue (`GET /v1/queue`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct QueueEntry {
    /// The outbound message.
    pub message_id: MessageId,
    /// Its site.
    pub site_id: SiteId,
    /// The recipient.
    pub address: EmailAddress,
    /// How it was addressed.
    pub kind: RecipientKind,
    /// Where it stands.
    pub status: DeliveryStatus,
    /// Attempts so far.
    pub attempts: u32,
    /// When the next attempt is due.
    #[serde(default)]
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// The last SMTP reply.
    #[serde(default)]
    pub last_reply: Option<String>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

/// Health and readiness answers.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct HealthStatus {
    /// `ok` or `unavailable`.
    pub status: String,
    /// Details per component.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub checks: BTreeMap<String, String>,
}

/// The answer to `GET /v1/mailboxes/{id}/messages/wait` when a message arrived (200; the
/// route answers 204 without a body when the timeout passes first).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct WaitResponse {
    /// The cursor of the `message.received` event: pass it as `after` to wait for the next
    /// message without missing one.
    pub cursor: String,
    /// The received message.
    pub message: Message,
}

/// `POST /v1/webhooks`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateWebhookRequest {
    /// Where events are POSTed: an `https://` (or `http://`) URL of a public host.
    pub url: String,
    /// Event types to send, such as `message.received`; absent, empty or `["*"]` means every
    /// type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_types: Option<Vec<String>>,
    /// Only events of this mailbox.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mailbox_id: Option<MailboxId>,
    /// A note for humans.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Whether deliveries are made (default `true`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// Admin keys: the site the endpoint belongs to (default site when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site_id: Option<SiteId>,
}

/// `PATCH /v1/webhooks/{id}`: absent fields keep their value.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateWebhookRequest {
    /// The new URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The new event type filter; empty or `["*"]` means every type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_types: Option<Vec<String>>,
    /// The new mailbox filter; `null` removes it (`Some(None)` here).
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, format = Uuid, nullable)]
    pub mailbox_id: Option<Option<MailboxId>>,
    /// The new description; `null` or an empty string removes it.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, nullable)]
    pub description: Option<Option<String>>,
    /// `true` enables the endpoint again (clearing why it was disabled); `false` disables it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
}

/// Reads a consent flag as seed 001 writes it: `true`/`false`, or the strings `"true"` /
/// `"false"` (any case), or `null`; absent stays `None`.
fn subscribed_flag<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<bool>>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Flag {
        Bool(bool),
        Text(String),
    }
    match Option::<Flag>::deserialize(d)? {
        None => Ok(Some(None)),
        Some(Flag::Bool(b)) => Ok(Some(Some(b))),
        Some(Flag::Text(t)) => match t.trim().to_ascii_lowercase().as_str() {
            "true" => Ok(Some(Some(true))),
            "false" => Ok(Some(Some(false))),
            "" | "null" => Ok(Some(None)),
            other => Err(serde::de::Error::custom(format!("`email_subscribed` must be true, false, \"true\", \"false\" or null, not \"{other}\""))),
        },
    }
}

/// Tells a field set to `null` (`Some(None)`) from an absent one (`None`).
fn double_option<'de, T: Deserialize<'de>, D: Deserializer<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// The answer to `POST /v1/webhooks` (201) and `POST /v1/webhooks/{id}/rotate-secret`: the
/// endpoint and its signing secret, shown only in these two answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct WebhookWithSecret {
    /// The endpoint.
    #[serde(flatten)]
    pub endpoint: WebhookEndpoint,
    /// The signing secret (`whsec_…`): keep it, it cannot be shown again. Verify requests
    /// with any Standard Webhooks library.
    pub secret: String,
}

/// `POST /v1/webhooks/{id}/replay`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplayRequest {
    /// Send again the endpoint's events after this event cursor; from the start of the log
    /// when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
}

/// The answer to `POST /v1/webhooks/{id}/replay` (202).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ReplayResponse {
    /// New deliveries queued for events that had none to this endpoint.
    pub created: u64,
    /// Existing deliveries (same `webhook-id`) scheduled to be sent again.
    pub requeued: u64,
    /// Events after the cursor that match the endpoint's filters, when the server counts them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub matched: Option<u64>,
    /// Where to continue (as the next `after`) when the replay stopped at its limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

// --- agent tool records (contacts, team members, secure tokens, tool configs) -------------

/// `POST /v1/contacts`: creates a contact, or updates the site's contact with the same email
/// (compared case-insensitively) or, failing that, the same external id.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpsertContactRequest {
    /// The email address; at least one of `email` and `external_id` is needed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// The caller's own id for this person.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// The name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Attributes, merged into the existing ones (a `null` value removes that attribute).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub attributes: Option<serde_json::Map<String, serde_json::Value>>,
    /// Consent to informational email: `true`, `false` or `null` (unset); seed 001's strings
    /// `"true"` / `"false"` are accepted too.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "subscribed_flag")]
    #[schema(value_type = Option<bool>, nullable)]
    pub email_subscribed: Option<Option<bool>>,
    /// Opted out of marketing / one-to-one outreach.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub marketing_opt_out: Option<bool>,
    /// The team member (of the same site) who owns the relationship; `null` removes it.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, format = Uuid, nullable)]
    pub owner_team_member_id: Option<Option<TeamMemberId>>,
    /// Admin keys: the site (default: the default site).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site_id: Option<SiteId>,
}

/// `PATCH /v1/contacts/{id}`: only the fields given change; `null` clears a field.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateContactRequest {
    /// The new email address (`null` removes it, if the contact keeps an external id).
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, nullable)]
    pub email: Option<Option<String>>,
    /// The new external id (`null` removes it, if the contact keeps an email).
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, nullable)]
    pub external_id: Option<Option<String>>,
    /// The new name.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, nullable)]
    pub name: Option<Option<String>>,
    /// Attributes merged into the existing ones (a `null` value removes that attribute).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub attributes: Option<serde_json::Map<String, serde_json::Value>>,
    /// Consent to informational email (`"true"` / `"false"` accepted too).
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "subscribed_flag")]
    #[schema(value_type = Option<bool>, nullable)]
    pub email_subscribed: Option<Option<bool>>,
    /// Opted out of marketing / one-to-one outreach.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub marketing_opt_out: Option<bool>,
    /// The owning team member; `null` removes it.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, format = Uuid, nullable)]
    pub owner_team_member_id: Option<Option<TeamMemberId>>,
}

/// `POST /v1/contacts/{id}/consent`: records the contact's answer to the consent request.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsentRequest {
    /// `true`: the contact accepts informational email; `false`: they refuse it.
    pub granted: bool,
}

/// A contact with the emails the tools sent it, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ContactWithHistory {
    /// The contact.
    #[serde(flatten)]
    pub contact: crate::agent::Contact,
    /// The emails sent to it, newest first.
    pub history: Vec<crate::agent::SentEmail>,
}

/// `POST /v1/team-members`. The member belongs to the mailbox's site.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTeamMemberRequest {
    /// The name shown in `From`.
    #[schema(max_length = 200, pattern = r"^[^\x00-\x1f\x7f]*[^\s\x00-\x1f\x7f][^\x00-\x1f\x7f]*$")]
    pub name: String,
    /// The mailbox the member sends from.
    #[schema(value_type = String, format = Uuid)]
    pub mailbox_id: MailboxId,
    /// The HTML signature appended to their emails (at most 20 KB).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature_html: Option<String>,
}

/// `PATCH /v1/team-members/{id}`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateTeamMemberRequest {
    /// The new name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The new mailbox (of the same site).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = Uuid)]
    pub mailbox_id: Option<MailboxId>,
    /// The new signature; `null` removes it.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, nullable)]
    pub signature_html: Option<Option<String>>,
}

/// `POST /v1/secure-tokens` (seed 002's `secure_tokens`). The value is sealed with the
/// server key and never returned; `Debug` does not print it.
#[derive(Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateSecureTokenRequest {
    /// The site that owns the token: the key's own site (any site for admin keys).
    #[schema(value_type = String, format = Uuid)]
    pub site_id: SiteId,
    /// The kind, such as `email` (SMTP credentials).
    #[schema(min_length = 1, max_length = 64)]
    pub token_type: String,
    /// What it is for, such as the SMTP account's address.
    pub identifier: String,
    /// The secret value: any JSON, such as `{email, password, smtpHost, smtpPort, imapHost, imapPort}`.
    #[schema(value_type = Object)]
    pub token_value: serde_json::Value,
}

impl std::fmt::Debug for CreateSecureTokenRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreateSecureTokenRequest")
            .field("site_id", &self.site_id)
            .field("token_type", &self.token_type)
            .field("identifier", &self.identifier)
            .field("token_value", &"<redacted>")
            .finish()
    }
}

/// `POST /v1/tool-configs`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateToolConfigRequest {
    /// The tool name agents call, unique per site: `[a-z0-9_]{1,64}`.
    #[schema(pattern = "^[a-z0-9_]{1,64}$")]
    pub name: String,
    /// `send_email`, `send_one_to_one_email` or `send_information_email`.
    pub tool: String,
    /// When to use the tool and the quality bar (1 to 10,000 characters).
    pub prompt: String,
    /// Tool-specific settings (an object).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub settings: Option<serde_json::Value>,
    /// Admin keys: the site (default: the default site).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site_id: Option<SiteId>,
}

/// `PATCH /v1/tool-configs/{id}` (the underlying tool cannot change).
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateToolConfigRequest {
    /// The new name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The new prompt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt: Option<String>,
    /// The new settings (replace the old ones).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub settings: Option<serde_json::Value>,
    /// Whether mail this tool config sends needs a person's approval: `none`, `all` or
    /// `first_contact` (issue 17); the strictest of the site's, the mailbox's and this applies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval_policy: Option<crate::drafts::ApprovalPolicy>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webhook_requests_skip_what_is_unset_and_refuse_unknown_fields() {
        let create = CreateWebhookRequest { url: "https://x.test/hook".into(), ..Default::default() };
        assert_eq!(serde_json::to_value(&create).unwrap(), serde_json::json!({"url": "https://x.test/hook"}));
        let err =
            serde_json::from_str::<CreateWebhookRequest>(r#"{"url":"https://x.test/","secret":"s"}"#).unwrap_err();
        assert!(err.to_string().contains("unknown field"), "{err}");
        assert_eq!(serde_json::to_value(ReplayRequest::default()).unwrap(), serde_json::json!({}));
        assert!(serde_json::from_str::<ReplayRequest>(r#"{"cursor":"1"}"#).is_err());
    }

    #[test]
    fn webhook_updates_tell_null_from_absent_both_ways() {
        let clear = UpdateWebhookRequest { mailbox_id: Some(None), description: Some(None), ..Default::default() };
        let json = serde_json::to_value(&clear).unwrap();
        assert_eq!(json, serde_json::json!({"mailbox_id": null, "description": null}));
        assert_eq!(serde_json::from_value::<UpdateWebhookRequest>(json).unwrap(), clear);
        let none: UpdateWebhookRequest = serde_json::from_str("{}").unwrap();
        assert_eq!(none, UpdateWebhookRequest::default());
        assert_eq!(serde_json::to_value(&none).unwrap(), serde_json::json!({}));
        let set: UpdateWebhookRequest = serde_json::from_str(r#"{"description":"CRM","enabled":false}"#).unwrap();
        assert_eq!((set.description, set.enabled), (Some(Some("CRM".into())), Some(false)));
    }

    #[test]
    fn email_subscribed_takes_booleans_and_the_seed_strings() {
        let upsert = |v: serde_json::Value| serde_json::from_value::<UpsertContactRequest>(serde_json::json!({"email": "a@x.test", "email_subscribed": v}));
        let update = |v: serde_json::Value| serde_json::from_value::<UpdateContactRequest>(serde_json::json!({"email_subscribed": v}));
        for (given, want) in [
            (serde_json::json!(true), Some(true)),
            (serde_json::json!(false), Some(false)),
            (serde_json::json!("true"), Some(true)),
            (serde_json::json!("false"), Some(false)),
            (serde_json::json!(" TRUE "), Some(true)),
            (serde_json::json!("False"), Some(false)),
            (serde_json::Value::Null, None),
        ] {
            assert_eq!(upsert(given.clone()).unwrap().email_subscribed, Some(want), "{given}");
            assert_eq!(update(given.clone()).unwrap().email_subscribed, Some(want), "{given}");
        }
        let absent: UpsertContactRequest = serde_json::from_value(serde_json::json!({"email": "a@x.test"})).unwrap();
        assert_eq!(absent.email_subscribed, None);
        for bad in [serde_json::json!("yes"), serde_json::json!(1), serde_json::json!("1")] {
            assert!(upsert(bad.clone()).is_err(), "{bad}");
            assert!(update(bad.clone()).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_secret_sits_beside_the_flattened_endpoint() {
        let json = serde_json::json!({
            "id": "0190f5a0-0000-7000-8000-0000000000a1",
            "site_id": "0190f5a0-0000-7000-8000-000000000002",
            "url": "https://x.test/hook",
            "event_types": ["message.received"],
            "enabled": true,
            "created_at": "2026-01-01T00:00:00Z",
            "updated_at": "2026-01-01T00:00:00Z",
            "secret": "whsec_abc"
        });
        let parsed: WebhookWithSecret = serde_json::from_value(json).unwrap();
        assert_eq!(parsed.secret, "whsec_abc");
        assert_eq!(parsed.endpoint.event_types, ["message.received"]);
        let back = serde_json::to_value(&parsed).unwrap();
        assert_eq!(back["secret"], "whsec_abc");
        assert_eq!(back["url"], "https://x.test/hook");
        assert!(back.get("secret_encrypted").is_none());
    }

    #[test]
    fn secure_token_requests_never_debug_their_value() {
        let r: CreateSecureTokenRequest = serde_json::from_value(serde_json::json!({
            "site_id": "0190f5a0-0000-7000-8000-000000000002", "token_type": "email",
            "identifier": "a@x.test", "token_value": {"password": "hunter2"}
        }))
        .unwrap();
        let shown = format!("{r:?}");
        assert!(!shown.contains("hunter2") && shown.contains("redacted"), "{shown}");
    }

    #[test]
    fn the_new_bodies_have_openapi_schemas() {
        use utoipa::PartialSchema;
        let json = |s: utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>| serde_json::to_string(&s).unwrap();
        assert!(json(UpdateWebhookRequest::schema()).contains("null"));
        assert!(json(WebhookWithSecret::schema()).contains("secret"));
        assert!(json(ReplayResponse::schema()).contains("requeued"));
        let r: ReplayResponse = serde_json::from_str(r#"{"created":2,"requeued":1}"#).unwrap();
        assert_eq!((r.created, r.requeued, r.matched, r.next_cursor), (2, 1, None, None));
        assert!(json(WaitResponse::schema()).contains("cursor"));
    }
}

/// `POST /v1/lists`: one allow or block entry, for the whole site or one mailbox.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateListEntryRequest {
    /// `send` (recipients this site mails) or `receive` (senders it accepts mail from).
    pub direction: crate::ListDirection,
    /// `allow` or `block`.
    pub kind: crate::ListKind,
    /// An address (`+tag` ignored, case-insensitive) or a domain (`example.com`).
    pub entry: String,
    /// Only for this mailbox; absent: the whole site.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mailbox_id: Option<crate::MailboxId>,
    /// Why (shown in refusals).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Admin keys: the site (default: the default site).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site_id: Option<crate::SiteId>,
}
