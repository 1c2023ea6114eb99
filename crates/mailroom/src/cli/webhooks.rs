//! `mailroom webhooks …`: endpoints that receive the site's events as signed HTTP POSTs
//! (Standard Webhooks). The signing secret is shown twice only: on create and on rotation.

use super::events::parse_event_type;
use super::table::{Table, clip, fields, or_dash, time, time_utc};
use super::resolve::MailboxRef;
use super::{Ctx, Usage, next_page_note, note, out};
use mailroom_core::api::{CreateWebhookRequest, ReplayResponse, UpdateWebhookRequest, WebhookWithSecret};
use mailroom_core::ids::{MailboxId, SiteId, WebhookId};
use mailroom_core::model::{WebhookDelivery, WebhookEndpoint};

/// `mailroom webhooks <verb>`.
#[derive(Debug, clap::Subcommand)]
pub enum WebhooksCommand {
    /// Create an endpoint and print its signing secret (shown only this once).
    Create(CreateArgs),
    /// List the webhook endpoints.
    List,
    /// Show an endpoint (never its secret).
    Get {
        /// The endpoint's id.
        id: WebhookId,
    },
    /// Change an endpoint's URL, event types, mailbox filter, description, or turn it on or
    /// off.
    Update(UpdateArgs),
    /// Delete an endpoint and its deliveries.
    Delete {
        /// The endpoint's id.
        id: WebhookId,
    },
    /// Issue a new signing secret and print it (shown only this once); the previous one keeps
    /// signing beside it for a while, so receivers can switch without losing a delivery.
    RotateSecret {
        /// The endpoint's id.
        id: WebhookId,
    },
    /// List an endpoint's deliveries, newest first, with their last attempt (--json for every
    /// attempt).
    Deliveries {
        /// The endpoint's id.
        id: WebhookId,
        /// How many to show, 1-100 [server default: 50].
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..=100))]
        limit: Option<u32>,
        /// The cursor printed after the previous page.
        #[arg(long)]
        cursor: Option<String>,
    },
    /// Send the endpoint's events after a cursor again: events it never got are queued,
    /// events already sent are sent again (same webhook-id, so receivers can deduplicate).
    Replay {
        /// The endpoint's id.
        id: WebhookId,
        /// Replay the events after this event cursor [default: from the start of the log].
        #[arg(long, value_name = "CURSOR")]
        after: Option<String>,
    },
}

/// `mailroom webhooks create`.
///
/// The endpoint's URL is a positional argument because `--url` is the server's address, as
/// in every command. (Clap also hides a global flag from a subcommand that has an argument
/// with the same id, hence `endpoint_url` as the field name here and in `update`.)
#[derive(Debug, clap::Args)]
pub struct CreateArgs {
    /// Where events are POSTed: an https:// (or http://) URL of a public host.
    #[arg(value_name = "ENDPOINT_URL")]
    endpoint_url: String,
    /// Send only events of this type, such as message.received (repeatable) [default: all].
    #[arg(long = "event", value_name = "TYPE", value_parser = parse_event_type)]
    events: Vec<String>,
    /// Send only events of this mailbox (its id or address).
    #[arg(long, value_name = "MAILBOX")]
    mailbox: Option<MailboxRef>,
    /// A note for humans.
    #[arg(long)]
    description: Option<String>,
    /// Create it turned off: nothing is sent until `webhooks update ID --enable`.
    #[arg(long)]
    disabled: bool,
    /// Admin key only: the site whose events are sent [default: the default site].
    #[arg(long, value_name = "ID")]
    site_id: Option<SiteId>,
}

/// `mailroom webhooks update`.
#[derive(Debug, clap::Args)]
pub struct UpdateArgs {
    /// The endpoint's id.
    id: WebhookId,
    /// The new URL events are POSTed to (`--url` is the server's address).
    #[arg(long, value_name = "URL")]
    endpoint_url: Option<String>,
    /// Send only events of these types from now on (repeatable; replaces the list).
    #[arg(long = "event", value_name = "TYPE", value_parser = parse_event_type, conflicts_with = "all_events")]
    events: Vec<String>,
    /// Send events of every type.
    #[arg(long)]
    all_events: bool,
    /// Send only events of this mailbox (its id or address).
    #[arg(long, value_name = "MAILBOX", conflicts_with = "all_mailboxes")]
    mailbox: Option<MailboxRef>,
    /// Send events of every mailbox (removes the mailbox filter).
    #[arg(long)]
    all_mailboxes: bool,
    /// A new note for humans; an empty one removes it.
    #[arg(long)]
    description: Option<String>,
    /// Turn the endpoint on (again), clearing why it was turned off.
    #[arg(long, conflicts_with = "disable")]
    enable: bool,
    /// Turn the endpoint off; its pending deliveries fail.
    #[arg(long)]
    disable: bool,
}

pub(crate) async fn run(ctx: &Ctx, cmd: WebhooksCommand) -> anyhow::Result<()> {
    match cmd {
        WebhooksCommand::Create(args) => {
            let mailbox = resolve_mailbox(ctx, args.mailbox.as_ref()).await?;
            let created = ctx.client.create_webhook(&create_request(args, mailbox)).await?;
            print_with_secret(ctx, &created, false)
        }
        WebhooksCommand::List => {
            let page = ctx.client.list_webhooks().await?;
            if ctx.json {
                return ctx.print_json(&page);
            }
            if page.items.is_empty() {
                note("No webhook endpoints. Add one with `mailroom webhooks create ENDPOINT_URL`.");
                return Ok(());
            }
            out(&table(&page.items).render())
        }
        WebhooksCommand::Get { id } => {
            let endpoint = ctx.client.get_webhook(id).await?;
            if ctx.json {
                return ctx.print_json(&endpoint);
            }
            out(&details(&endpoint))
        }
        WebhooksCommand::Update(args) => {
            let id = args.id;
            let mailbox = resolve_mailbox(ctx, args.mailbox.as_ref()).await?;
            let endpoint = ctx.client.update_webhook(id, &update_request(args, mailbox)?).await?;
            if ctx.json {
                return ctx.print_json(&endpoint);
            }
            out(&details(&endpoint))
        }
        WebhooksCommand::Delete { id } => {
            ctx.client.delete_webhook(id).await?;
            if !ctx.json {
                note(&format!("Deleted webhook endpoint {id}."));
            }
            Ok(())
        }
        WebhooksCommand::RotateSecret { id } => {
            let rotated = ctx.client.rotate_webhook_secret(id).await?;
            print_with_secret(ctx, &rotated, true)
        }
        WebhooksCommand::Deliveries { id, limit, cursor } => {
            let page = ctx.client.list_webhook_deliveries(id, cursor.as_deref(), limit).await?;
            if ctx.json {
                return ctx.print_json(&page);
            }
            if page.items.is_empty() {
                note("No deliveries yet.");
                return Ok(());
            }
            out(&deliveries_table(&page.items).render())?;
            next_page_note(page.next_cursor.as_deref(), "--cursor");
            Ok(())
        }
        WebhooksCommand::Replay { id, after } => {
            let report = ctx.client.replay_webhook(id, after.as_deref()).await?;
            if ctx.json {
                return ctx.print_json(&report);
            }
            out(&replay_text(&report, after.as_deref()))?;
            if let Some(next) = &report.next_cursor {
                note(&format!(
                    "The replay stopped at its limit; continue with `mailroom webhooks replay {id} --after {next}`."
                ));
            }
            Ok(())
        }
    }
}

/// The id of the mailbox a `--mailbox` names, looked up when it is an address.
async fn resolve_mailbox(ctx: &Ctx, mailbox: Option<&MailboxRef>) -> anyhow::Result<Option<MailboxId>> {
    match mailbox {
        Some(m) => Ok(Some(m.resolve(&ctx.client).await?)),
        None => Ok(None),
    }
}

/// Builds the POST body; `mailbox` is `args.mailbox` resolved to its id.
fn create_request(args: CreateArgs, mailbox: Option<MailboxId>) -> CreateWebhookRequest {
    CreateWebhookRequest {
        url: args.endpoint_url,
        event_types: (!args.events.is_empty()).then_some(args.events),
        mailbox_id: mailbox,
        description: args.description,
        enabled: args.disabled.then_some(false),
        site_id: args.site_id,
    }
}

/// Builds the PATCH body, refusing a request that would change nothing; `mailbox` is
/// `args.mailbox` resolved to its id.
fn update_request(args: UpdateArgs, mailbox: Option<MailboxId>) -> Result<UpdateWebhookRequest, Usage> {
    let req = UpdateWebhookRequest {
        url: args.endpoint_url,
        event_types: match (args.all_events, args.events.is_empty()) {
            (true, _) => Some(Vec::new()),
            (false, false) => Some(args.events),
            (false, true) => None,
        },
        mailbox_id: match (args.all_mailboxes, mailbox) {
            (true, _) => Some(None),
            (false, Some(m)) => Some(Some(m)),
            (false, None) => None,
        },
        description: args.description.map(|d| Some(d).filter(|d| !d.trim().is_empty())),
        enabled: match (args.enable, args.disable) {
            (true, _) => Some(true),
            (_, true) => Some(false),
            _ => None,
        },
    };
    if req == UpdateWebhookRequest::default() {
        return Err(Usage::new(
            "nothing to change",
            "pass --endpoint-url, --event, --all-events, --mailbox, --all-mailboxes, --description, --enable or --disable",
        ));
    }
    Ok(req)
}

/// Prints an endpoint with its secret, which the reader must keep now.
fn print_with_secret(ctx: &Ctx, answer: &WebhookWithSecret, rotated: bool) -> anyhow::Result<()> {
    if ctx.json {
        ctx.print_json(answer)?;
    } else {
        out(&format!("{}\n{}", details(&answer.endpoint), secret_block(&answer.secret)))?;
    }
    note(&secret_note(&answer.endpoint, rotated));
    Ok(())
}

fn secret_block(secret: &str) -> String {
    format!("signing secret (shown only now):\n\n    {secret}\n\n")
}

fn secret_note(e: &WebhookEndpoint, rotated: bool) -> String {
    let mut text = "Store the signing secret now: it is not shown again. Receivers verify each delivery with it \
                    (Standard Webhooks: webhook-id, webhook-timestamp and webhook-signature headers)."
        .to_string();
    if rotated {
        match &e.previous_secret_expires_at {
            Some(until) => text.push_str(&format!(
                " The previous secret keeps signing beside the new one until {}; switch your receivers before then.",
                time_utc(until)
            )),
            None => text.push_str(" The previous secret no longer signs."),
        }
    } else {
        text.push_str(&format!(" A lost secret is replaced with `mailroom webhooks rotate-secret {}`.", e.id));
    }
    text
}

/// The endpoint's event filter: `all` or the types.
fn events_of(e: &WebhookEndpoint) -> String {
    if e.event_types.is_empty() { "all".to_string() } else { e.event_types.join(", ") }
}

/// `enabled`, `failing`, `disabled` or `disabled (why)`.
fn state(e: &WebhookEndpoint) -> String {
    match (&e.enabled, &e.disabled_reason, &e.failing_since) {
        (false, Some(reason), _) => format!("disabled ({reason})"),
        (false, None, _) => "disabled".to_string(),
        (true, _, Some(_)) => "failing".to_string(),
        (true, _, None) => "enabled".to_string(),
    }
}

fn table(endpoints: &[WebhookEndpoint]) -> Table {
    let mut t = Table::new(["ID", "URL", "EVENTS", "MAILBOX", "STATE", "CREATED (UTC)"]);
    for e in endpoints {
        t.row(vec![
            e.id.to_string(),
            clip(&e.url, 60),
            clip(&events_of(e), 40),
            or_dash(e.mailbox_id.map(|m| m.to_string()).as_deref()),
            state(e),
            time(&e.created_at),
        ]);
    }
    t
}

fn details(e: &WebhookEndpoint) -> String {
    let mut pairs: Vec<(&str, String)> = vec![
        ("id", e.id.to_string()),
        ("site", e.site_id.to_string()),
        ("url", e.url.clone()),
        ("events", events_of(e)),
        ("mailbox", e.mailbox_id.map(|m| m.to_string()).unwrap_or_else(|| "all".to_string())),
        ("description", or_dash(e.description.as_deref())),
        ("state", state(e)),
    ];
    if let Some(since) = &e.failing_since {
        pairs.push(("failing since", time_utc(since)));
    }
    if let Some(until) = &e.previous_secret_expires_at {
        pairs.push(("old secret until", time_utc(until)));
    }
    pairs.push(("created", time_utc(&e.created_at)));
    pairs.push(("updated", time_utc(&e.updated_at)));
    fields(&pairs)
}

/// Sums up the last attempt of a delivery: the answer and how long it took, or what failed.
fn last_attempt(d: &WebhookDelivery) -> String {
    let Some(a) = d.history.last() else { return "-".to_string() };
    match (a.status_code, &a.error) {
        (Some(code), _) => format!("HTTP {code} in {} ms", a.latency_ms),
        (None, Some(error)) => clip(&format!("{error} ({} ms)", a.latency_ms), 60),
        (None, None) => format!("no answer ({} ms)", a.latency_ms),
    }
}

fn deliveries_table(deliveries: &[WebhookDelivery]) -> Table {
    let mut t =
        Table::new(["ID", "CURSOR", "TYPE", "STATUS", "ATTEMPTS", "LAST ATTEMPT", "NEXT (UTC)", "CREATED (UTC)"]);
    for d in deliveries {
        t.row(vec![
            d.id.to_string(),
            d.event_cursor.clone(),
            d.event_type.clone(),
            d.status.as_str().to_string(),
            d.attempts.to_string(),
            last_attempt(d),
            d.next_attempt_at.as_ref().map(time).unwrap_or_else(|| "-".to_string()),
            time(&d.created_at),
        ]);
    }
    t
}

fn replay_text(r: &ReplayResponse, after: Option<&str>) -> String {
    let from = match after {
        Some(c) => format!("after cursor {c}"),
        None => "from the start of the log".to_string(),
    };
    if r.created == 0 && r.requeued == 0 {
        return format!("Nothing to replay {from}: no event matches this endpoint.\n");
    }
    let deliveries = |n: u64| if n == 1 { "delivery" } else { "deliveries" };
    format!(
        "Replaying {from}: {} new {} queued, {} earlier {} sent again.\n",
        r.created,
        deliveries(r.created),
        r.requeued,
        deliveries(r.requeued)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    /// The id a parsed `--mailbox` gave; these tests pass ids, which need no lookup.
    fn parsed_id(m: &Option<MailboxRef>) -> Option<MailboxId> {
        match m {
            Some(MailboxRef::Id(id)) => Some(*id),
            Some(MailboxRef::Address(a)) => panic!("{a} would need the server"),
            None => None,
        }
    }

    fn endpoint() -> WebhookEndpoint {
        serde_json::from_value(serde_json::json!({
            "id": "0190f5a0-0000-7000-8000-0000000000a1",
            "site_id": "0190f5a0-0000-7000-8000-000000000002",
            "url": "https://crm.example.com/hook",
            "event_types": ["message.received", "message.bounced"],
            "description": "CRM",
            "enabled": true,
            "created_at": "2026-01-01T00:00:00Z",
            "updated_at": "2026-01-02T00:00:00Z"
        }))
        .unwrap()
    }

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(subcommand)]
        cmd: WebhooksCommand,
    }

    fn parse(args: &[&str]) -> WebhooksCommand {
        Cli::try_parse_from(std::iter::once("webhooks").chain(args.iter().copied()))
            .unwrap_or_else(|e| panic!("{args:?}: {e}"))
            .cmd
    }

    #[test]
    fn create_sends_only_what_was_given() {
        let WebhooksCommand::Create(args) = parse(&["create", "https://x.test/h"]) else { panic!() };
        assert_eq!(serde_json::to_value({ let m = parsed_id(&args.mailbox); create_request(args, m) }).unwrap(), serde_json::json!({"url": "https://x.test/h"}));
        let m = "0190f5a0-0000-7000-8000-000000000001";
        let WebhooksCommand::Create(args) = parse(&[
            "create",
            "https://x.test/h",
            "--event",
            "message.received",
            "--event",
            "message.sent",
            "--mailbox",
            m,
            "--description",
            "CRM",
            "--disabled",
        ]) else {
            panic!()
        };
        assert_eq!(
            serde_json::to_value({ let m = parsed_id(&args.mailbox); create_request(args, m) }).unwrap(),
            serde_json::json!({"url": "https://x.test/h", "event_types": ["message.received", "message.sent"],
                "mailbox_id": m, "description": "CRM", "enabled": false})
        );
    }

    #[test]
    fn updates_tell_clearing_from_keeping() {
        let body = |args: &[&str]| {
            let mut all = vec!["update", "0190f5a0-0000-7000-8000-0000000000a1"];
            all.extend_from_slice(args);
            let WebhooksCommand::Update(u) = parse(&all) else { panic!() };
            let m = parsed_id(&u.mailbox);
            update_request(u, m).map(|r| serde_json::to_value(r).unwrap())
        };
        assert_eq!(
            body(&["--all-events", "--all-mailboxes", "--description", "", "--enable"]).unwrap(),
            serde_json::json!({"event_types": [], "mailbox_id": null, "description": null, "enabled": true})
        );
        assert_eq!(
            body(&["--event", "message.sent", "--endpoint-url", "https://y.test/", "--disable"]).unwrap(),
            serde_json::json!({"url": "https://y.test/", "event_types": ["message.sent"], "enabled": false})
        );
        assert!(body(&[]).is_err(), "a change of nothing is refused before sending");
    }

    #[test]
    fn conflicting_flags_are_refused() {
        let fails =
            |args: &[&str]| Cli::try_parse_from(std::iter::once("webhooks").chain(args.iter().copied())).is_err();
        let id = "0190f5a0-0000-7000-8000-0000000000a1";
        assert!(fails(&["update", id, "--enable", "--disable"]));
        assert!(fails(&["update", id, "--event", "message.sent", "--all-events"]));
        assert!(fails(&["update", id, "--mailbox", id, "--all-mailboxes"]));
        assert!(fails(&["create"]), "the URL is required");
        assert!(fails(&["create", "u", "--event", "a,b"]));
        assert!(fails(&["create", "u", "--mailbox", "not a mailbox"]));
        assert!(!fails(&["create", "u", "--mailbox", "alice@mailroom.localhost"]), "an address is a mailbox too");
        assert!(fails(&["deliveries", id, "--limit", "101"]));
        assert!(fails(&["get", "not-an-id"]));
    }

    #[test]
    fn endpoints_show_their_filters_and_state() {
        let mut e = endpoint();
        assert_eq!(
            details(&e),
            "id           0190f5a0-0000-7000-8000-0000000000a1\n\
             site         0190f5a0-0000-7000-8000-000000000002\n\
             url          https://crm.example.com/hook\n\
             events       message.received, message.bounced\n\
             mailbox      all\n\
             description  CRM\n\
             state        enabled\n\
             created      2026-01-01 00:00:00 UTC\n\
             updated      2026-01-02 00:00:00 UTC\n"
        );
        e.event_types.clear();
        e.enabled = false;
        e.disabled_reason = Some("gone".into());
        assert_eq!(
            table(&[e]).render(),
            "ID                                    URL                           EVENTS  MAILBOX  STATE            CREATED (UTC)\n\
             0190f5a0-0000-7000-8000-0000000000a1  https://crm.example.com/hook  all     -        disabled (gone)  2026-01-01 00:00:00\n"
        );
        let mut e = endpoint();
        e.failing_since = Some(e.created_at);
        assert_eq!(state(&e), "failing");
        assert!(details(&e).contains("failing since  2026-01-01 00:00:00 UTC\n"));
    }

    #[test]
    fn the_secret_stands_out_and_the_note_says_it_is_shown_once() {
        assert_eq!(secret_block("whsec_abc"), "signing secret (shown only now):\n\n    whsec_abc\n\n");
        let mut e = endpoint();
        let created = secret_note(&e, false);
        assert!(created.starts_with("Store the signing secret now: it is not shown again."), "{created}");
        assert!(created.contains("rotate-secret 0190f5a0-0000-7000-8000-0000000000a1"), "{created}");
        e.previous_secret_expires_at = Some(e.updated_at);
        let rotated = secret_note(&e, true);
        assert!(rotated.contains("previous secret keeps signing beside the new one until 2026-01-02 00:00:00 UTC"));
    }

    #[test]
    fn deliveries_show_the_last_attempt() {
        let d: WebhookDelivery = serde_json::from_value(serde_json::json!({
            "id": "0190f5a0-0000-7000-8000-0000000000d1",
            "endpoint_id": "0190f5a0-0000-7000-8000-0000000000a1",
            "site_id": "0190f5a0-0000-7000-8000-000000000002",
            "event_id": "0190f5a0-0000-7000-8000-0000000000e1",
            "event_cursor": "42",
            "event_type": "message.received",
            "status": "pending",
            "attempts": 2,
            "next_attempt_at": "2026-01-01T00:05:00Z",
            "history": [
                {"attempt": 1, "at": "2026-01-01T00:00:00Z", "latency_ms": 3001, "error": "timed out"},
                {"attempt": 2, "at": "2026-01-01T00:01:00Z", "status_code": 503, "latency_ms": 12, "error": "HTTP 503"}
            ],
            "created_at": "2026-01-01T00:00:00Z",
            "updated_at": "2026-01-01T00:01:00Z"
        }))
        .unwrap();
        assert_eq!(last_attempt(&d), "HTTP 503 in 12 ms");
        let mut first = d.clone();
        first.history.pop();
        assert_eq!(last_attempt(&first), "timed out (3001 ms)");
        first.history.clear();
        assert_eq!(last_attempt(&first), "-");
        let text = deliveries_table(&[d]).render();
        assert!(
            text.lines().nth(1).unwrap().ends_with(
                "42      message.received  pending  2         HTTP 503 in 12 ms  2026-01-01 00:05:00  2026-01-01 00:00:00"
            ),
            "{text}"
        );
    }

    #[test]
    fn replays_say_what_they_queued() {
        let r = |created, requeued| ReplayResponse { created, requeued, ..Default::default() };
        assert_eq!(
            replay_text(&r(2, 1), Some("40")),
            "Replaying after cursor 40: 2 new deliveries queued, 1 earlier delivery sent again.\n"
        );
        assert_eq!(
            replay_text(&r(1, 0), None),
            "Replaying from the start of the log: 1 new delivery queued, 0 earlier deliveries sent again.\n"
        );
        assert_eq!(
            replay_text(&r(0, 0), None),
            "Nothing to replay from the start of the log: no event matches this endpoint.\n"
        );
    }
}
