//! Shared pieces of the benchmark binaries: starting the real `mailroom` binary, a local DNS
//! responder (so SPF/DKIM lookups never wait on a timeout), percentiles.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};

/// A running `mailroom serve`.
pub struct Server {
    /// The child process.
    pub child: Child,
    /// `http://ip:port`.
    pub url: String,
    /// The SMTP listener.
    pub smtp: SocketAddr,
    /// The admin API key.
    pub key: String,
    /// The data directory (removed on drop).
    pub dir: std::path::PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Returns the `mailroom` binary to benchmark: `MAILROOM_BIN`, else `target/release/mailroom`.
pub fn mailroom_bin() -> anyhow::Result<String> {
    if let Ok(b) = std::env::var("MAILROOM_BIN") {
        return Ok(b);
    }
    let candidate = concat!(env!("CARGO_MANIFEST_DIR"), "/../../target/release/mailroom");
    anyhow::ensure!(std::path::Path::new(candidate).exists(), "build the server first: cargo build --release (or set MAILROOM_BIN)");
    Ok(candidate.to_string())
}

/// Starts `mailroom serve` on free ports with a fresh data directory and `env`.
pub fn start_server(env: &[(&str, String)]) -> anyhow::Result<Server> {
    let dir = std::env::temp_dir().join(format!("mailroom-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    let mut child = Command::new(mailroom_bin()?)
        .args(["serve", "--http-addr", "127.0.0.1:0", "--smtp-addr", "127.0.0.1:0", "--data-dir"])
        .arg(&dir)
        .env("RUST_LOG", "warn")
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .stdout(Stdio::piped())
        .spawn()?;
    let mut lines = BufReader::new(child.stdout.take().expect("piped")).lines();
    let (mut url, mut smtp) = (None, None);
    while smtp.is_none() {
        let line = lines.next().ok_or_else(|| anyhow::anyhow!("mailroom exited before listening"))??;
        if let Some(a) = line.strip_prefix("http listening on ") {
            url = Some(format!("http://{a}"));
        } else if let Some(a) = line.strip_prefix("smtp listening on ") {
            smtp = Some(a.parse()?);
        }
    }
    std::thread::spawn(move || for _ in lines {});
    let key = std::fs::read_to_string(dir.join("admin-api-key"))?.trim().to_string();
    Ok(Server { child, url: url.expect("http first"), smtp: smtp.expect("smtp"), key, dir })
}

/// Starts a UDP DNS responder on 127.0.0.1 that answers NXDOMAIN to everything at once.
pub async fn nxdomain_dns() -> anyhow::Result<SocketAddr> {
    use hickory_proto::op::{Message, ResponseCode};
    let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await?;
    let addr = socket.local_addr()?;
    tokio::spawn(async move {
        let mut buf = vec![0u8; 2048];
        while let Ok((n, peer)) = socket.recv_from(&mut buf).await {
            let Ok(q) = Message::from_vec(&buf[..n]) else { continue };
            let mut r = Message::response(q.metadata.id, q.metadata.op_code);
            r.metadata.recursion_available = true;
            r.metadata.response_code = ResponseCode::NXDomain;
            for query in &q.queries {
                r.add_query(query.clone());
            }
            if let Ok(bytes) = r.to_vec() {
                let _ = socket.send_to(&bytes, peer).await;
            }
        }
    });
    Ok(addr)
}

/// Returns the `p`-th percentile (0-100) of sorted values.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

/// Describes this machine: cores and CPU model.
pub fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| c.lines().find(|l| l.starts_with("model name")).map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string()))
        .unwrap_or_else(|| "unknown CPU".into());
    format!("{} cores, {cpu}", std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0))
}
