//! `mailroom keys …`: API keys. The secret is shown once, when the key is created.

use super::table::{Table, or_dash, time};
use super::{Ctx, next_page_note, note, out};
use mailroom_core::api::CreateApiKeyRequest;
use mailroom_core::ids::{ApiKeyId, SiteId};
use mailroom_core::model::ApiKey;

/// What a new key may reach.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Scope {
    /// Every site (only an admin key may create one).
    Admin,
    /// One site.
    Site,
}

/// `mailroom keys <verb>`.
#[derive(Debug, clap::Subcommand)]
pub enum KeysCommand {
    /// Create an API key and print its secret (shown only this once).
    Create {
        /// A name to recognise the key by.
        #[arg(long)]
        name: String,
        /// What the key may reach [server default: site].
        #[arg(long, value_enum)]
        scope: Option<Scope>,
        /// The site a site key is limited to (an admin key without it gets the default site).
        #[arg(long, value_name = "ID")]
        site_id: Option<SiteId>,
    },
    /// List the API keys (their secrets are never shown again).
    List,
    /// Delete an API key; requests using it fail from now on.
    Delete {
        /// The key's id.
        id: ApiKeyId,
    },
}

pub(crate) async fn run(ctx: &Ctx, cmd: KeysCommand) -> anyhow::Result<()> {
    match cmd {
        KeysCommand::Create { name, scope, site_id } => {
            let scope = scope.map(|s| match s {
                Scope::Admin => "admin".to_string(),
                Scope::Site => "site".to_string(),
            });
            let created = ctx.client.create_api_key(&CreateApiKeyRequest { name, scope, site_id }).await?;
            if ctx.json {
                return ctx.print_json(&created);
            }
            out(&table(std::slice::from_ref(&created.api_key)).render())?;
            out(&format!("\nkey: {}\n", created.key))?;
            note("Store the key now: it is not kept and cannot be shown again.");
            Ok(())
        }
        KeysCommand::List => {
            let page = ctx.client.list_api_keys().await?;
            if ctx.json {
                return ctx.print_json(&page);
            }
            if page.items.is_empty() {
                note("No API keys.");
                return Ok(());
            }
            out(&table(&page.items).render())?;
            next_page_note(page.next_cursor.as_deref(), "--cursor");
            Ok(())
        }
        KeysCommand::Delete { id } => {
            ctx.client.delete_api_key(id).await?;
            if !ctx.json {
                note(&format!("Deleted API key {id}."));
            }
            Ok(())
        }
    }
}

fn table(keys: &[ApiKey]) -> Table {
    let mut t = Table::new(["ID", "NAME", "SCOPE", "SITE", "PREFIX", "CREATED (UTC)"]);
    for k in keys {
        t.row(vec![
            k.id.to_string(),
            k.name.clone(),
            k.scope.clone(),
            or_dash(k.site_id.map(|s| s.to_string()).as_deref()),
            k.prefix.clone(),
            time(&k.created_at),
        ]);
    }
    t
}
