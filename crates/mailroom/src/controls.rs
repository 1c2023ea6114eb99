//! The `[controls]` configuration section (issue 15) and the control worker: one leased
//! worker per cluster that deletes expired mailboxes, applies retention in batches and
//! removes expired uploads, run by the shared queue runner (`mailroom_store::runner`).

use async_trait::async_trait;
use mailroom_core::controls::Limits;
use mailroom_engine::{ControlSettings, Engine};
use mailroom_store::runner::LeasedQueue;
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// Server-wide defaults of the operational controls. Every count is "0: unlimited".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ControlsSection {
    /// Messages one mailbox may send per minute (when it sets no limit of its own).
    pub mailbox_send_per_minute: u64,
    /// Messages one mailbox may send per hour.
    pub mailbox_send_per_hour: u64,
    /// Messages one mailbox may send per day.
    pub mailbox_send_per_day: u64,
    /// Bytes one mailbox may store.
    pub mailbox_storage_bytes: u64,
    /// Messages one mailbox may store.
    pub mailbox_max_messages: u64,
    /// Messages all mailboxes of one site may send per minute together.
    pub site_send_per_minute: u64,
    /// Messages one site may send per hour.
    pub site_send_per_hour: u64,
    /// Messages one site may send per day.
    pub site_send_per_day: u64,
    /// Bytes one site may store.
    pub site_storage_bytes: u64,
    /// Messages one site may store.
    pub site_max_messages: u64,
    /// API requests one key may make per second, counted on each node separately.
    pub api_requests_per_second: u64,
    /// Messages one client address may send in over SMTP per minute (451 4.7.1 past it).
    pub smtp_receive_per_minute_per_ip: u64,
    /// Messages one mailbox may receive over SMTP per minute (451 4.7.1 past it).
    pub smtp_receive_per_minute_per_mailbox: u64,
    /// Lifetime of a signed download URL when the request names none.
    pub signed_url_default_secs: u64,
    /// Longest lifetime of a signed download URL.
    pub signed_url_max_secs: u64,
    /// Largest attachment upload in bytes.
    pub max_upload_bytes: u64,
    /// Seconds an upload may be referenced before it is deleted.
    pub upload_ttl_secs: u64,
    /// Seconds between rounds of the control worker (expiry, retention, uploads).
    pub worker_interval_secs: u64,
    /// Messages the retention worker deletes per round.
    pub retention_batch: u32,
}

impl Default for ControlsSection {
    fn default() -> Self {
        Self {
            mailbox_send_per_minute: 0,
            mailbox_send_per_hour: 0,
            mailbox_send_per_day: 0,
            mailbox_storage_bytes: 0,
            mailbox_max_messages: 0,
            site_send_per_minute: 0,
            site_send_per_hour: 0,
            site_send_per_day: 0,
            site_storage_bytes: 0,
            site_max_messages: 0,
            api_requests_per_second: 0,
            smtp_receive_per_minute_per_ip: 0,
            smtp_receive_per_minute_per_mailbox: 0,
            signed_url_default_secs: 3600,
            signed_url_max_secs: 7 * 86_400,
            max_upload_bytes: 25 * 1024 * 1024,
            upload_ttl_secs: 86_400,
            worker_interval_secs: 1,
            retention_batch: 100,
        }
    }
}

fn opt(v: u64) -> Option<u64> {
    (v > 0).then_some(v)
}

impl ControlsSection {
    /// Returns the engine's settings; signed URLs start with `public_url` (or the listener).
    pub fn settings(&self, public_url: &str, http_addr: SocketAddr) -> ControlSettings {
        let public = public_url.trim().trim_end_matches('/');
        ControlSettings {
            mailbox_defaults: Limits {
                send_per_minute: opt(self.mailbox_send_per_minute),
                send_per_hour: opt(self.mailbox_send_per_hour),
                send_per_day: opt(self.mailbox_send_per_day),
                storage_bytes: opt(self.mailbox_storage_bytes),
                max_messages: opt(self.mailbox_max_messages),
            },
            site_defaults: Limits {
                send_per_minute: opt(self.site_send_per_minute),
                send_per_hour: opt(self.site_send_per_hour),
                send_per_day: opt(self.site_send_per_day),
                storage_bytes: opt(self.site_storage_bytes),
                max_messages: opt(self.site_max_messages),
            },
            smtp_receive_per_minute_per_ip: opt(self.smtp_receive_per_minute_per_ip),
            smtp_receive_per_minute_per_mailbox: opt(self.smtp_receive_per_minute_per_mailbox),
            signed_url_default: Duration::from_secs(self.signed_url_default_secs.clamp(1, self.signed_url_max_secs.max(1))),
            signed_url_max: Duration::from_secs(self.signed_url_max_secs.clamp(1, 7 * 86_400)),
            max_upload_bytes: self.max_upload_bytes.max(1),
            upload_ttl: Duration::from_secs(self.upload_ttl_secs.max(60)),
            public_url: if public.is_empty() { format!("http://{http_addr}") } else { public.to_string() },
            worker_interval: Duration::from_secs(self.worker_interval_secs.max(1)),
            retention_batch: self.retention_batch.clamp(1, 10_000),
            api_requests_per_second: opt(self.api_requests_per_second),
            api_limiter: Arc::default(),
        }
    }
}

/// One round of the control worker: expired mailboxes, then a retention batch, then
/// expired uploads.
pub struct ControlRound;

/// The control worker as a leased queue: each claim first takes (or renews) the cluster-wide
/// lease `controls`, so only one node works at a time; another takes over when it lapses.
pub struct ControlQueue {
    engine: Engine,
    holder: String,
    interval: Duration,
    /// When the last round started: rounds start at most once per interval (the runner also
    /// wakes when a round ends).
    last_round: std::sync::Mutex<Option<std::time::Instant>>,
}

impl ControlQueue {
    /// Returns the worker of this node.
    pub fn new(engine: Engine) -> Self {
        let interval = engine.control_settings().worker_interval;
        Self { engine, holder: uuid::Uuid::now_v7().to_string(), interval, last_round: std::sync::Mutex::new(None) }
    }
}

#[async_trait]
impl LeasedQueue for ControlQueue {
    type Work = ControlRound;

    fn name(&self) -> &'static str {
        "control worker"
    }

    async fn claim_work(&self, limit: usize) -> Result<(usize, Vec<ControlRound>), String> {
        if limit == 0 {
            return Ok((0, Vec::new()));
        }
        {
            let mut last = self.last_round.lock().unwrap_or_else(|e| e.into_inner());
            if last.is_some_and(|t| t.elapsed() < self.interval) {
                return Ok((0, Vec::new()));
            }
            *last = Some(std::time::Instant::now());
        }
        let now = mailroom_core::now();
        let lease = chrono::Duration::from_std(self.interval * 10 + Duration::from_secs(5)).unwrap_or(chrono::Duration::seconds(15));
        let held = self.engine.store().acquire_lease("controls", &self.holder, now, now + lease).await.map_err(|e| e.to_string())?;
        if !held {
            return Ok((0, Vec::new()));
        }
        Ok((0, vec![ControlRound]))
    }

    async fn run_work(self: Arc<Self>, _round: ControlRound) {
        let batch = self.engine.control_settings().retention_batch;
        let steps = [
            ("expired mailboxes", self.engine.expire_mailboxes(100).await),
            ("messages past retention", self.engine.apply_retention(batch).await),
            ("expired uploads", self.engine.expire_uploads(100).await),
        ];
        for (what, result) in steps {
            match result {
                Ok(n) if n > 0 => tracing::info!(deleted = n, "control worker: {what} deleted"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "control worker: deleting {what} failed"),
            }
        }
    }

    fn idle_wait(&self) -> Duration {
        let last = self.last_round.lock().unwrap_or_else(|e| e.into_inner());
        match *last {
            Some(t) => self.interval.saturating_sub(t.elapsed()).max(Duration::from_millis(50)),
            None => self.interval,
        }
    }
}

/// Runs the control worker until `shutdown`.
pub async fn run_worker(engine: Engine, shutdown: tokio::sync::watch::Receiver<bool>) {
    let queue = Arc::new(ControlQueue::new(engine));
    mailroom_store::runner::run(queue, 1, Arc::new(tokio::sync::Notify::new()), None, shutdown).await;
}
