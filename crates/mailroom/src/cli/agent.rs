//! The agent-tool nouns: `contacts`, `team-members`, `tools`, `tool-runs`, `tool-configs`.

use super::resolve::MailboxRef;
use super::table::{Table, clip, fields, or_dash, time, time_utc};
use super::{Ctx, Usage, next_page_note, note, out};
use anyhow::Context as _;
use mailroom_client::ToolRunFilter;
use mailroom_core::agent::{Contact, TeamMember, ToolConfig, ToolRun};
use mailroom_core::api::{
    CreateTeamMemberRequest, CreateToolConfigRequest, UpdateContactRequest, UpdateTeamMemberRequest, UpdateToolConfigRequest,
    UpsertContactRequest,
};
use mailroom_core::ids::{ContactId, TeamMemberId, ToolConfigId, ToolRunId};
use serde_json::Value;
use std::io::Read as _;
use std::path::{Path, PathBuf};

// ----- contacts ---------------------------------------------------------------------------

/// `mailroom contacts <verb>`.
#[derive(Debug, clap::Subcommand)]
pub enum ContactsCommand {
    /// Add a contact, or update the one with the same email or external id (safe to re-run).
    Create(Box<ContactArgs>),
    /// List contacts, newest first.
    List {
        /// The cursor printed after the previous page.
        #[arg(long)]
        cursor: Option<String>,
        /// How many to show, 1-100 [server default: 50].
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..=100))]
        limit: Option<u32>,
    },
    /// Show a contact with the emails the tools sent it.
    Get {
        /// The contact's id.
        id: ContactId,
    },
    /// Change a contact; options not given keep their value.
    Update {
        /// The contact's id.
        id: ContactId,
        #[command(flatten)]
        fields: Box<ContactArgs>,
    },
    /// Record the contact's answer to the consent request for informational email.
    Consent {
        /// The contact's id.
        id: ContactId,
        /// They agreed.
        #[arg(long, conflicts_with = "refused", required_unless_present = "refused")]
        granted: bool,
        /// They refused.
        #[arg(long)]
        refused: bool,
    },
    /// Delete a contact.
    Delete {
        /// The contact's id.
        id: ContactId,
    },
}

/// The fields of a contact on the command line.
#[derive(Debug, clap::Args)]
pub struct ContactArgs {
    /// The email address.
    #[arg(long)]
    email: Option<String>,
    /// Your own id for the person (a CRM id).
    #[arg(long)]
    external_id: Option<String>,
    /// The person's name.
    #[arg(long)]
    name: Option<String>,
    /// An attribute such as `company=Acme` (repeatable; the value is JSON when it parses as
    /// JSON, else text). Attributes are merged into the existing ones.
    #[arg(long, value_name = "KEY=VALUE", value_parser = parse_attribute)]
    attribute: Vec<(String, Value)>,
    /// Consent to informational email: yes, no or unset.
    #[arg(long, value_parser = ["yes", "no", "unset"])]
    subscribed: Option<String>,
    /// Opted out of marketing email.
    #[arg(long, value_name = "true|false")]
    marketing_opt_out: Option<bool>,
    /// The team member who owns the contact.
    #[arg(long, value_name = "TEAM_MEMBER_ID")]
    owner: Option<TeamMemberId>,
}

fn parse_attribute(s: &str) -> Result<(String, Value), String> {
    let (k, v) = s.split_once('=').filter(|(k, _)| !k.trim().is_empty()).ok_or_else(|| format!("`{s}` is not KEY=VALUE, e.g. company=Acme"))?;
    let value = serde_json::from_str(v).unwrap_or_else(|_| Value::String(v.to_string()));
    Ok((k.trim().to_string(), value))
}

fn subscribed(v: Option<&str>) -> Option<Option<bool>> {
    v.map(|v| match v {
        "yes" => Some(true),
        "no" => Some(false),
        _ => None,
    })
}

fn attributes(list: Vec<(String, Value)>) -> Option<serde_json::Map<String, Value>> {
    if list.is_empty() { None } else { Some(list.into_iter().collect()) }
}

pub(crate) async fn contacts(ctx: &Ctx, cmd: ContactsCommand) -> anyhow::Result<()> {
    match cmd {
        ContactsCommand::Create(a) => {
            if a.email.is_none() && a.external_id.is_none() {
                return Err(Usage::new("a contact needs --email or --external-id", "pass --email person@example.com").into());
            }
            let req = UpsertContactRequest {
                email: a.email,
                external_id: a.external_id,
                name: a.name,
                attributes: attributes(a.attribute),
                email_subscribed: subscribed(a.subscribed.as_deref()),
                marketing_opt_out: a.marketing_opt_out,
                owner_team_member_id: a.owner.map(Some),
                site_id: None,
            };
            let contact = ctx.client.upsert_contact(&req).await?;
            if ctx.json {
                return ctx.print_json(&contact);
            }
            out(&contact_details(&contact))
        }
        ContactsCommand::List { cursor, limit } => {
            let page = ctx.client.list_contacts(cursor.as_deref(), limit).await?;
            if ctx.json {
                return ctx.print_json(&page);
            }
            if page.items.is_empty() {
                note("No contacts. Add one with `mailroom contacts create --email person@example.com`.");
                return Ok(());
            }
            let mut t = Table::new(["ID", "EMAIL", "NAME", "SUBSCRIBED", "CREATED (UTC)"]);
            for c in &page.items {
                t.row(vec![
                    c.id.to_string(),
                    or_dash(c.email.as_ref().map(|e| e.as_str())),
                    clip(&or_dash(c.name.as_deref()), 30),
                    consent(c.email_subscribed).into(),
                    time(&c.created_at),
                ]);
            }
            out(&t.render())?;
            next_page_note(page.next_cursor.as_deref(), "--cursor");
            Ok(())
        }
        ContactsCommand::Get { id } => {
            let c = ctx.client.get_contact(id).await?;
            if ctx.json {
                return ctx.print_json(&c);
            }
            let mut text = contact_details(&c.contact);
            if !c.history.is_empty() {
                text.push_str(&format!("\n{} email(s) sent by the tools; see them with --json\n", c.history.len()));
            }
            out(&text)
        }
        ContactsCommand::Update { id, fields: a } => {
            let req = UpdateContactRequest {
                email: a.email.map(Some),
                external_id: a.external_id.map(Some),
                name: a.name.map(Some),
                attributes: attributes(a.attribute),
                email_subscribed: subscribed(a.subscribed.as_deref()),
                marketing_opt_out: a.marketing_opt_out,
                owner_team_member_id: a.owner.map(Some),
            };
            let c = ctx.client.update_contact(id, &req).await?;
            if ctx.json {
                return ctx.print_json(&c);
            }
            out(&contact_details(&c))
        }
        ContactsCommand::Consent { id, granted, refused: _ } => {
            let c = ctx.client.record_consent(id, granted).await?;
            if ctx.json {
                return ctx.print_json(&c);
            }
            out(&contact_details(&c))
        }
        ContactsCommand::Delete { id } => {
            ctx.client.delete_contact(id).await?;
            if !ctx.json {
                note(&format!("Deleted contact {id}."));
            }
            Ok(())
        }
    }
}

fn consent(v: Option<bool>) -> &'static str {
    match v {
        Some(true) => "yes",
        Some(false) => "no",
        None => "unset",
    }
}

fn contact_details(c: &Contact) -> String {
    fields(&[
        ("id", c.id.to_string()),
        ("email", or_dash(c.email.as_ref().map(|e| e.as_str()))),
        ("name", or_dash(c.name.as_deref())),
        ("external id", or_dash(c.external_id.as_deref())),
        ("subscribed", consent(c.email_subscribed).to_string()),
        ("marketing opt-out", if c.marketing_opt_out { "yes" } else { "no" }.to_string()),
        ("owner", or_dash(c.owner_team_member_id.map(|o| o.to_string()).as_deref())),
        ("attributes", if c.attributes.is_empty() { "-".into() } else { Value::Object(c.attributes.clone()).to_string() }),
        ("created", time_utc(&c.created_at)),
    ])
}

// ----- team members -----------------------------------------------------------------------

/// `mailroom team-members <verb>`.
#[derive(Debug, clap::Subcommand)]
pub enum TeamMembersCommand {
    /// Add a team member: a person's name and signature, sending from a mailbox.
    Create {
        /// The name shown in From.
        #[arg(long)]
        name: String,
        /// The mailbox they send from: its id or address.
        #[arg(long, value_name = "MAILBOX")]
        mailbox: MailboxRef,
        /// The HTML signature appended to their emails.
        #[arg(long)]
        signature_html: Option<String>,
    },
    /// List team members.
    List,
    /// Show a team member.
    Get {
        /// The member's id.
        id: TeamMemberId,
    },
    /// Change a team member; options not given keep their value.
    Update {
        /// The member's id.
        id: TeamMemberId,
        /// The name shown in From.
        #[arg(long)]
        name: Option<String>,
        /// The mailbox they send from: its id or address.
        #[arg(long, value_name = "MAILBOX")]
        mailbox: Option<MailboxRef>,
        /// The HTML signature; an empty string removes it.
        #[arg(long)]
        signature_html: Option<String>,
    },
    /// Delete a team member.
    Delete {
        /// The member's id.
        id: TeamMemberId,
    },
}

pub(crate) async fn team_members(ctx: &Ctx, cmd: TeamMembersCommand) -> anyhow::Result<()> {
    match cmd {
        TeamMembersCommand::Create { name, mailbox, signature_html } => {
            let mailbox_id = mailbox.resolve(&ctx.client).await?;
            let m = ctx.client.create_team_member(&CreateTeamMemberRequest { name, mailbox_id, signature_html }).await?;
            if ctx.json {
                return ctx.print_json(&m);
            }
            out(&member_details(&m))
        }
        TeamMembersCommand::List => {
            let page = ctx.client.list_team_members().await?;
            if ctx.json {
                return ctx.print_json(&page);
            }
            if page.items.is_empty() {
                note("No team members. Add one with `mailroom team-members create --name NAME --mailbox ADDRESS`.");
                return Ok(());
            }
            let mut t = Table::new(["ID", "NAME", "MAILBOX", "CREATED (UTC)"]);
            for m in &page.items {
                t.row(vec![m.id.to_string(), clip(&m.name, 40), m.mailbox_id.to_string(), time(&m.created_at)]);
            }
            out(&t.render())
        }
        TeamMembersCommand::Get { id } => {
            let m = ctx.client.get_team_member(id).await?;
            if ctx.json {
                return ctx.print_json(&m);
            }
            out(&member_details(&m))
        }
        TeamMembersCommand::Update { id, name, mailbox, signature_html } => {
            let mailbox_id = match mailbox {
                Some(m) => Some(m.resolve(&ctx.client).await?),
                None => None,
            };
            let signature_html = signature_html.map(|s| if s.is_empty() { None } else { Some(s) });
            let m = ctx.client.update_team_member(id, &UpdateTeamMemberRequest { name, mailbox_id, signature_html }).await?;
            if ctx.json {
                return ctx.print_json(&m);
            }
            out(&member_details(&m))
        }
        TeamMembersCommand::Delete { id } => {
            ctx.client.delete_team_member(id).await?;
            if !ctx.json {
                note(&format!("Deleted team member {id}."));
            }
            Ok(())
        }
    }
}

fn member_details(m: &TeamMember) -> String {
    fields(&[
        ("id", m.id.to_string()),
        ("name", m.name.clone()),
        ("mailbox", m.mailbox_id.to_string()),
        ("signature", or_dash(m.signature_html.as_deref())),
        ("created", time_utc(&m.created_at)),
    ])
}

// ----- tools ------------------------------------------------------------------------------

/// `mailroom tools <verb>`.
#[derive(Debug, clap::Subcommand)]
pub enum ToolsCommand {
    /// List the tools this key may call: the built-in ones and the site's tool configs.
    List,
    /// Run a tool with a JSON input and print its output (JSON).
    ///
    /// A refusal (such as `duplicate_email` or `consent_required`) is an error with the
    /// tool's code; `--input '{"dry_run": true, …}'` checks without sending.
    Invoke {
        /// The tool's name (`send_email`, `send_one_to_one_email`, `send_information_email`, or
        /// a tool config's name).
        name: String,
        /// The input as JSON text.
        #[arg(long, conflicts_with = "input_file", required_unless_present = "input_file")]
        input: Option<String>,
        /// Read the JSON input from a file (`-` for stdin).
        #[arg(long, value_name = "PATH")]
        input_file: Option<PathBuf>,
    },
}

pub(crate) async fn tools(ctx: &Ctx, cmd: ToolsCommand) -> anyhow::Result<()> {
    match cmd {
        ToolsCommand::List => {
            let catalog = ctx.client.list_tools().await?;
            if ctx.json {
                return ctx.print_json(&catalog);
            }
            let mut t = Table::new(["NAME", "TOOL", "DESCRIPTION"]);
            for d in &catalog.data {
                t.row(vec![d.name.clone(), d.tool.clone(), clip(&d.description, 70)]);
            }
            out(&t.render())
        }
        ToolsCommand::Invoke { name, input, input_file } => {
            let text = match (input, input_file) {
                (Some(text), _) => text,
                (None, Some(path)) => read_text(&path).context("could not read the tool input")?,
                (None, None) => unreachable!("clap requires one of them"),
            };
            let input: Value = serde_json::from_str(&text).map_err(|e| {
                Usage::new(format!("the tool input is not JSON: {e}"), format!("`mailroom tools list --json` shows the input schema of {name}"))
            })?;
            let output = ctx.client.invoke_tool(&name, &input).await?;
            ctx.print_json(&output)
        }
    }
}

/// Reads a text file, or stdin for `-`.
pub(crate) fn read_text(path: &Path) -> anyhow::Result<String> {
    if path == Path::new("-") {
        let mut s = String::new();
        std::io::stdin().read_to_string(&mut s).context("could not read stdin")?;
        return Ok(s);
    }
    std::fs::read_to_string(path).with_context(|| format!("could not read `{}`", path.display()))
}

// ----- tool runs --------------------------------------------------------------------------

/// `mailroom tool-runs <verb>`.
#[derive(Debug, clap::Subcommand)]
pub enum ToolRunsCommand {
    /// List tool runs, newest first.
    List {
        /// Only this tool.
        #[arg(long)]
        tool: Option<String>,
        /// Only runs with this status (success, failure, sent, skipped, …).
        #[arg(long)]
        status: Option<String>,
        /// Only runs about this contact.
        #[arg(long, value_name = "ID")]
        contact_id: Option<ContactId>,
        /// Only runs at or after this RFC 3339 time.
        #[arg(long, value_name = "TIME")]
        since: Option<String>,
        /// How many to show, 1-100 [server default: 50].
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..=100))]
        limit: Option<u32>,
        /// The cursor printed after the previous page.
        #[arg(long)]
        cursor: Option<String>,
    },
    /// Show one run: inputs, checks, decision and outputs (JSON).
    Get {
        /// The run's id.
        id: ToolRunId,
    },
}

pub(crate) async fn tool_runs(ctx: &Ctx, cmd: ToolRunsCommand) -> anyhow::Result<()> {
    match cmd {
        ToolRunsCommand::List { tool, status, contact_id, since, limit, cursor } => {
            let page = ctx.client.list_tool_runs(&ToolRunFilter { tool, contact_id, status, since, cursor, limit }).await?;
            if ctx.json {
                return ctx.print_json(&page);
            }
            if page.items.is_empty() {
                note("No tool runs.");
                return Ok(());
            }
            out(&runs_table(&page.items).render())?;
            next_page_note(page.next_cursor.as_deref(), "--cursor");
            Ok(())
        }
        ToolRunsCommand::Get { id } => {
            let run = ctx.client.get_tool_run(id).await?;
            ctx.print_json(&run)
        }
    }
}

fn runs_table(runs: &[ToolRun]) -> Table {
    let mut t = Table::new(["ID", "TIME (UTC)", "TOOL", "STATUS", "CODE", "DRY RUN"]);
    for r in runs {
        t.row(vec![
            r.id.to_string(),
            time(&r.created_at),
            r.tool.clone(),
            r.status.clone(),
            or_dash(r.code.as_deref()),
            if r.dry_run { "yes" } else { "no" }.into(),
        ]);
    }
    t
}

// ----- tool configs -----------------------------------------------------------------------

/// `mailroom tool-configs <verb>`.
#[derive(Debug, clap::Subcommand)]
pub enum ToolConfigsCommand {
    /// Create a tool config: a named instance of a tool with the builder's prompt and settings.
    Create {
        /// The name agents call it by (unique per site), such as `welcome_followup`.
        name: String,
        /// The underlying tool.
        #[arg(long, value_parser = ["send_email", "send_one_to_one_email", "send_information_email"])]
        tool: String,
        /// When to use it and the quality bar; agents see it as the tool's description.
        #[arg(long)]
        prompt: String,
        /// The tool's settings as JSON (sender rule, default cc/bcc, …).
        #[arg(long, value_name = "JSON")]
        settings: Option<String>,
    },
    /// List the tool configs.
    List,
    /// Show a tool config.
    Get {
        /// The config's id.
        id: ToolConfigId,
    },
    /// Change a tool config; options not given keep their value.
    Update {
        /// The config's id.
        id: ToolConfigId,
        /// A new name.
        #[arg(long)]
        name: Option<String>,
        /// A new prompt.
        #[arg(long)]
        prompt: Option<String>,
        /// New settings as JSON (replacing the old ones).
        #[arg(long, value_name = "JSON")]
        settings: Option<String>,
    },
    /// Delete a tool config.
    Delete {
        /// The config's id.
        id: ToolConfigId,
    },
}

fn json_arg(flag: &str, text: Option<String>) -> anyhow::Result<Option<Value>> {
    text.map(|t| serde_json::from_str(&t).map_err(|e| Usage::new(format!("{flag} is not JSON: {e}"), format!("write {flag} '{{\"key\": \"value\"}}'")).into()))
        .transpose()
}

pub(crate) async fn tool_configs(ctx: &Ctx, cmd: ToolConfigsCommand) -> anyhow::Result<()> {
    match cmd {
        ToolConfigsCommand::Create { name, tool, prompt, settings } => {
            let settings = json_arg("--settings", settings)?;
            let c = ctx.client.create_tool_config(&CreateToolConfigRequest { name, tool, prompt, settings, site_id: None }).await?;
            print_config(ctx, &c)
        }
        ToolConfigsCommand::List => {
            let page = ctx.client.list_tool_configs().await?;
            if ctx.json {
                return ctx.print_json(&page);
            }
            if page.items.is_empty() {
                note("No tool configs. Create one with `mailroom tool-configs create NAME --tool send_email --prompt TEXT`.");
                return Ok(());
            }
            let mut t = Table::new(["ID", "NAME", "TOOL", "PROMPT"]);
            for c in &page.items {
                t.row(vec![c.id.to_string(), c.name.clone(), c.tool.clone(), clip(&c.prompt, 60)]);
            }
            out(&t.render())
        }
        ToolConfigsCommand::Get { id } => {
            let c = ctx.client.get_tool_config(id).await?;
            print_config(ctx, &c)
        }
        ToolConfigsCommand::Update { id, name, prompt, settings } => {
            let settings = json_arg("--settings", settings)?;
            let c = ctx.client.update_tool_config(id, &UpdateToolConfigRequest { name, prompt, settings, ..Default::default() }).await?;
            print_config(ctx, &c)
        }
        ToolConfigsCommand::Delete { id } => {
            ctx.client.delete_tool_config(id).await?;
            if !ctx.json {
                note(&format!("Deleted tool config {id}."));
            }
            Ok(())
        }
    }
}

fn print_config(ctx: &Ctx, c: &ToolConfig) -> anyhow::Result<()> {
    if ctx.json {
        return ctx.print_json(c);
    }
    out(&fields(&[
        ("id", c.id.to_string()),
        ("name", c.name.clone()),
        ("tool", c.tool.clone()),
        ("prompt", c.prompt.clone()),
        ("settings", c.settings.to_string()),
        ("updated", time_utc(&c.updated_at)),
    ]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes_are_json_or_text() {
        assert_eq!(parse_attribute("plan=\"pro\"").unwrap(), ("plan".into(), Value::String("pro".into())));
        assert_eq!(parse_attribute("seats=3").unwrap(), ("seats".into(), serde_json::json!(3)));
        assert_eq!(parse_attribute("company=Acme Inc").unwrap(), ("company".into(), Value::String("Acme Inc".into())));
        assert!(parse_attribute("=x").is_err());
        assert_eq!(subscribed(Some("unset")), Some(None));
        assert_eq!(subscribed(Some("yes")), Some(Some(true)));
        assert_eq!(subscribed(None), None);
    }
}
