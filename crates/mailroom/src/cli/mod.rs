//! The `mailroom <noun> <verb>` commands: a thin shell over [`mailroom_client`].
//!
//! Every command is one or a few client calls plus printing: a readable table by default,
//! the server's answer as pretty JSON with `--json`. Failures are printed as
//! `error: <message> (<code>)` followed by a hint on what to do next, because the person (or
//! agent) at the terminal acts on the hint, not on a stack of causes.

mod agent;
mod attachments;
mod content_type;
mod domains;
mod events;
mod keys;
mod mailboxes;
mod mcp;
mod messages;
mod queue;
pub(crate) mod resolve;
mod settings;
mod sites;
mod usage;
mod lists;
mod status;
mod suppressions;
mod table;
mod threads;
mod transfer;
mod webhooks;

use anyhow::Context as _;
use mailroom_client::{Client, ClientError};
use serde::Serialize;
use std::io::Write as _;

pub use domains::DomainsCommand;
pub use events::EventsCommand;
pub use keys::KeysCommand;
pub use mailboxes::MailboxesCommand;
pub use messages::MessagesCommand;
pub use queue::QueueCommand;
pub use sites::SitesCommand;
pub use lists::ListsCommand;
pub use suppressions::SuppressionsCommand;
pub use threads::ThreadsCommand;
pub use webhooks::WebhooksCommand;
pub use agent::{ContactsCommand, TeamMembersCommand, ToolConfigsCommand, ToolRunsCommand, ToolsCommand};
pub use attachments::AttachmentsCommand;
pub use settings::SettingsCommand;
pub use transfer::{ExportArgs, ImportCommand};

/// Where the server is and how to talk to it; shared by every client command.
#[derive(Debug, Clone, clap::Args)]
pub struct ClientArgs {
    /// The Mailroom server's base URL.
    #[arg(
        long,
        env = "MAILROOM_URL",
        default_value = mailroom_client::DEFAULT_URL,
        global = true,
        help_heading = "Connection"
    )]
    pub url: String,

    /// The API key to use; the admin key is written to <data-dir>/admin-api-key.
    #[arg(long, env = "MAILROOM_API_KEY", hide_env_values = true, global = true, help_heading = "Connection")]
    pub api_key: Option<String>,

    /// Print the server's answer as JSON instead of tables.
    #[arg(long, global = true, help_heading = "Output")]
    pub json: bool,
}

/// The commands that talk to a running server over the REST API.
#[derive(Debug, clap::Subcommand)]
pub enum ClientCommand {
    /// Create and list sites (tenants); admin key only.
    #[command(subcommand)]
    Sites(SitesCommand),
    /// Create, list and delete API keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Create, list, show, rename and delete mailboxes.
    #[command(subcommand)]
    Mailboxes(MailboxesCommand),
    /// Send, list, read, reply to, label and delete messages.
    #[command(subcommand)]
    Messages(MessagesCommand),
    /// List a mailbox's conversations and read one.
    #[command(subcommand)]
    Threads(ThreadsCommand),
    /// Read the event log, once or live as it grows.
    #[command(subcommand)]
    Events(EventsCommand),
    /// Send events to your URLs, signed (Standard Webhooks): create, change, rotate secrets,
    /// look at deliveries, replay.
    #[command(subcommand)]
    Webhooks(WebhooksCommand),
    /// Add hosted domains and print the DNS records (MX, SPF, DKIM, DMARC) to publish.
    #[command(subcommand)]
    Domains(DomainsCommand),
    /// Look at the outbound delivery queue; retry or cancel recipients.
    #[command(subcommand)]
    Queue(QueueCommand),
    /// List, add and remove addresses that must not be mailed.
    #[command(subcommand)]
    Suppressions(SuppressionsCommand),
    /// Allow and block lists for sending and receiving (per site or mailbox).
    #[command(subcommand)]
    Lists(ListsCommand),
    /// Add, list, change and delete contacts (the people the agent tools email), and record
    /// their consent.
    #[command(subcommand)]
    Contacts(ContactsCommand),
    /// Add, list, change and delete team members (human sender identities mapped to a
    /// mailbox).
    #[command(subcommand, name = "team-members")]
    TeamMembers(TeamMembersCommand),
    /// Read and change the site's sending settings document (channels, informational email,
    /// tool rules).
    #[command(subcommand)]
    Settings(SettingsCommand),
    /// List the agent email tools and invoke one.
    #[command(subcommand)]
    Tools(ToolsCommand),
    /// Read the audit record of tool invocations.
    #[command(subcommand, name = "tool-runs")]
    ToolRuns(ToolRunsCommand),
    /// Create, list, change and delete tool configs (builder-configured tool instances).
    #[command(subcommand, name = "tool-configs")]
    ToolConfigs(ToolConfigsCommand),
    /// Upload attachments, make signed download URLs, download attachments.
    #[command(subcommand)]
    Attachments(AttachmentsCommand),
    /// Show the server's version, listeners, store, queue depth and webhook backlog (admin
    /// key).
    Status,
    /// Show the site's storage use, limits and retention, and each mailbox's.
    Usage {
        /// Admin key: the site [default: the default site].
        #[arg(long, value_name = "ID")]
        site_id: Option<mailroom_core::ids::SiteId>,
    },
    /// Import mail from mbox, Maildir or .eml files into a mailbox (nothing is sent; a re-run
    /// imports nothing twice).
    #[command(subcommand)]
    Import(ImportCommand),
    /// Export a mailbox's messages, raw bytes unchanged, as an mbox file or a Maildir.
    Export(ExportArgs),
    /// Serve the MCP tools over stdio for an MCP client (Claude Desktop, Cursor, …), acting
    /// on the server at --url with --api-key.
    Mcp,
}

impl ClientCommand {
    /// Returns the noun, for hints such as "`mailroom mailboxes list` shows what exists".
    fn noun(&self) -> &'static str {
        match self {
            ClientCommand::Sites(_) => "sites",
            ClientCommand::Keys(_) => "keys",
            ClientCommand::Mailboxes(_) => "mailboxes",
            ClientCommand::Messages(_) => "messages",
            ClientCommand::Threads(_) => "threads",
            ClientCommand::Events(_) => "events",
            ClientCommand::Webhooks(_) => "webhooks",
            ClientCommand::Domains(_) => "domains",
            ClientCommand::Queue(_) => "queue",
            ClientCommand::Suppressions(_) => "suppressions",
            ClientCommand::Lists(_) => "lists",
            ClientCommand::Contacts(_) => "contacts",
            ClientCommand::TeamMembers(_) => "team-members",
            ClientCommand::Settings(_) => "settings",
            ClientCommand::Tools(_) => "tools",
            ClientCommand::ToolRuns(_) => "tool-runs",
            ClientCommand::ToolConfigs(_) => "tool-configs",
            ClientCommand::Attachments(_) => "attachments",
            ClientCommand::Status => "status",
            ClientCommand::Usage { .. } => "usage",
            ClientCommand::Import(_) => "import",
            ClientCommand::Export(_) => "export",
            ClientCommand::Mcp => "mcp",
        }
    }
}

/// Runs one client command against the server.
///
/// On failure it prints `error: …` and a hint to stderr itself and exits the process with
/// status 1 (2 for a mistake in the arguments), so the caller has nothing left to report; the
/// `Result` is for the caller's `?` and is `Ok` whenever this returns.
pub async fn run(args: ClientArgs, cmd: ClientCommand) -> anyhow::Result<()> {
    let noun = cmd.noun();
    // `MAILROOM_URL=` (set but empty) means the default, as when it is unset.
    let url = if args.url.trim().is_empty() { mailroom_client::DEFAULT_URL.to_string() } else { args.url.clone() };
    match execute(&url, args, cmd).await {
        Ok(()) => Ok(()),
        Err(err) if is_broken_pipe(&err) => Ok(()), // `mailroom … | head`: the reader left.
        Err(err) => {
            let report = render_error(&err, &url, noun);
            let _ = std::io::stdout().flush();
            eprint!("{}", report.text);
            std::process::exit(report.exit_code);
        }
    }
}

async fn execute(url: &str, args: ClientArgs, cmd: ClientCommand) -> anyhow::Result<()> {
    let Some(api_key) = args.api_key.filter(|k| !k.trim().is_empty()) else {
        return Err(Usage::new(
            "no API key given",
            "set MAILROOM_API_KEY or pass --api-key; the admin key is in <data-dir>/admin-api-key, written when \
             `mailroom serve` first starts",
        )
        .into());
    };
    let client = Client::new(url, api_key)?;
    let ctx = Ctx { client, json: args.json };
    match cmd {
        ClientCommand::Sites(c) => sites::run(&ctx, c).await,
        ClientCommand::Keys(c) => keys::run(&ctx, c).await,
        ClientCommand::Mailboxes(c) => mailboxes::run(&ctx, c).await,
        ClientCommand::Messages(c) => messages::run(&ctx, c).await,
        ClientCommand::Threads(c) => threads::run(&ctx, c).await,
        ClientCommand::Events(c) => events::run(&ctx, c).await,
        ClientCommand::Webhooks(c) => webhooks::run(&ctx, c).await,
        ClientCommand::Domains(c) => domains::run(&ctx, c).await,
        ClientCommand::Queue(c) => queue::run(&ctx, c).await,
        ClientCommand::Suppressions(c) => suppressions::run(&ctx, c).await,
        ClientCommand::Lists(c) => lists::run(&ctx, c).await,
        ClientCommand::Contacts(c) => agent::contacts(&ctx, c).await,
        ClientCommand::TeamMembers(c) => agent::team_members(&ctx, c).await,
        ClientCommand::Settings(c) => settings::run(&ctx, c).await,
        ClientCommand::Tools(c) => agent::tools(&ctx, c).await,
        ClientCommand::ToolRuns(c) => agent::tool_runs(&ctx, c).await,
        ClientCommand::ToolConfigs(c) => agent::tool_configs(&ctx, c).await,
        ClientCommand::Attachments(c) => attachments::run(&ctx, c).await,
        ClientCommand::Status => status::run(&ctx).await,
        ClientCommand::Usage { site_id } => usage::run(&ctx, site_id).await,
        ClientCommand::Import(c) => transfer::import(&ctx, c).await,
        ClientCommand::Export(a) => transfer::export(&ctx, a).await,
        ClientCommand::Mcp => mcp::run(ctx.client).await,
    }
}

/// What every command gets: the client and how to print.
pub(crate) struct Ctx {
    pub(crate) client: Client,
    pub(crate) json: bool,
}

impl Ctx {
    /// Prints a value as pretty JSON on stdout.
    pub(crate) fn print_json<T: Serialize>(&self, value: &T) -> anyhow::Result<()> {
        let text = serde_json::to_string_pretty(value).context("the answer could not be turned into JSON")?;
        out(&format!("{text}\n"))
    }
}

/// Writes text to stdout, reporting failures (such as a closed pipe) instead of panicking as
/// `println!` would.
pub(crate) fn out(text: &str) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(text.as_bytes()).context("could not write to stdout")?;
    stdout.flush().context("could not write to stdout")?;
    Ok(())
}

/// Writes a note for the person at the terminal (next-page hints, "nothing found") to stderr,
/// so stdout carries only the answer.
pub(crate) fn note(text: &str) {
    eprintln!("{text}");
}

/// A mistake in the arguments, found before anything was sent, with its own hint.
#[derive(Debug)]
pub(crate) struct Usage {
    message: String,
    hint: String,
}

impl std::error::Error for Usage {}

impl Usage {
    pub(crate) fn new(message: impl Into<String>, hint: impl Into<String>) -> Usage {
        Usage { message: message.into(), hint: hint.into() }
    }
}

impl std::fmt::Display for Usage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// A failure found by the CLI itself (a name that matches nothing, an ambiguous Message-ID),
/// with the command to run next.
#[derive(Debug)]
pub(crate) struct Hinted {
    message: String,
    hint: String,
}

impl std::error::Error for Hinted {}

impl Hinted {
    pub(crate) fn new(message: impl Into<String>, hint: impl Into<String>) -> Hinted {
        Hinted { message: message.into(), hint: hint.into() }
    }
}

impl std::fmt::Display for Hinted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// Ends a command with a non-zero exit status that is not an error: the command has said
/// what there was to say (such as `messages wait` when nothing arrived in time).
#[derive(Debug)]
pub(crate) struct Exit(pub(crate) i32);

impl std::error::Error for Exit {}

impl std::fmt::Display for Exit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "exit status {}", self.0)
    }
}

/// What to print for a failed command, and the exit status.
#[derive(Debug, PartialEq)]
struct Report {
    text: String,
    exit_code: i32,
}

/// Turns a failure into `error: …` plus a hint, mapping each kind of client error arm by arm.
fn render_error(err: &anyhow::Error, url: &str, noun: &str) -> Report {
    if let Some(Exit(code)) = err.downcast_ref::<Exit>() {
        return Report { text: String::new(), exit_code: *code };
    }
    if let Some(usage) = err.downcast_ref::<Usage>() {
        return Report { text: format!("error: {}\nhint: {}\n", usage.message, usage.hint), exit_code: 2 };
    }
    if let Some(h) = err.downcast_ref::<Hinted>() {
        return Report { text: format!("error: {}\nhint: {}\n", h.message, h.hint), exit_code: 1 };
    }
    let Some(client_err) = err.chain().find_map(|e| e.downcast_ref::<ClientError>()) else {
        // A local failure (reading an attachment, writing output): the context chain says it all.
        return Report { text: format!("error: {err:#}\n"), exit_code: 1 };
    };
    // Context added on top of the client error, such as "could not read the event log".
    let context: Vec<String> =
        err.chain().take_while(|e| e.downcast_ref::<ClientError>().is_none()).map(|e| e.to_string()).collect();
    let prefix = if context.is_empty() { String::new() } else { format!("{}: ", context.join(": ")) };
    let (message, hint) = match client_err {
        ClientError::Api { status, code, message } => (format!("{message} ({code})"), api_hint(*status, noun)),
        ClientError::Transport(_) => (
            client_err.to_string(),
            Some(format!(
                "is `mailroom serve` running at {url}? Start it, or point --url / MAILROOM_URL at where it listens"
            )),
        ),
        ClientError::Decode { .. } => (
            client_err.to_string(),
            Some("the server and this CLI may be different versions: compare `mailroom --version` on both".into()),
        ),
        ClientError::InvalidInput(message) => {
            (message.clone(), Some("check --url / MAILROOM_URL and --api-key / MAILROOM_API_KEY".into()))
        }
        ClientError::Protocol(message) => (
            message.clone(),
            Some(
                "check that --url / MAILROOM_URL points at `mailroom serve` itself, or that the proxy in front of \
                  it passes event streams through"
                    .into(),
            ),
        ),
    };
    let mut text = format!("error: {prefix}{message}\n");
    if let Some(hint) = hint {
        text.push_str(&format!("hint: {hint}\n"));
    }
    Report { text, exit_code: 1 }
}

/// Says what to do next after the server refused a request.
fn api_hint(status: u16, noun: &str) -> Option<String> {
    let hint = match status {
        400 | 422 => "fix the value the message names and run the command again".to_string(),
        401 => "check MAILROOM_API_KEY or --api-key: the admin key is in <data-dir>/admin-api-key, written when \
                `mailroom serve` first starts"
            .to_string(),
        403 => "this key may not do that: site keys reach only their own site; sites and admin keys need the \
                admin key"
            .to_string(),
        404 => match noun {
            "messages" | "threads" => format!(
                "check the ids: `mailroom mailboxes list` and `mailroom {noun} list MAILBOX_ID` show what this key \
                 can see"
            ),
            "queue" => "check the message id and address: `mailroom queue list` shows the waiting recipients and \
                        `mailroom messages get MESSAGE_ID` every recipient of a message"
                .to_string(),
            "suppressions" => "check the address: `mailroom suppressions list` shows the suppressed addresses (with \
                               an admin key, pass --site-id for a site other than the default one)"
                .to_string(),
            "attachments" => "check the attachment id: `mailroom messages get MESSAGE_ID` lists a message's \
                              attachments"
                .to_string(),
            "import" | "export" => "check the mailbox: `mailroom mailboxes list` shows the mailboxes this key can see"
                .to_string(),
            _ => format!("check the id: `mailroom {noun} list` shows what this key can see"),
        },
        409 => match noun {
            "domains" => "the domain is already hosted, by a site or by the server's configuration: \
                          `mailroom domains list` shows the added domains"
                .to_string(),
            "queue" => "the recipient's state does not allow this: only deferred, bounced or failed recipients can \
                        be retried, and only queued, sending or deferred ones cancelled; `mailroom messages get \
                        MESSAGE_ID` shows each recipient's status"
                .to_string(),
            _ => "it conflicts with something that exists (a name, client id or idempotency key already used): \
                  choose another value or use the existing one"
                .to_string(),
        },
        413 => "the request is too large: send smaller or fewer attachments".to_string(),
        429 => "too many requests: wait a little and try again".to_string(),
        500..=599 => "the server failed: its log (the output of `mailroom serve`) says why".to_string(),
        _ => return None,
    };
    Some(hint)
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().filter_map(|e| e.downcast_ref::<std::io::Error>()).any(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
}

/// Prints a page's next-cursor hint on stderr.
pub(crate) fn next_page_note(next_cursor: Option<&str>, flag: &str) {
    if let Some(cursor) = next_cursor {
        note(&format!("more: run again with {flag} {cursor}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{CommandFactory, Parser, Subcommand};

    /// The shape main.rs wires: client args at the top, client nouns beside `serve`.
    #[derive(Debug, Parser)]
    #[command(name = "mailroom")]
    struct TestCli {
        #[command(flatten)]
        client: ClientArgs,
        #[command(subcommand)]
        command: TestCommand,
    }

    #[derive(Debug, Subcommand)]
    enum TestCommand {
        /// Run the server.
        Serve,
        #[command(flatten)]
        Client(ClientCommand),
    }

    fn parse(args: &[&str]) -> TestCli {
        let mut all = vec!["mailroom"];
        all.extend_from_slice(args);
        TestCli::try_parse_from(all).unwrap_or_else(|e| panic!("{args:?}: {e}"))
    }

    fn fails(args: &[&str]) -> clap::error::ErrorKind {
        let mut all = vec!["mailroom"];
        all.extend_from_slice(args);
        TestCli::try_parse_from(all).expect_err("should not parse").kind()
    }

    #[test]
    fn the_command_tree_is_consistent() {
        TestCli::command().debug_assert();
    }

    #[test]
    fn global_flags_work_after_the_subcommand() {
        let cli = parse(&["mailboxes", "list", "--json", "--url", "http://x:1", "--api-key", "k"]);
        assert!(cli.client.json);
        assert_eq!(cli.client.url, "http://x:1");
        assert_eq!(cli.client.api_key.as_deref(), Some("k"));
        assert!(matches!(cli.command, TestCommand::Client(ClientCommand::Mailboxes(_))));
    }

    #[test]
    fn every_documented_command_parses() {
        let id = "0190f5a0-0000-7000-8000-000000000001";
        let ok: Vec<Vec<&str>> = vec![
            vec!["sites", "create", "--name", "Acme"],
            vec!["sites", "list"],
            vec!["keys", "create", "--name", "ci", "--scope", "site", "--site-id", id],
            vec!["keys", "create", "--name", "root", "--scope", "admin"],
            vec!["keys", "list"],
            vec!["keys", "delete", id],
            vec!["mailboxes", "create", "bot", "--domain", "example.test", "--display-name", "Bot", "--client-id", "c"],
            vec!["mailboxes", "list", "--cursor", "abc", "--limit", "10"],
            vec!["mailboxes", "get", id],
            vec!["mailboxes", "update", id, "--display-name", ""],
            vec!["mailboxes", "delete", id],
            vec![
                "messages",
                "send",
                "--from-mailbox",
                id,
                "--to",
                "a@x.test",
                "--to",
                "B <b@x.test>",
                "--cc",
                "c@x.test",
                "--bcc",
                "d@x.test",
                "--subject",
                "Hi",
                "--text",
                "hello",
                "--html",
                "<p>hello</p>",
                "--attach",
                "a.pdf",
                "--attach",
                "b.png",
                "--header",
                "X-A=1",
                "--header",
                "X-B=2",
                "--in-reply-to",
                id,
                "--idempotency-key",
                "k1",
            ],
            vec!["messages", "send", "--from-mailbox", id, "--bcc", "d@x.test", "--subject", "", "--text-file", "-"],
            vec![
                "messages",
                "list",
                id,
                "--direction",
                "inbound",
                "--thread-id",
                id,
                "--unread",
                "--label",
                "l",
                "--since",
                "2026-01-01T00:00:00Z",
                "--limit",
                "5",
                "--cursor",
                "c",
            ],
            vec!["messages", "get", id],
            vec!["messages", "raw", id],
            vec!["messages", "reply", id, "--text", "thanks", "--reply-all"],
            vec!["messages", "reply", id, "--html-file", "r.html", "--idempotency-key", "r1"],
            vec!["messages", "update", id, "--read", "--label", "done", "--label", "x"],
            vec!["messages", "update", id, "--unread", "--remove-label", "done"],
            vec!["messages", "delete", id],
            vec!["threads", "list", id, "--limit", "3"],
            vec!["threads", "get", id],
            vec!["events", "list", "--after", "c", "--limit", "100"],
            vec!["events", "tail"],
            vec!["events", "tail", "--follow", "--after", "c"],
            vec!["events", "tail", "-f", "--mailbox", id, "--type", "message.received", "--type", "message.sent"],
            vec!["events", "tail", "--type", "message.received", "--json"],
            vec!["messages", "wait", id],
            vec!["messages", "wait", id, "--after", "42", "--timeout", "60"],
            vec!["messages", "wait", id, "--timeout", "0", "--json"],
            vec!["webhooks", "create", "https://x.test/h"],
            vec![
                "webhooks",
                "create",
                "https://x.test/h",
                "--event",
                "message.received",
                "--event",
                "message.sent",
                "--mailbox",
                id,
                "--description",
                "CRM",
                "--disabled",
                "--site-id",
                id,
            ],
            vec!["webhooks", "list"],
            vec!["webhooks", "get", id],
            vec!["webhooks", "update", id, "--endpoint-url", "https://y.test/", "--event", "message.sent", "--enable"],
            vec!["webhooks", "update", id, "--all-events", "--all-mailboxes", "--description", "", "--disable"],
            vec!["webhooks", "delete", id],
            vec!["webhooks", "rotate-secret", id],
            vec!["webhooks", "deliveries", id, "--limit", "10", "--cursor", "c"],
            vec!["webhooks", "replay", id],
            vec!["webhooks", "replay", id, "--after", "42"],
            vec!["domains", "add", "agents.example.com"],
            vec!["domains", "add", "agents.example.com", "--site-id", id],
            vec!["domains", "list"],
            vec!["domains", "get", id],
            vec!["domains", "dns", id],
            vec!["domains", "dns", id, "--zone"],
            vec!["domains", "delete", id],
            vec!["queue", "list"],
            vec!["queue", "list", "--status", "queued,deferred", "--limit", "1000", "--site-id", id],
            vec!["queue", "list", "--status", "all"],
            vec!["queue", "retry", id],
            vec!["queue", "retry", id, "bob+tag@example.com"],
            vec!["queue", "cancel", id],
            vec!["queue", "cancel", id, "bob@example.com"],
            vec!["suppressions", "list", "--cursor", "a@x.test", "--limit", "10", "--site-id", id],
            vec!["suppressions", "add", "bob@example.com"],
            vec![
                "suppressions",
                "add",
                "bob@example.com",
                "--reason",
                "hard_bounce",
                "--detail",
                "550",
                "--site-id",
                id,
            ],
            vec!["suppressions", "add", "bob@example.com", "--reason", "unsubscribe"],
            vec!["suppressions", "remove", "bob+tag@example.com", "--site-id", id],
        ];
        for args in ok {
            parse(&args);
        }
    }

    #[test]
    fn mistakes_are_caught_before_anything_is_sent() {
        use clap::error::ErrorKind::*;
        let id = "0190f5a0-0000-7000-8000-000000000001";
        assert_eq!(fails(&["mailboxes", "get", "not-an-id"]), ValueValidation);
        assert_eq!(fails(&["messages", "send", "--from-mailbox", id, "--subject", "s"]), MissingRequiredArgument);
        assert_eq!(
            fails(&[
                "messages",
                "send",
                "--from-mailbox",
                id,
                "--to",
                "a@x.test",
                "--subject",
                "s",
                "--text",
                "a",
                "--text-file",
                "f"
            ]),
            ArgumentConflict
        );
        assert_eq!(fails(&["messages", "update", id, "--read", "--unread"]), ArgumentConflict);
        assert_eq!(fails(&["messages", "list", id, "--since", "yesterday"]), ValueValidation);
        assert_eq!(fails(&["messages", "list", id, "--direction", "sideways"]), InvalidValue);
        assert_eq!(fails(&["messages", "list", id, "--limit", "0"]), ValueValidation);
        assert_eq!(fails(&["keys", "create", "--name", "k", "--scope", "root"]), InvalidValue);
        assert_eq!(fails(&["domains", "get", "agents.example.com"]), ValueValidation);
        assert_eq!(fails(&["domains", "add"]), MissingRequiredArgument);
        assert_eq!(fails(&["queue", "list", "--status", "waiting"]), ValueValidation);
        assert_eq!(fails(&["queue", "list", "--limit", "1001"]), ValueValidation);
        assert_eq!(fails(&["queue", "retry", "bob@example.com"]), ValueValidation);
        assert_eq!(fails(&["queue", "cancel"]), MissingRequiredArgument);
        assert_eq!(fails(&["suppressions", "add", "bob@example.com", "--reason", "spam"]), InvalidValue);
        assert_eq!(fails(&["suppressions", "remove"]), MissingRequiredArgument);
        assert_eq!(fails(&["suppressions", "list", "--limit", "101"]), ValueValidation);
        assert_eq!(fails(&["messages", "wait", id, "--timeout", "61"]), ValueValidation);
        assert_eq!(fails(&["messages", "wait"]), MissingRequiredArgument);
        assert_eq!(fails(&["events", "tail", "--mailbox", "not a mailbox"]), ValueValidation);
        assert_eq!(fails(&["events", "tail", "--type", "message.received,message.sent"]), ValueValidation);
        assert_eq!(fails(&["webhooks", "create", "--event", "message.sent"]), MissingRequiredArgument);
        assert_eq!(fails(&["webhooks", "update", id, "--enable", "--disable"]), ArgumentConflict);
        assert_eq!(fails(&["webhooks", "replay", "x"]), ValueValidation);
        assert_eq!(
            fails(&[
                "messages",
                "send",
                "--from-mailbox",
                id,
                "--to",
                "a@x.test",
                "--subject",
                "s",
                "--header",
                "nope"
            ]),
            ValueValidation
        );
    }

    #[test]
    fn api_errors_print_message_code_and_hint() {
        let err = anyhow::Error::from(ClientError::Api {
            status: 401,
            code: "unauthorized".into(),
            message: "The API key is missing or unknown.".into(),
        });
        let report = render_error(&err, "http://127.0.0.1:8025", "mailboxes");
        assert_eq!(report.exit_code, 1);
        assert_eq!(
            report.text,
            "error: The API key is missing or unknown. (unauthorized)\nhint: check MAILROOM_API_KEY or --api-key: the \
             admin key is in <data-dir>/admin-api-key, written when `mailroom serve` first starts\n"
        );
    }

    #[test]
    fn not_found_hints_name_the_noun_and_context_is_kept() {
        let err = anyhow::Error::from(ClientError::Api {
            status: 404,
            code: "not_found".into(),
            message: "No such thread.".into(),
        })
        .context("could not read the thread");
        let report = render_error(&err, "http://h", "threads");
        assert_eq!(
            report.text,
            "error: could not read the thread: No such thread. (not_found)\nhint: check the ids: `mailroom mailboxes \
             list` and `mailroom threads list MAILBOX_ID` show what this key can see\n"
        );
    }

    #[test]
    fn queue_suppression_and_domain_errors_get_their_own_hints() {
        let api = |status: u16, code: &str| {
            anyhow::Error::from(ClientError::Api { status, code: code.into(), message: "m.".into() })
        };
        let err = api(409, "invalid_state").context("could not retry a@x.test");
        let text = render_error(&err, "u", "queue").text;
        assert!(
            text.starts_with("error: could not retry a@x.test: m. (invalid_state)\nhint: the recipient's state"),
            "{text}"
        );
        assert!(text.contains("`mailroom messages get MESSAGE_ID`"), "{text}");
        let text = render_error(&api(404, "not_found"), "u", "queue").text;
        assert!(text.contains("hint: check the message id and address: `mailroom queue list`"), "{text}");
        let text = render_error(&api(404, "not_found"), "u", "suppressions").text;
        assert!(text.contains("hint: check the address: `mailroom suppressions list`"), "{text}");
        let text = render_error(&api(409, "domain_taken"), "u", "domains").text;
        assert!(text.contains("hint: the domain is already hosted"), "{text}");
        let text = render_error(&api(404, "not_found"), "u", "domains").text;
        assert!(text.contains("hint: check the id: `mailroom domains list`"), "{text}");
        // Other nouns keep the generic conflict hint.
        assert!(render_error(&api(409, "conflict"), "mailboxes", "mailboxes").text.contains("choose another value"));
    }

    #[test]
    fn the_endpoint_url_is_not_mistaken_for_the_server_address() {
        let cli = parse(&["webhooks", "create", "https://crm.example.com/hook", "--url", "http://mailroom:8025"]);
        assert_eq!(cli.client.url, "http://mailroom:8025");
        let TestCommand::Client(ClientCommand::Webhooks(cmd)) = cli.command else { panic!("{:?}", cli.command) };
        assert!(format!("{cmd:?}").contains("https://crm.example.com/hook"), "{cmd:?}");
        let cli = parse(&["webhooks", "create", "https://crm.example.com/hook"]);
        assert_eq!(cli.client.url, mailroom_client::DEFAULT_URL);
    }

    #[test]
    fn no_command_hides_a_connection_or_output_flag() {
        // Clap does not pass a global flag down to a subcommand with an argument of the same
        // id, so such an argument would silently take `--url`, `--api-key` or `--json`.
        fn walk(cmd: &clap::Command, path: &str, found: &mut Vec<String>) {
            for arg in cmd.get_arguments() {
                if !arg.is_global_set() && ["url", "api_key", "json"].contains(&arg.get_id().as_str()) {
                    found.push(format!("{path} {}", arg.get_id()));
                }
            }
            for sub in cmd.get_subcommands() {
                walk(sub, &format!("{path} {}", sub.get_name()), found);
            }
        }
        let mut found = Vec::new();
        walk(&TestCli::command(), "mailroom", &mut found);
        assert!(found.is_empty(), "{found:?}");
    }

    #[test]
    fn a_quiet_exit_prints_nothing_and_keeps_its_status() {
        let err = anyhow::Error::from(Exit(messages::WAIT_TIMEOUT_EXIT));
        assert_eq!(render_error(&err, "u", "messages"), Report { text: String::new(), exit_code: 3 });
    }

    #[test]
    fn the_wait_help_documents_the_exit_status() {
        let mut cmd = TestCli::command();
        let help = cmd.find_subcommand_mut("messages").unwrap().find_subcommand_mut("wait").unwrap().render_help();
        let help = help.to_string();
        assert!(help.contains("Exit status: 0 when a message arrived"), "{help}");
        assert!(help.contains("3 when the timeout passed"), "{help}");
    }

    #[test]
    fn streams_that_are_not_event_streams_point_at_the_proxy() {
        let err = anyhow::Error::from(ClientError::Protocol("GET /v1/events/stream answered with `text/html`".into()))
            .context("the event stream ended");
        let report = render_error(&err, "u", "events");
        assert_eq!(report.exit_code, 1);
        assert!(
            report
                .text
                .starts_with("error: the event stream ended: GET /v1/events/stream answered with `text/html`\nhint: "),
            "{}",
            report.text
        );
        assert!(report.text.contains("passes event streams through"), "{}", report.text);
    }

    #[test]
    fn usage_and_local_errors() {
        let report = render_error(&Usage::new("no API key given", "set it").into(), "u", "sites");
        assert_eq!(report, Report { text: "error: no API key given\nhint: set it\n".into(), exit_code: 2 });
        let err = anyhow::anyhow!("No such file or directory").context("could not read `a.pdf`");
        assert_eq!(
            render_error(&err, "u", "messages").text,
            "error: could not read `a.pdf`: No such file or directory\n"
        );
    }

    #[test]
    fn unknown_statuses_get_no_made_up_hint() {
        let err = anyhow::Error::from(ClientError::from_response(418, b""));
        let report = render_error(&err, "u", "sites");
        assert!(report.text.starts_with("error: the server answered HTTP 418"), "{}", report.text);
        assert!(!report.text.contains("hint:"));
    }

    #[tokio::test]
    async fn an_unreachable_server_gets_the_serve_hint() {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let url = format!("http://127.0.0.1:{port}");
        let client = Client::new(&url, "k").unwrap();
        let err = anyhow::Error::from(client.list_sites().await.unwrap_err());
        let report = render_error(&err, &url, "sites");
        assert!(
            report.text.starts_with(&format!("error: the Mailroom server could not be reached at {url}")),
            "{}",
            report.text
        );
        assert!(report.text.contains(&format!("hint: is `mailroom serve` running at {url}?")), "{}", report.text);
    }

    #[test]
    fn broken_pipes_are_recognised_through_context() {
        let err = anyhow::Error::from(std::io::Error::from(std::io::ErrorKind::BrokenPipe)).context("could not write");
        assert!(is_broken_pipe(&err));
        assert!(!is_broken_pipe(&anyhow::anyhow!("other")));
    }
}
