//! `mailroom sites …`: the tenants (admin key only).

use super::table::{Table, time};
use super::{Ctx, next_page_note, note, out};
use mailroom_core::api::CreateSiteRequest;
use mailroom_core::model::Site;

/// `mailroom sites <verb>`.
#[derive(Debug, clap::Subcommand)]
pub enum SitesCommand {
    /// Create a site: a tenant with its own keys and mailboxes.
    Create {
        /// A human name for the site.
        #[arg(long)]
        name: String,
    },
    /// List the sites.
    List,
    /// Set a site's limits (shared by all its mailboxes) and retention.
    Update {
        /// The site's id.
        id: mailroom_core::ids::SiteId,
        #[command(flatten)]
        limits: super::usage::LimitArgs,
    },
}

pub(crate) async fn run(ctx: &Ctx, cmd: SitesCommand) -> anyhow::Result<()> {
    match cmd {
        SitesCommand::Create { name } => {
            let site = ctx.client.create_site(&CreateSiteRequest { name }).await?;
            if ctx.json {
                return ctx.print_json(&site);
            }
            out(&table(std::slice::from_ref(&site)).render())?;
            note(&format!(
                "Created site {}. Give it a key with `mailroom keys create --name NAME --site-id {}`.",
                site.id, site.id
            ));
            Ok(())
        }
        SitesCommand::Update { id, limits } => {
            let req = mailroom_core::controls::UpdateSiteRequest { limits: limits.patch(), retention_days: limits.retention()?, ..Default::default() };
            let view = ctx.client.update_site(id, &req).await?;
            if ctx.json {
                return ctx.print_json(&view);
            }
            out(&super::usage::controls(&view))
        }
        SitesCommand::List => {
            let page = ctx.client.list_sites().await?;
            if ctx.json {
                return ctx.print_json(&page);
            }
            if page.items.is_empty() {
                note("No sites.");
                return Ok(());
            }
            out(&table(&page.items).render())?;
            next_page_note(page.next_cursor.as_deref(), "--cursor");
            Ok(())
        }
    }
}

fn table(sites: &[Site]) -> Table {
    let mut t = Table::new(["ID", "NAME", "CREATED (UTC)"]);
    for s in sites {
        t.row(vec![s.id.to_string(), s.name.clone(), time(&s.created_at)]);
    }
    t
}
