//! `mailroom messages …`: sending, reading, replying, labelling and deleting messages.

use super::content_type;
use super::table::{Table, clip, fields, or_dash, size, time, time_utc};
use super::resolve::{MailboxRef, MessageRef};
use super::{Ctx, Exit, Usage, next_page_note, note, out};
use anyhow::Context as _;
use base64::Engine as _;
use mailroom_core::NamedAddress;
use mailroom_core::api::{
    AttachmentInput, ForwardRequest, MessageQuery, ReplyRequest, SendMessageRequest, SendMessageResponse, UpdateMessageRequest,
};
use mailroom_core::ids::ThreadId;
use mailroom_core::model::{Direction, Message};
use std::collections::BTreeMap;
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};

/// `mailroom messages <verb>`.
#[derive(Debug, clap::Subcommand)]
pub enum MessagesCommand {
    /// Send a message from a mailbox.
    Send(Box<SendArgs>),
    /// List a mailbox's messages, newest first.
    List(Box<ListArgs>),
    /// Show a message: headers, recipients' delivery state, attachments and the text body.
    Get {
        /// The message's id, or its Message-ID when one message carries it.
        id: MessageRef,
    },
    /// Write a message's raw RFC 5322 bytes, exactly as stored, to stdout.
    Raw {
        /// The message's id, or its Message-ID when one message carries it.
        id: MessageRef,
    },
    /// Wait for the next message to arrive in a mailbox and show it like `get`.
    ///
    /// Answers as soon as a message arrives, or when --timeout passes first. Pass the cursor
    /// it prints as --after to wait for the one after without missing any in between.
    #[command(after_help = WAIT_EXIT_STATUS)]
    Wait(WaitArgs),
    /// Reply to a message in its thread.
    Reply(Box<ReplyArgs>),
    /// Forward a message from its mailbox as a new conversation ("Fwd: subject"), quoted
    /// below your note, with its attachments.
    Forward(Box<ForwardArgs>),
    /// Mark a message read or unread and change its labels.
    Update(Box<UpdateArgs>),
    /// Delete a message.
    Delete {
        /// The message's id, or its Message-ID when one message carries it.
        id: MessageRef,
    },
}

/// `mailroom messages forward`.
#[derive(Debug, clap::Args)]
pub struct ForwardArgs {
    /// The message to forward: its id, or its Message-ID when one message carries it.
    id: MessageRef,
    /// A To recipient (repeatable).
    #[arg(long, value_name = "ADDRESS", required_unless_present_any = ["cc", "bcc"])]
    to: Vec<String>,
    /// A Cc recipient (repeatable).
    #[arg(long, value_name = "ADDRESS")]
    cc: Vec<String>,
    /// A blind-copy recipient (repeatable).
    #[arg(long, value_name = "ADDRESS")]
    bcc: Vec<String>,
    /// A note written above the forwarded message.
    #[arg(long)]
    text: Option<String>,
    /// Makes the forward safe to retry: the same key returns the first answer.
    #[arg(long, value_name = "KEY")]
    idempotency_key: Option<String>,
}

/// `mailroom messages send`.
#[derive(Debug, clap::Args)]
pub struct SendArgs {
    /// The mailbox to send from: its address or id.
    #[arg(long, value_name = "MAILBOX")]
    from_mailbox: MailboxRef,
    /// A To recipient, `a@b.test` or `Name <a@b.test>` (repeatable).
    #[arg(long, value_name = "ADDRESS", required_unless_present_any = ["cc", "bcc"])]
    to: Vec<String>,
    /// A Cc recipient (repeatable).
    #[arg(long, value_name = "ADDRESS")]
    cc: Vec<String>,
    /// A blind-copy recipient, never shown in the message (repeatable).
    #[arg(long, value_name = "ADDRESS")]
    bcc: Vec<String>,
    /// A Reply-To address (repeatable).
    #[arg(long, value_name = "ADDRESS")]
    reply_to: Vec<String>,
    /// The subject.
    #[arg(long)]
    subject: String,
    #[command(flatten)]
    content: ContentArgs,
    /// The message this one answers: a message id of the same mailbox or a Message-ID.
    #[arg(long, value_name = "ID")]
    in_reply_to: Option<String>,
    /// Makes the send safe to retry: the same key returns the first answer.
    #[arg(long, value_name = "KEY")]
    idempotency_key: Option<String>,
}

/// The exit status of `messages wait` when the timeout passed with nothing new.
pub(crate) const WAIT_TIMEOUT_EXIT: i32 = 3;

const WAIT_EXIT_STATUS: &str = "Exit status: 0 when a message arrived (it is printed), 3 when the timeout \
                                passed with nothing new (nothing is printed on stdout), 1 on an error, 2 for a \
                                mistake in the arguments.";

/// `mailroom messages wait`.
#[derive(Debug, clap::Args)]
pub struct WaitArgs {
    /// The mailbox to watch: its address or id.
    mailbox: MailboxRef,
    /// Wait for a message received after this cursor (printed by the previous wait); without
    /// it, for one received from now on.
    #[arg(long, value_name = "CURSOR")]
    after: Option<String>,
    /// How long to wait, 0-60 seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(0..=60))]
    timeout: u64,
}

/// `mailroom messages reply`.
#[derive(Debug, clap::Args)]
pub struct ReplyArgs {
    /// The message to answer: its id, or its Message-ID when one message carries it.
    id: MessageRef,
    #[command(flatten)]
    content: ContentArgs,
    /// Also reply to every To and Cc recipient of the original.
    #[arg(long)]
    reply_all: bool,
    /// An extra Cc recipient (repeatable).
    #[arg(long, value_name = "ADDRESS")]
    cc: Vec<String>,
    /// An extra blind-copy recipient (repeatable).
    #[arg(long, value_name = "ADDRESS")]
    bcc: Vec<String>,
    /// Makes the reply safe to retry: the same key returns the first answer.
    #[arg(long, value_name = "KEY")]
    idempotency_key: Option<String>,
}

/// The body, attachments, headers and labels of a message to send.
#[derive(Debug, clap::Args)]
pub struct ContentArgs {
    /// The plain-text body.
    #[arg(long, conflicts_with = "text_file")]
    text: Option<String>,
    /// Read the plain-text body from a file (`-` for stdin).
    #[arg(long, value_name = "PATH")]
    text_file: Option<PathBuf>,
    /// The HTML body.
    #[arg(long, conflicts_with = "html_file")]
    html: Option<String>,
    /// Read the HTML body from a file (`-` for stdin).
    #[arg(long, value_name = "PATH")]
    html_file: Option<PathBuf>,
    /// Attach a file; its type is guessed from the extension (repeatable).
    #[arg(long, value_name = "PATH")]
    attach: Vec<PathBuf>,
    /// Attach a file uploaded first (`mailroom attachments upload`), by its id (repeatable).
    #[arg(long, value_name = "ID")]
    attachment_id: Vec<mailroom_core::ids::AttachmentId>,
    /// Add a header such as `X-Ticket=42` (repeatable).
    #[arg(long, value_name = "NAME=VALUE", value_parser = parse_header)]
    header: Vec<(String, String)>,
    /// Put a label on the sent copy (repeatable).
    #[arg(long, value_name = "LABEL")]
    label: Vec<String>,
}

/// `mailroom messages list`.
#[derive(Debug, clap::Args)]
pub struct ListArgs {
    /// The mailbox: its address or id.
    mailbox: MailboxRef,
    /// Only inbound or only outbound messages.
    #[arg(long, value_enum)]
    direction: Option<DirectionArg>,
    /// Only messages of this thread.
    #[arg(long, value_name = "ID")]
    thread_id: Option<ThreadId>,
    /// Only unread messages.
    #[arg(long, conflicts_with = "read")]
    unread: bool,
    /// Only read messages.
    #[arg(long)]
    read: bool,
    /// Only messages carrying this label.
    #[arg(long)]
    label: Option<String>,
    /// Only messages stored at or after this RFC 3339 time, e.g. 2026-01-31T09:00:00Z.
    #[arg(long, value_name = "TIME", value_parser = parse_since)]
    since: Option<String>,
    /// Only messages whose subject, text, sender or recipients hold every word of this
    /// full-text search, e.g. "invoice alice@example.com".
    #[arg(long, value_name = "WORDS")]
    search: Option<String>,
    /// How many to show, 1-100 [server default: 50].
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=100))]
    limit: Option<u32>,
    /// The cursor printed after the previous page.
    #[arg(long)]
    cursor: Option<String>,
}

/// `mailroom messages update`.
#[derive(Debug, clap::Args)]
pub struct UpdateArgs {
    /// The message's id, or its Message-ID when one message carries it.
    id: MessageRef,
    /// Mark the message read.
    #[arg(long, conflicts_with = "unread")]
    read: bool,
    /// Mark the message unread.
    #[arg(long)]
    unread: bool,
    /// Add a label (repeatable).
    #[arg(long, value_name = "LABEL")]
    label: Vec<String>,
    /// Remove a label (repeatable).
    #[arg(long, value_name = "LABEL")]
    remove_label: Vec<String>,
    /// Replace all labels with the --label values (with none: remove every label).
    #[arg(long, conflicts_with = "remove_label")]
    replace_labels: bool,
}

/// A direction as a command-line value.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum DirectionArg {
    /// Received by the mailbox.
    Inbound,
    /// Sent by the mailbox.
    Outbound,
}

impl From<DirectionArg> for Direction {
    fn from(d: DirectionArg) -> Direction {
        match d {
            DirectionArg::Inbound => Direction::Inbound,
            DirectionArg::Outbound => Direction::Outbound,
        }
    }
}

pub(crate) async fn run(ctx: &Ctx, cmd: MessagesCommand) -> anyhow::Result<()> {
    match cmd {
        MessagesCommand::Send(args) => {
            let content = Content::load(args.content)?;
            let req = SendMessageRequest {
                to: args.to,
                cc: args.cc,
                bcc: args.bcc,
                reply_to: args.reply_to,
                subject: args.subject,
                text: content.text,
                html: content.html,
                attachments: content.attachments,
                headers: content.headers,
                in_reply_to: args.in_reply_to,
                labels: content.labels,
                ..Default::default()
            };
            let from = args.from_mailbox.resolve(&ctx.client).await?;
            let sent = ctx.client.send_message(from, &req, args.idempotency_key.as_deref()).await?;
            print_sent(ctx, &sent)
        }
        MessagesCommand::Reply(args) => {
            let content = Content::load(args.content)?;
            let req = ReplyRequest {
                text: content.text,
                html: content.html,
                reply_all: args.reply_all,
                cc: args.cc,
                bcc: args.bcc,
                attachments: content.attachments,
                headers: content.headers,
                labels: content.labels,
                ..Default::default()
            };
            let id = args.id.resolve(&ctx.client).await?;
            let sent = ctx.client.reply(id, &req, args.idempotency_key.as_deref()).await?;
            print_sent(ctx, &sent)
        }
        MessagesCommand::Forward(args) => {
            let id = args.id.resolve(&ctx.client).await?;
            let req = ForwardRequest { to: args.to, cc: args.cc, bcc: args.bcc, text: args.text, attachments: Vec::new() };
            let sent = ctx.client.forward(id, &req, args.idempotency_key.as_deref()).await?;
            print_sent(ctx, &sent)
        }
        MessagesCommand::List(args) => {
            let query = MessageQuery {
                direction: args.direction.map(|d| Direction::from(d).as_str().to_string()),
                thread_id: args.thread_id,
                unread: match (args.unread, args.read) {
                    (true, _) => Some(true),
                    (_, true) => Some(false),
                    _ => None,
                },
                since: args.since,
                label: args.label,
                q: args.search,
                cursor: args.cursor,
                limit: args.limit,
            };
            let mailbox = args.mailbox.resolve(&ctx.client).await?;
            let page = ctx.client.list_messages(mailbox, &query).await?;
            if ctx.json {
                return ctx.print_json(&page);
            }
            if page.items.is_empty() {
                note("No messages.");
                return Ok(());
            }
            out(&table(&page.items).render())?;
            next_page_note(page.next_cursor.as_deref(), "--cursor");
            Ok(())
        }
        MessagesCommand::Get { id } => {
            let message = ctx.client.get_message(id.resolve(&ctx.client).await?).await?;
            if ctx.json {
                return ctx.print_json(&message);
            }
            out(&details(&message))
        }
        MessagesCommand::Wait(args) => {
            let mailbox = args.mailbox.resolve(&ctx.client).await?;
            let Some(got) = ctx.client.wait_for_message(mailbox, args.after.as_deref(), args.timeout).await?
            else {
                note(&nothing_arrived(&args));
                return Err(Exit(WAIT_TIMEOUT_EXIT).into());
            };
            if ctx.json {
                return ctx.print_json(&got);
            }
            out(&details(&got.message))?;
            note(&format!(
                "cursor {}: wait for the next one with `mailroom messages wait {} --after {}`",
                got.cursor, args.mailbox, got.cursor
            ));
            Ok(())
        }
        MessagesCommand::Raw { id } => {
            let raw = ctx.client.get_raw_message(id.resolve(&ctx.client).await?).await?;
            let mut stdout = std::io::stdout().lock();
            stdout.write_all(&raw).context("could not write to stdout")?;
            stdout.flush().context("could not write to stdout")?;
            Ok(())
        }
        MessagesCommand::Update(args) => {
            let req = update_request(args.read, args.unread, args.label, args.remove_label, args.replace_labels)?;
            let message = ctx.client.update_message(args.id.resolve(&ctx.client).await?, &req).await?;
            if ctx.json {
                return ctx.print_json(&message);
            }
            out(&fields(&[
                ("id", message.id.to_string()),
                ("read", yes_no(message.read)),
                ("labels", or_dash(Some(&message.labels.join(", ")))),
            ]))
        }
        MessagesCommand::Delete { id } => {
            let id = id.resolve(&ctx.client).await?;
            ctx.client.delete_message(id).await?;
            if !ctx.json {
                note(&format!("Deleted message {id}."));
            }
            Ok(())
        }
    }
}

/// What `messages wait` says on stderr when the timeout passed.
fn nothing_arrived(args: &WaitArgs) -> String {
    let mut text = format!("No message arrived within {} s.", args.timeout);
    if let Some(after) = &args.after {
        text.push_str(&format!(" Run again with --after {after} to keep waiting without missing one."));
    }
    text
}

/// Builds the PATCH body, refusing a request that would change nothing.
fn update_request(
    read: bool,
    unread: bool,
    label: Vec<String>,
    remove_label: Vec<String>,
    replace_labels: bool,
) -> Result<UpdateMessageRequest, Usage> {
    if !read && !unread && label.is_empty() && remove_label.is_empty() && !replace_labels {
        return Err(Usage::new(
            "nothing to change",
            "pass --read, --unread, --label, --remove-label or --replace-labels",
        ));
    }
    let read = match (read, unread) {
        (true, _) => Some(true),
        (_, true) => Some(false),
        _ => None,
    };
    Ok(if replace_labels {
        UpdateMessageRequest { read, labels: Some(label), ..Default::default() }
    } else {
        UpdateMessageRequest { read, labels: None, add_labels: label, remove_labels: remove_label }
    })
}

fn print_sent(ctx: &Ctx, sent: &SendMessageResponse) -> anyhow::Result<()> {
    if ctx.json {
        return ctx.print_json(sent);
    }
    out(&sent_text(sent))
}

fn sent_text(sent: &SendMessageResponse) -> String {
    let mut text = fields(&[
        ("id", sent.id.to_string()),
        ("thread", sent.thread_id.to_string()),
        ("message-id", sent.message_id.clone()),
    ]);
    let mut t = Table::new(["RECIPIENT", "STATUS"]);
    for r in &sent.recipients {
        t.row(vec![r.address.to_string(), r.status.to_string()]);
    }
    text.push('\n');
    text.push_str(&t.render());
    text
}

/// The loaded body parts of a message to send.
struct Content {
    text: Option<String>,
    html: Option<String>,
    attachments: Vec<AttachmentInput>,
    headers: BTreeMap<String, String>,
    labels: Vec<String>,
}

impl Content {
    /// Reads the body files and attachments named on the command line.
    fn load(args: ContentArgs) -> anyhow::Result<Content> {
        let stdin_uses =
            [&args.text_file, &args.html_file].iter().filter(|p| p.as_deref() == Some(Path::new("-"))).count();
        if stdin_uses > 1 {
            return Err(Usage::new(
                "--text-file and --html-file cannot both read stdin",
                "give one of them a file path",
            )
            .into());
        }
        let text = match (args.text, args.text_file) {
            (Some(t), _) => Some(t),
            (None, Some(path)) => Some(read_text(&path).context("could not read the text body")?),
            (None, None) => None,
        };
        let html = match (args.html, args.html_file) {
            (Some(h), _) => Some(h),
            (None, Some(path)) => Some(read_text(&path).context("could not read the HTML body")?),
            (None, None) => None,
        };
        let mut attachments = args.attach.iter().map(|p| attachment(p)).collect::<anyhow::Result<Vec<_>>>()?;
        attachments.extend(args.attachment_id.iter().map(|id| AttachmentInput { attachment_id: Some(*id), ..Default::default() }));
        Ok(Content { text, html, attachments, headers: args.header.into_iter().collect(), labels: args.label })
    }
}

fn read_text(path: &Path) -> anyhow::Result<String> {
    if path == Path::new("-") {
        let mut s = String::new();
        std::io::stdin().read_to_string(&mut s).context("could not read stdin")?;
        return Ok(s);
    }
    std::fs::read_to_string(path).with_context(|| format!("could not read `{}`", path.display()))
}

/// Reads a file from disk into an attachment, its type guessed from the extension.
fn attachment(path: &Path) -> anyhow::Result<AttachmentInput> {
    let bytes = std::fs::read(path).with_context(|| format!("could not read the attachment `{}`", path.display()))?;
    let filename = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .with_context(|| format!("`{}` does not name a file", path.display()))?;
    Ok(AttachmentInput {
        attachment_id: None,
        filename,
        content_type: Some(content_type::guess(path).to_string()),
        content_base64: base64::engine::general_purpose::STANDARD.encode(bytes),
        content_id: None,
    })
}

/// Parses `--header Name=value`.
fn parse_header(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((name, value)) if !name.trim().is_empty() => Ok((name.trim().to_string(), value.to_string())),
        _ => Err(format!("`{s}` is not of the form NAME=VALUE, e.g. X-Ticket=42")),
    }
}

/// Checks `--since` locally so a typo is reported before anything is sent.
fn parse_since(s: &str) -> Result<String, String> {
    chrono::DateTime::parse_from_rfc3339(s)
        .map(|_| s.to_string())
        .map_err(|e| format!("`{s}` is not an RFC 3339 time ({e}); write e.g. 2026-01-31T09:00:00Z"))
}

fn yes_no(b: bool) -> String {
    if b { "yes" } else { "no" }.to_string()
}

/// Returns `in` or `out`, short enough for a table column.
pub(crate) fn dir(d: Direction) -> &'static str {
    match d {
        Direction::Inbound => "in",
        Direction::Outbound => "out",
    }
}

/// Returns the first address and how many more there are, such as `a@x.test +2`.
fn first_of(list: &[NamedAddress]) -> String {
    match list {
        [] => "-".to_string(),
        [one] => one.address.to_string(),
        [first, rest @ ..] => format!("{} +{}", first.address, rest.len()),
    }
}

fn all_of(list: &[NamedAddress]) -> String {
    list.iter().map(|a| a.to_string()).collect::<Vec<_>>().join(", ")
}

fn table(messages: &[Message]) -> Table {
    let mut t = Table::new(["ID", "TIME (UTC)", "DIR", "READ", "FROM", "TO", "SUBJECT"]);
    for m in messages {
        t.row(vec![
            m.id.to_string(),
            time(&m.created_at),
            dir(m.direction).to_string(),
            yes_no(m.read),
            clip(&m.from.as_ref().map(|f| f.address.to_string()).unwrap_or_else(|| "-".into()), 40),
            clip(&first_of(&m.to), 40),
            clip(&or_dash(m.subject.as_deref()), 60),
        ]);
    }
    t
}

fn details(m: &Message) -> String {
    let mut pairs: Vec<(&str, String)> = vec![
        ("id", m.id.to_string()),
        ("mailbox", m.mailbox_id.to_string()),
        ("thread", m.thread_id.to_string()),
        ("direction", m.direction.as_str().to_string()),
        ("date", time_utc(&m.created_at)),
        ("from", or_dash(m.from.as_ref().map(|f| f.to_string()).as_deref())),
        ("to", or_dash(Some(&all_of(&m.to)))),
    ];
    for (name, list) in [("cc", &m.cc), ("bcc", &m.bcc), ("reply-to", &m.reply_to)] {
        if !list.is_empty() {
            pairs.push((name, all_of(list)));
        }
    }
    pairs.push(("subject", or_dash(m.subject.as_deref())));
    pairs.push(("message-id", or_dash(m.message_id.as_deref())));
    if let Some(parent) = &m.in_reply_to {
        pairs.push(("in-reply-to", parent.clone()));
    }
    pairs.push(("labels", or_dash(Some(&m.labels.join(", ")))));
    pairs.push(("read", yes_no(m.read)));
    pairs.push(("size", size(m.size)));
    let mut text = fields(&pairs);

    if !m.attachments.is_empty() {
        let mut t = Table::new(["ATTACHMENT", "FILENAME", "TYPE", "SIZE"]);
        for a in &m.attachments {
            t.row(vec![a.id.to_string(), or_dash(a.filename.as_deref()), a.content_type.clone(), size(a.size)]);
        }
        text.push('\n');
        text.push_str(&t.render());
    }
    if !m.recipients.is_empty() {
        let mut t = Table::new(["RECIPIENT", "KIND", "STATUS", "ATTEMPTS", "LAST REPLY"]);
        for r in &m.recipients {
            t.row(vec![
                r.address.to_string(),
                r.kind.as_str().to_string(),
                r.status.to_string(),
                r.attempts.to_string(),
                clip(&or_dash(r.last_reply.as_deref()), 80),
            ]);
        }
        text.push('\n');
        text.push_str(&t.render());
    }
    text.push('\n');
    match (&m.text, &m.html) {
        (Some(body), _) => {
            text.push_str(body);
            if !body.ends_with('\n') {
                text.push('\n');
            }
        }
        (None, Some(html)) => text.push_str(&format!(
            "(HTML body only, {}: see it with --json or `mailroom messages raw {}`)\n",
            size(html.len() as u64),
            m.id
        )),
        (None, None) => text.push_str("(no body)\n"),
    }
    text
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
            "message_id": "abc@example.test",
            "from": {"name": "Bot", "address": "bot@example.test"},
            "to": [{"address": "a@example.com"}, {"address": "b@example.com"}],
            "subject": "Invoice\r\n 42",
            "text": "Hello.",
            "snippet": "Hello.",
            "attachments": [{"id": "0190f5a0-0000-7000-8000-00000000000c", "filename": "i.pdf",
                             "content_type": "application/pdf", "size": 2048}],
            "recipients": [{"address": "a@example.com", "kind": "to", "status": "deferred", "attempts": 2,
                            "last_reply": "451 4.7.1 try later", "updated_at": "2026-01-01T00:00:00Z"}],
            "labels": [],
            "read": false,
            "size": 900,
            "created_at": "2026-01-01T00:00:00Z"
        }))
        .unwrap()
    }

    #[test]
    fn list_rows_summarise_each_message() {
        assert_eq!(
            table(&[message()]).render(),
            "ID                                    TIME (UTC)           DIR  READ  FROM              TO                SUBJECT\n\
             0190f5a0-0000-7000-8000-00000000000a  2026-01-01 00:00:00  out  no    bot@example.test  a@example.com +1  Invoice 42\n"
        );
    }

    #[test]
    fn details_show_attachments_recipients_and_the_body() {
        assert_eq!(
            details(&message()),
            "id          0190f5a0-0000-7000-8000-00000000000a\n\
             mailbox     0190f5a0-0000-7000-8000-000000000001\n\
             thread      0190f5a0-0000-7000-8000-00000000000b\n\
             direction   outbound\n\
             date        2026-01-01 00:00:00 UTC\n\
             from        Bot <bot@example.test>\n\
             to          a@example.com, b@example.com\n\
             subject     Invoice 42\n\
             message-id  abc@example.test\n\
             labels      -\n\
             read        no\n\
             size        900 B\n\
             \n\
             ATTACHMENT                            FILENAME  TYPE             SIZE\n\
             0190f5a0-0000-7000-8000-00000000000c  i.pdf     application/pdf  2.0 KB\n\
             \n\
             RECIPIENT      KIND  STATUS    ATTEMPTS  LAST REPLY\n\
             a@example.com  to    deferred  2         451 4.7.1 try later\n\
             \n\
             Hello.\n"
        );
    }

    #[test]
    fn html_only_messages_point_to_the_raw_form() {
        let mut m = message();
        m.text = None;
        m.html = Some("<p>x</p>".into());
        assert!(details(&m).ends_with("(HTML body only, 8 B: see it with --json or `mailroom messages raw 0190f5a0-0000-7000-8000-00000000000a`)\n"));
    }

    #[test]
    fn a_timed_out_wait_says_how_to_keep_waiting() {
        let args =
            |after: Option<&str>| WaitArgs { mailbox: MailboxRef::Address("a@x.test".into()), after: after.map(str::to_string), timeout: 30 };
        assert_eq!(nothing_arrived(&args(None)), "No message arrived within 30 s.");
        assert_eq!(
            nothing_arrived(&args(Some("41"))),
            "No message arrived within 30 s. Run again with --after 41 to keep waiting without missing one."
        );
    }

    #[test]
    fn headers_parse_as_name_value() {
        assert_eq!(parse_header("X-A=1=2"), Ok(("X-A".into(), "1=2".into())));
        assert_eq!(parse_header("X-Empty="), Ok(("X-Empty".into(), "".into())));
        assert!(parse_header("=v").is_err());
        assert!(parse_header("novalue").is_err());
    }

    #[test]
    fn since_must_be_rfc3339() {
        assert!(parse_since("2026-01-31T09:00:00Z").is_ok());
        assert!(parse_since("2026-01-31T09:00:00+02:00").is_ok());
        assert!(parse_since("2026-01-31").unwrap_err().contains("RFC 3339"));
    }

    #[test]
    fn updates_add_remove_or_replace_labels() {
        let r = update_request(true, false, vec!["a".into()], vec!["b".into()], false).unwrap();
        assert_eq!(
            serde_json::to_value(&r).unwrap(),
            serde_json::json!({"read": true, "add_labels": ["a"], "remove_labels": ["b"]})
        );
        let r = update_request(false, true, vec![], vec![], true).unwrap();
        assert_eq!(serde_json::to_value(&r).unwrap(), serde_json::json!({"read": false, "labels": []}));
        assert!(update_request(false, false, vec![], vec![], false).is_err());
    }

    #[test]
    fn attachments_are_read_typed_and_encoded() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("Report.PDF");
        std::fs::write(&path, b"%PDF-1.7").unwrap();
        let a = attachment(&path).unwrap();
        assert_eq!(a.filename, "Report.PDF");
        assert_eq!(a.content_type.as_deref(), Some("application/pdf"));
        assert_eq!(a.content_base64, "JVBERi0xLjc=");
        let err = attachment(&dir.path().join("missing.txt")).unwrap_err();
        assert!(format!("{err:#}").starts_with("could not read the attachment `"), "{err:#}");
    }

    #[test]
    fn content_prefers_inline_text_and_collects_headers() {
        let dir = tempfile::tempdir().unwrap();
        let html = dir.path().join("b.html");
        std::fs::write(&html, "<p>hi</p>").unwrap();
        let content = Content::load(ContentArgs {
            text: Some("hi".into()),
            text_file: None,
            html: None,
            html_file: Some(html),
            attach: vec![],
            attachment_id: vec![],
            header: vec![("X-A".into(), "1".into())],
            label: vec!["l".into()],
        })
        .unwrap();
        assert_eq!(content.text.as_deref(), Some("hi"));
        assert_eq!(content.html.as_deref(), Some("<p>hi</p>"));
        assert_eq!(content.headers["X-A"], "1");
        assert_eq!(content.labels, ["l"]);
    }

    #[test]
    fn sent_answers_list_each_recipient() {
        let sent: SendMessageResponse = serde_json::from_value(serde_json::json!({
            "id": "0190f5a0-0000-7000-8000-00000000000a",
            "thread_id": "0190f5a0-0000-7000-8000-00000000000b",
            "message_id": "abc@example.test",
            "recipients": [{"address": "a@example.com", "status": "queued"}, {"address": "x@local.test", "status": "delivered"}]
        }))
        .unwrap();
        assert_eq!(
            sent_text(&sent),
            "id          0190f5a0-0000-7000-8000-00000000000a\n\
             thread      0190f5a0-0000-7000-8000-00000000000b\n\
             message-id  abc@example.test\n\
             \n\
             RECIPIENT      STATUS\n\
             a@example.com  queued\n\
             x@local.test   delivered\n"
        );
    }
}
