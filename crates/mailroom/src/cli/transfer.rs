//! `mailroom import` and `mailroom export`: mail in and out of a mailbox as mbox files,
//! Maildirs or .eml files, raw bytes unchanged both ways.
//!
//! Import streams: an mbox is read line by line and each message is sent to the server's
//! import route (`POST /v1/mailboxes/{id}/import`) as soon as it is complete, so memory holds
//! one message at a time whatever the file's size. The server stores it through the engine
//! (threaded, searchable) and answers whether it was new, so a re-run imports nothing twice.
//!
//! mbox files use the mboxrd convention both ways: on export every line of a message that
//! starts with `From ` after any number of `>` gets one more `>`; on import one `>` is taken
//! off such lines. That makes the round trip exact, even for a message that itself contains
//! `>From ` lines. Each message is followed by one empty line, which import removes again.

use super::resolve::MailboxRef;
use super::{Ctx, Hinted, note, out};
use anyhow::Context as _;
use bytes::Bytes;
use mailroom_client::Client;
use mailroom_core::api::MessageQuery;
use mailroom_core::ids::{MailboxId, MessageId};
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Without a terminal, a progress line is printed every this many messages.
const PLAIN_PROGRESS_EVERY: u64 = 1000;

/// `mailroom import <format>`.
#[derive(Debug, clap::Subcommand)]
pub enum ImportCommand {
    /// Import every message of an mbox file (mboxrd quoting; mboxo files work too).
    Mbox(ImportArgs),
    /// Import every message of a Maildir (its `cur/` and `new/` folders).
    Maildir(ImportArgs),
    /// Import one .eml file, or every .eml file of a directory.
    Eml(ImportArgs),
}

/// Where to import from and into.
#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    /// The mbox file, Maildir or .eml file or directory.
    path: PathBuf,
    /// The mailbox to import into: its address or id.
    #[arg(long, value_name = "ADDRESS")]
    mailbox: MailboxRef,
}

/// `mailroom export`.
#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// The mailbox to export: its address or id.
    #[arg(long, value_name = "ADDRESS")]
    mailbox: MailboxRef,
    /// The format to write.
    #[arg(long, value_enum)]
    format: ExportFormat,
    /// The mbox file or Maildir directory to write.
    path: PathBuf,
    /// Replace an existing mbox file.
    #[arg(long)]
    force: bool,
}

/// An export format.
#[derive(Debug, Clone, Copy, PartialEq, clap::ValueEnum)]
pub enum ExportFormat {
    /// One file, messages separated by `From ` lines (mboxrd).
    Mbox,
    /// A directory with `cur/`, `new/` and `tmp/`, one file per message.
    Maildir,
}

/// Counts of an import, printed as its summary.
#[derive(Debug, Default)]
struct Tally {
    read: u64,
    imported: u64,
    existing: u64,
    failed: u64,
    first_failure: Option<String>,
}

/// Shows how an import or export goes: a bar on a terminal, a line every
/// [`PLAIN_PROGRESS_EVERY`] messages otherwise.
struct Progress {
    bar: Option<indicatif::ProgressBar>,
    verb: &'static str,
    printed: std::cell::Cell<u64>,
}

impl Progress {
    fn new(total: u64, bytes: bool, verb: &'static str) -> Progress {
        use std::io::IsTerminal as _;
        if !std::io::stderr().is_terminal() {
            return Progress { bar: None, verb, printed: Default::default() };
        }
        let bar = indicatif::ProgressBar::new(total);
        let template = if bytes { "{bar:40} {bytes}/{total_bytes} {msg} {eta}" } else { "{bar:40} {pos}/{len} {msg} {eta}" };
        if let Ok(style) = indicatif::ProgressStyle::with_template(template) {
            bar.set_style(style);
        }
        Progress { bar: Some(bar), verb, printed: Default::default() }
    }

    fn update(&self, position: u64, t: &Tally) {
        match &self.bar {
            Some(bar) => {
                bar.set_position(position);
                bar.set_message(format!("{} {}, {} already there", t.imported, self.verb, t.existing));
            }
            None if t.read / PLAIN_PROGRESS_EVERY > self.printed.get() / PLAIN_PROGRESS_EVERY => {
                self.printed.set(t.read);
                note(&format!("{} messages read: {} {}, {} already there, {} failed", t.read, t.imported, self.verb, t.existing, t.failed));
            }
            None => {}
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

pub(crate) async fn import(ctx: &Ctx, cmd: ImportCommand) -> anyhow::Result<()> {
    let (kind, args) = match cmd {
        ImportCommand::Mbox(a) => ("mbox", a),
        ImportCommand::Maildir(a) => ("maildir", a),
        ImportCommand::Eml(a) => ("eml", a),
    };
    let mailbox = args.mailbox.resolve(&ctx.client).await?;
    let started = Instant::now();
    let mut importer = Importer::new(&ctx.client, mailbox);
    match kind {
        "mbox" => import_mbox(&mut importer, &args.path).await?,
        "maildir" => {
            let files = maildir_files(&args.path)?;
            import_files(&mut importer, files).await?;
        }
        _ => {
            let files = eml_files(&args.path)?;
            import_files(&mut importer, files).await?;
        }
    }
    let t = importer.tally;
    let secs = started.elapsed().as_secs_f64();
    if ctx.json {
        ctx.print_json(&serde_json::json!({
            "read": t.read, "imported": t.imported, "already_there": t.existing, "failed": t.failed, "seconds": secs,
        }))?;
    } else {
        out(&format!(
            "Imported {} of {} messages into {} in {:.1} s ({} already there, {} failed).\n",
            t.imported, t.read, args.mailbox, secs, t.existing, t.failed
        ))?;
    }
    if let Some(first) = t.first_failure {
        return Err(Hinted::new(
            format!("{} message(s) could not be imported; the first: {first}", t.failed),
            "the others were imported; fix or remove the refused messages and run the same import again (it skips what is there)",
        )
        .into());
    }
    Ok(())
}

/// Messages are sent in batches of at most this many…
const BATCH_MESSAGES: usize = 250;
/// …and about this many bytes (before base64), well under the server's default body limit.
const BATCH_BYTES: usize = 8 * 1024 * 1024;

struct Importer<'a> {
    client: &'a Client,
    mailbox: MailboxId,
    tally: Tally,
    batch: Vec<(Bytes, String)>,
    batch_bytes: usize,
}

impl Importer<'_> {
    fn new(client: &Client, mailbox: MailboxId) -> Importer<'_> {
        Importer { client, mailbox, tally: Tally::default(), batch: Vec::new(), batch_bytes: 0 }
    }

    /// Queues one message, sending the batch when it is full.
    async fn send(&mut self, raw: Vec<u8>, origin: &str) -> anyhow::Result<()> {
        if !self.batch.is_empty() && (self.batch.len() >= BATCH_MESSAGES || self.batch_bytes + raw.len() > BATCH_BYTES) {
            self.flush().await?;
        }
        self.batch_bytes += raw.len();
        self.batch.push((Bytes::from(raw), origin.to_string()));
        Ok(())
    }

    /// Sends the queued messages as one batch. When the server refuses the batch because of
    /// one message, they are sent one by one so only the bad ones are left out.
    async fn flush(&mut self) -> anyhow::Result<()> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let batch = std::mem::take(&mut self.batch);
        self.batch_bytes = 0;
        let raws: Vec<Bytes> = batch.iter().map(|(r, _)| r.clone()).collect();
        match self.client.import_messages(self.mailbox, &raws).await {
            Ok(results) => {
                for r in results {
                    self.tally.read += 1;
                    if r.imported {
                        self.tally.imported += 1;
                    } else {
                        self.tally.existing += 1;
                    }
                }
                Ok(())
            }
            Err(e) if refusal(&e) => {
                for (raw, origin) in batch {
                    self.one(raw, &origin).await?;
                }
                Ok(())
            }
            Err(e) => Err(anyhow::Error::from(e).context(format!("the import stopped at {}", batch[0].1))),
        }
    }

    async fn one(&mut self, raw: Bytes, origin: &str) -> anyhow::Result<()> {
        self.tally.read += 1;
        match self.client.import_message(self.mailbox, raw).await {
            Ok(r) if r.imported => self.tally.imported += 1,
            Ok(_) => self.tally.existing += 1,
            Err(e) if refusal(&e) => {
                self.tally.failed += 1;
                if self.tally.first_failure.is_none()
                    && let mailroom_client::ClientError::Api { message, code, .. } = &e
                {
                    self.tally.first_failure = Some(format!("{origin}: {message} ({code})"));
                }
            }
            Err(e) => return Err(anyhow::Error::from(e).context(format!("the import stopped at {origin}"))),
        }
        Ok(())
    }
}

/// Tells whether the server refused the content (a bad or too large message), as opposed to
/// the key, the mailbox or the connection.
fn refusal(e: &mailroom_client::ClientError) -> bool {
    matches!(e, mailroom_client::ClientError::Api { status: 400 | 413 | 415 | 422, .. })
}

/// Reads an mbox line by line, sending each message as soon as the next `From ` line (or the
/// end of the file) closes it.
async fn import_mbox(importer: &mut Importer<'_>, path: &Path) -> anyhow::Result<()> {
    let file = std::fs::File::open(path).with_context(|| format!("could not open the mbox file {}", path.display()))?;
    let total = file.metadata().map(|m| m.len()).unwrap_or(0);
    let mut reader = BufReader::with_capacity(256 * 1024, file);
    let progress = Progress::new(total, true, "imported");
    let mut consumed = 0u64;
    let mut current: Option<Vec<u8>> = None;
    let mut line = Vec::new();
    let mut number = 0u64;
    loop {
        line.clear();
        let n = reader.read_until(b'\n', &mut line).with_context(|| format!("could not read {}", path.display()))?;
        if n == 0 {
            break;
        }
        consumed += n as u64;
        if line.starts_with(b"From ") {
            if let Some(done) = current.take() {
                number += 1;
                importer.send(finish_mbox_message(done), &format!("message {number} of {}", path.display())).await?;
                progress.update(consumed, &importer.tally);
            }
            current = Some(Vec::new());
            continue;
        }
        match current.as_mut() {
            Some(buf) => buf.extend_from_slice(unquote_from(&line)),
            None if line.iter().all(u8::is_ascii_whitespace) => {}
            None => {
                progress.finish();
                return Err(Hinted::new(
                    format!("{} is not an mbox file: it does not start with a `From ` line", path.display()),
                    "for a single message use `mailroom import eml`, for a Maildir `mailroom import maildir`",
                )
                .into());
            }
        }
    }
    if let Some(done) = current.take() {
        number += 1;
        importer.send(finish_mbox_message(done), &format!("message {number} of {}", path.display())).await?;
    }
    importer.flush().await?;
    progress.update(consumed, &importer.tally);
    progress.finish();
    Ok(())
}

/// Removes the empty line that separates a message from the next `From ` line.
fn finish_mbox_message(mut raw: Vec<u8>) -> Vec<u8> {
    if raw.ends_with(b"\n") {
        raw.pop();
    }
    raw
}

/// Tells whether a line is `>…>From ` (at least one `>`), the quoted form of a `From ` line.
fn is_quoted_from(line: &[u8]) -> bool {
    let quotes = line.iter().take_while(|&&b| b == b'>').count();
    quotes > 0 && line[quotes..].starts_with(b"From ")
}

/// Takes one `>` off a quoted `From ` line (mboxrd); other lines are unchanged.
fn unquote_from(line: &[u8]) -> &[u8] {
    if is_quoted_from(line) { &line[1..] } else { line }
}

/// Returns the message files of a Maildir, `cur/` and `new/`, in name order (Maildir names
/// start with the delivery time).
fn maildir_files(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    let mut found_folder = false;
    for sub in ["cur", "new"] {
        let folder = dir.join(sub);
        if !folder.is_dir() {
            continue;
        }
        found_folder = true;
        for entry in std::fs::read_dir(&folder).with_context(|| format!("could not read {}", folder.display()))? {
            let entry = entry?;
            if entry.file_type()?.is_file() && !entry.file_name().to_string_lossy().starts_with('.') {
                files.push(entry.path());
            }
        }
    }
    if !found_folder {
        return Err(Hinted::new(
            format!("{} is not a Maildir: it has no cur/ or new/ folder", dir.display()),
            "for an mbox file use `mailroom import mbox`, for .eml files `mailroom import eml`",
        )
        .into());
    }
    files.sort_by(|a, b| a.file_name().cmp(&b.file_name()));
    Ok(files)
}

/// Returns the .eml file itself, or the .eml files of a directory in name order.
fn eml_files(path: &Path) -> anyhow::Result<Vec<PathBuf>> {
    if path.is_file() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut files = Vec::new();
    for entry in std::fs::read_dir(path).with_context(|| format!("could not read {}", path.display()))? {
        let p = entry?.path();
        if p.is_file() && p.extension().is_some_and(|e| e.eq_ignore_ascii_case("eml")) {
            files.push(p);
        }
    }
    if files.is_empty() {
        return Err(Hinted::new(format!("{} holds no .eml files", path.display()), "name a .eml file or a directory of them").into());
    }
    files.sort();
    Ok(files)
}

async fn import_files(importer: &mut Importer<'_>, files: Vec<PathBuf>) -> anyhow::Result<()> {
    let progress = Progress::new(files.len() as u64, false, "imported");
    for (i, file) in files.iter().enumerate() {
        let mut raw = Vec::new();
        std::fs::File::open(file).and_then(|mut f| f.read_to_end(&mut raw)).with_context(|| format!("could not read {}", file.display()))?;
        importer.send(raw, &file.display().to_string()).await?;
        progress.update(i as u64 + 1, &importer.tally);
    }
    importer.flush().await?;
    progress.update(files.len() as u64, &importer.tally);
    progress.finish();
    Ok(())
}

// ----- export -----------------------------------------------------------------------------

pub(crate) async fn export(ctx: &Ctx, args: ExportArgs) -> anyhow::Result<()> {
    let mailbox = args.mailbox.resolve(&ctx.client).await?;
    let started = Instant::now();
    // The listing is newest first; files are written oldest first.
    let mut all: Vec<(MessageId, bool, String, chrono::DateTime<chrono::Utc>)> = Vec::new();
    let mut cursor = None;
    loop {
        let page = ctx.client.list_messages(mailbox, &MessageQuery { cursor: cursor.clone(), limit: Some(100), ..Default::default() }).await?;
        for m in &page.items {
            let sender = m.from.as_ref().map(|f| f.address.to_string()).unwrap_or_else(|| "MAILER-DAEMON".into());
            all.push((m.id, m.read, sender, m.created_at));
        }
        match page.next_cursor {
            Some(next) if !page.items.is_empty() => cursor = Some(next),
            _ => break,
        }
    }
    all.reverse();
    let progress = Progress::new(all.len() as u64, false, "exported");
    let mut tally = Tally::default();
    match args.format {
        ExportFormat::Mbox => {
            if args.path.exists() && !args.force {
                return Err(Hinted::new(format!("{} exists already", args.path.display()), "pass --force to replace it, or choose another path").into());
            }
            let dir = args.path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
            let tmp = tempfile::NamedTempFile::new_in(dir).with_context(|| format!("could not write in {}", dir.display()))?;
            let mut w = std::io::BufWriter::new(tmp);
            for (i, (id, _, sender, at)) in all.iter().enumerate() {
                let raw = ctx.client.get_raw_message(*id).await?;
                write_mbox_message(&mut w, sender, at, &raw).with_context(|| format!("could not write {}", args.path.display()))?;
                tally.read += 1;
                tally.imported += 1;
                progress.update(i as u64 + 1, &tally);
            }
            let tmp = w.into_inner().map_err(|e| e.into_error()).with_context(|| format!("could not write {}", args.path.display()))?;
            tmp.as_file().sync_all().ok();
            tmp.persist(&args.path).with_context(|| format!("could not save {}", args.path.display()))?;
        }
        ExportFormat::Maildir => {
            for sub in ["cur", "new", "tmp"] {
                std::fs::create_dir_all(args.path.join(sub)).with_context(|| format!("could not create {}", args.path.join(sub).display()))?;
            }
            for (i, (id, read, _, at)) in all.iter().enumerate() {
                let raw = ctx.client.get_raw_message(*id).await?;
                // Written in tmp/ and moved into cur/, as Maildir delivery does.
                let name = format!("{}.{:07}_{}.mailroom", at.timestamp(), i + 1, id);
                let flags = if *read { ":2,S" } else { ":2," };
                let tmp = args.path.join("tmp").join(&name);
                let mut f = std::fs::File::create(&tmp).with_context(|| format!("could not write {}", tmp.display()))?;
                f.write_all(&raw).with_context(|| format!("could not write {}", tmp.display()))?;
                std::fs::rename(&tmp, args.path.join("cur").join(format!("{name}{flags}"))).with_context(|| format!("could not move {} into cur/", tmp.display()))?;
                tally.read += 1;
                tally.imported += 1;
                progress.update(i as u64 + 1, &tally);
            }
        }
    }
    progress.finish();
    let secs = started.elapsed().as_secs_f64();
    if ctx.json {
        return ctx.print_json(&serde_json::json!({"exported": tally.read, "path": args.path, "seconds": secs}));
    }
    out(&format!("Exported {} messages of {} to {} in {:.1} s.\n", tally.read, args.mailbox, args.path.display(), secs))
}

/// Writes one message: the `From ` line, the raw bytes with `From ` lines quoted (mboxrd),
/// and the separating empty line.
fn write_mbox_message(w: &mut impl std::io::Write, sender: &str, at: &chrono::DateTime<chrono::Utc>, raw: &[u8]) -> std::io::Result<()> {
    let sender: String = sender.chars().filter(|c| !c.is_whitespace()).collect();
    writeln!(w, "From {} {}", if sender.is_empty() { "MAILER-DAEMON" } else { &sender }, at.format("%a %b %e %H:%M:%S %Y"))?;
    for line in raw.split_inclusive(|&b| b == b'\n') {
        if line.starts_with(b"From ") || is_quoted_from(line) {
            w.write_all(b">")?;
        }
        w.write_all(line)?;
    }
    w.write_all(b"\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Splits an mbox the way `import_mbox` does (without the server).
    fn split(mbox: &[u8]) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        let mut current: Option<Vec<u8>> = None;
        for line in mbox.split_inclusive(|&b| b == b'\n') {
            if line.starts_with(b"From ") {
                out.extend(current.take().map(finish_mbox_message));
                current = Some(Vec::new());
            } else if let Some(buf) = current.as_mut() {
                buf.extend_from_slice(unquote_from(line));
            }
        }
        out.extend(current.map(finish_mbox_message));
        out
    }

    #[test]
    fn mboxrd_round_trips_every_byte() {
        let at = chrono::Utc::now();
        let messages: Vec<&[u8]> = vec![
            b"From: a@x.test\r\nSubject: one\r\n\r\nFrom the start\r\n>From quoted\r\n>>From twice\r\n",
            b"From: b@x.test\nSubject: lf\n\nno final newline",
            b"From: c@x.test\r\n\r\n\r\n\r\n",
            b"From: d@x.test\n\nFrom \nFromage\n",
        ];
        let mut mbox = Vec::new();
        for m in &messages {
            write_mbox_message(&mut mbox, "a b@x.test", &at, m).unwrap();
        }
        let text = String::from_utf8_lossy(&mbox);
        assert!(text.contains("\n>From the start\r\n>>From quoted\r\n>>>From twice\r\n"), "{text}");
        assert!(text.contains("\nFromage\n"), "only `From ` lines are quoted: {text}");
        assert!(text.starts_with("From ab@x.test "), "{text}");
        assert_eq!(split(&mbox), messages.iter().map(|m| m.to_vec()).collect::<Vec<_>>());
    }

    #[test]
    fn quoted_from_lines() {
        assert!(is_quoted_from(b">From x"));
        assert!(is_quoted_from(b">>>From x"));
        assert!(!is_quoted_from(b"From x"));
        assert!(!is_quoted_from(b">Fromage"));
        assert_eq!(unquote_from(b">>From x\n"), b">From x\n");
        assert_eq!(unquote_from(b"> quoted reply\n"), b"> quoted reply\n");
    }
}
