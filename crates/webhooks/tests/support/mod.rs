//! Test helpers: a fresh SQLite store in a temporary file with one site and two mailboxes,
//! and real HTTP receivers on 127.0.0.1 ([`Receiver`]) whose answers a test scripts.
#![allow(dead_code)]

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use mailroom_core::*;
use mailroom_engine::SecretBox;
use mailroom_store::{NewEvent, Store};
use mailroom_store_sqlite::SqliteStore;
use mailroom_webhooks::{CreateWebhookRequest, WebhookConfig, WebhookWorker};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{Notify, oneshot};

/// One request a receiver got.
#[derive(Debug, Clone)]
pub struct Received {
    pub headers: HeaderMap,
    pub body: Bytes,
    pub at: Instant,
}

impl Received {
    pub fn header(&self, name: &str) -> &str {
        self.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }
}

/// What a receiver answers.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: String,
}

impl Reply {
    pub fn status(status: u16) -> Reply {
        Reply { status, headers: Vec::new(), body: String::new() }
    }

    pub fn with_header(mut self, name: &'static str, value: impl Into<String>) -> Reply {
        self.headers.push((name, value.into()));
        self
    }

    pub fn with_body(mut self, body: impl Into<String>) -> Reply {
        self.body = body.into();
        self
    }
}

/// Chooses the answer to the `n`-th request (0-based).
pub type Responder = Arc<dyn Fn(usize) -> Reply + Send + Sync>;

/// Answers every request with `status`.
pub fn always(status: u16) -> Responder {
    Arc::new(move |_| Reply::status(status))
}

/// Answers the requests with `replies` in turn, then 200.
pub fn script(replies: Vec<Reply>) -> Responder {
    Arc::new(move |n| replies.get(n).cloned().unwrap_or_else(|| Reply::status(200)))
}

struct ReceiverState {
    requests: Mutex<Vec<Received>>,
    responder: Responder,
    arrived: Notify,
}

/// A webhook receiver: an axum server on 127.0.0.1 that records every request.
pub struct Receiver {
    pub addr: SocketAddr,
    state: Arc<ReceiverState>,
    stop: Option<oneshot::Sender<()>>,
}

impl Receiver {
    /// Starts a receiver on a free port.
    pub async fn start(responder: Responder) -> Receiver {
        Self::start_on(0, responder).await
    }

    /// Starts a receiver on `port` (0: any free port).
    pub async fn start_on(port: u16, responder: Responder) -> Receiver {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.expect("bind the receiver");
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(ReceiverState { requests: Mutex::new(Vec::new()), responder, arrived: Notify::new() });
        let app = axum::Router::new().fallback(handle).with_state(state.clone());
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = stopped.await;
                })
                .await
                .expect("the receiver runs");
        });
        Receiver { addr, state, stop: Some(stop) }
    }

    /// Returns a port nobody listens on (for a receiver that is down).
    pub async fn free_port() -> u16 {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/hook", self.addr.port())
    }

    pub fn received(&self) -> Vec<Received> {
        self.state.requests.lock().unwrap().clone()
    }

    /// Waits until at least `n` requests arrived (panics after `within`) and returns them all.
    pub async fn wait_for(&self, n: usize, within: Duration) -> Vec<Received> {
        let deadline = Instant::now() + within;
        loop {
            let notified = self.state.arrived.notified();
            let got = self.received();
            if got.len() >= n {
                return got;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                panic!("expected {n} requests, got {} within {within:?}", got.len());
            }
            let _ = tokio::time::timeout(left, notified).await;
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

async fn handle(State(state): State<Arc<ReceiverState>>, headers: HeaderMap, body: Bytes) -> Response {
    let n = {
        let mut requests = state.requests.lock().unwrap();
        requests.push(Received { headers, body, at: Instant::now() });
        requests.len() - 1
    };
    state.arrived.notify_waiters();
    let reply = (state.responder)(n);
    let mut response = (StatusCode::from_u16(reply.status).unwrap(), reply.body).into_response();
    for (name, value) in reply.headers {
        response.headers_mut().insert(name, value.parse().unwrap());
    }
    response
}

/// A store in a temporary file with one site and two mailboxes.
pub struct Harness {
    pub store: Arc<dyn Store>,
    pub secrets: SecretBox,
    pub site: Site,
    pub mailbox: Mailbox,
    pub other_mailbox: Mailbox,
    pub url: String,
    _dir: tempfile::TempDir,
}

impl Harness {
    pub async fn new() -> Harness {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let url = format!("sqlite://{}", dir.path().join("mailroom.db").display());
        let store: Arc<dyn Store> = Arc::new(SqliteStore::connect(&url).await.expect("open SQLite"));
        let site = Site { id: SiteId::new(), name: "test".into(), created_at: now() };
        store.create_site(&site).await.expect("create_site");
        let mailbox = Self::add_mailbox(&store, &site, "agent").await;
        let other_mailbox = Self::add_mailbox(&store, &site, "other").await;
        Harness { store, secrets: SecretBox::new(&[7u8; 32]), site, mailbox, other_mailbox, url, _dir: dir }
    }

    async fn add_mailbox(store: &Arc<dyn Store>, site: &Site, user: &str) -> Mailbox {
        let t = now();
        let mailbox = Mailbox {
            id: MailboxId::new(),
            site_id: site.id,
            address: EmailAddress::parse(&format!("{user}@mailroom.test")).unwrap(),
            display_name: None,
            client_id: None,
            created_at: t,
            updated_at: t,
        };
        let event = NewEvent::new(site.id, Some(mailbox.id), event_types::MAILBOX_CREATED, serde_json::json!({ "id": mailbox.id }));
        store.create_mailbox(&mailbox, &event).await.expect("create_mailbox");
        mailbox
    }

    /// Opens the same database file again: what a restarted server sees.
    pub async fn reopen(&self) -> Arc<dyn Store> {
        Arc::new(SqliteStore::connect(&self.url).await.expect("reopen SQLite"))
    }

    /// A configuration for receivers on loopback, with a fast retry schedule.
    pub fn config() -> WebhookConfig {
        WebhookConfig {
            retry_schedule: vec![Duration::ZERO, Duration::from_millis(20), Duration::from_millis(20), Duration::from_millis(20), Duration::from_millis(20)],
            timeout: Duration::from_secs(5),
            allow_private_targets: true,
            public_url: "https://mail.example.test".into(),
            poll_interval: Duration::from_millis(50),
            concurrency: 4,
            ..WebhookConfig::default()
        }
    }

    pub fn worker(&self, config: WebhookConfig) -> Arc<WebhookWorker> {
        Arc::new(WebhookWorker::new(self.store.clone(), self.secrets.clone(), config))
    }

    /// Creates an endpoint for every event type through the service; returns it and its secret.
    pub async fn endpoint(&self, url: &str) -> (WebhookEndpoint, String) {
        self.endpoint_with(CreateWebhookRequest { url: url.into(), ..Default::default() }).await
    }

    pub async fn endpoint_with(&self, req: CreateWebhookRequest) -> (WebhookEndpoint, String) {
        mailroom_webhooks::create_endpoint(self.store.as_ref(), &self.secrets, &Self::config(), self.site.id, req).await.expect("create_endpoint")
    }

    /// Appends an event of the first mailbox and returns it as the log holds it.
    pub async fn event(&self, event_type: &str, data: serde_json::Value) -> Event {
        self.event_of(event_type, Some(self.mailbox.id), data).await
    }

    pub async fn event_of(&self, event_type: &str, mailbox: Option<MailboxId>, data: serde_json::Value) -> Event {
        let e = NewEvent::new(self.site.id, mailbox, event_type, data);
        self.store.append_events(std::slice::from_ref(&e)).await.expect("append_events");
        self.events().await.into_iter().find(|x| x.id == e.id).expect("the event is in the log")
    }

    pub async fn events(&self) -> Vec<Event> {
        self.store.list_events(Some(self.site.id), None, 1000).await.expect("list_events")
    }

    pub async fn deliveries(&self, endpoint: &WebhookEndpoint) -> Vec<WebhookDelivery> {
        let mut d = self.store.list_webhook_deliveries(endpoint.id, None, 1000).await.expect("list_webhook_deliveries");
        d.reverse();
        d
    }

    pub async fn reload(&self, endpoint: &WebhookEndpoint) -> WebhookEndpoint {
        self.store.get_webhook(endpoint.id).await.expect("get_webhook").expect("the endpoint exists")
    }
}

/// Verifies a request with the independent `standardwebhooks` crate.
pub fn verify(secret: &str, r: &Received) -> Result<(), standardwebhooks::WebhookError> {
    standardwebhooks::Webhook::new(secret).expect("a valid secret").verify(&r.body, &r.headers)
}

/// Fans out and delivers until nothing is due, sleeping `pause` between rounds, at most
/// `rounds` rounds.
pub async fn drain(worker: &WebhookWorker, rounds: usize, pause: Duration) {
    for _ in 0..rounds {
        worker.fan_out_once().await.expect("fan_out_once");
        if worker.deliver_once().await.expect("deliver_once") == 0 {
            tokio::time::sleep(pause).await;
        }
    }
}
