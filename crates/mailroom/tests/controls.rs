//! Operational controls (issue 15) through the real server: sending rate limits (one budget
//! for two nodes on one PostgreSQL), SMTP storage quotas, attachments uploaded first and sent
//! by id to a second instance, signed download URLs, ephemeral mailboxes, retention, and the
//! CLI. Each story runs on SQLite, and on PostgreSQL when `MAILROOM_TEST_POSTGRES_URL` is set.

mod common;

use common::dns::TestDns;
use common::pg::with_database;
use common::smtp::smtp_send;
use common::*;
use mailroom::config::Config;
use mailroom_client::Method;
use mailroom_core::api::*;
use mailroom_core::*;
use serde_json::json;
use sha2::Digest;
use std::time::Duration;

/// Starts a server on SQLite (`None`) or on the PostgreSQL database `pg`.
async fn app_on(pg: Option<&str>, edit: impl FnOnce(&mut Config)) -> TestApp {
    let url = pg.map(str::to_string);
    spawn_app_with(move |c| {
        if let Some(u) = url {
            c.database_url = u;
        }
        edit(c);
    })
    .await
}

fn header(r: &mailroom_client::RawResponse, name: &str) -> Option<String> {
    r.headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_string)
}

async fn wait_until<T, F, Fut>(what: &str, secs: u64, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = std::time::Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(std::time::Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn event_types(app: &TestApp) -> Vec<String> {
    let (_, page) = call(&app.admin, Method::GET, "/v1/events?limit=100", None).await;
    page["items"].as_array().unwrap().iter().map(|e| e["type"].as_str().unwrap_or_default().to_string()).collect()
}

fn send_body(to: &str, subject: &str) -> serde_json::Value {
    json!({"to": [to], "subject": subject, "text": "hello"})
}

// --- rate limits -----------------------------------------------------------------------------

async fn sixth_send_gets_429(pg: Option<String>) {
    let app = app_on(pg.as_deref(), |_| {}).await;
    let mb = mailbox(&app.admin, "limited").await;
    let (status, view) =
        call(&app.admin, Method::PATCH, &format!("/v1/mailboxes/{}", mb.id), Some(json!({"limits": {"send_per_minute": 5}}))).await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["limits"]["send_per_minute"], 5);
    assert_eq!(view["limits"]["send_per_hour"], serde_json::Value::Null, "unset limits are unlimited");
    let path = format!("/v1/mailboxes/{}/messages", mb.id);
    for i in 0..5 {
        let r = app.admin.raw_request(Method::POST, &path, Some(send_body("someone@example.com", &format!("n{i}"))), &[]).await.unwrap();
        assert!(r.status == 201 || r.status == 202, "send {i}: {} {}", r.status, r.text());
        assert_eq!(header(&r, "ratelimit-limit").as_deref(), Some("5"));
        assert_eq!(header(&r, "ratelimit-remaining"), Some((4 - i).to_string()), "send {i}");
        assert!(header(&r, "ratelimit-reset").is_some());
        assert!(header(&r, "retry-after").is_none());
    }
    let r = app.admin.raw_request(Method::POST, &path, Some(send_body("someone@example.com", "n5")), &[]).await.unwrap();
    assert_eq!(r.status, 429, "{}", r.text());
    let body: serde_json::Value = r.json().unwrap();
    assert_eq!(error_code(&body), "rate_limited");
    assert!(body["error"]["message"].as_str().unwrap().contains("mailbox.send_per_minute"), "{body}");
    let retry: u64 = header(&r, "retry-after").expect("Retry-After").parse().unwrap();
    assert!((1..=12).contains(&retry), "one send frees up every 12 s: {retry}");
    assert_eq!(header(&r, "ratelimit-limit").as_deref(), Some("5"));
    assert_eq!(header(&r, "ratelimit-remaining").as_deref(), Some("0"));
    let reset: u64 = header(&r, "ratelimit-reset").unwrap().parse().unwrap();
    assert!((1..=60).contains(&reset), "{reset}");
    // The refused send left nothing behind.
    let page = app.admin.list_messages(mb.id, &MessageQuery::default()).await.unwrap();
    assert_eq!(page.items.len(), 5);
    // A site limit applies to the mailboxes together.
    let other = mailbox(&app.admin, "other").await;
    let site = mb.site_id;
    // The site's bucket counts from when its limit is set: one more send this hour.
    let (s, v) = call(&app.admin, Method::PATCH, &format!("/v1/sites/{site}"), Some(json!({"limits": {"send_per_hour": 1}}))).await;
    assert_eq!(s, 200, "{v}");
    let other_path = format!("/v1/mailboxes/{}/messages", other.id);
    let ok = app.admin.raw_request(Method::POST, &other_path, Some(send_body("someone@example.com", "o1")), &[]).await.unwrap();
    assert!(ok.status < 300, "{}", ok.text());
    let over = app.admin.raw_request(Method::POST, &other_path, Some(send_body("someone@example.com", "o2")), &[]).await.unwrap();
    assert_eq!(over.status, 429, "the site's one send this hour is used: {}", over.text());
    assert!(over.text().contains("site.send_per_hour"), "{}", over.text());
    let (s, usage) = call(&app.admin, Method::GET, "/v1/usage", None).await;
    assert_eq!(s, 200);
    assert_eq!(usage["site"]["limits"]["send_per_hour"], 1);
    assert_eq!(usage["site"]["usage"]["messages"], 6);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixth_send_in_a_five_per_minute_mailbox_gets_429_sqlite() {
    sixth_send_gets_429(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixth_send_in_a_five_per_minute_mailbox_gets_429_postgres() {
    with_database("the 429 test", |url| sixth_send_gets_429(Some(url))).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_on_one_postgres_allow_five_together() {
    with_database("the two-node rate limit test", |url| async move {
        let key = "mr_test_shared_admin_key_0123456789abcdef".to_string();
        let (k1, k2) = (key.clone(), key.clone());
        let (u1, u2) = (url.clone(), url.clone());
        let a = spawn_app_with(move |c| {
            c.database_url = u1;
            c.admin_api_key = Some(k1);
        })
        .await;
        let b = spawn_app_with(move |c| {
            c.database_url = u2;
            c.admin_api_key = Some(k2);
        })
        .await;
        let mb = mailbox(&a.admin, "shared").await;
        let (s, _) = call(&a.admin, Method::PATCH, &format!("/v1/mailboxes/{}", mb.id), Some(json!({"limits": {"send_per_minute": 5}}))).await;
        assert_eq!(s, 200);
        let path = format!("/v1/mailboxes/{}/messages", mb.id);
        let mut tasks = Vec::new();
        for i in 0..12 {
            let client = if i % 2 == 0 { a.admin.clone() } else { b.admin.clone() };
            let path = path.clone();
            tasks.push(tokio::spawn(async move {
                client.raw_request(Method::POST, &path, Some(send_body("someone@example.com", &format!("n{i}"))), &[]).await.unwrap().status
            }));
        }
        let mut statuses = Vec::new();
        for t in tasks {
            statuses.push(t.await.unwrap());
        }
        let ok = statuses.iter().filter(|s| **s < 300).count();
        let limited = statuses.iter().filter(|s| **s == 429).count();
        assert_eq!((ok, limited), (5, 7), "{statuses:?}");
    })
    .await;
}

// --- quotas ----------------------------------------------------------------------------------

fn raw_mail(to: &str, subject: &str, body_len: usize) -> String {
    format!("From: sender@remote.test\r\nTo: {to}\r\nSubject: {subject}\r\nMessage-ID: <{subject}@remote.test>\r\n\r\n{}\r\n", "x".repeat(body_len))
}

async fn smtp_quota(pg: Option<String>) {
    let app = app_on(pg.as_deref(), |_| {}).await;
    let smtp = app.server.as_ref().unwrap().smtp_addr.unwrap();
    let mb = mailbox(&app.admin, "small").await;
    let (s, v) = call(&app.admin, Method::PATCH, &format!("/v1/mailboxes/{}", mb.id), Some(json!({"limits": {"storage_bytes": 3000}}))).await;
    assert_eq!(s, 200, "{v}");
    let to = mb.address.to_string();
    let first = smtp_send(smtp, "sender@remote.test", &[&to], &raw_mail(&to, "one", 1500)).await;
    assert!(first.last().unwrap().starts_with("250"), "{first:?}");
    let second = smtp_send(smtp, "sender@remote.test", &[&to], &raw_mail(&to, "two", 1500)).await;
    assert!(second.last().unwrap().starts_with("452 4.2.2"), "the second would pass the quota: {second:?}");
    let huge = smtp_send(smtp, "sender@remote.test", &[&to], &raw_mail(&to, "huge", 5000)).await;
    assert!(huge.last().unwrap().starts_with("552 5.2.2"), "one message larger than the quota: {huge:?}");
    let page = app.admin.list_messages(mb.id, &MessageQuery::default()).await.unwrap();
    assert_eq!(page.items.len(), 1, "nothing of the refused messages is stored");
    assert_eq!(page.items[0].subject.as_deref(), Some("one"));
    assert!(event_types(&app).await.iter().any(|t| t == "mailbox.quota_exceeded"));
    let view = app.admin.mailbox_view(mb.id).await.unwrap();
    assert_eq!(view.usage.messages, 1);
    assert!(view.usage.storage_bytes >= 1500 && view.usage.storage_bytes <= 3000, "{:?}", view.usage);
    // A full mailbox is refused at RCPT; the API send from it gets 507 quota_exceeded.
    let (s, _) = call(&app.admin, Method::PATCH, &format!("/v1/mailboxes/{}", mb.id), Some(json!({"limits": {"max_messages": 1}}))).await;
    assert_eq!(s, 200);
    let full = smtp_send(smtp, "sender@remote.test", &[&to], &raw_mail(&to, "three", 10)).await;
    assert!(full.iter().any(|r| r.starts_with("452 4.2.2")), "{full:?}");
    let (s, v) = call(&app.admin, Method::POST, &format!("/v1/mailboxes/{}/messages", mb.id), Some(send_body("x@example.com", "out"))).await;
    assert_eq!((s, error_code(&v)), (507, "quota_exceeded"), "{v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smtp_over_quota_gets_452_and_nothing_is_stored_sqlite() {
    smtp_quota(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smtp_over_quota_gets_452_and_nothing_is_stored_postgres() {
    with_database("the SMTP quota test", |url| smtp_quota(Some(url))).await;
}

/// A send between two mailboxes here respects the recipient's quota as SMTP does: the copy
/// for a full mailbox bounces (`552 5.2.2`), nothing is stored for it, and the event says so.
async fn local_quota(pg: Option<String>) {
    let app = app_on(pg.as_deref(), |_| {}).await;
    let sender = mailbox(&app.admin, "sender").await;
    let full = mailbox(&app.admin, "full").await;
    let roomy = mailbox(&app.admin, "roomy").await;
    let (s, v) = call(&app.admin, Method::PATCH, &format!("/v1/mailboxes/{}", full.id), Some(json!({"limits": {"max_messages": 1}}))).await;
    assert_eq!(s, 200, "{v}");
    let body = |subject: &str| json!({"to": [full.address.to_string()], "cc": [roomy.address.to_string()], "subject": subject, "text": "hello"});
    let (s, v) = call(&app.admin, Method::POST, &format!("/v1/mailboxes/{}/messages", sender.id), Some(body("first"))).await;
    assert_eq!(s, 202, "{v}");
    let (s, v) = call(&app.admin, Method::POST, &format!("/v1/mailboxes/{}/messages", sender.id), Some(body("second"))).await;
    assert_eq!(s, 202, "the sender's own quota is not the recipient's: {v}");
    let (_, sent) = call(&app.admin, Method::GET, &format!("/v1/messages/{}", v["id"].as_str().unwrap()), None).await;
    let statuses: Vec<(String, String, String)> = sent["recipients"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["address"].as_str().unwrap().to_string(), r["status"].as_str().unwrap().to_string(), r["last_reply"].as_str().unwrap_or("").to_string()))
        .collect();
    let to_full = statuses.iter().find(|(a, _, _)| *a == full.address.to_string()).expect("the full mailbox's recipient");
    assert_eq!(to_full.1, "bounced", "{statuses:?}");
    assert!(to_full.2.starts_with("552 5.2.2"), "{statuses:?}");
    let to_roomy = statuses.iter().find(|(a, _, _)| *a == roomy.address.to_string()).unwrap();
    assert_eq!(to_roomy.1, "delivered", "the other recipient still gets its copy: {statuses:?}");
    let subjects = |id| {
        let admin = app.admin.clone();
        async move {
            let page = admin.list_messages(id, &MessageQuery::default()).await.unwrap();
            page.items.into_iter().filter_map(|m| m.subject).collect::<Vec<_>>()
        }
    };
    assert_eq!(subjects(full.id).await, vec!["first".to_string()], "nothing of the refused copy is stored");
    assert_eq!(subjects(roomy.id).await.len(), 2);
    let (_, page) = call(&app.admin, Method::GET, "/v1/events?limit=200", None).await;
    let quota = page["items"].as_array().unwrap().iter().find(|e| e["type"] == "mailbox.quota_exceeded").expect("mailbox.quota_exceeded");
    assert_eq!(quota["data"]["via"], "local");
    assert_eq!(quota["data"]["mailbox_id"], full.id.to_string());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_delivery_to_a_full_mailbox_bounces_sqlite() {
    local_quota(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_delivery_to_a_full_mailbox_bounces_postgres() {
    with_database("the local quota test", |url| local_quota(Some(url))).await;
}

// --- attachments -----------------------------------------------------------------------------

fn pseudo_random(n: usize) -> Vec<u8> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x & 0xff) as u8
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploaded_attachment_sent_by_id_arrives_intact_at_a_second_instance() {
    let dns = TestDns::start().await;
    let port_b = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let dns_addr = dns.addr.to_string();
    let dns_b = dns_addr.clone();
    let b = spawn_app_with(move |c| {
        c.hostname = "mx.b.test".into();
        c.domains = vec!["b.test".into()];
        c.smtp.addr = format!("127.0.0.1:{port_b}");
        c.dns.nameservers = vec![dns_b];
    })
    .await;
    let a = spawn_app_with(move |c| {
        delivering(c);
        c.hostname = "mx.a.test".into();
        c.domains = vec!["a.test".into()];
        c.delivery.routes = [("b.test".to_string(), format!("127.0.0.1:{port_b}"))].into_iter().collect();
        c.dns.nameservers = vec![dns_addr];
    })
    .await;
    let alice = a.admin.create_mailbox(&CreateMailboxRequest { username: "alice".into(), domain: Some("a.test".into()), ..Default::default() }).await.unwrap();
    let bob = b.admin.create_mailbox(&CreateMailboxRequest { username: "bob".into(), domain: Some("b.test".into()), ..Default::default() }).await.unwrap();

    let content = pseudo_random(150_000);
    let upload = a.admin.upload_attachment("report.bin", "application/octet-stream", content.clone().into()).await.unwrap();
    assert_eq!(upload.size, 150_000);
    assert_eq!(upload.sha256, hex::encode(sha2::Sha256::digest(&content)));
    assert!(upload.expires_at > upload.created_at);
    let mut req = text_message(&["bob@b.test"], "By id", "See the attachment.");
    req.attachments = vec![AttachmentInput { attachment_id: Some(upload.id), ..Default::default() }];
    a.admin.send_message(alice.id, &req, None).await.unwrap();
    let got = wait_until("the message at B", 20, || async {
        let page = b.admin.list_messages(bob.id, &MessageQuery::default()).await.unwrap();
        page.items.into_iter().next()
    })
    .await;
    assert_eq!(got.attachments.len(), 1);
    assert_eq!(got.attachments[0].filename.as_deref(), Some("report.bin"));
    let (_, _, bytes) = b.admin.get_attachment(got.attachments[0].id).await.unwrap();
    assert_eq!(sha2::Sha256::digest(&bytes).as_slice(), sha2::Sha256::digest(&content).as_slice(), "the bytes arrive intact");

    // An unknown or another site's upload id is refused before anything is sent.
    let (_, other) = a.site_client("other").await;
    let mine = mailbox(&other, "mine").await;
    let mut req = text_message(&["bob@b.test"], "Not yours", "x");
    req.attachments = vec![AttachmentInput { attachment_id: Some(upload.id), ..Default::default() }];
    assert_api_error(other.send_message(mine.id, &req, None).await, 422, "invalid_attachment");
}

async fn signed_urls(pg: Option<String>) {
    let app = app_on(pg.as_deref(), |_| {}).await;
    let content = b"%PDF-1.4 quarterly numbers".to_vec();
    let upload = app.admin.upload_attachment("q3 report.pdf", "application/pdf", content.clone().into()).await.unwrap();
    let signed = app.admin.attachment_url(upload.id, Some(2)).await.unwrap();
    assert!(signed.url.starts_with(&app.url), "{}", signed.url);
    let http = reqwest::Client::new();
    let r = http.get(&signed.url).send().await.unwrap();
    assert_eq!(r.status(), 200, "no API key needed");
    assert_eq!(r.headers()["x-content-type-options"], "nosniff");
    assert!(r.headers()["content-disposition"].to_str().unwrap().starts_with("attachment;"));
    assert_eq!(r.headers()["content-type"], "application/pdf");
    assert_eq!(r.bytes().await.unwrap().to_vec(), content);

    // One changed byte anywhere that is signed: 403, the same answer as for an unknown id.
    let sig_at = signed.url.find("signature=").unwrap() + "signature=".len();
    let mut tampered = signed.url.clone().into_bytes();
    tampered[sig_at] = if tampered[sig_at] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    let later = signed.url.replace(&format!("expires={}", signed.expires_at.timestamp()), &format!("expires={}", signed.expires_at.timestamp() + 3600));
    let unknown = signed.url.replace(&upload.id.to_string(), &AttachmentId::new().to_string());
    for bad in [&tampered, &later, &unknown] {
        let r = http.get(bad.as_str()).send().await.unwrap();
        assert_eq!(r.status(), 403, "{bad}");
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(error_code(&body), "invalid_signature");
    }
    // Limits on the lifetime.
    let (s, v) = call(&app.admin, Method::POST, &format!("/v1/attachments/{}/url", upload.id), Some(json!({"expires_in_seconds": 604801}))).await;
    assert_eq!((s, error_code(&v)), (422, "validation_error"));
    let (s, _) = call(&app.admin, Method::POST, &format!("/v1/attachments/{}/url", AttachmentId::new()), Some(json!({}))).await;
    assert_eq!(s, 404);
    // A message's attachments carry a download_url.
    let mb = mailbox(&app.admin, "files").await;
    let mut req = text_message(&[&mb.address.to_string()], "Self", "attached");
    req.attachments = vec![AttachmentInput { attachment_id: Some(upload.id), ..Default::default() }];
    app.admin.send_message(mb.id, &req, None).await.unwrap();
    let inbound = wait_until("the local copy", 10, || async {
        let page = app.admin.list_messages(mb.id, &MessageQuery { direction: Some("inbound".into()), ..Default::default() }).await.unwrap();
        page.items.into_iter().next()
    })
    .await;
    let (_, full) = call(&app.admin, Method::GET, &format!("/v1/messages/{}", inbound.id), None).await;
    let url = full["attachments"][0]["download_url"].as_str().expect("download_url").to_string();
    let r = http.get(&url).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.bytes().await.unwrap().to_vec(), content);
    // A large file (stored as a blob file, not in the database) streams out whole, with its
    // length, through the API and through a signed URL.
    let big = pseudo_random(6 * 1024 * 1024 + 17);
    let upload = app.admin.upload_attachment("big.bin", "application/octet-stream", big.clone().into()).await.unwrap();
    let signed_big = app.admin.attachment_url(upload.id, None).await.unwrap();
    let r = http.get(&signed_big.url).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-length"], big.len().to_string());
    let mut got = Vec::new();
    let mut chunks = 0;
    let mut stream = r.bytes_stream();
    use futures::StreamExt;
    while let Some(chunk) = stream.next().await {
        got.extend_from_slice(&chunk.unwrap());
        chunks += 1;
    }
    assert!(chunks > 1, "the body arrives in pieces");
    assert_eq!(sha2::Sha256::digest(&got).as_slice(), sha2::Sha256::digest(&big).as_slice());
    // After expiry: 403.
    tokio::time::sleep(Duration::from_millis(2200)).await;
    assert_eq!(http.get(&signed.url).send().await.unwrap().status(), 403, "expired");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_urls_download_without_a_key_and_refuse_expired_or_changed_ones_sqlite() {
    signed_urls(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_urls_download_without_a_key_and_refuse_expired_or_changed_ones_postgres() {
    with_database("the signed URL test", |url| signed_urls(Some(url))).await;
}

// --- ephemeral mailboxes and retention -------------------------------------------------------

async fn ephemeral(pg: Option<String>) {
    let app = app_on(pg.as_deref(), |_| {}).await;
    let smtp = app.server.as_ref().unwrap().smtp_addr.unwrap();
    let (s, created) = call(&app.admin, Method::POST, "/v1/mailboxes", Some(json!({"username": "brief", "ttl_seconds": 2}))).await;
    assert_eq!(s, 201, "{created}");
    assert!(created["expires_at"].is_string(), "{created}");
    let id = created["id"].as_str().unwrap().to_string();
    let to = created["address"].as_str().unwrap().to_string();
    let got = smtp_send(smtp, "sender@remote.test", &[&to], &raw_mail(&to, "early", 10)).await;
    assert!(got.last().unwrap().starts_with("250"), "{got:?}");
    // A long-lived mailbox next to it stays.
    let (s, keep) = call(&app.admin, Method::POST, "/v1/mailboxes", Some(json!({"username": "keep", "ttl_seconds": 3600}))).await;
    assert_eq!(s, 201);
    let (s, cleared) = call(&app.admin, Method::PATCH, &format!("/v1/mailboxes/{}", keep["id"].as_str().unwrap()), Some(json!({"expires_at": null}))).await;
    assert_eq!(s, 200);
    assert!(cleared["expires_at"].is_null(), "{cleared}");
    wait_until("the mailbox to expire", 10, || async {
        let (s, _) = call(&app.admin, Method::GET, &format!("/v1/mailboxes/{id}"), None).await;
        (s == 404).then_some(())
    })
    .await;
    let late = smtp_send(smtp, "sender@remote.test", &[&to], &raw_mail(&to, "late", 10)).await;
    assert!(late.iter().any(|r| r.starts_with("550 5.1.1")), "{late:?}");
    assert!(event_types(&app).await.iter().any(|t| t == "mailbox.expired"));
    let (s, _) = call(&app.admin, Method::GET, &format!("/v1/mailboxes/{}", keep["id"].as_str().unwrap()), None).await;
    assert_eq!(s, 200);
    let (s, v) = call(&app.admin, Method::POST, "/v1/mailboxes", Some(json!({"username": "bad", "ttl_seconds": 0}))).await;
    assert_eq!((s, error_code(&v)), (422, "validation_error"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ttl_mailbox_is_gone_within_seconds_sqlite() {
    ephemeral(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ttl_mailbox_is_gone_within_seconds_postgres() {
    with_database("the ephemeral mailbox test", |url| ephemeral(Some(url))).await;
}

async fn retention(pg: Option<String>) {
    let app = app_on(pg.as_deref(), |_| {}).await;
    let smtp = app.server.as_ref().unwrap().smtp_addr.unwrap();
    let engine = app.server.as_ref().unwrap().engine.clone();
    let mb = mailbox(&app.admin, "archive").await;
    let to = mb.address.to_string();
    for subject in ["fresh", "template"] {
        let r = smtp_send(smtp, "sender@remote.test", &[&to], &raw_mail(&to, subject, 10)).await;
        assert!(r.last().unwrap().starts_with("250"), "{r:?}");
    }
    let page = app.admin.list_messages(mb.id, &MessageQuery::default()).await.unwrap();
    let template = page.items.iter().find(|m| m.subject.as_deref() == Some("template")).unwrap().clone();
    // Two messages stored ten days ago (written through the store: the clock cannot be moved).
    let mut old_ids = Vec::new();
    for n in 0..2 {
        let mut old = engine.store().get_message(template.id).await.unwrap().unwrap();
        old.id = MessageId::new();
        old.thread_id = ThreadId::new();
        old.message_id = Some(format!("old{n}@remote.test"));
        old.subject = Some(format!("old {n}"));
        old.created_at = now() - chrono::Duration::days(10);
        old.attachments.clear();
        let event = mailroom_store::NewEvent::new(old.site_id, Some(old.mailbox_id), "message.imported", json!({}));
        engine.store().insert_message(&mailroom_store::NewMessage { message: old.clone(), new_thread: true }, &[event]).await.unwrap();
        old_ids.push(old.id);
    }
    assert_eq!(app.admin.list_messages(mb.id, &MessageQuery::default()).await.unwrap().items.len(), 4);
    let (s, v) = call(&app.admin, Method::PATCH, &format!("/v1/mailboxes/{}", mb.id), Some(json!({"retention_days": 7}))).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["retention_days"], 7);
    let left = wait_until("retention to run", 10, || async {
        let items = app.admin.list_messages(mb.id, &MessageQuery::default()).await.unwrap().items;
        (items.len() == 2).then_some(items)
    })
    .await;
    let mut subjects: Vec<_> = left.iter().map(|m| m.subject.clone().unwrap()).collect();
    subjects.sort();
    assert_eq!(subjects, vec!["fresh", "template"], "only what is older than 7 days is deleted");
    for id in old_ids {
        assert!(engine.store().get_message(id).await.unwrap().is_none());
    }
    assert!(event_types(&app).await.iter().filter(|t| *t == "message.deleted").count() >= 2);
    let (s, v) = call(&app.admin, Method::PATCH, &format!("/v1/mailboxes/{}", mb.id), Some(json!({"retention_days": 0}))).await;
    assert_eq!((s, error_code(&v)), (422, "validation_error"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_deletes_only_what_is_older_sqlite() {
    retention(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_deletes_only_what_is_older_postgres() {
    with_database("the retention test", |url| retention(Some(url))).await;
}

// --- the CLI ---------------------------------------------------------------------------------

fn cli(app: &TestApp, args: &[&str]) -> String {
    let out = std::process::Command::new(common::process::BIN)
        .args(args)
        .env("MAILROOM_URL", &app.url)
        .env("MAILROOM_API_KEY", &app.admin_key)
        .output()
        .expect("cli runs");
    assert!(out.status.success(), "mailroom {args:?} failed: {}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_sets_limits_shows_usage_and_handles_uploads() {
    let app = spawn_app().await;
    let (_, doc) = call(&app.admin, Method::GET, "/v1/openapi.json", None).await;
    for path in ["/v1/attachments", "/v1/attachments/{id}/url", "/v1/attachments/{id}/download", "/v1/usage", "/v1/sites/{id}"] {
        assert!(doc["paths"].get(path).is_some(), "{path} missing from the OpenAPI document");
    }
    let site = app.admin.list_sites().await.unwrap().items[0].id.to_string();
    let created: serde_json::Value = serde_json::from_str(&cli(&app, &["--json", "mailboxes", "create", "temp", "--ttl", "1h"])).unwrap();
    assert!(created["expires_at"].is_string() || created["id"].is_string(), "{created}");
    let id = created["id"].as_str().unwrap().to_string();
    let updated: serde_json::Value =
        serde_json::from_str(&cli(&app, &["--json", "mailboxes", "update", &id, "--send-per-minute", "5", "--storage-bytes", "unlimited", "--retention-days", "30"])).unwrap();
    assert_eq!(updated["limits"]["send_per_minute"], 5);
    assert_eq!(updated["retention_days"], 30);
    assert!(updated["expires_at"].is_string(), "{updated}");
    let site_view: serde_json::Value = serde_json::from_str(&cli(&app, &["--json", "sites", "update", &site, "--send-per-day", "1000"])).unwrap();
    assert_eq!(site_view["limits"]["send_per_day"], 1000);
    let usage = cli(&app, &["usage"]);
    assert!(usage.contains("temp@") && usage.contains("send per day"), "{usage}");
    let usage: serde_json::Value = serde_json::from_str(&cli(&app, &["--json", "usage"])).unwrap();
    assert_eq!(usage["mailboxes"][0]["limits"]["send_per_minute"], 5);

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("notes.txt");
    std::fs::write(&file, b"plain notes").unwrap();
    let upload_id = cli(&app, &["attachments", "upload", file.to_str().unwrap()]).trim().to_string();
    assert_eq!(upload_id.len(), 36, "{upload_id}");
    let url = cli(&app, &["attachments", "url", &upload_id, "--expires-in", "10m"]).trim().to_string();
    let r = reqwest::get(&url).await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.bytes().await.unwrap().as_ref(), b"plain notes");
}
