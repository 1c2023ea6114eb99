//! Three nodes, one PostgreSQL database, one S3 bucket, and one of them SIGKILLed under load.
//!
//! Three real `mailroom serve` processes share a fresh database and a bucket (moto). The test
//! sends over a thousand messages over SMTP to local mailboxes, spread across the three nodes'
//! SMTP ports, and a few hundred API sends to an external domain routed to an SMTP sink the
//! test runs; a real HTTP receiver takes the `message.received` webhooks and checks every
//! signature. A third of the way in, one node is killed with SIGKILL and the load goes on at
//! the other two. Then, within a bound: every message that got `250` is stored exactly once,
//! its webhook arrived (at least once), and every recipient of a `202` got its copy at the sink
//! (at least once; the copies a dead node had in flight may arrive twice, and are counted).
//!
//! Needs `MAILROOM_TEST_POSTGRES_URL` and `MAILROOM_TEST_S3_URL` (`.ci/run` provides both);
//! without them it says SKIPPED and passes.

mod common;

use axum::http::HeaderMap;
use common::dns::TestDns;
use common::pg::TestDatabase;
use common::process::{Served, serve_env};
use common::smtp::read_reply;
use mailroom_client::Client;
use mailroom_core::MailboxId;
use mailroom_core::api::{CreateApiKeyRequest, CreateMailboxRequest, CreateSiteRequest, CreateWebhookRequest, MessageQuery, SendMessageRequest};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

const ADMIN_KEY: &str = "mr_nodes_test_admin_key_0123456789abcdef";
/// Messages offered over SMTP (those cut off by the kill are not counted).
const SMTP_MESSAGES: usize = 1200;
/// Concurrent SMTP sessions, started round-robin on the three nodes.
const SMTP_SESSIONS: usize = 9;
/// API sends to external recipients.
const API_SENDS: usize = 240;
/// Concurrent API clients.
const API_CLIENTS: usize = 4;
const MAILBOXES: usize = 4;
/// The node that is killed.
const VICTIM: usize = 1;
/// How long the sink and the webhook receiver take to answer, so that work is in flight when
/// the node dies.
const SINK_DELAY: Duration = Duration::from_millis(30);
const RECEIVER_DELAY: Duration = Duration::from_millis(10);
/// How long the load may take to reach the kill, and then to end (the machine may be busy).
const LOAD_BOUND: Duration = Duration::from_secs(180);
/// How long the test waits for everything to arrive once the load is over.
const SETTLE_BOUND: Duration = Duration::from_secs(90);

fn s3_endpoint() -> Option<String> {
    match std::env::var("MAILROOM_TEST_S3_URL") {
        Ok(url) if !url.trim().is_empty() => Some(url.trim().trim_end_matches('/').to_string()),
        _ => None,
    }
}

fn skipped(why: &str) {
    eprintln!("\n======================================================================");
    eprintln!("SKIPPED: the three-node test did not run: {why}");
    eprintln!("(.ci/run starts PostgreSQL and moto and sets both variables)");
    eprintln!("======================================================================\n");
}

// --- The SMTP sink: records every recipient and Message-ID it accepted. -------------------

#[derive(Default)]
struct Sink {
    /// Recipient → the Message-IDs of every copy accepted for it.
    copies: Mutex<HashMap<String, Vec<String>>>,
    sessions: AtomicUsize,
}

impl Sink {
    fn copies(&self) -> HashMap<String, Vec<String>> {
        self.copies.lock().unwrap().clone()
    }
}

async fn start_sink(sink: Arc<Sink>) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else { return };
            sink.sessions.fetch_add(1, Ordering::Relaxed);
            tokio::spawn(sink_session(stream, sink.clone()));
        }
    });
    addr
}

/// One SMTP session: MAIL, RCPT, DATA (dot-unstuffed), RSET, NOOP, QUIT. A copy counts once
/// the `250` after DATA is written, as it would at a real MTA.
async fn sink_session(stream: tokio::net::TcpStream, sink: Arc<Sink>) -> std::io::Result<()> {
    let (r, mut w) = stream.into_split();
    let mut r = BufReader::new(r);
    w.write_all(b"220 sink.test ESMTP\r\n").await?;
    let mut rcpts: Vec<String> = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        if r.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let upper = line.trim_end().to_ascii_uppercase();
        let reply: &[u8] = if upper.starts_with("EHLO") {
            b"250-sink.test\r\n250 8BITMIME\r\n"
        } else if upper.starts_with("HELO") {
            b"250 sink.test\r\n"
        } else if upper.starts_with("MAIL FROM:") {
            rcpts.clear();
            b"250 2.1.0 OK\r\n"
        } else if upper.starts_with("RCPT TO:") {
            let addr = line.trim_end()[8..].trim().trim_start_matches('<').split('>').next().unwrap_or_default().to_ascii_lowercase();
            rcpts.push(addr);
            b"250 2.1.5 OK\r\n"
        } else if upper == "DATA" {
            w.write_all(b"354 go ahead\r\n").await?;
            let mut message_id = String::new();
            let mut in_headers = true;
            loop {
                line.clear();
                if r.read_line(&mut line).await? == 0 {
                    return Ok(());
                }
                if line == ".\r\n" || line == ".\n" {
                    break;
                }
                let l = line.trim_end();
                if l.is_empty() {
                    in_headers = false;
                } else if in_headers && message_id.is_empty() && l.to_ascii_lowercase().starts_with("message-id:") {
                    message_id = l[11..].trim().trim_start_matches('<').trim_end_matches('>').to_string();
                }
            }
            tokio::time::sleep(SINK_DELAY).await;
            w.write_all(b"250 2.0.0 accepted\r\n").await?;
            let mut copies = sink.copies.lock().unwrap();
            for rcpt in rcpts.drain(..) {
                copies.entry(rcpt).or_default().push(message_id.clone());
            }
            continue;
        } else if upper.starts_with("RSET") {
            rcpts.clear();
            b"250 2.0.0 OK\r\n"
        } else if upper.starts_with("NOOP") {
            b"250 2.0.0 OK\r\n"
        } else if upper.starts_with("QUIT") {
            w.write_all(b"221 2.0.0 bye\r\n").await?;
            return Ok(());
        } else {
            b"502 5.5.2 not implemented\r\n"
        };
        w.write_all(reply).await?;
    }
}

// --- The webhook receiver: checks every signature, counts events by id. --------------------

#[derive(Default)]
struct Receiver {
    secret: OnceLock<String>,
    requests: AtomicUsize,
    bad_signatures: AtomicUsize,
    /// Event id → how many times it arrived.
    events: Mutex<HashMap<String, usize>>,
    /// Message-ID of a `message.received` event → its event ids.
    received: Mutex<HashMap<String, HashSet<String>>>,
}

impl Receiver {
    fn record(&self, headers: &HeaderMap, body: &str) {
        self.requests.fetch_add(1, Ordering::Relaxed);
        let verified = self.secret.get().is_some_and(|secret| {
            let wh = standardwebhooks::Webhook::new(secret).unwrap();
            let mut h = axum::http::HeaderMap::new();
            for name in ["webhook-id", "webhook-timestamp", "webhook-signature"] {
                if let Some(v) = headers.get(name) {
                    h.insert(name, v.clone());
                }
            }
            wh.verify(body.as_bytes(), &h).is_ok()
        });
        if !verified {
            self.bad_signatures.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let Ok(event) = serde_json::from_str::<serde_json::Value>(body) else {
            self.bad_signatures.fetch_add(1, Ordering::Relaxed);
            return;
        };
        let id = event["id"].as_str().unwrap_or_default().to_string();
        *self.events.lock().unwrap().entry(id.clone()).or_default() += 1;
        if event["type"] == "message.received" {
            let message_id = event["data"]["message_id"].as_str().unwrap_or_default().to_string();
            self.received.lock().unwrap().entry(message_id).or_default().insert(id);
        }
    }
}

async fn start_receiver(receiver: Arc<Receiver>) -> SocketAddr {
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: String| {
            let receiver = receiver.clone();
            async move {
                tokio::time::sleep(RECEIVER_DELAY).await;
                receiver.record(&headers, &body);
                axum::http::StatusCode::NO_CONTENT
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

// --- The nodes. ---------------------------------------------------------------------------

/// A running node; killed on drop if the test ends early.
struct Node {
    served: Option<Served>,
    url: String,
    smtp: SocketAddr,
}

impl Node {
    fn pid(&self) -> u32 {
        self.served.as_ref().unwrap().child.id()
    }

    /// SIGKILL, and reap it.
    fn kill(&mut self) {
        let mut served = self.served.take().expect("running");
        served.child.kill().expect("SIGKILL");
        served.child.wait().unwrap();
    }

    /// Ctrl-C, and wait for a clean exit.
    fn stop(&mut self) {
        let Some(mut served) = self.served.take() else { return };
        let pid = served.child.id().to_string();
        assert!(std::process::Command::new("kill").args(["-INT", &pid]).status().unwrap().success());
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if let Some(code) = served.child.try_wait().unwrap() {
                assert!(code.success(), "node {pid} exits 0 on Ctrl-C, got {code}");
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = served.child.kill();
        panic!("node {pid} did not stop within 15 s of Ctrl-C");
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        if let Some(mut served) = self.served.take() {
            let _ = served.child.kill();
            let _ = served.child.wait();
        }
    }
}

/// Which nodes are up; work goes to the next one that is, from a preferred index.
struct Cluster {
    urls: Vec<String>,
    smtp: Vec<SocketAddr>,
    alive: Vec<AtomicBool>,
}

impl Cluster {
    fn pick(&self, preferred: usize) -> usize {
        (0..self.urls.len()).map(|k| (preferred + k) % self.urls.len()).find(|&i| self.alive[i].load(Ordering::SeqCst)).expect("a node is up")
    }
}

// --- The load. ----------------------------------------------------------------------------

/// What one load task saw.
#[derive(Default)]
struct Tally {
    /// Message-ID (or recipient) and the node that acknowledged it.
    acked: Vec<(String, usize)>,
    /// Attempts that did not get their acknowledgement.
    failed: usize,
}

struct Load {
    cluster: Arc<Cluster>,
    mailboxes: Vec<String>,
    smtp_next: AtomicUsize,
    smtp_acked: AtomicUsize,
    api_next: AtomicUsize,
    api_acked: AtomicUsize,
}

/// An SMTP client: sends messages (pipelined, one transaction after the other) until there
/// are no more; when its node dies, it goes on at the next node that is up.
async fn smtp_client(load: Arc<Load>, first_node: usize) -> Tally {
    let mut tally = Tally::default();
    let mut node = first_node;
    'connect: loop {
        node = load.cluster.pick(node);
        let Ok(stream) = tokio::net::TcpStream::connect(load.cluster.smtp[node]).await else {
            node += 1;
            tokio::time::sleep(Duration::from_millis(20)).await;
            continue;
        };
        let (r, mut w) = stream.into_split();
        let mut r = BufReader::new(r);
        if read_reply(&mut r).await.is_none() || w.write_all(b"EHLO load.test\r\n").await.is_err() || read_reply(&mut r).await.is_none() {
            node += 1;
            continue;
        }
        loop {
            let n = load.smtp_next.fetch_add(1, Ordering::SeqCst);
            if n >= SMTP_MESSAGES {
                let _ = w.write_all(b"QUIT\r\n").await;
                return tally;
            }
            let id = format!("nodes-{n}@load.test");
            let to = &load.mailboxes[n % load.mailboxes.len()];
            let message = format!(
                "MAIL FROM:<load@load.test>\r\nRCPT TO:<{to}>\r\nDATA\r\n\
                 From: Load <load@load.test>\r\nTo: {to}\r\nSubject: load {n}\r\nMessage-ID: <{id}>\r\n\
                 Date: Sat, 21 Nov 2026 10:00:00 +0000\r\n\r\nMessage {n}.\r\n{}\r\n.\r\n",
                "All work and no play. ".repeat(40)
            );
            let mut ok = w.write_all(message.as_bytes()).await.is_ok();
            // MAIL, RCPT and DATA, then the final reply.
            for _ in 0..3 {
                ok &= matches!(read_reply(&mut r).await, Some(rep) if rep.starts_with('2') || rep.starts_with('3'));
            }
            match read_reply(&mut r).await {
                Some(rep) if ok && rep.starts_with("250") => {
                    tally.acked.push((id, node));
                    load.smtp_acked.fetch_add(1, Ordering::SeqCst);
                }
                _ => {
                    tally.failed += 1;
                    node += 1;
                    continue 'connect;
                }
            }
        }
    }
}

/// An API client: sends to `rcptN@ext.test` through the nodes in turn, keeping pace with the
/// SMTP load so that sends are under way when the node dies.
async fn api_client(load: Arc<Load>, clients: Arc<Vec<Client>>, sender: MailboxId) -> Tally {
    let mut tally = Tally::default();
    loop {
        let i = load.api_next.fetch_add(1, Ordering::SeqCst);
        if i >= API_SENDS {
            return tally;
        }
        while load.smtp_next.load(Ordering::SeqCst) * API_SENDS < i * SMTP_MESSAGES {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let node = load.cluster.pick(i);
        let rcpt = format!("rcpt{i}@ext.test");
        let req = SendMessageRequest {
            to: vec![rcpt.clone()],
            subject: format!("outbound {i}"),
            text: Some(format!("Outbound message {i}.")),
            ..Default::default()
        };
        match clients[node].send_message(sender, &req, None).await {
            Ok(sent) => {
                tally.acked.push((format!("{rcpt} {}", sent.message_id), node));
                load.api_acked.fetch_add(1, Ordering::SeqCst);
            }
            Err(_) => tally.failed += 1,
        }
    }
}

async fn count(db: &mut sqlx::PgConnection, sql: &str) -> i64 {
    sqlx::query_scalar::<_, i64>(sql).fetch_one(db).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_lose_nothing_when_one_is_killed_under_load() {
    let Some(s3) = s3_endpoint() else {
        skipped("MAILROOM_TEST_S3_URL is not set (an S3-compatible endpoint such as moto_server)");
        return;
    };
    if std::env::var("MAILROOM_TEST_POSTGRES_URL").is_err() {
        skipped("MAILROOM_TEST_POSTGRES_URL is not set");
        return;
    }
    let db = TestDatabase::create("the three-node test").await.unwrap();
    let started = Instant::now();

    let bucket = format!("mailroom-nodes-{}", uuid::Uuid::now_v7().simple());
    let put = reqwest::Client::new().put(format!("{s3}/{bucket}")).send().await.expect("the S3 endpoint answers");
    assert!(put.status().is_success(), "creating bucket {bucket}: {}", put.status());

    let dns = TestDns::start().await;
    let sink = Arc::new(Sink::default());
    let sink_addr = start_sink(sink.clone()).await;
    let receiver = Arc::new(Receiver::default());
    let receiver_addr = start_receiver(receiver.clone()).await;

    // Three nodes at once: migrations, the default site and the admin key race each other.
    let dns_addr = dns.addr.to_string();
    let blobs_url = format!("s3://{bucket}/cluster");
    let routes = format!("ext.test={sink_addr}");
    let encryption_key = "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA="; // 32 bytes, base64
    let env: Vec<(String, String)> = [
        ("MAILROOM_DATABASE_URL", db.url.as_str()),
        ("MAILROOM_BLOBS_URL", &blobs_url),
        ("MAILROOM_BLOBS_ENDPOINT", &s3),
        ("MAILROOM_BLOBS_REGION", "us-east-1"),
        ("MAILROOM_BLOBS_ACCESS_KEY_ID", "testing"),
        ("MAILROOM_BLOBS_SECRET_ACCESS_KEY", "testing"),
        ("MAILROOM_BLOBS_ALLOW_HTTP", "true"),
        ("MAILROOM_ADMIN_API_KEY", ADMIN_KEY),
        ("MAILROOM_ENCRYPTION_KEY", encryption_key),
        ("MAILROOM_DNS_NAMESERVERS", &dns_addr),
        ("MAILROOM_WEBHOOKS_ALLOW_PRIVATE_TARGETS", "true"),
        ("MAILROOM_WEBHOOKS_RETRY_SCHEDULE_SECS", "0,1,1,1,1,1,1,1,1,1,1,1"),
        ("MAILROOM_WEBHOOKS_TIMEOUT_SECS", "2"),
        ("MAILROOM_WEBHOOKS_LEASE_SECS", "1"), // in effect timeout + 10 s = 12 s
        ("MAILROOM_DELIVERY_ENABLED", "true"),
        ("MAILROOM_DELIVERY_ROUTES", &routes),
        ("MAILROOM_DELIVERY_RETRY_SCHEDULE_SECS", "1"),
        ("MAILROOM_DELIVERY_LEASE_SECS", "5"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let dirs: Vec<tempfile::TempDir> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let starts: Vec<_> = dirs
        .iter()
        .map(|d| {
            let dir = d.path().to_path_buf();
            let env = env.clone();
            std::thread::spawn(move || {
                let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
                serve_env(&dir, &[], &env)
            })
        })
        .collect();
    let mut nodes: Vec<Node> = starts
        .into_iter()
        .map(|t| {
            let served = t.join().expect("a node starts");
            let (url, smtp) = (served.url.clone(), served.smtp.unwrap());
            Node { served: Some(served), url, smtp }
        })
        .collect();
    eprintln!(
        "nodes: {} (smtp {}, pid {}), {} (smtp {}, pid {}), {} (smtp {}, pid {}); started in {:.1} s",
        nodes[0].url,
        nodes[0].smtp,
        nodes[0].pid(),
        nodes[1].url,
        nodes[1].smtp,
        nodes[1].pid(),
        nodes[2].url,
        nodes[2].smtp,
        nodes[2].pid(),
        started.elapsed().as_secs_f64()
    );

    // A site and its key through node 0, mailboxes through node 1, the webhook through node 2.
    let admin = Client::new(&nodes[0].url, ADMIN_KEY).unwrap();
    let site = admin.create_site(&CreateSiteRequest { name: "nodes".into() }).await.unwrap();
    let key = admin
        .create_api_key(&CreateApiKeyRequest { name: "nodes key".into(), scope: Some("site".into()), site_id: Some(site.id) })
        .await
        .unwrap()
        .key;
    let clients: Arc<Vec<Client>> = Arc::new(nodes.iter().map(|n| Client::new(&n.url, key.clone()).unwrap()).collect());
    let mut mailbox_ids = Vec::new();
    let mut addresses = Vec::new();
    for i in 0..MAILBOXES {
        let mb = clients[1].create_mailbox(&CreateMailboxRequest { username: format!("agent{i}"), ..Default::default() }).await.unwrap();
        mailbox_ids.push(mb.id);
        addresses.push(mb.address.to_string());
    }
    let sender = clients[1].create_mailbox(&CreateMailboxRequest { username: "outbound".into(), ..Default::default() }).await.unwrap();
    let hook = clients[2]
        .create_webhook(&CreateWebhookRequest {
            url: format!("http://{receiver_addr}/hook"),
            event_types: Some(vec!["message.received".into()]),
            description: Some("three-node test".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    receiver.secret.set(hook.secret.clone()).unwrap();

    // The load, and the kill a third of the way in.
    let cluster = Arc::new(Cluster {
        urls: nodes.iter().map(|n| n.url.clone()).collect(),
        smtp: nodes.iter().map(|n| n.smtp).collect(),
        alive: (0..3).map(|_| AtomicBool::new(true)).collect(),
    });
    let load = Arc::new(Load {
        cluster: cluster.clone(),
        mailboxes: addresses.clone(),
        smtp_next: AtomicUsize::new(0),
        smtp_acked: AtomicUsize::new(0),
        api_next: AtomicUsize::new(0),
        api_acked: AtomicUsize::new(0),
    });
    let load_started = Instant::now();
    let smtp_tasks: Vec<_> = (0..SMTP_SESSIONS).map(|s| tokio::spawn(smtp_client(load.clone(), s % 3))).collect();
    let api_tasks: Vec<_> = (0..API_CLIENTS).map(|_| tokio::spawn(api_client(load.clone(), clients.clone(), sender.id))).collect();

    let kill_deadline = Instant::now() + LOAD_BOUND;
    while load.smtp_acked.load(Ordering::SeqCst) < SMTP_MESSAGES / 3 {
        assert!(
            Instant::now() < kill_deadline,
            "the load did not reach a third within {LOAD_BOUND:?} ({} acknowledged)",
            load.smtp_acked.load(Ordering::SeqCst)
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    cluster.alive[VICTIM].store(false, Ordering::SeqCst);
    let victim_pid = nodes[VICTIM].pid();
    nodes[VICTIM].kill();
    let killed_at = Instant::now();
    eprintln!(
        "SIGKILL node {VICTIM} (pid {victim_pid}) after {:.1} s: {} SMTP messages and {} API sends acknowledged so far",
        load_started.elapsed().as_secs_f64(),
        load.smtp_acked.load(Ordering::SeqCst),
        load.api_acked.load(Ordering::SeqCst)
    );

    let mut smtp = Tally::default();
    for t in smtp_tasks {
        let t = tokio::time::timeout(LOAD_BOUND, t).await.expect("the SMTP load ends").unwrap();
        smtp.acked.extend(t.acked);
        smtp.failed += t.failed;
    }
    let mut api = Tally::default();
    for t in api_tasks {
        let t = tokio::time::timeout(LOAD_BOUND, t).await.expect("the API load ends").unwrap();
        api.acked.extend(t.acked);
        api.failed += t.failed;
    }
    let load_secs = load_started.elapsed().as_secs_f64();
    let per_node = |acked: &[(String, usize)]| (0..3).map(|n| acked.iter().filter(|(_, k)| *k == n).count()).collect::<Vec<_>>();
    eprintln!(
        "load done in {load_secs:.1} s: SMTP {} acknowledged (per node {:?}), {} cut off; API {} accepted (per node {:?}), {} cut off",
        smtp.acked.len(),
        per_node(&smtp.acked),
        smtp.failed,
        api.acked.len(),
        per_node(&api.acked),
        api.failed
    );
    assert!(smtp.acked.len() >= 1000, "at least 1,000 messages acknowledged over SMTP, got {}", smtp.acked.len());
    assert!(api.acked.len() >= 200, "at least 200 API sends accepted, got {}", api.acked.len());
    let victim_smtp = smtp.acked.iter().filter(|(_, n)| *n == VICTIM).count();
    assert!(victim_smtp > 0 && smtp.acked.iter().any(|(_, n)| *n != VICTIM), "every node took SMTP load");

    // Wait until everything has arrived and every queue is drained.
    let acked_ids: HashSet<String> = smtp.acked.iter().map(|(id, _)| id.clone()).collect();
    assert_eq!(acked_ids.len(), smtp.acked.len(), "each Message-ID was acknowledged once");
    let expected_rcpts: HashMap<String, String> = api
        .acked
        .iter()
        .map(|(s, _)| {
            let (rcpt, id) = s.split_once(' ').unwrap();
            (rcpt.to_string(), id.to_string())
        })
        .collect();
    let mut pg = <sqlx::PgConnection as sqlx::Connection>::connect(&db.url).await.unwrap();
    let settle_started = Instant::now();
    loop {
        let stored = count(&mut pg, "SELECT count(*) FROM messages WHERE direction = 'inbound'").await;
        let events = count(&mut pg, "SELECT count(*) FROM events WHERE type = 'message.received'").await;
        let hooks_done = count(&mut pg, "SELECT count(*) FROM webhook_deliveries WHERE status = 'succeeded'").await;
        let hooks_open = count(&mut pg, "SELECT count(*) FROM webhook_deliveries WHERE status <> 'succeeded'").await;
        let rcpt_open = count(&mut pg, "SELECT count(*) FROM message_recipients WHERE status <> 'delivered'").await;
        let hooked = {
            let received = receiver.received.lock().unwrap();
            acked_ids.iter().filter(|id| received.contains_key(*id)).count()
        };
        let copies = sink.copies();
        let at_sink = expected_rcpts.keys().filter(|r| copies.contains_key(*r)).count();
        let done = hooked == acked_ids.len() && at_sink == expected_rcpts.len() && rcpt_open == 0 && hooks_open == 0 && hooks_done == events;
        eprintln!(
            "[{:5.1} s after the kill] stored {stored}, webhooks {hooked}/{} acknowledged ({hooks_done}/{events} deliveries done, {hooks_open} open), \
             sink {at_sink}/{} recipients ({rcpt_open} recipients not yet delivered)",
            killed_at.elapsed().as_secs_f64(),
            acked_ids.len(),
            expected_rcpts.len()
        );
        if done {
            break;
        }
        if settle_started.elapsed() > SETTLE_BOUND {
            let stuck: Vec<(String, String)> = sqlx::query_as("SELECT address, status FROM message_recipients WHERE status <> 'delivered' LIMIT 10")
                .fetch_all(&mut pg)
                .await
                .unwrap();
            panic!("not everything arrived within {SETTLE_BOUND:?} of the end of the load; undelivered recipients: {stuck:?}");
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let settle_secs = settle_started.elapsed().as_secs_f64();

    // Stored exactly once: every mailbox read back through a surviving node's API.
    let reader = &clients[0];
    let victim_ids: HashSet<&String> = smtp.acked.iter().filter(|(_, n)| *n == VICTIM).map(|(id, _)| id).collect();
    let mut victim_messages = Vec::new();
    let mut stored: HashMap<String, usize> = HashMap::new();
    for mb in &mailbox_ids {
        let mut cursor = None;
        loop {
            let page = reader
                .list_messages(
                    *mb,
                    &MessageQuery { cursor: cursor.clone(), limit: Some(100), direction: Some("inbound".into()), ..Default::default() },
                )
                .await
                .unwrap();
            for m in &page.items {
                let id = m.message_id.clone().unwrap_or_default();
                if victim_ids.contains(&id) && victim_messages.len() < 25 {
                    victim_messages.push((m.id, id.clone()));
                }
                *stored.entry(id).or_default() += 1;
            }
            match page.next_cursor {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
    }
    let lost: Vec<&String> = acked_ids.iter().filter(|id| !stored.contains_key(*id)).collect();
    assert!(lost.is_empty(), "{} acknowledged messages are not stored: {:?}", lost.len(), &lost[..lost.len().min(10)]);
    let twice: BTreeMap<&String, &usize> = stored.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "stored more than once: {twice:?}");
    let stored_unacked = stored.keys().filter(|id| !acked_ids.contains(*id)).count();
    assert!(stored_unacked <= smtp.failed, "only messages cut off by the kill may be stored without a 250 ({stored_unacked} > {})", smtp.failed);

    // The killed node's messages are served by the others, raw bytes from the bucket included.
    for (id, message_id) in &victim_messages {
        let raw = clients[2].get_raw_message(*id).await.unwrap();
        assert!(String::from_utf8_lossy(&raw).contains(&format!("Message-ID: <{message_id}>")), "raw bytes of {id}");
    }
    let raw_checked = victim_messages.len();
    assert!(raw_checked > 0, "messages the killed node took are read back");

    // Webhooks: every acknowledged message's event arrived, each signature verified.
    let bad = receiver.bad_signatures.load(Ordering::SeqCst);
    assert_eq!(bad, 0, "every webhook request carries a valid Standard Webhooks signature");
    let events = receiver.events.lock().unwrap().clone();
    let received = receiver.received.lock().unwrap().clone();
    let hook_requests: usize = events.values().sum();
    let hook_duplicates = hook_requests - events.len();
    let doubled_events: Vec<_> = received.iter().filter(|(_, ids)| ids.len() > 1).map(|(m, _)| m.clone()).collect();
    assert!(doubled_events.is_empty(), "one message.received event per message: {doubled_events:?}");
    let missing_hooks: Vec<&String> = acked_ids.iter().filter(|id| !received.contains_key(*id)).collect();
    assert!(missing_hooks.is_empty(), "webhooks missing for {missing_hooks:?}");

    // The sink: every accepted recipient got its message, the right one.
    let copies = sink.copies();
    let missing_rcpts: Vec<&String> = expected_rcpts.keys().filter(|r| !copies.contains_key(*r)).collect();
    assert!(missing_rcpts.is_empty(), "recipients that never got their copy: {missing_rcpts:?}");
    for (rcpt, id) in &expected_rcpts {
        assert!(copies[rcpt].iter().all(|got| got == id), "{rcpt} got {:?}, expected {id}", copies[rcpt]);
    }
    let sink_copies: usize = copies.values().map(Vec::len).sum();
    let sink_duplicates: Vec<(&String, usize)> = copies.iter().filter(|(_, c)| c.len() > 1).map(|(r, c)| (r, c.len())).collect();
    let sink_unacked = copies.keys().filter(|r| !expected_rcpts.contains_key(*r)).count();
    assert!(sink_unacked <= api.failed, "only sends cut off by the kill may arrive without a 202");

    eprintln!("\n=== three nodes, one SIGKILLed (node {VICTIM}) ===");
    eprintln!("SMTP:     {} acknowledged with 250 ({victim_smtp} by the killed node), {} cut off by the kill", smtp.acked.len(), smtp.failed);
    eprintln!(
        "stored:   {} of {} exactly once (read back through a surviving node); {stored_unacked} cut-off ones stored too",
        acked_ids.len() - lost.len(),
        acked_ids.len()
    );
    eprintln!("          raw bytes of {raw_checked} messages the killed node took served by another node from the bucket");
    eprintln!(
        "webhooks: {} events for the {} acknowledged messages, {hook_requests} requests, {hook_duplicates} duplicate deliveries (at-least-once), 0 bad signatures",
        acked_ids.iter().filter(|id| received.contains_key(*id)).count(),
        acked_ids.len()
    );
    eprintln!(
        "API:      {} accepted with 202, {} cut off; sink got {sink_copies} copies for {} recipients, {} duplicates {:?}; {sink_unacked} cut-off sends delivered too",
        api.acked.len(),
        api.failed,
        copies.len(),
        sink_duplicates.iter().map(|(_, n)| n - 1).sum::<usize>(),
        sink_duplicates
    );
    eprintln!(
        "time:     {:.1} s in all (load {load_secs:.1} s, settled {settle_secs:.1} s after the load, {:.1} s after the kill); sink sessions {}",
        started.elapsed().as_secs_f64(),
        killed_at.elapsed().as_secs_f64(),
        sink.sessions.load(Ordering::Relaxed)
    );

    drop(pg);
    for (i, node) in nodes.iter_mut().enumerate() {
        if i != VICTIM {
            node.stop();
        }
    }
    db.drop_now().await;
}
