//! How the outbound queue connects, retries and gives up.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

/// How a connection to a relay is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TlsMode {
    /// Plain SMTP; STARTTLS is never attempted.
    None,
    /// STARTTLS is required: a server that does not offer it, or a failed handshake, is a
    /// temporary failure. The certificate is verified (unless `allow_invalid_certs`).
    StartTls,
    /// STARTTLS when the server offers it, plain SMTP otherwise. The certificate is not
    /// verified (RFC 7435 opportunistic security: encryption against passive listeners,
    /// never worse than plain text). This is what MX delivery and static routes use.
    #[default]
    Opportunistic,
    /// TLS from the first byte (port 465, "SMTPS"). The certificate is verified (unless
    /// `allow_invalid_certs`).
    Implicit,
}

/// A smarthost every remote message is handed to.
#[derive(Clone, PartialEq, Eq)]
pub struct RelayConfig {
    /// The relay's host name or IP address; also the name its certificate must carry.
    pub host: String,
    /// The port, usually 587 (STARTTLS) or 465 (implicit TLS).
    pub port: u16,
    /// How the connection is protected.
    pub tls: TlsMode,
    /// The user name for `AUTH` (PLAIN or LOGIN, whichever the relay offers).
    pub username: Option<String>,
    /// The password for `AUTH`.
    pub password: Option<String>,
}

impl std::fmt::Debug for RelayConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RelayConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// Everything the outbound queue worker needs to know.
#[derive(Debug, Clone)]
pub struct DeliveryConfig {
    /// The name this server gives in `EHLO`; it should resolve to the sending address.
    pub hostname: String,
    /// A smarthost all remote mail goes to instead of the recipients' MX hosts.
    pub relay: Option<RelayConfig>,
    /// Domain (lower-case) → `host:port`: mail for that domain goes there, over plain SMTP
    /// with opportunistic STARTTLS. Overrides both the relay and MX (tests, split setups).
    pub routes: HashMap<String, (String, u16)>,
    /// Delays after the 1st, 2nd, … temporary failure; the last one repeats.
    pub retry_schedule: Vec<Duration>,
    /// How long after a message was created a temporary failure turns into `failed`.
    pub give_up_after: Duration,
    /// How long a claimed recipient is held by this worker. An attempt is cut short before
    /// the lease ends, so that no other worker retries a recipient still being delivered;
    /// a worker that dies leaves its recipients to be claimed again when the lease expires.
    pub lease: Duration,
    /// How many SMTP transactions (and local deliveries) may run at once.
    pub concurrency: usize,
    /// How often the queue is checked when nothing wakes the worker.
    pub poll_interval: Duration,
    /// How long to wait for a TCP connection and the server's greeting.
    pub connect_timeout: Duration,
    /// Accepts any certificate, even where TLS is required. For development and tests only.
    pub allow_invalid_certs: bool,
    /// Name servers for MX and address lookups; `None` uses the system configuration.
    pub dns: Option<Vec<SocketAddr>>,
    /// Lets MX hosts and sites' SMTP accounts resolve to loopback, private, link-local and
    /// other non-public addresses (development and tests). The relay and static routes are
    /// the operator's own and always allowed.
    pub allow_private_targets: bool,
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        let minutes = |m: u64| Duration::from_secs(m * 60);
        Self {
            hostname: "localhost".to_string(),
            relay: None,
            routes: HashMap::new(),
            retry_schedule: vec![minutes(1), minutes(5), minutes(15), minutes(30), minutes(60), minutes(120), minutes(240), minutes(480)],
            give_up_after: Duration::from_secs(5 * 24 * 3600),
            lease: minutes(5),
            concurrency: 16,
            poll_interval: Duration::from_secs(1),
            connect_timeout: Duration::from_secs(30),
            allow_invalid_certs: false,
            dns: None,
            allow_private_targets: false,
        }
    }
}

impl DeliveryConfig {
    /// Returns the delay before the next attempt after `attempts` attempts (counting the one
    /// that just failed): the schedule's entry `attempts - 1`, the last entry repeating.
    pub fn retry_delay(&self, attempts: u32) -> Duration {
        let index = (attempts.max(1) - 1) as usize;
        self.retry_schedule.get(index).or(self.retry_schedule.last()).copied().unwrap_or(Duration::from_secs(60))
    }

    /// Returns how long one attempt may take: nine tenths of the lease, so that it ends
    /// (and is recorded) before any other worker may claim the same recipients.
    pub(crate) fn attempt_budget(&self) -> Duration {
        self.lease.saturating_sub(self.lease / 10).max(Duration::from_millis(100))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_delay_follows_the_schedule_and_repeats_the_last_step() {
        let c = DeliveryConfig::default();
        assert_eq!(c.retry_delay(1), Duration::from_secs(60));
        assert_eq!(c.retry_delay(2), Duration::from_secs(300));
        assert_eq!(c.retry_delay(8), Duration::from_secs(8 * 3600));
        assert_eq!(c.retry_delay(30), Duration::from_secs(8 * 3600));
        let empty = DeliveryConfig { retry_schedule: Vec::new(), ..DeliveryConfig::default() };
        assert_eq!(empty.retry_delay(3), Duration::from_secs(60));
    }

    #[test]
    fn relay_debug_hides_the_password() {
        let r = RelayConfig {
            host: "smtp.example.com".into(),
            port: 587,
            tls: TlsMode::StartTls,
            username: Some("u".into()),
            password: Some("hunter2".into()),
        };
        assert!(!format!("{r:?}").contains("hunter2"));
    }
}
