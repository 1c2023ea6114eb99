//! `mailroom lists …`: allow and block lists for sending and receiving.

use super::table::{Table, clip, or_dash, time};
use super::{Ctx, note, out};
use mailroom_core::api::CreateListEntryRequest;
use mailroom_core::ids::{ListEntryId, MailboxId, SiteId};
use mailroom_core::{ListDirection, ListEntry, ListKind};

/// Which mail an entry applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Direction {
    /// Mail this site sends (the entry names recipients).
    Send,
    /// Mail this site receives (the entry names senders).
    Receive,
}

impl From<Direction> for ListDirection {
    fn from(d: Direction) -> Self {
        match d {
            Direction::Send => ListDirection::Send,
            Direction::Receive => ListDirection::Receive,
        }
    }
}

/// Whether an entry allows or blocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Kind {
    /// Once a scope has an allow entry, only allowed addresses pass.
    Allow,
    /// Never passes.
    Block,
}

/// `mailroom lists <verb>`.
#[derive(Debug, clap::Subcommand)]
pub enum ListsCommand {
    /// List the entries, oldest first.
    List {
        /// Only `send` or `receive` entries.
        #[arg(long, value_enum)]
        direction: Option<Direction>,
        /// Only this mailbox's own entries.
        #[arg(long, value_name = "ID")]
        mailbox_id: Option<MailboxId>,
    },
    /// Add an entry: `mailroom lists add send block spam.example` or
    /// `mailroom lists add receive allow boss@corp.example --mailbox-id ID`.
    Add {
        /// `send` or `receive`.
        #[arg(value_enum)]
        direction: Direction,
        /// `allow` or `block`.
        #[arg(value_enum)]
        kind: Kind,
        /// An address or a domain.
        entry: String,
        /// Only for this mailbox [default: the whole site].
        #[arg(long, value_name = "ID")]
        mailbox_id: Option<MailboxId>,
        /// Why.
        #[arg(long)]
        reason: Option<String>,
        /// Admin key only: the site [default: the default site].
        #[arg(long, value_name = "ID")]
        site_id: Option<SiteId>,
    },
    /// Remove an entry.
    Remove {
        /// The entry's id (from `mailroom lists list`).
        id: ListEntryId,
    },
}

pub(crate) async fn run(ctx: &Ctx, cmd: ListsCommand) -> anyhow::Result<()> {
    match cmd {
        ListsCommand::List {
            direction,
            mailbox_id,
        } => {
            let page = ctx
                .client
                .list_list_entries(direction.map(Into::into), mailbox_id)
                .await?;
            if ctx.json {
                return ctx.print_json(&page);
            }
            if page.items.is_empty() {
                note("No list entries.");
                return Ok(());
            }
            out(&table(&page.items).render())
        }
        ListsCommand::Add {
            direction,
            kind,
            entry,
            mailbox_id,
            reason,
            site_id,
        } => {
            let kind = match kind {
                Kind::Allow => ListKind::Allow,
                Kind::Block => ListKind::Block,
            };
            let req = CreateListEntryRequest {
                direction: direction.into(),
                kind,
                entry,
                mailbox_id,
                reason,
                site_id,
            };
            let added = ctx.client.create_list_entry(&req).await?;
            if ctx.json {
                return ctx.print_json(&added);
            }
            out(&table(std::slice::from_ref(&added)).render())?;
            note(&format!(
                "Added; remove it with `mailroom lists remove {}`.",
                added.id
            ));
            Ok(())
        }
        ListsCommand::Remove { id } => {
            ctx.client.delete_list_entry(id).await?;
            if !ctx.json {
                note(&format!("Removed list entry {id}."));
            }
            Ok(())
        }
    }
}

fn table(entries: &[ListEntry]) -> Table {
    let mut t = Table::new([
        "ID",
        "DIRECTION",
        "KIND",
        "ENTRY",
        "MAILBOX",
        "CREATED (UTC)",
        "REASON",
    ]);
    for e in entries {
        t.row(vec![
            e.id.to_string(),
            e.direction.as_str().to_string(),
            e.kind.as_str().to_string(),
            e.entry.clone(),
            e.mailbox_id
                .map(|m| m.to_string())
                .unwrap_or_else(|| "(site)".into()),
            time(&e.created_at),
            clip(&or_dash(e.reason.as_deref()), 60),
        ]);
    }
    t
}
