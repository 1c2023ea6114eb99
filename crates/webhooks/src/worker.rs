//! The webhook worker: fan-out from the event log to deliveries, and delivery with retries.
//!
//! Two steps, both durable. The fan-out reads the log after the cursor kept in the setting
//! [`FANOUT_CURSOR_SETTING`], turns each event into one delivery per matching endpoint, and
//! stores the deliveries with the new cursor in one transaction: a crash repeats a batch,
//! and the store drops the repeated (endpoint, event) pairs, so nothing is lost or doubled.
//! Delivery claims due deliveries under a lease (any number of nodes may run workers), POSTs
//! each one signed, and records the attempt with the next step: done, retry later, or failed.
//!
//! The worker wakes on the store's event signal, so an event reaches its receivers within
//! milliseconds of its commit; on its own retry timers; and on the poll interval, which also
//! picks up retries scheduled by other nodes and deliveries whose worker died.

use crate::config::WebhookConfig;
use crate::payload::build_payload;
use crate::service::{matches_filters, new_delivery, signing_secrets};
use crate::signing::signature_header;
use crate::ssrf::{GuardedResolver, check_ip, literal_ip, validate_url};
use crate::WebhookError;
use chrono::{DateTime, Utc};
use mailroom_core::{
    Event, WebhookAttempt, WebhookDelivery, WebhookDeliveryStatus, WebhookEndpoint, WebhookId, event_types, now,
};
use mailroom_engine::SecretBox;
use mailroom_store::runner::{self, ClusterLease, LeasedQueue, RetryClock};
use mailroom_store::{NewEvent, Store};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};
use tokio::sync::{Notify, watch};

/// The setting that holds the fan-out's position in the event log (a cursor).
pub const FANOUT_CURSOR_SETTING: &str = "webhook_fanout_cursor";

/// The name of the cluster-wide lease under which one node fans out for all.
pub const FANOUT_LEASE_NAME: &str = "webhook_fan_out";
/// How long the fan-out lease lasts; its holder renews it when half has passed.
const FANOUT_LEASE: Duration = Duration::from_secs(10);

/// Events read per fan-out batch.
const FANOUT_PAGE: u32 = 500;
/// The longest `Retry-After` honoured.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(24 * 3600);
/// How much of a response body is read (so the connection can be reused).
const MAX_RESPONSE_READ: usize = 64 * 1024;
/// How much of a failed response's body is kept in the attempt's record.
const MAX_ERROR_BODY: usize = 300;

/// How one HTTP attempt went.
struct Sent {
    at: DateTime<Utc>,
    status_code: Option<u16>,
    latency: Duration,
    error: Option<String>,
    /// The `Retry-After` of a 429 or 503 answer.
    retry_after: Option<Duration>,
}

impl Sent {
    /// An attempt that never reached the network.
    fn refused(at: DateTime<Utc>, error: String) -> Self {
        Self { at, status_code: None, latency: Duration::ZERO, error: Some(error), retry_after: None }
    }
}

/// A change made to an event just before it is sent (see [`WebhookWorker::with_event_hook`]).
pub type EventHook = Arc<dyn Fn(&mut Event) + Send + Sync>;

/// The fan-out and delivery worker. Share it in an `Arc` and call [`WebhookWorker::run`];
/// tests drive it one step at a time with [`WebhookWorker::fan_out_once`] and
/// [`WebhookWorker::deliver_once`].
pub struct WebhookWorker {
    store: Arc<dyn Store>,
    secrets: SecretBox,
    config: WebhookConfig,
    /// Built on first use: loading the platform's trust store can fail on a bare system.
    client: OnceLock<Result<reqwest::Client, String>>,
    waker: Arc<Notify>,
    /// One fan-out at a time per worker (others on other nodes are harmless).
    fan_out_lock: tokio::sync::Mutex<()>,
    /// Serializes read-modify-write of endpoint state (`failing_since`, disabling).
    endpoint_lock: tokio::sync::Mutex<()>,
    /// The earliest retry this worker scheduled, so a long poll interval does not delay it.
    retries: RetryClock,
    /// Adds to an event what is computed when it is sent (such as the signed `download_url`
    /// of each attachment, whose expiry runs from the send, not from the event).
    decorate: Option<EventHook>,
    /// The cluster-wide lease under which one node fans out for all.
    lease: ClusterLease,
}

#[async_trait::async_trait]
impl LeasedQueue for WebhookWorker {
    type Work = WebhookDelivery;

    fn name(&self) -> &'static str {
        "webhook delivery"
    }

    async fn prepare(&self) {
        if let Err(e) = self.fan_out_once().await {
            tracing::error!(error = %e, "webhook fan-out failed; retrying after the poll interval");
        }
    }

    async fn claim_work(&self, limit: usize) -> Result<(usize, Vec<WebhookDelivery>), String> {
        let claimed = self.claim(limit).await.map_err(|e| e.to_string())?;
        Ok((claimed.len(), claimed))
    }

    async fn run_work(self: Arc<Self>, work: WebhookDelivery) {
        self.deliver(work).await;
    }

    fn idle_wait(&self) -> Duration {
        self.retries.idle_wait(self.config.poll_interval)
    }
}

impl std::fmt::Debug for WebhookWorker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookWorker").field("config", &self.config).finish_non_exhaustive()
    }
}

impl WebhookWorker {
    /// Returns a worker over `store`, opening endpoint secrets with `secrets`. Nothing happens
    /// until [`WebhookWorker::run`] or one of the `*_once` steps is called.
    pub fn new(store: Arc<dyn Store>, secrets: SecretBox, config: WebhookConfig) -> Self {
        Self {
            store,
            secrets,
            config,
            client: OnceLock::new(),
            waker: Arc::new(Notify::new()),
            fan_out_lock: tokio::sync::Mutex::new(()),
            endpoint_lock: tokio::sync::Mutex::new(()),
            retries: RetryClock::default(),
            lease: ClusterLease::new(FANOUT_LEASE_NAME, FANOUT_LEASE),
            decorate: None,
        }
    }

    /// Runs `hook` on a copy of each event before its body is built.
    pub fn with_event_hook(mut self, hook: EventHook) -> Self {
        self.decorate = Some(hook);
        self
    }

    /// Returns the configuration.
    pub fn config(&self) -> &WebhookConfig {
        &self.config
    }

    /// Returns the notifier that starts a round at once: call `notify_one()` on it after
    /// queueing deliveries without appending an event (a replay, for example).
    pub fn waker(&self) -> Arc<Notify> {
        self.waker.clone()
    }

    /// Reads the whole log after the stored cursor and queues one delivery per event and
    /// matching endpoint (enabled, same site, type and mailbox filters passed, and created no
    /// later than the event), storing each batch with the new cursor atomically. Returns how
    /// many deliveries it handed to the store; the store skips (endpoint, event) pairs it
    /// already has, so a repeated batch is counted again but queued once.
    ///
    /// On the first run ever (no cursor stored) the fan-out starts at the end of the log when
    /// no endpoint exists yet, else at its beginning.
    pub async fn fan_out_once(&self) -> Result<usize, WebhookError> {
        let _one = self.fan_out_lock.lock().await;
        // One node fans out for all; the others only deliver.
        if !self.lease.hold(self.store.as_ref()).await? {
            return Ok(0);
        }
        let mut cursor = self.fan_out_cursor().await?;
        // No enabled endpoint: nothing up to the log's end can match, so move the cursor there
        // without reading the events. The end is read before the endpoints, as on the first
        // run: an endpoint created after this listing is newer than every event up to it.
        let end = self.store.last_event_cursor(None).await?;
        if end <= cursor {
            return Ok(0);
        }
        if !self.store.list_webhooks(None).await?.iter().any(|e| e.enabled) {
            self.store.put_setting(FANOUT_CURSOR_SETTING, &end.to_string()).await?;
            return Ok(0);
        }
        let mut queued = 0;
        loop {
            let events = self.store.list_events(None, Some(cursor), FANOUT_PAGE).await?;
            let Some(last) = events.last() else { break };
            let last_cursor: i64 = mailroom_core::cursor::parse_scoped(&last.cursor, mailroom_core::cursor::CursorScope::All).map_err(|_| {
                WebhookError::Store(mailroom_store::StoreError::Corrupt(format!("event cursor `{}` is not a number", last.cursor)))
            })?;
            let endpoints: Vec<WebhookEndpoint> = self.store.list_webhooks(None).await?.into_iter().filter(|e| e.enabled).collect();
            let at = now() + chrono_duration(self.config.delay_before(1).unwrap_or_default());
            let deliveries: Vec<WebhookDelivery> = events
                .iter()
                .flat_map(|event| {
                    endpoints.iter().filter(|ep| ep.created_at <= event.created_at && matches_filters(ep, event)).map(move |ep| new_delivery(ep, event, at))
                })
                .collect();
            let value = last_cursor.to_string();
            if deliveries.is_empty() {
                self.store.put_setting(FANOUT_CURSOR_SETTING, &value).await?;
            } else {
                self.store.create_webhook_deliveries(&deliveries, Some((FANOUT_CURSOR_SETTING, &value))).await?;
            }
            queued += deliveries.len();
            cursor = last_cursor;
            if events.len() < FANOUT_PAGE as usize {
                break;
            }
        }
        Ok(queued)
    }

    async fn fan_out_cursor(&self) -> Result<i64, WebhookError> {
        let stored = match self.store.get_setting(FANOUT_CURSOR_SETTING).await? {
            Some(v) => v,
            None => {
                // Read the end of the log before the endpoints: an endpoint created after
                // this listing is newer than every event up to that end, so none would match.
                let end = self.store.last_event_cursor(None).await?;
                let start = if self.store.list_webhooks(None).await?.is_empty() { end } else { 0 };
                self.store.put_setting_if_absent(FANOUT_CURSOR_SETTING, &start.to_string()).await?
            }
        };
        stored.trim().parse().map_err(|_| {
            WebhookError::Store(mailroom_store::StoreError::Corrupt(format!("the setting {FANOUT_CURSOR_SETTING} is not a cursor: `{stored}`")))
        })
    }

    /// Claims due deliveries (at most `concurrency`), attempts them all at once, records every
    /// attempt, and returns how many were attempted.
    pub async fn deliver_once(&self) -> Result<usize, WebhookError> {
        let claimed = self.claim(self.config.concurrency.max(1)).await?;
        let n = claimed.len();
        futures::future::join_all(claimed.into_iter().map(|d| self.deliver(d))).await;
        Ok(n)
    }

    /// Fans out and delivers until `shutdown` turns `true` (or its sender is dropped). Wakes
    /// on the store's event signal (fan-out, then delivery at once), on the waker, on retries
    /// it scheduled and on the poll interval. On shutdown it stops claiming and waits for the
    /// requests under way, which end within the timeout, before their lease does.
    pub async fn run(self: Arc<Self>, shutdown: watch::Receiver<bool>) {
        let (concurrency, waker, signal) = (self.config.concurrency, self.waker.clone(), self.store.event_signal());
        runner::run(self, concurrency, waker, Some(signal), shutdown).await;
    }

    fn remember_retry(&self, at: DateTime<Utc>) {
        self.retries.remember(at);
    }

    async fn claim(&self, limit: usize) -> Result<Vec<WebhookDelivery>, WebhookError> {
        let t = now();
        let lease = chrono_duration(self.config.effective_lease());
        let limit = u32::try_from(limit).unwrap_or(u32::MAX);
        Ok(self.store.claim_webhook_deliveries(t, t + lease, limit).await?)
    }

    /// Attempts one claimed delivery and records the outcome. Store failures are logged: the
    /// lease then runs out and the delivery is claimed again.
    async fn deliver(&self, d: WebhookDelivery) {
        let attempt = d.attempts + 1;
        let endpoint = match self.store.get_webhook(d.endpoint_id).await {
            Ok(Some(e)) => e,
            Ok(None) => {
                tracing::debug!(delivery = %d.id, "the delivery's endpoint was deleted");
                return;
            }
            Err(e) => {
                tracing::error!(delivery = %d.id, error = %e, "loading a webhook endpoint failed; the delivery is retried when its lease ends");
                return;
            }
        };
        if !endpoint.enabled {
            let sent = Sent::refused(now(), "not attempted: the endpoint is disabled".into());
            self.record(&d, attempt, &sent, WebhookDeliveryStatus::Failed, None).await;
            return;
        }
        let event = self.store.get_event(d.event_id).await;
        let event = match event {
            Ok(Some(e)) if e.id == d.event_id => e,
            Ok(_) => {
                let sent = Sent::refused(now(), "not attempted: the event is no longer in the log".into());
                self.record(&d, attempt, &sent, WebhookDeliveryStatus::Failed, None).await;
                return;
            }
            Err(e) => {
                tracing::error!(delivery = %d.id, error = %e, "loading a webhook's event failed; the delivery is retried when its lease ends");
                return;
            }
        };

        let sent = self.send(&endpoint, &event, &d).await;
        match sent.status_code {
            Some(code) if (200..300).contains(&code) => {
                self.record(&d, attempt, &sent, WebhookDeliveryStatus::Succeeded, None).await;
                if endpoint.failing_since.is_some() {
                    self.clear_failing(endpoint.id).await;
                }
            }
            Some(410) => {
                self.record(&d, attempt, &sent, WebhookDeliveryStatus::Failed, None).await;
                self.disable(endpoint.id, "gone", "the endpoint answered 410 Gone").await;
            }
            _ => {
                let disabled = self.note_failure(endpoint.id, sent.at).await;
                let next = if disabled { None } else { self.next_attempt(attempt, sent.retry_after) };
                let status = if next.is_some() { WebhookDeliveryStatus::Pending } else { WebhookDeliveryStatus::Failed };
                self.record(&d, attempt, &sent, status, next).await;
                if let Some(t) = next {
                    self.remember_retry(t);
                }
            }
        }
    }

    /// Returns when the attempt after `attempt` is due, or `None` when the schedule is over.
    fn next_attempt(&self, attempt: u32, retry_after: Option<Duration>) -> Option<DateTime<Utc>> {
        let mut delay = self.config.delay_before(attempt + 1)?;
        if let Some(wait) = retry_after {
            delay = delay.max(wait.min(MAX_RETRY_AFTER));
        }
        Some(now() + chrono_duration(delay))
    }

    async fn record(&self, d: &WebhookDelivery, attempt: u32, sent: &Sent, status: WebhookDeliveryStatus, next: Option<DateTime<Utc>>) {
        let record = WebhookAttempt {
            attempt,
            at: sent.at,
            status_code: sent.status_code,
            latency_ms: u64::try_from(sent.latency.as_millis()).unwrap_or(u64::MAX),
            error: sent.error.clone(),
        };
        let outcome = match status {
            WebhookDeliveryStatus::Succeeded => "succeeded",
            WebhookDeliveryStatus::Pending => "retrying",
            _ => "failed",
        };
        metrics::counter!("mailroom_webhook_deliveries_total", "outcome" => outcome).increment(1);
        if sent.status_code.is_some() {
            metrics::histogram!("mailroom_webhook_duration_seconds").record(sent.latency.as_secs_f64());
        }
        match status {
            WebhookDeliveryStatus::Succeeded => {
                tracing::debug!(delivery = %d.id, endpoint = %d.endpoint_id, attempt, latency_ms = record.latency_ms, "webhook delivered")
            }
            _ => tracing::info!(
                delivery = %d.id, endpoint = %d.endpoint_id, attempt, status = status.as_str(),
                error = record.error.as_deref().unwrap_or(""), "webhook attempt failed"
            ),
        }
        if let Err(e) = self.store.record_webhook_attempt(d.id, &record, status, next).await {
            tracing::error!(delivery = %d.id, error = %e, "recording a webhook attempt failed; the delivery is retried when its lease ends");
        }
    }

    /// POSTs the event to the endpoint, signed, and returns how it went.
    async fn send(&self, endpoint: &WebhookEndpoint, event: &Event, d: &WebhookDelivery) -> Sent {
        let at = now();
        let body = match &self.decorate {
            Some(hook) => {
                let mut event = event.clone();
                hook(&mut event);
                build_payload(&event, self.config.max_payload_bytes, &self.config.public_url)
            }
            None => build_payload(event, self.config.max_payload_bytes, &self.config.public_url),
        };
        let secrets = match signing_secrets(&self.secrets, endpoint, at) {
            Ok(s) => s,
            Err(e) => return Sent::refused(at, format!("not attempted: {e}")),
        };
        let msg_id = d.id.to_string();
        let timestamp = at.timestamp();
        let signature = match signature_header(&secrets, &msg_id, timestamp, &body) {
            Ok(s) => s,
            Err(e) => return Sent::refused(at, format!("not attempted: {e}")),
        };
        let url = match validate_url(&endpoint.url) {
            Ok(u) => u,
            Err(e) => return Sent::refused(at, format!("not attempted: {e}")),
        };
        // The client never resolves an IP literal, so its resolver cannot guard one.
        if !self.config.allow_private_targets
            && let Some(ip) = literal_ip(&url)
            && let Err(e) = check_ip(ip)
        {
            return Sent::refused(at, format!("not attempted: {e}"));
        }
        let client = match self.client() {
            Ok(c) => c,
            Err(e) => return Sent::refused(at, format!("not attempted: the HTTP client could not be built: {e}")),
        };

        let started = Instant::now();
        let request = client
            .post(url)
            .header("webhook-id", &msg_id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body);
        let mut response = match request.send().await {
            Ok(r) => r,
            Err(e) => {
                let error = if e.is_timeout() {
                    format!("no answer within {} ms", self.config.timeout.as_millis())
                } else {
                    error_chain(&e.without_url())
                };
                return Sent { at, status_code: None, latency: started.elapsed(), error: Some(error), retry_after: None };
            }
        };
        let status = response.status();
        let retry_after = if matches!(status.as_u16(), 429 | 503) {
            response.headers().get(reqwest::header::RETRY_AFTER).and_then(|v| v.to_str().ok()).and_then(|v| parse_retry_after(v, now()))
        } else {
            None
        };
        let location = response.headers().get(reqwest::header::LOCATION).and_then(|v| v.to_str().ok()).map(str::to_string);
        let mut head = Vec::new();
        let mut read = 0usize;
        let mut read_error = None;
        while read < MAX_RESPONSE_READ {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    read += chunk.len();
                    if head.len() < MAX_ERROR_BODY {
                        head.extend_from_slice(&chunk[..chunk.len().min(MAX_ERROR_BODY - head.len())]);
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    read_error = Some(if e.is_timeout() { "the answer's body did not arrive in time".to_string() } else { error_chain(&e.without_url()) });
                    break;
                }
            }
        }
        let latency = started.elapsed();
        let code = status.as_u16();
        let error = if status.is_success() {
            None
        } else {
            let mut m = format!("HTTP {status}");
            if status.is_redirection() {
                m.push_str(": redirects are not followed");
                if let Some(l) = location {
                    m.push_str(&format!(" (Location: {})", truncate(&l, 200)));
                }
            }
            let text = String::from_utf8_lossy(&head);
            let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
            if !text.is_empty() {
                m.push_str(&format!(": {}", truncate(&text, MAX_ERROR_BODY)));
            }
            if let Some(e) = read_error {
                m.push_str(&format!(" ({e})"));
            }
            Some(m)
        };
        // A 2xx whose body broke off still counts: the receiver accepted the request.
        Sent { at, status_code: Some(code), latency, error, retry_after }
    }

    fn client(&self) -> Result<&reqwest::Client, String> {
        self.client
            .get_or_init(|| {
                reqwest::Client::builder()
                    .timeout(self.config.timeout)
                    .connect_timeout(self.config.timeout.min(Duration::from_secs(10)))
                    .redirect(reqwest::redirect::Policy::none())
                    .no_proxy()
                    .referer(false)
                    .user_agent(concat!("Mailroom-Webhooks/", env!("CARGO_PKG_VERSION")))
                    .dns_resolver(GuardedResolver { allow_private: self.config.allow_private_targets })
                    .pool_idle_timeout(Duration::from_secs(60))
                    .build()
                    .map_err(|e| error_chain(&e))
            })
            .as_ref()
            .map_err(Clone::clone)
    }

    /// Notes a failed attempt on the endpoint: starts its failing period, or disables it
    /// when that period has lasted `disable_after`. Returns whether the endpoint is now
    /// disabled (or gone).
    async fn note_failure(&self, id: WebhookId, at: DateTime<Utc>) -> bool {
        let _one = self.endpoint_lock.lock().await;
        let mut e = match self.store.get_webhook(id).await {
            Ok(Some(e)) => e,
            Ok(None) => return true,
            Err(err) => {
                tracing::error!(endpoint = %id, error = %err, "loading a webhook endpoint failed");
                return false;
            }
        };
        if !e.enabled {
            return true;
        }
        match e.failing_since {
            None => {
                e.failing_since = Some(at);
                e.updated_at = now();
                if let Err(err) = self.store.update_webhook(&e, &[]).await {
                    tracing::error!(endpoint = %id, error = %err, "saving a webhook endpoint's failing period failed");
                }
                false
            }
            Some(since) if at - since >= chrono_duration(self.config.disable_after) => {
                let detail = format!("every attempt has failed since {}", since.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
                self.disable_locked(e, "failing", &detail).await
            }
            Some(_) => false,
        }
    }

    async fn clear_failing(&self, id: WebhookId) {
        let _one = self.endpoint_lock.lock().await;
        if let Ok(Some(mut e)) = self.store.get_webhook(id).await
            && e.failing_since.is_some()
        {
            e.failing_since = None;
            e.updated_at = now();
            if let Err(err) = self.store.update_webhook(&e, &[]).await {
                tracing::error!(endpoint = %id, error = %err, "clearing a webhook endpoint's failing period failed");
            }
        }
    }

    async fn disable(&self, id: WebhookId, reason: &str, detail: &str) {
        let _one = self.endpoint_lock.lock().await;
        match self.store.get_webhook(id).await {
            Ok(Some(e)) if e.enabled => {
                self.disable_locked(e, reason, detail).await;
            }
            Ok(_) => {}
            Err(err) => tracing::error!(endpoint = %id, error = %err, "loading a webhook endpoint to disable it failed"),
        }
    }

    /// Disables the endpoint with `reason`, logs `endpoint.disabled`, and fails its pending
    /// deliveries. The caller holds `endpoint_lock`. Returns whether it is now disabled.
    async fn disable_locked(&self, mut e: WebhookEndpoint, reason: &str, detail: &str) -> bool {
        e.enabled = false;
        e.disabled_reason = Some(reason.to_string());
        e.updated_at = now();
        let data = serde_json::json!({
            "endpoint_id": e.id,
            "url": e.url,
            "description": e.description,
            "reason": reason,
            "detail": detail,
            "failing_since": e.failing_since,
        });
        let event = NewEvent::new(e.site_id, None, event_types::ENDPOINT_DISABLED, data);
        if let Err(err) = self.store.update_webhook(&e, std::slice::from_ref(&event)).await {
            tracing::error!(endpoint = %e.id, error = %err, "disabling a webhook endpoint failed");
            return false;
        }
        tracing::warn!(endpoint = %e.id, site = %e.site_id, reason, detail, "webhook endpoint disabled");
        match self.store.fail_pending_webhook_deliveries(e.id).await {
            Ok(n) if n > 0 => tracing::info!(endpoint = %e.id, deliveries = n, "pending deliveries of a disabled endpoint failed"),
            Ok(_) => {}
            Err(err) => tracing::error!(endpoint = %e.id, error = %err, "failing a disabled endpoint's deliveries failed"),
        }
        true
    }
}

fn chrono_duration(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}

/// Returns an error with its causes, `a: b: c`, without repeating a cause already quoted.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = cause.source();
    }
    out
}

fn truncate(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

/// Parses `Retry-After`: a number of seconds, or an HTTP date (IMF-fixdate, RFC 850 or
/// asctime) counted from `now` (a date in the past means no wait).
pub(crate) fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let v = value.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let date = DateTime::parse_from_rfc2822(v)
        .map(|d| d.with_timezone(&Utc))
        .ok()
        .or_else(|| chrono::NaiveDateTime::parse_from_str(v, "%A, %d-%b-%y %H:%M:%S GMT").ok().map(|n| n.and_utc()))
        .or_else(|| chrono::NaiveDateTime::parse_from_str(v, "%a %b %e %H:%M:%S %Y").ok().map(|n| n.and_utc()))?;
    Some((date - now).to_std().unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn retry_after_takes_seconds_and_http_dates() {
        let now = Utc.with_ymd_and_hms(2015, 10, 21, 7, 28, 0).unwrap();
        assert_eq!(parse_retry_after("120", now), Some(Duration::from_secs(120)));
        assert_eq!(parse_retry_after(" 0 ", now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:30:00 GMT", now), Some(Duration::from_secs(120)));
        assert_eq!(parse_retry_after("Wednesday, 21-Oct-15 07:29:00 GMT", now), Some(Duration::from_secs(60)));
        assert_eq!(parse_retry_after("Wed Oct 21 07:28:30 2015", now), Some(Duration::from_secs(30)));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:00:00 GMT", now), Some(Duration::ZERO), "a past date: no wait");
        assert_eq!(parse_retry_after("-5", now), None);
        assert_eq!(parse_retry_after("soon", now), None);
    }

    #[test]
    fn long_texts_are_cut_on_characters() {
        assert_eq!(truncate("héllo", 2), "hé…");
        assert_eq!(truncate("hé", 2), "hé");
    }
}
