//! Layered configuration: built-in defaults, then a TOML file (`--config`), then `MAILROOM_*`
//! environment variables, then command-line flags.
//!
//! Environment variables name a key with its section joined by `_`: `MAILROOM_HTTP_ADDR` sets
//! `http.addr`, `MAILROOM_DATA_DIR` sets `data_dir`.

use anyhow::{Context, bail};
use figment::Figment;
use figment::providers::{Format, Serialized, Toml};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The server's configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Config {
    /// Where the SQLite database, blob files and the admin key live.
    pub data_dir: PathBuf,
    /// `sqlite://…` or `postgres://…`; empty means `sqlite://<data_dir>/mailroom.db`.
    pub database_url: String,
    /// The domain mailboxes get when none is given; always hosted.
    pub default_domain: String,
    /// Further domains this server receives mail for.
    pub domains: Vec<String>,
    /// An admin API key to accept (instead of generating one on first start).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub admin_api_key: Option<String>,
    /// Log filter, such as `info` or `mailroom=debug,info`.
    pub log_level: String,
    /// This server's host name: SMTP banner and EHLO name, MX target of hosted domains.
    pub hostname: String,
    /// Base64 of the 32-byte key that encrypts secrets at rest; when unset, a key file
    /// `<data_dir>/encryption-key` is generated on first start.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encryption_key: Option<String>,
    /// Where raw messages and attachments are kept: local files or an S3-compatible bucket.
    pub blobs: BlobsSection,
    /// The HTTP interface.
    pub http: HttpConfig,
    /// The inbound SMTP listener.
    pub smtp: SmtpSection,
    /// Outbound delivery.
    pub delivery: DeliverySection,
    /// DNS used for MX lookups and SPF/DKIM/DMARC checks.
    pub dns: DnsSection,
    /// Webhook deliveries.
    pub webhooks: WebhooksSection,
    /// The SSRF guard on tenant-chosen and DNS-chosen targets.
    pub security: SecuritySection,
    /// Message limits.
    pub limits: LimitsConfig,
    /// Rate limits, quotas, uploads, signed URLs, expiry and retention (issue 15).
    pub controls: crate::controls::ControlsSection,
    /// The OpenAI-compatible model behind `send_information_email`'s server-side analysis and
    /// translation.
    pub llm: LlmSection,
    /// How log lines are written.
    pub log: LogSection,
    /// The Prometheus endpoint.
    pub metrics: MetricsSection,
}

/// How log lines are written (the filter is `log_level`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LogSection {
    /// `text` (one readable line per event) or `json` (one JSON object per line).
    pub format: String,
}

impl Default for LogSection {
    fn default() -> Self {
        Self { format: "text".into() }
    }
}

/// The Prometheus endpoint `GET /metrics`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct MetricsSection {
    /// Serve `/metrics` at all.
    pub enabled: bool,
    /// Empty: `/metrics` on the HTTP listener. An address such as `127.0.0.1:9464`: on a
    /// listener of its own, and not on the HTTP (API) port.
    pub addr: String,
}

impl Default for MetricsSection {
    fn default() -> Self {
        Self { enabled: true, addr: String::new() }
    }
}

/// An OpenAI-compatible chat-completions endpoint (OpenAI, vLLM, Ollama, LiteLLM…).
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LlmSection {
    /// The API base up to `/chat/completions`, such as `https://api.openai.com/v1`; empty: no
    /// model (agents then pass their own analysis).
    pub base_url: String,
    /// The model, such as `gpt-4o-mini`.
    pub model: String,
    /// The API key (prefer `MAILROOM_LLM_API_KEY`); empty sends none (local servers).
    pub api_key: String,
    /// Seconds one model request may take.
    pub timeout_secs: u64,
}

impl Default for LlmSection {
    fn default() -> Self {
        Self { base_url: String::new(), model: String::new(), api_key: String::new(), timeout_secs: 60 }
    }
}

impl std::fmt::Debug for LlmSection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LlmSection")
            .field("base_url", &self.base_url)
            .field("model", &self.model)
            .field("api_key", &if self.api_key.is_empty() { "" } else { "(set, hidden)" })
            .field("timeout_secs", &self.timeout_secs)
            .finish()
    }
}

/// The inbound SMTP listener.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SmtpSection {
    /// Address to listen on; port 0 picks a free port; empty disables SMTP.
    pub addr: String,
    /// The largest message accepted, in bytes (SIZE; 552 past it).
    pub max_message_bytes: usize,
    /// Recipients per transaction (452 past it).
    pub max_recipients: usize,
    /// Protocol errors per session before 421.
    pub max_errors: usize,
    /// Seconds of silence before 421.
    pub idle_timeout_secs: u64,
    /// Concurrent sessions.
    pub max_connections: usize,
    /// Seconds one session may last in all.
    pub max_session_secs: u64,
    /// Seconds the client has for each complete command line (not reset by single bytes).
    pub command_timeout_secs: u64,
    /// Slowest accepted DATA rate in bytes per second over each `data_rate_window_secs`; 0: off.
    pub min_data_rate: usize,
    /// The window `min_data_rate` is measured over, in seconds.
    pub data_rate_window_secs: u64,
    /// Concurrent sessions from one client address (IPv6: one /64); 0: no limit.
    pub max_connections_per_ip: usize,
    /// New sessions one client address may open per minute; 0: no limit.
    pub max_new_sessions_per_ip_per_minute: usize,
    /// Client addresses or networks (`10.0.0.0/8`) the per-address limits skip.
    pub per_ip_exempt: Vec<String>,
    /// Message bytes all sessions together may hold while receiving; past it 451 4.3.1.
    pub max_inflight_bytes: usize,
    /// PEM certificate chain for STARTTLS; empty: a self-signed one generated at start.
    pub tls_cert: String,
    /// PEM private key for STARTTLS.
    pub tls_key: String,
}

/// Outbound delivery.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DeliverySection {
    /// Runs the delivery worker on this node.
    pub enabled: bool,
    /// A smarthost `host:port` that takes all remote mail; empty: deliver to each domain's MX.
    pub relay: String,
    /// `starttls` (required), `opportunistic`, `implicit` or `none`.
    pub relay_tls: String,
    /// AUTH user name for the relay.
    pub relay_username: String,
    /// AUTH password for the relay (prefer MAILROOM_DELIVERY_RELAY_PASSWORD).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub relay_password: String,
    /// Static routes `domain = "host:port"`, overriding relay and MX.
    pub routes: std::collections::BTreeMap<String, String>,
    /// Seconds to wait after the 1st, 2nd, … temporary failure; the last value repeats.
    pub retry_schedule_secs: Vec<u64>,
    /// Give up (status `failed`) this many seconds after the message was sent.
    pub give_up_after_secs: u64,
    /// Deliveries in parallel.
    pub concurrency: usize,
    /// Seconds a node holds the recipients it claimed; those of a node that died are
    /// claimed by another after this long. An attempt is cut off at nine tenths of it.
    pub lease_secs: u64,
    /// Accept any TLS certificate from peers (development only).
    pub allow_invalid_certs: bool,
}

/// Webhook deliveries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct WebhooksSection {
    /// Run the webhook worker on this node.
    pub enabled: bool,
    /// Allow endpoints on loopback, private and link-local addresses (development and tests).
    pub allow_private_targets: bool,
    /// Seconds before each attempt (the first is normally 0); the delivery fails after the last.
    pub retry_schedule_secs: Vec<u64>,
    /// Seconds one request may take; only a 2xx within it counts as delivered.
    pub timeout_secs: u64,
    /// An endpoint failing for this many seconds without a success is disabled.
    pub disable_after_secs: u64,
    /// The largest payload sent; larger events are trimmed and carry a URL to the rest.
    pub max_payload_bytes: usize,
    /// Seconds the previous secret keeps signing after a rotation.
    pub rotation_overlap_secs: u64,
    /// Requests in flight at once.
    pub concurrency: usize,
    /// Seconds a node holds the deliveries it claimed (at least `timeout_secs` + 10); those
    /// of a node that died are claimed by another after this long.
    pub lease_secs: u64,
}

impl Default for WebhooksSection {
    fn default() -> Self {
        Self {
            enabled: true,
            allow_private_targets: false,
            retry_schedule_secs: vec![0, 5, 300, 1800, 7200, 18000, 36000, 36000],
            timeout_secs: 15,
            disable_after_secs: 5 * 24 * 3600,
            max_payload_bytes: 256 * 1024,
            rotation_overlap_secs: 24 * 3600,
            concurrency: 16,
            lease_secs: 60,
        }
    }
}

/// Where raw messages and attachments are kept.
#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct BlobsSection {
    /// Empty: files under `<data_dir>/blobs`; `file:///path`: files under that directory;
    /// `s3://bucket/prefix`: objects in an S3-compatible bucket (needed by several nodes).
    pub url: String,
    /// The S3-compatible service's URL (MinIO, Ceph, R2, …); empty: AWS S3.
    pub endpoint: String,
    /// The S3 region; empty: `AWS_REGION` or `us-east-1`.
    pub region: String,
    /// The S3 access key id; empty (with the secret): the standard `AWS_*` variables or the
    /// instance's credentials.
    pub access_key_id: String,
    /// The S3 secret access key (prefer `MAILROOM_BLOBS_SECRET_ACCESS_KEY`); never logged.
    pub secret_access_key: String,
    /// Allows a plain `http://` endpoint (development and tests).
    pub allow_http: bool,
}

impl std::fmt::Debug for BlobsSection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlobsSection")
            .field("url", &self.url)
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &if self.secret_access_key.is_empty() { "" } else { "(set, hidden)" })
            .field("allow_http", &self.allow_http)
            .finish()
    }
}

impl BlobsSection {
    /// Returns the S3 settings when `url` names a bucket.
    pub fn s3(&self) -> Option<mailroom_blob_s3::S3Config> {
        let url = self.url.trim();
        if !url.starts_with("s3://") {
            return None;
        }
        let some = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
        Some(mailroom_blob_s3::S3Config {
            url: url.to_string(),
            endpoint: some(&self.endpoint),
            region: some(&self.region),
            access_key_id: some(&self.access_key_id),
            secret_access_key: some(&self.secret_access_key),
            allow_http: self.allow_http,
        })
    }
}

/// DNS settings.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DnsSection {
    /// Name servers (`ip:port`) to ask; empty: the system's resolver configuration.
    pub nameservers: Vec<String>,
}

impl Default for SmtpSection {
    fn default() -> Self {
        Self {
            addr: "127.0.0.1:2525".into(),
            max_message_bytes: 25 * 1024 * 1024,
            max_recipients: 100,
            max_errors: 10,
            idle_timeout_secs: 300,
            max_connections: 1000,
            max_session_secs: 600,
            command_timeout_secs: 300,
            min_data_rate: 1024,
            data_rate_window_secs: 30,
            max_connections_per_ip: 50,
            max_new_sessions_per_ip_per_minute: 300,
            per_ip_exempt: vec!["127.0.0.1".into(), "::1".into()],
            max_inflight_bytes: 256 * 1024 * 1024,
            tls_cert: String::new(),
            tls_key: String::new(),
        }
    }
}

impl Default for DeliverySection {
    fn default() -> Self {
        Self {
            enabled: true,
            relay: String::new(),
            relay_tls: "starttls".into(),
            relay_username: String::new(),
            relay_password: String::new(),
            routes: Default::default(),
            retry_schedule_secs: vec![60, 300, 900, 1800, 3600, 7200, 14400, 28800],
            give_up_after_secs: 5 * 24 * 3600,
            concurrency: 16,
            lease_secs: 300,
            allow_invalid_certs: false,
        }
    }
}



/// The HTTP interface.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct HttpConfig {
    /// Address to listen on; port 0 picks a free port.
    pub addr: String,
    /// The largest request body, in bytes.
    pub max_body_bytes: usize,
    /// The URL clients use to reach this server (behind a proxy: its public address); empty
    /// means `http://<addr>`. Used in links inside webhook payloads.
    pub public_url: String,
    /// `Host` header values the MCP endpoint (`/mcp`) accepts besides `localhost`,
    /// `127.0.0.1`, `::1`, the host of `public_url` and the listen address: `host` or
    /// `host:port`; `"*"` accepts any host. Other hosts get 403 (DNS rebinding protection).
    pub mcp_allowed_hosts: Vec<String>,
    /// Seconds a client has to send a request's headers; then the connection is closed.
    pub header_read_timeout_secs: u64,
    /// Seconds a client has to send a request's body; then 408.
    pub body_read_timeout_secs: u64,
    /// Open connections from one client address (IPv6: one /64); 0: no limit.
    pub max_connections_per_ip: usize,
}

/// Message limits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LimitsConfig {
    /// The most recipients one message may have.
    pub max_recipients: usize,
    /// Header fields in one header block (the message's or one MIME part's).
    pub max_header_fields: usize,
    /// Bytes of one header block.
    pub max_header_bytes: usize,
    /// Header fields in a whole message, every part included.
    pub max_total_header_fields: usize,
    /// Header bytes in a whole message, every part included.
    pub max_total_header_bytes: usize,
    /// MIME parts in one message.
    pub max_mime_parts: usize,
    /// Nesting depth of multiparts and enclosed messages.
    pub max_mime_depth: usize,
    /// Header entries `GET /v1/messages/{id}` lists (`headers_truncated` when there are more).
    pub api_max_header_entries: usize,
    /// The most messages one mailbox may send into one thread per hour (`thread_send_limit`
    /// past it; 0: no limit): a guard against reply loops between agents.
    pub thread_send_limit: u32,
}

impl LimitsConfig {
    /// The structural limits on received messages.
    pub fn mime(&self) -> mailroom_core::mime::MimeLimits {
        mailroom_core::mime::MimeLimits {
            max_header_fields: self.max_header_fields,
            max_header_bytes: self.max_header_bytes,
            max_total_header_fields: self.max_total_header_fields,
            max_total_header_bytes: self.max_total_header_bytes,
            max_parts: self.max_mime_parts,
            max_depth: self.max_mime_depth,
        }
    }
}

/// Where Mailroom may connect on behalf of tenants and the DNS.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SecuritySection {
    /// Allows loopback, private, link-local, metadata and reserved addresses as webhook
    /// targets, SMTP-account hosts and MX hosts (development and tests only). The operator's
    /// relay and static routes are always allowed. `webhooks.allow_private_targets` is an
    /// alias.
    pub allow_private_targets: bool,
}

impl Config {
    /// Returns whether private targets are allowed (`security.allow_private_targets`, or its
    /// alias `webhooks.allow_private_targets`).
    pub fn allow_private_targets(&self) -> bool {
        self.security.allow_private_targets || self.webhooks.allow_private_targets
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("./mailroom-data"),
            database_url: String::new(),
            default_domain: "mailroom.localhost".into(),
            domains: Vec::new(),
            admin_api_key: None,
            log_level: "info".into(),
            hostname: "localhost".into(),
            encryption_key: None,
            blobs: BlobsSection::default(),
            http: HttpConfig::default(),
            smtp: SmtpSection::default(),
            delivery: DeliverySection::default(),
            dns: DnsSection::default(),
            webhooks: WebhooksSection::default(),
            security: SecuritySection::default(),
            limits: LimitsConfig::default(),
            controls: crate::controls::ControlsSection::default(),
            llm: LlmSection::default(),
            log: LogSection::default(),
            metrics: MetricsSection::default(),
        }
    }
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            addr: "127.0.0.1:8025".into(),
            max_body_bytes: 35 * 1024 * 1024,
            public_url: String::new(),
            mcp_allowed_hosts: Vec::new(),
            header_read_timeout_secs: 30,
            body_read_timeout_secs: 300,
            max_connections_per_ip: 512,
        }
    }
}

impl Default for LimitsConfig {
    fn default() -> Self {
        let mime = mailroom_core::mime::MimeLimits::default();
        Self {
            max_recipients: 100,
            max_header_fields: mime.max_header_fields,
            max_header_bytes: mime.max_header_bytes,
            max_total_header_fields: mime.max_total_header_fields,
            max_total_header_bytes: mime.max_total_header_bytes,
            max_mime_parts: mime.max_parts,
            max_mime_depth: mime.max_depth,
            api_max_header_entries: 200,
            thread_send_limit: 10,
        }
    }
}

/// The commented default configuration file, printed by `mailroom config default`.
pub const DEFAULT_FILE: &str = r#"# Mailroom configuration. Every key is optional; these are the defaults.
# Precedence: defaults < this file (--config) < MAILROOM_* environment variables < flags.
# Environment variables join section and key with `_`: MAILROOM_HTTP_ADDR sets http.addr.

# Where the SQLite database, blob files and the generated admin API key live.
data_dir = "./mailroom-data"

# sqlite://path/to/file.db or postgres://user@host/db. Empty: sqlite://<data_dir>/mailroom.db
database_url = ""

# Mailboxes created without a domain get this one. It is always hosted.
default_domain = "mailroom.localhost"

# Further domains this server hosts.
domains = []

# Accept this admin API key instead of generating one on first start (prefer the
# MAILROOM_ADMIN_API_KEY environment variable to keeping a secret in a file).
# admin_api_key = "mr_..."

# Log filter: error, warn, info, debug, trace, or per module (mailroom_api=debug,info).
log_level = "info"

# This server's host name: SMTP banner and EHLO name, and the MX target of hosted domains.
hostname = "localhost"

# Base64 of a 32-byte key that encrypts secrets at rest (DKIM keys, SMTP passwords). Prefer
# MAILROOM_ENCRYPTION_KEY. When unset, <data_dir>/encryption-key is generated on first start.
# encryption_key = "..."

[blobs]
# Where raw messages and attachments go. Empty: files under <data_dir>/blobs (one node).
# file:///path: files under /path. s3://bucket/prefix: an S3-compatible bucket, which every
# node of a PostgreSQL deployment must share.
url = ""
# The S3-compatible service's URL, such as http://127.0.0.1:9000 (MinIO); empty: AWS S3.
endpoint = ""
# Empty: AWS_REGION or us-east-1.
region = ""
# Empty (with the secret): the standard AWS_* variables or the instance's credentials.
access_key_id = ""
# secret_access_key = ""   (prefer MAILROOM_BLOBS_SECRET_ACCESS_KEY)
# Allow a plain http:// endpoint (development only).
allow_http = false

[http]
# Address of the REST API, docs (/docs) and health checks. Port 0 picks a free port.
addr = "127.0.0.1:8025"
# The largest request body in bytes (base64 attachments included); larger bodies get 413.
max_body_bytes = 36700160
# The URL clients reach this server at (behind a proxy, its public address); empty means
# http://<addr>. Used in links inside trimmed webhook payloads.
public_url = ""
# Host header values the MCP endpoint /mcp accepts besides localhost, 127.0.0.1, ::1, the
# host of public_url and the listen address ("host" or "host:port"; "*" accepts any host).
# Other hosts get 403, which stops DNS rebinding attacks from a browser.
mcp_allowed_hosts = []
# Seconds a client has to send a request's headers (then the connection is closed) and
# its body (then 408).
header_read_timeout_secs = 30
body_read_timeout_secs = 300
# Open connections from one client address (IPv6: one /64); 0: no limit.
max_connections_per_ip = 512

[smtp]
# Inbound SMTP. Port 0 picks a free port; an empty address disables the listener.
addr = "127.0.0.1:2525"
# SIZE limit in bytes; larger messages get 552.
max_message_bytes = 26214400
# Recipients per transaction; more get 452.
max_recipients = 100
# Protocol errors per session before the server answers 421 and hangs up.
max_errors = 10
# Seconds of silence before 421.
idle_timeout_secs = 300
max_connections = 1000
# Seconds one session may last in all.
max_session_secs = 600
# Seconds the client has for each whole command line (a trickle of bytes does not extend it).
command_timeout_secs = 300
# Slowest DATA accepted, bytes per second over each window (0: off); slower gets 421.
min_data_rate = 1024
data_rate_window_secs = 30
# Per client address (IPv6: per /64): concurrent sessions and new sessions per minute
# (0: no limit); past them 421 4.7.0. Addresses or networks in per_ip_exempt skip both.
max_connections_per_ip = 50
max_new_sessions_per_ip_per_minute = 300
per_ip_exempt = ["127.0.0.1", "::1"]
# Message bytes all sessions together may hold while receiving (0: no limit); past it 451 4.3.1.
max_inflight_bytes = 268435456
# PEM files for STARTTLS. Empty: a self-signed certificate is generated at start (development).
tls_cert = ""
tls_key = ""

[delivery]
# Run the outbound queue worker on this node.
enabled = true
# Smarthost host:port for all remote mail; empty delivers to each domain's MX.
relay = ""
# starttls (required), opportunistic, implicit or none.
relay_tls = "starttls"
relay_username = ""
# relay_password = ""   (prefer MAILROOM_DELIVERY_RELAY_PASSWORD)
# Seconds between attempts after each temporary failure; the last value repeats.
retry_schedule_secs = [60, 300, 900, 1800, 3600, 7200, 14400, 28800]
# Give up after this many seconds (5 days).
give_up_after_secs = 432000
concurrency = 16
# Seconds a node holds the recipients it claimed; a dead node's are retried after this long.
lease_secs = 300
# Accept any TLS certificate from peers (development only).
allow_invalid_certs = false

# Static routes override relay and MX: domain = "host:port".
[delivery.routes]
# "example.test" = "127.0.0.1:2526"

[dns]
# Name servers (ip:port) for MX lookups and SPF/DKIM/DMARC checks; empty uses the system's.
nameservers = []

[security]
# Allow loopback/private/link-local/metadata targets for webhooks, the sites' SMTP accounts
# and MX hosts (development only: SSRF guard off). The relay and static routes are trusted.
allow_private_targets = false

[webhooks]
# Run the webhook worker on this node.
enabled = true
# Alias of security.allow_private_targets (kept for older configuration files).
allow_private_targets = false
# Seconds before each attempt; the first is immediate. Standard Webhooks schedule:
# now, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h. The delivery fails after the last.
retry_schedule_secs = [0, 5, 300, 1800, 7200, 18000, 36000, 36000]
# Only a 2xx within this many seconds counts as delivered.
timeout_secs = 15
# Disable an endpoint that has failed for this long without a single success (5 days).
disable_after_secs = 432000
# Larger payloads are trimmed and carry a URL to fetch the rest.
max_payload_bytes = 262144
# How long the previous secret keeps signing beside the new one after a rotation.
rotation_overlap_secs = 86400
concurrency = 16
# Seconds a node holds the deliveries it claimed (at least timeout_secs + 10); a dead node's
# are retried after this long.
lease_secs = 60

[limits]
# The most recipients (to + cc + bcc) one message may have.
max_recipients = 100
# The most messages one mailbox may send into one thread per hour (0: no limit).
thread_send_limit = 10
# Received messages past these are refused (SMTP 554 5.6.0 naming the limit), checked before
# anything is parsed: header fields and bytes per header block (the message's or one part's),
# in the whole message, MIME parts and nesting depth.
max_header_fields = 1000
max_header_bytes = 1048576
max_total_header_fields = 10000
max_total_header_bytes = 4194304
max_mime_parts = 1000
max_mime_depth = 20
# Header entries GET /v1/messages/{id} lists; past it `headers_truncated` is true (the raw
# route has them all).
api_max_header_entries = 200

[controls]
# Server-wide default limits (0: unlimited). A mailbox's or site's own `limits` (PATCH
# /v1/mailboxes/{id}, PATCH /v1/sites/{id}) replace these field by field. Past a sending rate:
# HTTP 429 rate_limited with Retry-After and RateLimit-* headers. Past a storage quota: SMTP
# 452 4.2.2 (552 5.2.2 when one message can never fit), API 507 quota_exceeded.
mailbox_send_per_minute = 0
mailbox_send_per_hour = 0
mailbox_send_per_day = 0
mailbox_storage_bytes = 0
mailbox_max_messages = 0
site_send_per_minute = 0
site_send_per_hour = 0
site_send_per_day = 0
site_storage_bytes = 0
site_max_messages = 0
# API requests per second per key, counted on each node (0: unlimited); past it 429.
api_requests_per_second = 0
# SMTP receive rates per minute, per client address and per mailbox (0: unlimited);
# past them 451 4.7.1.
smtp_receive_per_minute_per_ip = 0
smtp_receive_per_minute_per_mailbox = 0
# Signed attachment URLs: default and longest lifetime in seconds (at most 7 days).
signed_url_default_secs = 3600
signed_url_max_secs = 604800
# POST /v1/attachments: the largest upload (413 past it), and how long an upload lives.
max_upload_bytes = 26214400
upload_ttl_secs = 86400
# The control worker (once per cluster, leased): seconds between rounds, and messages the
# retention step deletes per round.
worker_interval_secs = 1
retention_batch = 100

[llm]
# An OpenAI-compatible chat-completions API for send_information_email: it analyses the
# conversation transcript (strict structured output) and translates emails. Empty base_url:
# no model; agents pass their own analysis and emails go out in the template's language.
base_url = ""
model = ""
# api_key = ""   (prefer MAILROOM_LLM_API_KEY)
api_key = ""
# Seconds one model request may take.
timeout_secs = 60

[log]
# text: one readable line per event (colours only on a terminal); json: one JSON object per
# line, for log collectors. Every API request and SMTP transaction gets one line at info.
format = "text"

[metrics]
# Serve Prometheus metrics at GET /metrics (no API key: keep the port private).
enabled = true
# Empty: /metrics on the HTTP listener. An address such as "127.0.0.1:9464": on a listener of
# its own, and no longer on the HTTP port.
addr = ""
"#;

const SECTIONS: &[&str] = &["blobs", "http", "smtp", "delivery", "dns", "webhooks", "limits", "llm", "security", "log", "metrics"];

/// Values given as command-line flags; `None` leaves the lower layers in force.
#[derive(Debug, Clone, Default, Serialize)]
pub struct FlagOverrides {
    /// `--data-dir`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,
    /// `--database-url`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_url: Option<String>,
    /// `--default-domain`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_domain: Option<String>,
    /// `--http-addr`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_addr: Option<String>,
    /// `--smtp-addr`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub smtp_addr: Option<String>,
    /// `--hostname`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
}

impl Config {
    /// Loads the layers. `env` is the process environment (passed in so tests can give
    /// their own).
    pub fn load(file: Option<&Path>, env: impl IntoIterator<Item = (String, String)>, flags: &FlagOverrides) -> anyhow::Result<Self> {
        let mut fig = Figment::from(Serialized::defaults(Config::default()));
        if let Some(path) = file {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("could not read the config file {}; `mailroom config default` prints one to start from", path.display()))?;
            check_known_keys(&text).with_context(|| format!("in config file {}", path.display()))?;
            fig = fig.merge(Toml::string(&text));
        }
        for (name, value) in env {
            let Some((key, default)) = name.strip_prefix("MAILROOM_").and_then(env_key) else { continue };
            fig = fig.merge(Serialized::default(&key, parse_env_value(&name, &default, &value)?));
        }
        let mut config: Config = fig.extract().context("the configuration is invalid")?;
        if let Some(d) = &flags.data_dir {
            config.data_dir = d.clone();
        }
        if let Some(u) = &flags.database_url {
            config.database_url = u.clone();
        }
        if let Some(d) = &flags.default_domain {
            config.default_domain = d.clone();
        }
        if let Some(a) = &flags.http_addr {
            config.http.addr = a.clone();
        }
        if let Some(a) = &flags.smtp_addr {
            config.smtp.addr = a.clone();
        }
        if let Some(h) = &flags.hostname {
            config.hostname = h.clone();
        }
        config.validate()?;
        Ok(config)
    }

    /// Checks values that serde alone cannot.
    pub fn validate(&mut self) -> anyhow::Result<()> {
        self.default_domain = self.default_domain.trim().to_ascii_lowercase();
        if mailroom_core::EmailAddress::parse(&format!("postmaster@{}", self.default_domain)).is_err() {
            bail!("default_domain `{}` is not a valid domain name", self.default_domain);
        }
        for d in &mut self.domains {
            *d = d.trim().to_ascii_lowercase();
            if mailroom_core::EmailAddress::parse(&format!("postmaster@{d}")).is_err() {
                bail!("domains: `{d}` is not a valid domain name");
            }
        }
        self.http.addr.parse::<std::net::SocketAddr>().with_context(|| format!("http.addr `{}` is not an address such as 127.0.0.1:8025", self.http.addr))?;
        if self.http.max_body_bytes < 1024 {
            bail!("http.max_body_bytes must be at least 1024");
        }
        if !self.smtp.addr.is_empty() {
            self.smtp.addr.parse::<std::net::SocketAddr>().with_context(|| format!("smtp.addr `{}` is not an address such as 127.0.0.1:2525", self.smtp.addr))?;
        }
        if !["starttls", "opportunistic", "implicit", "none"].contains(&self.delivery.relay_tls.as_str()) {
            bail!("delivery.relay_tls must be starttls, opportunistic, implicit or none");
        }
        for (domain, target) in &self.delivery.routes {
            parse_host_port(target).with_context(|| format!("delivery.routes.{domain}: `{target}` is not host:port"))?;
        }
        if !self.delivery.relay.is_empty() {
            parse_host_port(&self.delivery.relay).with_context(|| format!("delivery.relay `{}` is not host:port", self.delivery.relay))?;
        }
        if self.delivery.retry_schedule_secs.is_empty() {
            bail!("delivery.retry_schedule_secs needs at least one value");
        }
        if self.delivery.lease_secs == 0 || self.webhooks.lease_secs == 0 {
            bail!("delivery.lease_secs and webhooks.lease_secs must be at least 1");
        }
        for ns in &self.dns.nameservers {
            ns.parse::<std::net::SocketAddr>().with_context(|| format!("dns.nameservers: `{ns}` is not ip:port"))?;
        }
        if self.webhooks.retry_schedule_secs.is_empty() {
            bail!("webhooks.retry_schedule_secs needs at least one value");
        }
        if self.webhooks.timeout_secs == 0 {
            bail!("webhooks.timeout_secs must be at least 1");
        }
        let blobs = self.blobs.url.trim();
        if blobs.starts_with("s3://") {
            mailroom_blob_s3::parse_url(blobs)?;
        } else if !blobs.is_empty() && !blobs.starts_with("file://") {
            bail!("blobs.url `{blobs}` must be empty (files under data_dir), file:///path or s3://bucket/prefix");
        } else if !self.blobs.endpoint.trim().is_empty() || !self.blobs.access_key_id.trim().is_empty() {
            bail!("blobs.endpoint and blobs.access_key_id are S3 settings; set blobs.url to s3://bucket/prefix as well");
        }
        if self.limits.max_recipients == 0 {
            bail!("limits.max_recipients must be at least 1");
        }
        for (key, value) in [
            ("limits.max_header_fields", self.limits.max_header_fields),
            ("limits.max_header_bytes", self.limits.max_header_bytes),
            ("limits.max_total_header_fields", self.limits.max_total_header_fields),
            ("limits.max_total_header_bytes", self.limits.max_total_header_bytes),
            ("limits.max_mime_parts", self.limits.max_mime_parts),
            ("limits.max_mime_depth", self.limits.max_mime_depth),
            ("limits.api_max_header_entries", self.limits.api_max_header_entries),
        ] {
            if value == 0 {
                bail!("{key} must be at least 1");
            }
        }
        for (key, value) in [
            ("smtp.max_session_secs", self.smtp.max_session_secs),
            ("smtp.command_timeout_secs", self.smtp.command_timeout_secs),
            ("smtp.data_rate_window_secs", self.smtp.data_rate_window_secs),
            ("http.header_read_timeout_secs", self.http.header_read_timeout_secs),
            ("http.body_read_timeout_secs", self.http.body_read_timeout_secs),
        ] {
            if value == 0 {
                bail!("{key} must be at least 1");
            }
        }
        for net in &self.smtp.per_ip_exempt {
            net.parse::<mailroom_smtp::IpNet>().with_context(|| format!("smtp.per_ip_exempt: `{net}`"))?;
        }
        let base = self.llm.base_url.trim();
        if !base.is_empty() {
            if !(base.starts_with("http://") || base.starts_with("https://")) {
                bail!("llm.base_url `{base}` must start with http:// or https://");
            }
            if self.llm.model.trim().is_empty() {
                bail!("llm.model must be set when llm.base_url is (such as gpt-4o-mini)");
            }
        }
        if !["text", "json"].contains(&self.log.format.as_str()) {
            bail!("log.format must be \"text\" or \"json\", not `{}`", self.log.format);
        }
        if !self.metrics.addr.trim().is_empty() {
            self.metrics.addr.trim().parse::<std::net::SocketAddr>().with_context(|| format!("metrics.addr `{}` is not an address such as 127.0.0.1:9464", self.metrics.addr))?;
        }
        if self.llm.timeout_secs == 0 {
            bail!("llm.timeout_secs must be at least 1");
        }
        Ok(())
    }

    /// Returns the database URL to use.
    pub fn effective_database_url(&self) -> String {
        if self.database_url.trim().is_empty() {
            format!("sqlite://{}", self.data_dir.join("mailroom.db").display())
        } else {
            self.database_url.trim().to_string()
        }
    }
}

/// Splits `host:port`.
pub fn parse_host_port(s: &str) -> anyhow::Result<(String, u16)> {
    let (host, port) = s.rsplit_once(':').context("missing `:port`")?;
    let port = port.parse::<u16>().context("the port is not a number")?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.is_empty() {
        bail!("missing host");
    }
    Ok((host.to_string(), port))
}

/// Maps the part after `MAILROOM_` to a config key (`HTTP_ADDR` → `http.addr`) and its
/// default value (which says the type to parse), or `None` for variables that are not
/// configuration (such as the CLI's `MAILROOM_URL`).
fn env_key(rest: &str) -> Option<(String, serde_json::Value)> {
    let k = rest.to_ascii_lowercase();
    let defaults = serde_json::to_value(Config::default()).ok()?;
    for s in SECTIONS {
        // `LOG_LEVEL` is the top-level `log_level`, not a key of `[log]`.
        if let Some(field) = k.strip_prefix(&format!("{s}_"))
            && let Some(d) = defaults.get(*s).and_then(|section| section.get(field))
        {
            return Some((format!("{s}.{field}"), d.clone()));
        }
    }
    if k == "admin_api_key" || k == "encryption_key" {
        return Some((k, serde_json::Value::String(String::new())));
    }
    if k == "delivery_relay_password" {
        return Some(("delivery.relay_password".into(), serde_json::Value::String(String::new())));
    }
    defaults.get(&k).map(|d| (k.clone(), d.clone()))
}

/// Parses an environment value as the type of the key's default, so `MAILROOM_HTTP_MAX_BODY_BYTES=5000`
/// is a number and `MAILROOM_DOMAINS=a.test,b.test` a list.
fn parse_env_value(name: &str, default: &serde_json::Value, v: &str) -> anyhow::Result<figment::value::Value> {
    use figment::value::Value;
    let t = v.trim();
    Ok(match default {
        serde_json::Value::Number(_) => Value::from(t.parse::<u64>().with_context(|| format!("{name} must be a whole number, not `{t}`"))?),
        serde_json::Value::Bool(_) => Value::from(t.parse::<bool>().with_context(|| format!("{name} must be true or false, not `{t}`"))?),
        serde_json::Value::Array(items) => {
            let numbers = matches!(items.first(), Some(serde_json::Value::Number(_)));
            let mut out = Vec::new();
            for item in t.trim_start_matches('[').trim_end_matches(']').split(',').map(|s| s.trim().trim_matches('"')).filter(|s| !s.is_empty()) {
                out.push(if numbers {
                    Value::from(item.parse::<u64>().with_context(|| format!("{name}: `{item}` is not a whole number"))?)
                } else {
                    Value::from(item.to_string())
                });
            }
            Value::from(out)
        }
        serde_json::Value::Object(_) => {
            let mut map = figment::value::Dict::new();
            for pair in t.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                let (k, val) = pair.split_once('=').with_context(|| format!("{name} must be a list of key=value pairs, such as a.test=127.0.0.1:2526"))?;
                map.insert(k.trim().to_string(), Value::from(val.trim().to_string()));
            }
            Value::from(map)
        }
        _ => Value::from(v.to_string()),
    })
}

fn check_known_keys(text: &str) -> anyhow::Result<()> {
    let file: toml::Table = text.parse().context("the file is not valid TOML")?;
    let defaults = serde_json::to_value(Config::default())?;
    for (key, value) in &file {
        if key == "admin_api_key" || key == "encryption_key" {
            continue;
        }
        match defaults.get(key) {
            None => bail!("unknown key `{key}`; `mailroom config default` lists every key"),
            Some(serde_json::Value::Object(section)) => {
                let Some(table) = value.as_table() else { bail!("`{key}` must be a table ([{key}])") };
                for sub in table.keys() {
                    let secret = key == "delivery" && sub == "relay_password";
                    if !secret && !section.contains_key(sub) {
                        bail!("unknown key `{key}.{sub}`; `mailroom config default` lists every key");
                    }
                }
            }
            Some(_) => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn the_default_file_is_the_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(&path, DEFAULT_FILE).unwrap();
        assert_eq!(Config::load(Some(&path), env(&[]), &FlagOverrides::default()).unwrap(), Config::default());
    }

    #[test]
    fn layers_apply_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(&path, "default_domain = \"file.test\"\n[http]\naddr = \"127.0.0.1:1\"\nmax_body_bytes = 5000\n").unwrap();
        let c = Config::load(
            Some(&path),
            env(&[
                ("MAILROOM_HTTP_ADDR", "127.0.0.1:2"),
                ("MAILROOM_URL", "http://ignored"),
                ("MAILROOM_DOMAINS", "[a.test, b.test]"),
                ("MAILROOM_WEBHOOKS_RETRY_SCHEDULE_SECS", "0,1,2"),
                ("MAILROOM_DELIVERY_ROUTES", "x.test=127.0.0.1:25,y.test=127.0.0.1:26"),
            ]),
            &FlagOverrides::default(),
        )
        .unwrap();
        assert_eq!(c.default_domain, "file.test");
        assert_eq!(c.http.addr, "127.0.0.1:2");
        assert_eq!(c.http.max_body_bytes, 5000);
        assert_eq!(c.domains, vec!["a.test", "b.test"]);
        assert_eq!(c.webhooks.retry_schedule_secs, vec![0, 1, 2]);
        assert_eq!(c.delivery.routes.get("y.test").map(String::as_str), Some("127.0.0.1:26"));
        let flags = FlagOverrides { http_addr: Some("127.0.0.1:3".into()), ..Default::default() };
        let c = Config::load(Some(&path), env(&[("MAILROOM_HTTP_ADDR", "127.0.0.1:2")]), &flags).unwrap();
        assert_eq!(c.http.addr, "127.0.0.1:3");
    }

    #[test]
    fn blobs_come_from_the_file_and_the_environment_and_the_secret_is_never_shown() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(&path, "[blobs]\nurl = \"s3://mail-prod/node\"\nendpoint = \"http://127.0.0.1:9000\"\n").unwrap();
        let c = Config::load(
            Some(&path),
            env(&[
                ("MAILROOM_BLOBS_ALLOW_HTTP", "true"),
                ("MAILROOM_BLOBS_ACCESS_KEY_ID", "AKIATEST"),
                ("MAILROOM_BLOBS_SECRET_ACCESS_KEY", "s3-secret-value"),
            ]),
            &FlagOverrides::default(),
        )
        .unwrap();
        let s3 = c.blobs.s3().expect("an s3:// URL");
        assert_eq!((s3.url.as_str(), s3.endpoint.as_deref(), s3.allow_http), ("s3://mail-prod/node", Some("http://127.0.0.1:9000"), true));
        assert_eq!((s3.access_key_id.as_deref(), s3.secret_access_key.as_deref()), (Some("AKIATEST"), Some("s3-secret-value")));
        assert!(!format!("{c:?}").contains("s3-secret-value"), "Debug hides the secret");
        assert!(Config::default().blobs.s3().is_none(), "local files by default");
        for (url, expected) in [("ftp://x", "blobs.url"), ("s3://UPPER", "s3://bucket")] {
            let err = format!("{:#}", Config::load(None, env(&[("MAILROOM_BLOBS_URL", url)]), &FlagOverrides::default()).unwrap_err());
            assert!(err.contains(expected), "{url}: {err}");
        }
        let err = format!("{:#}", Config::load(None, env(&[("MAILROOM_BLOBS_ENDPOINT", "http://x:9000")]), &FlagOverrides::default()).unwrap_err());
        assert!(err.contains("set blobs.url"), "{err}");
    }

    #[test]
    fn bad_files_and_values_are_explained() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(&path, "[http]\nadress = \"x\"\n").unwrap();
        let err = format!("{:#}", Config::load(Some(&path), env(&[]), &FlagOverrides::default()).unwrap_err());
        assert!(err.contains("unknown key `http.adress`"), "{err}");
        let err = format!("{:#}", Config::load(None, env(&[("MAILROOM_HTTP_ADDR", "nope")]), &FlagOverrides::default()).unwrap_err());
        assert!(err.contains("http.addr"), "{err}");
        let missing = Config::load(Some(&dir.path().join("missing.toml")), env(&[]), &FlagOverrides::default()).unwrap_err();
        assert!(format!("{missing:#}").contains("config default"));
    }
}
