//! Test helpers: a fresh SQLite store and blob directory with one site and mailbox, outbound
//! messages queued the way the engine queues them, scripted hooks, and a real SMTP server
//! ([`smtp`]).
#![allow(dead_code)]

pub mod smtp;

use async_trait::async_trait;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use mailroom_core::mime::{self, OutgoingMessage};
use mailroom_core::*;
use mailroom_delivery::{DeliveryConfig, DeliveryHooks, Deliverer, DkimKeyMaterial, LocalOutcome};
use mailroom_store::{BlobStore, LocalBlobStore, NewEvent, NewMessage, Store};
use mailroom_store_sqlite::SqliteStore;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The sending mailbox's domain.
pub const SENDER_DOMAIN: &str = "mailroom.test";

/// A store, a blob directory, a site and a mailbox to send from.
pub struct Harness {
    pub store: Arc<dyn Store>,
    pub blobs: Arc<dyn BlobStore>,
    pub site: Site,
    pub mailbox: Mailbox,
    _dir: tempfile::TempDir,
}

impl Harness {
    /// Opens a fresh SQLite file and blob directory in a temporary directory.
    pub async fn new() -> Harness {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let url = format!("sqlite://{}", dir.path().join("mailroom.db").display());
        let store: Arc<dyn Store> = Arc::new(SqliteStore::connect(&url).await.expect("open SQLite"));
        let blobs: Arc<dyn BlobStore> = Arc::new(LocalBlobStore::open(dir.path().join("blobs")).expect("open blobs"));
        let site = Site { id: SiteId::new(), name: "test".into(), created_at: now() };
        store.create_site(&site).await.expect("create_site");
        let t = now();
        let mailbox = Mailbox {
            id: MailboxId::new(),
            site_id: site.id,
            address: EmailAddress::parse(&format!("agent@{SENDER_DOMAIN}")).unwrap(),
            display_name: Some("Agent".into()),
            client_id: None,
            created_at: t,
            updated_at: t,
        };
        let event = NewEvent::new(site.id, Some(mailbox.id), event_types::MAILBOX_CREATED, serde_json::json!({}));
        store.create_mailbox(&mailbox, &event).await.expect("create_mailbox");
        Harness { store, blobs, site, mailbox, _dir: dir }
    }

    /// Queues an outbound message to `to` (all `To`), created now.
    pub async fn queue(&self, to: &[&str]) -> Message {
        self.queue_at(to, now()).await
    }

    /// Queues an outbound message to `to`, as if created at `created_at`: raw bytes built
    /// and parsed by `mailroom_core::mime`, one `queued` recipient per address.
    pub async fn queue_at(&self, to: &[&str], created_at: DateTime<Utc>) -> Message {
        let id = MessageId::new();
        let to: Vec<NamedAddress> = to.iter().map(|a| NamedAddress::parse(a).expect("a test address")).collect();
        let header_id = format!("{}@{SENDER_DOMAIN}", id.as_uuid().simple());
        let out = OutgoingMessage {
            from: self.mailbox.named_address(),
            to: to.clone(),
            cc: Vec::new(),
            reply_to: Vec::new(),
            subject: "Quarterly report".into(),
            text: Some("Hello,\r\n.\r\nA line with a lone dot above, and one below.\r\n.leading dot\r\n".into()),
            html: None,
            attachments: Vec::new(),
            headers: Vec::new(),
            message_id: header_id,
            in_reply_to: None,
            references: Vec::new(),
            date: created_at,
        };
        let raw = mime::build(&out).expect("build");
        let p = mime::parse(&raw).expect("parse");
        let key = format!("messages/{id}.eml");
        self.blobs.put(&key, Bytes::from(raw.clone())).await.expect("put blob");
        // The store's test kit builds the struct (and follows its new fields); the outbound
        // fields are set here.
        let mut message = mailroom_store::testkit::message_value(&self.mailbox, ThreadId::new(), created_at);
        message.id = id;
        message.direction = Direction::Outbound;
        message.message_id = p.message_id;
        message.in_reply_to = p.in_reply_to;
        message.references = p.references;
        message.from = p.from;
        message.to = p.to;
        message.cc = p.cc;
        message.reply_to = p.reply_to;
        message.subject = p.subject;
        message.text = p.text;
        message.html = p.html;
        message.snippet = p.snippet;
        message.headers = p.headers;
        message.read = true;
        message.size = raw.len() as u64;
        message.recipients = to
            .iter()
            .map(|a| Recipient {
                address: a.address.clone(),
                kind: RecipientKind::To,
                status: DeliveryStatus::Queued,
                last_reply: None,
                attempts: 0,
                next_attempt_at: None,
                updated_at: created_at,
            })
            .collect();
        message.raw_blob_key = key;
        let event = NewEvent::new(self.site.id, Some(self.mailbox.id), event_types::MESSAGE_SENT, serde_json::json!({ "message_id": id }));
        self.store.insert_message(&NewMessage { message: message.clone(), new_thread: true }, &[event]).await.expect("insert_message");
        message
    }

    /// Returns the raw bytes stored for `message`.
    pub async fn raw(&self, message: &Message) -> Vec<u8> {
        self.blobs.get(&message.raw_blob_key).await.expect("raw blob").to_vec()
    }

    /// Returns the stored state of one recipient.
    pub async fn recipient(&self, message: &Message, address: &str) -> Recipient {
        let m = self.store.get_message(message.id).await.expect("get_message").expect("the message exists");
        m.recipients.into_iter().find(|r| r.address.as_str() == address).expect("the recipient exists")
    }

    /// Returns the events logged after the message was sent, as `(type, data)`.
    pub async fn delivery_events(&self) -> Vec<(String, serde_json::Value)> {
        let events = self.store.list_events(None, None, 1000).await.expect("list_events");
        events
            .into_iter()
            .filter(|e| e.event_type != event_types::MAILBOX_CREATED && e.event_type != event_types::MESSAGE_SENT)
            .map(|e| (e.event_type, e.data))
            .collect()
    }

    /// Returns a worker over this harness's store and blobs.
    pub fn deliverer(&self, hooks: Arc<TestHooks>, config: DeliveryConfig) -> Deliverer {
        Deliverer::new(self.store.clone(), self.blobs.clone(), hooks, config)
    }
}

/// A configuration for tests: short timeouts, one route per `(domain, port)` on 127.0.0.1.
pub fn config(routes: &[(&str, u16)]) -> DeliveryConfig {
    DeliveryConfig {
        hostname: "sender.mailroom.test".into(),
        routes: routes.iter().map(|(d, p)| (d.to_string(), ("127.0.0.1".to_string(), *p))).collect::<HashMap<_, _>>(),
        retry_schedule: vec![Duration::from_millis(300), Duration::from_secs(600)],
        connect_timeout: Duration::from_secs(5),
        lease: Duration::from_secs(30),
        poll_interval: Duration::from_millis(50),
        ..DeliveryConfig::default()
    }
}

/// Hooks with fixed DKIM keys and a list of "local" domains whose recipients get a fixed
/// outcome.
#[derive(Default)]
pub struct TestHooks {
    pub keys: Vec<DkimKeyMaterial>,
    pub local: HashMap<String, LocalOutcome>,
    pub local_calls: Mutex<Vec<String>>,
}

impl TestHooks {
    pub fn none() -> Arc<TestHooks> {
        Arc::new(TestHooks::default())
    }
}

#[async_trait]
impl DeliveryHooks for TestHooks {
    async fn dkim_keys(&self, domain: &str) -> Vec<DkimKeyMaterial> {
        if domain == SENDER_DOMAIN { self.keys.clone() } else { Vec::new() }
    }

    async fn deliver_local(&self, _message: &Message, recipient: &Recipient) -> Option<LocalOutcome> {
        let outcome = self.local.get(recipient.address.domain()).cloned()?;
        self.local_calls.lock().unwrap().push(recipient.address.to_string());
        Some(outcome)
    }
}

/// Returns a port on 127.0.0.1 where nothing listens.
pub async fn closed_port() -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    drop(listener);
    port
}

/// Asserts that `t` lies within `[from + d, to + d]` (with a millisecond of rounding).
pub fn assert_due(t: DateTime<Utc>, from: DateTime<Utc>, to: DateTime<Utc>, d: Duration) {
    let d = chrono::Duration::from_std(d).unwrap();
    let slack = chrono::Duration::milliseconds(1);
    assert!(t >= from + d - slack && t <= to + d + slack, "{t} is not within [{}, {}]", from + d, to + d);
}
