//! Mailroom's inbound SMTP server.
//!
//! This crate speaks the receiving side of SMTP (RFC 5321) with the ESMTP extensions a modern
//! sender expects — PIPELINING, SIZE, 8BITMIME, SMTPUTF8, ENHANCEDSTATUSCODES and STARTTLS —
//! and knows nothing about storage. The integrator plugs in an [`InboundHandler`] that decides
//! which recipients exist and makes accepted messages durable; the server answers `250` to the
//! end of DATA only after the handler has said so.
//!
//! Safety rules the server holds to, whatever the client sends:
//!
//! - A command line and the message data end only at `<CR><LF>`; DATA ends only at
//!   `<CR><LF>.<CR><LF>`. A bare CR or bare LF never ends anything, so one transaction can
//!   never be split into two (SMTP smuggling). A message that contains a bare CR or LF is read
//!   to its real end and then refused with `550 5.5.2` (the policy Postfix calls
//!   `smtpd_forbid_bare_newline`); a command line that contains one is refused with `500 5.5.2`.
//! - Bytes a client pipelines after `STARTTLS` are discarded before the TLS handshake, and the
//!   session starts over after it (RFC 3207), so plaintext cannot be injected into the TLS
//!   session.
//! - Command lines are capped at 512 octets, messages at [`SmtpConfig::max_message_size`]
//!   (enforced while reading, without buffering past the limit), recipients, errors, idle time
//!   and concurrent connections all have limits.
//! - Slow and greedy clients are bounded too (see `limits`): a whole session, each command and
//!   the DATA rate have deadlines that a trickle of bytes does not reset; one client address
//!   has its own caps on concurrent and new sessions; the message bytes held by all sessions
//!   together have a budget.
//! - No input makes the server panic; I/O errors end the session quietly.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod buffer;
mod config;
mod dot;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
mod handler;
mod limits;
mod line;
mod server;
mod session;
mod tls;

pub use config::SmtpConfig;
pub use handler::{DeliveryOutcome, Envelope, InboundHandler, RcptDecision};
pub use limits::{IpNet, IpNetError};
pub use server::serve;
pub use tls::{TlsError, self_signed_tls, tls_from_pem_files};
