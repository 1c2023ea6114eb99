//! EHLO and HELO: the greeting, which also ends any transaction in progress.

use tokio::io::{AsyncRead, AsyncWrite};

use super::{Flow, Session};

impl<T: AsyncRead + AsyncWrite + Unpin + Send> Session<T> {
    /// Answers EHLO (`extended`) or HELO from the client calling itself `host`.
    pub(super) fn ehlo(&mut self, host: String, extended: bool) -> Flow {
        if host.chars().any(char::is_control) {
            return self.error("501 5.5.2 Invalid domain name");
        }
        self.reset_transaction();
        self.envelope.helo = host;
        self.greeted = true;
        self.esmtp = extended;
        if extended {
            let reply = if self.envelope.tls {
                &self.shared.ehlo_tls
            } else {
                &self.shared.ehlo_plain
            };
            self.out.extend_from_slice(reply.as_bytes());
        } else {
            let reply = format!("250 {}", self.shared.config.hostname);
            self.reply(&reply);
        }
        Flow::Continue
    }
}
