//! The boundary between the SMTP protocol and whatever stores mail.

use std::net::SocketAddr;

/// Describes the transaction in progress: who sent what, to whom, over which connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Envelope {
    /// The reverse-path from `MAIL FROM`; empty for the null sender `<>`.
    pub mail_from: String,
    /// Recipients accepted so far, in the order they were given, without duplicates.
    pub rcpt_to: Vec<String>,
    /// The name the client gave in EHLO or HELO.
    pub helo: String,
    /// The client's address.
    pub remote_addr: SocketAddr,
    /// Whether the session runs over TLS (after STARTTLS).
    pub tls: bool,
    /// Whether the client declared `BODY=8BITMIME`.
    pub body_8bit: bool,
    /// Whether the client declared `SMTPUTF8`.
    pub smtputf8: bool,
}

/// Says whether a recipient is accepted, and if not, why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RcptDecision {
    /// The recipient is accepted: `250 2.1.5`.
    Accept,
    /// The recipient's domain is ours but the mailbox does not exist: `550 5.1.1`.
    UnknownMailbox,
    /// The recipient's domain is not one we receive mail for: `550 5.7.1`.
    RelayDenied,
    /// The recipient cannot be checked right now; the client should retry: `451 4.3.0`.
    TemporaryFailure(String),
    /// The sender may not mail this recipient (a receive block or allow list): `550 5.7.1`
    /// with this text.
    Refused(String),
    /// A whole SMTP reply chosen by the handler, such as `452 4.2.2 Mailbox full` or
    /// `451 4.7.1 …`; 4xx replies leave the session's error count alone.
    Reply(String),
}

/// Says what became of a message handed to [`InboundHandler::deliver`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeliveryOutcome {
    /// The message is stored durably: `250 2.0.0 Ok: queued as <queue_id>`.
    Accepted {
        /// Identifier shown to the client, for its logs.
        queue_id: String,
    },
    /// The message could not be stored right now; the client should retry: `451 4.3.0`.
    TemporaryFailure(String),
    /// The message is refused for good: `554 5.6.0`.
    Rejected(String),
    /// A whole SMTP reply chosen by the handler, such as `452 4.2.2 Mailbox full` or
    /// `552 5.2.2 …`.
    Reply(String),
}

/// Decides on recipients and takes delivery of messages for the SMTP server.
#[async_trait::async_trait]
pub trait InboundHandler: Send + Sync + 'static {
    /// Decides whether `rcpt` may receive mail in the transaction described by `envelope`,
    /// whose `rcpt_to` holds the recipients accepted so far.
    async fn check_recipient(&self, envelope: &Envelope, rcpt: &str) -> RcptDecision;

    /// Takes delivery of one message, called once per DATA with the exact, dot-unstuffed
    /// message bytes. The server answers 250 only after this returns `Accepted` — so the
    /// handler makes the message durable before returning.
    async fn deliver(&self, envelope: &Envelope, message: Vec<u8>) -> DeliveryOutcome;
}
