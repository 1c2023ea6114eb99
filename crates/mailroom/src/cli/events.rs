//! `mailroom events …`: the site's append-only event log, read once or followed.
//!
//! Following polls `GET /v1/events?after=` every second; it will move to the SSE stream once
//! the server offers it, without changing what is printed.

use super::table::{Table, clip, or_dash, time};
use super::{Ctx, note, out};
use mailroom_client::ClientError;
use mailroom_core::model::Event;
use std::collections::VecDeque;
use std::time::Duration;

/// How many events `tail` shows before following.
const TAIL: usize = 20;
/// The page size used to walk the log (the server's maximum).
const PAGE: u32 = 1000;
/// The pause between two polls when following.
const POLL: Duration = Duration::from_secs(1);

/// `mailroom events <verb>`.
#[derive(Debug, clap::Subcommand)]
pub enum EventsCommand {
    /// List events, oldest first, after a cursor.
    List {
        /// Start after this cursor (an event's cursor, or the one printed after a page).
        #[arg(long, value_name = "CURSOR")]
        after: Option<String>,
        /// How many to show [server default].
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
        limit: Option<u32>,
    },
    /// Show the last 20 events (or all after --after), then with --follow keep printing new
    /// ones until Ctrl-C. With --json, prints one JSON object per line.
    Tail {
        /// Keep watching for new events, polling every second.
        #[arg(long, short)]
        follow: bool,
        /// Print every event after this cursor instead of the last 20.
        #[arg(long, value_name = "CURSOR")]
        after: Option<String>,
    },
}

pub(crate) async fn run(ctx: &Ctx, cmd: EventsCommand) -> anyhow::Result<()> {
    match cmd {
        EventsCommand::List { after, limit } => {
            let page = ctx.client.list_events(after.as_deref(), limit).await?;
            if ctx.json {
                return ctx.print_json(&page);
            }
            if page.items.is_empty() {
                note("No events.");
                return Ok(());
            }
            out(&table(&page.items).render())?;
            if let Some(next) = &page.next_cursor {
                note(&format!("read on with --after {next}"));
            }
            Ok(())
        }
        EventsCommand::Tail { follow, after } => tail(ctx, follow, after).await,
    }
}

async fn tail(ctx: &Ctx, follow: bool, after: Option<String>) -> anyhow::Result<()> {
    let mut cursor = after.clone();
    if after.is_some() {
        drain(ctx, &mut cursor, |e| print_event(ctx, e)).await?;
    } else {
        // The log is read oldest first, so the last events are found by walking to its end.
        let mut last = VecDeque::with_capacity(TAIL + 1);
        drain(ctx, &mut cursor, |e| {
            last.push_back(e.clone());
            if last.len() > TAIL {
                last.pop_front();
            }
            Ok(())
        })
        .await?;
        for e in &last {
            print_event(ctx, e)?;
        }
    }
    if !follow {
        return Ok(());
    }

    note("Following the event log; Ctrl-C to stop.");
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    let mut offline = false;
    loop {
        tokio::select! {
            _ = &mut ctrl_c => break,
            _ = tokio::time::sleep(POLL) => {}
        }
        let polled = tokio::select! {
            _ = &mut ctrl_c => break,
            polled = drain(ctx, &mut cursor, |e| print_event(ctx, e)) => polled,
        };
        match polled {
            Ok(()) if offline => {
                note("The server answers again; following.");
                offline = false;
            }
            Ok(()) => {}
            // A restarting server should not end a long watch: say so once and keep trying.
            Err(err) if matches!(err.downcast_ref::<ClientError>(), Some(ClientError::Transport(_))) => {
                if !offline {
                    note(&format!("warning: {err}; retrying every second"));
                    offline = true;
                }
            }
            Err(err) => return Err(err),
        }
    }
    match &cursor {
        Some(c) => note(&format!("Stopped. Resume with `mailroom events tail --follow --after {c}`.")),
        None => note("Stopped."),
    }
    Ok(())
}

/// Reads every event after `cursor`, page by page, handing each to `each` and moving `cursor`
/// along so the caller can resume exactly where this stopped.
async fn drain(
    ctx: &Ctx,
    cursor: &mut Option<String>,
    mut each: impl FnMut(&Event) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    loop {
        let page = ctx.client.list_events(cursor.as_deref(), Some(PAGE)).await?;
        for e in &page.items {
            each(e)?;
            *cursor = Some(e.cursor.clone());
        }
        // The server always sends `next_cursor` (the same one when nothing is new), so a short
        // page, not a missing cursor, marks the end.
        match page.next_cursor {
            Some(next) if page.items.len() >= PAGE as usize => *cursor = Some(next),
            _ => return Ok(()),
        }
    }
}

fn print_event(ctx: &Ctx, e: &Event) -> anyhow::Result<()> {
    if ctx.json {
        // One object per line, so a follower can be piped into `jq` or a line reader.
        return out(&format!("{}\n", serde_json::to_string(e)?));
    }
    out(&format!("{}\n", line(e)))
}

/// Formats one event on one line for `tail`: time, type, mailbox and the data.
fn line(e: &Event) -> String {
    format!(
        "{}  {:<20}  {:<36}  {}",
        time(&e.created_at),
        e.event_type,
        or_dash(e.mailbox_id.map(|m| m.to_string()).as_deref()),
        summary(&e.data)
    )
    .trim_end()
    .to_string()
}

/// Sums the event's data up on one line: the fields a reader looks for first (which message,
/// which address, what happened), or the compact JSON when none of them is present.
fn summary(data: &serde_json::Value) -> String {
    use serde_json::Value;
    let Value::Object(map) = data else {
        return if data.is_null() { String::new() } else { clip(&data.to_string(), 120) };
    };
    let text = |key: &str| map.get(key).and_then(Value::as_str).filter(|s| !s.is_empty());
    let mut parts: Vec<String> = Vec::new();
    // A message payload has a `direction`; delivery payloads name the message in `message_id`.
    let message = if map.contains_key("direction") {
        text("id")
    } else {
        text("message_id").filter(|id| id.parse::<mailroom_core::MessageId>().is_ok())
    };
    if let Some(id) = message {
        parts.push(format!("message={id}"));
    }
    if let Some(from) = map.get("from").and_then(|f| f.get("address")).and_then(Value::as_str) {
        parts.push(format!("from={from}"));
    }
    for key in ["address", "recipient", "status", "subject", "last_reply"] {
        if let Some(value) = text(key) {
            let value = if value.contains(char::is_whitespace) { format!("{value:?}") } else { value.to_string() };
            parts.push(format!("{key}={value}"));
        }
    }
    if parts.is_empty() && !map.is_empty() {
        return clip(&data.to_string(), 120);
    }
    clip(&parts.join(" "), 160)
}

fn table(events: &[Event]) -> Table {
    let mut t = Table::new(["CURSOR", "TIME (UTC)", "TYPE", "MAILBOX", "DATA"]);
    for e in events {
        t.row(vec![
            e.cursor.clone(),
            time(&e.created_at),
            e.event_type.clone(),
            or_dash(e.mailbox_id.map(|m| m.to_string()).as_deref()),
            summary(&e.data),
        ]);
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(cursor: &str, data: serde_json::Value) -> Event {
        serde_json::from_value(serde_json::json!({
            "id": "0190f5a0-0000-7000-8000-0000000000e1",
            "cursor": cursor,
            "type": "message.received",
            "site_id": "0190f5a0-0000-7000-8000-000000000002",
            "mailbox_id": "0190f5a0-0000-7000-8000-000000000001",
            "data": data,
            "created_at": "2026-01-01T00:00:00Z"
        }))
        .unwrap()
    }

    #[test]
    fn tail_lines_hold_time_type_mailbox_and_data() {
        assert_eq!(
            line(&event("7", serde_json::json!({"address": "bot@example.test", "id": "x"}))),
            "2026-01-01 00:00:00  message.received      0190f5a0-0000-7000-8000-000000000001  address=bot@example.test"
        );
        let mut e = event("8", serde_json::json!({}));
        e.mailbox_id = None;
        assert_eq!(line(&e), "2026-01-01 00:00:00  message.received      -");
    }

    #[test]
    fn message_payloads_are_summed_up_by_id_sender_and_subject() {
        let id = "0190f5a0-0000-7000-8000-00000000000a";
        let data = serde_json::json!({"id": id, "direction": "inbound", "message_id": "abc@x.test",
            "from": {"name": "A", "address": "a@x.test"}, "subject": "Hello there", "text": "long body"});
        assert_eq!(summary(&data), format!("message={id} from=a@x.test subject=\"Hello there\""));
        let delivered = serde_json::json!({"message_id": id, "recipient": "b@x.test", "status": "delivered",
            "last_reply": "250 ok"});
        assert_eq!(
            summary(&delivered),
            format!("message={id} recipient=b@x.test status=delivered last_reply=\"250 ok\"")
        );
    }

    #[test]
    fn unknown_payloads_fall_back_to_clipped_json() {
        assert_eq!(summary(&serde_json::json!({"n": 1})), "{\"n\":1}");
        let s = summary(&serde_json::json!({"text": "x".repeat(500)}));
        assert_eq!(s.chars().count(), 120);
        assert!(s.ends_with('…'));
        assert_eq!(summary(&serde_json::Value::Null), "");
    }

    #[test]
    fn the_list_shows_cursors_to_resume_from() {
        let text = table(&[event("42", serde_json::Value::Null)]).render();
        assert!(text.starts_with("CURSOR  TIME (UTC)"), "{text}");
        assert!(text.lines().nth(1).unwrap().starts_with("42      2026-01-01 00:00:00  message.received"), "{text}");
    }
}
