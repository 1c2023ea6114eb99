//! How webhooks are retried, limited and given up on.

use std::time::Duration;

/// Everything the webhook service and worker need to know.
#[derive(Debug, Clone)]
pub struct WebhookConfig {
    /// The delay before each attempt, counted from the previous one: the first entry is the
    /// delay of the first attempt (normally zero), and a delivery is `failed` once every entry
    /// has been used. The default is the Standard Webhooks schedule: at once, 5 s, 5 min,
    /// 30 min, 2 h, 5 h, 10 h, 10 h (eight attempts over about 28 hours).
    pub retry_schedule: Vec<Duration>,
    /// How long one request may take, connection and body included.
    pub timeout: Duration,
    /// An endpoint whose every attempt has failed for this long is disabled (`failing`).
    pub disable_after: Duration,
    /// Lets endpoints point at loopback, private and link-local addresses. For development and
    /// tests; never on a server whose network neighbours matter.
    pub allow_private_targets: bool,
    /// The largest body sent; a larger event is trimmed (see [`crate::payload`]).
    pub max_payload_bytes: usize,
    /// This server's public base URL (`https://mail.example.com`), used in the links of
    /// trimmed payloads.
    pub public_url: String,
    /// How long the previous secret keeps signing beside the new one after a rotation.
    pub rotation_overlap: Duration,
    /// How long a claimed delivery is held by one worker. It is never shorter than `timeout`
    /// plus a margin; a worker that dies leaves its deliveries to be claimed again after it.
    pub lease: Duration,
    /// How many requests may be in flight at once.
    pub concurrency: usize,
    /// How often the log and the queue are checked when nothing wakes the worker.
    pub poll_interval: Duration,
}

impl Default for WebhookConfig {
    fn default() -> Self {
        let secs = Duration::from_secs;
        let hours = |h: u64| secs(h * 3600);
        Self {
            retry_schedule: vec![Duration::ZERO, secs(5), secs(5 * 60), secs(30 * 60), hours(2), hours(5), hours(10), hours(10)],
            timeout: secs(15),
            disable_after: hours(5 * 24),
            allow_private_targets: false,
            max_payload_bytes: 256 * 1024,
            public_url: "http://127.0.0.1:8025".to_string(),
            rotation_overlap: hours(24),
            lease: secs(60),
            concurrency: 16,
            poll_interval: secs(1),
        }
    }
}

impl WebhookConfig {
    /// Returns the delay before attempt number `attempt` (1-based), or `None` when the
    /// schedule allows no such attempt.
    pub fn delay_before(&self, attempt: u32) -> Option<Duration> {
        if self.retry_schedule.is_empty() {
            return (attempt == 1).then_some(Duration::ZERO);
        }
        let i = usize::try_from(attempt).ok()?.checked_sub(1)?;
        self.retry_schedule.get(i).copied()
    }

    /// Returns the lease actually used: `lease`, but at least the request timeout plus 10 s.
    pub fn effective_lease(&self) -> Duration {
        self.lease.max(self.timeout + Duration::from_secs(10))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_schedule_is_standard_webhooks() {
        let c = WebhookConfig::default();
        assert_eq!(c.delay_before(1), Some(Duration::ZERO));
        assert_eq!(c.delay_before(2), Some(Duration::from_secs(5)));
        assert_eq!(c.delay_before(8), Some(Duration::from_secs(36_000)));
        assert_eq!(c.delay_before(9), None);
        assert_eq!(c.delay_before(0), None);
        let empty = WebhookConfig { retry_schedule: vec![], ..c };
        assert_eq!(empty.delay_before(1), Some(Duration::ZERO));
        assert_eq!(empty.delay_before(2), None);
    }
}
