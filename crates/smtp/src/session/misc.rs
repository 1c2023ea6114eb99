//! RSET, NOOP, QUIT, VRFY, HELP, and the answers to unknown, unsupported or malformed commands.

use tokio::io::{AsyncRead, AsyncWrite};

use super::{Flow, Session};

impl<T: AsyncRead + AsyncWrite + Unpin + Send> Session<T> {
    /// Answers RSET: ends the transaction, keeps the greeting.
    pub(super) fn rset(&mut self) -> Flow {
        self.reset_transaction();
        self.reply("250 2.0.0 OK");
        Flow::Continue
    }

    /// Answers NOOP.
    pub(super) fn noop(&mut self) -> Flow {
        self.reply("250 2.0.0 OK");
        Flow::Continue
    }

    /// Answers QUIT and ends the session.
    pub(super) fn quit(&mut self) -> Flow {
        let reply = format!("221 2.0.0 {} Bye", self.shared.config.hostname);
        self.reply(&reply);
        Flow::Close
    }

    /// Answers VRFY without saying whether the mailbox exists (RFC 5321 section 3.5.3).
    pub(super) fn vrfy(&mut self) -> Flow {
        self.reply("252 2.0.0 Cannot VRFY user, but will accept message and attempt delivery");
        Flow::Continue
    }

    /// Answers HELP.
    pub(super) fn help(&mut self) -> Flow {
        self.reply("214 2.0.0 Mailroom SMTP: see RFC 5321");
        Flow::Continue
    }

    /// Answers a command we do not know.
    pub(super) fn unknown_command(&mut self) -> Flow {
        self.error("500 5.5.1 Command unrecognized")
    }

    /// Answers a command we know but do not offer (BDAT, AUTH, EXPN, ETRN, ATRN, BURL).
    pub(super) fn not_implemented(&mut self) -> Flow {
        self.error("502 5.5.1 Command not implemented")
    }

    /// Answers a command line smtp-proto could not parse.
    pub(super) fn parse_error(&mut self, err: smtp_proto::Error) -> Flow {
        use smtp_proto::Error;
        let reply = match err {
            Error::UnknownCommand => return self.unknown_command(),
            Error::InvalidSenderAddress => "501 5.1.7 Bad sender address syntax".to_owned(),
            Error::InvalidRecipientAddress => "501 5.1.3 Bad recipient address syntax".to_owned(),
            Error::SyntaxError { syntax } => format!("501 5.5.2 Syntax: {syntax}"),
            Error::InvalidParameter { param } => format!("501 5.5.4 Invalid {param} parameter"),
            Error::UnsupportedParameter { param } => {
                let param: String = param
                    .chars()
                    .filter(|c| c.is_ascii_graphic())
                    .take(64)
                    .collect();
                format!("555 5.5.4 Unsupported parameter {param}")
            }
            Error::NeedsMoreData { .. }
            | Error::ResponseTooLong
            | Error::InvalidResponse { .. } => "501 5.5.2 Syntax error".to_owned(),
        };
        self.error(&reply)
    }
}
