//! Building outbound MIME with mail-builder and parsing any message with mail-parser.
//!
//! Both directions go through here so that an outbound message and an inbound one are turned
//! into stored fields by the same code: what the API shows for a sent message is what its
//! recipient's parser will see.

pub use crate::bounds::{LimitExceeded, MimeLimits, check_limits};
use crate::address::{EmailAddress, NamedAddress};
use crate::model::{Header, make_snippet};
use chrono::{DateTime, Utc};
use mail_builder::MessageBuilder;
use mail_builder::headers::address::Address as BAddress;
use mail_builder::headers::message_id::MessageId as BMessageId;
use mail_builder::headers::text::Text;
use mail_parser::{HeaderValue, MessageParser, MimeHeaders, PartType};

/// Explains why a message could not be built or parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MimeError {
    /// A custom header name is not a valid field name.
    #[error("`{0}` is not a valid header name: use printable ASCII without `:` or spaces")]
    InvalidHeaderName(String),
    /// A custom header value contains CR, LF or another control character.
    #[error("the value of header `{0}` contains a line break or control character")]
    InvalidHeaderValue(String),
    /// A custom header would override one Mailroom sets itself.
    #[error("header `{0}` is set by Mailroom and cannot be given; use the matching field instead")]
    ReservedHeader(String),
    /// The bytes are not a message mail-parser can read.
    #[error("the message could not be parsed")]
    Unparseable,
    /// Writing the message failed.
    #[error("the message could not be built: {0}")]
    Build(String),
}

/// Headers a caller may not set through `headers{}`: Mailroom derives them from the request.
pub const RESERVED_HEADERS: &[&str] = &[
    "from", "to", "cc", "bcc", "reply-to", "subject", "date", "message-id", "in-reply-to", "references",
    "mime-version", "content-type", "content-transfer-encoding", "content-disposition", "sender", "return-path",
    "received", "dkim-signature", "authentication-results", "arc-seal", "arc-message-signature",
    "arc-authentication-results", "received-spf",
];

/// Checks one custom header given through the API.
pub fn validate_custom_header(name: &str, value: &str) -> Result<(), MimeError> {
    if name.is_empty() || name.len() > 76 || !name.bytes().all(|b| (33..=126).contains(&b) && b != b':') {
        return Err(MimeError::InvalidHeaderName(name.to_string()));
    }
    let lower = name.to_ascii_lowercase();
    // Trace and authentication headers are written by the servers a message passes; a
    // caller-supplied one would forge a verdict (`ARC-*` includes any future ARC header).
    if RESERVED_HEADERS.contains(&lower.as_str()) || lower.starts_with("arc-") {
        return Err(MimeError::ReservedHeader(name.to_string()));
    }
    if value.chars().any(|c| c.is_control() && c != '\t') {
        return Err(MimeError::InvalidHeaderValue(name.to_string()));
    }
    Ok(())
}

/// One attachment to put in an outbound message.
#[derive(Debug, Clone)]
pub struct OutgoingAttachment {
    /// The file name.
    pub filename: String,
    /// The MIME type.
    pub content_type: String,
    /// The bytes.
    pub content: Vec<u8>,
    /// A `Content-ID` for inline parts.
    pub content_id: Option<String>,
}

/// Everything needed to write an outbound message.
#[derive(Debug, Clone)]
pub struct OutgoingMessage {
    /// The sender.
    pub from: NamedAddress,
    /// `To`.
    pub to: Vec<NamedAddress>,
    /// `Cc`.
    pub cc: Vec<NamedAddress>,
    /// `Reply-To`.
    pub reply_to: Vec<NamedAddress>,
    /// The subject.
    pub subject: String,
    /// The plain-text body.
    pub text: Option<String>,
    /// The HTML body.
    pub html: Option<String>,
    /// Attachments.
    pub attachments: Vec<OutgoingAttachment>,
    /// Extra headers, already checked with [`validate_custom_header`].
    pub headers: Vec<(String, String)>,
    /// The `Message-ID`, without angle brackets.
    pub message_id: String,
    /// The `In-Reply-To`, without angle brackets.
    pub in_reply_to: Option<String>,
    /// The `References`, oldest first, without angle brackets.
    pub references: Vec<String>,
    /// The `Date`.
    pub date: DateTime<Utc>,
}

fn builder_address(list: &[NamedAddress]) -> BAddress<'static> {
    let items: Vec<BAddress<'static>> = list
        .iter()
        .map(|a| BAddress::new_address(a.name.clone(), a.address.as_str().to_string()))
        .collect();
    if items.len() == 1 { items.into_iter().next().expect("one item") } else { BAddress::new_list(items) }
}

/// Writes an outbound message as RFC 5322 bytes (CRLF line endings, encoded UTF-8 headers,
/// multipart/alternative when both bodies are given, attachments as parts).
pub fn build(msg: &OutgoingMessage) -> Result<Vec<u8>, MimeError> {
    let mut b = MessageBuilder::new()
        .from(builder_address(std::slice::from_ref(&msg.from)))
        .subject(Text::new(msg.subject.clone()))
        .message_id(msg.message_id.clone())
        .date(msg.date.timestamp());
    if !msg.to.is_empty() {
        b = b.to(builder_address(&msg.to));
    }
    if !msg.cc.is_empty() {
        b = b.cc(builder_address(&msg.cc));
    }
    if !msg.reply_to.is_empty() {
        b = b.reply_to(builder_address(&msg.reply_to));
    }
    if let Some(irt) = &msg.in_reply_to {
        b = b.in_reply_to(irt.clone());
    }
    if !msg.references.is_empty() {
        b = b.references(BMessageId::new_list(msg.references.iter().cloned()));
    }
    for (name, value) in &msg.headers {
        b = b.header(name.clone(), Text::new(value.clone()));
    }
    match (&msg.text, &msg.html) {
        (Some(t), Some(h)) => b = b.text_body(t.clone()).html_body(h.clone()),
        (Some(t), None) => b = b.text_body(t.clone()),
        (None, Some(h)) => b = b.html_body(h.clone()),
        (None, None) => b = b.text_body(String::new()),
    }
    for a in &msg.attachments {
        b = match &a.content_id {
            Some(cid) => b.inline(a.content_type.clone(), cid.clone(), a.content.clone()),
            None => b.attachment(a.content_type.clone(), a.filename.clone(), a.content.clone()),
        };
    }
    b.write_to_vec().map_err(|e| MimeError::Build(e.to_string()))
}

/// One attachment found in a parsed message, with its content.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedAttachment {
    /// The file name, if any.
    pub filename: Option<String>,
    /// The MIME type.
    pub content_type: String,
    /// The `Content-ID`, without angle brackets.
    pub content_id: Option<String>,
    /// Whether the part is inline.
    pub inline: bool,
    /// The decoded content.
    pub content: Vec<u8>,
}

/// The fields Mailroom stores for any message.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ParsedMessage {
    /// `Message-ID`, without angle brackets.
    pub message_id: Option<String>,
    /// `In-Reply-To` (the first id), without angle brackets.
    pub in_reply_to: Option<String>,
    /// `References`, oldest first.
    pub references: Vec<String>,
    /// The sender.
    pub from: Option<NamedAddress>,
    /// `To`.
    pub to: Vec<NamedAddress>,
    /// `Cc`.
    pub cc: Vec<NamedAddress>,
    /// `Bcc` (rarely present in received mail).
    pub bcc: Vec<NamedAddress>,
    /// `Reply-To`.
    pub reply_to: Vec<NamedAddress>,
    /// The decoded subject.
    pub subject: Option<String>,
    /// The plain-text body (converted from HTML when there is no text part).
    pub text: Option<String>,
    /// The HTML body, when the message has one.
    pub html: Option<String>,
    /// A short excerpt of the text.
    pub snippet: String,
    /// Every header, decoded where it is plain text, unfolded otherwise.
    pub headers: Vec<Header>,
    /// The attachments with their content.
    pub attachments: Vec<ParsedAttachment>,
    /// The `Date` header.
    pub date: Option<DateTime<Utc>>,
}

fn addresses(value: Option<&mail_parser::Address<'_>>) -> Vec<NamedAddress> {
    let Some(value) = value else { return Vec::new() };
    value
        .iter()
        .filter_map(|a| {
            let address = EmailAddress::parse(a.address.as_deref()?).ok()?;
            let name = a.name.as_deref().map(str::trim).filter(|n| !n.is_empty()).map(str::to_string);
            Some(NamedAddress { name, address })
        })
        .collect()
}

fn id_list(value: &HeaderValue<'_>) -> Vec<String> {
    match value {
        HeaderValue::Text(t) => vec![t.to_string()],
        HeaderValue::TextList(l) => l.iter().map(|t| t.to_string()).collect(),
        _ => Vec::new(),
    }
}

fn unfold(raw: &[u8]) -> String {
    String::from_utf8_lossy(raw).split(['\r', '\n']).map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join(" ")
}

/// Moves a part's contents out of the parsed message (what `MessagePart::contents` would
/// borrow), leaving the part empty; a copy is made only when the contents still borrow from
/// the raw message.
fn take_contents(part: &mut mail_parser::MessagePart<'_>) -> Vec<u8> {
    match std::mem::replace(&mut part.body, PartType::Multipart(Vec::new())) {
        PartType::Text(text) | PartType::Html(text) => text.into_owned().into_bytes(),
        PartType::Binary(bin) | PartType::InlineBinary(bin) => bin.into_owned(),
        PartType::Message(message) => message.raw_message().to_vec(),
        PartType::Multipart(_) => Vec::new(),
    }
}

/// Parses raw RFC 5322 bytes into the stored fields.
pub fn parse(raw: &[u8]) -> Result<ParsedMessage, MimeError> {
    let mut msg = MessageParser::default().parse(raw).ok_or(MimeError::Unparseable)?;
    let headers = msg
        .headers()
        .iter()
        .map(|h| {
            let value = match &h.value {
                HeaderValue::Text(t) => t.to_string(),
                _ => unfold(raw.get(h.offset_start as usize..h.offset_end as usize).unwrap_or_default()),
            };
            Header { name: h.name.as_str().to_string(), value }
        })
        .collect();
    let html_part = msg.html_body.first().and_then(|i| msg.parts.get(*i as usize)).is_some_and(|p| p.is_text_html());
    let text = msg.body_text(0).map(|t| t.into_owned());
    let html = if html_part { msg.body_html(0).map(|h| h.into_owned()) } else { None };
    // The attachments' bodies are moved out of the parsed message, not copied: a decoded
    // attachment is already an owned buffer, and a second copy of a large one would double the
    // peak memory of receiving it.
    let attachment_parts: Vec<usize> = msg.attachments.iter().map(|id| *id as usize).collect();
    let mut attachments = Vec::with_capacity(attachment_parts.len());
    for index in attachment_parts {
        let Some(p) = msg.parts.get_mut(index) else { continue };
        let content_type = p
            .content_type()
            .map(|ct| match ct.subtype() {
                Some(sub) => format!("{}/{}", ct.ctype(), sub),
                None => ct.ctype().to_string(),
            })
            .unwrap_or_else(|| "application/octet-stream".to_string())
            .to_ascii_lowercase();
        attachments.push(ParsedAttachment {
            filename: p.attachment_name().map(str::to_string),
            content_type,
            content_id: p.content_id().map(|c| c.trim_matches(['<', '>']).to_string()),
            inline: p.content_disposition().is_some_and(|d| d.is_inline()),
            content: take_contents(p),
        });
    }
    let snippet = make_snippet(text.as_deref().unwrap_or_default(), 200);
    Ok(ParsedMessage {
        message_id: msg.message_id().map(str::to_string),
        in_reply_to: id_list(msg.in_reply_to()).into_iter().next(),
        references: id_list(msg.references()),
        from: addresses(msg.from()).into_iter().next(),
        to: addresses(msg.to()),
        cc: addresses(msg.cc()),
        bcc: addresses(msg.bcc()),
        reply_to: addresses(msg.reply_to()),
        subject: msg.subject().map(str::to_string),
        text,
        html,
        snippet,
        headers,
        attachments,
        date: msg.date().and_then(|d| DateTime::from_timestamp(d.to_timestamp(), 0)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(s: &str) -> NamedAddress {
        NamedAddress::parse(s).unwrap()
    }

    #[test]
    fn built_messages_parse_back_to_the_same_fields() {
        let out = OutgoingMessage {
            from: addr("Zoë Agent <zoe@a.test>"),
            to: vec![addr("bob@b.test"), addr("Carol <carol@b.test>")],
            cc: vec![addr("dan@c.test")],
            reply_to: vec![],
            subject: "Héllo — ünïcode".into(),
            text: Some("Plain body".into()),
            html: Some("<p>HTML body</p>".into()),
            attachments: vec![OutgoingAttachment {
                filename: "report.pdf".into(),
                content_type: "application/pdf".into(),
                content: b"%PDF-1.4 fake".to_vec(),
                content_id: None,
            }],
            headers: vec![("X-Agent".into(), "42".into())],
            message_id: "m1@a.test".into(),
            in_reply_to: Some("m0@b.test".into()),
            references: vec!["root@b.test".into(), "m0@b.test".into()],
            date: Utc::now(),
        };
        let raw = build(&out).unwrap();
        let text = String::from_utf8_lossy(&raw);
        assert!(text.contains("multipart/alternative"), "{text}");
        assert!(!text.contains("Bcc"));
        let p = parse(&raw).unwrap();
        assert_eq!(p.message_id.as_deref(), Some("m1@a.test"));
        assert_eq!(p.in_reply_to.as_deref(), Some("m0@b.test"));
        assert_eq!(p.references, vec!["root@b.test", "m0@b.test"]);
        assert_eq!(p.from, Some(addr("Zoë Agent <zoe@a.test>")));
        assert_eq!(p.to, vec![addr("bob@b.test"), addr("Carol <carol@b.test>")]);
        assert_eq!(p.cc, vec![addr("dan@c.test")]);
        assert_eq!(p.subject.as_deref(), Some("Héllo — ünïcode"));
        assert_eq!(p.text.as_deref(), Some("Plain body"));
        assert_eq!(p.html.as_deref(), Some("<p>HTML body</p>"));
        assert_eq!(p.attachments.len(), 1);
        assert_eq!(p.attachments[0].filename.as_deref(), Some("report.pdf"));
        assert_eq!(p.attachments[0].content_type, "application/pdf");
        assert_eq!(p.attachments[0].content, b"%PDF-1.4 fake");
        assert!(p.headers.iter().any(|h| h.name == "X-Agent" && h.value == "42"));
    }

    #[test]
    fn custom_headers_are_checked() {
        assert!(validate_custom_header("X-Ok", "fine").is_ok());
        assert_eq!(validate_custom_header("Bcc", "x"), Err(MimeError::ReservedHeader("Bcc".into())));
        assert!(matches!(validate_custom_header("X-Bad", "a\r\nBcc: evil@x"), Err(MimeError::InvalidHeaderValue(_))));
        assert!(matches!(validate_custom_header("X Bad", "a"), Err(MimeError::InvalidHeaderName(_))));
    }

    #[test]
    fn parse_reads_plain_messages_without_html() {
        let raw = b"From: a@x.test\r\nTo: b@y.test\r\nSubject: hi\r\nMessage-ID: <q@x.test>\r\n\r\nhello there\r\n";
        let p = parse(raw).unwrap();
        assert_eq!(p.text.as_deref().map(str::trim), Some("hello there"));
        assert_eq!(p.html, None);
        assert_eq!(p.snippet, "hello there");
    }
}
