//! `mailroom suppressions …`: addresses a site must not mail.

use super::table::{Table, clip, or_dash, time};
use super::{Ctx, next_page_note, note, out};
use mailroom_core::api::CreateSuppressionRequest;
use mailroom_core::ids::SiteId;
use mailroom_core::model::Suppression;

/// Why an address is suppressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Reason {
    /// Added by hand.
    Manual,
    /// The recipient's server said the address does not exist.
    #[value(name = "hard_bounce", alias = "hard-bounce")]
    HardBounce,
    /// The recipient reported mail as spam.
    Complaint,
    /// The recipient asked to stop.
    Unsubscribe,
}

impl Reason {
    /// Returns the wire name.
    fn as_str(self) -> &'static str {
        match self {
            Reason::Manual => "manual",
            Reason::HardBounce => "hard_bounce",
            Reason::Complaint => "complaint",
            Reason::Unsubscribe => "unsubscribe",
        }
    }
}

/// `mailroom suppressions <verb>`.
#[derive(Debug, clap::Subcommand)]
pub enum SuppressionsCommand {
    /// List the suppressed addresses, alphabetically.
    List {
        /// The cursor printed after the previous page.
        #[arg(long)]
        cursor: Option<String>,
        /// How many to show, 1-100 [server default: 50].
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..=100))]
        limit: Option<u32>,
        /// Admin key only: only this site [default: every site].
        #[arg(long, value_name = "ID")]
        site_id: Option<SiteId>,
    },
    /// Stop mailing an address: sends to it are refused until it is removed.
    Add {
        /// The address, such as someone@example.com.
        address: String,
        /// Why [server default: manual].
        #[arg(long, value_enum)]
        reason: Option<Reason>,
        /// A note, such as where the request came from.
        #[arg(long)]
        detail: Option<String>,
        /// Admin key only: the site [default: the default site].
        #[arg(long, value_name = "ID")]
        site_id: Option<SiteId>,
    },
    /// Allow mailing an address again.
    Remove {
        /// The address.
        address: String,
        /// Admin key only: the site [default: the default site].
        #[arg(long, value_name = "ID")]
        site_id: Option<SiteId>,
    },
}

pub(crate) async fn run(ctx: &Ctx, cmd: SuppressionsCommand) -> anyhow::Result<()> {
    match cmd {
        SuppressionsCommand::List { cursor, limit, site_id } => {
            let page = ctx.client.list_suppressions_in_site(site_id, cursor.as_deref(), limit).await?;
            if ctx.json {
                return ctx.print_json(&page);
            }
            if page.items.is_empty() {
                note("No suppressed addresses.");
                return Ok(());
            }
            out(&table(&page.items).render())?;
            next_page_note(page.next_cursor.as_deref(), "--cursor");
            Ok(())
        }
        SuppressionsCommand::Add { address, reason, detail, site_id } => {
            let req =
                CreateSuppressionRequest { address, reason: reason.map(|r| r.as_str().to_string()), detail, site_id };
            let added = ctx.client.add_suppression(&req).await?;
            if ctx.json {
                return ctx.print_json(&added);
            }
            out(&table(std::slice::from_ref(&added)).render())?;
            note(&format!(
                "Suppressed {}: sends to it are refused until `mailroom suppressions remove {}`.",
                added.address, added.address
            ));
            Ok(())
        }
        SuppressionsCommand::Remove { address, site_id } => {
            ctx.client.remove_suppression_in_site(site_id, &address).await?;
            if !ctx.json {
                note(&format!("Removed {} from the suppression list.", address.trim()));
            }
            Ok(())
        }
    }
}

fn table(entries: &[Suppression]) -> Table {
    let mut t = Table::new(["ADDRESS", "REASON", "SITE", "CREATED (UTC)", "DETAIL"]);
    for s in entries {
        t.row(vec![
            s.address.to_string(),
            s.reason.clone(),
            s.site_id.to_string(),
            time(&s.created_at),
            clip(&or_dash(s.detail.as_deref()), 60),
        ]);
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::ValueEnum as _;

    #[test]
    fn reasons_use_the_wire_names() {
        for r in Reason::value_variants() {
            let name = r.to_possible_value().unwrap().get_name().to_string();
            assert_eq!(name, r.as_str());
        }
        assert_eq!(Reason::from_str("hard-bounce", false), Ok(Reason::HardBounce));
        assert_eq!(Reason::from_str("hard_bounce", false), Ok(Reason::HardBounce));
    }

    #[test]
    fn the_list_shows_reason_site_and_detail() {
        let s: Suppression = serde_json::from_value(serde_json::json!({
            "site_id": "0190f5a0-0000-7000-8000-000000000002",
            "address": "bob+news@example.com",
            "reason": "hard_bounce",
            "detail": "550 5.1.1 no such\r\n user",
            "created_at": "2026-01-01T00:00:00Z"
        }))
        .unwrap();
        let mut other = s.clone();
        other.detail = None;
        other.reason = "manual".into();
        assert_eq!(
            table(&[s, other]).render(),
            "ADDRESS               REASON       SITE                                  CREATED (UTC)        DETAIL\n\
             bob+news@example.com  hard_bounce  0190f5a0-0000-7000-8000-000000000002  2026-01-01 00:00:00  550 5.1.1 no such user\n\
             bob+news@example.com  manual       0190f5a0-0000-7000-8000-000000000002  2026-01-01 00:00:00  -\n"
        );
    }
}
