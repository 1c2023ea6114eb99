//! What an operator and a command-line user get from the real `mailroom` binary: the access
//! log and SMTP transaction lines, `/metrics` read by a Prometheus parser with counters moving
//! by the right amounts, `mailroom status`, mbox/Maildir import and export with exact bytes,
//! and every newer CLI command (contacts, team members, settings, tools, tool runs, tool
//! configs, forward, attachments, addresses and Message-IDs as arguments).

mod common;

use common::process::BIN;
use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A `mailroom serve` child whose log goes to a file.
struct Server {
    child: Child,
    url: String,
    smtp: std::net::SocketAddr,
    key: String,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(env: &[(&str, &str)]) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("server.log");
    let mut child = Command::new(BIN)
        .args(["serve", "--http-addr", "127.0.0.1:0", "--smtp-addr", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .env_remove("MAILROOM_ADMIN_API_KEY")
        .env_remove("RUST_LOG")
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::from(std::fs::File::create(&log).unwrap()))
        .spawn()
        .expect("mailroom serve starts");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let (mut url, mut smtp) = (None, None);
    while smtp.is_none() {
        let line = lines.next().expect("serve prints its listeners").unwrap();
        if let Some(a) = line.strip_prefix("http listening on ") {
            url = Some(format!("http://{a}"));
        } else if let Some(a) = line.strip_prefix("smtp listening on ") {
            smtp = Some(a.parse().unwrap());
        }
    }
    std::thread::spawn(move || for _ in lines {});
    let key = std::fs::read_to_string(dir.path().join("admin-api-key")).unwrap().trim().to_string();
    Server { child, url: url.unwrap(), smtp: smtp.unwrap(), key, log, _dir: dir }
}

/// Runs the CLI; returns (success, stdout, stderr).
fn run(s: &Server, args: &[&str], envs: &[(&str, &str)]) -> (bool, String, String) {
    let out = Command::new(BIN)
        .args(args)
        .env("MAILROOM_URL", &s.url)
        .env("MAILROOM_API_KEY", &s.key)
        .envs(envs.iter().copied())
        .stdin(Stdio::null())
        .output()
        .expect("the CLI runs");
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// Runs the CLI and insists on success; returns stdout.
fn cli(s: &Server, args: &[&str]) -> String {
    let (ok, out, err) = run(s, args, &[]);
    assert!(ok, "mailroom {args:?} failed:\n{out}{err}");
    out
}

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// Reads `/metrics` through a Prometheus text-format parser: name+labels → value (histograms
/// and summaries as their `_count`).
async fn scrape(url: &str) -> HashMap<String, f64> {
    let resp = reqwest::get(format!("{url}/metrics")).await.unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.headers()["content-type"].to_str().unwrap().starts_with("text/plain"), "{:?}", resp.headers());
    let text = resp.text().await.unwrap();
    let lines = text.lines().map(|l| Ok(l.to_string()));
    let scrape = prometheus_parse::Scrape::parse(lines).unwrap_or_else(|e| panic!("not Prometheus text format ({e}):\n{text}"));
    let mut out = HashMap::new();
    for s in scrape.samples {
        assert!(s.metric.starts_with("mailroom_"), "{}", s.metric);
        let mut labels: Vec<String> = s.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
        labels.sort();
        let key = if labels.is_empty() { s.metric.clone() } else { format!("{}{{{}}}", s.metric, labels.join(",")) };
        let value = match s.value {
            prometheus_parse::Value::Counter(v) | prometheus_parse::Value::Gauge(v) | prometheus_parse::Value::Untyped(v) => v,
            prometheus_parse::Value::Histogram(h) => h.iter().map(|b| b.count).fold(0.0, f64::max),
            prometheus_parse::Value::Summary(q) => q.len() as f64,
        };
        out.insert(key, value);
    }
    out
}

fn delta(before: &HashMap<String, f64>, after: &HashMap<String, f64>, key: &str) -> f64 {
    after.get(key).copied().unwrap_or(0.0) - before.get(key).copied().unwrap_or(0.0)
}

async fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A webhook receiver that answers 200 and counts requests.
async fn receiver() -> (String, Arc<Mutex<u32>>) {
    let count = Arc::new(Mutex::new(0u32));
    let c = count.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move || {
            let c = c.clone();
            async move {
                *c.lock().unwrap() += 1;
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}/hook"), count)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_move_with_smtp_api_and_webhooks_and_every_request_is_logged() {
    let s = serve(&[("MAILROOM_LOG_FORMAT", "json"), ("MAILROOM_WEBHOOKS_ALLOW_PRIVATE_TARGETS", "true")]);
    let (hook_url, hooks) = receiver().await;
    let client = mailroom_client::Client::new(&s.url, s.key.clone()).unwrap();
    let alice = common::mailbox(&client, "alice").await;
    common::mailbox(&client, "bob").await;
    let (status, _) = common::call(
        &client,
        mailroom_client::Method::POST,
        "/v1/webhooks",
        Some(serde_json::json!({"url": hook_url, "event_types": ["message.received"]})),
    )
    .await;
    assert_eq!(status, 201);

    let before = scrape(&s.url).await;
    for name in ["mailroom_queue_depth", "mailroom_queue_oldest_age_seconds", "mailroom_smtp_connections_total", "mailroom_messages_received_total"] {
        assert!(before.contains_key(name), "{name} is exported from the start: {before:?}");
    }

    // One message over SMTP, one send through the API (alice → bob, delivered here).
    let replies = common::smtp::smtp_send(
        s.smtp,
        "carol@peer.test",
        &["alice@mailroom.localhost"],
        "From: carol@peer.test\r\nTo: alice@mailroom.localhost\r\nSubject: metrics\r\nMessage-ID: <m1@peer.test>\r\n\r\nHello\r\n",
    )
    .await;
    assert!(replies.iter().any(|r| r.starts_with("250") && r.contains("queued") || r.starts_with("250 2.0.0")), "{replies:?}");
    client.send_message(alice.id, &common::text_message(&["bob@mailroom.localhost"], "api send", "hi"), None).await.unwrap();
    wait_until("two webhook deliveries", || *hooks.lock().unwrap() >= 2).await;
    // The worker records the outcome just after the receiver answered.
    let mut after = scrape(&s.url).await;
    for _ in 0..100 {
        if delta(&before, &after, "mailroom_webhook_deliveries_total{outcome=succeeded}") >= 2.0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        after = scrape(&s.url).await;
    }

    assert_eq!(delta(&before, &after, "mailroom_smtp_connections_total"), 1.0);
    assert_eq!(delta(&before, &after, "mailroom_smtp_transactions_total{reply=2xx}"), 1.0);
    assert_eq!(delta(&before, &after, "mailroom_messages_received_total"), 2.0, "alice over SMTP, bob's local copy");
    assert_eq!(delta(&before, &after, "mailroom_messages_sent_total"), 1.0);
    assert_eq!(delta(&before, &after, "mailroom_messages_delivered_total"), 1.0);
    assert_eq!(delta(&before, &after, "mailroom_webhook_deliveries_total{outcome=succeeded}"), 2.0);
    assert_eq!(delta(&before, &after, "mailroom_smtp_store_duration_seconds"), 1.0, "one SMTP 250 timed");
    assert_eq!(delta(&before, &after, "mailroom_webhook_duration_seconds"), 2.0);
    assert_eq!(
        delta(&before, &after, "mailroom_api_requests_total{method=POST,route=/v1/mailboxes/:id/messages,status=202}"),
        1.0,
        "{after:?}"
    );
    assert_eq!(delta(&before, &after, "mailroom_api_request_duration_seconds{method=POST,route=/v1/mailboxes/:id/messages}"), 1.0);
    assert_eq!(after["mailroom_queue_depth"], 0.0);

    // `mailroom status` reads the same server.
    let status = json(&cli(&s, &["status", "--json"]));
    assert_eq!(status["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(status["queue_depth"], 0);
    assert_eq!(status["webhook_backlog"], 0);
    assert!(status["store"].as_str().unwrap().starts_with("sqlite"), "{status}");
    let listeners: Vec<&str> = status["listeners"].as_array().unwrap().iter().map(|l| l["name"].as_str().unwrap()).collect();
    assert_eq!(listeners, ["http", "smtp"]);
    let text = cli(&s, &["status"]);
    assert!(text.contains("queue depth") && text.contains("webhook backlog") && text.contains(&format!("smtp {}", s.smtp)), "{text}");

    // Refusals inside the session count too: an unknown recipient at RCPT, then DATA with no
    // recipient left; neither reaches the end of DATA, so no transaction is counted.
    let before = scrape(&s.url).await;
    let replies =
        common::smtp::smtp_send(s.smtp, "carol@peer.test", &["nobody@mailroom.localhost"], "Subject: x\r\n\r\nx\r\n").await;
    assert!(replies.iter().any(|r| r.starts_with("550")) && replies.iter().any(|r| r.starts_with("554")), "{replies:?}");
    let after = scrape(&s.url).await;
    assert_eq!(delta(&before, &after, "mailroom_smtp_refusals_total{command=RCPT,reply=5xx}"), 1.0, "{after:?}");
    assert_eq!(delta(&before, &after, "mailroom_smtp_refusals_total{command=DATA,reply=5xx}"), 1.0);
    assert_eq!(delta(&before, &after, "mailroom_smtp_transactions_total{reply=5xx}"), 0.0);

    // The log: JSON lines, no colours, one line per request and per SMTP transaction, no secret.
    let log = std::fs::read_to_string(&s.log).unwrap();
    assert!(!log.contains('\u{1b}'), "no ANSI colours when not on a terminal");
    assert!(!log.contains(&s.key), "the API key never reaches the log");
    let lines: Vec<serde_json::Value> = log.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON line ({e}): {l}"))).collect();
    let send = lines
        .iter()
        .find(|l| l["target"] == "mailroom::access" && l["route"] == "/v1/mailboxes/{id}/messages" && l["method"] == "POST")
        .unwrap_or_else(|| panic!("an access line for the send: {log}"));
    assert_eq!(send["status"], 202);
    assert!(send["latency_ms"].as_f64().unwrap() >= 0.0);
    let key_id = send["key_id"].as_str().unwrap();
    assert!(key_id.parse::<uuid::Uuid>().is_ok(), "the key's id, not its secret: {key_id}");
    let smtp = lines.iter().find(|l| l["message"] == "smtp transaction").unwrap_or_else(|| panic!("an SMTP line: {log}"));
    assert_eq!(smtp["client_ip"], "127.0.0.1");
    assert_eq!(smtp["mail_from"], "carol@peer.test");
    assert_eq!(smtp["recipients"], 1);
    assert_eq!(smtp["reply"], 250);
    assert_eq!(smtp["message_id"], "m1@peer.test");
    assert!(smtp["size"].as_u64().unwrap() > 50);
    let metrics_scrapes = lines.iter().filter(|l| l["target"] == "mailroom::access" && l["route"] == "/metrics").count();
    assert!(metrics_scrapes >= 2, "scrapes are requests too");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_can_have_a_listener_of_their_own() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let addr = format!("127.0.0.1:{port}");
    let s = serve(&[("MAILROOM_METRICS_ADDR", &addr)]);
    let own = scrape(&format!("http://{addr}")).await;
    assert!(own.contains_key("mailroom_queue_depth"));
    let public = reqwest::get(format!("{}/metrics", s.url)).await.unwrap();
    assert_eq!(public.status(), 404, "not on the API port any more");
    let status = json(&cli(&s, &["status", "--json"]));
    assert!(status["listeners"].as_array().unwrap().iter().any(|l| l["name"] == "metrics" && l["addr"] == addr.as_str()), "{status}");
}

/// Writes `n` messages as an mbox (mboxrd), some threaded, some with `From ` and `>From `
/// lines in their bodies, CRLF and LF mixed; returns the raw messages.
fn make_mbox(path: &Path, n: usize) -> Vec<Vec<u8>> {
    use std::io::Write;
    let mut w = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let mut raws = Vec::with_capacity(n);
    for i in 0..n {
        let eol = if i % 2 == 0 { "\r\n" } else { "\n" };
        let mut m = format!("From: sender{}@old.test{eol}To: archive@mailroom.localhost{eol}Subject: message {i}{eol}Message-ID: <imp{i}@old.test>{eol}", i % 7);
        if i % 10 != 0 {
            m.push_str(&format!("In-Reply-To: <imp{}@old.test>{eol}", i - i % 10));
        }
        m.push_str(&format!("Date: Mon, 1 Jan 2024 00:00:00 +0000{eol}{eol}Body {i}{eol}"));
        if i % 100 == 3 {
            m.push_str(&format!("From the archive{eol}>From quoted{eol}"));
        }
        let raw = m.into_bytes();
        writeln!(w, "From sender@old.test Mon Jan  1 00:00:00 2024").unwrap();
        for line in raw.split_inclusive(|&b| b == b'\n') {
            let quotes = line.iter().take_while(|&&b| b == b'>').count();
            if line[quotes..].starts_with(b"From ") {
                w.write_all(b">").unwrap();
            }
            w.write_all(line).unwrap();
        }
        w.write_all(b"\n").unwrap();
        raws.push(raw);
    }
    w.flush().unwrap();
    raws
}

/// Splits an mbox (mboxrd) back into messages.
fn read_mbox(path: &Path) -> Vec<Vec<u8>> {
    let bytes = std::fs::read(path).unwrap();
    let mut out = Vec::new();
    let mut cur: Option<Vec<u8>> = None;
    for line in bytes.split_inclusive(|&b| b == b'\n') {
        if line.starts_with(b"From ") {
            if let Some(mut m) = cur.take() {
                m.pop();
                out.push(m);
            }
            cur = Some(Vec::new());
        } else {
            let quotes = line.iter().take_while(|&&b| b == b'>').count();
            let line = if quotes > 0 && line[quotes..].starts_with(b"From ") { &line[1..] } else { line };
            cur.as_mut().unwrap().extend_from_slice(line);
        }
    }
    if let Some(mut m) = cur {
        m.pop();
        out.push(m);
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_messages_import_once_and_export_byte_for_byte() {
    const N: usize = 10_000;
    let s = serve(&[]);
    cli(&s, &["mailboxes", "create", "archive"]);
    let work = tempfile::tempdir().unwrap();
    let mbox = work.path().join("old.mbox");
    let originals = make_mbox(&mbox, N);

    let started = Instant::now();
    let (ok, out, err) = run(&s, &["import", "mbox", mbox.to_str().unwrap(), "--mailbox", "archive@mailroom.localhost"], &[]);
    let took = started.elapsed();
    assert!(ok, "{out}{err}");
    assert!(took < Duration::from_secs(60), "10,000 messages in under a minute, took {took:?}");
    eprintln!("imported {N} messages in {took:?}");
    assert!(out.contains(&format!("Imported {N} of {N} messages into archive@mailroom.localhost")), "{out}");
    assert!(err.contains("messages read: ") && err.contains(" imported, 0 already there, 0 failed"), "progress is shown: {err}");

    // Threads: ten messages per conversation.
    let threads = json(&cli(&s, &["--json", "threads", "list", "archive@mailroom.localhost", "--limit", "5"]));
    assert_eq!(threads["items"][0]["message_count"], 10, "{threads}");

    // A re-run imports nothing.
    let again = json(&cli(&s, &["--json", "import", "mbox", mbox.to_str().unwrap(), "--mailbox", "archive@mailroom.localhost"]));
    assert_eq!(again["imported"], 0, "{again}");
    assert_eq!(again["already_there"], N as u64);

    // Export both ways: the same bytes, in the same order.
    let out_mbox = work.path().join("export.mbox");
    cli(&s, &["export", "--mailbox", "archive@mailroom.localhost", "--format", "mbox", out_mbox.to_str().unwrap()]);
    let exported = read_mbox(&out_mbox);
    assert_eq!(exported.len(), N);
    for (i, (a, b)) in originals.iter().zip(&exported).enumerate() {
        assert!(a == b, "message {i} differs:\n{}\n---\n{}", String::from_utf8_lossy(a), String::from_utf8_lossy(b));
    }
    let maildir = work.path().join("Maildir");
    cli(&s, &["export", "--mailbox", "archive@mailroom.localhost", "--format", "maildir", maildir.to_str().unwrap()]);
    let mut files: Vec<PathBuf> = std::fs::read_dir(maildir.join("cur")).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    assert_eq!(files.len(), N);
    assert_eq!(std::fs::read(&files[0]).unwrap(), originals[0]);
    assert_eq!(std::fs::read(&files[N - 1]).unwrap(), originals[N - 1]);

    // The Maildir and an .eml import into another mailbox: the same bytes again.
    cli(&s, &["mailboxes", "create", "copy"]);
    let summary = cli(&s, &["import", "maildir", maildir.to_str().unwrap(), "--mailbox", "copy@mailroom.localhost"]);
    assert!(summary.contains(&format!("Imported {N} of {N}")), "{summary}");
    let eml = work.path().join("one.eml");
    std::fs::write(&eml, b"From: x@old.test\r\nSubject: single\r\nMessage-ID: <single@old.test>\r\n\r\nOne.\r\n").unwrap();
    let summary = cli(&s, &["import", "eml", eml.to_str().unwrap(), "--mailbox", "copy@mailroom.localhost"]);
    assert!(summary.contains("Imported 1 of 1"), "{summary}");
    let raw = cli(&s, &["messages", "raw", "<single@old.test>"]);
    assert_eq!(raw.as_bytes(), std::fs::read(&eml).unwrap());

    // Wrong inputs say what to do.
    let (ok, _, err) = run(&s, &["import", "mbox", eml.to_str().unwrap(), "--mailbox", "copy@mailroom.localhost"], &[]);
    assert!(!ok && err.contains("is not an mbox file") && err.contains("mailroom import eml"), "{err}");
    let (ok, _, err) = run(&s, &["import", "mbox", mbox.to_str().unwrap(), "--mailbox", "nobody@mailroom.localhost"], &[]);
    assert!(!ok && err.contains("no mailbox nobody@mailroom.localhost") && err.contains("mailroom mailboxes list"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_agent_tool_commands_work_through_the_binary() {
    let s = serve(&[]);
    cli(&s, &["mailboxes", "create", "agent", "--display-name", "Agent"]);
    cli(&s, &["mailboxes", "create", "person"]);
    // Addresses work wherever a mailbox is named.
    let shown = cli(&s, &["mailboxes", "get", "agent@mailroom.localhost"]);
    assert!(shown.contains("agent@mailroom.localhost"), "{shown}");

    // Team members and contacts.
    let member = json(&cli(&s, &["--json", "team-members", "create", "--name", "Dana Smith", "--mailbox", "agent@mailroom.localhost", "--signature-html", "<p>Dana</p>"]));
    let member_id = member["id"].as_str().unwrap().to_string();
    assert!(cli(&s, &["team-members", "list"]).contains("Dana Smith"));
    let updated = json(&cli(&s, &["--json", "team-members", "update", &member_id, "--name", "Dana S."]));
    assert_eq!(updated["name"], "Dana S.");
    assert!(cli(&s, &["team-members", "get", &member_id]).contains("Dana S."));

    let contact = json(&cli(&s, &[
        "--json", "contacts", "create", "--email", "person@mailroom.localhost", "--name", "Pat", "--attribute", "plan=pro", "--attribute", "seats=3",
        "--owner", &member_id,
    ]));
    let contact_id = contact["id"].as_str().unwrap().to_string();
    assert_eq!(contact["attributes"], serde_json::json!({"plan": "pro", "seats": 3}));
    // Creating again updates the same contact.
    let again = json(&cli(&s, &["--json", "contacts", "create", "--email", "person@mailroom.localhost", "--name", "Pat Lee"]));
    assert_eq!(again["id"], contact["id"]);
    assert!(cli(&s, &["contacts", "list"]).contains("Pat Lee"));
    let consented = json(&cli(&s, &["--json", "contacts", "consent", &contact_id, "--granted"]));
    assert_eq!(consented["email_subscribed"], true);
    let changed = json(&cli(&s, &["--json", "contacts", "update", &contact_id, "--marketing-opt-out", "true"]));
    assert_eq!(changed["marketing_opt_out"], true);
    assert!(cli(&s, &["contacts", "get", &contact_id]).contains("subscribed"));

    // Settings: set a key, read it, replace from a file, edit with an editor.
    let agent = json(&cli(&s, &["--json", "mailboxes", "get", "agent@mailroom.localhost"]));
    let agent_id = agent["id"].as_str().unwrap();
    cli(&s, &["settings", "set", "--key", "channels.agent_email.status", "--value", "active"]);
    let doc = json(&cli(&s, &["settings", "set", "--key", "channels.agent_email.mailbox_id", "--value", agent_id]));
    assert_eq!(doc["channels"]["agent_email"], serde_json::json!({"status": "active", "mailbox_id": agent_id}));
    assert_eq!(json(&cli(&s, &["settings", "get"])), doc);
    let work = tempfile::tempdir().unwrap();
    let file = work.path().join("settings.json");
    std::fs::write(&file, serde_json::to_string(&serde_json::json!({"channels": {"agent_email": {"status": "active", "mailbox_id": agent_id}}, "tools": {}})).unwrap()).unwrap();
    cli(&s, &["settings", "set", file.to_str().unwrap()]);
    let editor = work.path().join("editor.sh");
    std::fs::write(&editor, "#!/bin/sh\nsed -i 's/\"active\"/\"inactive\"/' \"$1\"\n").unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&editor, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let (ok, out, err) = run(&s, &["settings", "edit"], &[("EDITOR", editor.to_str().unwrap()), ("VISUAL", "")]);
    assert!(ok, "{out}{err}");
    assert_eq!(json(&cli(&s, &["settings", "get"]))["channels"]["agent_email"]["status"], "inactive");
    cli(&s, &["settings", "set", "--key", "channels.agent_email.status", "--value", "active"]);

    // Tools: list, invoke (a dry run, then a send), tool runs, tool configs.
    let tools = cli(&s, &["tools", "list"]);
    assert!(tools.contains("send_email") && tools.contains("send_one_to_one_email"), "{tools}");
    let site = json(&cli(&s, &["--json", "sites", "list"]));
    let site_id = site["items"][0]["id"].as_str().unwrap().to_string();
    let input = serde_json::json!({
        "site_id": site_id, "email": "person@mailroom.localhost", "subject": "Hello from the CLI", "message": "Hi Pat",
    });
    let output = json(&cli(&s, &["tools", "invoke", "send_email", "--input", &input.to_string()]));
    assert_eq!(output["status"], "sent", "{output}");
    let runs = json(&cli(&s, &["--json", "tool-runs", "list", "--tool", "send_email"]));
    let run_id = runs["items"][0]["id"].as_str().unwrap().to_string();
    assert!(cli(&s, &["tool-runs", "list"]).contains("send_email"));
    let one = json(&cli(&s, &["tool-runs", "get", &run_id]));
    assert_eq!(one["tool"], "send_email");
    let config = json(&cli(&s, &["--json", "tool-configs", "create", "welcome_followup", "--tool", "send_email", "--prompt", "Follow up on sign-ups."]));
    let config_id = config["id"].as_str().unwrap().to_string();
    assert!(cli(&s, &["tool-configs", "list"]).contains("welcome_followup"));
    assert!(cli(&s, &["tools", "list"]).contains("welcome_followup"), "configs are callable tools");
    let renamed = json(&cli(&s, &["--json", "tool-configs", "update", &config_id, "--prompt", "Only for new sign-ups."]));
    assert_eq!(renamed["prompt"], "Only for new sign-ups.");
    assert!(cli(&s, &["tool-configs", "get", &config_id]).contains("Only for new sign-ups."));
    cli(&s, &["tool-configs", "delete", &config_id]);

    // A message with an attachment: forward by Message-ID, download the attachment.
    let data: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
    let attachment = work.path().join("big.bin");
    std::fs::write(&attachment, &data).unwrap();
    let sent = json(&cli(&s, &[
        "--json", "messages", "send", "--from-mailbox", "person@mailroom.localhost", "--to", "agent@mailroom.localhost", "--subject", "Report",
        "--text", "Attached.", "--attach", attachment.to_str().unwrap(),
    ]));
    let message_id = sent["message_id"].as_str().unwrap().to_string();
    // Two copies carry it (sent and received): the Message-ID is ambiguous and the error says so.
    let (ok, _, err) = run(&s, &["messages", "get", &format!("<{message_id}>")], &[]);
    assert!(!ok && err.contains("2 messages carry Message-ID") && err.contains("pass one of these message ids"), "{err}");
    let inbox = json(&cli(&s, &["--json", "messages", "list", "agent@mailroom.localhost", "--direction", "inbound"]));
    let received = inbox["items"].as_array().unwrap().iter().find(|m| m["subject"] == "Report").unwrap().clone();
    let att_id = received["attachments"][0]["id"].as_str().unwrap().to_string();
    let target = work.path().join("downloaded.bin");
    cli(&s, &["attachments", "download", &att_id, "--output", target.to_str().unwrap()]);
    assert_eq!(std::fs::read(&target).unwrap(), data);
    let (ok, _, err) = run(&s, &["attachments", "download", &att_id, "--output", target.to_str().unwrap()], &[]);
    assert!(!ok && err.contains("exists already") && err.contains("--force"), "{err}");
    let downloads = work.path().join("downloads");
    std::fs::create_dir(&downloads).unwrap();
    let into_dir = cli(&s, &["--json", "attachments", "download", &att_id, "--output", downloads.to_str().unwrap()]);
    assert_eq!(json(&into_dir)["filename"], "big.bin");

    let fwd = json(&cli(&s, &["--json", "messages", "forward", received["id"].as_str().unwrap(), "--to", "person@mailroom.localhost", "--text", "FYI"]));
    let fwd_id = fwd["message_id"].as_str().unwrap();
    let person_inbox = cli(&s, &["messages", "list", "person@mailroom.localhost", "--direction", "inbound"]);
    assert!(person_inbox.contains("Fwd: Report"), "{person_inbox}");
    // The forward's received copy and sent copy share the Message-ID; the sent one by id works.
    let (ok, _, err) = run(&s, &["messages", "raw", &format!("<{fwd_id}>")], &[]);
    assert!(!ok && err.contains("2 messages carry"), "{err}");

    // Errors name the command to run next.
    let (ok, _, err) = run(&s, &["messages", "send", "--from-mailbox", "ghost@mailroom.localhost", "--to", "a@x.test", "--subject", "s", "--text", "t"], &[]);
    assert!(!ok && err.contains("no mailbox ghost@mailroom.localhost") && err.contains("`mailroom mailboxes list`"), "{err}");
    let (ok, _, err) = run(&s, &["contacts", "get", "0190f5a0-0000-7000-8000-000000000001"], &[]);
    assert!(!ok && err.contains("`mailroom contacts list`") && !err.contains("/v1/"), "{err}");
    cli(&s, &["contacts", "delete", &contact_id]);
    cli(&s, &["team-members", "delete", &member_id]);
}
