//! `mailroom settings …`: the site's sending settings document, read, replaced, changed one
//! key at a time, or edited in $EDITOR.

use super::agent::read_text;
use super::{Ctx, Hinted, Usage, note};
use anyhow::Context as _;
use serde_json::Value;
use std::path::PathBuf;

/// `mailroom settings <verb>`.
#[derive(Debug, clap::Subcommand)]
pub enum SettingsCommand {
    /// Print the settings document (JSON).
    Get,
    /// Replace the whole document with a JSON file, or change one key with --key/--value.
    Set {
        /// A JSON file holding the whole document (`-` for stdin).
        #[arg(conflicts_with_all = ["key", "value"], required_unless_present = "key")]
        file: Option<PathBuf>,
        /// The dotted path of one key to change, such as `channels.agent_email.status`.
        #[arg(long, requires = "value")]
        key: Option<String>,
        /// The key's new value: JSON when it parses as JSON (`true`, `3`, `{"a":1}`), else text.
        #[arg(long, requires = "key", allow_hyphen_values = true)]
        value: Option<String>,
    },
    /// Open the document in $VISUAL or $EDITOR (default vi) and save it when the editor exits.
    Edit,
}

pub(crate) async fn run(ctx: &Ctx, cmd: SettingsCommand) -> anyhow::Result<()> {
    match cmd {
        SettingsCommand::Get => {
            let doc = ctx.client.get_settings().await?;
            ctx.print_json(&doc)
        }
        SettingsCommand::Set { file: Some(path), .. } => {
            let text = read_text(&path).context("could not read the settings document")?;
            let doc: Value = serde_json::from_str(&text)
                .map_err(|e| Usage::new(format!("`{}` is not JSON: {e}", path.display()), "`mailroom settings get` prints the current document to start from"))?;
            let saved = ctx.client.put_settings(&doc).await?;
            ctx.print_json(&saved)
        }
        SettingsCommand::Set { file: None, key, value } => {
            let (Some(key), Some(value)) = (key, value) else {
                return Err(Usage::new("nothing to set", "pass a JSON file, or --key PATH --value VALUE").into());
            };
            let mut doc = ctx.client.get_settings().await?;
            let value = serde_json::from_str(&value).unwrap_or(Value::String(value));
            set_path(&mut doc, &key, value)?;
            let saved = ctx.client.put_settings(&doc).await?;
            ctx.print_json(&saved)
        }
        SettingsCommand::Edit => {
            let doc = ctx.client.get_settings().await?;
            let dir = tempfile::tempdir().context("could not create a temporary directory")?;
            let path = dir.path().join("mailroom-settings.json");
            std::fs::write(&path, format!("{}\n", serde_json::to_string_pretty(&doc)?)).context("could not write the temporary file")?;
            let editor = std::env::var("VISUAL").ok().filter(|e| !e.trim().is_empty()).or_else(|| std::env::var("EDITOR").ok().filter(|e| !e.trim().is_empty())).unwrap_or_else(|| "vi".into());
            // `EDITOR="code --wait"` carries arguments: let the shell split it.
            let status = std::process::Command::new("sh")
                .arg("-c")
                .arg(format!("{editor} \"$1\""))
                .arg("sh")
                .arg(&path)
                .status()
                .with_context(|| format!("could not start the editor `{editor}`"))?;
            if !status.success() {
                return Err(Hinted::new(format!("the editor `{editor}` exited with {status}; nothing was saved"), "set VISUAL or EDITOR to your editor and run `mailroom settings edit` again").into());
            }
            let text = std::fs::read_to_string(&path).context("could not read the edited file")?;
            let edited: Value = match serde_json::from_str(&text) {
                Ok(v) => v,
                Err(e) => {
                    let kept = std::env::temp_dir().join(format!("mailroom-settings-{}.json", std::process::id()));
                    let _ = std::fs::write(&kept, &text);
                    return Err(Hinted::new(
                        format!("the edited document is not JSON ({e}); nothing was saved"),
                        format!("your edit is kept in {}: fix it and run `mailroom settings set {}`", kept.display(), kept.display()),
                    )
                    .into());
                }
            };
            if edited == doc {
                note("No changes.");
                return Ok(());
            }
            let saved = ctx.client.put_settings(&edited).await?;
            ctx.print_json(&saved)
        }
    }
}

/// Sets the value at a dotted path, creating objects on the way.
fn set_path(doc: &mut Value, key: &str, value: Value) -> anyhow::Result<()> {
    if !doc.is_object() {
        *doc = Value::Object(Default::default());
    }
    let parts: Vec<&str> = key.split('.').collect();
    if parts.iter().any(|p| p.is_empty()) {
        return Err(Usage::new(format!("`{key}` is not a dotted key path"), "write it like channels.agent_email.status").into());
    }
    let mut node = doc;
    for part in &parts[..parts.len() - 1] {
        let obj = node.as_object_mut().ok_or_else(|| Usage::new(format!("`{key}`: `{part}` is inside a value that is not an object"), "`mailroom settings get` shows the document"))?;
        node = obj.entry(part.to_string()).or_insert_with(|| Value::Object(Default::default()));
        if !node.is_object() {
            return Err(Usage::new(format!("`{key}`: `{part}` is not an object"), "`mailroom settings get` shows the document").into());
        }
    }
    node.as_object_mut().expect("checked above").insert(parts[parts.len() - 1].to_string(), value);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::set_path;
    use serde_json::json;

    #[test]
    fn dotted_paths_create_objects() {
        let mut doc = json!({"channels": {"email": {"enabled": false}}});
        set_path(&mut doc, "channels.agent_email.status", json!("active")).unwrap();
        set_path(&mut doc, "channels.email.enabled", json!(true)).unwrap();
        assert_eq!(doc, json!({"channels": {"email": {"enabled": true}, "agent_email": {"status": "active"}}}));
        assert!(set_path(&mut doc, "channels.email.enabled.x", json!(1)).is_err());
        assert!(set_path(&mut doc, "a..b", json!(1)).is_err());
    }
}
