//! What one attempt meant for one recipient, and the SMTP replies it is built from.

use smtp_proto::Response;

/// The result of one attempt for one recipient, before it is turned into a stored status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Accepted by the receiving server (or delivered locally).
    Delivered(String),
    /// A temporary failure: deferred on the retry schedule, or failed once the retry period
    /// is over.
    Temporary(String),
    /// A permanent refusal: bounced at once. `suppress` says whether the refusal is about the
    /// recipient's address (and the address goes on the site's suppression list) rather than
    /// about the sender, the content or this server.
    Permanent {
        /// The reply.
        reply: String,
        /// Whether to add a `hard_bounce` suppression.
        suppress: bool,
    },
    /// Cannot be delivered for a reason on this side (no sender, raw message gone): failed.
    Failed(String),
}

impl Outcome {
    /// Returns the reply or note to record.
    pub(crate) fn reply(&self) -> &str {
        match self {
            Outcome::Delivered(r) | Outcome::Temporary(r) | Outcome::Failed(r) => r,
            Outcome::Permanent { reply, .. } => reply,
        }
    }
}

/// Where in the SMTP dialogue a reply came.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stage {
    /// Greeting, EHLO, STARTTLS, AUTH, MAIL FROM: about the connection or the sender.
    Session,
    /// RCPT TO: about one recipient.
    Rcpt,
    /// DATA and the end of data: about the message.
    Data,
}

/// Formats a reply as it appeared on the wire, on one line: `550 5.1.1 No such user`.
pub(crate) fn format_reply(r: &Response<String>) -> String {
    let text = r.message.split(['\r', '\n']).map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join(" ");
    if r.esc[0] != 0 {
        format!("{} {}.{}.{} {}", r.code, r.esc[0], r.esc[1], r.esc[2], text).trim_end().to_string()
    } else {
        format!("{} {}", r.code, text).trim_end().to_string()
    }
}

/// Classifies a negative reply (anything but 2xx/3xx) received at `stage`.
pub(crate) fn classify(r: &Response<String>, stage: Stage) -> Outcome {
    let reply = format_reply(r);
    match r.code {
        // RFC 5321 §4.5.3.1.10: 552 to RCPT ("too many recipients") is to be treated as 452.
        552 if stage == Stage::Rcpt => Outcome::Temporary(reply),
        500..=599 => {
            // A refusal of the address itself, not a policy block of this server or sender
            // (5.7.x: relaying denied, blocklisted IP, authentication required).
            let suppress = stage == Stage::Rcpt && r.esc[..2] != [5, 7];
            Outcome::Permanent { reply, suppress }
        }
        _ => Outcome::Temporary(reply),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resp(code: u16, esc: [u8; 3], message: &str) -> Response<String> {
        Response { code, esc, message: message.to_string() }
    }

    #[test]
    fn replies_are_formatted_as_on_the_wire() {
        assert_eq!(format_reply(&resp(250, [2, 0, 0], "Ok: queued as X")), "250 2.0.0 Ok: queued as X");
        assert_eq!(format_reply(&resp(451, [0, 0, 0], "try later")), "451 try later");
        assert_eq!(format_reply(&resp(550, [5, 1, 1], "No such user\nhere")), "550 5.1.1 No such user here");
    }

    #[test]
    fn only_recipient_refusals_suppress() {
        assert_eq!(
            classify(&resp(550, [5, 1, 1], "no such user"), Stage::Rcpt),
            Outcome::Permanent { reply: "550 5.1.1 no such user".into(), suppress: true }
        );
        assert!(matches!(classify(&resp(550, [5, 7, 1], "relaying denied"), Stage::Rcpt), Outcome::Permanent { suppress: false, .. }));
        assert!(matches!(classify(&resp(554, [5, 7, 1], "spam"), Stage::Data), Outcome::Permanent { suppress: false, .. }));
        assert!(matches!(classify(&resp(550, [0, 0, 0], "sender refused"), Stage::Session), Outcome::Permanent { suppress: false, .. }));
    }

    #[test]
    fn temporary_replies_and_rcpt_552_defer() {
        assert!(matches!(classify(&resp(451, [4, 7, 1], "greylisted"), Stage::Rcpt), Outcome::Temporary(_)));
        assert!(matches!(classify(&resp(421, [4, 3, 2], "closing"), Stage::Session), Outcome::Temporary(_)));
        assert!(matches!(classify(&resp(552, [5, 5, 3], "too many recipients"), Stage::Rcpt), Outcome::Temporary(_)));
        assert!(matches!(classify(&resp(552, [5, 3, 4], "too big"), Stage::Data), Outcome::Permanent { .. }));
    }
}
