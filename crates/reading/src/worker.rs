//! The attachment-text worker. Like the webhook worker it has two durable steps: a fan-out
//! that follows the event log (`message.received`, `message.imported`, `message.sent`) from
//! the cursor in the setting [`CURSOR_SETTING`] (on one node of a cluster at a time, under the
//! lease [`FANOUT_LEASE_NAME`]) and queues one `pending` job per attachment
//! with the new cursor in one transaction; and the extraction of claimed jobs under a lease
//! (any number of nodes), retried on the schedule, ending `done`, `unsupported` or `failed`
//! with an `attachment.text_extracted` event. Nothing of this runs in the SMTP or API request
//! path: the message is acknowledged first, and the worker wakes on the event signal.

use crate::extract::{self, Limits, Outcome};
use chrono::{DateTime, Utc};
use mailroom_core::event_types::ATTACHMENT_TEXT_EXTRACTED;
use mailroom_core::reading::TextStatus;
use mailroom_core::now;
use mailroom_store::runner::{self, ClusterLease, LeasedQueue, RetryClock};
use mailroom_store::{AttachmentTextJob, AttachmentTextUpdate, BlobStore, NewEvent, Store, StoreResult};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Notify, watch};

/// The setting that holds the fan-out's position in the event log.
pub const CURSOR_SETTING: &str = "attachment_text_cursor";
/// The name of the cluster-wide lease under which one node queues jobs for all.
pub const FANOUT_LEASE_NAME: &str = "attachment_text_fan_out";
/// How long the fan-out lease lasts; its holder renews it when half has passed.
const FANOUT_LEASE: Duration = Duration::from_secs(10);
/// Events read per fan-out batch.
const PAGE: u32 = 500;
/// The longest excerpt put in the event.
const EVENT_EXCERPT: usize = 300;

/// How the worker runs.
#[derive(Debug, Clone)]
pub struct TextWorkerConfig {
    /// Extractions at once on this node (each on its own thread).
    pub concurrency: usize,
    /// How long a claimed job is held before another worker may take it.
    pub lease: Duration,
    /// The longest sleep when nothing is due.
    pub poll_interval: Duration,
    /// The wait before each retry; the job fails after the last.
    pub retry_schedule: Vec<Duration>,
    /// Bounds of one extraction.
    pub limits: Limits,
}

impl Default for TextWorkerConfig {
    fn default() -> Self {
        TextWorkerConfig {
            concurrency: 1,
            lease: Duration::from_secs(120),
            poll_interval: Duration::from_secs(5),
            retry_schedule: vec![Duration::from_secs(10), Duration::from_secs(60), Duration::from_secs(600)],
            limits: Limits::default(),
        }
    }
}

/// The worker. Share it in an `Arc` and call [`TextWorker::run`]; tests drive it with
/// [`TextWorker::fan_out_once`] and [`TextWorker::extract_once`].
pub struct TextWorker {
    store: Arc<dyn Store>,
    blobs: Arc<dyn BlobStore>,
    config: TextWorkerConfig,
    waker: Arc<Notify>,
    fan_out_lock: tokio::sync::Mutex<()>,
    /// One node reads the log and queues jobs for the cluster (each node extracts): without
    /// it every node re-read every event and wrote the shared cursor row, and on three nodes
    /// those writes queued on each other's row lock (`bench/nodes.sh`).
    lease: ClusterLease,
    retries: RetryClock,
}

impl std::fmt::Debug for TextWorker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TextWorker").field("config", &self.config).finish_non_exhaustive()
    }
}

#[async_trait::async_trait]
impl LeasedQueue for TextWorker {
    type Work = AttachmentTextJob;

    fn name(&self) -> &'static str {
        "attachment text"
    }

    async fn prepare(&self) {
        if let Err(e) = self.fan_out_once().await {
            tracing::error!(error = %e, "attachment-text fan-out failed; retrying after the poll interval");
        }
    }

    async fn claim_work(&self, limit: usize) -> Result<(usize, Vec<AttachmentTextJob>), String> {
        let jobs = self.claim(limit).await.map_err(|e| e.to_string())?;
        Ok((jobs.len(), jobs))
    }

    async fn run_work(self: Arc<Self>, job: AttachmentTextJob) {
        self.process(job).await;
    }

    fn idle_wait(&self) -> Duration {
        self.retries.idle_wait(self.config.poll_interval)
    }
}

impl TextWorker {
    /// Returns a worker over `store` and `blobs`.
    pub fn new(store: Arc<dyn Store>, blobs: Arc<dyn BlobStore>, config: TextWorkerConfig) -> Self {
        TextWorker {
            store,
            blobs,
            config,
            waker: Arc::new(Notify::new()),
            fan_out_lock: tokio::sync::Mutex::new(()),
            lease: ClusterLease::new(FANOUT_LEASE_NAME, FANOUT_LEASE),
            retries: RetryClock::default(),
        }
    }

    /// Runs until `shutdown` turns true, waking on the store's event signal.
    pub async fn run(self: Arc<Self>, shutdown: watch::Receiver<bool>) {
        let (concurrency, waker, signal) = (self.config.concurrency, self.waker.clone(), self.store.event_signal());
        runner::run(self, concurrency, waker, Some(signal), shutdown).await;
    }

    /// Queues a job per attachment of the message events after the stored cursor (from the
    /// start of the log on the first run); returns how many attachments it handed over.
    pub async fn fan_out_once(&self) -> StoreResult<usize> {
        let _one = self.fan_out_lock.lock().await;
        if !self.lease.hold(self.store.as_ref()).await? {
            return Ok(0);
        }
        let stored = self.store.get_setting(CURSOR_SETTING).await?;
        let mut cursor: i64 = stored.as_deref().and_then(|v| v.trim().parse().ok()).unwrap_or(0);
        let mut queued = 0;
        loop {
            let scan = self.store.attachment_jobs_after(cursor, PAGE).await?;
            let Some(last_cursor) = scan.last else { break };
            queued += scan.jobs.len();
            self.store.queue_attachment_texts(&scan.jobs, Some((CURSOR_SETTING, &last_cursor.to_string()))).await?;
            // A cursor that does not move on (one this store never hands out) must not turn
            // this loop into a busy one that also holds shutdown: stop and try again next wake.
            let stuck = last_cursor <= cursor;
            cursor = last_cursor;
            if stuck || scan.read < PAGE as usize {
                break;
            }
        }
        Ok(queued)
    }

    async fn claim(&self, limit: usize) -> StoreResult<Vec<AttachmentTextJob>> {
        let t = now();
        let lease = chrono::Duration::from_std(self.config.lease).unwrap_or(chrono::Duration::seconds(120));
        self.store.claim_attachment_texts(t, t + lease, u32::try_from(limit).unwrap_or(u32::MAX)).await
    }

    /// Claims due jobs (at most the concurrency) and runs them; returns how many ran.
    pub async fn extract_once(&self) -> StoreResult<usize> {
        let jobs = self.claim(self.config.concurrency.max(1)).await?;
        let n = jobs.len();
        for j in jobs {
            self.process(j).await;
        }
        Ok(n)
    }

    async fn process(&self, job: AttachmentTextJob) {
        let attempts = job.attempts + 1;
        let Ok(Some((attachment, _, _))) = self.store.get_attachment(job.attachment_id).await else {
            // Deleted with its message (the job went with it), or the store failed: the lease
            // runs out and the job, if it still exists, is claimed again.
            return;
        };
        let name = attachment.filename.as_deref();
        let Some(kind) = extract::kind(&attachment.content_type, name) else {
            let why = format!("no text is extracted from {} attachments", attachment.content_type);
            return self.finish(&job, &attachment, TextStatus::Unsupported, None, false, Some(why), attempts).await;
        };
        if attachment.size as usize > self.config.limits.max_input {
            let why = format!("larger than the {} MB extraction limit", self.config.limits.max_input / (1024 * 1024));
            return self.finish(&job, &attachment, TextStatus::Failed, None, false, Some(why), attempts).await;
        }
        let bytes = match self.blobs.get(&attachment.blob_key).await {
            Ok(b) => b,
            Err(e) => return self.retry(&job, &attachment, attempts, format!("could not read the attachment: {e}")).await,
        };
        let started = std::time::Instant::now();
        let outcome = extract::extract(kind, bytes, self.config.limits.clone()).await;
        metrics::histogram!("mailroom_attachment_text_seconds").record(started.elapsed().as_secs_f64());
        match outcome {
            Outcome::Text(text, truncated) => self.finish(&job, &attachment, TextStatus::Done, Some(text), truncated, None, attempts).await,
            Outcome::Failed(why) => self.finish(&job, &attachment, TextStatus::Failed, None, false, Some(why), attempts).await,
            Outcome::TimedOut => {
                let why = format!("extraction took longer than {} s", self.config.limits.timeout.as_secs());
                self.retry(&job, &attachment, attempts, why).await
            }
            // Not an attempt: the lease runs out and the job is claimed again later.
            Outcome::Busy => self.retries.remember(now() + chrono::Duration::seconds(2)),
        }
    }

    async fn retry(&self, job: &AttachmentTextJob, attachment: &mailroom_core::Attachment, attempts: u32, why: String) {
        match self.config.retry_schedule.get(attempts as usize - 1) {
            Some(wait) => {
                let at: DateTime<Utc> = now() + chrono::Duration::from_std(*wait).unwrap_or(chrono::Duration::seconds(60));
                let update = AttachmentTextUpdate { status: TextStatus::Pending, text: None, truncated: false, error: Some(why), attempts, next_attempt_at: Some(at) };
                if let Err(e) = self.store.record_attachment_text(job.attachment_id, &update, &[]).await {
                    tracing::warn!(error = %e, "could not record an attachment-text retry");
                }
                self.retries.remember(at);
            }
            None => self.finish(job, attachment, TextStatus::Failed, None, false, Some(why), attempts).await,
        }
    }

    #[allow(clippy::too_many_arguments)]
    async fn finish(
        &self,
        job: &AttachmentTextJob,
        attachment: &mailroom_core::Attachment,
        status: TextStatus,
        text: Option<String>,
        truncated: bool,
        error: Option<String>,
        attempts: u32,
    ) {
        let excerpt = text.as_deref().map(|t| t.chars().take(EVENT_EXCERPT).collect::<String>());
        let data = serde_json::json!({
            "attachment_id": job.attachment_id,
            "message_id": job.message_id,
            "mailbox_id": job.mailbox_id,
            "filename": attachment.filename,
            "content_type": attachment.content_type,
            "text_status": status,
            "truncated": truncated,
            "chars": text.as_deref().map(|t| t.chars().count()),
            "excerpt": excerpt,
            "error": error,
        });
        let event = NewEvent::new(job.site_id, Some(job.mailbox_id), ATTACHMENT_TEXT_EXTRACTED, data);
        let update = AttachmentTextUpdate { status, text, truncated, error, attempts, next_attempt_at: None };
        match self.store.record_attachment_text(job.attachment_id, &update, std::slice::from_ref(&event)).await {
            Ok(()) => metrics::counter!("mailroom_attachment_texts_total", "status" => status.as_str()).increment(1),
            Err(e) => tracing::warn!(error = %e, attachment = %job.attachment_id, "could not record an attachment's text"),
        }
    }
}
