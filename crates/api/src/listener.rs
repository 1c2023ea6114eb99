//! The HTTP listener: hyper (HTTP/1.1) serving the router, with the limits `axum::serve`
//! cannot set.
//!
//! - A header read timeout: a client that does not finish a request's headers in time (the
//!   slowloris attack) has its connection closed.
//! - A body read timeout: a request body not received in time fails with 408.
//! - Each request carries the client's address as `axum::extract::ConnectInfo<SocketAddr>`.
//! - A cap on open connections per client address (an IPv6 /64 counts as one), so one address
//!   cannot hold every socket; past it the connection gets a 503 in the project's error shape
//!   and is closed.
//!
//! On shutdown the listener closes, idle connections close at once and requests in flight
//! finish (long-lived answers end on the application's shutdown signal).

use axum::Router;
use axum::body::Body;
use axum::http::Request;
use bytes::Bytes;
use http_body::{Body as HttpBody, Frame, SizeHint};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, Ipv6Addr};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio::time::{Instant, Sleep};
use tower::ServiceExt;

/// Limits of the HTTP listener.
#[derive(Debug, Clone, Copy)]
pub struct HttpLimits {
    /// Time to receive a request's headers (`http.header_read_timeout_secs`).
    pub header_read_timeout: Duration,
    /// Time to receive a request's body, from the end of its headers
    /// (`http.body_read_timeout_secs`).
    pub body_read_timeout: Duration,
    /// Open connections per client address (`http.max_connections_per_ip`); 0: no limit.
    pub max_connections_per_ip: usize,
}

impl Default for HttpLimits {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(30),
            body_read_timeout: Duration::from_secs(300),
            max_connections_per_ip: 512,
        }
    }
}

/// The error a body read past [`HttpLimits::body_read_timeout`] fails with.
#[derive(Debug, Clone, Copy)]
pub struct BodyTimeout;

impl std::fmt::Display for BodyTimeout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(BODY_TIMEOUT_MESSAGE)
    }
}

impl std::error::Error for BodyTimeout {}

/// The text of [`BodyTimeout`], also used to recognise it once axum has wrapped it.
pub const BODY_TIMEOUT_MESSAGE: &str = "the request body was not received in time (http.body_read_timeout_secs)";

/// Tells whether `err` (or one of its sources) is a [`BodyTimeout`].
pub fn is_body_timeout(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut next = Some(err);
    while let Some(e) = next {
        if e.is::<BodyTimeout>() || e.to_string().contains(BODY_TIMEOUT_MESSAGE) {
            return true;
        }
        next = e.source();
    }
    false
}

pin_project_lite::pin_project! {
    /// A request body that fails with [`BodyTimeout`] once its deadline passes.
    struct TimedBody {
        #[pin]
        inner: Incoming,
        #[pin]
        deadline: Sleep,
        expired: bool,
    }
}

impl HttpBody for TimedBody {
    type Data = Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.project();
        if *this.expired {
            return Poll::Ready(None);
        }
        match this.inner.poll_frame(cx) {
            Poll::Ready(frame) => Poll::Ready(frame.map(|f| f.map_err(Into::into))),
            Poll::Pending => match this.deadline.poll(cx) {
                Poll::Ready(()) => {
                    *this.expired = true;
                    Poll::Ready(Some(Err(Box::new(BodyTimeout))))
                }
                Poll::Pending => Poll::Pending,
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        self.expired || self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// Counts open connections per client address.
struct PerIp {
    max: usize,
    open: Mutex<HashMap<IpAddr, usize>>,
}

/// Holds one connection's place in its address's count.
struct IpSlot {
    per_ip: Arc<PerIp>,
    key: IpAddr,
}

impl PerIp {
    fn admit(self: &Arc<Self>, ip: IpAddr) -> Option<IpSlot> {
        let key = match ip {
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => IpAddr::V4(v4),
                None => IpAddr::V6(Ipv6Addr::from((u128::from(v6) >> 64) << 64)),
            },
            v4 => v4,
        };
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        let count = open.entry(key).or_insert(0);
        if self.max > 0 && *count >= self.max {
            return None;
        }
        *count += 1;
        Some(IpSlot { per_ip: self.clone(), key })
    }
}

impl Drop for IpSlot {
    fn drop(&mut self) {
        let mut open = self.per_ip.open.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(count) = open.get_mut(&self.key) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.key);
            }
        }
    }
}

/// The whole answer to a connection past the per-address cap.
fn too_many_connections() -> String {
    let body = r#"{"error":{"code":"too_many_connections","message":"too many open connections from your address (http.max_connections_per_ip); close some and retry"}}"#;
    format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\nconnection: close\r\nretry-after: 1\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
}

/// Serves `app` on `listener` until `shutdown` completes, then lets open requests finish.
pub async fn serve(listener: TcpListener, app: Router, limits: HttpLimits, shutdown: impl Future<Output = ()> + Send + 'static) {
    let per_ip = Arc::new(PerIp {
        max: limits.max_connections_per_ip,
        open: Mutex::new(HashMap::new()),
    });
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut connections = JoinSet::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, remote) = tokio::select! {
            () = &mut shutdown => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Usually out of file descriptors: back off instead of spinning.
                    tracing::warn!(error = %e, "HTTP accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let Some(slot) = per_ip.admit(remote.ip()) else {
            tracing::debug!(%remote, "HTTP connection refused: too many from this address");
            // A fresh socket's send buffer is empty, so this does not block.
            let _ = stream.try_write(too_many_connections().as_bytes());
            continue;
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let mut stop = stop_rx.clone();
        connections.spawn(async move {
            let _slot = slot;
            let body_timeout = limits.body_read_timeout;
            let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                let app = app.clone();
                let mut req = req;
                // What `into_make_service_with_connect_info` gives: handlers and layers can
                // read the client's address.
                req.extensions_mut().insert(axum::extract::ConnectInfo(remote));
                let req = req.map(|inner| {
                    Body::new(TimedBody {
                        inner,
                        deadline: tokio::time::sleep_until(Instant::now() + body_timeout),
                        expired: false,
                    })
                });
                app.oneshot(req)
            });
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(limits.header_read_timeout)
                .keep_alive(true);
            let conn = builder.serve_connection(TokioIo::new(stream), service);
            let mut conn = std::pin::pin!(conn);
            let result = tokio::select! {
                result = conn.as_mut() => result,
                () = async { let _ = stop.wait_for(|s| *s).await; } => {
                    conn.as_mut().graceful_shutdown();
                    conn.await
                }
            };
            if let Err(e) = result {
                tracing::debug!(%remote, error = %e, "HTTP connection ended with an error");
            }
        });
    }
    drop(listener);
    let _ = stop_tx.send(true);
    while connections.join_next().await.is_some() {}
}
