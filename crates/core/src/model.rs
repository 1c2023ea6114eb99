//! The domain model: what Mailroom stores and what the API returns.

use crate::address::{EmailAddress, NamedAddress};
use crate::ids::*;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A tenant. Owns API keys, mailboxes and everything under them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Site {
    /// The site's id (the seeds' `site_id`).
    pub id: SiteId,
    /// A human name.
    pub name: String,
    /// When the site was created.
    pub created_at: DateTime<Utc>,
}

/// What an API key may reach.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum KeyScope {
    /// Every site, plus the admin-only routes (sites, admin keys).
    Admin,
    /// One site only.
    Site(SiteId),
}

impl KeyScope {
    /// Tells whether this scope may see objects of `site`.
    pub fn allows(&self, site: SiteId) -> bool {
        match self {
            KeyScope::Admin => true,
            KeyScope::Site(s) => *s == site,
        }
    }

    /// Returns the site this scope is limited to, or `None` for admin keys.
    pub fn site(&self) -> Option<SiteId> {
        match self {
            KeyScope::Admin => None,
            KeyScope::Site(s) => Some(*s),
        }
    }
}

/// A stored API key. The secret itself is never stored: only its SHA-256 hash.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ApiKey {
    /// The key's id.
    pub id: ApiKeyId,
    /// A name for humans.
    pub name: String,
    /// `admin` or `site`.
    pub scope: String,
    /// The site the key is limited to; absent for admin keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site_id: Option<SiteId>,
    /// The first characters of the key, to recognise it.
    pub prefix: String,
    /// When the key was created.
    pub created_at: DateTime<Utc>,
}

impl ApiKey {
    /// Returns the key's scope as a typed value.
    pub fn key_scope(&self) -> KeyScope {
        match self.site_id {
            Some(s) => KeyScope::Site(s),
            None => KeyScope::Admin,
        }
    }
}

/// A mailbox: an address on a hosted domain that can send and receive.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Mailbox {
    /// The mailbox's id.
    pub id: MailboxId,
    /// The owning site.
    pub site_id: SiteId,
    /// The full address, `username@domain`.
    pub address: EmailAddress,
    /// The name shown in `From`.
    #[serde(default)]
    pub display_name: Option<String>,
    /// The caller's own id for this mailbox, which makes creation idempotent.
    #[serde(default)]
    pub client_id: Option<String>,
    /// When the mailbox was created.
    pub created_at: DateTime<Utc>,
    /// When the mailbox was last changed.
    pub updated_at: DateTime<Utc>,
}

impl Mailbox {
    /// Returns the mailbox as a `From` address with its display name.
    pub fn named_address(&self) -> NamedAddress {
        NamedAddress { name: self.display_name.clone(), address: self.address.clone() }
    }
}

/// Whether a message came in or went out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Received by the mailbox.
    Inbound,
    /// Sent by the mailbox.
    Outbound,
}

impl Direction {
    /// Returns the wire name.
    pub fn as_str(&self) -> &'static str {
        match self {
            Direction::Inbound => "inbound",
            Direction::Outbound => "outbound",
        }
    }
}

impl FromStr for Direction {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "inbound" => Ok(Direction::Inbound),
            "outbound" => Ok(Direction::Outbound),
            other => Err(format!("`{other}` is not a direction: use `inbound` or `outbound`")),
        }
    }
}

/// Where one recipient of an outbound message stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryStatus {
    /// Waiting in the durable outbound queue.
    Queued,
    /// A delivery attempt is under way.
    Sending,
    /// Accepted by the recipient's server (or delivered to a local mailbox).
    Delivered,
    /// A temporary failure; another attempt is scheduled.
    Deferred,
    /// Permanently refused by the recipient's side.
    Bounced,
    /// Given up (retry period over, or cancelled).
    Failed,
}

impl DeliveryStatus {
    /// Returns the wire name.
    pub fn as_str(&self) -> &'static str {
        match self {
            DeliveryStatus::Queued => "queued",
            DeliveryStatus::Sending => "sending",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Deferred => "deferred",
            DeliveryStatus::Bounced => "bounced",
            DeliveryStatus::Failed => "failed",
        }
    }

    /// Tells whether no further attempt will be made.
    pub fn is_final(&self) -> bool {
        matches!(self, DeliveryStatus::Delivered | DeliveryStatus::Bounced | DeliveryStatus::Failed)
    }
}

impl fmt::Display for DeliveryStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for DeliveryStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "queued" => DeliveryStatus::Queued,
            "sending" => DeliveryStatus::Sending,
            "delivered" => DeliveryStatus::Delivered,
            "deferred" => DeliveryStatus::Deferred,
            "bounced" => DeliveryStatus::Bounced,
            "failed" => DeliveryStatus::Failed,
            other => return Err(format!("unknown delivery status `{other}`")),
        })
    }
}

/// How a recipient was addressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum RecipientKind {
    /// In `To`.
    To,
    /// In `Cc`.
    Cc,
    /// Blind copy: in the envelope only.
    Bcc,
}

impl RecipientKind {
    /// Returns the wire name.
    pub fn as_str(&self) -> &'static str {
        match self {
            RecipientKind::To => "to",
            RecipientKind::Cc => "cc",
            RecipientKind::Bcc => "bcc",
        }
    }
}

impl FromStr for RecipientKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "to" => RecipientKind::To,
            "cc" => RecipientKind::Cc,
            "bcc" => RecipientKind::Bcc,
            other => return Err(format!("unknown recipient kind `{other}`")),
        })
    }
}

/// One recipient of an outbound message and its delivery state: one durable job each.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Recipient {
    /// The recipient's address.
    pub address: EmailAddress,
    /// How it was addressed.
    pub kind: RecipientKind,
    /// Where its delivery stands.
    pub status: DeliveryStatus,
    /// The last SMTP reply or delivery note.
    #[serde(default)]
    pub last_reply: Option<String>,
    /// How many delivery attempts were made.
    #[serde(default)]
    pub attempts: u32,
    /// When the next attempt is due (queued and deferred only).
    #[serde(default)]
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// When this recipient's state last changed.
    pub updated_at: DateTime<Utc>,
}

/// Metadata of one attachment; the content is downloaded from `/v1/attachments/{id}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Attachment {
    /// The attachment's id.
    pub id: AttachmentId,
    /// The file name, if the sender gave one.
    #[serde(default)]
    pub filename: Option<String>,
    /// The MIME type.
    pub content_type: String,
    /// Size in bytes.
    pub size: u64,
    /// The `Content-ID`, for inline parts referenced from HTML.
    #[serde(default)]
    pub content_id: Option<String>,
    /// Whether the part is meant to be shown inline.
    #[serde(default)]
    pub inline: bool,
    /// Where the content is kept in the blob store.
    #[serde(skip)]
    pub blob_key: String,
    /// A signed, time-limited URL that downloads the content without an API key (set in
    /// API answers; `POST /v1/attachments/{id}/url` makes one with another lifetime).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub download_url: Option<String>,
}

/// One header as it appeared in the message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Header {
    /// The header name as written.
    pub name: String,
    /// The decoded value.
    pub value: String,
}

/// A stored message: one copy in one mailbox, with its raw bytes kept exactly and the parsed
/// fields beside them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Message {
    /// The message's id.
    pub id: MessageId,
    /// The owning site.
    pub site_id: SiteId,
    /// The mailbox this copy belongs to.
    pub mailbox_id: MailboxId,
    /// The conversation this message belongs to in its mailbox.
    pub thread_id: ThreadId,
    /// Inbound or outbound.
    pub direction: Direction,
    /// The `Message-ID` header, without angle brackets.
    #[serde(default)]
    pub message_id: Option<String>,
    /// The `In-Reply-To` header, without angle brackets.
    #[serde(default)]
    pub in_reply_to: Option<String>,
    /// The `References` header, oldest first, without angle brackets.
    #[serde(default)]
    pub references: Vec<String>,
    /// The sender.
    #[serde(default)]
    pub from: Option<NamedAddress>,
    /// `To` recipients.
    #[serde(default)]
    pub to: Vec<NamedAddress>,
    /// `Cc` recipients.
    #[serde(default)]
    pub cc: Vec<NamedAddress>,
    /// `Bcc` recipients (outbound only: they never appear in the raw message).
    #[serde(default)]
    pub bcc: Vec<NamedAddress>,
    /// `Reply-To` addresses.
    #[serde(default)]
    pub reply_to: Vec<NamedAddress>,
    /// The subject.
    #[serde(default)]
    pub subject: Option<String>,
    /// The plain-text body.
    #[serde(default)]
    pub text: Option<String>,
    /// The HTML body.
    #[serde(default)]
    pub html: Option<String>,
    /// The new content of the text body: the reply without quoted history ("On … wrote:",
    /// `>` blocks, Outlook header blocks, forwarded messages) and without the signature.
    #[serde(default)]
    pub extracted_text: Option<String>,
    /// The HTML body without quoted history and signature (the sender's HTML otherwise).
    #[serde(default)]
    pub extracted_html: Option<String>,
    /// The untrusted-content checks of an inbound message (absent on outbound ones).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security: Option<crate::reading::Security>,
    /// A short plain-text excerpt of the body.
    #[serde(default)]
    pub snippet: String,
    /// Every header, in order.
    #[serde(default)]
    pub headers: Vec<Header>,
    /// Attachment metadata.
    #[serde(default)]
    pub attachments: Vec<Attachment>,
    /// User labels (and the plus-address tag for inbound mail).
    #[serde(default)]
    pub labels: Vec<String>,
    /// Whether the message was marked read.
    pub read: bool,
    /// Size of the raw message in bytes.
    pub size: u64,
    /// Per-recipient delivery state (outbound only).
    #[serde(default)]
    pub recipients: Vec<Recipient>,
    /// SPF, DKIM and DMARC verdicts of a message received over SMTP:
    /// `{spf, dkim, dkim_domains, dmarc, header}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub auth_results: Option<serde_json::Value>,
    /// Whether the message was sent by a machine (`Auto-Submitted` other than `no`,
    /// `Precedence: bulk|junk|list`, `List-Id`, auto-reply markers): replies to it are refused
    /// with `auto_reply_loop` unless the call says `allow_auto_reply: true`. Derived from the
    /// headers.
    #[serde(default)]
    pub auto_submitted: bool,
    /// For a received delivery-status report: what was done with it, `applied` or
    /// `ignored: <reason>` (see the README's DSN rule).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dsn: Option<String>,
    /// When the message was stored.
    pub created_at: DateTime<Utc>,
    /// Where the raw bytes are kept in the blob store.
    #[serde(skip)]
    pub raw_blob_key: String,
}

/// A conversation inside one mailbox.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Thread {
    /// The thread's id.
    pub id: ThreadId,
    /// The owning site.
    pub site_id: SiteId,
    /// The mailbox the thread belongs to.
    pub mailbox_id: MailboxId,
    /// The subject of the first message, without `Re:` prefixes.
    #[serde(default)]
    pub subject: Option<String>,
    /// Every address that sent or received a message of the thread.
    #[serde(default)]
    pub participants: Vec<EmailAddress>,
    /// How many messages the thread holds.
    pub message_count: u64,
    /// The snippet of the latest message.
    #[serde(default)]
    pub snippet: String,
    /// When the latest message was stored.
    pub last_message_at: DateTime<Utc>,
    /// When the thread began.
    pub created_at: DateTime<Utc>,
}

/// An entry of a site's append-only event log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Event {
    /// The event's id.
    pub id: EventId,
    /// The position in the log: pass it as `after` to read what follows.
    pub cursor: String,
    /// The event type, such as `message.received`.
    #[serde(rename = "type")]
    pub event_type: String,
    /// The site the event belongs to.
    pub site_id: SiteId,
    /// The mailbox concerned, if any.
    #[serde(default)]
    pub mailbox_id: Option<MailboxId>,
    /// The event's payload.
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
    /// When the event was logged.
    pub created_at: DateTime<Utc>,
}

/// A DKIM key of a domain. The private key is kept encrypted; only the engine decrypts it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DkimKey {
    /// The selector: the key is published at `<selector>._domainkey.<domain>`.
    pub selector: String,
    /// `ed25519` or `rsa`.
    pub algorithm: String,
    /// The public key as published in DNS (`p=`), base64.
    pub public_key: String,
    /// The private key (PKCS#8 DER), encrypted with the server's encryption key.
    #[serde(skip)]
    pub private_key_encrypted: Vec<u8>,
}

/// A domain a site sends and receives mail for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Domain {
    /// The domain's id.
    pub id: DomainId,
    /// The owning site.
    pub site_id: SiteId,
    /// The domain name, lower-cased.
    pub name: String,
    /// Its DKIM keys (Ed25519 and RSA-2048).
    pub dkim: Vec<DkimKey>,
    /// When the domain was added.
    pub created_at: DateTime<Utc>,
}

/// An address a site must not send to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Suppression {
    /// The owning site.
    pub site_id: SiteId,
    /// The suppressed address (lower-cased).
    pub address: EmailAddress,
    /// `hard_bounce`, `complaint`, `unsubscribe` or `manual`.
    pub reason: String,
    /// What caused it, such as the SMTP reply of the bounce.
    #[serde(default)]
    pub detail: Option<String>,
    /// When it was added.
    pub created_at: DateTime<Utc>,
}

/// A URL that receives a site's events, signed per Standard Webhooks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct WebhookEndpoint {
    /// The endpoint's id.
    pub id: WebhookId,
    /// The owning site.
    pub site_id: SiteId,
    /// Where events are POSTed.
    pub url: String,
    /// Event types to send (`message.received`, …); empty means every type.
    #[serde(default)]
    pub event_types: Vec<String>,
    /// Only events of this mailbox, when set.
    #[serde(default)]
    pub mailbox_id: Option<MailboxId>,
    /// A note for humans.
    #[serde(default)]
    pub description: Option<String>,
    /// Whether deliveries are made.
    pub enabled: bool,
    /// Why the endpoint was disabled automatically (`gone` after a 410, `failing` after a
    /// period of nothing but failures), if it was.
    #[serde(default)]
    pub disabled_reason: Option<String>,
    /// Since when every delivery attempt has failed; cleared by a success.
    #[serde(default)]
    pub failing_since: Option<DateTime<Utc>>,
    /// The signing secret (`whsec_…`), sealed with the server key.
    #[serde(skip)]
    pub secret_encrypted: Vec<u8>,
    /// The secret before the last rotation, still used to sign (beside the new one) until
    /// `previous_secret_expires_at`.
    #[serde(skip)]
    pub previous_secret_encrypted: Option<Vec<u8>>,
    /// When the previous secret stops being used.
    #[serde(default)]
    pub previous_secret_expires_at: Option<DateTime<Utc>>,
    /// When the endpoint was created.
    pub created_at: DateTime<Utc>,
    /// When it was last changed.
    pub updated_at: DateTime<Utc>,
}

/// Where one webhook delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum WebhookDeliveryStatus {
    /// Waiting for its first or next attempt.
    Pending,
    /// An attempt is under way.
    Sending,
    /// The endpoint answered 2xx.
    Succeeded,
    /// Every scheduled attempt failed, or the endpoint was disabled.
    Failed,
}

impl WebhookDeliveryStatus {
    /// Returns the wire name.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Sending => "sending",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
        }
    }
}

impl FromStr for WebhookDeliveryStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "pending" => Self::Pending,
            "sending" => Self::Sending,
            "succeeded" => Self::Succeeded,
            "failed" => Self::Failed,
            other => return Err(format!("unknown webhook delivery status `{other}`")),
        })
    }
}

/// One HTTP attempt of a webhook delivery.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct WebhookAttempt {
    /// 1 for the first attempt.
    pub attempt: u32,
    /// When it was made.
    pub at: DateTime<Utc>,
    /// The HTTP status, when the endpoint answered.
    #[serde(default)]
    pub status_code: Option<u16>,
    /// How long the request took, in milliseconds.
    pub latency_ms: u64,
    /// What went wrong (connection refused, timeout, non-2xx…), if anything.
    #[serde(default)]
    pub error: Option<String>,
}

/// One event to be delivered to one endpoint, with its attempts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct WebhookDelivery {
    /// The delivery's id, sent as `webhook-id`.
    pub id: WebhookDeliveryId,
    /// The endpoint.
    pub endpoint_id: WebhookId,
    /// The site.
    pub site_id: SiteId,
    /// The event's id.
    pub event_id: EventId,
    /// The event's cursor in the log.
    pub event_cursor: String,
    /// The event's type.
    pub event_type: String,
    /// Where it stands.
    pub status: WebhookDeliveryStatus,
    /// Attempts so far.
    pub attempts: u32,
    /// When the next attempt is due (pending only).
    #[serde(default)]
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// The attempts, oldest first.
    #[serde(default)]
    pub history: Vec<WebhookAttempt>,
    /// When the delivery was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

/// Event type names, in one place so producers and consumers agree.
pub mod event_types {
    /// A mailbox was created.
    pub const MAILBOX_CREATED: &str = "mailbox.created";
    /// A mailbox was changed.
    pub const MAILBOX_UPDATED: &str = "mailbox.updated";
    /// A mailbox was deleted.
    pub const MAILBOX_DELETED: &str = "mailbox.deleted";
    /// A mailbox sent a message.
    pub const MESSAGE_SENT: &str = "message.sent";
    /// A mailbox received a message.
    pub const MESSAGE_RECEIVED: &str = "message.received";
    /// A message was imported into a mailbox (from mbox, Maildir or .eml files): stored like
    /// a received message, but not news.
    pub const MESSAGE_IMPORTED: &str = "message.imported";
    /// A recipient's server accepted a message (or a local mailbox got it).
    pub const MESSAGE_DELIVERED: &str = "message.delivered";
    /// A delivery attempt failed temporarily.
    pub const MESSAGE_DEFERRED: &str = "message.deferred";
    /// A recipient's side refused a message permanently.
    pub const MESSAGE_BOUNCED: &str = "message.bounced";
    /// Delivery was given up.
    pub const MESSAGE_FAILED: &str = "message.failed";
    /// A message was deleted.
    pub const MESSAGE_DELETED: &str = "message.deleted";
    /// A domain was added.
    pub const DOMAIN_CREATED: &str = "domain.created";
    /// An address was added to the suppression list.
    pub const SUPPRESSION_CREATED: &str = "suppression.created";
    /// A webhook endpoint was disabled automatically (410 Gone, or failing for too long).
    pub const ENDPOINT_DISABLED: &str = "endpoint.disabled";
    /// An ephemeral mailbox reached its expiry and was deleted with its mail.
    pub const MAILBOX_EXPIRED: &str = "mailbox.expired";
    /// A message to or from a mailbox was refused because a storage quota is full.
    pub const MAILBOX_QUOTA_EXCEEDED: &str = "mailbox.quota_exceeded";
    /// An agent tool was invoked and its run recorded (whatever it decided): the run's id,
    /// tool, status, code, decision, contact and message sent; never its inputs or outputs.
    pub const TOOL_RUN_CREATED: &str = "tool_run.created";
    /// The text of an attachment was extracted (or found unsupported, or failed for good).
    pub const ATTACHMENT_TEXT_EXTRACTED: &str = "attachment.text_extracted";
}

/// Removes any number of `Re:`, `Fwd:`, `Fw:`, `AW:` and `WG:` prefixes from a subject.
pub fn base_subject(subject: &str) -> String {
    let mut s = subject.trim();
    loop {
        let lower = s.to_ascii_lowercase();
        let cut = ["re:", "fwd:", "fw:", "aw:", "wg:"].iter().find(|p| lower.starts_with(**p)).map(|p| p.len());
        match cut {
            Some(n) => s = s[n..].trim_start(),
            None => return s.to_string(),
        }
    }
}

/// Returns up to `max` characters of `text` with white space folded, for snippets.
pub fn make_snippet(text: &str, max: usize) -> String {
    let folded = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match folded.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &folded[..i]),
        None => folded,
    }
}

/// Returns the current time cut to whole microseconds: the precision both stores keep, so a
/// value read back compares equal to the one written.
pub fn now() -> chrono::DateTime<chrono::Utc> {
    use chrono::{SubsecRound, Utc};
    Utc::now().trunc_subsecs(6)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_subject_strips_reply_prefixes() {
        assert_eq!(base_subject("Re: RE: Fwd: Hello"), "Hello");
        assert_eq!(base_subject("Hello"), "Hello");
        assert_eq!(base_subject("Re:"), "");
    }

    fn flagged(headers: &[(&str, &str)]) -> bool {
        let headers: Vec<Header> = headers.iter().map(|(n, v)| Header { name: n.to_string(), value: v.to_string() }).collect();
        is_auto_submitted(&headers)
    }

    #[test]
    fn auto_submitted_markers_are_recognised() {
        // RFC 3834: anything but `no` (case and parameters aside).
        assert!(flagged(&[("Auto-Submitted", "auto-replied")]));
        assert!(flagged(&[("auto-submitted", "Auto-Generated; owner-email=x@y.test")]));
        assert!(!flagged(&[("Auto-Submitted", "no")]));
        assert!(!flagged(&[("Auto-Submitted", " No ")]));
        assert!(!flagged(&[("Auto-Submitted", "")]));
        // Precedence: bulk, junk and list only.
        for p in ["bulk", "junk", "list", "Bulk"] {
            assert!(flagged(&[("Precedence", p)]), "{p}");
        }
        assert!(!flagged(&[("Precedence", "first-class")]));
        assert!(!flagged(&[("Precedence", "")]));
        // A List-Id, whatever its value.
        assert!(flagged(&[("List-Id", "<team.lists.example.test>")]));
        // The usual auto-reply markers.
        assert!(flagged(&[("X-Autoreply", "yes")]));
        assert!(flagged(&[("X-Autorespond", "Out of office")]));
        assert!(!flagged(&[("X-Autoreply", "no")]));
        // An ordinary message.
        assert!(!flagged(&[("From", "pat@remote.test"), ("Subject", "Auto-Submitted: yes"), ("Precedence", "normal")]));
        assert!(!flagged(&[]));
        // One marker among ordinary headers is enough.
        assert!(flagged(&[("From", "robot@remote.test"), ("Auto-Submitted", "no"), ("Precedence", "junk")]));
    }

    #[test]
    fn snippets_fold_whitespace_and_cut_on_char_boundaries() {
        assert_eq!(make_snippet("a\n\n b  c", 10), "a b c");
        assert_eq!(make_snippet("ééééé", 3), "ééé…");
    }
}

/// Tells whether headers mark a message as machine-sent: `Auto-Submitted` other than `no`
/// (RFC 3834), `Precedence: bulk | junk | list`, a `List-Id`, or a common auto-reply marker
/// (`X-Autoreply`, `X-Autorespond`, `X-Auto-Response-Suppress: All|OOF|AutoReply`).
pub fn is_auto_submitted(headers: &[Header]) -> bool {
    // Called for every message read, so the common case (no such header) allocates nothing:
    // names are compared without case, and a value is lower-cased only for a header that counts.
    const NAMES: [&str; 7] =
        ["auto-submitted", "precedence", "list-id", "x-autoreply", "x-autorespond", "x-autoresponder", "x-auto-response-suppress"];
    headers.iter().any(|h| {
        let Some(name) = NAMES.iter().find(|n| h.name.eq_ignore_ascii_case(n)) else {
            return false;
        };
        let v = h.value.trim().to_ascii_lowercase();
        let v = v.split(';').next().unwrap_or_default().trim();
        match *name {
            "precedence" => matches!(v, "bulk" | "junk" | "list"),
            "list-id" => true,
            "x-auto-response-suppress" => v.split(',').any(|p| matches!(p.trim(), "all" | "oof" | "autoreply")),
            _ => !v.is_empty() && v != "no",
        }
    })
}

/// Which way an allow/block list entry applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ListDirection {
    /// Mail this site sends: the entry names recipients.
    Send,
    /// Mail this site receives: the entry names senders.
    Receive,
}

/// Whether a list entry allows or blocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ListKind {
    /// Only allowed addresses pass once a scope has any allow entry.
    Allow,
    /// Blocked addresses never pass.
    Block,
}

impl ListDirection {
    /// Returns `send` or `receive`.
    pub fn as_str(self) -> &'static str {
        match self {
            ListDirection::Send => "send",
            ListDirection::Receive => "receive",
        }
    }
}

impl ListKind {
    /// Returns `allow` or `block`.
    pub fn as_str(self) -> &'static str {
        match self {
            ListKind::Allow => "allow",
            ListKind::Block => "block",
        }
    }
}

/// One entry of a site's (or one mailbox's) allow or block list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ListEntry {
    /// The entry's id.
    pub id: ListEntryId,
    /// The owning site.
    pub site_id: SiteId,
    /// `send` or `receive`.
    pub direction: ListDirection,
    /// `allow` or `block`.
    pub kind: ListKind,
    /// A lower-cased address (without `+tag`) or a domain.
    pub entry: String,
    /// The mailbox it applies to; `None`: every mailbox of the site.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mailbox_id: Option<MailboxId>,
    /// Why it was added.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// When it was added.
    pub created_at: DateTime<Utc>,
}

impl ListEntry {
    /// Normalises an entry: an address loses its `+tag` and is lower-cased; a domain (with or
    /// without a leading `@`) is lower-cased. `None` when it is neither.
    pub fn normalize(entry: &str) -> Option<String> {
        let e = entry.trim().trim_start_matches('@');
        if e.contains('@') {
            let a = crate::EmailAddress::parse(e).ok()?;
            return Some(a.policy_key());
        }
        let d = e.trim_end_matches('.').to_ascii_lowercase();
        let ok = !d.is_empty()
            && d.len() <= 253
            && d.contains('.')
            && d.split('.').all(|l| !l.is_empty() && l.len() <= 63 && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'));
        ok.then_some(d)
    }

    /// Tells whether the entry names `address` (a [`crate::EmailAddress::policy_key`]): the
    /// same address, or its domain.
    pub fn matches(&self, key: &str) -> bool {
        if self.entry.contains('@') {
            self.entry == key
        } else {
            key.rsplit_once('@').is_some_and(|(_, d)| d == self.entry)
        }
    }
}

/// A delivery-status report that was applied to a recipient of a message this server sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DsnRecord {
    /// The owning site.
    pub site_id: SiteId,
    /// The report as stored (an inbound message).
    pub report_message_id: MessageId,
    /// The outbound message it is about.
    pub original_message_id: MessageId,
    /// The recipient it is about (policy key).
    pub recipient: String,
    /// `applied` or `ignored: <reason>`.
    pub decision: String,
    /// When it was recorded.
    pub created_at: DateTime<Utc>,
}

impl Message {
    /// Returns the message with the fields derived from its stored ones filled in:
    /// `auto_submitted` from the headers, `dsn` from `auth_results.dsn`.
    pub fn derived(mut self) -> Self {
        self.auto_submitted = is_auto_submitted(&self.headers);
        self.dsn = self.auth_results.as_ref().and_then(|a| a.get("dsn")).and_then(|d| d.as_str()).map(str::to_string);
        self
    }
}
