//! The live event stream (`GET /v1/events/stream`) as a [`Stream`] of events that survives
//! dropped connections.
//!
//! The reader remembers the id (cursor) of the last event it received and, when the
//! connection breaks, the server closes it, or nothing (not even the 15-second heartbeat)
//! arrives for a while, reconnects with `Last-Event-ID` after a growing delay (0.5 s, 1 s,
//! 2 s, … up to 10 s). The server resumes right after that cursor, so the caller sees every
//! event once; as a second guard, an event id seen recently is never handed out twice.

use crate::sse::{Frame, SseParser};
use crate::{Client, ClientError, Method, error};
use futures::Stream;
use futures::StreamExt as _;
use mailroom_core::ids::{EventId, MailboxId};
use mailroom_core::model::Event;
use reqwest::header::{ACCEPT, CACHE_CONTROL, CONTENT_TYPE, HeaderValue};
use serde::Serialize;
use std::collections::{HashSet, VecDeque};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

/// The first delay before reconnecting.
pub const RECONNECT_MIN: Duration = Duration::from_millis(500);
/// The longest delay between two reconnection attempts.
pub const RECONNECT_MAX: Duration = Duration::from_secs(10);
/// How long a connection may stay silent before it is taken for dead: three of the server's
/// 15-second heartbeats.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(45);
/// How many recent event ids are remembered to drop repeats.
const SEEN: usize = 4096;

/// What happens to the connection of an [`EventStream`], for callers that want to tell the
/// user (see [`EventStream::on_status`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamStatus {
    /// The connection was lost; the stream reconnects after `delay`.
    Reconnecting {
        /// What happened, for a human.
        reason: String,
        /// How long until the next attempt.
        delay: Duration,
    },
    /// A new connection is up after a loss, resuming after `after` (from the end of the log
    /// when `None`).
    Reconnected {
        /// The cursor sent as `Last-Event-ID`.
        after: Option<String>,
    },
}

type StatusFn = Box<dyn FnMut(&StreamStatus) + Send>;
type Inner = Pin<Box<dyn Stream<Item = Result<Event, ClientError>> + Send>>;

/// The site's events as they happen, from [`Client::stream_events`].
///
/// Items:
/// - `Ok(event)`: each event once, in log order.
/// - `Err(ClientError::Decode { .. })`: one event's data could not be read (a newer server?);
///   the stream goes on with the next event.
/// - any other `Err`: the stream cannot go on and ends after it. That is any failure of the
///   first connection (a wrong URL or key, an unknown mailbox, a bad cursor), a 4xx answer to
///   a reconnection (the key was deleted), or an answer that is not an event stream.
///   Transport errors, timeouts and 5xx/408/429 answers after the first connection are
///   retried without end.
///
/// Without a starting cursor the server starts at the end of the log; if the connection
/// drops before the first event arrives, the reconnection starts at the then current end, so
/// events in that gap are missed. Pass a cursor (such as the last one from
/// [`Client::list_events`]) to be exact.
pub struct EventStream {
    reader: Option<Box<Reader>>,
    inner: Option<Inner>,
    cursor: Arc<Mutex<Option<String>>>,
}

impl std::fmt::Debug for EventStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventStream").field("cursor", &self.cursor()).finish_non_exhaustive()
    }
}

impl EventStream {
    pub(crate) fn new(
        client: Client,
        after: Option<&str>,
        mailbox: Option<MailboxId>,
        types: Option<&str>,
    ) -> EventStream {
        let after = after.map(str::trim).filter(|a| !a.is_empty()).map(str::to_string);
        let cursor = Arc::new(Mutex::new(after.clone()));
        let types = types.map(str::trim).filter(|t| !t.is_empty()).map(str::to_string);
        let reader = Reader {
            client,
            mailbox,
            types,
            first_after: after.clone(),
            resume: after,
            delivered: cursor.clone(),
            connected_once: false,
            lost: false,
            body: None,
            parser: SseParser::new(),
            frames: Vec::new(),
            pending: VecDeque::new(),
            seen: HashSet::new(),
            seen_order: VecDeque::new(),
            delay: None,
            backoff: Backoff::new(RECONNECT_MIN, RECONNECT_MAX),
            idle: IDLE_TIMEOUT,
            on_status: None,
            done: false,
        };
        EventStream { reader: Some(Box::new(reader)), inner: None, cursor }
    }

    /// Calls `f` when the connection is lost and when it is back. Set it before the first
    /// poll; later calls have no effect.
    pub fn on_status(mut self, f: impl FnMut(&StreamStatus) + Send + 'static) -> EventStream {
        if let Some(r) = self.reader.as_mut() {
            r.on_status = Some(Box::new(f));
        }
        self
    }

    /// Sets the first and the longest delay between reconnection attempts (default
    /// [`RECONNECT_MIN`] and [`RECONNECT_MAX`]). Set it before the first poll.
    pub fn reconnect_delays(mut self, first: Duration, max: Duration) -> EventStream {
        if let Some(r) = self.reader.as_mut() {
            r.backoff = Backoff::new(first, max.max(first));
        }
        self
    }

    /// Sets how long a connection may stay silent, heartbeats included, before it is dropped
    /// and a new one made (default [`IDLE_TIMEOUT`]). Set it before the first poll.
    pub fn idle_timeout(mut self, idle: Duration) -> EventStream {
        if let Some(r) = self.reader.as_mut() {
            r.idle = idle;
        }
        self
    }

    /// Waits for the next item, as [`StreamExt::next`](futures::StreamExt::next) does, for
    /// callers that do not use the `futures` crate themselves.
    pub async fn next_event(&mut self) -> Option<Result<Event, ClientError>> {
        self.next().await
    }

    /// Returns the cursor of the last event handed out (or the starting cursor before the
    /// first): pass it as `after` to resume exactly after what was seen.
    pub fn cursor(&self) -> Option<String> {
        self.cursor.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

impl Stream for EventStream {
    type Item = Result<Event, ClientError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.inner.is_none() {
            let Some(reader) = this.reader.take() else { return Poll::Ready(None) };
            this.inner =
                Some(Box::pin(futures::stream::unfold(
                    reader,
                    |mut r| async move { r.next().await.map(|item| (item, r)) },
                )));
        }
        match this.inner.as_mut() {
            Some(inner) => inner.as_mut().poll_next(cx),
            None => Poll::Ready(None),
        }
    }
}

/// Delays that double from `first` up to `max`.
#[derive(Debug, Clone, Copy)]
struct Backoff {
    first: Duration,
    max: Duration,
    next: Duration,
}

impl Backoff {
    fn new(first: Duration, max: Duration) -> Backoff {
        Backoff { first, max, next: first }
    }

    /// Returns the delay before the next attempt and doubles the one after.
    fn take(&mut self) -> Duration {
        let delay = self.next;
        self.next = (self.next * 2).min(self.max);
        delay
    }

    /// Starts over from the first delay (after a connection that worked).
    fn reset(&mut self) {
        self.next = self.first;
    }
}

/// What the reader hands out next, in order.
enum Pending {
    Event(Box<Event>, String),
    Failed(ClientError, String),
    Position(String),
    /// The stream cannot go on (it is marked done already).
    End(ClientError),
}

/// The query of `GET /v1/events/stream`.
#[derive(Serialize)]
struct StreamQuery<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    after: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    mailbox_id: Option<MailboxId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    types: Option<&'a str>,
}

type Body = Pin<Box<dyn Stream<Item = reqwest::Result<bytes::Bytes>> + Send>>;

struct Reader {
    client: Client,
    mailbox: Option<MailboxId>,
    types: Option<String>,
    /// The cursor given by the caller, sent as `?after=` on the first connection.
    first_after: Option<String>,
    /// The id of the last event received: sent as `Last-Event-ID` when reconnecting.
    resume: Option<String>,
    /// The cursor of the last event handed out, shared with [`EventStream::cursor`].
    delivered: Arc<Mutex<Option<String>>>,
    connected_once: bool,
    /// A connection was lost and the next success is a recovery.
    lost: bool,
    body: Option<Body>,
    parser: SseParser,
    frames: Vec<Frame>,
    pending: VecDeque<Pending>,
    seen: HashSet<EventId>,
    seen_order: VecDeque<EventId>,
    delay: Option<Duration>,
    backoff: Backoff,
    idle: Duration,
    on_status: Option<StatusFn>,
    done: bool,
}

impl Reader {
    async fn next(&mut self) -> Option<Result<Event, ClientError>> {
        loop {
            if let Some(item) = self.pending.pop_front() {
                match item {
                    Pending::Position(cursor) => self.set_delivered(cursor),
                    Pending::Event(event, cursor) => {
                        self.set_delivered(cursor);
                        return Some(Ok(*event));
                    }
                    Pending::Failed(err, cursor) => {
                        self.set_delivered(cursor);
                        return Some(Err(err));
                    }
                    Pending::End(err) => return Some(Err(err)),
                }
                continue;
            }
            if self.done {
                return None;
            }
            let Some(body) = self.body.as_mut() else {
                if let Some(delay) = self.delay.take() {
                    tokio::time::sleep(delay).await;
                }
                let connected = match self.prepare() {
                    Ok(rb) => open(&self.client, rb).await,
                    Err(err) => Err(err),
                };
                match connected {
                    Ok(body) => {
                        self.body = Some(body);
                        self.parser = SseParser::new();
                        if std::mem::take(&mut self.lost) {
                            let after = self.resume.clone();
                            self.notify(StreamStatus::Reconnected { after });
                        }
                        self.connected_once = true;
                    }
                    Err(err) if self.connected_once && retryable(&err) => self.lose(describe(&err)),
                    Err(err) => {
                        self.done = true;
                        return Some(Err(err));
                    }
                }
                continue;
            };
            match tokio::time::timeout(self.idle, body.next()).await {
                Ok(Some(Ok(chunk))) => {
                    self.backoff.reset();
                    let mut frames = std::mem::take(&mut self.frames);
                    let fed = self.parser.feed(&chunk, &mut frames);
                    for frame in frames.drain(..) {
                        self.accept(frame);
                    }
                    self.frames = frames;
                    if fed.is_err() {
                        // The events before the oversized one are still handed out first.
                        self.done = true;
                        self.body = None;
                        self.pending.push_back(Pending::End(ClientError::Protocol(format!(
                            "an event of the stream is larger than {} MiB",
                            crate::sse::MAX_EVENT_BYTES / (1024 * 1024)
                        ))));
                    }
                }
                Ok(Some(Err(err))) => {
                    self.body = None;
                    self.lose(format!("the connection broke ({})", error::root_cause(&err)));
                }
                Ok(None) => {
                    self.body = None;
                    self.lose("the server closed the stream".to_string());
                }
                Err(_) => {
                    self.body = None;
                    self.lose(format!("nothing arrived for {} s, not even a heartbeat", self.idle.as_secs_f32()));
                }
            }
        }
    }

    /// Builds the request of the next connection: `?after=` the first time, `Last-Event-ID`
    /// after that.
    fn prepare(&self) -> Result<reqwest::RequestBuilder, ClientError> {
        let after = if self.connected_once { None } else { self.first_after.as_deref() };
        let query = StreamQuery { after, mailbox_id: self.mailbox, types: self.types.as_deref() };
        let mut rb = self
            .client
            .request(Method::GET, STREAM_PATH)
            .query(&query)
            .header(ACCEPT, "text/event-stream")
            .header(CACHE_CONTROL, "no-cache");
        if self.connected_once
            && let Some(id) = &self.resume
        {
            let value = HeaderValue::from_str(id)
                .map_err(|_| ClientError::Protocol(format!("the event id `{id}` cannot be sent back in a header")))?;
            rb = rb.header("Last-Event-ID", value);
        }
        Ok(rb)
    }

    /// Queues what one frame gives the caller and moves the resume position.
    fn accept(&mut self, frame: Frame) {
        match frame {
            Frame::Id(id) => {
                self.resume = Some(id.clone()).filter(|i| !i.is_empty());
                if !id.is_empty() {
                    self.pending.push_back(Pending::Position(id));
                }
            }
            Frame::Message(msg) => {
                self.resume = Some(msg.id.clone()).filter(|i| !i.is_empty());
                match serde_json::from_str::<Event>(&msg.data) {
                    Ok(event) => {
                        if !self.remember(event.id) {
                            return; // sent again after a reconnection: handed out already
                        }
                        let cursor = if msg.id.is_empty() { event.cursor.clone() } else { msg.id };
                        self.pending.push_back(Pending::Event(Box::new(event), cursor));
                    }
                    Err(source) => {
                        let request = format!("GET /v1/events/stream (event `{}`, id `{}`)", msg.event, msg.id);
                        self.pending.push_back(Pending::Failed(ClientError::Decode { request, source }, msg.id));
                    }
                }
            }
        }
    }

    /// Records an event id; returns false when it was seen recently.
    fn remember(&mut self, id: EventId) -> bool {
        if !self.seen.insert(id) {
            return false;
        }
        self.seen_order.push_back(id);
        if self.seen_order.len() > SEEN
            && let Some(old) = self.seen_order.pop_front()
        {
            self.seen.remove(&old);
        }
        true
    }

    fn set_delivered(&self, cursor: String) {
        if !cursor.is_empty() {
            *self.delivered.lock().unwrap_or_else(|e| e.into_inner()) = Some(cursor);
        }
    }

    /// Schedules a reconnection after the next backoff delay.
    fn lose(&mut self, reason: String) {
        let delay = self.backoff.take();
        self.delay = Some(delay);
        self.lost = true;
        self.notify(StreamStatus::Reconnecting { reason, delay });
    }

    fn notify(&mut self, status: StreamStatus) {
        if let Some(f) = self.on_status.as_mut() {
            f(&status);
        }
    }
}

const STREAM_PATH: &str = "/v1/events/stream";

/// Opens a connection and checks that it answers with an event stream.
async fn open(client: &Client, rb: reqwest::RequestBuilder) -> Result<Body, ClientError> {
    let path = STREAM_PATH;
    let resp = client.send(rb).await?;
    let content_type = resp.headers().get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    if !content_type.trim().to_ascii_lowercase().starts_with("text/event-stream") {
        let shown = if content_type.is_empty() { "no content type".to_string() } else { format!("`{content_type}`") };
        return Err(ClientError::Protocol(format!(
            "GET {path} answered with {shown} instead of an event stream (text/event-stream); is something \
             between the client and the server rewriting answers?"
        )));
    }
    Ok(Box::pin(resp.bytes_stream()))
}

/// Whether a failed reconnection is worth trying again.
fn retryable(err: &ClientError) -> bool {
    match err {
        ClientError::Transport(_) => true,
        ClientError::Api { status, .. } => *status >= 500 || *status == 408 || *status == 429,
        ClientError::Decode { .. } | ClientError::InvalidInput(_) | ClientError::Protocol(_) => false,
    }
}

fn describe(err: &ClientError) -> String {
    match err {
        ClientError::Transport(e) => format!("the server cannot be reached ({})", error::root_cause(e)),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_from_half_a_second_to_ten_and_start_over_after_a_success() {
        let mut b = Backoff::new(RECONNECT_MIN, RECONNECT_MAX);
        let ms: Vec<u128> = (0..8).map(|_| b.take().as_millis()).collect();
        assert_eq!(ms, [500, 1000, 2000, 4000, 8000, 10_000, 10_000, 10_000]);
        b.reset();
        assert_eq!(b.take(), RECONNECT_MIN);
    }

    #[test]
    fn only_passing_failures_are_retried() {
        let api = |status: u16| ClientError::Api { status, code: "x".into(), message: "m".into() };
        assert!(retryable(&api(502)) && retryable(&api(503)) && retryable(&api(429)) && retryable(&api(408)));
        assert!(!retryable(&api(401)) && !retryable(&api(404)) && !retryable(&api(400)));
        assert!(!retryable(&ClientError::Protocol("html".into())));
    }

    #[test]
    fn stream_queries_send_only_what_is_set() {
        let c = Client::new("http://127.0.0.1:8025", "k").unwrap();
        let m = MailboxId::new();
        let q = StreamQuery { after: Some("42"), mailbox_id: Some(m), types: Some("message.received,message.sent") };
        let req = c.request(Method::GET, "/v1/events/stream").query(&q).build().unwrap();
        assert_eq!(
            req.url().query().unwrap(),
            format!("after=42&mailbox_id={m}&types=message.received%2Cmessage.sent")
        );
        let q = StreamQuery { after: None, mailbox_id: None, types: None };
        let req = c.request(Method::GET, "/v1/events/stream").query(&q).build().unwrap();
        assert_eq!(req.url().query(), None);
    }
}
