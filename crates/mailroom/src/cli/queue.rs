//! `mailroom queue …`: the outbound delivery queue, and retrying or cancelling recipients.

use super::table::{Table, clip, or_dash, time};
use super::{Ctx, note, out};
use anyhow::Context as _;
use mailroom_client::{Client, ClientError};
use mailroom_core::api::QueueEntry;
use mailroom_core::ids::{MessageId, SiteId};
use mailroom_core::model::{DeliveryStatus, Message, Recipient};

/// How many entries the server lists when `--limit` is not given.
const SERVER_DEFAULT_LIMIT: u32 = 100;

/// `mailroom queue <verb>`.
#[derive(Debug, clap::Subcommand)]
pub enum QueueCommand {
    /// List outbound recipients waiting for delivery, oldest first.
    List {
        /// Comma-separated statuses (queued, sending, deferred, delivered, bounced, failed), or
        /// `all` [server default: queued,sending,deferred].
        #[arg(long, value_name = "S[,S…]", value_parser = parse_statuses)]
        status: Option<String>,
        /// How many to show, 1-1000 [server default: 100].
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..=1000))]
        limit: Option<u32>,
        /// Admin key only: only this site [default: every site].
        #[arg(long, value_name = "ID")]
        site_id: Option<SiteId>,
    },
    /// Try a deferred, bounced or failed recipient again now (without ADDRESS: every such
    /// recipient of the message).
    Retry {
        /// The outbound message's id.
        message_id: MessageId,
        /// The recipient's address.
        address: Option<String>,
    },
    /// Give up on a recipient still waiting for delivery; it becomes failed (without ADDRESS:
    /// every waiting recipient of the message).
    Cancel {
        /// The outbound message's id.
        message_id: MessageId,
        /// The recipient's address.
        address: Option<String>,
    },
}

/// An operator action on one recipient.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Retry,
    Cancel,
}

impl Action {
    fn verb(self) -> &'static str {
        match self {
            Action::Retry => "retry",
            Action::Cancel => "cancel",
        }
    }

    fn past(self) -> &'static str {
        match self {
            Action::Retry => "Retried",
            Action::Cancel => "Cancelled",
        }
    }

    /// Tells whether the server accepts the action for a recipient in this state.
    fn applies_to(self, status: DeliveryStatus) -> bool {
        match self {
            Action::Retry => {
                matches!(status, DeliveryStatus::Deferred | DeliveryStatus::Bounced | DeliveryStatus::Failed)
            }
            Action::Cancel => !status.is_final(),
        }
    }

    /// Says which recipients the action applies to, for "nothing to do" notes.
    fn eligible_states(self) -> &'static str {
        match self {
            Action::Retry => "deferred, bounced or failed",
            Action::Cancel => "queued, sending or deferred",
        }
    }

    async fn call(self, client: &Client, id: MessageId, address: &str) -> Result<Message, ClientError> {
        match self {
            Action::Retry => client.retry_recipient(id, address).await,
            Action::Cancel => client.cancel_recipient(id, address).await,
        }
    }
}

pub(crate) async fn run(ctx: &Ctx, cmd: QueueCommand) -> anyhow::Result<()> {
    match cmd {
        QueueCommand::List { status, limit, site_id } => {
            let page = ctx.client.list_queue_in_site(site_id, status.as_deref(), limit).await?;
            if ctx.json {
                return ctx.print_json(&page);
            }
            if page.items.is_empty() {
                note(match status {
                    None => "The queue is empty: nothing is waiting for delivery.",
                    Some(_) => "No recipients in these statuses.",
                });
                return Ok(());
            }
            out(&table(&page.items).render())?;
            let limit = limit.unwrap_or(SERVER_DEFAULT_LIMIT);
            if page.items.len() as u32 >= limit {
                note(&format!("Showing the oldest {limit}; more may be waiting: raise --limit (up to 1000)."));
            }
            Ok(())
        }
        QueueCommand::Retry { message_id, address } => act(ctx, Action::Retry, message_id, address).await,
        QueueCommand::Cancel { message_id, address } => act(ctx, Action::Cancel, message_id, address).await,
    }
}

/// Retries or cancels one recipient, or every recipient of the message the action applies to.
async fn act(ctx: &Ctx, action: Action, id: MessageId, address: Option<String>) -> anyhow::Result<()> {
    let targets = match address {
        Some(address) => vec![address.trim().to_string()],
        None => {
            let message = ctx.client.get_message(id).await.context("could not read the message")?;
            let targets = eligible(&message, action);
            if targets.is_empty() {
                if ctx.json {
                    return ctx.print_json(&message);
                }
                note(&nothing_to_do(&message, action));
                return Ok(());
            }
            targets
        }
    };
    let mut latest = None;
    let mut done = 0;
    let mut failures = Vec::new();
    for address in &targets {
        match action.call(&ctx.client, id, address).await {
            Ok(message) => {
                done += 1;
                latest = Some(message);
            }
            Err(err) => failures.push((address.clone(), err)),
        }
    }
    if let Some(message) = &latest {
        if ctx.json {
            ctx.print_json(message)?;
        } else {
            out(&recipients_table(&message.recipients).render())?;
            note(&format!("{} {done} of {} recipient(s) of message {id}.", action.past(), targets.len()));
        }
    }
    let mut failures = failures.into_iter();
    match failures.next() {
        None => Ok(()),
        Some((address, err)) => {
            for (other, err) in failures {
                note(&format!("could not {} {other}: {err}", action.verb()));
            }
            Err(anyhow::Error::from(err).context(format!("could not {} {address}", action.verb())))
        }
    }
}

/// The recipients of `message` the action applies to, in message order.
fn eligible(message: &Message, action: Action) -> Vec<String> {
    message.recipients.iter().filter(|r| action.applies_to(r.status)).map(|r| r.address.to_string()).collect()
}

fn nothing_to_do(message: &Message, action: Action) -> String {
    if message.recipients.is_empty() {
        return format!("Nothing to {}: message {} has no outbound recipients.", action.verb(), message.id);
    }
    let states: Vec<String> = message.recipients.iter().map(|r| format!("{} is {}", r.address, r.status)).collect();
    format!(
        "Nothing to {}: only {} recipients qualify, and {}.",
        action.verb(),
        action.eligible_states(),
        states.join(", ")
    )
}

fn table(entries: &[QueueEntry]) -> Table {
    let mut t = Table::new(["MESSAGE", "RECIPIENT", "KIND", "STATUS", "ATTEMPTS", "NEXT ATTEMPT (UTC)", "LAST REPLY"]);
    for e in entries {
        t.row(vec![
            e.message_id.to_string(),
            e.address.to_string(),
            e.kind.as_str().to_string(),
            e.status.to_string(),
            e.attempts.to_string(),
            e.next_attempt_at.as_ref().map(time).unwrap_or_else(|| "-".into()),
            clip(&or_dash(e.last_reply.as_deref()), 60),
        ]);
    }
    t
}

fn recipients_table(recipients: &[Recipient]) -> Table {
    let mut t = Table::new(["RECIPIENT", "KIND", "STATUS", "ATTEMPTS", "LAST REPLY"]);
    for r in recipients {
        t.row(vec![
            r.address.to_string(),
            r.kind.as_str().to_string(),
            r.status.to_string(),
            r.attempts.to_string(),
            clip(&or_dash(r.last_reply.as_deref()), 80),
        ]);
    }
    t
}

/// Checks `--status` locally so a typo is reported before anything is sent, and normalizes
/// it (`Queued, deferred` becomes `queued,deferred`).
fn parse_statuses(s: &str) -> Result<String, String> {
    let s = s.trim().to_ascii_lowercase();
    if s == "all" {
        return Ok(s);
    }
    let mut out: Vec<&str> = Vec::new();
    for part in s.split(',').map(str::trim) {
        let status: DeliveryStatus = part.parse().map_err(|_| {
            format!(
                "`{part}` is not a delivery status: use queued, sending, deferred, delivered, bounced, failed or all"
            )
        })?;
        if !out.contains(&status.as_str()) {
            out.push(status.as_str());
        }
    }
    Ok(out.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message() -> Message {
        serde_json::from_value(serde_json::json!({
            "id": "0190f5a0-0000-7000-8000-00000000000a",
            "site_id": "0190f5a0-0000-7000-8000-000000000002",
            "mailbox_id": "0190f5a0-0000-7000-8000-000000000001",
            "thread_id": "0190f5a0-0000-7000-8000-00000000000b",
            "direction": "outbound",
            "snippet": "",
            "read": true,
            "size": 10,
            "created_at": "2026-01-01T00:00:00Z",
            "recipients": [
                {"address": "a@x.test", "kind": "to", "status": "delivered", "updated_at": "2026-01-01T00:00:00Z"},
                {"address": "b+1@x.test", "kind": "to", "status": "deferred", "attempts": 3, "updated_at": "2026-01-01T00:00:00Z"},
                {"address": "c@x.test", "kind": "cc", "status": "bounced", "updated_at": "2026-01-01T00:00:00Z"},
                {"address": "d@x.test", "kind": "bcc", "status": "queued", "updated_at": "2026-01-01T00:00:00Z"},
                {"address": "e@x.test", "kind": "to", "status": "failed", "updated_at": "2026-01-01T00:00:00Z"},
                {"address": "f@x.test", "kind": "to", "status": "sending", "updated_at": "2026-01-01T00:00:00Z"}
            ]
        }))
        .unwrap()
    }

    #[test]
    fn retry_and_cancel_pick_the_recipients_the_server_accepts() {
        assert_eq!(eligible(&message(), Action::Retry), ["b+1@x.test", "c@x.test", "e@x.test"]);
        assert_eq!(eligible(&message(), Action::Cancel), ["b+1@x.test", "d@x.test", "f@x.test"]);
    }

    #[test]
    fn nothing_to_do_says_why() {
        let mut m = message();
        m.recipients.truncate(1);
        assert_eq!(
            nothing_to_do(&m, Action::Retry),
            "Nothing to retry: only deferred, bounced or failed recipients qualify, and a@x.test is delivered."
        );
        m.recipients.clear();
        assert_eq!(
            nothing_to_do(&m, Action::Cancel),
            "Nothing to cancel: message 0190f5a0-0000-7000-8000-00000000000a has no outbound recipients."
        );
    }

    #[test]
    fn statuses_are_checked_and_normalized() {
        assert_eq!(parse_statuses("queued,deferred"), Ok("queued,deferred".into()));
        assert_eq!(parse_statuses(" Queued , DEFERRED,queued "), Ok("queued,deferred".into()));
        assert_eq!(parse_statuses("ALL"), Ok("all".into()));
        assert!(parse_statuses("waiting").unwrap_err().contains("`waiting` is not a delivery status"));
        assert!(parse_statuses("queued,").is_err());
    }

    #[test]
    fn the_queue_table_shows_attempts_and_the_next_try() {
        let e: QueueEntry = serde_json::from_value(serde_json::json!({
            "message_id": "0190f5a0-0000-7000-8000-00000000000a",
            "site_id": "0190f5a0-0000-7000-8000-000000000002",
            "address": "b+1@x.test",
            "kind": "to",
            "status": "deferred",
            "attempts": 3,
            "next_attempt_at": "2026-01-01T00:10:00Z",
            "last_reply": "451 4.7.1\r\n try later",
            "updated_at": "2026-01-01T00:00:00Z"
        }))
        .unwrap();
        let mut fresh = e.clone();
        fresh.status = DeliveryStatus::Queued;
        fresh.attempts = 0;
        fresh.next_attempt_at = None;
        fresh.last_reply = None;
        assert_eq!(
            table(&[e, fresh]).render(),
            "MESSAGE                               RECIPIENT   KIND  STATUS    ATTEMPTS  NEXT ATTEMPT (UTC)   LAST REPLY\n\
             0190f5a0-0000-7000-8000-00000000000a  b+1@x.test  to    deferred  3         2026-01-01 00:10:00  451 4.7.1 try later\n\
             0190f5a0-0000-7000-8000-00000000000a  b+1@x.test  to    queued    0         -                    -\n"
        );
    }

    #[test]
    fn the_result_lists_every_recipient() {
        let text = recipients_table(&message().recipients[..2]).render();
        assert_eq!(
            text,
            "RECIPIENT   KIND  STATUS     ATTEMPTS  LAST REPLY\n\
             a@x.test    to    delivered  0         -\n\
             b+1@x.test  to    deferred   3         -\n"
        );
    }
}
