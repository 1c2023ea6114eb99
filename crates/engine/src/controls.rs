//! Operational controls (issue 15): the rules that let a team leave agents sending on their
//! own — sending rate limits per mailbox and per site, storage quotas, inbound receive rates,
//! attachments uploaded first and fetched through signed time-limited URLs, ephemeral
//! mailboxes and message retention.
//!
//! The send path calls one hook, [`Engine::check_send_controls`]; SMTP calls
//! [`Engine::check_receive_controls`] per recipient and [`Engine::check_inbound_quota`] before
//! storing. Rate-limit state lives in the store ([`mailroom_store::ControlStore::take_rate`]),
//! so every node of a cluster shares one budget. The decision of the last check is left in
//! the task-local [`RATE_NOTE`] for the HTTP layer to turn into `RateLimit-*` headers.

use crate::{Engine, EngineError, EngineResult};
use base64::Engine as _;
use bytes::Bytes;
use chrono::{DateTime, Duration as ChronoDuration, Utc};
use hmac::{Hmac, Mac};
use mailroom_core::api::{AttachmentInput, CreateMailboxRequest, UpdateMailboxRequest};
use mailroom_core::controls::*;
use mailroom_core::event_types::{MAILBOX_EXPIRED, MAILBOX_QUOTA_EXCEEDED};
use mailroom_core::mime::OutgoingAttachment;
use mailroom_core::*;
use mailroom_store::{NewEvent, RateBucket};
use sha2::{Digest, Sha256};
use std::cell::RefCell;
use std::sync::Arc;
use std::time::Duration;

/// The error code of a send refused by a rate limit (HTTP 429).
pub const RATE_LIMITED: &str = "rate_limited";
/// The error code of a send refused by a storage quota (HTTP 507).
pub const QUOTA_EXCEEDED: &str = "quota_exceeded";
/// The error code of an inbound message refused by a control; its message is the SMTP reply.
pub const SMTP_REPLY: &str = "smtp_reply";
/// The error code of an upload larger than `controls.max_upload_bytes` (HTTP 413).
pub const UPLOAD_TOO_LARGE: &str = "attachment_too_large";

const MINUTE_MS: i64 = 60_000;
const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 86_400_000;

/// Server-wide settings of the controls (the `[controls]` section of the configuration).
#[derive(Debug, Clone)]
pub struct ControlSettings {
    /// Limits of every mailbox that sets none of its own (default: unlimited).
    pub mailbox_defaults: Limits,
    /// Limits of every site that sets none of its own (default: unlimited).
    pub site_defaults: Limits,
    /// Messages one client address may send in per minute over SMTP (`None`: unlimited).
    pub smtp_receive_per_minute_per_ip: Option<u64>,
    /// Messages one mailbox may receive per minute over SMTP (`None`: unlimited).
    pub smtp_receive_per_minute_per_mailbox: Option<u64>,
    /// Lifetime of a signed URL when the request names none.
    pub signed_url_default: Duration,
    /// Longest lifetime of a signed URL.
    pub signed_url_max: Duration,
    /// Largest upload in bytes.
    pub max_upload_bytes: u64,
    /// How long an upload may be referenced before it is deleted.
    pub upload_ttl: Duration,
    /// The base of signed URLs, such as `https://mail.example.com` (no trailing slash).
    pub public_url: String,
    /// How often the control worker looks for expired mailboxes, old messages and uploads.
    pub worker_interval: Duration,
    /// Messages the retention worker deletes per round.
    pub retention_batch: u32,
    /// API requests one key may make per second on this node (`None`: unlimited).
    pub api_requests_per_second: Option<u64>,
    /// The per-node state of the API request limit.
    pub api_limiter: Arc<ApiLimiter>,
}

/// The per-key API request limit of one node: GCRA state in memory, keyed by a hash of the
/// key (never the key itself). Per node by design: a check per request must not cost a
/// database write; the sending limits, which must hold across nodes, live in the store.
#[derive(Debug, Default)]
pub struct ApiLimiter {
    tats: std::sync::Mutex<std::collections::HashMap<[u8; 32], i64>>,
}

impl ApiLimiter {
    /// Takes one request of `key` against `per_second`; returns the note for the headers and
    /// whether the request may run.
    pub fn take(&self, key: &[u8], per_second: u64) -> (RateNote, bool) {
        let hash: [u8; 32] = Sha256::digest(key).into();
        let now_ms = now().timestamp_millis();
        let bucket = RateBucket { key: String::new(), limit: per_second, period_ms: 1000 };
        let mut tats = self.tats.lock().unwrap_or_else(|e| e.into_inner());
        if tats.len() > 100_000 {
            tats.retain(|_, t| *t > now_ms);
        }
        let stored = tats.get(&hash).copied().unwrap_or(0);
        let (decision, new) = mailroom_store::gcra(std::slice::from_ref(&bucket), &[stored], 1, now_ms);
        if decision.allowed {
            tats.insert(hash, new[0]);
        }
        let st = decision.states[0];
        let note = RateNote {
            name: "api_key.requests_per_second".into(),
            limit: per_second,
            remaining: st.remaining,
            reset_secs: ceil_secs(st.reset_ms),
            retry_after_secs: (!decision.allowed).then_some(ceil_secs(st.retry_after_ms).max(1)),
        };
        (note, decision.allowed)
    }
}

impl Default for ControlSettings {
    fn default() -> Self {
        Self {
            mailbox_defaults: Limits::default(),
            site_defaults: Limits::default(),
            smtp_receive_per_minute_per_ip: None,
            smtp_receive_per_minute_per_mailbox: None,
            signed_url_default: Duration::from_secs(3600),
            signed_url_max: Duration::from_secs(7 * 86_400),
            max_upload_bytes: 25 * 1024 * 1024,
            upload_ttl: Duration::from_secs(86_400),
            public_url: "http://127.0.0.1:8025".into(),
            worker_interval: Duration::from_secs(1),
            retention_batch: 100,
            api_requests_per_second: None,
            api_limiter: Arc::default(),
        }
    }
}

/// The rate-limit state of the last limited operation of this request: what the
/// `RateLimit-Limit`, `RateLimit-Remaining`, `RateLimit-Reset` and `Retry-After` headers say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateNote {
    /// The limit that decided (`mailbox.send_per_minute`, `site.send_per_day`, …).
    pub name: String,
    /// Its size (units per window).
    pub limit: u64,
    /// Units left.
    pub remaining: u64,
    /// Seconds until the window is whole again.
    pub reset_secs: u64,
    /// Seconds to wait before retrying, when refused.
    pub retry_after_secs: Option<u64>,
}

tokio::task_local! {
    /// The rate decision of the request running in this task, for the HTTP layer's headers.
    pub static RATE_NOTE: RefCell<Option<RateNote>>;
}

fn note(n: RateNote) {
    let _ = RATE_NOTE.try_with(|c| *c.borrow_mut() = Some(n));
}

/// Returns the rate decision noted in this task, if any.
pub fn rate_note() -> Option<RateNote> {
    RATE_NOTE.try_with(|c| c.borrow().clone()).ok().flatten()
}

fn ceil_secs(ms: i64) -> u64 {
    ((ms.max(0) + 999) / 1000) as u64
}

type HmacSha256 = Hmac<Sha256>;

impl Engine {
    /// Returns the engine with these control settings.
    pub fn with_controls(mut self, settings: ControlSettings) -> Self {
        self.controls = Arc::new(settings);
        self
    }

    /// Returns the control settings.
    pub fn control_settings(&self) -> &ControlSettings {
        &self.controls
    }

    /// Returns the controls stored for `scope` and the limits in force there.
    pub async fn controls_of(&self, scope: ControlScope) -> EngineResult<(Controls, Limits)> {
        let stored = self.store.get_controls(scope).await?.unwrap_or_default();
        Ok(self.in_force(scope, stored))
    }

    /// Like [`Engine::controls_of`] for several scopes, in one store read.
    pub async fn controls_of_each(&self, scopes: &[ControlScope]) -> EngineResult<Vec<(Controls, Limits)>> {
        let stored = self.store.get_controls_of(scopes).await?;
        Ok(self.each_in_force(scopes, stored))
    }

    /// The controls stored for each of `scopes` (`stored`, in their order; `None` where none
    /// are) with the limits in force there.
    pub(crate) fn each_in_force(&self, scopes: &[ControlScope], stored: impl IntoIterator<Item = Option<Controls>>) -> Vec<(Controls, Limits)> {
        scopes.iter().zip(stored).map(|(scope, c)| self.in_force(*scope, c.unwrap_or_default())).collect()
    }

    /// The stored controls of `scope` with the limits in force there (the configured defaults
    /// where the scope sets none).
    fn in_force(&self, scope: ControlScope, stored: Controls) -> (Controls, Limits) {
        let defaults = match scope {
            ControlScope::Site(_) => &self.controls.site_defaults,
            ControlScope::Mailbox(_) => &self.controls.mailbox_defaults,
        };
        let limits = stored.limits.resolve(defaults);
        (stored, limits)
    }

    /// The scopes whose controls apply to mail for `mailbox`: its own, then its site's.
    pub(crate) fn mailbox_scopes(mailbox: &Mailbox) -> [ControlScope; 2] {
        [ControlScope::Mailbox(mailbox.id), ControlScope::Site(mailbox.site_id)]
    }

    /// Returns the view of `scope`'s controls (limits, retention, usage).
    pub async fn controls_view(&self, scope: ControlScope) -> EngineResult<ControlsView> {
        let (stored, limits) = self.controls_of(scope).await?;
        let usage = self.store.usage(scope).await?;
        Ok(ControlsView { limits, retention_days: stored.retention_days, usage, approval_policy: None })
    }

    /// Returns a mailbox as the API shows it: its fields plus `expires_at`, `limits`,
    /// `retention_days` and `usage`.
    pub async fn mailbox_view(&self, mailbox: &Mailbox) -> EngineResult<MailboxView> {
        let scope = ControlScope::Mailbox(mailbox.id);
        let (stored, limits) = self.controls_of(scope).await?;
        let usage = self.store.usage(scope).await?;
        Ok(MailboxView { mailbox: mailbox.clone(), expires_at: stored.expires_at, limits, retention_days: stored.retention_days, usage })
    }

    /// Returns `GET /v1/usage` for `site`.
    pub async fn usage_report(&self, site: SiteId) -> EngineResult<UsageReport> {
        let site_view = self.controls_view(ControlScope::Site(site)).await?;
        let mut mailboxes = Vec::new();
        let mut before = None;
        loop {
            let page = self.store.list_mailboxes(Some(site), before, 100).await?;
            for m in &page {
                let scope = ControlScope::Mailbox(m.id);
                let (stored, _) = self.controls_of(scope).await?;
                mailboxes.push(MailboxUsage {
                    mailbox_id: m.id,
                    address: m.address.to_string(),
                    controls: self.controls_view(scope).await?,
                    expires_at: stored.expires_at,
                });
            }
            if page.len() < 100 {
                break;
            }
            before = page.last().map(|m| m.id);
        }
        Ok(UsageReport { site_id: site, site: site_view, mailboxes })
    }

    /// Applies `PATCH /v1/sites/{id}`: the site's limits and retention.
    pub async fn update_site_controls(&self, site: SiteId, req: &UpdateSiteRequest) -> EngineResult<ControlsView> {
        if self.store.get_site(site).await?.is_none() {
            return Err(EngineError::NotFound(format!("no site with id {site}")));
        }
        let scope = ControlScope::Site(site);
        let mut stored = self.store.get_controls(scope).await?.unwrap_or_default();
        if let Some(l) = &req.limits {
            check_limits(l)?;
            stored.limits = stored.limits.merged(l);
        }
        if let Some(r) = req.retention_days {
            check_retention(r)?;
            stored.retention_days = r;
        }
        if let Some(p) = req.approval_policy {
            self.set_approval_policy("site", &site.to_string(), p).await?;
        }
        if req.limits.is_some() || req.retention_days.is_some() {
            self.store.put_controls(scope, site, &stored).await?;
        }
        let mut view = self.controls_view(scope).await?;
        view.approval_policy = Some(self.approval_policy("site", &site.to_string()).await?);
        Ok(view)
    }

    /// Stores the expiry a new mailbox asked for (`ttl_seconds` or `expires_at`).
    pub(crate) async fn apply_create_controls(&self, mailbox: &Mailbox, req: &CreateMailboxRequest) -> EngineResult<()> {
        let expires_at = expiry_of(req.ttl_seconds, req.expires_at.map(Some))?.flatten();
        if expires_at.is_some() {
            let controls = Controls { expires_at, ..Default::default() };
            self.store.put_controls(ControlScope::Mailbox(mailbox.id), mailbox.site_id, &controls).await?;
        }
        Ok(())
    }

    /// Checks the control fields of `POST /v1/mailboxes` before the mailbox is created.
    pub(crate) fn check_create_controls(req: &CreateMailboxRequest) -> EngineResult<()> {
        expiry_of(req.ttl_seconds, req.expires_at.map(Some))?;
        Ok(())
    }

    /// Checks the control fields of `PATCH /v1/mailboxes/{id}` before anything is saved.
    pub(crate) fn check_update_controls(req: &UpdateMailboxRequest) -> EngineResult<()> {
        if let Some(l) = &req.limits {
            check_limits(l)?;
        }
        if let Some(r) = req.retention_days {
            check_retention(r)?;
        }
        expiry_of(req.ttl_seconds, req.expires_at)?;
        Ok(())
    }

    /// Saves the control fields of `PATCH /v1/mailboxes/{id}`: limits, retention, expiry.
    pub(crate) async fn apply_update_controls(&self, mailbox: &Mailbox, req: &UpdateMailboxRequest) -> EngineResult<()> {
        if req.limits.is_none() && req.retention_days.is_none() && req.ttl_seconds.is_none() && req.expires_at.is_none() {
            return Ok(());
        }
        let scope = ControlScope::Mailbox(mailbox.id);
        let mut stored = self.store.get_controls(scope).await?.unwrap_or_default();
        if let Some(l) = &req.limits {
            stored.limits = stored.limits.merged(l);
        }
        if let Some(r) = req.retention_days {
            stored.retention_days = r;
        }
        if let Some(e) = expiry_of(req.ttl_seconds, req.expires_at)? {
            stored.expires_at = e;
        }
        self.store.put_controls(scope, mailbox.site_id, &stored).await?;
        Ok(())
    }

    /// Tells whether `mailbox` has expired (the worker deletes it soon; until then it takes
    /// no mail).
    pub async fn mailbox_expired(&self, mailbox: MailboxId) -> EngineResult<bool> {
        Ok(self.store.get_controls(ControlScope::Mailbox(mailbox)).await?.and_then(|c| c.expires_at).is_some_and(|t| t <= now()))
    }

    /// The send path's one control hook: refuses a send from `mailbox` when its or its
    /// site's storage is full (`quota_exceeded`) or a sending rate limit is reached
    /// (`rate_limited`); otherwise takes one send from every rate bucket (durably, shared by
    /// every node). A send refused later in the send path still counts.
    pub async fn check_send_controls(&self, mailbox: &Mailbox) -> EngineResult<()> {
        let (_, mailbox_limits) = self.controls_of(ControlScope::Mailbox(mailbox.id)).await?;
        let (_, site_limits) = self.controls_of(ControlScope::Site(mailbox.site_id)).await?;
        for (scope, limits, name) in
            [(ControlScope::Mailbox(mailbox.id), &mailbox_limits, "mailbox"), (ControlScope::Site(mailbox.site_id), &site_limits, "site")]
        {
            if let Some(which) = self.over_quota(scope, limits, 0).await? {
                self.quota_event(mailbox, "send", &format!("{name}.{which}")).await;
                return Err(EngineError::invalid(
                    QUOTA_EXCEEDED,
                    format!("the {name}'s storage quota ({name}.{which}) is full; delete messages or raise `limits.{which}`"),
                ));
            }
        }
        let mut buckets = Vec::new();
        let mut names = Vec::new();
        for (scope, limits, who) in
            [(mailbox.id.to_string(), &mailbox_limits, "mailbox"), (mailbox.site_id.to_string(), &site_limits, "site")]
        {
            for (limit, period, window) in
                [(limits.send_per_minute, MINUTE_MS, "minute"), (limits.send_per_hour, HOUR_MS, "hour"), (limits.send_per_day, DAY_MS, "day")]
            {
                if let Some(limit) = limit {
                    buckets.push(RateBucket { key: format!("send:{who}:{scope}:{window}"), limit, period_ms: period });
                    names.push((format!("{who}.send_per_{window}"), limit, window));
                }
            }
        }
        if buckets.is_empty() {
            return Ok(());
        }
        if buckets.iter().any(|b| b.limit == 0) {
            let i = buckets.iter().position(|b| b.limit == 0).unwrap_or(0);
            note(RateNote { name: names[i].0.clone(), limit: 0, remaining: 0, reset_secs: 0, retry_after_secs: None });
            return Err(EngineError::invalid(RATE_LIMITED, format!("the limit {} is 0: this sender may not send", names[i].0)));
        }
        let decision = self.store.take_rate(&buckets, 1, now()).await?;
        // The deciding bucket: the one that refused, else the one with the fewest left.
        let index = if decision.allowed {
            (0..buckets.len()).min_by_key(|i| decision.states[*i].remaining).unwrap_or(0)
        } else {
            (0..buckets.len()).filter(|i| decision.states[*i].remaining == 0).max_by_key(|i| decision.states[*i].retry_after_ms).unwrap_or(0)
        };
        let state = decision.states[index];
        let (name, limit, window) = &names[index];
        let retry = ceil_secs(state.retry_after_ms).max(1);
        note(RateNote {
            name: name.clone(),
            limit: *limit,
            remaining: state.remaining,
            reset_secs: ceil_secs(state.reset_ms),
            retry_after_secs: (!decision.allowed).then_some(retry),
        });
        if decision.allowed {
            Ok(())
        } else {
            metrics::counter!("mailroom_rate_limited_total", "limit" => name.clone()).increment(1);
            Err(EngineError::invalid(RATE_LIMITED, format!("rate limit {name} ({limit} per {window}) reached; retry after {retry} s")))
        }
    }

    /// Returns which quota of `scope` is exceeded when `incoming` more bytes (and one more
    /// message, when `incoming` > 0) are stored; `None` when it fits. With `incoming` 0 it
    /// tells whether the quota is already full.
    async fn over_quota(&self, scope: ControlScope, limits: &Limits, incoming: u64) -> EngineResult<Option<&'static str>> {
        if limits.storage_bytes.is_none() && limits.max_messages.is_none() {
            return Ok(None);
        }
        let usage = self.store.usage(scope).await?;
        if let Some(max) = limits.max_messages {
            let full = if incoming > 0 { usage.messages + 1 > max } else { usage.messages >= max };
            if full {
                return Ok(Some("max_messages"));
            }
        }
        if let Some(max) = limits.storage_bytes {
            let full = if incoming > 0 { usage.storage_bytes + incoming > max } else { usage.storage_bytes >= max };
            if full {
                return Ok(Some("storage_bytes"));
            }
        }
        Ok(None)
    }

    async fn quota_event(&self, mailbox: &Mailbox, via: &str, limit: &str) {
        let event = NewEvent::new(
            mailbox.site_id,
            Some(mailbox.id),
            MAILBOX_QUOTA_EXCEEDED,
            serde_json::json!({"mailbox_id": mailbox.id, "address": mailbox.address, "limit": limit, "via": via}),
        );
        if let Err(e) = self.store.append_events(std::slice::from_ref(&event)).await {
            tracing::warn!(error = %e, "could not log mailbox.quota_exceeded");
        }
    }

    /// Checks one SMTP recipient mailbox against its receive controls; returns the SMTP
    /// reply to give instead of accepting it: `452 4.2.2` when its storage is full, `451
    /// 4.7.1` past a receive rate (per client address on the transaction's first recipient,
    /// per mailbox on each).
    pub async fn check_receive_controls(&self, mailbox: &Mailbox, client: std::net::IpAddr, first_recipient: bool) -> EngineResult<Option<String>> {
        let controls = self.controls_of_each(&Self::mailbox_scopes(mailbox)).await?;
        self.receive_controls_reply(mailbox, client, first_recipient, &controls).await
    }

    /// [`Engine::check_receive_controls`] with the controls of the mailbox and its site
    /// already read (`controls`, in [`Engine::mailbox_scopes`] order).
    pub(crate) async fn receive_controls_reply(
        &self,
        mailbox: &Mailbox,
        client: std::net::IpAddr,
        first_recipient: bool,
        controls: &[(Controls, Limits)],
    ) -> EngineResult<Option<String>> {
        for (scope, (_, limits)) in Self::mailbox_scopes(mailbox).into_iter().zip(controls) {
            if self.over_quota(scope, limits, 0).await?.is_some() {
                self.quota_event(mailbox, "smtp", "storage").await;
                return Ok(Some("452 4.2.2 Mailbox full, try again later".into()));
            }
        }
        let mut buckets = Vec::new();
        if first_recipient && let Some(limit) = self.controls.smtp_receive_per_minute_per_ip {
            buckets.push(RateBucket { key: format!("recv:ip:{client}"), limit, period_ms: MINUTE_MS });
        }
        if let Some(limit) = self.controls.smtp_receive_per_minute_per_mailbox {
            buckets.push(RateBucket { key: format!("recv:mailbox:{}", mailbox.id), limit, period_ms: MINUTE_MS });
        }
        if buckets.is_empty() {
            return Ok(None);
        }
        let decision = self.store.take_rate(&buckets, 1, now()).await?;
        if decision.allowed {
            Ok(None)
        } else {
            metrics::counter!("mailroom_smtp_receive_rate_limited_total").increment(1);
            Ok(Some("451 4.7.1 Receiving rate exceeded, try again later".into()))
        }
    }

    /// Checks, before anything is stored, that a message of `size` bytes fits the quotas of
    /// every recipient mailbox (and their sites). Returns the SMTP reply when it does not:
    /// `552 5.2.2` when the message can never fit, `452 4.2.2` when the mailbox is too full
    /// for it now.
    /// `via` names the path in the `mailbox.quota_exceeded` event (`smtp`, `local`).
    pub async fn check_inbound_quota(&self, mailboxes: &[Mailbox], size: u64, via: &str) -> EngineResult<Option<String>> {
        for mailbox in mailboxes {
            let controls = self.controls_of_each(&Self::mailbox_scopes(mailbox)).await?;
            if let Some(reply) = self.quota_reply(mailbox, &controls, size, via).await? {
                return Ok(Some(reply));
            }
        }
        Ok(None)
    }

    /// The quota check of [`Engine::check_inbound_quota`] for one mailbox whose controls
    /// (those of [`Engine::mailbox_scopes`]) are read already.
    pub(crate) async fn quota_reply(&self, mailbox: &Mailbox, controls: &[(Controls, Limits)], size: u64, via: &str) -> EngineResult<Option<String>> {
        for (scope, (_, limits)) in Self::mailbox_scopes(mailbox).into_iter().zip(controls) {
            if limits.storage_bytes.is_some_and(|max| size > max) || limits.max_messages == Some(0) {
                self.quota_event(mailbox, via, "storage_bytes").await;
                return Ok(Some("552 5.2.2 Message exceeds the mailbox's storage quota".into()));
            }
            if let Some(which) = self.over_quota(scope, limits, size.max(1)).await? {
                self.quota_event(mailbox, via, which).await;
                return Ok(Some("452 4.2.2 Mailbox full, try again later".into()));
            }
        }
        Ok(None)
    }

    // ---- attachments uploaded first -------------------------------------------------------

    /// Stores an uploaded attachment (`POST /v1/attachments`) and returns its record.
    pub async fn upload_attachment(&self, site: SiteId, filename: Option<String>, content_type: Option<String>, content: Bytes) -> EngineResult<UploadedAttachment> {
        if content.len() as u64 > self.controls.max_upload_bytes {
            return Err(EngineError::invalid(
                UPLOAD_TOO_LARGE,
                format!("the upload is {} bytes; the limit is {} bytes", content.len(), self.controls.max_upload_bytes),
            ));
        }
        if content.is_empty() {
            return Err(EngineError::invalid("invalid_attachment", "the upload is empty; send the file's bytes as the request body"));
        }
        let filename = filename.map(|f| f.trim().to_string()).filter(|f| !f.is_empty());
        if let Some(f) = &filename
            && (f.chars().any(|c| c.is_control()) || f.len() > 255)
        {
            return Err(EngineError::invalid("invalid_attachment", "`filename` must be 1 to 255 characters without control characters"));
        }
        let content_type = content_type
            .map(|c| c.split(';').next().unwrap_or("").trim().to_ascii_lowercase())
            .filter(|c| !c.is_empty())
            .unwrap_or_else(|| "application/octet-stream".into());
        if !valid_mime_type(&content_type) {
            return Err(EngineError::invalid("invalid_attachment", format!("`{content_type}` is not a MIME type such as application/pdf")));
        }
        let id = AttachmentId::new();
        let created_at = now();
        let upload = UploadedAttachment {
            id,
            site_id: site,
            filename,
            content_type,
            size: content.len() as u64,
            sha256: hex::encode(Sha256::digest(&content)),
            created_at,
            expires_at: created_at + ChronoDuration::from_std(self.controls.upload_ttl).unwrap_or(ChronoDuration::days(1)),
            blob_key: format!("uploads/{id}"),
        };
        self.blobs.put(&upload.blob_key, content).await?;
        if let Err(e) = self.store.create_upload(&upload).await {
            self.delete_blobs(vec![upload.blob_key.clone()]).await;
            return Err(e.into());
        }
        Ok(upload)
    }

    /// Returns an upload of `site`, or `not_found`.
    pub async fn get_upload(&self, site: SiteId, id: AttachmentId) -> EngineResult<UploadedAttachment> {
        self.store
            .get_upload(id)
            .await?
            .filter(|u| u.site_id == site && u.expires_at > now())
            .ok_or_else(|| EngineError::NotFound(format!("no uploaded attachment with id {id}")))
    }

    /// Splits a send's attachments into inline ones (base64, decoded by the send path) and
    /// uploaded ones (`attachment_id`), loading the latter's content. The send path's
    /// attachment hook.
    pub async fn resolve_uploaded_attachments(&self, site: SiteId, inputs: &[AttachmentInput]) -> EngineResult<(Vec<AttachmentInput>, Vec<OutgoingAttachment>)> {
        if inputs.iter().all(|a| a.attachment_id.is_none()) {
            return Ok((inputs.to_vec(), Vec::new()));
        }
        let mut inline = Vec::new();
        let mut uploaded = Vec::new();
        for (i, a) in inputs.iter().enumerate() {
            let Some(id) = a.attachment_id else {
                inline.push(a.clone());
                continue;
            };
            if !a.content_base64.is_empty() {
                return Err(EngineError::invalid("invalid_attachment", format!("`attachments[{i}]`: give `attachment_id` or `content_base64`, not both")));
            }
            let upload = self.get_upload(site, id).await.map_err(|_| {
                EngineError::invalid("invalid_attachment", format!("`attachments[{i}].attachment_id` {id} names no upload of this site (uploads expire)"))
            })?;
            let content = self.blobs.get(&upload.blob_key).await?;
            let filename = Some(a.filename.trim().to_string()).filter(|f| !f.is_empty()).or(upload.filename.clone()).unwrap_or_else(|| "attachment".into());
            if filename.chars().any(|c| c.is_control()) || filename.len() > 255 {
                return Err(EngineError::invalid("invalid_attachment", format!("`attachments[{i}].filename` must be 1 to 255 characters without control characters")));
            }
            let content_type = a.content_type.clone().unwrap_or(upload.content_type.clone());
            if !valid_mime_type(&content_type) {
                return Err(EngineError::invalid("invalid_attachment", format!("`attachments[{i}].content_type` `{content_type}` is not a MIME type")));
            }
            uploaded.push(OutgoingAttachment { filename, content_type, content: content.to_vec(), content_id: a.content_id.clone() });
        }
        Ok((inline, uploaded))
    }

    // ---- signed download URLs ---------------------------------------------------------------

    fn url_key(&self) -> [u8; 32] {
        // Derived from the server key like the bounce token, with its own label.
        let mut h = Sha256::new();
        h.update(self.secrets.mac_key());
        h.update(b"mailroom-attachment-url");
        h.finalize().into()
    }

    fn url_mac(&self, id: AttachmentId, site: SiteId, expires: i64) -> HmacSha256 {
        let mut mac = <HmacSha256 as Mac>::new_from_slice(&self.url_key()).expect("HMAC takes any key length");
        mac.update(format!("{id}.{expires}.{site}").as_bytes());
        mac
    }

    /// Returns the site that owns an attachment (of a message, or uploaded), if it exists.
    pub async fn attachment_site(&self, id: AttachmentId) -> EngineResult<Option<SiteId>> {
        if let Some((_, _, site)) = self.store.get_attachment(id).await? {
            return Ok(Some(site));
        }
        Ok(self.store.get_upload(id).await?.map(|u| u.site_id))
    }

    /// Returns a signed URL for an attachment (of a message or uploaded) that `site` owns.
    /// `expires_in` defaults to `controls.signed_url_default_secs` and may not pass
    /// `controls.signed_url_max_secs`.
    pub async fn signed_attachment_url(&self, site: SiteId, id: AttachmentId, expires_in: Option<u64>) -> EngineResult<SignedUrl> {
        let max = self.controls.signed_url_max.as_secs();
        let secs = expires_in.unwrap_or(self.controls.signed_url_default.as_secs());
        if secs == 0 || secs > max {
            return Err(EngineError::invalid("validation_error", format!("`expires_in_seconds` must be 1 to {max}")));
        }
        if self.find_attachment(id).await?.filter(|(_, owner, _)| *owner == site).is_none() {
            return Err(EngineError::NotFound(format!("no attachment with id {id}")));
        }
        Ok(self.sign_url(site, id, secs))
    }

    /// Returns a signed URL with the default lifetime, for `download_url` fields.
    pub fn download_url(&self, site: SiteId, id: AttachmentId) -> String {
        self.sign_url(site, id, self.controls.signed_url_default.as_secs()).url
    }

    fn sign_url(&self, site: SiteId, id: AttachmentId, secs: u64) -> SignedUrl {
        let expires_at = now() + ChronoDuration::seconds(secs as i64);
        let expires = expires_at.timestamp();
        let sig = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(self.url_mac(id, site, expires).finalize().into_bytes());
        let base = self.controls.public_url.trim_end_matches('/');
        SignedUrl {
            url: format!("{base}/v1/attachments/{id}/download?site={site}&expires={expires}&signature={sig}"),
            expires_at: DateTime::from_timestamp(expires, 0).unwrap_or(expires_at),
        }
    }

    async fn find_attachment(&self, id: AttachmentId) -> EngineResult<Option<(DownloadInfo, SiteId, Option<String>)>> {
        if let Some((a, _, site)) = self.store.get_attachment(id).await? {
            return Ok(Some((DownloadInfo { filename: a.filename, content_type: a.content_type, blob_key: a.blob_key, size: a.size }, site, None)));
        }
        if let Some(u) = self.store.get_upload(id).await?.filter(|u| u.expires_at > now()) {
            return Ok(Some((DownloadInfo { filename: u.filename, content_type: u.content_type, blob_key: u.blob_key, size: u.size }, u.site_id, None)));
        }
        Ok(None)
    }

    /// Opens a signed download: checks the signature (constant time) and the expiry before
    /// looking anything up, then the attachment. `None` for every failure alike, so the
    /// answer never tells whether an attachment exists.
    pub async fn open_signed_download(&self, id: &str, site: &str, expires: &str, signature: &str) -> EngineResult<Option<(DownloadInfo, mailroom_store::BlobStream)>> {
        let (Ok(id), Ok(site), Ok(expires)) = (id.parse::<AttachmentId>(), site.parse::<SiteId>(), expires.parse::<i64>()) else {
            return Ok(None);
        };
        let Ok(sig) = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(signature) else { return Ok(None) };
        if self.url_mac(id, site, expires).verify_slice(&sig).is_err() {
            return Ok(None);
        }
        if expires <= now().timestamp() {
            return Ok(None);
        }
        let Some((info, owner, _)) = self.find_attachment(id).await? else { return Ok(None) };
        if owner != site {
            return Ok(None);
        }
        let content = self.blobs.get_stream(&info.blob_key).await?;
        Ok(Some((info, content)))
    }

    // ---- workers --------------------------------------------------------------------------

    /// Deletes expired mailboxes (with their mail and blobs, logging `mailbox.expired`);
    /// returns how many.
    pub async fn expire_mailboxes(&self, limit: u32) -> EngineResult<usize> {
        let ids = self.store.expired_mailboxes(now(), limit).await?;
        let mut done = 0;
        for id in ids {
            let Some(mailbox) = self.store.get_mailbox(id).await? else { continue };
            let event = NewEvent::new(
                mailbox.site_id,
                Some(mailbox.id),
                MAILBOX_EXPIRED,
                serde_json::json!({"id": mailbox.id, "address": mailbox.address}),
            );
            match self.store.delete_mailbox(mailbox.id, &event).await {
                Ok(keys) => {
                    self.delete_blobs(keys).await;
                    tracing::info!(mailbox = %mailbox.address, "ephemeral mailbox expired and deleted");
                    done += 1;
                }
                Err(e) => tracing::warn!(mailbox = %mailbox.address, error = %e, "could not delete an expired mailbox"),
            }
        }
        Ok(done)
    }

    /// Deletes up to `batch` messages older than their retention window, each in its own
    /// short transaction (`message.deleted`); returns how many.
    pub async fn apply_retention(&self, batch: u32) -> EngineResult<usize> {
        let mut done = 0usize;
        for (scope, _site, days) in self.store.retention_rules().await? {
            if done >= batch as usize {
                break;
            }
            let cutoff = now() - ChronoDuration::days(i64::from(days));
            let ids = self.store.messages_before(scope, cutoff, batch - done as u32).await?;
            for id in ids {
                if let Some(message) = self.store.get_message(id).await? {
                    self.delete_message(&message).await?;
                    done += 1;
                }
            }
        }
        if done > 0 {
            metrics::counter!("mailroom_retention_deleted_total").increment(done as u64);
        }
        Ok(done)
    }

    /// Deletes uploads past their expiry; returns how many.
    pub async fn expire_uploads(&self, limit: u32) -> EngineResult<usize> {
        let gone = self.store.delete_expired_uploads(now(), limit).await?;
        let n = gone.len();
        self.delete_blobs(gone.into_iter().map(|u| u.blob_key).collect()).await;
        Ok(n)
    }
}

/// What a download needs to know about an attachment.
#[derive(Debug, Clone)]
pub struct DownloadInfo {
    /// The file name, if any.
    pub filename: Option<String>,
    /// The MIME type.
    pub content_type: String,
    /// Where the bytes are.
    pub blob_key: String,
    /// Size in bytes.
    pub size: u64,
}

fn valid_mime_type(ct: &str) -> bool {
    ct.split_once('/').is_some_and(|(t, s)| {
        let ok = |x: &str| !x.is_empty() && x.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$&^_.+-".contains(&b));
        ok(t) && ok(s)
    })
}

fn check_limits(l: &LimitsPatch) -> EngineResult<()> {
    for (name, v) in [("send_per_minute", l.send_per_minute), ("send_per_hour", l.send_per_hour), ("send_per_day", l.send_per_day)] {
        if let Some(Some(n)) = v
            && n > 1_000_000_000
        {
            return Err(EngineError::invalid("validation_error", format!("`limits.{name}` must be at most 1000000000 (or null for unlimited)")));
        }
    }
    for (name, v, max) in [("storage_bytes", l.storage_bytes, 1_000_000_000_000_000_u64), ("max_messages", l.max_messages, 1_000_000_000_000)] {
        if let Some(Some(n)) = v
            && n > max
        {
            return Err(EngineError::invalid("validation_error", format!("`limits.{name}` must be at most {max} (or null for unlimited)")));
        }
    }
    Ok(())
}

fn check_retention(days: Option<u32>) -> EngineResult<()> {
    if let Some(d) = days
        && !(1..=36_500).contains(&d)
    {
        return Err(EngineError::invalid("validation_error", "`retention_days` must be 1 to 36500, or null to keep messages forever"));
    }
    Ok(())
}

/// Reads `ttl_seconds` / `expires_at` into a new expiry: `None` leaves it, `Some(None)` clears it.
fn expiry_of(ttl: Option<u64>, at: Option<Option<DateTime<Utc>>>) -> EngineResult<Option<Option<DateTime<Utc>>>> {
    match (ttl, at) {
        (Some(_), Some(_)) => Err(EngineError::invalid("validation_error", "give `ttl_seconds` or `expires_at`, not both")),
        (Some(t), None) => {
            if t == 0 || t > 10 * 365 * 86_400 {
                return Err(EngineError::invalid("validation_error", "`ttl_seconds` must be 1 to 315360000"));
            }
            Ok(Some(Some(now() + ChronoDuration::seconds(t as i64))))
        }
        (None, Some(Some(t))) => {
            if t <= now() {
                return Err(EngineError::invalid("validation_error", "`expires_at` must be in the future"));
            }
            Ok(Some(Some(t)))
        }
        (None, Some(None)) => Ok(Some(None)),
        (None, None) => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_rules() {
        assert!(expiry_of(Some(0), None).is_err());
        assert!(expiry_of(Some(5), Some(None)).is_err());
        assert_eq!(expiry_of(None, Some(None)).unwrap(), Some(None));
        assert!(expiry_of(Some(2), None).unwrap().unwrap().is_some());
    }
}

impl Engine {
    /// Completes an event's payload as every reader gets it (webhook bodies, SSE, long-poll,
    /// `GET /v1/events`): the `extracted_text` its stored form keeps as a length, and a signed
    /// `download_url` (default lifetime, counted from now) on each attachment object.
    pub fn complete_event(&self, event: &mut mailroom_core::Event) {
        mailroom_core::reading::expand_extracted_text(&mut event.data);
        let site = event.site_id;
        let Some(list) = event.data.get_mut("attachments").and_then(serde_json::Value::as_array_mut) else { return };
        for a in list.iter_mut().filter_map(serde_json::Value::as_object_mut) {
            if let Some(id) = a.get("id").and_then(serde_json::Value::as_str).and_then(|s| s.parse::<AttachmentId>().ok()) {
                a.insert("download_url".into(), serde_json::Value::String(self.download_url(site, id)));
            }
        }
    }

    /// Fills each attachment's `download_url` with a signed URL of the default lifetime.
    pub fn sign_downloads(&self, message: &mut Message) {
        for a in &mut message.attachments {
            a.download_url = Some(self.download_url(message.site_id, a.id));
        }
    }
}
