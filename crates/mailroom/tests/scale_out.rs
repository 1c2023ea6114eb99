//! Scale-out, end to end: blobs in an S3-compatible bucket and several servers on one
//! PostgreSQL database.
//!
//! S3 tests need `MAILROOM_TEST_S3_URL` (an endpoint that accepts any credentials, such as moto:
//! `moto_server -p 5000` → `http://127.0.0.1:5000`); PostgreSQL tests need
//! `MAILROOM_TEST_POSTGRES_URL`. `.ci/run` provides both. Without them the tests say SKIPPED.

mod common;

use base64::Engine as _;
use common::dns::TestDns;
use common::smtp::smtp_send;
use common::*;
use futures::StreamExt;
use mailroom::config::Config;
use mailroom_blob_s3::{S3BlobStore, S3Config};
use mailroom_core::api::MessageQuery;
use mailroom_core::{Direction, MessageId};
use mailroom_store::BlobStore;
use sqlx::Connection;
use std::time::{Duration, Instant};

const ADMIN_KEY: &str = "mr_scale_out_test_admin_key_0123456789";

fn s3_endpoint(what: &str) -> Option<String> {
    match std::env::var("MAILROOM_TEST_S3_URL") {
        Ok(url) if !url.trim().is_empty() => Some(url.trim().trim_end_matches('/').to_string()),
        _ => {
            eprintln!("SKIPPED: MAILROOM_TEST_S3_URL is not set; {what} did not run (start moto_server, see .ci/run)");
            None
        }
    }
}

/// Creates a fresh bucket with a plain PUT (moto accepts it unsigned) and returns its name.
async fn new_bucket(endpoint: &str) -> String {
    let bucket = format!("mailroom-e2e-{}", uuid::Uuid::now_v7().simple());
    let resp = reqwest::Client::new().put(format!("{endpoint}/{bucket}")).send().await.expect("the S3 test endpoint answers");
    assert!(resp.status().is_success(), "creating bucket {bucket}: {}", resp.status());
    bucket
}

fn s3_settings(endpoint: &str, url: &str) -> S3Config {
    S3Config {
        url: url.into(),
        endpoint: Some(endpoint.into()),
        region: Some("us-east-1".into()),
        access_key_id: Some("testing".into()),
        secret_access_key: Some("testing".into()),
        allow_http: true,
    }
}

fn use_s3(c: &mut Config, endpoint: &str, url: &str) {
    c.blobs.url = url.into();
    c.blobs.endpoint = endpoint.into();
    c.blobs.region = "us-east-1".into();
    c.blobs.access_key_id = "testing".into();
    c.blobs.secret_access_key = "testing".into();
    c.blobs.allow_http = true;
}

/// A fresh PostgreSQL database, dropped by [`TestDb::drop_now`].
struct TestDb {
    url: String,
    name: String,
    base: String,
}

impl TestDb {
    async fn create(what: &str) -> Option<TestDb> {
        let Ok(base) = std::env::var("MAILROOM_TEST_POSTGRES_URL") else {
            eprintln!("SKIPPED: MAILROOM_TEST_POSTGRES_URL is not set; {what} did not run");
            return None;
        };
        let name = format!("mailroom_test_{}", uuid::Uuid::now_v7().simple());
        let mut admin = sqlx::PgConnection::connect(&base).await.expect("PostgreSQL reachable");
        sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut admin).await.unwrap();
        let (server, query) = base.split_once('?').map(|(u, q)| (u.to_string(), format!("?{q}"))).unwrap_or((base.clone(), String::new()));
        let scheme_end = server.find("://").map(|i| i + 3).unwrap_or(0);
        let server = server[scheme_end..].find('/').map(|i| server[..scheme_end + i].to_string()).unwrap_or(server);
        Some(TestDb { url: format!("{server}/{name}{query}"), name, base })
    }

    async fn drop_now(self) {
        if let Ok(mut admin) = sqlx::PgConnection::connect(&self.base).await {
            let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name)).execute(&mut admin).await;
        }
    }
}

/// `len` scrambled bytes (every value 0-255, CR and LF included).
fn binary(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed ^ 0x9e37_79b9_7f4a_7c15;
    (0..len)
        .map(|_| {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (x >> 33) as u8
        })
        .collect()
}

/// A multipart message to `to` with `attachment` as a base64 part named `data.bin`.
fn message_with_attachment(to: &str, subject: &str, attachment: &[u8]) -> String {
    let encoded = base64::engine::general_purpose::STANDARD.encode(attachment);
    let lines: Vec<&str> = encoded.as_bytes().chunks(76).map(|c| std::str::from_utf8(c).unwrap()).collect();
    format!(
        "From: Sender <sender@example.org>\r\nTo: {to}\r\nSubject: {subject}\r\nMessage-ID: <{}@example.org>\r\n\
         Date: Thu, 01 Jan 2026 00:00:00 +0000\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n\
         --b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nThe data is attached.\r\n\
         --b1\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=\"data.bin\"\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n{}\r\n--b1--\r\n",
        uuid::Uuid::now_v7().simple(),
        lines.join("\r\n")
    )
}

/// Sends `message` over SMTP and asserts it was accepted.
async fn deliver(app: &TestApp, to: &str, message: &str) {
    let replies = smtp_send(app.server.as_ref().unwrap().smtp_addr.unwrap(), "sender@example.org", &[to], message).await;
    assert!(replies.last().unwrap().starts_with("250"), "{replies:?}");
}

/// Checks through `app`'s API that the message's raw bytes and its attachment are exactly
/// what was sent, and returns the message's blob keys.
async fn assert_served_byte_exact(app: &TestApp, id: MessageId, sent: &str, attachment: &[u8]) -> Vec<String> {
    let raw = app.admin.get_raw_message(id).await.unwrap();
    assert!(raw.as_ref() == sent.as_bytes(), "the raw message is served byte for byte ({} vs {} bytes)", raw.len(), sent.len());
    let message = app.admin.get_message(id).await.unwrap();
    assert_eq!(message.attachments.len(), 1);
    let (_, _, bytes) = app.admin.get_attachment(message.attachments[0].id).await.unwrap();
    assert!(bytes.as_ref() == attachment, "the attachment is served byte for byte");
    let stored = app.server.as_ref().unwrap().engine.store().get_message(id).await.unwrap().unwrap();
    let mut keys = vec![stored.raw_blob_key.clone()];
    keys.extend(stored.attachments.iter().map(|a| a.blob_key.clone()));
    keys
}

/// A server with its blobs in S3 receives a message with a 300 KiB attachment over SMTP and
/// serves the raw message and the attachment back exactly; both are objects in the bucket.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn s3_blobs_serve_raw_messages_and_attachments_byte_exact() {
    let Some(endpoint) = s3_endpoint("the S3 end-to-end test") else { return };
    let bucket = new_bucket(&endpoint).await;
    let url = format!("s3://{bucket}/node");
    let dns = TestDns::start().await;
    let app = spawn_app_with(|c| {
        use_s3(c, &endpoint, &url);
        c.dns.nameservers = vec![dns.addr.to_string()];
    })
    .await;
    let ready = reqwest::get(format!("{}/readyz", app.url)).await.unwrap();
    assert_eq!(ready.status(), 200);
    assert_eq!(ready.json::<serde_json::Value>().await.unwrap()["checks"]["blob_store"], "ok");

    let mb = mailbox(&app.admin, "s3").await;
    let attachment = binary(300 * 1024, 1);
    let sent = message_with_attachment("s3@mailroom.localhost", "in the bucket", &attachment);
    deliver(&app, "s3@mailroom.localhost", &sent).await;
    let inbox = app.admin.list_messages(mb.id, &MessageQuery::default()).await.unwrap();
    assert_eq!(inbox.items.len(), 1);
    let keys = assert_served_byte_exact(&app, inbox.items[0].id, &sent, &attachment).await;

    // Larger than the SQLite inline limit, so both are objects in the bucket, under the prefix.
    let s3 = S3BlobStore::new(&s3_settings(&endpoint, &url)).unwrap();
    assert_eq!(s3.get(&keys[0]).await.unwrap().as_ref(), sent.as_bytes());
    assert_eq!(s3.get(&keys[1]).await.unwrap().as_ref(), &attachment[..]);

    // Still there after a restart.
    let app = app.restart().await;
    assert_served_byte_exact(&app, inbox.items[0].id, &sent, &attachment).await;
    app.server.unwrap().shutdown().await;
}

/// A bucket that does not exist stops the start with a message naming it.
#[tokio::test]
async fn a_missing_bucket_stops_the_start_with_the_reason() {
    let Some(endpoint) = s3_endpoint("the missing-bucket start test") else { return };
    let dir = tempfile::tempdir().unwrap();
    let mut config = test_config(dir.path().to_path_buf());
    use_s3(&mut config, &endpoint, "s3://mailroom-never-created/x");
    let err = format!("{:#}", mailroom::server::start(config).await.err().expect("the start fails"));
    assert!(err.contains("s3://mailroom-never-created/x") && err.contains("does not exist"), "{err}");
}

/// A TCP relay in front of the S3 endpoint that the test can cut and restore.
struct Relay {
    port: u16,
    task: tokio::task::JoinHandle<()>,
}

impl Relay {
    async fn start(port: u16, target: String) -> Relay {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let task = tokio::spawn(async move {
            let mut conns = tokio::task::JoinSet::new();
            loop {
                let Ok((mut inbound, _)) = listener.accept().await else { return };
                let target = target.clone();
                conns.spawn(async move {
                    if let Ok(mut outbound) = tokio::net::TcpStream::connect(target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
            }
        });
        Relay { port, task }
    }

    /// Closes the listener and every relayed connection.
    async fn cut(self) {
        self.task.abort();
        let _ = self.task.await;
    }
}

async fn readyz(app: &TestApp) -> (u16, serde_json::Value) {
    let resp = reqwest::get(format!("{}/readyz", app.url)).await.unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap())
}

/// `/readyz` answers 503 naming the blob store while S3 cannot be reached, promptly, and 200
/// again once it can.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn readiness_follows_the_s3_endpoint() {
    let Some(endpoint) = s3_endpoint("the S3 readiness test") else { return };
    let bucket = new_bucket(&endpoint).await;
    let target = endpoint.trim_start_matches("http://").to_string();
    let relay = Relay::start(0, target.clone()).await;
    let port = relay.port;
    let relayed = format!("http://127.0.0.1:{port}");
    let app = spawn_app_with(|c| use_s3(c, &relayed, &format!("s3://{bucket}"))).await;
    assert_eq!(readyz(&app).await.0, 200);

    relay.cut().await;
    let started = Instant::now();
    let (status, body) = readyz(&app).await;
    assert_eq!(status, 503, "{body}");
    let why = body["checks"]["blob_store"].as_str().unwrap();
    assert!(why.contains("could not reach") && why.contains(&relayed), "{why}");
    assert!(started.elapsed() < Duration::from_secs(10), "answered within the check timeout: {:?}", started.elapsed());
    assert_eq!(body["checks"][format!("store ({})", "sqlite")], "ok");

    let relay = Relay::start(port, target).await;
    assert_eq!(readyz(&app).await.0, 200, "ready again once S3 answers");
    relay.cut().await;
    app.server.unwrap().shutdown().await;
}

/// Starts two servers on one PostgreSQL database at once, sharing `blobs` settings, keys and
/// the encryption key (as several nodes behind a load balancer do).
async fn two_nodes(db: &TestDb, dns: &TestDns, blobs: impl Fn(&mut Config)) -> (TestApp, TestApp, Vec<tempfile::TempDir>) {
    let dirs = vec![tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
    let configs: Vec<Config> = dirs
        .iter()
        .map(|d| {
            let mut c = test_config(d.path().to_path_buf());
            c.database_url = db.url.clone();
            c.admin_api_key = Some(ADMIN_KEY.into());
            c.encryption_key = Some(base64::engine::general_purpose::STANDARD.encode([7u8; 32]));
            c.dns.nameservers = vec![dns.addr.to_string()];
            blobs(&mut c);
            c
        })
        .collect();
    // Both at once: migrations, the default site and the configured admin key must cope.
    let (a, b) = tokio::join!(start(configs[0].clone()), start(configs[1].clone()));
    (a, b, dirs)
}

/// Reads a node's SSE stream until a `message.received` event; returns its data.
async fn next_received(resp: reqwest::Response) -> serde_json::Value {
    let mut stream = resp.bytes_stream();
    let mut buf = String::new();
    loop {
        while let Some(end) = buf.find("\n\n") {
            let block: String = buf.drain(..end + 2).collect();
            if block.lines().any(|l| l == "event: message.received") {
                let data = block.lines().find_map(|l| l.strip_prefix("data:")).unwrap();
                return serde_json::from_str(data.trim()).unwrap();
            }
        }
        let chunk = stream.next().await.expect("the stream stays open").unwrap();
        buf.push_str(&String::from_utf8_lossy(&chunk));
    }
}

/// Mail received by node A over SMTP reaches node B's long-poll wait and SSE stream at once
/// (LISTEN/NOTIFY), and node B serves its raw bytes and attachment exactly (the shared
/// bucket).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_second_node_serves_and_announces_mail_the_first_received() {
    let Some(endpoint) = s3_endpoint("the two-node S3 test") else { return };
    let Some(db) = TestDb::create("the two-node S3 test").await else { return };
    let bucket = new_bucket(&endpoint).await;
    let url = format!("s3://{bucket}/cluster");
    let dns = TestDns::start().await;
    let (a, b, _dirs) = two_nodes(&db, &dns, |c| use_s3(c, &endpoint, &url)).await;

    let mb = mailbox(&a.admin, "shared").await;
    let http = reqwest::Client::new();
    let sse = http.get(format!("{}/v1/events/stream?types=message.received", b.url)).bearer_auth(ADMIN_KEY).send().await.unwrap();
    assert_eq!(sse.status(), 200);
    let wait = tokio::spawn({
        let url = format!("{}/v1/mailboxes/{}/messages/wait?timeout=30", b.url, mb.id);
        let http = http.clone();
        async move {
            let resp = http.get(url).bearer_auth(ADMIN_KEY).send().await.unwrap();
            (resp.status().as_u16(), resp.json::<serde_json::Value>().await.unwrap_or_default(), Instant::now())
        }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;

    let attachment = binary(64 * 1024, 2);
    let sent = message_with_attachment("shared@mailroom.localhost", "across nodes", &attachment);
    let sent_at = Instant::now();
    deliver(&a, "shared@mailroom.localhost", &sent).await;
    let (status, body, arrived) = wait.await.unwrap();
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["message"]["subject"], "across nodes");
    assert!(arrived.duration_since(sent_at) < Duration::from_secs(2), "node B answered {:?} after the send", arrived.duration_since(sent_at));
    let event = tokio::time::timeout(Duration::from_secs(5), next_received(sse)).await.expect("node B's stream announced it");
    assert_eq!(event["data"]["subject"], "across nodes");

    let id: MessageId = body["message"]["id"].as_str().unwrap().parse().unwrap();
    assert_served_byte_exact(&b, id, &sent, &attachment).await;
    assert_served_byte_exact(&a, id, &sent, &attachment).await;

    a.server.unwrap().shutdown().await;
    b.server.unwrap().shutdown().await;
    db.drop_now().await;
}

/// Without S3 too: a long-poll on node B returns a message sent through node A's API.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_long_poll_on_one_node_returns_mail_sent_through_another() {
    let Some(db) = TestDb::create("the two-node long-poll test").await else { return };
    let dns = TestDns::start().await;
    let (a, b, _dirs) = two_nodes(&db, &dns, |_| {}).await;
    let sender = mailbox(&a.admin, "sender").await;
    let receiver = mailbox(&a.admin, "receiver").await;
    let http = reqwest::Client::new();
    let wait = tokio::spawn({
        let url = format!("{}/v1/mailboxes/{}/messages/wait?timeout=30", b.url, receiver.id);
        let http = http.clone();
        async move {
            let resp = http.get(url).bearer_auth(ADMIN_KEY).send().await.unwrap();
            (resp.status().as_u16(), resp.json::<serde_json::Value>().await.unwrap_or_default(), Instant::now())
        }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let sent_at = Instant::now();
    a.admin.send_message(sender.id, &text_message(&["receiver@mailroom.localhost"], "hello from A", "hi"), None).await.unwrap();
    let (status, body, arrived) = wait.await.unwrap();
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["message"]["subject"], "hello from A");
    assert_eq!(body["message"]["direction"], serde_json::to_value(Direction::Inbound).unwrap());
    assert!(arrived.duration_since(sent_at) < Duration::from_secs(2), "node B answered {:?} after the send", arrived.duration_since(sent_at));
    a.server.unwrap().shutdown().await;
    b.server.unwrap().shutdown().await;
    db.drop_now().await;
}
