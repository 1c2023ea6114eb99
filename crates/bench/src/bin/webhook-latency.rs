//! SMTP-accepted → webhook-received latency under a steady inbound load.
//!
//! Starts the release `mailroom` binary, a webhook receiver on loopback and an SMTP load of
//! `RATE` messages per second (default 200) for `SECONDS` (default 30) over `SESSIONS`
//! pipelined sessions. For every message the time its `250` arrived is compared with the time
//! its `message.received` webhook reached the receiver. Prints p50, p90, p99 and max against
//! the goal (p99 < 50 ms).
//!
//! ```sh
//! cargo build --release && cargo run --release -p mailroom-bench --bin webhook-latency
//! ```

use mailroom_bench::*;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

type Times = Arc<Mutex<HashMap<String, Instant>>>;

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

async fn reply(r: &mut BufReader<tokio::net::tcp::OwnedReadHalf>) -> anyhow::Result<String> {
    let mut full = String::new();
    loop {
        let mut line = String::new();
        anyhow::ensure!(r.read_line(&mut line).await? > 0, "connection closed");
        full.push_str(&line);
        if line.len() < 4 || line.as_bytes()[3] == b' ' {
            return Ok(full);
        }
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let rate = env_num("RATE", 200);
    let seconds = env_num("SECONDS", 30);
    let sessions = env_num("SESSIONS", 10) as usize;
    let total = (rate * seconds) as usize;

    let dns = nxdomain_dns().await?;
    let server = start_server(&[
        ("MAILROOM_DNS_NAMESERVERS", dns.to_string()),
        ("MAILROOM_WEBHOOKS_ALLOW_PRIVATE_TARGETS", "true".into()),
        ("MAILROOM_DELIVERY_ENABLED", "false".into()),
    ])?;
    let api = mailroom_client::Client::new(&server.url, server.key.clone())?;
    api.create_mailbox(&mailroom_core::api::CreateMailboxRequest { username: "sink".into(), ..Default::default() }).await?;

    // The receiver notes when each message's webhook arrives.
    let received: Times = Arc::default();
    let got = received.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |body: String| {
            let got = got.clone();
            async move {
                let at = Instant::now();
                if let Ok(v) = serde_json::from_str::<serde_json::Value>(&body)
                    && let Some(id) = v["data"]["message_id"].as_str() {
                        got.lock().unwrap().entry(id.to_string()).or_insert(at);
                    }
                axum::http::StatusCode::NO_CONTENT
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let hook = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, app).await });
    let created = api
        .raw_request(
            mailroom_client::Method::POST,
            "/v1/webhooks",
            Some(serde_json::json!({"url": format!("http://{hook}/hook"), "event_types": ["message.received"]})),
            &[],
        )
        .await?;
    anyhow::ensure!(created.status == 201, "could not create the webhook: {}", created.text());

    // The load: each session sends its share at an even pace, recording when 250 came back.
    let acked: Times = Arc::default();
    let per_session = total / sessions;
    let interval = Duration::from_secs_f64(sessions as f64 / rate as f64);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for s in 0..sessions {
        let acked = acked.clone();
        let smtp = server.smtp;
        tasks.push(tokio::spawn(async move {
            let stream = tokio::net::TcpStream::connect(smtp).await?;
            let (r, mut w) = stream.into_split();
            let mut r = BufReader::new(r);
            reply(&mut r).await?;
            w.write_all(b"EHLO bench.test\r\n").await?;
            reply(&mut r).await?;
            let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + interval * s as u32 / sessions as u32, interval);
            for n in 0..per_session {
                tick.tick().await;
                let id = format!("b{s}-{n}@bench.test");
                let msg = format!(
                    "MAIL FROM:<load@bench.test>\r\nRCPT TO:<sink@mailroom.localhost>\r\nDATA\r\nFrom: load@bench.test\r\nTo: sink@mailroom.localhost\r\nSubject: latency {s}/{n}\r\nMessage-ID: <{id}>\r\n\r\n{}\r\n.\r\n",
                    "x".repeat(1024)
                );
                w.write_all(msg.as_bytes()).await?;
                for _ in 0..3 {
                    reply(&mut r).await?;
                }
                let done = reply(&mut r).await?;
                anyhow::ensure!(done.starts_with("250"), "not accepted: {done}");
                acked.lock().unwrap().insert(id, Instant::now());
            }
            anyhow::Ok(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    let load_secs = started.elapsed().as_secs_f64();
    let sent = acked.lock().unwrap().len();
    let deadline = Instant::now() + Duration::from_secs(30);
    while received.lock().unwrap().len() < sent && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let acked = acked.lock().unwrap().clone();
    let received = received.lock().unwrap().clone();
    let mut latencies: Vec<f64> = acked
        .iter()
        .filter_map(|(id, a)| received.get(id).map(|r| r.saturating_duration_since(*a).as_secs_f64() * 1000.0))
        .collect();
    latencies.sort_by(|a, b| a.total_cmp(b));
    let p99 = percentile(&latencies, 99.0);
    println!("webhook latency: SMTP 250 -> webhook received, {rate} msg/s target for {seconds} s over {sessions} sessions");
    println!("machine:   {}", machine());
    println!("achieved:  {:.0} msg/s ({sent} accepted in {load_secs:.1} s), {} webhooks received", sent as f64 / load_secs, latencies.len());
    println!(
        "latency:   p50 {:.1} ms, p90 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        percentile(&latencies, 50.0),
        percentile(&latencies, 90.0),
        p99,
        latencies.last().copied().unwrap_or(f64::NAN)
    );
    println!("goal:      p99 < 50 ms -> p99/goal = {:.2} ({})", p99 / 50.0, if p99 < 50.0 { "met" } else { "NOT met" });
    anyhow::ensure!(latencies.len() == sent, "{} webhooks never arrived", sent - latencies.len());
    Ok(())
}
