//! Limits and identity of the inbound SMTP listener.

use std::sync::Arc;
use std::time::Duration;

use crate::IpNet;

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
    /// How long one session may last in all; then `421 4.4.2` and close.
    pub max_session_time: Duration,
    /// How long the client has to complete each command line, counted from the end of the
    /// previous command (not reset by each byte, unlike `idle_timeout`); then `421 4.4.2`.
    pub command_timeout: Duration,
    /// The slowest message data accepted during DATA, in bytes per second, averaged over each
    /// `data_rate_window`; slower gets `421 4.4.2` and close. 0 turns the check off.
    pub min_data_rate: usize,
    /// The window `min_data_rate` is measured over.
    pub data_rate_window: Duration,
    /// Most concurrent sessions from one client address (an IPv6 /64 counts as one); past it
    /// `421 4.7.0`. 0: no per-address limit.
    pub max_connections_per_ip: usize,
    /// Most new sessions one client address may open per minute; past it `421 4.7.0`.
    /// 0: no limit.
    pub max_new_sessions_per_ip_per_minute: usize,
    /// Client networks the two per-address limits do not apply to.
    pub per_ip_exempt: Vec<IpNet>,
    /// The message bytes all sessions together may hold while reading and storing messages;
    /// a transaction that would go past it gets `451 4.3.1`. 0: no limit.
    pub max_inflight_bytes: usize,
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
            max_session_time: Duration::from_secs(600),
            command_timeout: Duration::from_secs(300),
            min_data_rate: 1024,
            data_rate_window: Duration::from_secs(30),
            max_connections_per_ip: 50,
            max_new_sessions_per_ip_per_minute: 300,
            per_ip_exempt: Vec::new(),
            max_inflight_bytes: 256 * 1024 * 1024,
        }
    }
}
