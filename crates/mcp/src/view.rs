//! Messages as a model reads them: addresses as `Name <a@b>` strings, the text body, the
//! content of text-like attachments, and none of the storage details (raw headers, sizes of
//! parts, blob keys).

use chrono::{DateTime, Utc};
use mailroom_client::Client;
use mailroom_core::model::{Attachment, DeliveryStatus, Direction, Message};
use mailroom_core::{AttachmentId, MailboxId, MessageId, NamedAddress, ThreadId};
use serde::Serialize;

/// The most text shown of one attachment, in bytes.
pub(crate) const ATTACHMENT_TEXT_MAX: usize = 64 * 1024;
/// The most attachment text shown for one message, in bytes.
pub(crate) const ATTACHMENT_TEXT_TOTAL: usize = 256 * 1024;
/// Attachments larger than this are not downloaded to be shown.
const ATTACHMENT_FETCH_MAX: u64 = 4 * 1024 * 1024;

/// A message in full.
#[derive(Debug, Serialize)]
pub(crate) struct MessageView {
    pub(crate) id: MessageId,
    pub(crate) mailbox_id: MailboxId,
    pub(crate) thread_id: ThreadId,
    pub(crate) direction: Direction,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) from: Option<String>,
    pub(crate) to: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) cc: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) bcc: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) reply_to: Vec<String>,
    pub(crate) subject: String,
    /// The plain-text body.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) text: Option<String>,
    /// The HTML body: when asked for, or when there is no text body.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) html: Option<String>,
    pub(crate) created_at: DateTime<Utc>,
    pub(crate) read: bool,
    pub(crate) labels: Vec<String>,
    /// Sent by a machine (an auto-reply, list or bulk mail): shown only when true; a reply
    /// is refused with `auto_reply_loop` unless it says `allow_auto_reply`.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub(crate) auto_submitted: bool,
    pub(crate) attachments: Vec<AttachmentView>,
    /// Delivery state per recipient (outbound messages).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) recipients: Vec<RecipientView>,
    /// The `Message-ID` header.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) message_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) in_reply_to: Option<String>,
    /// SPF, DKIM and DMARC verdicts (messages received over SMTP).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) auth_results: Option<serde_json::Value>,
    /// The untrusted-content flags of an inbound message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) security: Option<mailroom_core::reading::Security>,
    /// How to read external content (inbound messages).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) note: Option<&'static str>,
    /// The external sender, for the attachment-text blocks.
    #[serde(skip)]
    pub(crate) source: Option<String>,
}

/// One attachment, with its text when it is text-like and small enough.
#[derive(Debug, Serialize)]
pub(crate) struct AttachmentView {
    pub(crate) id: AttachmentId,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) filename: Option<String>,
    pub(crate) content_type: String,
    pub(crate) size: u64,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub(crate) inline: bool,
    /// A signed, time-limited URL that downloads the content without an API key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) download_url: Option<String>,
    /// The content, for text, CSV, JSON, XML and similar types.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) text: Option<String>,
    /// `true` when `text` is only the start of the content.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub(crate) truncated: bool,
    /// Why a text-like attachment's content is not shown.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) note: Option<String>,
    /// Where the worker's text extraction stands (`pending`, `done`, `unsupported`, `failed`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) text_status: Option<mailroom_core::reading::TextStatus>,
}

/// One recipient's delivery state.
#[derive(Debug, Serialize)]
pub(crate) struct RecipientView {
    pub(crate) address: String,
    pub(crate) status: DeliveryStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) last_reply: Option<String>,
}

/// A message in a list: enough to choose which one to read.
#[derive(Debug, Serialize)]
pub(crate) struct MessageSummary {
    pub(crate) id: MessageId,
    pub(crate) thread_id: ThreadId,
    pub(crate) direction: Direction,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) from: Option<String>,
    pub(crate) to: Vec<String>,
    pub(crate) subject: String,
    pub(crate) snippet: String,
    pub(crate) created_at: DateTime<Utc>,
    pub(crate) read: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) labels: Vec<String>,
    #[serde(skip_serializing_if = "is_zero")]
    pub(crate) attachments: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

fn addresses(list: &[NamedAddress]) -> Vec<String> {
    list.iter().map(ToString::to_string).collect()
}

impl MessageSummary {
    pub(crate) fn of(m: &Message) -> MessageSummary {
        MessageSummary {
            id: m.id,
            thread_id: m.thread_id,
            direction: m.direction,
            from: m.from.as_ref().map(ToString::to_string),
            to: addresses(&m.to),
            subject: m.subject.clone().unwrap_or_default(),
            snippet: m.snippet.clone(),
            created_at: m.created_at,
            read: m.read,
            labels: m.labels.clone(),
            attachments: m.attachments.len(),
        }
    }
}

impl MessageView {
    /// Returns the message with its attachments listed (without their content).
    pub(crate) fn of(m: Message, include_html: bool) -> MessageView {
        // Issue 18: the new text only, external content in marked blocks.
        let (text, html) = crate::untrusted::bodies(&m, include_html);
        let inbound = m.direction == Direction::Inbound;
        let source = crate::untrusted::source(&m);
        MessageView {
            id: m.id,
            mailbox_id: m.mailbox_id,
            thread_id: m.thread_id,
            direction: m.direction,
            from: m.from.as_ref().map(ToString::to_string),
            to: addresses(&m.to),
            cc: addresses(&m.cc),
            bcc: addresses(&m.bcc),
            reply_to: addresses(&m.reply_to),
            subject: m.subject.map(|s| if inbound { mailroom_core::reading::strip_invisible(&s) } else { s }).unwrap_or_default(),
            text,
            html,
            created_at: m.created_at,
            read: m.read,
            labels: m.labels,
            auto_submitted: m.auto_submitted,
            attachments: m.attachments.iter().map(AttachmentView::of).collect(),
            recipients: m
                .recipients
                .into_iter()
                .map(|r| RecipientView { address: r.address.to_string(), status: r.status, last_reply: r.last_reply })
                .collect(),
            message_id: m.message_id,
            in_reply_to: m.in_reply_to,
            auth_results: m.auth_results,
            security: m.security.map(mailroom_core::reading::Security::without_excerpts),
            note: inbound.then_some(crate::untrusted::NOTE),
            source: inbound.then_some(source),
        }
    }

    /// Downloads the text-like attachments and puts their text in the view, within
    /// [`ATTACHMENT_TEXT_MAX`] each and [`ATTACHMENT_TEXT_TOTAL`] in all.
    pub(crate) async fn load_attachment_text(&mut self, client: &Client) -> Result<(), mailroom_client::ClientError> {
        let mut budget = ATTACHMENT_TEXT_TOTAL;
        let wrap_source = self.source.clone();
        let wrap = |t: String| match &wrap_source {
            Some(src) => mailroom_core::reading::untrusted_block(src, &t),
            None => t,
        };
        for a in &mut self.attachments {
            // The worker's extracted text (PDF, DOCX, calendar, …) when it is there.
            if budget > 0
                && let Ok(t) = client.attachment_text(a.id).await
            {
                a.text_status = Some(t.text_status);
                if let Some(text) = t.text {
                    let (text, cut) = clip_text(text.as_bytes(), ATTACHMENT_TEXT_MAX.min(budget));
                    budget -= text.len().min(budget);
                    a.text = Some(wrap(text));
                    a.truncated = cut || t.truncated;
                    continue;
                }
            }
            if !is_text_like(&a.content_type, a.filename.as_deref()) {
                continue;
            }
            if a.size > ATTACHMENT_FETCH_MAX {
                a.note = Some(format!("not shown: larger than {} MB", ATTACHMENT_FETCH_MAX / (1024 * 1024)));
                continue;
            }
            if budget == 0 {
                a.note = Some(format!(
                    "not shown: the message's attachments already gave {} KB of text",
                    ATTACHMENT_TEXT_TOTAL / 1024
                ));
                continue;
            }
            let (_, _, bytes) = client.get_attachment(a.id).await?;
            let cap = ATTACHMENT_TEXT_MAX.min(budget);
            let (text, truncated) = clip_text(&bytes, cap);
            budget -= text.len().min(budget);
            a.text = Some(wrap(text));
            a.truncated = truncated;
        }
        Ok(())
    }

    /// Returns one line describing the message.
    pub(crate) fn summary(&self) -> String {
        let from = self.from.as_deref().unwrap_or("(no sender)");
        let to = if self.to.is_empty() { "(no To)".to_string() } else { self.to.join(", ") };
        let attachments = match self.attachments.len() {
            0 => String::new(),
            1 => ", 1 attachment".to_string(),
            n => format!(", {n} attachments"),
        };
        format!(
            "{} message {} from {from} to {to}, subject \"{}\"{attachments}.",
            match self.direction {
                Direction::Inbound => "Inbound",
                Direction::Outbound => "Outbound",
            },
            self.id,
            self.subject
        )
    }
}

impl AttachmentView {
    fn of(a: &Attachment) -> AttachmentView {
        AttachmentView {
            id: a.id,
            filename: a.filename.clone(),
            content_type: a.content_type.clone(),
            size: a.size,
            download_url: a.download_url.clone(),
            inline: a.inline,
            text: None,
            truncated: false,
            note: None,
            text_status: None,
        }
    }
}

/// Tells whether an attachment is text a model can read: `text/*`, JSON, XML, CSV, YAML and
/// the like, or a generic type with a text file name (`notes.txt` sent as octet-stream).
pub(crate) fn is_text_like(content_type: &str, filename: Option<&str>) -> bool {
    let essence = content_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    let by_type = essence.starts_with("text/")
        || essence.ends_with("+json")
        || essence.ends_with("+xml")
        || matches!(
            essence.as_str(),
            "application/json"
                | "application/xml"
                | "application/csv"
                | "application/x-csv"
                | "application/yaml"
                | "application/x-yaml"
                | "application/x-ndjson"
                | "application/javascript"
                | "application/x-sh"
                | "application/sql"
                | "message/delivery-status"
        );
    if by_type {
        return true;
    }
    let generic = matches!(essence.as_str(), "application/octet-stream" | "");
    let ext = filename.and_then(|f| f.rsplit_once('.')).map(|(_, e)| e.to_ascii_lowercase());
    generic
        && ext.is_some_and(|e| {
            matches!(
                e.as_str(),
                "txt" | "text" | "csv" | "tsv" | "json" | "xml" | "md" | "log" | "yaml" | "yml" | "ics" | "vcf"
            )
        })
}

/// Decodes up to `max` bytes as UTF-8 (invalid sequences replaced), cut at a character
/// boundary; tells whether anything was left out.
fn clip_text(bytes: &[u8], max: usize) -> (String, bool) {
    let text = String::from_utf8_lossy(bytes);
    if text.len() <= max {
        return (text.into_owned(), false);
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    (text[..end].to_string(), true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_like_types() {
        for ct in ["text/plain", "text/csv; charset=utf-8", "application/json", "application/ld+json", "image/svg+xml"]
        {
            assert!(is_text_like(ct, None), "{ct}");
        }
        for ct in ["application/pdf", "image/png", "application/zip"] {
            assert!(!is_text_like(ct, Some("x.txt")), "{ct}");
        }
        assert!(is_text_like("application/octet-stream", Some("Report.CSV")));
        assert!(!is_text_like("application/octet-stream", Some("report.bin")));
        assert!(!is_text_like("application/octet-stream", None));
    }

    #[test]
    fn text_is_clipped_at_a_character_boundary() {
        assert_eq!(clip_text(b"hello", 10), ("hello".to_string(), false));
        assert_eq!(clip_text("héllo".as_bytes(), 2), ("h".to_string(), true));
        assert_eq!(clip_text(&[0x66, 0xff, 0x6f], 10), ("f\u{fffd}o".to_string(), false));
    }
}
