//! `mailroom events …`: the site's append-only event log, read once or followed.
//!
//! `tail` reads the log with `GET /v1/events` up to its end, then `--follow` switches to the
//! server-sent event stream (`GET /v1/events/stream`) from the last cursor read, so nothing
//! falls between the two. The client reconnects by itself with `Last-Event-ID` when the
//! connection drops; this command only says so.

use super::table::{Table, clip, or_dash, time};
use super::resolve::MailboxRef;
use super::{Ctx, note, out};
use mailroom_client::{ClientError, StreamStatus};
use mailroom_core::ids::MailboxId;
use mailroom_core::model::Event;
use std::collections::VecDeque;

/// How many events `tail` shows before following.
const TAIL: usize = 20;
/// The page size used to walk the log (the server's maximum).
const PAGE: u32 = 1000;

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
    /// ones as they happen until Ctrl-C, which prints the cursor to resume from. With --json,
    /// prints one JSON object per line.
    Tail(TailArgs),
}

/// `mailroom events tail`.
#[derive(Debug, clap::Args)]
pub struct TailArgs {
    /// Keep watching for new events (a live stream that reconnects by itself).
    #[arg(long, short)]
    follow: bool,
    /// Print every event after this cursor instead of the last 20.
    #[arg(long, value_name = "CURSOR")]
    after: Option<String>,
    /// Only events of this mailbox (its id or address).
    #[arg(long, value_name = "MAILBOX")]
    mailbox: Option<MailboxRef>,
    /// `mailbox` looked up, set by `tail` before any event is read.
    #[arg(skip)]
    mailbox_id: Option<MailboxId>,
    /// Only events of this type, such as message.received (repeatable).
    #[arg(long = "type", value_name = "TYPE", value_parser = parse_event_type)]
    types: Vec<String>,
}

impl TailArgs {
    fn matches(&self, e: &Event) -> bool {
        self.mailbox_id.is_none_or(|m| e.mailbox_id == Some(m))
            && (self.types.is_empty() || self.types.contains(&e.event_type))
    }
}

/// Checks a `--type` value: one event type name, since the server gets them comma-separated.
pub(crate) fn parse_event_type(s: &str) -> Result<String, String> {
    let t = s.trim();
    if t.is_empty() || t.contains(',') || t.contains(char::is_whitespace) {
        return Err(format!(
            "`{s}` is not an event type; give one type per --type, e.g. --type message.received --type message.sent"
        ));
    }
    Ok(t.to_string())
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
        EventsCommand::Tail(args) => tail(ctx, args).await,
    }
}

async fn tail(ctx: &Ctx, mut args: TailArgs) -> anyhow::Result<()> {
    if let Some(m) = &args.mailbox {
        args.mailbox_id = Some(m.resolve(&ctx.client).await?);
    }
    let mut cursor = args.after.clone();
    if args.after.is_some() {
        drain(ctx, &mut cursor, |e| if args.matches(e) { print_event(ctx, e) } else { Ok(()) }).await?;
    } else {
        // The log is read oldest first, so the last events are found by walking to its end.
        let mut last = VecDeque::with_capacity(TAIL + 1);
        drain(ctx, &mut cursor, |e| {
            if args.matches(e) {
                last.push_back(e.clone());
                if last.len() > TAIL {
                    last.pop_front();
                }
            }
            Ok(())
        })
        .await?;
        for e in &last {
            print_event(ctx, e)?;
        }
    }
    if !args.follow {
        return Ok(());
    }

    note("Following the event log; Ctrl-C to stop.");
    let types = (!args.types.is_empty()).then(|| args.types.join(","));
    let mut offline = false;
    let mut stream = ctx.client.stream_events(cursor.as_deref(), args.mailbox_id, types.as_deref()).on_status(move |s| {
        if let Some(text) = status_note(s, &mut offline) {
            note(&text);
        }
    });
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    let ended = loop {
        let next = tokio::select! {
            _ = &mut ctrl_c => break None,
            next = stream.next_event() => next,
        };
        match next {
            Some(Ok(e)) => {
                cursor = Some(e.cursor.clone());
                print_event(ctx, &e)?;
            }
            // One event this CLI cannot read (a newer server?): say so and go on.
            Some(Err(err @ ClientError::Decode { .. })) => {
                note(&format!("warning: {err}; skipped"));
                cursor = stream.cursor().or(cursor);
            }
            Some(Err(err)) => break Some(err),
            None => break None,
        }
    };
    note(&resume_hint(cursor.as_deref(), &args, ended.is_none()));
    match ended {
        Some(err) => Err(anyhow::Error::from(err).context("the event stream ended")),
        None => Ok(()),
    }
}

/// Says once that the stream was lost and once that it is back.
fn status_note(status: &StreamStatus, offline: &mut bool) -> Option<String> {
    match status {
        StreamStatus::Reconnecting { reason, .. } if !*offline => {
            *offline = true;
            Some(format!("warning: {reason}; reconnecting (every event will still be shown once)"))
        }
        StreamStatus::Reconnecting { .. } => None,
        StreamStatus::Reconnected { .. } => {
            *offline = false;
            Some("Reconnected; following.".to_string())
        }
    }
}

/// The command that carries on from where this one stopped, filters included.
fn resume_hint(cursor: Option<&str>, args: &TailArgs, stopped: bool) -> String {
    let head = if stopped { "Stopped." } else { "The stream ended." };
    let Some(cursor) = cursor else { return head.to_string() };
    let mut cmd = format!("mailroom events tail --follow --after {cursor}");
    if let Some(m) = &args.mailbox {
        cmd.push_str(&format!(" --mailbox {m}"));
    }
    for t in &args.types {
        cmd.push_str(&format!(" --type {t}"));
    }
    format!("{head} Resume with `{cmd}`.")
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

    fn tail_args(mailbox: Option<MailboxId>, types: &[&str]) -> TailArgs {
        TailArgs {
            follow: true,
            after: None,
            mailbox: mailbox.map(MailboxRef::Id),
            mailbox_id: mailbox,
            types: types.iter().map(|t| t.to_string()).collect(),
        }
    }

    #[test]
    fn the_resume_hint_repeats_the_filters() {
        let m: MailboxId = "0190f5a0-0000-7000-8000-000000000001".parse().unwrap();
        assert_eq!(
            resume_hint(Some("42"), &tail_args(Some(m), &["message.received", "message.sent"]), true),
            format!(
                "Stopped. Resume with `mailroom events tail --follow --after 42 --mailbox {m} --type message.received \
                 --type message.sent`."
            )
        );
        assert_eq!(
            resume_hint(Some("7"), &tail_args(None, &[]), false),
            "The stream ended. Resume with `mailroom events tail --follow --after 7`."
        );
        assert_eq!(resume_hint(None, &tail_args(None, &[]), true), "Stopped.");
    }

    #[test]
    fn filters_apply_to_the_events_read_before_following() {
        let e = event("1", serde_json::Value::Null);
        assert!(tail_args(None, &[]).matches(&e));
        assert!(tail_args(e.mailbox_id, &["message.sent", "message.received"]).matches(&e));
        assert!(!tail_args(Some(MailboxId::new()), &[]).matches(&e));
        assert!(!tail_args(None, &["message.sent"]).matches(&e));
    }

    #[test]
    fn event_types_are_one_per_flag() {
        assert_eq!(parse_event_type(" message.received ").unwrap(), "message.received");
        assert!(parse_event_type("message.received,message.sent").unwrap_err().contains("one type per --type"));
        assert!(parse_event_type("").is_err());
    }

    #[test]
    fn connection_trouble_is_reported_once_until_it_is_over() {
        let mut offline = false;
        let lost =
            StreamStatus::Reconnecting { reason: "the server closed the stream".into(), delay: Default::default() };
        assert_eq!(
            status_note(&lost, &mut offline).as_deref(),
            Some("warning: the server closed the stream; reconnecting (every event will still be shown once)")
        );
        assert_eq!(status_note(&lost, &mut offline), None);
        let back = StreamStatus::Reconnected { after: Some("9".into()) };
        assert_eq!(status_note(&back, &mut offline).as_deref(), Some("Reconnected; following."));
        assert!(status_note(&lost, &mut offline).is_some());
    }

    #[test]
    fn the_list_shows_cursors_to_resume_from() {
        let text = table(&[event("42", serde_json::Value::Null)]).render();
        assert!(text.starts_with("CURSOR  TIME (UTC)"), "{text}");
        assert!(text.lines().nth(1).unwrap().starts_with("42      2026-01-01 00:00:00  message.received"), "{text}");
    }
}
