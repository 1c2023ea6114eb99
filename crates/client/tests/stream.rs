//! The live event stream against a canned SSE server on a real socket: parsing across
//! chunks, reconnection with `Last-Event-ID` after the server drops the connection, and
//! which failures end the stream.

use futures::StreamExt;
use mailroom_client::{Client, ClientError, EventStream, StreamStatus};
use mailroom_core::ids::MailboxId;
use mailroom_core::model::Event;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

/// One request head as the server received it.
#[derive(Debug)]
struct Seen {
    request_line: String,
    headers: Vec<(String, String)>,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// What the server does on one connection, in order.
enum Step {
    /// Write these bytes as they are.
    Raw(&'static str),
    /// Write this text, as one chunk of a chunked body when the answer is chunked.
    Send(String),
    /// Wait a little, so the client reads what was sent as a separate chunk.
    Pause,
    /// Keep the connection open, silent, until the test ends.
    Hold,
}

const SSE_CLOSE: &str =
    "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\nconnection: close\r\n\r\n";
const SSE_CHUNKED: &str =
    "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream; charset=utf-8\r\ntransfer-encoding: chunked\r\n\r\n";

/// Starts a server that plays one script per connection and reports each request.
async fn sse_server(scripts: Vec<Vec<Step>>) -> (String, mpsc::UnboundedReceiver<Seen>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        for script in scripts {
            let (sock, _) = listener.accept().await.unwrap();
            let tx = tx.clone();
            tokio::spawn(play(sock, script, tx));
        }
    });
    (url, rx)
}

async fn play(mut sock: TcpStream, script: Vec<Step>, tx: mpsc::UnboundedSender<Seen>) {
    let mut buf = Vec::new();
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        let mut chunk = [0u8; 4096];
        let n = sock.read(&mut chunk).await.unwrap();
        assert!(n > 0, "connection closed before the request was complete");
        buf.extend_from_slice(&chunk[..n]);
    }
    let head = String::from_utf8(buf).unwrap();
    let mut lines = head.split("\r\n").filter(|l| !l.is_empty());
    let request_line = lines.next().unwrap().to_string();
    let headers = lines
        .map(|l| {
            let (k, v) = l.split_once(':').unwrap();
            (k.trim().to_string(), v.trim().to_string())
        })
        .collect();
    tx.send(Seen { request_line, headers }).unwrap();
    let mut chunked = false;
    for step in script {
        match step {
            Step::Raw(text) => {
                chunked |= text.contains("transfer-encoding: chunked");
                if sock.write_all(text.as_bytes()).await.is_err() {
                    return;
                }
            }
            Step::Send(text) => {
                let wire = if chunked { format!("{:x}\r\n{text}\r\n", text.len()) } else { text };
                if sock.write_all(wire.as_bytes()).await.is_err() {
                    return;
                }
            }
            Step::Pause => tokio::time::sleep(Duration::from_millis(30)).await,
            Step::Hold => {
                tokio::time::sleep(Duration::from_secs(3600)).await;
            }
        }
    }
    // Dropping the socket here closes it abruptly: no final chunk on a chunked answer.
}

const MAILBOX: &str = "0190f5a0-0000-7000-8000-000000000001";

fn event_json(n: u32, event_type: &str) -> String {
    format!(
        r#"{{"id":"0190f5a0-0000-7000-8000-{n:012}","cursor":"{n}","type":"{event_type}","site_id":"0190f5a0-0000-7000-8000-000000000002","mailbox_id":"{MAILBOX}","data":{{"id":"m{n}"}},"created_at":"2026-01-01T00:00:00Z"}}"#
    )
}

/// One event as the server writes it: `id`, `event`, `data`, blank line.
fn sse(n: u32) -> String {
    format!("id: {n}\nevent: message.received\ndata: {}\n\n", event_json(n, "message.received"))
}

type Statuses = Arc<Mutex<Vec<StreamStatus>>>;

fn watched(stream: EventStream) -> (EventStream, Statuses) {
    let statuses: Statuses = Arc::default();
    let sink = statuses.clone();
    (stream.on_status(move |s| sink.lock().unwrap().push(s.clone())), statuses)
}

async fn next(stream: &mut EventStream) -> Option<Result<Event, ClientError>> {
    tokio::time::timeout(Duration::from_secs(10), stream.next()).await.expect("the stream answers within 10 s")
}

async fn cursors(stream: &mut EventStream, n: usize) -> Vec<String> {
    let mut out = Vec::new();
    for _ in 0..n {
        out.push(next(stream).await.expect("an event").expect("not an error").cursor);
    }
    out
}

#[tokio::test]
async fn a_dropped_connection_is_resumed_with_last_event_id_and_each_event_arrives_once() {
    let (url, mut seen) = sse_server(vec![
        // Two events and a heartbeat, then the server closes the connection.
        vec![
            Step::Raw(SSE_CLOSE),
            Step::Send(":heartbeat\n\n".into()),
            Step::Send(sse(11)),
            Step::Pause,
            Step::Send(sse(12)),
        ],
        vec![Step::Raw(SSE_CLOSE), Step::Send(sse(13)), Step::Hold],
    ])
    .await;
    let client = Client::new(&url, "mr_k").unwrap();
    let mailbox: MailboxId = MAILBOX.parse().unwrap();
    let (mut stream, statuses) =
        watched(client.stream_events(Some("10"), Some(mailbox), Some("message.received,message.sent")));
    let started = Instant::now();
    assert_eq!(cursors(&mut stream, 3).await, ["11", "12", "13"]);
    // The default first delay is half a second.
    assert!(started.elapsed() >= Duration::from_millis(500), "{:?}", started.elapsed());
    assert_eq!(stream.cursor().as_deref(), Some("13"));

    let first = seen.recv().await.unwrap();
    assert_eq!(
        first.request_line,
        format!("GET /v1/events/stream?after=10&mailbox_id={MAILBOX}&types=message.received%2Cmessage.sent HTTP/1.1")
    );
    assert_eq!(first.header("accept"), Some("text/event-stream"));
    assert_eq!(first.header("authorization"), Some("Bearer mr_k"));
    assert_eq!(first.header("last-event-id"), None);
    let again = seen.recv().await.unwrap();
    // The filters are kept; the position moves from `after` to `Last-Event-ID`.
    assert_eq!(
        again.request_line,
        format!("GET /v1/events/stream?mailbox_id={MAILBOX}&types=message.received%2Cmessage.sent HTTP/1.1")
    );
    assert_eq!(again.header("last-event-id"), Some("12"));
    assert_eq!(
        *statuses.lock().unwrap(),
        [
            StreamStatus::Reconnecting {
                reason: "the server closed the stream".into(),
                delay: Duration::from_millis(500)
            },
            StreamStatus::Reconnected { after: Some("12".into()) },
        ]
    );
}

#[tokio::test]
async fn an_event_cut_in_half_is_not_delivered_and_a_repeat_is_dropped() {
    let e2 = event_json(2, "message.sent");
    // Multi-line data with CRLF endings; the JSON is split across two `data:` lines between
    // two fields (the newline joining them is white space to JSON).
    let (first_half, second_half) = e2.split_at(e2.find(r#","cursor""#).unwrap() + 1);
    let (url, mut seen) = sse_server(vec![
        vec![
            Step::Raw(SSE_CHUNKED),
            Step::Send(format!(
                "id: 1\r\nevent: message.received\r\ndata: {}\r\n\r\n",
                event_json(1, "message.received")
            )),
            Step::Pause,
            Step::Send(format!("id: 2\r\nevent: message.sent\r\ndata: {first_half}\r\n")),
            Step::Pause,
            // The connection is then cut without the end of the chunked body.
        ],
        vec![
            Step::Raw(SSE_CHUNKED),
            // A server that resends what the client has already seen: dropped by event id.
            Step::Send(format!("id: 1\r\ndata: {}\r\n\r\n", event_json(1, "message.received"))),
            Step::Send(format!("id: 2\r\nevent: message.sent\r\ndata: {first_half}\r\ndata: {second_half}\r\n")),
            Step::Pause,
            Step::Send("\r\n:heartbeat\r\n\r\n".into()),
            Step::Send(format!("id: 3\r\ndata: {}\r\n\r\n", event_json(3, "message.received"))),
            Step::Hold,
        ],
    ])
    .await;
    let client = Client::new(&url, "k").unwrap();
    let (stream, statuses) = watched(client.stream_events(Some("0"), None, None));
    let mut stream = stream.reconnect_delays(Duration::from_millis(10), Duration::from_millis(50));
    let events: Vec<Event> = {
        let mut v = Vec::new();
        for _ in 0..3 {
            v.push(next(&mut stream).await.unwrap().unwrap());
        }
        v
    };
    assert_eq!(events.iter().map(|e| e.cursor.as_str()).collect::<Vec<_>>(), ["1", "2", "3"]);
    assert_eq!(events[1].event_type, "message.sent");
    assert_eq!(events[1].data["id"], "m2");
    assert_eq!(seen.recv().await.unwrap().request_line, "GET /v1/events/stream?after=0 HTTP/1.1");
    assert_eq!(seen.recv().await.unwrap().header("last-event-id"), Some("1"));
    let statuses = statuses.lock().unwrap();
    assert!(
        matches!(&statuses[0], StreamStatus::Reconnecting { reason, .. } if reason.starts_with("the connection broke")),
        "{statuses:?}"
    );
}

#[tokio::test]
async fn server_errors_are_retried_with_growing_delays_but_a_refusal_ends_the_stream() {
    let unavailable = r#"{"error":{"code":"unavailable","message":"Starting."}}"#;
    let refused = r#"{"error":{"code":"unauthorized","message":"The API key is missing or unknown."}}"#;
    let answer = |status: &str, body: &str| {
        format!(
            "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        )
    };
    let (url, mut seen) = sse_server(vec![
        vec![Step::Raw(SSE_CLOSE), Step::Send(sse(5))],
        vec![Step::Send(answer("503 Service Unavailable", unavailable))],
        vec![Step::Send(answer("401 Unauthorized", refused))],
    ])
    .await;
    let client = Client::new(&url, "k").unwrap();
    let (stream, statuses) = watched(client.stream_events(None, None, None));
    let mut stream = stream.reconnect_delays(Duration::from_millis(10), Duration::from_millis(15));
    assert_eq!(cursors(&mut stream, 1).await, ["5"]);
    let err = next(&mut stream).await.unwrap().unwrap_err();
    assert_eq!((err.status(), err.code()), (Some(401), Some("unauthorized")));
    assert!(next(&mut stream).await.is_none(), "a refusal ends the stream");
    // Without a starting cursor the first connection sends none; the reconnections resume.
    assert_eq!(seen.recv().await.unwrap().request_line, "GET /v1/events/stream HTTP/1.1");
    assert_eq!(seen.recv().await.unwrap().header("last-event-id"), Some("5"));
    assert_eq!(seen.recv().await.unwrap().header("last-event-id"), Some("5"));
    let statuses = statuses.lock().unwrap();
    assert_eq!(statuses.len(), 2, "{statuses:?}");
    assert!(matches!(&statuses[0], StreamStatus::Reconnecting { delay, .. } if *delay == Duration::from_millis(10)));
    assert!(
        matches!(&statuses[1], StreamStatus::Reconnecting { reason, delay } if *delay == Duration::from_millis(15) && reason.contains("Starting.")),
        "{statuses:?}"
    );
}

#[tokio::test]
async fn first_connection_failures_are_reported_at_once() {
    let missing = r#"{"error":{"code":"not_found","message":"No mailbox has this id."}}"#;
    let (url, _seen) = sse_server(vec![
        vec![Step::Send(format!(
            "HTTP/1.1 404 Not Found\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{missing}",
            missing.len()
        ))],
        vec![Step::Raw("HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: 6\r\nconnection: close\r\n\r\n<html>")],
    ])
    .await;
    let client = Client::new(&url, "k").unwrap();
    let mut stream = client.stream_events(None, Some(MailboxId::new()), None);
    let err = next(&mut stream).await.unwrap().unwrap_err();
    assert_eq!(err.code(), Some("not_found"));
    assert!(next(&mut stream).await.is_none());

    let mut stream = client.stream_events(None, None, None);
    let err = next(&mut stream).await.unwrap().unwrap_err();
    assert!(matches!(&err, ClientError::Protocol(m) if m.contains("`text/html`")), "{err:?}");
    assert!(next(&mut stream).await.is_none());
}

#[tokio::test]
async fn a_silent_connection_is_replaced() {
    let (url, mut seen) = sse_server(vec![
        vec![Step::Raw(SSE_CLOSE), Step::Send(sse(1)), Step::Hold],
        vec![Step::Raw(SSE_CLOSE), Step::Send(sse(2)), Step::Hold],
    ])
    .await;
    let client = Client::new(&url, "k").unwrap();
    let (stream, statuses) = watched(client.stream_events(None, None, None));
    let mut stream = stream
        .idle_timeout(Duration::from_millis(400))
        .reconnect_delays(Duration::from_millis(10), Duration::from_millis(10));
    assert_eq!(cursors(&mut stream, 2).await, ["1", "2"]);
    seen.recv().await.unwrap();
    assert_eq!(seen.recv().await.unwrap().header("last-event-id"), Some("1"));
    let statuses = statuses.lock().unwrap();
    assert!(
        matches!(&statuses[0], StreamStatus::Reconnecting { reason, .. } if reason.contains("not even a heartbeat")),
        "{statuses:?}"
    );
}

#[tokio::test]
async fn an_unreadable_event_is_reported_and_the_stream_goes_on() {
    let (url, _seen) = sse_server(vec![vec![
        Step::Raw(SSE_CLOSE),
        Step::Send("id: 1\nevent: message.received\ndata: {\"not\": \"an event\"}\n\n".into()),
        Step::Send(sse(2)),
        Step::Hold,
    ]])
    .await;
    let client = Client::new(&url, "k").unwrap();
    let mut stream = client.stream_events(None, None, None);
    let err = next(&mut stream).await.unwrap().unwrap_err();
    assert!(matches!(&err, ClientError::Decode { request, .. } if request.contains("id `1`")), "{err:?}");
    assert_eq!(stream.cursor().as_deref(), Some("1"));
    assert_eq!(cursors(&mut stream, 1).await, ["2"]);
}

#[tokio::test]
async fn nothing_is_sent_before_the_first_poll() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let client = Client::new(&format!("http://{}", listener.local_addr().unwrap()), "k").unwrap();
    let stream = client.stream_events(Some("3"), None, None);
    assert_eq!(stream.cursor().as_deref(), Some("3"));
    let accepted = tokio::time::timeout(Duration::from_millis(100), listener.accept()).await;
    assert!(accepted.is_err(), "no connection is made until the stream is polled");
}
