//! What reply extraction and the security checks cost per message at ingest (issue 18), on the
//! body `bench/smtp-ingest.sh` sends (smtp-source: 5 KB of plain text) and on a 20 KB HTML
//! reply, on one thread. The end-to-end figure is `bench/smtp-ingest.sh` with and without it
//! (see bench/RESULTS.md).
//!
//! ```sh
//! cargo run --release -p mailroom-bench --bin reading-cost      # ROUNDS=5000 by default
//! ```

use mailroom_core::reading;
use std::time::Instant;

fn message(text: Option<String>, html: Option<String>) -> mailroom_core::Message {
    let raw = "From: a@b.test\r\nTo: c@d.test\r\nSubject: x\r\n\r\nx\r\n";
    let p = mailroom_core::mime::parse(raw.as_bytes()).unwrap();
    let mut m: mailroom_core::Message = serde_json::from_value(serde_json::json!({
        "id": mailroom_core::MessageId::new(), "site_id": mailroom_core::SiteId::new(), "mailbox_id": mailroom_core::MailboxId::new(),
        "thread_id": mailroom_core::ThreadId::new(), "direction": "inbound", "read": false, "size": 100,
        "created_at": mailroom_core::now(), "snippet": p.snippet,
    }))
    .unwrap();
    m.subject = Some("Re: Quarterly figures".into());
    m.text = text;
    m.html = html;
    m
}

fn per_message(m: &mailroom_core::Message, n: u32) -> f64 {
    let start = Instant::now();
    for _ in 0..n {
        let mut x = m.clone();
        reading::annotate(&mut x);
        std::hint::black_box(&x);
    }
    start.elapsed().as_secs_f64() * 1e6 / f64::from(n)
}

fn main() {
    let line = "La La La La La La La La La La La La La La La La La La La La La La La La La La La\n";
    let text = line.repeat(5120 / line.len());
    let plain = message(Some(text), None);
    let quote = "<div>".to_string() + &"Earlier text of the conversation, quoted in full. ".repeat(300) + "</div>";
    let html = format!("<div dir=\"ltr\">Thanks, see below.</div><div class=\"gmail_quote\"><div class=\"gmail_attr\">On Mon, Mar 4, 2024 at 9:12 AM Ana &lt;ana@x.test&gt; wrote:</div><blockquote>{quote}</blockquote></div>");
    let rich = message(Some("Thanks, see below.\n\nOn Mon, Mar 4, 2024 at 9:12 AM Ana <ana@x.test> wrote:\n> old\n".repeat(40)), Some(html));
    let business = message(
        Some("Hi Sam,\n\nThanks for the update on the Q3 numbers. I had a look at the spreadsheet you sent over and I think we are \
              mostly aligned, but a few items need attention before Friday's meeting with the board. Can you check whether the new \
              contracts signed in August were included, and send me the corrected version when you can? Let me know if the \
              assistant in finance needs anything from me.\n\n"
            .repeat(12)
            + "Best regards,\nAlex\n"),
        None,
    );
    let rounds: u32 = std::env::var("ROUNDS").ok().and_then(|v| v.parse().ok()).unwrap_or(5000);
    per_message(&plain, 200);
    let a = per_message(&plain, rounds);
    let b = per_message(&rich, (rounds / 5).max(1));
    let c = per_message(&business, rounds);
    println!("reading cost per message (reply extraction and security checks, one thread):");
    println!("  {a:8.1} µs  the 5 KB plain-text body bench/smtp-ingest.sh sends (smtp-source)");
    println!("  {b:8.1} µs  a 20 KB HTML reply with a text part and quoted history");
    println!("  {c:8.1} µs  a 5 KB plain-text business email (no flags)");
}
