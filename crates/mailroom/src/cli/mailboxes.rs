//! `mailroom mailboxes …`: addresses that send and receive.

use super::table::{Table, clip, fields, or_dash, time, time_utc};
use super::resolve::MailboxRef;
use super::{Ctx, next_page_note, note, out};
use mailroom_core::api::{CreateMailboxRequest, UpdateMailboxRequest};
use mailroom_core::ids::SiteId;
use mailroom_core::model::Mailbox;

/// `mailroom mailboxes <verb>`.
#[derive(Debug, clap::Subcommand)]
pub enum MailboxesCommand {
    /// Create a mailbox (or get the existing one with the same --client-id).
    Create {
        /// The part before the @: 1-64 of a-z, 0-9, `.`, `_`, `-`.
        username: String,
        /// A hosted domain [default: the server's default domain].
        #[arg(long)]
        domain: Option<String>,
        /// The name shown in From.
        #[arg(long)]
        display_name: Option<String>,
        /// Your own id for the mailbox: creating again with it returns the same mailbox.
        #[arg(long)]
        client_id: Option<String>,
        /// Admin key only: the site to create the mailbox in [default: the default site].
        #[arg(long, value_name = "ID")]
        site_id: Option<SiteId>,
        /// Make the mailbox ephemeral: delete it with its mail after this long (90, 15m, 2h, 7d).
        #[arg(long, value_name = "DURATION", value_parser = super::usage::duration_secs)]
        ttl: Option<u64>,
    },
    /// List mailboxes.
    List {
        /// The cursor printed after the previous page.
        #[arg(long)]
        cursor: Option<String>,
        /// How many to show, 1-100 [server default: 50].
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..=100))]
        limit: Option<u32>,
    },
    /// Show a mailbox.
    Get {
        /// The mailbox: its address or id.
        id: MailboxRef,
    },
    /// Change a mailbox's display name, limits, retention or expiry.
    Update {
        /// The mailbox: its address or id.
        id: MailboxRef,
        /// The new display name; an empty string removes it.
        #[arg(long)]
        display_name: Option<String>,
        /// Expire the mailbox this long from now (90, 15m, 2h, 7d).
        #[arg(long, value_name = "DURATION", value_parser = super::usage::duration_secs, conflicts_with = "no_expiry")]
        ttl: Option<u64>,
        /// Keep the mailbox for good (clears its expiry).
        #[arg(long)]
        no_expiry: bool,
        /// Whether its outbound mail needs a person's approval: none, all or first_contact.
        #[arg(long, value_name = "POLICY")]
        approval_policy: Option<mailroom_core::drafts::ApprovalPolicy>,
        #[command(flatten)]
        limits: super::usage::LimitArgs,
    },
    /// Delete a mailbox with all its messages.
    Delete {
        /// The mailbox: its address or id.
        id: MailboxRef,
    },
}

pub(crate) async fn run(ctx: &Ctx, cmd: MailboxesCommand) -> anyhow::Result<()> {
    match cmd {
        MailboxesCommand::Create { username, domain, display_name, client_id, site_id, ttl } => {
            let req = CreateMailboxRequest { username, domain, display_name, client_id, site_id, ttl_seconds: ttl, expires_at: None };
            let (mailbox, created) = ctx.client.create_mailbox_with_status(&req).await?;
            if ctx.json {
                return ctx.print_json(&mailbox);
            }
            out(&details(&mailbox))?;
            if created {
                note(&format!("Created mailbox {}.", mailbox.address));
            } else {
                note(&format!("A mailbox with this client id exists already: {}.", mailbox.address));
            }
            Ok(())
        }
        MailboxesCommand::List { cursor, limit } => {
            let page = ctx.client.list_mailboxes(cursor.as_deref(), limit).await?;
            if ctx.json {
                return ctx.print_json(&page);
            }
            if page.items.is_empty() {
                note("No mailboxes. Create one with `mailroom mailboxes create USERNAME`.");
                return Ok(());
            }
            out(&table(&page.items).render())?;
            next_page_note(page.next_cursor.as_deref(), "--cursor");
            Ok(())
        }
        MailboxesCommand::Get { id } => {
            let view = ctx.client.mailbox_view(id.resolve(&ctx.client).await?).await?;
            if ctx.json {
                return ctx.print_json(&view);
            }
            out(&view_details(&view))
        }
        MailboxesCommand::Update { id, display_name, ttl, no_expiry, approval_policy, limits } => {
            let req = UpdateMailboxRequest {
                display_name,
                limits: limits.patch(),
                retention_days: limits.retention()?,
                ttl_seconds: ttl,
                expires_at: no_expiry.then_some(None),
                approval_policy,
            };
            let view = ctx.client.update_mailbox_view(id.resolve(&ctx.client).await?, &req).await?;
            if ctx.json {
                return ctx.print_json(&view);
            }
            out(&view_details(&view))
        }
        MailboxesCommand::Delete { id } => {
            ctx.client.delete_mailbox(id.resolve(&ctx.client).await?).await?;
            if !ctx.json {
                note(&format!("Deleted mailbox {id}."));
            }
            Ok(())
        }
    }
}

fn table(mailboxes: &[Mailbox]) -> Table {
    let mut t = Table::new(["ID", "ADDRESS", "DISPLAY NAME", "CLIENT ID", "CREATED (UTC)"]);
    for m in mailboxes {
        t.row(vec![
            m.id.to_string(),
            m.address.to_string(),
            clip(&or_dash(m.display_name.as_deref()), 30),
            clip(&or_dash(m.client_id.as_deref()), 30),
            time(&m.created_at),
        ]);
    }
    t
}

fn details(m: &Mailbox) -> String {
    fields(&[
        ("id", m.id.to_string()),
        ("address", m.address.to_string()),
        ("display name", or_dash(m.display_name.as_deref())),
        ("client id", or_dash(m.client_id.as_deref())),
        ("site", m.site_id.to_string()),
        ("created", time_utc(&m.created_at)),
        ("updated", time_utc(&m.updated_at)),
    ])
}

fn view_details(v: &mailroom_core::controls::MailboxView) -> String {
    let mut text = details(&v.mailbox);
    let mut extra = vec![("expires", v.expires_at.as_ref().map(time_utc).unwrap_or_else(|| "never".into()))];
    extra.extend(super::usage::control_fields(&v.limits, v.retention_days, &v.usage));
    text.push_str(&fields(&extra));
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mailbox() -> Mailbox {
        serde_json::from_value(serde_json::json!({
            "id": "0190f5a0-0000-7000-8000-000000000001",
            "site_id": "0190f5a0-0000-7000-8000-000000000002",
            "address": "bot@example.test",
            "display_name": "Support\nBot",
            "client_id": null,
            "created_at": "2026-01-01T00:00:00Z",
            "updated_at": "2026-01-02T00:00:00Z"
        }))
        .unwrap()
    }

    #[test]
    fn the_list_shows_full_ids() {
        assert_eq!(
            table(&[mailbox()]).render(),
            "ID                                    ADDRESS           DISPLAY NAME  CLIENT ID  CREATED (UTC)\n\
             0190f5a0-0000-7000-8000-000000000001  bot@example.test  Support Bot   -          2026-01-01 00:00:00\n"
        );
    }

    #[test]
    fn details_list_every_field() {
        let text = details(&mailbox());
        assert!(text.starts_with("id            0190f5a0-0000-7000-8000-000000000001\n"), "{text}");
        assert!(text.contains("client id     -\n"), "{text}");
        assert!(text.ends_with("updated       2026-01-02 00:00:00 UTC\n"), "{text}");
    }
}
