//! MAIL FROM: starts a transaction.

use smtp_proto::{MAIL_BODY_7BIT, MAIL_BODY_8BITMIME, MAIL_SMTPUTF8, MailFrom};
use tokio::io::{AsyncRead, AsyncWrite};

use super::{Flow, Session};

impl<T: AsyncRead + AsyncWrite + Unpin + Send> Session<T> {
    /// Answers `MAIL FROM:<reverse-path> [SIZE=n] [BODY=7BIT|8BITMIME] [SMTPUTF8]`.
    pub(super) fn mail(&mut self, from: MailFrom<String>) -> Flow {
        if !self.greeted {
            return self.error("503 5.5.1 Send EHLO or HELO first");
        }
        if self.in_transaction {
            return self.error("503 5.5.1 Nested MAIL command");
        }
        // Only the parameters of extensions we advertise, and only after EHLO.
        let known_flags = MAIL_BODY_7BIT | MAIL_BODY_8BITMIME | MAIL_SMTPUTF8;
        let unsupported = from.flags & !known_flags != 0
            || from.trans_id.is_some()
            || from.by != 0
            || from.env_id.is_some()
            || from.solicit.is_some()
            || from.mtrk.is_some()
            || from.auth.is_some()
            || from.hold_for != 0
            || from.hold_until != 0
            || from.mt_priority != 0;
        if unsupported || (!self.esmtp && (from.flags != 0 || from.size != 0)) {
            return self.error("555 5.5.4 Unsupported MAIL parameter");
        }
        if from.size > self.shared.config.max_message_size {
            self.reply("552 5.3.4 Message size exceeds fixed maximum message size");
            return Flow::Continue;
        }
        if from.address.chars().any(char::is_control) {
            return self.error("501 5.1.7 Bad sender address syntax");
        }
        let smtputf8 = from.flags & MAIL_SMTPUTF8 != 0;
        if !smtputf8 && !from.address.is_ascii() {
            return self.error("553 5.6.7 Non-ASCII address requires SMTPUTF8");
        }
        self.envelope.mail_from = from.address;
        self.envelope.body_8bit = from.flags & MAIL_BODY_8BITMIME != 0;
        self.envelope.smtputf8 = smtputf8;
        self.declared_size = from.size;
        self.in_transaction = true;
        self.reply("250 2.1.0 Sender OK");
        Flow::Continue
    }
}
