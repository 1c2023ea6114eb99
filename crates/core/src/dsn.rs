//! Delivery status notifications (RFC 3464): recognising a bounce report and reading which
//! recipients of which original message failed.

use crate::address::EmailAddress;
use mail_parser::{MessageParser, MimeHeaders, PartType};

/// One recipient block of a delivery status report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DsnRecipient {
    /// The `Final-Recipient` (or `Original-Recipient`) address.
    pub address: EmailAddress,
    /// `failed`, `delayed`, `delivered`, `relayed` or `expanded`.
    pub action: String,
    /// The status code, such as `5.1.1`.
    pub status: String,
    /// The `Diagnostic-Code` text, such as `smtp; 550 5.1.1 user unknown`.
    pub diagnostic: Option<String>,
}

impl DsnRecipient {
    /// Tells whether this is a permanent failure (a hard bounce).
    pub fn is_hard_bounce(&self) -> bool {
        self.action.eq_ignore_ascii_case("failed") && self.status.starts_with('5')
    }
}

/// A parsed delivery status notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dsn {
    /// The `Message-ID` of the message the report is about, when the report includes its
    /// headers.
    pub original_message_id: Option<String>,
    /// The per-recipient results.
    pub recipients: Vec<DsnRecipient>,
}

/// Returns the report if `raw` is a `multipart/report; report-type=delivery-status` message.
///
/// Every received message is asked, so the top-level header is read first and only a report
/// is parsed whole: a whole parse decodes every part, which for a large attachment means a
/// second buffer of its size.
pub fn parse(raw: &[u8]) -> Option<Dsn> {
    if !is_report(&MessageParser::default().parse_headers(raw)?) {
        return None;
    }
    let msg = MessageParser::default().parse(raw)?;
    if !is_report(&msg) {
        return None;
    }
    let mut recipients = Vec::new();
    let mut original_message_id = None;
    for part in msg.parts.iter() {
        let Some(pct) = part.content_type() else { continue };
        let kind = format!("{}/{}", pct.ctype(), pct.subtype().unwrap_or_default()).to_ascii_lowercase();
        match kind.as_str() {
            "message/delivery-status" | "message/global-delivery-status" => {
                let text = String::from_utf8_lossy(part_bytes(part, raw));
                recipients.extend(status_blocks(&text));
            }
            "text/rfc822-headers" | "message/rfc822" | "message/global" | "message/global-headers"
                if original_message_id.is_none() => {
                    let bytes = part_bytes(part, raw);
                    original_message_id = MessageParser::default().parse_headers(bytes).and_then(|h| h.message_id().map(str::to_string));
                }
            _ => {}
        }
    }
    (!recipients.is_empty()).then_some(Dsn { original_message_id, recipients })
}

/// Whether the message's own `Content-Type` is `multipart/report; report-type=delivery-status`.
fn is_report(msg: &mail_parser::Message<'_>) -> bool {
    msg.content_type().is_some_and(|ct| {
        ct.ctype().eq_ignore_ascii_case("multipart")
            && ct.subtype().is_some_and(|s| s.eq_ignore_ascii_case("report"))
            && ct.attribute("report-type").is_some_and(|r| r.eq_ignore_ascii_case("delivery-status"))
    })
}

fn part_bytes<'a>(part: &'a mail_parser::MessagePart<'a>, raw: &'a [u8]) -> &'a [u8] {
    match &part.body {
        PartType::Message(m) => m.raw_message(),
        _ => {
            let body = part.contents();
            if body.is_empty() { raw.get(part.offset_body as usize..part.offset_end as usize).unwrap_or_default() } else { body }
        }
    }
}

/// Reads the per-recipient field blocks (separated by blank lines) of a delivery-status body.
fn status_blocks(text: &str) -> Vec<DsnRecipient> {
    let unfolded = text.replace("\r\n", "\n").replace("\n ", " ").replace("\n\t", " ");
    unfolded
        .split("\n\n")
        .filter_map(|block| {
            let field = |name: &str| {
                block.lines().find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.trim().eq_ignore_ascii_case(name).then(|| v.trim().to_string())
                })
            };
            let recipient = field("Final-Recipient").or_else(|| field("Original-Recipient"))?;
            let address = recipient.split_once(';').map(|(_, a)| a).unwrap_or(&recipient).trim().trim_matches(['<', '>']);
            Some(DsnRecipient {
                address: EmailAddress::parse(address).ok()?,
                action: field("Action").unwrap_or_default().to_ascii_lowercase(),
                status: field("Status").unwrap_or_default(),
                diagnostic: field("Diagnostic-Code"),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const POSTFIX_BOUNCE: &str = "From: MAILER-DAEMON@mx.b.test (Mail Delivery System)\r\n\
Subject: Undelivered Mail Returned to Sender\r\n\
To: alice@a.test\r\n\
MIME-Version: 1.0\r\n\
Content-Type: multipart/report; report-type=delivery-status;\r\n\tboundary=\"B1\"\r\n\
Message-Id: <20261121.bounce@mx.b.test>\r\n\
\r\n\
--B1\r\n\
Content-Description: Notification\r\n\
Content-Type: text/plain; charset=us-ascii\r\n\
\r\n\
I'm sorry to have to inform you that your message could not be delivered.\r\n\
\r\n\
--B1\r\n\
Content-Description: Delivery report\r\n\
Content-Type: message/delivery-status\r\n\
\r\n\
Reporting-MTA: dns; mx.b.test\r\n\
Arrival-Date: Sat, 21 Nov 2026 08:00:00 +0000\r\n\
\r\n\
Final-Recipient: rfc822; nobody@b.test\r\n\
Original-Recipient: rfc822;nobody@b.test\r\n\
Action: failed\r\n\
Status: 5.1.1\r\n\
Diagnostic-Code: smtp; 550 5.1.1 <nobody@b.test>: Recipient address\r\n\
\x20   rejected: User unknown\r\n\
\r\n\
Final-Recipient: rfc822; slow@b.test\r\n\
Action: delayed\r\n\
Status: 4.4.1\r\n\
\r\n\
--B1\r\n\
Content-Description: Undelivered Message Headers\r\n\
Content-Type: text/rfc822-headers\r\n\
\r\n\
From: alice@a.test\r\n\
To: nobody@b.test\r\n\
Subject: hello\r\n\
Message-ID: <orig-123@a.test>\r\n\
\r\n\
--B1--\r\n";

    #[test]
    fn reads_a_postfix_bounce() {
        let dsn = parse(POSTFIX_BOUNCE.as_bytes()).expect("a DSN");
        assert_eq!(dsn.original_message_id.as_deref(), Some("orig-123@a.test"));
        assert_eq!(dsn.recipients.len(), 2);
        let hard = &dsn.recipients[0];
        assert_eq!(hard.address.as_str(), "nobody@b.test");
        assert!(hard.is_hard_bounce());
        assert!(hard.diagnostic.as_deref().unwrap().contains("User unknown"));
        assert!(!dsn.recipients[1].is_hard_bounce());
    }

    #[test]
    fn ordinary_mail_is_not_a_dsn() {
        assert!(parse(b"From: a@x.test\r\nSubject: hi\r\n\r\nbody\r\n").is_none());
        assert!(parse(b"").is_none());
    }
}
