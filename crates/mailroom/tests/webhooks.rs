//! Webhooks end to end: mail received over SMTP reaches a real HTTP receiver, signed per
//! Standard Webhooks and verified with the independent `standardwebhooks` library; a receiver
//! that is down gets everything when it comes back; deliveries resume after the server is
//! killed; private targets are refused; a rotation verifies with both secrets.

mod common;

use axum::http::HeaderMap;
use common::*;
use mailroom_client::Method;
use serde_json::json;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Clone, Default)]
struct Received(Arc<Mutex<Vec<(HeaderMap, String)>>>);

impl Received {
    fn all(&self) -> Vec<(HeaderMap, String)> {
        self.0.lock().unwrap().clone()
    }
    fn bodies(&self) -> Vec<serde_json::Value> {
        self.all().iter().map(|(_, b)| serde_json::from_str(b).unwrap()).collect()
    }
}

/// A webhook receiver on 127.0.0.1 that records every request and answers 204.
async fn receiver(port: u16, got: Received) -> (SocketAddr, tokio::task::JoinHandle<()>) {
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: String| {
            let got = got.clone();
            async move {
                got.0.lock().unwrap().push((headers, body));
                axum::http::StatusCode::NO_CONTENT
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.unwrap();
    let addr = listener.local_addr().unwrap();
    (addr, tokio::spawn(async move { axum::serve(listener, app).await.unwrap() }))
}

async fn wait_until(what: &str, mut f: impl FnMut() -> bool) {
    for _ in 0..300 {
        if f() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}");
}

fn verify(secret: &str, headers: &HeaderMap, body: &str) -> bool {
    let wh = standardwebhooks::Webhook::new(secret).unwrap();
    let mut h = axum::http::HeaderMap::new();
    for name in ["webhook-id", "webhook-timestamp", "webhook-signature"] {
        h.insert(name, headers[name].to_str().unwrap().parse().unwrap());
    }
    wh.verify(body.as_bytes(), &h).is_ok()
}

async fn create_hook(app: &TestApp, url: &str, types: &[&str]) -> (String, String) {
    let r = app.admin.raw_request(Method::POST, "/v1/webhooks", Some(json!({"url": url, "event_types": types, "description": "test"})), &[]).await.unwrap();
    assert_eq!(r.status, 201, "{}", r.text());
    let v: serde_json::Value = r.json().unwrap();
    (v["id"].as_str().unwrap().to_string(), v["secret"].as_str().unwrap().to_string())
}

fn private_ok(c: &mut mailroom::config::Config) {
    c.webhooks.allow_private_targets = true;
    c.webhooks.retry_schedule_secs = vec![0, 1, 1, 1, 1, 1, 1, 1, 1, 1];
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smtp_mail_reaches_a_verified_webhook_and_the_sse_stream() {
    let dns = dns::TestDns::start().await;
    let got = Received::default();
    let (addr, _rx) = receiver(0, got.clone()).await;
    let dns_addr = dns.addr.to_string();
    let app = spawn_app_with(move |c| {
        private_ok(c);
        c.dns.nameservers = vec![dns_addr];
    })
    .await;
    let bob = mailbox(&app.admin, "bob").await;
    let (_, secret) = create_hook(&app, &format!("http://{addr}/hook"), &["message.received"]).await;
    // An SSE client listens too.
    let mut sse = reqwest::Client::new()
        .get(format!("{}/v1/events/stream?types=message.received", app.url))
        .bearer_auth(&app.admin_key)
        .send()
        .await
        .unwrap()
        .bytes_stream();

    let smtp = app.server.as_ref().unwrap().smtp_addr.unwrap();
    let mut s = tokio::net::TcpStream::connect(smtp).await.unwrap();
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    s.write_all(b"EHLO peer.test\r\nMAIL FROM:<carol@peer.test>\r\nRCPT TO:<bob@mailroom.localhost>\r\nDATA\r\n").await.unwrap();
    s.write_all(
        b"From: carol@peer.test\r\nTo: bob@mailroom.localhost\r\nSubject: webhook me\r\nMessage-ID: <w1@peer.test>\r\n\
          MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n\
          --b1\r\nContent-Type: text/plain\r\n\r\nHi Bob\r\n\
          --b1\r\nContent-Type: text/csv\r\nContent-Disposition: attachment; filename=\"q3.csv\"\r\n\r\nregion,total\r\nnorth,42\r\n\
          --b1--\r\n.\r\nQUIT\r\n",
    )
    .await
    .unwrap();
    let mut replies = String::new();
    s.read_to_string(&mut replies).await.unwrap();
    assert!(replies.contains("250 2.0.0"), "{replies}");

    wait_until("the webhook", || !got.all().is_empty()).await;
    let (headers, body) = got.all().remove(0);
    assert!(verify(&secret, &headers, &body), "the independent verifier accepts the signature");
    assert!(!verify("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", &headers, &body), "and refuses another secret");
    let payload: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(payload["type"], "message.received");
    assert_eq!(payload["data"]["subject"], "webhook me");
    assert_eq!(payload["data"]["mailbox_id"], bob.id.to_string());
    assert_eq!(payload["data"]["from"]["address"], "carol@peer.test");
    assert!(payload["data"]["auth_results"].is_object());
    assert!(payload["id"].is_string() && payload["created_at"].is_string());
    // The new part of the message is there in full (the log keeps it as a length of `text`).
    assert_eq!(payload["data"]["extracted_text"].as_str().map(str::trim_end), Some("Hi Bob"), "{payload}");
    assert!(payload["data"].get("extracted_text_len").is_none(), "{payload}");
    // Each attachment carries a signed download URL that works without an API key (issue 15).
    let url = payload["data"]["attachments"][0]["download_url"].as_str().expect("download_url in the webhook payload");
    assert!(url.starts_with(&app.url) && url.contains("signature="), "{url}");
    let r = reqwest::get(url).await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.text().await.unwrap().trim_end(), "region,total\r\nnorth,42");

    use futures::StreamExt;
    let mut text = String::new();
    while !text.contains("webhook me") {
        let chunk = tokio::time::timeout(Duration::from_secs(10), sse.next()).await.unwrap().unwrap().unwrap();
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(text.contains("event: message.received"));
    assert!(text.contains("\"download_url\""), "SSE events carry the signed URL too: {text}");
    assert!(text.contains("\"extracted_text\":\"Hi Bob") && !text.contains("extracted_text_len"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_that_was_down_gets_every_event_when_it_returns() {
    let got = Received::default();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let app = spawn_app_with(private_ok).await;
    let a = mailbox(&app.admin, "a").await;
    mailbox(&app.admin, "b").await;
    let (hook_id, secret) = create_hook(&app, &format!("http://127.0.0.1:{port}/hook"), &["message.received"]).await;
    // Nothing listens yet: these deliveries fail and are retried.
    for i in 0..5 {
        app.admin.send_message(a.id, &text_message(&["b@mailroom.localhost"], &format!("n{i}"), "x"), None).await.unwrap();
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let deliveries: serde_json::Value = app.admin.raw_request(Method::GET, &format!("/v1/webhooks/{hook_id}/deliveries"), None, &[]).await.unwrap().json().unwrap();
    let first = &deliveries["items"][0];
    assert!(first["attempts"].as_u64().unwrap() >= 1, "{first}");
    assert!(first["history"][0]["error"].is_string(), "failed attempts are recorded: {first}");
    // The receiver comes back.
    let (_addr, _rx) = receiver(port, got.clone()).await;
    wait_until("all five events", || got.all().len() >= 5).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut subjects: Vec<String> = got.bodies().iter().map(|b| b["data"]["subject"].as_str().unwrap().to_string()).collect();
    subjects.sort();
    subjects.dedup();
    assert_eq!(subjects, ["n0", "n1", "n2", "n3", "n4"]);
    for (h, b) in got.all() {
        assert!(verify(&secret, &h, &b));
    }
    // Replay sends them again, with the same webhook-id.
    let before = got.all().len();
    let r = app.admin.raw_request(Method::POST, &format!("/v1/webhooks/{hook_id}/replay"), Some(json!({})), &[]).await.unwrap();
    assert_eq!(r.status, 202, "{}", r.text());
    let v: serde_json::Value = r.json().unwrap();
    assert_eq!(v["requeued"], 5, "{v}");
    wait_until("the replay", || got.all().len() >= before + 5).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn private_targets_are_refused_and_rotation_signs_with_both_secrets() {
    let app = spawn_app().await;
    for url in ["http://127.0.0.1:9/hook", "http://localhost/hook", "http://10.0.0.1/x", "http://169.254.169.254/latest", "http://[::1]/x", "ftp://example.com/"] {
        let r = app.admin.raw_request(Method::POST, "/v1/webhooks", Some(json!({"url": url})), &[]).await.unwrap();
        assert_eq!(r.status, 422, "{url}: {}", r.text());
        let code = r.json::<serde_json::Value>().unwrap()["error"]["code"].as_str().unwrap().to_string();
        assert!(code == "forbidden_target" || code == "invalid_url", "{url}: {code}");
    }

    let got = Received::default();
    let (addr, _rx) = receiver(0, got.clone()).await;
    let app = spawn_app_with(private_ok).await;
    let a = mailbox(&app.admin, "a").await;
    mailbox(&app.admin, "b").await;
    let (hook_id, old) = create_hook(&app, &format!("http://{addr}/hook"), &["message.received"]).await;
    let r = app.admin.raw_request(Method::POST, &format!("/v1/webhooks/{hook_id}/rotate-secret"), None, &[]).await.unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    let new = r.json::<serde_json::Value>().unwrap()["secret"].as_str().unwrap().to_string();
    assert_ne!(old, new);
    app.admin.send_message(a.id, &text_message(&["b@mailroom.localhost"], "rotated", "x"), None).await.unwrap();
    wait_until("the delivery", || !got.all().is_empty()).await;
    let (h, b) = got.all().remove(0);
    assert_eq!(h["webhook-signature"].to_str().unwrap().split(' ').count(), 2, "both signatures during the overlap");
    assert!(verify(&old, &h, &b), "receivers still on the old secret verify");
    assert!(verify(&new, &h, &b), "receivers on the new secret verify");
    // The listing never shows a secret.
    let listed = app.admin.raw_request(Method::GET, "/v1/webhooks", None, &[]).await.unwrap().text();
    assert!(!listed.contains(&old) && !listed.contains(&new) && !listed.contains("whsec_"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deliveries_resume_after_the_server_is_killed_mid_retry() {
    use common::process::{serve_env, stop};
    let got = Received::default();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let dir = tempfile::tempdir().unwrap();
    let env = [("MAILROOM_WEBHOOKS_ALLOW_PRIVATE_TARGETS", "true"), ("MAILROOM_WEBHOOKS_RETRY_SCHEDULE_SECS", "0,1,1,1,1,1,1,1,1,1,1,1")];
    let served = serve_env(dir.path(), &[], &env);
    let key = std::fs::read_to_string(dir.path().join("admin-api-key")).unwrap().trim().to_string();
    let api = mailroom_client::Client::new(&served.url, key.clone()).unwrap();
    let a = api.create_mailbox(&mailroom_core::api::CreateMailboxRequest { username: "a".into(), ..Default::default() }).await.unwrap();
    api.create_mailbox(&mailroom_core::api::CreateMailboxRequest { username: "b".into(), ..Default::default() }).await.unwrap();
    let r = api.raw_request(Method::POST, "/v1/webhooks", Some(json!({"url": format!("http://127.0.0.1:{port}/hook"), "event_types": ["message.received"]})), &[]).await.unwrap();
    assert_eq!(r.status, 201, "{}", r.text());
    for i in 0..3 {
        api.send_message(a.id, &text_message(&["b@mailroom.localhost"], &format!("k{i}"), "x"), None).await.unwrap();
    }
    tokio::time::sleep(Duration::from_millis(1200)).await; // a few failed attempts
    served.kill(); // mid-retry
    let (_addr, _rx) = receiver(port, got.clone()).await;
    let served = serve_env(dir.path(), &[], &env);
    wait_until("the deliveries after the restart", || got.all().len() >= 3).await;
    let mut subjects: Vec<String> = got.bodies().iter().map(|b| b["data"]["subject"].as_str().unwrap().to_string()).collect();
    subjects.sort();
    subjects.dedup();
    assert_eq!(subjects, ["k0", "k1", "k2"]);
    stop(served);
}
