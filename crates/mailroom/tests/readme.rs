//! The README runs as written: its quickstart blocks (fenced as `sh quickstart-…`) are
//! extracted and run with bash, twice in a row, against a fresh `mailroom serve`, with
//! `mailroom` on PATH as `cargo install` would put it; their output is checked.

mod common;

use common::process::{BIN, Served, serve, stop};
use std::path::Path;
use std::process::Command;

/// Stops the server even when an assertion fails, so no server outlives the test.
struct Running(Option<Served>);

impl Running {
    fn url(&self) -> String {
        self.0.as_ref().expect("running").url.clone()
    }

    fn stop(mut self) {
        stop(self.0.take().expect("running"));
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(mut s) = self.0.take() {
            let _ = s.child.kill();
            let _ = s.child.wait();
        }
    }
}

/// Returns the body of the README block whose fence reads "```sh NAME".
fn block(name: &str) -> String {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md")).unwrap();
    let fence = format!("```sh {name}\n");
    let start = readme.find(&fence).unwrap_or_else(|| panic!("README has no ```sh {name} block")) + fence.len();
    let end = start + readme[start..].find("\n```").expect("the block ends");
    readme[start..=end].to_string()
}

/// Runs a block with bash in `dir` (where `mailroom-data` is); returns stdout.
fn run_block(name: &str, dir: &Path, url: &str) -> String {
    let bin_dir = dir.join("bin");
    std::fs::create_dir_all(&bin_dir).unwrap();
    let link = bin_dir.join("mailroom");
    if !link.exists() {
        #[cfg(unix)]
        std::os::unix::fs::symlink(BIN, &link).unwrap();
    }
    let path = format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap_or_default());
    let out = Command::new("bash")
        .args(["-e", "-o", "pipefail", "-c", &block(name)])
        .current_dir(dir)
        .env("PATH", path)
        .env("MAILROOM_URL", url)
        .env_remove("MAILROOM_API_KEY")
        .output()
        .expect("bash runs");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "the README's {name} block failed:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    stdout
}

/// Checks that `expected` lines appear in `output` in this order.
fn assert_lines_in_order(output: &str, expected: &[&str]) {
    let mut rest = output;
    for line in expected {
        match rest.find(line) {
            Some(i) => rest = &rest[i + line.len()..],
            None => panic!("expected `{line}` (in order) in:\n{output}"),
        }
    }
}

fn have_tools() -> bool {
    ["bash", "curl", "jq"].iter().all(|t| Command::new(t).arg("--version").output().is_ok_and(|o| o.status.success()))
}

#[test]
fn the_quickstart_blocks_run_twice_as_written() {
    if !have_tools() {
        if std::env::var("CI").is_ok() {
            panic!("bash, curl and jq must be installed in CI for the README test");
        }
        eprintln!("SKIPPED: bash, curl or jq is missing; the README test did not run");
        return;
    }
    // The curl half, twice: the same output both times.
    let dir = tempfile::tempdir().unwrap();
    let s = Running(Some(serve(&dir.path().join("mailroom-data"), &[])));
    let url = s.url();
    let expected_curl = readme_output_after("quickstart-curl");
    for run in 1..=2 {
        let out = run_block("quickstart-curl", dir.path(), &url);
        assert_eq!(out, expected_curl, "curl half, run {run}");
    }
    // The CLI half on the same server: an alternative that does not collide, and on its own.
    for run in 1..=2 {
        let out = run_block("quickstart-cli", dir.path(), &url);
        assert_lines_in_order(&out, &["carol@mailroom.localhost", "dave@mailroom.localhost", "{\"subject\":\"Standup?\",\"message_count\":2}", "Subject: Standup?", "queue depth      0"]);
        assert_eq!(out.matches("message_count").count(), 1, "run {run}: one thread, not one per run:\n{out}");
    }
    // The agent tools: sent and success, then the duplicate check.
    let first = run_block("quickstart-tools", dir.path(), &url);
    assert_lines_in_order(&first, &["\"status\":\"active\"", "sent -", "success -"]);
    let second = run_block("quickstart-tools", dir.path(), &url);
    assert_lines_in_order(&second, &["\"status\":\"active\"", "skipped duplicate_email", "skipped duplicate_email"]);
    s.stop();

    // The CLI half alone on a fresh server, twice.
    let dir = tempfile::tempdir().unwrap();
    let s = Running(Some(serve(&dir.path().join("mailroom-data"), &[])));
    let first = run_block("quickstart-cli", dir.path(), &s.url());
    let second = run_block("quickstart-cli", dir.path(), &s.url());
    assert_eq!(first, second, "the CLI half prints the same twice");
    s.stop();
}

/// Returns the text of the plain ``` block that follows "It prints:" after the named block.
fn readme_output_after(name: &str) -> String {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md")).unwrap();
    let at = readme.find(&format!("```sh {name}\n")).unwrap();
    let rest = &readme[at..];
    let prints = rest.find("It prints:\n\n```\n").expect("an `It prints:` block follows") + "It prints:\n\n```\n".len();
    let end = prints + rest[prints..].find("```").unwrap();
    rest[prints..end].to_string()
}
