//! Live events: the SSE stream resumes from `Last-Event-ID` without loss or repeats, and the
//! long-poll wait returns a new inbound message as soon as it arrives.

mod common;

use common::*;
use futures::StreamExt;
use mailroom_core::api::*;
use std::time::{Duration, Instant};

/// A minimal SSE reader: yields (id, event, data) triples.
struct SseReader {
    stream: std::pin::Pin<Box<dyn futures::Stream<Item = reqwest::Result<bytes::Bytes>> + Send>>,
    buf: String,
}

impl SseReader {
    async fn open(app: &TestApp, query: &str, last_event_id: Option<&str>) -> SseReader {
        let mut req = reqwest::Client::new()
            .get(format!("{}/v1/events/stream{query}", app.url))
            .bearer_auth(&app.admin_key);
        if let Some(id) = last_event_id {
            req = req.header("Last-Event-ID", id);
        }
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status(), 200);
        assert!(resp.headers()["content-type"].to_str().unwrap().starts_with("text/event-stream"));
        SseReader { stream: Box::pin(resp.bytes_stream()), buf: String::new() }
    }

    async fn next(&mut self) -> (String, String, serde_json::Value) {
        loop {
            if let Some(end) = self.buf.find("\n\n") {
                let block: String = self.buf.drain(..end + 2).collect();
                let (mut id, mut event, mut data) = (String::new(), String::new(), String::new());
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("id:") {
                        id = v.trim().to_string();
                    } else if let Some(v) = line.strip_prefix("event:") {
                        event = v.trim().to_string();
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data.push_str(v.trim());
                    }
                }
                if id.is_empty() || data.is_empty() {
                    continue; // a heartbeat comment, or the position announced at the start
                }
                return (id, event, serde_json::from_str(&data).unwrap());
            }
            let chunk = tokio::time::timeout(Duration::from_secs(10), self.stream.next()).await.expect("an event within 10 s").unwrap().unwrap();
            self.buf.push_str(&String::from_utf8_lossy(&chunk));
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sse_resumes_from_last_event_id_with_nothing_lost_or_repeated() {
    let app = spawn_app().await;
    let a = mailbox(&app.admin, "a").await;
    let b = mailbox(&app.admin, "b").await;
    let mut sse = SseReader::open(&app, "?types=message.received", None).await;
    for i in 0..3 {
        app.admin.send_message(a.id, &text_message(&["b@mailroom.localhost"], &format!("m{i}"), "x"), None).await.unwrap();
    }
    let mut seen = Vec::new();
    for _ in 0..3 {
        let (id, event, data) = sse.next().await;
        assert_eq!(event, "message.received");
        assert_eq!(data["mailbox_id"], b.id.to_string());
        seen.push((id, data["data"]["subject"].as_str().unwrap().to_string()));
    }
    let last = seen.last().unwrap().0.clone();
    drop(sse);
    // While the client is away, more mail arrives.
    for i in 3..6 {
        app.admin.send_message(a.id, &text_message(&["b@mailroom.localhost"], &format!("m{i}"), "x"), None).await.unwrap();
    }
    let mut sse = SseReader::open(&app, "?types=message.received", Some(&last)).await;
    for _ in 3..6 {
        let (id, _, data) = sse.next().await;
        seen.push((id, data["data"]["subject"].as_str().unwrap().to_string()));
    }
    let subjects: Vec<_> = seen.iter().map(|(_, s)| s.as_str()).collect();
    assert_eq!(subjects, ["m0", "m1", "m2", "m3", "m4", "m5"], "nothing lost, nothing twice, in order");
    // Cursors are opaque; their positions still rise.
    let ids: Vec<i64> = seen.iter().map(|(i, _)| mailroom_core::cursor::position(i)).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]));
    // `?after=` works like Last-Event-ID; a mailbox filter narrows the stream.
    let mut from_start = SseReader::open(&app, &format!("?after=0&mailbox_id={}", a.id), None).await;
    let (_, event, _) = from_start.next().await;
    assert_eq!(event, "mailbox.created");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_announces_its_position_first() {
    let app = spawn_app().await;
    mailbox(&app.admin, "a").await;
    let resp = reqwest::Client::new().get(format!("{}/v1/events/stream", app.url)).bearer_auth(&app.admin_key).send().await.unwrap();
    let mut stream = resp.bytes_stream();
    let first = tokio::time::timeout(Duration::from_secs(5), stream.next()).await.unwrap().unwrap().unwrap();
    let text = String::from_utf8_lossy(&first);
    // An admin stream of every site has cursors of its own kind (`g…`).
    assert!(text.starts_with("id: g1\n"), "a client without a cursor learns it at once: {text:?}");
    assert!(!text.contains("data:"), "no event is dispatched: {text:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_concurrent_streams_all_see_the_event() {
    let app = spawn_app().await;
    let a = mailbox(&app.admin, "a").await;
    mailbox(&app.admin, "b").await;
    let mut streams = Vec::new();
    for _ in 0..50 {
        streams.push(SseReader::open(&app, "?types=message.received", None).await);
    }
    app.admin.send_message(a.id, &text_message(&["b@mailroom.localhost"], "broadcast", "x"), None).await.unwrap();
    for s in &mut streams {
        let (_, _, data) = s.next().await;
        assert_eq!(data["data"]["subject"], "broadcast");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wait_returns_the_next_inbound_message_or_204() {
    let app = spawn_app().await;
    let a = mailbox(&app.admin, "a").await;
    let b = mailbox(&app.admin, "b").await;
    let url = format!("{}/v1/mailboxes/{}/messages/wait?timeout=1", app.url, b.id);
    let http = reqwest::Client::new();
    let started = Instant::now();
    let empty = http.get(&url).bearer_auth(&app.admin_key).send().await.unwrap();
    assert_eq!(empty.status(), 204);
    assert!(started.elapsed() >= Duration::from_millis(900));

    let waiter = {
        let (http, key, url) = (http.clone(), app.admin_key.clone(), format!("{}/v1/mailboxes/{}/messages/wait?timeout=20", app.url, b.id));
        tokio::spawn(async move {
            let resp = http.get(url).bearer_auth(key).send().await.unwrap();
            (resp.status(), resp.json::<serde_json::Value>().await.unwrap(), Instant::now())
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    let sent_at = Instant::now();
    app.admin.send_message(a.id, &text_message(&["b@mailroom.localhost"], "wake up", "x"), None).await.unwrap();
    let (status, body, arrived) = waiter.await.unwrap();
    assert_eq!(status, 200);
    assert_eq!(body["message"]["subject"], "wake up");
    assert!(arrived.duration_since(sent_at) < Duration::from_secs(2), "answered as soon as the mail arrived");
    // Waiting after that cursor blocks again (the same message is not returned twice).
    let next = http.get(format!("{}/v1/mailboxes/{}/messages/wait?timeout=1&after={}", app.url, b.id, body["cursor"].as_str().unwrap())).bearer_auth(&app.admin_key).send().await.unwrap();
    assert_eq!(next.status(), 204);
    // A message that arrived before the wait started is found from an older cursor.
    let from_start = http.get(format!("{}/v1/mailboxes/{}/messages/wait?timeout=1&after=0", app.url, b.id)).bearer_auth(&app.admin_key).send().await.unwrap();
    assert_eq!(from_start.status(), 200);
    let bad = http.get(format!("{}/v1/mailboxes/{}/messages/wait?timeout=61", app.url, b.id)).bearer_auth(&app.admin_key).send().await.unwrap();
    assert_eq!(bad.status(), 400);
    let _ = MessageQuery::default();
}
