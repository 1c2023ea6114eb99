//! What an operator watches: log set-up (text or JSON, colours only on a terminal), one
//! access-log line per HTTP request, and the Prometheus metrics at `GET /metrics`.
//!
//! Metrics go through the `metrics` facade, so the protocol crates (SMTP, delivery, webhooks,
//! the engine) record with one macro call and need no handle; this module installs the
//! Prometheus recorder once per process and renders it. Gauges that describe stored state
//! (queue depth, oldest queued message, webhook backlog) are read from the store at scrape
//! time, so every node of a shared database reports the same, true values.

use anyhow::Context as _;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use mailroom_api::auth::KeySlot;
use mailroom_engine::Engine;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use std::sync::OnceLock;
use std::time::Instant;

/// Histogram buckets in seconds, from a millisecond to two minutes.
const BUCKETS: &[f64] = &[0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0];

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the Prometheus recorder (once per process) and returns its handle.
pub fn metrics_handle() -> PrometheusHandle {
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new().set_buckets(BUCKETS).expect("the bucket list is not empty").build_recorder();
            let handle = recorder.handle();
            // Another recorder (a test harness's) may be installed already: then this handle
            // renders nothing, which the metrics test would notice.
            let _ = metrics::set_global_recorder(recorder);
            describe();
            handle
        })
        .clone()
}

fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram};
    describe_counter!("mailroom_smtp_connections_total", "SMTP connections accepted.");
    describe_counter!("mailroom_smtp_transactions_total", "SMTP transactions that reached the end of DATA, by reply class (2xx, 4xx, 5xx).");
    describe_counter!("mailroom_smtp_refusals_total", "SMTP refusals (4xx and 5xx replies) by the command they answer (CONNECT, EHLO, MAIL, RCPT, DATA, STARTTLS, AUTH, OTHER) and class.");
    describe_counter!("mailroom_messages_received_total", "Messages stored as received (one per recipient mailbox).");
    describe_counter!("mailroom_messages_sent_total", "Messages sent from a mailbox (API, tools, MCP, replies, forwards).");
    describe_counter!("mailroom_messages_delivered_total", "Outbound recipients delivered (locally or to a remote server).");
    describe_counter!("mailroom_messages_bounced_total", "Outbound recipients that bounced.");
    describe_counter!("mailroom_messages_imported_total", "Messages imported from mbox, Maildir or .eml files.");
    describe_counter!("mailroom_api_requests_total", "HTTP requests answered, by method, route template and status.");
    describe_counter!("mailroom_webhook_deliveries_total", "Webhook delivery attempts, by outcome (succeeded, retrying, failed).");
    describe_counter!("mailroom_tool_runs_total", "Agent email tool runs, by tool and decision.");
    describe_histogram!("mailroom_api_request_duration_seconds", metrics::Unit::Seconds, "Time to answer an HTTP request (to the response head).");
    describe_histogram!("mailroom_smtp_store_duration_seconds", metrics::Unit::Seconds, "Time from the end of DATA to the message being stored and 250 sent.");
    describe_histogram!("mailroom_delivery_attempt_duration_seconds", metrics::Unit::Seconds, "Duration of one outbound delivery attempt to one destination.");
    describe_histogram!("mailroom_webhook_duration_seconds", metrics::Unit::Seconds, "Time a webhook endpoint took to answer.");
    describe_gauge!("mailroom_queue_depth", "Outbound recipients waiting: queued, sending or deferred.");
    describe_gauge!("mailroom_queue_oldest_age_seconds", "Age of the oldest message with a recipient still waiting (0 when none).");
    describe_gauge!("mailroom_webhook_backlog", "Webhook deliveries waiting for their first or next attempt.");
    // Counters without labels exist from the start, so a scrape shows them at 0.
    for name in [
        "mailroom_smtp_connections_total",
        "mailroom_messages_received_total",
        "mailroom_messages_sent_total",
        "mailroom_messages_delivered_total",
        "mailroom_messages_bounced_total",
        "mailroom_messages_imported_total",
    ] {
        metrics::counter!(name).increment(0);
    }
}

/// Sets up logging: the filter from `RUST_LOG` or `log_level` (MCP's library chatter held to
/// warnings unless the filter names it), text or JSON lines on stderr, colours only when
/// stderr is a terminal.
pub fn init_logging(log_level: &str, format: &str) -> anyhow::Result<()> {
    use std::io::IsTerminal as _;
    let directives = std::env::var("RUST_LOG").ok().filter(|f| !f.trim().is_empty()).unwrap_or_else(|| log_level.to_string());
    let directives = if directives.contains("rmcp") { directives } else { format!("{directives},rmcp=warn") };
    let filter = tracing_subscriber::EnvFilter::try_new(&directives).with_context(|| format!("`{directives}` (log_level or RUST_LOG) is not a valid log filter"))?;
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    if format == "json" {
        builder.json().flatten_event(true).with_current_span(false).with_span_list(false).init();
    } else {
        builder.with_ansi(std::io::stderr().is_terminal()).init();
    }
    Ok(())
}

/// Logs one line per HTTP request (method, route template, status, latency, key id; never
/// the key itself) and counts it with its latency.
pub async fn access_log(mut req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().clone();
    let route = req.extensions().get::<MatchedPath>().map(|p| p.as_str().to_string()).unwrap_or_else(|| "unmatched".to_string());
    let slot = KeySlot::default();
    req.extensions_mut().insert(slot.clone());
    let response = next.run(req).await;
    let elapsed = started.elapsed();
    let status = response.status().as_u16();
    let key_id = slot.0.get().map(String::as_str).unwrap_or("-");
    tracing::info!(
        target: "mailroom::access",
        method = %method,
        route = route.as_str(),
        status,
        latency_ms = elapsed.as_secs_f64() * 1000.0,
        key_id,
        "http request"
    );
    let labels = [("method", method.to_string()), ("route", metric_route(&route)), ("status", status.to_string())];
    metrics::counter!("mailroom_api_requests_total", &labels).increment(1);
    metrics::histogram!("mailroom_api_request_duration_seconds", &labels[..2]).record(elapsed.as_secs_f64());
    response
}

/// Writes a route template's parameters as `:id` rather than `{id}` in metric labels: braces
/// inside label values are valid Prometheus text, but several parsers read them as the end
/// of the label set.
fn metric_route(route: &str) -> String {
    route.replace('{', ":").replace('}', "")
}

/// The `/metrics` route, to merge into the HTTP router or serve on a listener of its own.
pub fn router(engine: Engine) -> axum::Router {
    metrics_handle();
    axum::Router::new().route("/metrics", get(render)).with_state(engine)
}

/// Adds `/metrics` to the HTTP router, or (with `metrics.addr`) starts a listener of its own
/// and returns its address.
pub async fn serve_metrics(
    config: &crate::config::Config,
    engine: &Engine,
    app: &mut axum::Router,
    tasks: &mut Vec<tokio::task::JoinHandle<()>>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> anyhow::Result<Option<std::net::SocketAddr>> {
    if !config.metrics.enabled {
        return Ok(None);
    }
    let addr = config.metrics.addr.trim();
    if addr.is_empty() {
        *app = std::mem::take(app).merge(router(engine.clone()));
        return Ok(None);
    }
    let listener = tokio::net::TcpListener::bind(addr).await.with_context(|| format!("could not listen for metrics on {addr} (in use? set metrics.addr)"))?;
    let local = listener.local_addr()?;
    let metrics_app = router(engine.clone());
    tasks.push(tokio::spawn(async move {
        let done = async move {
            let _ = stop.wait_for(|s| *s).await;
        };
        if let Err(e) = axum::serve(listener, metrics_app).with_graceful_shutdown(done).await {
            tracing::error!(error = %e, "the metrics listener failed");
        }
    }));
    Ok(Some(local))
}

async fn render(State(engine): State<Engine>) -> Response {
    let handle = metrics_handle();
    if let Err(e) = refresh_gauges(&engine).await {
        tracing::warn!(error = %e, "could not read the queue for the metrics gauges");
    }
    handle.run_upkeep();
    let mut response = handle.render().into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"));
    *response.status_mut() = StatusCode::OK;
    response
}

async fn refresh_gauges(engine: &Engine) -> anyhow::Result<()> {
    let b = engine.backlog().await?;
    metrics::gauge!("mailroom_queue_depth").set(b.queue_depth as f64);
    metrics::gauge!("mailroom_queue_oldest_age_seconds").set(b.oldest_queued_secs);
    metrics::gauge!("mailroom_webhook_backlog").set(b.webhook_backlog as f64);
    Ok(())
}

/// Returns the reply class of an SMTP reply code, such as `2xx`.
pub fn reply_class(code: u16) -> &'static str {
    match code {
        200..=299 => "2xx",
        400..=499 => "4xx",
        _ => "5xx",
    }
}
