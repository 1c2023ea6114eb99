//! Limits and identity of the inbound SMTP listener.

use std::sync::Arc;
use std::time::Duration;

/// Configures the inbound SMTP server: its name, its limits and whether it offers STARTTLS.
#[derive(Clone, Debug)]
pub struct SmtpConfig {
    /// Host name announced in the banner and in the EHLO/HELO reply.
    pub hostname: String,
    /// Largest message accepted, in octets after dot-unstuffing; advertised as `SIZE`.
    /// A larger declared `SIZE=` or a larger message is refused with `552 5.3.4`.
    pub max_message_size: usize,
    /// Most recipients accepted in one transaction; the next one gets `452 4.5.3`.
    pub max_recipients: usize,
    /// Errors a session may make; the reply to the last one is followed by `421 4.7.0` and the
    /// connection is closed.
    pub max_errors: usize,
    /// How long the server waits for the client to send anything; then `421 4.4.2` and close.
    pub idle_timeout: Duration,
    /// Most concurrent sessions; an extra connection gets `421 4.3.2` at once and is closed.
    pub max_connections: usize,
    /// Server-side TLS; `STARTTLS` is offered only when this is `Some`.
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// How long sessions that are in the middle of something may go on after shutdown is
    /// signalled, before they are told `421 4.3.2` and closed. Idle sessions are closed at once.
    pub shutdown_grace: Duration,
}

impl Default for SmtpConfig {
    fn default() -> Self {
        Self {
            hostname: "localhost".to_owned(),
            max_message_size: 25 * 1024 * 1024,
            max_recipients: 100,
            max_errors: 10,
            idle_timeout: Duration::from_secs(300),
            max_connections: 1000,
            tls: None,
            shutdown_grace: Duration::from_secs(5),
        }
    }
}
