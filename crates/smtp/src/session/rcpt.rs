//! RCPT TO: adds a recipient, as the handler decides.

use smtp_proto::RcptTo;
use tokio::io::{AsyncRead, AsyncWrite};

use super::{Flow, Session, reply_text};
use crate::RcptDecision;

impl<T: AsyncRead + AsyncWrite + Unpin + Send> Session<T> {
    /// Answers `RCPT TO:<forward-path>`.
    pub(super) async fn rcpt(&mut self, to: RcptTo<String>) -> Flow {
        if !self.in_transaction {
            return self.error("503 5.5.1 Need MAIL command first");
        }
        if to.orcpt.is_some() || to.flags != 0 || to.rrvs != 0 {
            return self.error("555 5.5.4 Unsupported RCPT parameter");
        }
        let rcpt = to.address;
        if rcpt.is_empty() || rcpt.chars().any(char::is_control) {
            return self.error("501 5.1.3 Bad recipient address syntax");
        }
        if !self.envelope.smtputf8 && !rcpt.is_ascii() {
            return self.error("553 5.6.7 Non-ASCII address requires SMTPUTF8");
        }
        if self
            .envelope
            .rcpt_to
            .iter()
            .any(|r| r.eq_ignore_ascii_case(&rcpt))
        {
            self.reply("250 2.1.5 Recipient OK");
            return Flow::Continue;
        }
        if self.envelope.rcpt_to.len() >= self.shared.config.max_recipients {
            self.reply("452 4.5.3 Too many recipients");
            return Flow::Continue;
        }
        let handler = self.shared.handler.clone();
        match handler.check_recipient(&self.envelope, &rcpt).await {
            RcptDecision::Accept => {
                self.envelope.rcpt_to.push(rcpt);
                self.reply("250 2.1.5 Recipient OK");
                Flow::Continue
            }
            RcptDecision::UnknownMailbox => self.error("550 5.1.1 Mailbox does not exist"),
            RcptDecision::RelayDenied => self.error("550 5.7.1 Relay access denied"),
            RcptDecision::Refused(reason) => {
                let text = reply_text(&reason, "Sender refused by the recipient's policy");
                self.error(&format!("550 5.7.1 {text}"))
            }
            RcptDecision::Reply(line) => {
                let line = handler_reply(&line);
                if line.starts_with('5') {
                    self.error(&line)
                } else {
                    self.reply(&line);
                    Flow::Continue
                }
            }
            RcptDecision::TemporaryFailure(reason) => {
                let text = reply_text(&reason, "Recipient cannot be verified now, try again later");
                self.reply(&format!("451 4.3.0 {text}"));
                Flow::Continue
            }
        }
    }
}

/// Cleans a whole reply line chosen by the handler: it must start with a 4xx or 5xx code
/// (anything else becomes `451 4.3.0`), and carries printable ASCII only.
pub(super) fn handler_reply(line: &str) -> String {
    let cleaned = reply_text(line, "451 4.3.0 Try again later");
    let b = cleaned.as_bytes();
    let coded = b.len() > 4 && (b[0] == b'4' || b[0] == b'5') && b[1].is_ascii_digit() && b[2].is_ascii_digit() && b[3] == b' ';
    if coded { cleaned } else { format!("451 4.3.0 {cleaned}") }
}
