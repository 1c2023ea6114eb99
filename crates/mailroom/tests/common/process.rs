//! Running the real `mailroom` binary as a child process.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub const BIN: &str = env!("CARGO_BIN_EXE_mailroom");

pub struct Served {
    pub child: Child,
    pub url: String,
    pub smtp: Option<std::net::SocketAddr>,
    pub key_line: Option<String>,
}

impl Served {
    /// SIGKILL: the server stops at once, as in a crash.
    pub fn kill(mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().unwrap();
    }
}

/// A test that fails before [`stop`] must not leave its server running: the server would keep
/// the test's output pipe open and hang whatever reads it.
impl Drop for Served {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

#[allow(clippy::zombie_processes)] // `stop` waits for it.
pub fn serve(data_dir: &std::path::Path, extra: &[&str]) -> Served {
    serve_env(data_dir, extra, &[])
}

/// Like [`serve`] with extra environment variables.
#[allow(clippy::zombie_processes)] // `stop` waits for it.
pub fn serve_env(data_dir: &std::path::Path, extra: &[&str], env: &[(&str, &str)]) -> Served {
    let mut child = Command::new(BIN)
        .args(["serve", "--http-addr", "127.0.0.1:0", "--smtp-addr", "127.0.0.1:0", "--data-dir"])
        .arg(data_dir)
        .args(extra)
        .env_remove("MAILROOM_ADMIN_API_KEY")
        .env("RUST_LOG", "warn")
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("mailroom serve starts");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut key_line = None;
    let mut url = None;
    loop {
        let line = lines.next().expect("serve prints its listeners").expect("utf-8");
        if line.starts_with("admin API key") {
            key_line = Some(line);
        } else if let Some(addr) = line.strip_prefix("http listening on ") {
            url = Some(format!("http://{addr}"));
        } else if let Some(addr) = line.strip_prefix("smtp listening on ") {
            // Keep draining stdout so the server never blocks on a full pipe.
            std::thread::spawn(move || for _ in lines {});
            return Served { child, url: url.expect("http is printed first"), smtp: Some(addr.parse().unwrap()), key_line };
        }
    }
}

pub fn stop(mut s: Served) {
    let status = Command::new("kill").args(["-INT", &s.child.id().to_string()]).status().unwrap();
    assert!(status.success());
    for _ in 0..100 {
        if let Some(code) = s.child.try_wait().unwrap() {
            assert!(code.success(), "graceful shutdown exits 0, got {code}");
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    s.child.kill().unwrap();
    panic!("the server did not stop within 5 s of Ctrl-C");
}


/// SIGKILL to the whole process group led by `pgid`.
///
/// procps `kill` reads `-KILL -1234` as signal options (it once sent SIGKILL to group -1, that
/// is to every process, when a pid began with 1), so the group goes after `--`, and a group id
/// that could mean "everyone" or "my own group" is refused outright.
pub fn kill_process_group(pgid: u32) {
    assert!(pgid > 1, "refusing to signal process group {pgid}");
    let _ = Command::new("kill").args(["-s", "KILL", "--", &format!("-{pgid}")]).status();
}
