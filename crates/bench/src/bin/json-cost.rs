//! What writing one listing page as JSON costs (issue 13): 20 messages shaped like those
//! `bench/api-send.sh` lists (5 KB CRLF text body, its extracted text, headers), written with
//! serde_json and with the response writer the API uses, on one thread.
//!
//! ```sh
//! cargo run --release -p mailroom-bench --bin json-cost      # ROUNDS=2000 by default
//! ```

use std::time::Instant;

fn message(i: usize) -> mailroom_core::Message {
    let line = "La La La La La La La La La La La La La La La La La La La La La La La \"La\" La\r\n";
    let text = format!("{i}\r\n") + &line.repeat(5120 / line.len());
    let headers: Vec<_> = (0..12)
        .map(|h| serde_json::json!({"name": format!("X-Header-{h}"), "value": "from mail.example.test (mail.example.test [192.0.2.1]) by mx; Sun, 6 Dec 2026 10:00:00 +0000"}))
        .collect();
    serde_json::from_value(serde_json::json!({
        "id": mailroom_core::MessageId::new(), "site_id": mailroom_core::SiteId::new(), "mailbox_id": mailroom_core::MailboxId::new(),
        "thread_id": mailroom_core::ThreadId::new(), "direction": "inbound", "read": false, "size": 5300,
        "created_at": mailroom_core::now(), "snippet": "La La La La La La La La La La", "subject": "Hello from smtp-source",
        "from": {"address": "sender@example.test", "name": "Sender"}, "to": [{"address": "sink@mailroom.localhost"}],
        "text": text, "extracted_text": text, "headers": headers, "labels": ["received"],
        "auth_results": {"spf": "none", "dkim": "none", "dmarc": "none"},
    }))
    .unwrap()
}

fn time(rounds: u32, mut f: impl FnMut() -> usize) -> (f64, usize) {
    let mut len = 0;
    let start = Instant::now();
    for _ in 0..rounds {
        len = std::hint::black_box(f());
    }
    (start.elapsed().as_secs_f64() * 1e6 / f64::from(rounds), len)
}

fn main() {
    let page: Vec<_> = (0..20).map(message).collect();
    let rounds: u32 = std::env::var("ROUNDS").ok().and_then(|v| v.parse().ok()).unwrap_or(2000);
    let a = serde_json::to_vec(&page).unwrap();
    let b = sonic_rs::to_vec(&page).unwrap();
    assert!(a == b, "the two writers disagree");
    let (serde, len) = time(rounds, || serde_json::to_vec(&page).unwrap().len());
    let (sonic, _) = time(rounds, || sonic_rs::to_vec(&page).unwrap().len());
    println!("one listing page of 20 messages, {len} bytes of JSON, one thread:");
    println!("  {serde:8.1} µs  serde_json");
    println!("  {sonic:8.1} µs  sonic-rs");
}
