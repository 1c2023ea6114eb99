//! A typed Rust client for the Mailroom REST API.
//!
//! It exists so that the CLI, the integration tests and Rust agents all speak to the server
//! through one set of types: the request and response bodies come from
//! [`mailroom_core::api`] and [`mailroom_core::model`], the very types the server uses, so the
//! two cannot drift apart. One method per route; every error the server sends arrives as
//! [`ClientError::Api`] with its stable `code`.
//!
//! ```no_run
//! use mailroom_client::Client;
//! use mailroom_core::api::{CreateMailboxRequest, SendMessageRequest};
//!
//! # async fn demo() -> Result<(), mailroom_client::ClientError> {
//! // Reads MAILROOM_URL (default http://127.0.0.1:8025) and MAILROOM_API_KEY.
//! let client = Client::from_env()?;
//! let mailbox = client
//!     .create_mailbox(&CreateMailboxRequest { username: "support-bot".into(), ..Default::default() })
//!     .await?;
//! let sent = client
//!     .send_message(
//!         mailbox.id,
//!         &SendMessageRequest {
//!             to: vec!["someone@example.com".into()],
//!             subject: "Hello".into(),
//!             text: Some("Hi there.".into()),
//!             ..Default::default()
//!         },
//!         Some("hello-1"),
//!     )
//!     .await?;
//! println!("sent {} in thread {}", sent.id, sent.thread_id);
//! # Ok(())
//! # }
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod drafts;
mod error;
mod sse;
mod stream;

pub use drafts::SendResult;
pub use error::ClientError;
pub use reqwest::Method;
pub use reqwest::Response;
pub use reqwest::header::HeaderMap;
pub use stream::{EventStream, IDLE_TIMEOUT, RECONNECT_MAX, RECONNECT_MIN, StreamStatus};

use bytes::Bytes;
use mailroom_core::agent::{Contact, TeamMember, ToolConfig, ToolRun};
use mailroom_core::api::{
    ConsentRequest, ContactWithHistory, CreateApiKeyRequest, CreateDomainRequest, CreateMailboxRequest,
    CreateSiteRequest, CreateSuppressionRequest, CreateTeamMemberRequest, CreateToolConfigRequest, CreateWebhookRequest,
    CreatedApiKey, UpdateContactRequest, UpdateTeamMemberRequest, UpdateToolConfigRequest,
    DomainDns, ForwardRequest, HealthStatus, MessageQuery, Page, QueueEntry, ReplayRequest, ReplayResponse,
    ReplyRequest, SendMessageRequest, SendMessageResponse, ThreadWithMessages, UpdateMailboxRequest,
    UpdateMessageRequest, UpdateWebhookRequest, UpsertContactRequest, WaitResponse, WebhookWithSecret,
};
use mailroom_core::ids::{
    ApiKeyId, AttachmentId, ContactId, DomainId, MailboxId, MessageId, SiteId, TeamMemberId, ThreadId, ToolConfigId,
    ToolRunId, WebhookId,
};
use mailroom_core::model::{
    ApiKey, Domain, Event, Mailbox, Message, Site, Suppression, Thread, WebhookDelivery, WebhookEndpoint,
};
use reqwest::header::{AUTHORIZATION, CONTENT_DISPOSITION, CONTENT_TYPE, HeaderName, HeaderValue};
use reqwest::{RequestBuilder, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::time::Duration;

/// The server address used when `MAILROOM_URL` is not set.
pub const DEFAULT_URL: &str = "http://127.0.0.1:8025";

/// The header that makes a send safe to retry.
pub const IDEMPOTENCY_KEY_HEADER: &str = "Idempotency-Key";

/// A connection to one Mailroom server with one API key.
///
/// Cloning is cheap and shares the connection pool.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    /// The base URL without a trailing slash; paths starting with `/` are appended to it.
    base: String,
    auth: HeaderValue,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The API key stays out of logs.
        f.debug_struct("Client").field("base_url", &self.base).finish_non_exhaustive()
    }
}

/// An answer exactly as the server sent it, for tests that need to look at the status and
/// headers or that send malformed input on purpose.
#[derive(Debug, Clone)]
pub struct RawResponse {
    /// The HTTP status code.
    pub status: u16,
    /// The response headers.
    pub headers: HeaderMap,
    /// The body bytes.
    pub body: Bytes,
}

impl RawResponse {
    /// Parses the body as JSON of type `T`.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_slice(&self.body)
    }

    /// Returns the body as text, replacing invalid UTF-8.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// Returns a header's value if it is present and valid text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// The answer to `GET /v1/tools`: the agent email tools a key may call.
#[derive(Debug, Clone, Default, serde::Deserialize, Serialize)]
pub struct ToolCatalog {
    /// One entry per callable tool: the built-in tools, then the site's tool configs.
    pub data: Vec<ToolDescriptor>,
    /// The same tools as OpenAI function-calling definitions.
    #[serde(default)]
    pub openai: Vec<serde_json::Value>,
    /// The same tools as Anthropic tool definitions.
    #[serde(default)]
    pub anthropic: Vec<serde_json::Value>,
}

/// One agent email tool in [`ToolCatalog`].
#[derive(Debug, Clone, serde::Deserialize, Serialize)]
pub struct ToolDescriptor {
    /// The name to invoke it by: the tool's own name, or the tool config's name.
    pub name: String,
    /// The underlying tool: `send_email`, `send_one_to_one_email` or `send_information_email`.
    pub tool: String,
    /// The tool config this entry comes from; `None` for a built-in tool.
    #[serde(default)]
    pub tool_config_id: Option<String>,
    /// When to use it: the tool's description, or the builder's prompt for a tool config.
    #[serde(default)]
    pub description: String,
    /// The JSON Schema of its input.
    pub input_schema: serde_json::Value,
    /// Whether the schema follows the strict function-calling rules.
    #[serde(default)]
    pub strict: bool,
}

/// The answer to `GET /v1/status`: the server's version, listeners, store and backlogs.
#[derive(Debug, Clone, Default, serde::Deserialize, Serialize)]
pub struct ServerStatus {
    /// The server's version.
    pub version: String,
    /// The store: `sqlite (path)` or `postgres (host/db)`.
    #[serde(default)]
    pub store: String,
    /// The domain mailboxes get when none is given.
    #[serde(default)]
    pub default_domain: String,
    /// The listening sockets of the node that answered.
    #[serde(default)]
    pub listeners: Vec<StatusListener>,
    /// Outbound recipients queued, sending or deferred.
    pub queue_depth: u64,
    /// Seconds since the oldest message with a waiting recipient was created.
    #[serde(default)]
    pub oldest_queued_secs: f64,
    /// Webhook deliveries waiting for an attempt.
    pub webhook_backlog: u64,
}

/// One listener in [`ServerStatus`].
#[derive(Debug, Clone, Default, serde::Deserialize, Serialize)]
pub struct StatusListener {
    /// `http`, `smtp` or `metrics`.
    pub name: String,
    /// Where it listens.
    pub addr: String,
}

/// The answer to `POST /v1/mailboxes/{id}/import`.
#[derive(Debug, Clone, serde::Deserialize, Serialize)]
pub struct ImportResult {
    /// `false` when the mailbox already held a message with this `Message-ID`.
    pub imported: bool,
    /// The stored message (the existing one when not imported).
    pub message: Message,
}

/// Filters of [`Client::list_tool_runs`].
#[derive(Debug, Clone, Default, Serialize)]
pub struct ToolRunFilter {
    /// Only this tool.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool: Option<String>,
    /// Only runs about this contact.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contact_id: Option<ContactId>,
    /// Only runs with this status.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Only runs at or after this RFC 3339 time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub since: Option<String>,
    /// The previous page's `next_cursor`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
    /// Page size, 1-100.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
}

/// Query of the plain paginated lists.
#[derive(Serialize)]
struct PageQuery<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    cursor: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    limit: Option<u32>,
}

/// Query of the event log.
#[derive(Serialize)]
struct EventQuery<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    after: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    limit: Option<u32>,
}

/// Query of the long-poll wait for a message.
#[derive(Serialize)]
struct WaitQuery<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    after: Option<&'a str>,
    timeout: u64,
}

/// Query of the suppression list.
#[derive(Serialize)]
struct SuppressionQuery<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    cursor: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    limit: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    site_id: Option<SiteId>,
}

/// Query of the outbound queue.
#[derive(Serialize)]
struct QueueQuery<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    limit: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    site_id: Option<SiteId>,
}

/// Query naming the site to act on (admin keys).
#[derive(Serialize)]
struct SiteQuery {
    #[serde(skip_serializing_if = "Option::is_none")]
    site_id: Option<SiteId>,
}

impl Client {
    /// Creates a client for the server at `base_url` (such as `http://127.0.0.1:8025`, or a
    /// URL with a path prefix behind a reverse proxy) that authenticates with `api_key`.
    ///
    /// Fails when the URL is not an `http`/`https` URL or the key is empty or cannot be sent
    /// in a header.
    pub fn new(base_url: &str, api_key: impl Into<String>) -> Result<Client, ClientError> {
        let base = normalize_base_url(base_url)?;
        let api_key = api_key.into();
        let auth = bearer(api_key.trim())?;
        let http = reqwest::Client::builder()
            .user_agent(concat!("mailroom-client/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(10))
            .read_timeout(Duration::from_secs(120))
            .build()
            .map_err(|e| ClientError::InvalidInput(format!("the HTTP client could not be set up: {e}")))?;
        Ok(Client { http, base, auth })
    }

    /// Creates a client from the environment: `MAILROOM_URL` (default
    /// [`DEFAULT_URL`]) and `MAILROOM_API_KEY` (required).
    pub fn from_env() -> Result<Client, ClientError> {
        let url = std::env::var("MAILROOM_URL").ok().filter(|u| !u.trim().is_empty());
        let url = url.as_deref().unwrap_or(DEFAULT_URL);
        let key = std::env::var("MAILROOM_API_KEY").ok().filter(|k| !k.trim().is_empty()).ok_or_else(|| {
            ClientError::InvalidInput(
                "MAILROOM_API_KEY is not set: set it to an API key; the admin key is written to \
                 <data-dir>/admin-api-key when `mailroom serve` first starts"
                    .to_string(),
            )
        })?;
        Client::new(url, key)
    }

    /// Returns a client for the same server that authenticates with another key, sharing the
    /// connection pool (handy to act as a site key after creating it with the admin key).
    pub fn with_api_key(&self, api_key: &str) -> Result<Client, ClientError> {
        Ok(Client { http: self.http.clone(), base: self.base.clone(), auth: bearer(api_key.trim())? })
    }

    /// Returns the base URL requests are sent to, without a trailing slash.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    // ----- health -------------------------------------------------------------------------

    /// Checks that the server process is alive (`GET /healthz`).
    pub async fn health(&self) -> Result<HealthStatus, ClientError> {
        self.json(Method::GET, "/healthz", self.request(Method::GET, "/healthz")).await
    }

    /// Checks that the server can serve requests (`GET /readyz`).
    ///
    /// A 503 whose body is a [`HealthStatus`] is returned as `Ok` with status `unavailable`,
    /// so the caller can read which check failed.
    pub async fn ready(&self) -> Result<HealthStatus, ClientError> {
        let resp = self.request(Method::GET, "/readyz").send().await.map_err(ClientError::Transport)?;
        let status = resp.status();
        let body = resp.bytes().await.map_err(ClientError::Transport)?;
        if status == StatusCode::SERVICE_UNAVAILABLE
            && let Ok(health) = serde_json::from_slice::<HealthStatus>(&body)
        {
            return Ok(health);
        }
        if !status.is_success() {
            return Err(ClientError::from_response(status.as_u16(), &body));
        }
        decode("GET /readyz", &body)
    }

    // ----- sites and keys -----------------------------------------------------------------

    /// Creates a site (`POST /v1/sites`, admin keys only).
    pub async fn create_site(&self, req: &CreateSiteRequest) -> Result<Site, ClientError> {
        self.json(Method::POST, "/v1/sites", self.request(Method::POST, "/v1/sites").json(req)).await
    }

    /// Lists the sites (`GET /v1/sites`, admin keys only).
    pub async fn list_sites(&self) -> Result<Page<Site>, ClientError> {
        self.json(Method::GET, "/v1/sites", self.request(Method::GET, "/v1/sites")).await
    }

    /// Creates an API key (`POST /v1/api-keys`); the answer holds the secret, shown only once.
    pub async fn create_api_key(&self, req: &CreateApiKeyRequest) -> Result<CreatedApiKey, ClientError> {
        self.json(Method::POST, "/v1/api-keys", self.request(Method::POST, "/v1/api-keys").json(req)).await
    }

    /// Lists the API keys this key may see (`GET /v1/api-keys`).
    pub async fn list_api_keys(&self) -> Result<Page<ApiKey>, ClientError> {
        self.json(Method::GET, "/v1/api-keys", self.request(Method::GET, "/v1/api-keys")).await
    }

    /// Deletes an API key (`DELETE /v1/api-keys/{id}`).
    pub async fn delete_api_key(&self, id: ApiKeyId) -> Result<(), ClientError> {
        self.empty(self.request(Method::DELETE, &format!("/v1/api-keys/{id}"))).await
    }

    // ----- mailboxes ----------------------------------------------------------------------

    /// Creates a mailbox (`POST /v1/mailboxes`).
    ///
    /// With a `client_id` already used, the server returns the existing mailbox instead; use
    /// [`create_mailbox_with_status`](Client::create_mailbox_with_status) to tell the two apart.
    pub async fn create_mailbox(&self, req: &CreateMailboxRequest) -> Result<Mailbox, ClientError> {
        Ok(self.create_mailbox_with_status(req).await?.0)
    }

    /// Creates a mailbox (`POST /v1/mailboxes`) and tells whether it is new: `true` for 201
    /// Created, `false` for 200 (an existing mailbox with the same `client_id`).
    pub async fn create_mailbox_with_status(&self, req: &CreateMailboxRequest) -> Result<(Mailbox, bool), ClientError> {
        let resp = self.send(self.request(Method::POST, "/v1/mailboxes").json(req)).await?;
        let created = resp.status() == StatusCode::CREATED;
        let body = resp.bytes().await.map_err(ClientError::Transport)?;
        Ok((decode("POST /v1/mailboxes", &body)?, created))
    }

    /// Lists mailboxes, oldest first (`GET /v1/mailboxes`).
    pub async fn list_mailboxes(&self, cursor: Option<&str>, limit: Option<u32>) -> Result<Page<Mailbox>, ClientError> {
        let rb = self.request(Method::GET, "/v1/mailboxes").query(&PageQuery { cursor, limit });
        self.json(Method::GET, "/v1/mailboxes", rb).await
    }

    /// Returns one mailbox (`GET /v1/mailboxes/{id}`).
    pub async fn get_mailbox(&self, id: MailboxId) -> Result<Mailbox, ClientError> {
        let path = format!("/v1/mailboxes/{id}");
        self.json(Method::GET, &path, self.request(Method::GET, &path)).await
    }

    /// Changes a mailbox (`PATCH /v1/mailboxes/{id}`).
    pub async fn update_mailbox(&self, id: MailboxId, req: &UpdateMailboxRequest) -> Result<Mailbox, ClientError> {
        let path = format!("/v1/mailboxes/{id}");
        self.json(Method::PATCH, &path, self.request(Method::PATCH, &path).json(req)).await
    }

    /// Deletes a mailbox and everything in it (`DELETE /v1/mailboxes/{id}`).
    pub async fn delete_mailbox(&self, id: MailboxId) -> Result<(), ClientError> {
        self.empty(self.request(Method::DELETE, &format!("/v1/mailboxes/{id}"))).await
    }

    // ----- messages -----------------------------------------------------------------------

    /// Sends a message from a mailbox (`POST /v1/mailboxes/{id}/messages`).
    ///
    /// With an `idempotency_key`, retrying the same send returns the first answer instead of
    /// sending twice.
    pub async fn send_message(
        &self,
        mailbox: MailboxId,
        req: &SendMessageRequest,
        idempotency_key: Option<&str>,
    ) -> Result<SendMessageResponse, ClientError> {
        let path = format!("/v1/mailboxes/{mailbox}/messages");
        let rb = with_idempotency_key(self.request(Method::POST, &path).json(req), idempotency_key)?;
        self.json(Method::POST, &path, rb).await
    }

    /// Lists a mailbox's messages, newest first (`GET /v1/mailboxes/{id}/messages`).
    pub async fn list_messages(&self, mailbox: MailboxId, query: &MessageQuery) -> Result<Page<Message>, ClientError> {
        let path = format!("/v1/mailboxes/{mailbox}/messages");
        self.json(Method::GET, &path, self.request(Method::GET, &path).query(query)).await
    }

    /// Returns one message with its parsed fields (`GET /v1/messages/{id}`).
    pub async fn get_message(&self, id: MessageId) -> Result<Message, ClientError> {
        let path = format!("/v1/messages/{id}");
        self.json(Method::GET, &path, self.request(Method::GET, &path)).await
    }

    /// Returns a message's raw bytes exactly as stored (`GET /v1/messages/{id}/raw`,
    /// `message/rfc822`).
    pub async fn get_raw_message(&self, id: MessageId) -> Result<Bytes, ClientError> {
        let resp = self.send(self.request(Method::GET, &format!("/v1/messages/{id}/raw"))).await?;
        resp.bytes().await.map_err(ClientError::Transport)
    }

    /// Marks a message read or unread and changes its labels (`PATCH /v1/messages/{id}`).
    pub async fn update_message(&self, id: MessageId, req: &UpdateMessageRequest) -> Result<Message, ClientError> {
        let path = format!("/v1/messages/{id}");
        self.json(Method::PATCH, &path, self.request(Method::PATCH, &path).json(req)).await
    }

    /// Deletes a message (`DELETE /v1/messages/{id}`).
    pub async fn delete_message(&self, id: MessageId) -> Result<(), ClientError> {
        self.empty(self.request(Method::DELETE, &format!("/v1/messages/{id}"))).await
    }

    /// Replies to a message in its thread (`POST /v1/messages/{id}/reply`).
    pub async fn reply(
        &self,
        id: MessageId,
        req: &ReplyRequest,
        idempotency_key: Option<&str>,
    ) -> Result<SendMessageResponse, ClientError> {
        let path = format!("/v1/messages/{id}/reply");
        let rb = with_idempotency_key(self.request(Method::POST, &path).json(req), idempotency_key)?;
        self.json(Method::POST, &path, rb).await
    }

    /// Forwards a message from its mailbox as a new conversation
    /// (`POST /v1/messages/{id}/forward`): "Fwd: <subject>", the original quoted below the
    /// note, with its attachments.
    pub async fn forward(
        &self,
        id: MessageId,
        req: &ForwardRequest,
        idempotency_key: Option<&str>,
    ) -> Result<SendMessageResponse, ClientError> {
        let path = format!("/v1/messages/{id}/forward");
        let rb = with_idempotency_key(self.request(Method::POST, &path).json(req), idempotency_key)?;
        self.json(Method::POST, &path, rb).await
    }

    // ----- threads and attachments --------------------------------------------------------

    /// Lists a mailbox's threads, most recently active first (`GET /v1/mailboxes/{id}/threads`).
    pub async fn list_threads(
        &self,
        mailbox: MailboxId,
        cursor: Option<&str>,
        limit: Option<u32>,
    ) -> Result<Page<Thread>, ClientError> {
        let path = format!("/v1/mailboxes/{mailbox}/threads");
        self.json(Method::GET, &path, self.request(Method::GET, &path).query(&PageQuery { cursor, limit })).await
    }

    /// Returns a thread with its messages, oldest first (`GET /v1/threads/{id}`).
    pub async fn get_thread(&self, id: ThreadId) -> Result<ThreadWithMessages, ClientError> {
        let path = format!("/v1/threads/{id}");
        self.json(Method::GET, &path, self.request(Method::GET, &path)).await
    }

    /// Returns a thread as an agent should read it (`GET /v1/threads/{id}?view=agent`): new
    /// text only, attachment excerpts, security flags, within `max_tokens` (default 4000).
    pub async fn get_thread_agent_view(&self, id: ThreadId, max_tokens: Option<u32>) -> Result<mailroom_core::reading::agent::AgentThreadView, ClientError> {
        let path = format!("/v1/threads/{id}");
        let mut query = vec![("view", "agent".to_string())];
        if let Some(n) = max_tokens {
            query.push(("max_tokens", n.to_string()));
        }
        self.json(Method::GET, &path, self.request(Method::GET, &path).query(&query)).await
    }

    /// Returns the text extracted from an attachment (`GET /v1/attachments/{id}/text`).
    pub async fn attachment_text(&self, id: AttachmentId) -> Result<mailroom_core::reading::AttachmentText, ClientError> {
        let path = format!("/v1/attachments/{id}/text");
        self.json(Method::GET, &path, self.request(Method::GET, &path)).await
    }

    /// Downloads an attachment (`GET /v1/attachments/{id}`) and returns its content type, its
    /// file name (from `Content-Disposition`, if any) and its bytes.
    pub async fn get_attachment(&self, id: AttachmentId) -> Result<(String, Option<String>, Bytes), ClientError> {
        let resp = self.send(self.request(Method::GET, &format!("/v1/attachments/{id}"))).await?;
        let content_type = resp
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("application/octet-stream")
            .to_string();
        let filename =
            resp.headers().get(CONTENT_DISPOSITION).and_then(|v| v.to_str().ok()).and_then(filename_from_disposition);
        let body = resp.bytes().await.map_err(ClientError::Transport)?;
        Ok((content_type, filename, body))
    }

    // ----- events -------------------------------------------------------------------------

    /// Reads the event log in ascending order (`GET /v1/events`), starting after the cursor
    /// `after` (from the beginning when `None`). Pass the page's `next_cursor`, or the last
    /// event's `cursor` once the end is reached, as `after` to read on.
    pub async fn list_events(&self, after: Option<&str>, limit: Option<u32>) -> Result<Page<Event>, ClientError> {
        let rb = self.request(Method::GET, "/v1/events").query(&EventQuery { after, limit });
        self.json(Method::GET, "/v1/events", rb).await
    }

    /// Follows the event log live over server-sent events (`GET /v1/events/stream`).
    ///
    /// Starts after the cursor `after` (at the end of the log, new events only, when `None`),
    /// optionally only for one mailbox and for some event types (`types` is comma-separated,
    /// such as `message.received,message.sent`). A dropped connection is re-made by itself
    /// with `Last-Event-ID`, waiting 0.5 s and doubling up to 10 s between attempts, so every
    /// event arrives once; see [`EventStream`] for which errors end the stream.
    ///
    /// Nothing is sent until the stream is first polled.
    ///
    /// ```no_run
    /// use futures::StreamExt;
    /// # async fn demo(client: mailroom_client::Client) -> Result<(), mailroom_client::ClientError> {
    /// let mut events = client.stream_events(Some("42"), None, Some("message.received"));
    /// while let Some(event) = events.next().await {
    ///     let event = event?;
    ///     println!("{} {}", event.cursor, event.event_type);
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn stream_events(&self, after: Option<&str>, mailbox: Option<MailboxId>, types: Option<&str>) -> EventStream {
        EventStream::new(self.clone(), after, mailbox, types)
    }

    /// Waits for the next inbound message of a mailbox
    /// (`GET /v1/mailboxes/{id}/messages/wait`): returns it with its event cursor as soon as
    /// one arrives, or `None` when `timeout_secs` (0-60) pass first.
    ///
    /// Without `after` it waits for a message received after the call; pass the previous
    /// answer's `cursor` to wait for the next one without missing any in between.
    pub async fn wait_for_message(
        &self,
        mailbox: MailboxId,
        after: Option<&str>,
        timeout_secs: u64,
    ) -> Result<Option<WaitResponse>, ClientError> {
        let path = format!("/v1/mailboxes/{mailbox}/messages/wait");
        let rb = self.request(Method::GET, &path).query(&WaitQuery { after, timeout: timeout_secs });
        let resp = self.send(rb).await?;
        if resp.status() == StatusCode::NO_CONTENT {
            return Ok(None);
        }
        let body = resp.bytes().await.map_err(ClientError::Transport)?;
        decode(&format!("GET {path}"), &body).map(Some)
    }

    // ----- contacts and team members -------------------------------------------------------

    /// Creates a contact, or updates the site's contact with the same email or external id
    /// (`POST /v1/contacts`); attributes are merged into the existing ones.
    pub async fn upsert_contact(&self, req: &UpsertContactRequest) -> Result<Contact, ClientError> {
        self.json(Method::POST, "/v1/contacts", self.request(Method::POST, "/v1/contacts").json(req)).await
    }

    /// Lists contacts, newest first (`GET /v1/contacts`).
    pub async fn list_contacts(&self, cursor: Option<&str>, limit: Option<u32>) -> Result<Page<Contact>, ClientError> {
        let rb = self.request(Method::GET, "/v1/contacts").query(&PageQuery { cursor, limit });
        self.json(Method::GET, "/v1/contacts", rb).await
    }

    /// Returns a contact with the emails the tools sent it (`GET /v1/contacts/{id}`).
    pub async fn get_contact(&self, id: ContactId) -> Result<ContactWithHistory, ClientError> {
        let path = format!("/v1/contacts/{id}");
        self.json(Method::GET, &path, self.request(Method::GET, &path)).await
    }

    /// Records a contact's answer to the consent request (`POST /v1/contacts/{id}/consent`):
    /// `true` subscribes them to informational email, `false` refuses it.
    pub async fn record_consent(&self, id: ContactId, granted: bool) -> Result<Contact, ClientError> {
        let path = format!("/v1/contacts/{id}/consent");
        let rb = self.request(Method::POST, &path).json(&ConsentRequest { granted });
        self.json(Method::POST, &path, rb).await
    }

    /// Creates a team member, a human sender identity mapped to a mailbox
    /// (`POST /v1/team-members`).
    pub async fn create_team_member(&self, req: &CreateTeamMemberRequest) -> Result<TeamMember, ClientError> {
        self.json(Method::POST, "/v1/team-members", self.request(Method::POST, "/v1/team-members").json(req)).await
    }

    /// Changes a contact (`PATCH /v1/contacts/{id}`); absent fields keep their value.
    pub async fn update_contact(&self, id: ContactId, req: &UpdateContactRequest) -> Result<Contact, ClientError> {
        let path = format!("/v1/contacts/{id}");
        self.json(Method::PATCH, &path, self.request(Method::PATCH, &path).json(req)).await
    }

    /// Deletes a contact (`DELETE /v1/contacts/{id}`).
    pub async fn delete_contact(&self, id: ContactId) -> Result<(), ClientError> {
        self.empty(self.request(Method::DELETE, &format!("/v1/contacts/{id}"))).await
    }

    /// Lists the team members (`GET /v1/team-members`).
    pub async fn list_team_members(&self) -> Result<Page<TeamMember>, ClientError> {
        self.json(Method::GET, "/v1/team-members", self.request(Method::GET, "/v1/team-members")).await
    }

    /// Returns one team member (`GET /v1/team-members/{id}`).
    pub async fn get_team_member(&self, id: TeamMemberId) -> Result<TeamMember, ClientError> {
        let path = format!("/v1/team-members/{id}");
        self.json(Method::GET, &path, self.request(Method::GET, &path)).await
    }

    /// Changes a team member (`PATCH /v1/team-members/{id}`).
    pub async fn update_team_member(&self, id: TeamMemberId, req: &UpdateTeamMemberRequest) -> Result<TeamMember, ClientError> {
        let path = format!("/v1/team-members/{id}");
        self.json(Method::PATCH, &path, self.request(Method::PATCH, &path).json(req)).await
    }

    /// Deletes a team member (`DELETE /v1/team-members/{id}`).
    pub async fn delete_team_member(&self, id: TeamMemberId) -> Result<(), ClientError> {
        self.empty(self.request(Method::DELETE, &format!("/v1/team-members/{id}"))).await
    }

    // ----- settings, tool configs and tool runs -------------------------------------------

    /// Returns the site's sending settings document (`GET /v1/settings`).
    pub async fn get_settings(&self) -> Result<serde_json::Value, ClientError> {
        self.json(Method::GET, "/v1/settings", self.request(Method::GET, "/v1/settings")).await
    }

    /// Replaces the site's sending settings document (`PUT /v1/settings`).
    pub async fn put_settings(&self, doc: &serde_json::Value) -> Result<serde_json::Value, ClientError> {
        self.json(Method::PUT, "/v1/settings", self.request(Method::PUT, "/v1/settings").json(doc)).await
    }

    /// Creates a tool config (`POST /v1/tool-configs`).
    pub async fn create_tool_config(&self, req: &CreateToolConfigRequest) -> Result<ToolConfig, ClientError> {
        self.json(Method::POST, "/v1/tool-configs", self.request(Method::POST, "/v1/tool-configs").json(req)).await
    }

    /// Lists the tool configs (`GET /v1/tool-configs`).
    pub async fn list_tool_configs(&self) -> Result<Page<ToolConfig>, ClientError> {
        self.json(Method::GET, "/v1/tool-configs", self.request(Method::GET, "/v1/tool-configs")).await
    }

    /// Returns one tool config (`GET /v1/tool-configs/{id}`).
    pub async fn get_tool_config(&self, id: ToolConfigId) -> Result<ToolConfig, ClientError> {
        let path = format!("/v1/tool-configs/{id}");
        self.json(Method::GET, &path, self.request(Method::GET, &path)).await
    }

    /// Changes a tool config (`PATCH /v1/tool-configs/{id}`).
    pub async fn update_tool_config(&self, id: ToolConfigId, req: &UpdateToolConfigRequest) -> Result<ToolConfig, ClientError> {
        let path = format!("/v1/tool-configs/{id}");
        self.json(Method::PATCH, &path, self.request(Method::PATCH, &path).json(req)).await
    }

    /// Deletes a tool config (`DELETE /v1/tool-configs/{id}`).
    pub async fn delete_tool_config(&self, id: ToolConfigId) -> Result<(), ClientError> {
        self.empty(self.request(Method::DELETE, &format!("/v1/tool-configs/{id}"))).await
    }

    /// Lists tool runs, newest first (`GET /v1/tool-runs`).
    pub async fn list_tool_runs(&self, filter: &ToolRunFilter) -> Result<Page<ToolRun>, ClientError> {
        self.json(Method::GET, "/v1/tool-runs", self.request(Method::GET, "/v1/tool-runs").query(filter)).await
    }

    /// Returns one tool run with its inputs, checks, decision and outputs
    /// (`GET /v1/tool-runs/{id}`).
    pub async fn get_tool_run(&self, id: ToolRunId) -> Result<ToolRun, ClientError> {
        let path = format!("/v1/tool-runs/{id}");
        self.json(Method::GET, &path, self.request(Method::GET, &path)).await
    }

    // ----- operations ---------------------------------------------------------------------

    /// Returns the server's version, listeners, store and backlogs (`GET /v1/status`, admin
    /// keys).
    pub async fn status(&self) -> Result<ServerStatus, ClientError> {
        self.json(Method::GET, "/v1/status", self.request(Method::GET, "/v1/status")).await
    }

    /// Imports one message's raw bytes into a mailbox as received mail, sending nothing
    /// (`POST /v1/mailboxes/{id}/import`); a message whose `Message-ID` the mailbox holds
    /// already is not stored again (`imported: false`).
    pub async fn import_message(&self, mailbox: MailboxId, raw: Bytes) -> Result<ImportResult, ClientError> {
        let path = format!("/v1/mailboxes/{mailbox}/import");
        let rb = self.request(Method::POST, &path).header(CONTENT_TYPE, "message/rfc822").body(raw);
        self.json(Method::POST, &path, rb).await
    }

    /// Imports a batch of messages, in order, into a mailbox as received mail
    /// (`POST /v1/mailboxes/{id}/import` with a JSON batch of up to 1,000): replies find their
    /// parents earlier in the batch. Returns one result per message, in order.
    pub async fn import_messages(&self, mailbox: MailboxId, raws: &[Bytes]) -> Result<Vec<ImportResult>, ClientError> {
        use base64::Engine as _;
        #[derive(Serialize)]
        struct Item {
            raw_base64: String,
        }
        #[derive(Serialize)]
        struct Batch {
            messages: Vec<Item>,
        }
        #[derive(serde::Deserialize)]
        struct Results {
            results: Vec<ImportResult>,
        }
        let body = Batch {
            messages: raws.iter().map(|r| Item { raw_base64: base64::engine::general_purpose::STANDARD.encode(r) }).collect(),
        };
        let path = format!("/v1/mailboxes/{mailbox}/import");
        let answer: Results = self.json(Method::POST, &path, self.request(Method::POST, &path).json(&body)).await?;
        Ok(answer.results)
    }

    /// Finds the messages this key can see that carry a `Message-ID` (with or without the
    /// angle brackets) (`GET /v1/messages?message_id=`).
    pub async fn find_messages_by_message_id(&self, message_id: &str) -> Result<Page<Message>, ClientError> {
        let rb = self.request(Method::GET, "/v1/messages").query(&[("message_id", message_id)]);
        self.json(Method::GET, "/v1/messages", rb).await
    }

    /// Starts downloading an attachment (`GET /v1/attachments/{id}`) and returns the open
    /// response, to read its length, headers and body chunk by chunk (large files need not
    /// fit in memory).
    pub async fn attachment_response(&self, id: AttachmentId) -> Result<Response, ClientError> {
        self.send(self.request(Method::GET, &format!("/v1/attachments/{id}"))).await
    }

    // ----- operational controls (issue 15) --------------------------------------------------

    /// Uploads an attachment to send later by id (`POST /v1/attachments`).
    pub async fn upload_attachment(&self, filename: &str, content_type: &str, content: Bytes) -> Result<mailroom_core::controls::UploadedAttachment, ClientError> {
        let path = "/v1/attachments";
        let rb = self.request(Method::POST, path).query(&[("filename", filename)]).header(reqwest::header::CONTENT_TYPE, content_type).body(content);
        self.json(Method::POST, path, rb).await
    }

    /// Returns a signed, time-limited download URL (`POST /v1/attachments/{id}/url`).
    pub async fn attachment_url(&self, id: AttachmentId, expires_in_seconds: Option<u64>) -> Result<mailroom_core::controls::SignedUrl, ClientError> {
        let path = format!("/v1/attachments/{id}/url");
        let req = mailroom_core::controls::SignedUrlRequest { expires_in_seconds };
        self.json(Method::POST, &path, self.request(Method::POST, &path).json(&req)).await
    }

    /// Returns the site's storage use, limits and retention, and each mailbox's (`GET /v1/usage`).
    pub async fn usage(&self, site_id: Option<SiteId>) -> Result<mailroom_core::controls::UsageReport, ClientError> {
        let path = "/v1/usage";
        let mut rb = self.request(Method::GET, path);
        if let Some(s) = site_id {
            rb = rb.query(&[("site_id", s.to_string())]);
        }
        self.json(Method::GET, path, rb).await
    }

    /// Sets a site's limits and retention (`PATCH /v1/sites/{id}`, admin keys).
    pub async fn update_site(&self, id: SiteId, req: &mailroom_core::controls::UpdateSiteRequest) -> Result<mailroom_core::controls::ControlsView, ClientError> {
        let path = format!("/v1/sites/{id}");
        self.json(Method::PATCH, &path, self.request(Method::PATCH, &path).json(req)).await
    }

    /// Returns a mailbox with its expiry, limits, retention and usage (`GET /v1/mailboxes/{id}`).
    pub async fn mailbox_view(&self, id: MailboxId) -> Result<mailroom_core::controls::MailboxView, ClientError> {
        let path = format!("/v1/mailboxes/{id}");
        self.json(Method::GET, &path, self.request(Method::GET, &path)).await
    }

    /// Changes a mailbox and returns it with its controls (`PATCH /v1/mailboxes/{id}`).
    pub async fn update_mailbox_view(&self, id: MailboxId, req: &UpdateMailboxRequest) -> Result<mailroom_core::controls::MailboxView, ClientError> {
        let path = format!("/v1/mailboxes/{id}");
        self.json(Method::PATCH, &path, self.request(Method::PATCH, &path).json(req)).await
    }

    /// Returns the file name an attachment response names in `Content-Disposition`.
    pub fn attachment_filename(resp: &Response) -> Option<String> {
        resp.headers().get(CONTENT_DISPOSITION).and_then(|v| v.to_str().ok()).and_then(filename_from_disposition)
    }

    // ----- agent tools --------------------------------------------------------------------

    /// Lists the agent email tools this key may call (`GET /v1/tools`): the built-in tools and
    /// one entry per tool config of the site, with their input schemas.
    pub async fn list_tools(&self) -> Result<ToolCatalog, ClientError> {
        self.json(Method::GET, "/v1/tools", self.request(Method::GET, "/v1/tools")).await
    }

    /// Runs an agent email tool (`POST /v1/tools/{name}/invoke`) with `input` as its body and
    /// returns the tool's output (which carries its `status`). A refusal or failure of the
    /// tool is a [`ClientError::Api`] with the tool's code.
    pub async fn invoke_tool(&self, name: &str, input: &serde_json::Value) -> Result<serde_json::Value, ClientError> {
        let path = format!("/v1/tools/{}/invoke", path_segment(name));
        self.json(Method::POST, &path, self.request(Method::POST, &path).json(input)).await
    }

    // ----- webhooks -----------------------------------------------------------------------

    /// Creates a webhook endpoint (`POST /v1/webhooks`). The answer holds its signing secret,
    /// shown only here (and after [`rotate_webhook_secret`](Client::rotate_webhook_secret)).
    pub async fn create_webhook(&self, req: &CreateWebhookRequest) -> Result<WebhookWithSecret, ClientError> {
        self.json(Method::POST, "/v1/webhooks", self.request(Method::POST, "/v1/webhooks").json(req)).await
    }

    /// Lists the webhook endpoints this key may see (`GET /v1/webhooks`).
    pub async fn list_webhooks(&self) -> Result<Page<WebhookEndpoint>, ClientError> {
        self.json(Method::GET, "/v1/webhooks", self.request(Method::GET, "/v1/webhooks")).await
    }

    /// Returns one webhook endpoint, without its secret (`GET /v1/webhooks/{id}`).
    pub async fn get_webhook(&self, id: WebhookId) -> Result<WebhookEndpoint, ClientError> {
        let path = format!("/v1/webhooks/{id}");
        self.json(Method::GET, &path, self.request(Method::GET, &path)).await
    }

    /// Changes a webhook endpoint (`PATCH /v1/webhooks/{id}`); absent fields keep their value.
    pub async fn update_webhook(
        &self,
        id: WebhookId,
        req: &UpdateWebhookRequest,
    ) -> Result<WebhookEndpoint, ClientError> {
        let path = format!("/v1/webhooks/{id}");
        self.json(Method::PATCH, &path, self.request(Method::PATCH, &path).json(req)).await
    }

    /// Deletes a webhook endpoint and its deliveries (`DELETE /v1/webhooks/{id}`).
    pub async fn delete_webhook(&self, id: WebhookId) -> Result<(), ClientError> {
        self.empty(self.request(Method::DELETE, &format!("/v1/webhooks/{id}"))).await
    }

    /// Issues a new signing secret (`POST /v1/webhooks/{id}/rotate-secret`) and returns it;
    /// the previous one keeps signing beside it for a while, so receivers can switch.
    pub async fn rotate_webhook_secret(&self, id: WebhookId) -> Result<WebhookWithSecret, ClientError> {
        let path = format!("/v1/webhooks/{id}/rotate-secret");
        self.json(Method::POST, &path, self.request(Method::POST, &path)).await
    }

    /// Lists an endpoint's deliveries, newest first, each with its attempts
    /// (`GET /v1/webhooks/{id}/deliveries`); the cursor is the previous page's `next_cursor`.
    pub async fn list_webhook_deliveries(
        &self,
        id: WebhookId,
        cursor: Option<&str>,
        limit: Option<u32>,
    ) -> Result<Page<WebhookDelivery>, ClientError> {
        let path = format!("/v1/webhooks/{id}/deliveries");
        self.json(Method::GET, &path, self.request(Method::GET, &path).query(&PageQuery { cursor, limit })).await
    }

    /// Sends an endpoint's events after the cursor `after` again (from the start of the log
    /// when `None`) (`POST /v1/webhooks/{id}/replay`): events it was never sent get new
    /// deliveries, the others are queued again.
    pub async fn replay_webhook(&self, id: WebhookId, after: Option<&str>) -> Result<ReplayResponse, ClientError> {
        let path = format!("/v1/webhooks/{id}/replay");
        let req = ReplayRequest { after: after.map(str::to_string) };
        self.json(Method::POST, &path, self.request(Method::POST, &path).json(&req)).await
    }

    // ----- domains ------------------------------------------------------------------------

    /// Adds a hosted domain and generates its DKIM keys (`POST /v1/domains`).
    pub async fn create_domain(&self, req: &CreateDomainRequest) -> Result<Domain, ClientError> {
        self.json(Method::POST, "/v1/domains", self.request(Method::POST, "/v1/domains").json(req)).await
    }

    /// Lists the hosted domains this key may see (`GET /v1/domains`).
    pub async fn list_domains(&self) -> Result<Page<Domain>, ClientError> {
        self.json(Method::GET, "/v1/domains", self.request(Method::GET, "/v1/domains")).await
    }

    /// Returns one domain with its DKIM public keys (`GET /v1/domains/{id}`).
    pub async fn get_domain(&self, id: DomainId) -> Result<Domain, ClientError> {
        let path = format!("/v1/domains/{id}");
        self.json(Method::GET, &path, self.request(Method::GET, &path)).await
    }

    /// Removes a hosted domain (`DELETE /v1/domains/{id}`).
    pub async fn delete_domain(&self, id: DomainId) -> Result<(), ClientError> {
        self.empty(self.request(Method::DELETE, &format!("/v1/domains/{id}"))).await
    }

    /// Returns the DNS records to publish for a domain: MX, SPF, DKIM and DMARC
    /// (`GET /v1/domains/{id}/dns`).
    pub async fn domain_dns(&self, id: DomainId) -> Result<DomainDns, ClientError> {
        let path = format!("/v1/domains/{id}/dns");
        self.json(Method::GET, &path, self.request(Method::GET, &path)).await
    }

    // ----- allow/block lists ---------------------------------------------------------------

    /// Lists allow/block list entries, oldest first (`GET /v1/lists`), optionally of one
    /// direction and of one mailbox.
    pub async fn list_list_entries(
        &self,
        direction: Option<mailroom_core::ListDirection>,
        mailbox_id: Option<MailboxId>,
    ) -> Result<Page<mailroom_core::ListEntry>, ClientError> {
        #[derive(Serialize)]
        struct Q {
            #[serde(skip_serializing_if = "Option::is_none")]
            direction: Option<mailroom_core::ListDirection>,
            #[serde(skip_serializing_if = "Option::is_none")]
            mailbox_id: Option<MailboxId>,
        }
        let rb = self.request(Method::GET, "/v1/lists").query(&Q { direction, mailbox_id });
        self.json(Method::GET, "/v1/lists", rb).await
    }

    /// Adds an allow or block entry (`POST /v1/lists`).
    pub async fn create_list_entry(&self, req: &mailroom_core::api::CreateListEntryRequest) -> Result<mailroom_core::ListEntry, ClientError> {
        self.json(Method::POST, "/v1/lists", self.request(Method::POST, "/v1/lists").json(req)).await
    }

    /// Deletes an entry (`DELETE /v1/lists/{id}`).
    pub async fn delete_list_entry(&self, id: mailroom_core::ListEntryId) -> Result<(), ClientError> {
        self.empty(self.request(Method::DELETE, &format!("/v1/lists/{id}"))).await
    }

    // ----- suppressions -------------------------------------------------------------------

    /// Lists suppressed addresses alphabetically (`GET /v1/suppressions`); the cursor is the
    /// previous page's `next_cursor`.
    pub async fn list_suppressions(
        &self,
        cursor: Option<&str>,
        limit: Option<u32>,
    ) -> Result<Page<Suppression>, ClientError> {
        self.list_suppressions_in_site(None, cursor, limit).await
    }

    /// Like [`list_suppressions`](Client::list_suppressions), limited to one site (admin
    /// keys; a site key always sees its own site only).
    pub async fn list_suppressions_in_site(
        &self,
        site_id: Option<SiteId>,
        cursor: Option<&str>,
        limit: Option<u32>,
    ) -> Result<Page<Suppression>, ClientError> {
        let rb = self.request(Method::GET, "/v1/suppressions").query(&SuppressionQuery { cursor, limit, site_id });
        self.json(Method::GET, "/v1/suppressions", rb).await
    }

    /// Adds an address to the suppression list (`POST /v1/suppressions`): sends to it are
    /// refused until it is removed.
    pub async fn add_suppression(&self, req: &CreateSuppressionRequest) -> Result<Suppression, ClientError> {
        self.json(Method::POST, "/v1/suppressions", self.request(Method::POST, "/v1/suppressions").json(req)).await
    }

    /// Removes an address from the suppression list (`DELETE /v1/suppressions/{address}`).
    pub async fn remove_suppression(&self, address: &str) -> Result<(), ClientError> {
        self.remove_suppression_in_site(None, address).await
    }

    /// Like [`remove_suppression`](Client::remove_suppression) for another site than the
    /// default one (admin keys).
    pub async fn remove_suppression_in_site(&self, site_id: Option<SiteId>, address: &str) -> Result<(), ClientError> {
        let path = format!("/v1/suppressions/{}", path_segment(address.trim()));
        self.empty(self.request(Method::DELETE, &path).query(&SiteQuery { site_id })).await
    }

    // ----- outbound queue -----------------------------------------------------------------

    /// Lists outbound recipients still waiting, oldest first (`GET /v1/queue`).
    ///
    /// `statuses` is a comma-separated list such as `queued,deferred`, or `all`; the server
    /// default is `queued,sending,deferred`.
    pub async fn list_queue(
        &self,
        statuses: Option<&str>,
        limit: Option<u32>,
    ) -> Result<Page<QueueEntry>, ClientError> {
        self.list_queue_in_site(None, statuses, limit).await
    }

    /// Like [`list_queue`](Client::list_queue), limited to one site (admin keys).
    pub async fn list_queue_in_site(
        &self,
        site_id: Option<SiteId>,
        statuses: Option<&str>,
        limit: Option<u32>,
    ) -> Result<Page<QueueEntry>, ClientError> {
        let rb = self.request(Method::GET, "/v1/queue").query(&QueueQuery { status: statuses, limit, site_id });
        self.json(Method::GET, "/v1/queue", rb).await
    }

    /// Schedules a deferred, bounced or failed recipient of an outbound message for another
    /// attempt now (`POST /v1/messages/{id}/recipients/{address}/retry`); returns the message.
    pub async fn retry_recipient(&self, message_id: MessageId, address: &str) -> Result<Message, ClientError> {
        let path = recipient_action_path(message_id, address, "retry");
        self.json(Method::POST, &path, self.request(Method::POST, &path)).await
    }

    /// Gives up on a recipient still waiting for delivery; it becomes `failed`
    /// (`POST /v1/messages/{id}/recipients/{address}/cancel`). Returns the message.
    pub async fn cancel_recipient(&self, message_id: MessageId, address: &str) -> Result<Message, ClientError> {
        let path = recipient_action_path(message_id, address, "cancel");
        self.json(Method::POST, &path, self.request(Method::POST, &path)).await
    }

    // ----- raw access ---------------------------------------------------------------------

    /// Sends any request and returns the answer as it came, whatever its status: for tests of
    /// error handling. `path` starts with `/` and may carry a query string.
    ///
    /// The body, if any, is sent as `application/json`. The client's API key is sent unless
    /// `headers` holds an `Authorization` header of its own.
    pub async fn raw_request(
        &self,
        method: Method,
        path: &str,
        body: Option<serde_json::Value>,
        headers: &[(&str, &str)],
    ) -> Result<RawResponse, ClientError> {
        let body = body.map(|b| Bytes::from(serde_json::to_vec(&b).expect("a JSON value always serializes")));
        let mut all: Vec<(&str, &str)> = Vec::with_capacity(headers.len() + 1);
        if body.is_some() && !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("content-type")) {
            all.push(("content-type", "application/json"));
        }
        all.extend_from_slice(headers);
        self.raw_request_bytes(method, path, body, &all).await
    }

    /// Like [`raw_request`](Client::raw_request) with a body of any bytes (such as broken
    /// JSON) and no `Content-Type` unless `headers` gives one.
    pub async fn raw_request_bytes(
        &self,
        method: Method,
        path: &str,
        body: Option<Bytes>,
        headers: &[(&str, &str)],
    ) -> Result<RawResponse, ClientError> {
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| ClientError::InvalidInput(format!("`{name}` is not a valid header name")))?;
            let value = HeaderValue::from_str(value)
                .map_err(|_| ClientError::InvalidInput(format!("the value of `{name}` cannot be sent in a header")))?;
            map.append(name, value);
        }
        let mut rb = self.http.request(method, self.url(path));
        if !map.contains_key(AUTHORIZATION) {
            rb = rb.header(AUTHORIZATION, self.auth.clone());
        }
        rb = rb.headers(map);
        if let Some(body) = body {
            rb = rb.body(body);
        }
        let resp = rb.send().await.map_err(ClientError::Transport)?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = resp.bytes().await.map_err(ClientError::Transport)?;
        Ok(RawResponse { status, headers, body })
    }

    // ----- plumbing -----------------------------------------------------------------------

    fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.http.request(method, self.url(path)).header(AUTHORIZATION, self.auth.clone())
    }

    /// Sends the request and turns a non-success answer into [`ClientError::Api`].
    async fn send(&self, rb: RequestBuilder) -> Result<Response, ClientError> {
        let resp = rb.send().await.map_err(ClientError::Transport)?;
        if resp.status().is_success() {
            return Ok(resp);
        }
        let status = resp.status().as_u16();
        let body = resp.bytes().await.map_err(ClientError::Transport)?;
        Err(ClientError::from_response(status, &body))
    }

    async fn json<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        rb: RequestBuilder,
    ) -> Result<T, ClientError> {
        let body = self.send(rb).await?.bytes().await.map_err(ClientError::Transport)?;
        decode(&format!("{method} {path}"), &body)
    }

    async fn empty(&self, rb: RequestBuilder) -> Result<(), ClientError> {
        self.send(rb).await?;
        Ok(())
    }
}

/// Percent-encodes one path segment: everything but RFC 3986 unreserved characters, so that
/// `+`, `@`, `/`, `%`, `?` and `#` in an address reach the server as data.
fn path_segment(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for &b in value.as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn recipient_action_path(message_id: MessageId, address: &str, action: &str) -> String {
    format!("/v1/messages/{message_id}/recipients/{}/{action}", path_segment(address.trim()))
}

fn decode<T: DeserializeOwned>(request: &str, body: &[u8]) -> Result<T, ClientError> {
    serde_json::from_slice(body).map_err(|source| ClientError::Decode { request: request.to_string(), source })
}

fn bearer(api_key: &str) -> Result<HeaderValue, ClientError> {
    if api_key.is_empty() {
        return Err(ClientError::InvalidInput(
            "the API key is empty: set MAILROOM_API_KEY; the admin key is written to <data-dir>/admin-api-key".into(),
        ));
    }
    let mut value = HeaderValue::from_str(&format!("Bearer {api_key}")).map_err(|_| {
        ClientError::InvalidInput("the API key contains characters that cannot be sent in a header".to_string())
    })?;
    value.set_sensitive(true);
    Ok(value)
}

fn with_idempotency_key(rb: RequestBuilder, key: Option<&str>) -> Result<RequestBuilder, ClientError> {
    match key {
        None => Ok(rb),
        Some(key) => {
            let value = HeaderValue::from_str(key).map_err(|_| {
                ClientError::InvalidInput(format!("the idempotency key `{key}` cannot be sent in a header"))
            })?;
            Ok(rb.header(IDEMPOTENCY_KEY_HEADER, value))
        }
    }
}

/// Checks a base URL and returns it without a trailing slash.
fn normalize_base_url(input: &str) -> Result<String, ClientError> {
    let trimmed = input.trim();
    let url = reqwest::Url::parse(trimmed).map_err(|e| {
        ClientError::InvalidInput(format!("`{trimmed}` is not a valid server URL ({e}); use e.g. {DEFAULT_URL}"))
    })?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(ClientError::InvalidInput(format!(
            "`{trimmed}` is not an http or https URL; use e.g. {DEFAULT_URL}"
        )));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(ClientError::InvalidInput(format!(
            "`{trimmed}` has a query or fragment; give only the server's base URL, e.g. {DEFAULT_URL}"
        )));
    }
    Ok(url.as_str().trim_end_matches('/').to_string())
}

/// Extracts the file name from a `Content-Disposition` value, preferring the RFC 6266
/// `filename*=UTF-8''…` form over the plain `filename="…"`.
fn filename_from_disposition(value: &str) -> Option<String> {
    let mut plain = None;
    let mut extended = None;
    for param in split_params(value).into_iter().skip(1) {
        let Some((name, val)) = param.split_once('=') else { continue };
        let name = name.trim().to_ascii_lowercase();
        let val = val.trim();
        if name == "filename*" {
            // charset'language'percent-encoded
            let mut parts = val.splitn(3, '\'');
            let (charset, _lang, encoded) = (parts.next()?, parts.next()?, parts.next()?);
            let bytes = percent_decode(encoded);
            extended = if charset.eq_ignore_ascii_case("utf-8") {
                String::from_utf8(bytes).ok()
            } else {
                Some(bytes.iter().map(|&b| b as char).collect()) // ISO-8859-1
            };
        } else if name == "filename" {
            plain = Some(unquote(val));
        }
    }
    extended.or(plain).filter(|n| !n.is_empty())
}

/// Splits a header value on `;` outside quoted strings.
fn split_params(value: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut start, mut quoted, mut escaped) = (0, false, false);
    for (i, c) in value.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            ';' if !quoted => {
                out.push(&value[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&value[start..]);
    out
}

fn unquote(s: &str) -> String {
    let Some(inner) = s.strip_prefix('"').and_then(|s| s.strip_suffix('"')) else { return s.to_string() };
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(next) = chars.next() {
                out.push(next);
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn percent_decode(s: &str) -> Vec<u8> {
    fn hex(b: u8) -> Option<u8> {
        (b as char).to_digit(16).map(|d| d as u8)
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(hi), Some(lo)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            out.push(hi << 4 | lo);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use mailroom_core::model::Direction;

    fn client() -> Client {
        Client::new("http://127.0.0.1:8025/", "mr_test_key").unwrap()
    }

    #[test]
    fn base_urls_are_checked_and_normalized() {
        assert_eq!(normalize_base_url("http://127.0.0.1:8025/").unwrap(), "http://127.0.0.1:8025");
        assert_eq!(
            normalize_base_url(" https://mail.example.com/mailroom/ ").unwrap(),
            "https://mail.example.com/mailroom"
        );
        assert!(matches!(normalize_base_url("127.0.0.1:8025"), Err(ClientError::InvalidInput(_))));
        assert!(matches!(normalize_base_url("ftp://x"), Err(ClientError::InvalidInput(_))));
        assert!(matches!(normalize_base_url("http://x/?a=b"), Err(ClientError::InvalidInput(_))));
    }

    #[test]
    fn keys_must_be_sendable() {
        assert!(
            matches!(Client::new(DEFAULT_URL, "  "), Err(ClientError::InvalidInput(m)) if m.contains("MAILROOM_API_KEY"))
        );
        assert!(matches!(Client::new(DEFAULT_URL, "a\nb"), Err(ClientError::InvalidInput(_))));
        // A key read from a file keeps its newline; it is trimmed.
        assert!(Client::new(DEFAULT_URL, "mr_abc\n").is_ok());
    }

    #[test]
    fn debug_output_hides_the_key() {
        let shown = format!("{:?}", client());
        assert!(!shown.contains("mr_test_key"), "{shown}");
        assert!(shown.contains("127.0.0.1:8025"));
    }

    #[test]
    fn requests_carry_the_bearer_key() {
        let req = client().request(Method::GET, "/v1/sites").build().unwrap();
        assert_eq!(req.url().as_str(), "http://127.0.0.1:8025/v1/sites");
        assert_eq!(req.headers()[AUTHORIZATION], "Bearer mr_test_key");
    }

    #[test]
    fn a_path_prefix_is_kept() {
        let c = Client::new("https://example.com/mailroom/", "k").unwrap();
        let req = c.request(Method::GET, "/v1/events").build().unwrap();
        assert_eq!(req.url().as_str(), "https://example.com/mailroom/v1/events");
    }

    #[test]
    fn message_queries_only_send_what_is_set() {
        let c = client();
        let req = c.request(Method::GET, "/v1/x").query(&MessageQuery::default()).build().unwrap();
        assert_eq!(req.url().query(), None);

        let thread = ThreadId::new();
        let q = MessageQuery {
            direction: Some(Direction::Inbound.as_str().to_string()),
            thread_id: Some(thread),
            unread: Some(true),
            since: Some("2026-01-01T00:00:00+01:00".into()),
            label: Some("a b".into()),
            q: Some("alice@example.com \"late\" & more".into()),
            cursor: Some("c/1=".into()),
            limit: Some(10),
        };
        let req = c.request(Method::GET, "/v1/x").query(&q).build().unwrap();
        assert_eq!(
            req.url().query().unwrap(),
            format!(
                "direction=inbound&thread_id={thread}&unread=true&since=2026-01-01T00%3A00%3A00%2B01%3A00&label=a+b\
                 &q=alice%40example.com+%22late%22+%26+more&cursor=c%2F1%3D&limit=10"
            )
        );
    }

    #[test]
    fn page_and_event_queries() {
        let c = client();
        let req = c.request(Method::GET, "/v1/m").query(&PageQuery { cursor: None, limit: Some(5) }).build().unwrap();
        assert_eq!(req.url().query(), Some("limit=5"));
        let req =
            c.request(Method::GET, "/v1/events").query(&EventQuery { after: Some("42"), limit: None }).build().unwrap();
        assert_eq!(req.url().query(), Some("after=42"));
    }

    #[test]
    fn addresses_in_paths_are_percent_encoded() {
        assert_eq!(path_segment("a.b-c_d~e"), "a.b-c_d~e");
        assert_eq!(path_segment("bob+tag@example.com"), "bob%2Btag%40example.com");
        assert_eq!(path_segment("a/b?c#d%e f"), "a%2Fb%3Fc%23d%25e%20f");
        assert_eq!(path_segment("jö@x.test"), "j%C3%B6%40x.test");
        assert_eq!(path_segment(".."), "..");

        let id = MessageId::new();
        let path = recipient_action_path(id, " Bob+Tag@Example.com ", "retry");
        assert_eq!(path, format!("/v1/messages/{id}/recipients/Bob%2BTag%40Example.com/retry"));
        // The encoding survives URL building unchanged.
        let req = client().request(Method::POST, &path).build().unwrap();
        assert_eq!(req.url().path(), path);
    }

    #[test]
    fn suppression_and_queue_queries() {
        let c = client();
        let site = SiteId::new();
        let q = SuppressionQuery { cursor: Some("a+b@x.test"), limit: Some(10), site_id: Some(site) };
        let req = c.request(Method::GET, "/v1/suppressions").query(&q).build().unwrap();
        assert_eq!(req.url().query().unwrap(), format!("cursor=a%2Bb%40x.test&limit=10&site_id={site}"));
        let q = QueueQuery { status: Some("queued,deferred"), limit: None, site_id: None };
        let req = c.request(Method::GET, "/v1/queue").query(&q).build().unwrap();
        assert_eq!(req.url().query(), Some("status=queued%2Cdeferred"));
        let req = c.request(Method::DELETE, "/v1/suppressions/x").query(&SiteQuery { site_id: None }).build().unwrap();
        assert_eq!(req.url().query(), None);
    }

    #[test]
    fn idempotency_keys_become_a_header() {
        let rb = with_idempotency_key(client().request(Method::POST, "/v1/x"), Some("send-1")).unwrap();
        assert_eq!(rb.build().unwrap().headers()["idempotency-key"], "send-1");
        assert!(with_idempotency_key(client().request(Method::POST, "/v1/x"), Some("a\r\nb")).is_err());
    }

    #[test]
    fn decode_errors_name_the_request() {
        let err = decode::<Site>("GET /v1/sites", b"{}").unwrap_err();
        assert!(err.to_string().starts_with("the answer to GET /v1/sites could not be read"), "{err}");
    }

    #[test]
    fn content_disposition_file_names() {
        assert_eq!(filename_from_disposition(r#"attachment; filename="report.pdf""#).as_deref(), Some("report.pdf"));
        assert_eq!(filename_from_disposition("attachment; filename=plain.txt").as_deref(), Some("plain.txt"));
        assert_eq!(
            filename_from_disposition(r#"attachment; filename="a\"b;c.txt"; size=3"#).as_deref(),
            Some("a\"b;c.txt")
        );
        assert_eq!(
            filename_from_disposition(r#"attachment; filename="fallback.txt"; filename*=UTF-8''r%C3%A9sum%C3%A9.txt"#)
                .as_deref(),
            Some("résumé.txt")
        );
        assert_eq!(filename_from_disposition("inline"), None);
        assert_eq!(filename_from_disposition(r#"attachment; filename="""#), None);
        assert_eq!(percent_decode("100%"), b"100%");
        assert_eq!(percent_decode("%4"), b"%4");
        assert_eq!(percent_decode("%zz%41"), b"%zzA");
        assert_eq!(percent_decode("%é%41"), "%éA".as_bytes());
    }
}
