//! `mailroom attachments download`: an attachment to a file, streamed, with a progress bar
//! for large ones on a terminal.

use super::{Ctx, Hinted, note};
use anyhow::Context as _;
use futures::StreamExt as _;
use mailroom_client::Client;
use mailroom_core::ids::AttachmentId;
use std::io::Write as _;
use std::path::{Path, PathBuf};

/// Downloads at least this large get a progress bar (on a terminal).
const PROGRESS_FROM_BYTES: u64 = 1024 * 1024;

/// `mailroom attachments <verb>`.
#[derive(Debug, clap::Subcommand)]
pub enum AttachmentsCommand {
    /// Upload a file to send later by id (`mailroom messages send --attachment-id ID`, or
    /// `attachments: [{"attachment_id": "ID"}]` in the API); prints its id.
    Upload {
        /// The file.
        path: PathBuf,
        /// Its MIME type [default: guessed from the file name].
        #[arg(long)]
        content_type: Option<String>,
    },
    /// Print a signed URL that downloads an attachment without an API key until it expires.
    Url {
        /// The attachment's id (of a message, or uploaded).
        id: AttachmentId,
        /// How long the URL works (90, 15m, 2h, 7d) [default: 1 hour; at most 7 days].
        #[arg(long, value_name = "DURATION", value_parser = super::usage::duration_secs)]
        expires_in: Option<u64>,
    },
    /// Download an attachment to a file (its own file name in the current directory by
    /// default); `mailroom messages get MESSAGE` lists a message's attachments.
    Download {
        /// The attachment's id.
        id: AttachmentId,
        /// Where to write it; `-` writes to stdout.
        #[arg(long, short = 'o', value_name = "PATH")]
        output: Option<PathBuf>,
        /// Replace the file if it exists.
        #[arg(long)]
        force: bool,
    },
}

pub(crate) async fn run(ctx: &Ctx, cmd: AttachmentsCommand) -> anyhow::Result<()> {
    match cmd {
        AttachmentsCommand::Upload { path, content_type } => {
            let bytes = std::fs::read(&path).with_context(|| format!("could not read {}", path.display()))?;
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).with_context(|| format!("`{}` does not name a file", path.display()))?;
            let ct = content_type.unwrap_or_else(|| super::content_type::guess(&path).to_string());
            let upload = ctx.client.upload_attachment(&name, &ct, bytes.into()).await?;
            if ctx.json {
                return ctx.print_json(&upload);
            }
            super::out(&upload.id.to_string())?;
            note(&format!("Uploaded {name} ({} bytes, {}); send it by id until {}.", upload.size, upload.content_type, upload.expires_at.format("%Y-%m-%d %H:%M UTC")));
            Ok(())
        }
        AttachmentsCommand::Url { id, expires_in } => {
            let url = ctx.client.attachment_url(id, expires_in).await?;
            if ctx.json {
                return ctx.print_json(&url);
            }
            super::out(&url.url)?;
            note(&format!("Works without an API key until {}.", url.expires_at.format("%Y-%m-%d %H:%M:%S UTC")));
            Ok(())
        }
        AttachmentsCommand::Download { id, output, force } => {
            let resp = ctx.client.attachment_response(id).await?;
            let total = resp.content_length();
            let name = Client::attachment_filename(&resp);
            if output.as_deref() == Some(Path::new("-")) {
                let mut stdout = std::io::stdout().lock();
                let mut body = resp.bytes_stream();
                while let Some(chunk) = body.next().await {
                    stdout.write_all(&chunk.context("the download broke off")?).context("could not write to stdout")?;
                }
                stdout.flush().context("could not write to stdout")?;
                return Ok(());
            }
            let path = match output {
                Some(p) if p.is_dir() => p.join(safe_name(name.as_deref(), id)),
                Some(p) => p,
                None => PathBuf::from(safe_name(name.as_deref(), id)),
            };
            if path.exists() && !force {
                return Err(Hinted::new(format!("{} exists already", path.display()), "pass --force to replace it, or --output PATH to write elsewhere").into());
            }
            let bar = progress(total);
            // Written beside the target and renamed at the end, so a broken download never
            // leaves a truncated file under the real name.
            let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
            let mut tmp = tempfile::NamedTempFile::new_in(dir).with_context(|| format!("could not write in {}", dir.display()))?;
            let mut written = 0u64;
            let mut body = resp.bytes_stream();
            while let Some(chunk) = body.next().await {
                let chunk = chunk.context("the download broke off")?;
                tmp.write_all(&chunk).with_context(|| format!("could not write {}", path.display()))?;
                written += chunk.len() as u64;
                bar.set_position(written);
            }
            bar.finish_and_clear();
            tmp.as_file().sync_all().ok();
            tmp.persist(&path).with_context(|| format!("could not save {}", path.display()))?;
            if ctx.json {
                return ctx.print_json(&serde_json::json!({"path": path, "bytes": written, "filename": name}));
            }
            note(&format!("Saved {} ({} bytes).", path.display(), written));
            Ok(())
        }
    }
}

/// A progress bar on stderr for large downloads on a terminal; hidden otherwise.
fn progress(total: Option<u64>) -> indicatif::ProgressBar {
    use std::io::IsTerminal as _;
    match total {
        Some(len) if len >= PROGRESS_FROM_BYTES && std::io::stderr().is_terminal() => {
            let bar = indicatif::ProgressBar::new(len);
            if let Ok(style) = indicatif::ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {bytes_per_sec} {eta}") {
                bar.set_style(style);
            }
            bar
        }
        _ => indicatif::ProgressBar::hidden(),
    }
}

/// Returns the attachment's own file name stripped of any directory part, or one made from
/// its id: a name chosen by the sender must not write outside the current directory.
fn safe_name(name: Option<&str>, id: AttachmentId) -> String {
    let base = name.and_then(|n| n.rsplit(['/', '\\']).next()).map(str::trim).filter(|n| !n.is_empty() && *n != "." && *n != "..");
    base.map(str::to_string).unwrap_or_else(|| format!("attachment-{id}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sender_chosen_names_stay_in_the_directory() {
        let id = AttachmentId::new();
        assert_eq!(safe_name(Some("report.pdf"), id), "report.pdf");
        assert_eq!(safe_name(Some("../../etc/passwd"), id), "passwd");
        assert_eq!(safe_name(Some("C:\\x\\y.txt"), id), "y.txt");
        assert_eq!(safe_name(Some(".."), id), format!("attachment-{id}"));
        assert_eq!(safe_name(None, id), format!("attachment-{id}"));
    }
}
