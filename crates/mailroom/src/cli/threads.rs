//! `mailroom threads …`: a mailbox's conversations.

use super::messages::dir;
use super::table::{Table, clip, fields, or_dash, time, time_utc};
use super::{Ctx, next_page_note, note, out};
use mailroom_core::api::ThreadWithMessages;
use super::resolve::MailboxRef;
use mailroom_core::ids::ThreadId;
use mailroom_core::model::Thread;

/// `mailroom threads <verb>`.
#[derive(Debug, clap::Subcommand)]
pub enum ThreadsCommand {
    /// List a mailbox's threads, most recently active first.
    List {
        /// The mailbox: its address or id.
        mailbox: MailboxRef,
        /// The cursor printed after the previous page.
        #[arg(long)]
        cursor: Option<String>,
        /// How many to show, 1-100 [server default: 50].
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..=100))]
        limit: Option<u32>,
    },
    /// Show a thread and each of its messages, oldest first.
    Get {
        /// The thread's id.
        id: ThreadId,
    },
}

pub(crate) async fn run(ctx: &Ctx, cmd: ThreadsCommand) -> anyhow::Result<()> {
    match cmd {
        ThreadsCommand::List { mailbox, cursor, limit } => {
            let mailbox = mailbox.resolve(&ctx.client).await?;
            let page = ctx.client.list_threads(mailbox, cursor.as_deref(), limit).await?;
            if ctx.json {
                return ctx.print_json(&page);
            }
            if page.items.is_empty() {
                note("No threads.");
                return Ok(());
            }
            out(&table(&page.items).render())?;
            next_page_note(page.next_cursor.as_deref(), "--cursor");
            Ok(())
        }
        ThreadsCommand::Get { id } => {
            let thread = ctx.client.get_thread(id).await?;
            if ctx.json {
                return ctx.print_json(&thread);
            }
            out(&details(&thread))
        }
    }
}

fn table(threads: &[Thread]) -> Table {
    let mut t = Table::new(["ID", "LAST MESSAGE (UTC)", "MESSAGES", "SUBJECT", "PARTICIPANTS"]);
    for th in threads {
        let participants = th.participants.iter().map(|p| p.to_string()).collect::<Vec<_>>().join(", ");
        t.row(vec![
            th.id.to_string(),
            time(&th.last_message_at),
            th.message_count.to_string(),
            clip(&or_dash(th.subject.as_deref()), 50),
            clip(&or_dash(Some(&participants)), 60),
        ]);
    }
    t
}

fn details(t: &ThreadWithMessages) -> String {
    let th = &t.thread;
    let participants = th.participants.iter().map(|p| p.to_string()).collect::<Vec<_>>().join(", ");
    let mut text = fields(&[
        ("id", th.id.to_string()),
        ("mailbox", th.mailbox_id.to_string()),
        ("subject", or_dash(th.subject.as_deref())),
        ("participants", or_dash(Some(&participants))),
        ("messages", th.message_count.to_string()),
        ("started", time_utc(&th.created_at)),
        ("last message", time_utc(&th.last_message_at)),
    ]);
    let mut messages = Table::new(["ID", "TIME (UTC)", "DIR", "FROM", "SUBJECT", "SNIPPET"]);
    for m in &t.messages {
        messages.row(vec![
            m.id.to_string(),
            time(&m.created_at),
            dir(m.direction).to_string(),
            clip(&m.from.as_ref().map(|f| f.address.to_string()).unwrap_or_else(|| "-".into()), 40),
            clip(&or_dash(m.subject.as_deref()), 40),
            clip(&or_dash(Some(&m.snippet)), 60),
        ]);
    }
    text.push('\n');
    text.push_str(&messages.render());
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_thread_is_shown_with_one_line_per_message() {
        let t: ThreadWithMessages = serde_json::from_value(serde_json::json!({
            "id": "0190f5a0-0000-7000-8000-00000000000b",
            "site_id": "0190f5a0-0000-7000-8000-000000000002",
            "mailbox_id": "0190f5a0-0000-7000-8000-000000000001",
            "subject": "Invoice",
            "participants": ["a@example.com", "bot@example.test"],
            "message_count": 1,
            "snippet": "Hello.",
            "last_message_at": "2026-01-01T00:05:00Z",
            "created_at": "2026-01-01T00:00:00Z",
            "messages": [{
                "id": "0190f5a0-0000-7000-8000-00000000000a",
                "site_id": "0190f5a0-0000-7000-8000-000000000002",
                "mailbox_id": "0190f5a0-0000-7000-8000-000000000001",
                "thread_id": "0190f5a0-0000-7000-8000-00000000000b",
                "direction": "inbound",
                "from": {"address": "a@example.com"},
                "subject": "Invoice",
                "snippet": "Hello.",
                "read": true,
                "size": 10,
                "created_at": "2026-01-01T00:05:00Z"
            }]
        }))
        .unwrap();
        let text = details(&t);
        assert!(text.starts_with("id            0190f5a0-0000-7000-8000-00000000000b\n"), "{text}");
        assert!(text.contains("participants  a@example.com, bot@example.test\n"), "{text}");
        assert!(
            text.ends_with(
                "ID                                    TIME (UTC)           DIR  FROM           SUBJECT  SNIPPET\n\
                 0190f5a0-0000-7000-8000-00000000000a  2026-01-01 00:05:00  in   a@example.com  Invoice  Hello.\n"
            ),
            "{text}"
        );
        assert_eq!(table(&[t.thread]).render().lines().count(), 2);
    }
}
