//! The `mailroom` binary as a user runs it: `serve` on a fresh data directory, the CLI
//! quickstart against it, graceful shutdown, restart; and the same server on PostgreSQL.

mod common;

use std::process::Command;

use common::process::{BIN, serve, stop};

fn cli(url: &str, key: &str, args: &[&str]) -> String {
    let out = Command::new(BIN).args(args).env("MAILROOM_URL", url).env("MAILROOM_API_KEY", key).output().expect("cli runs");
    assert!(out.status.success(), "mailroom {args:?} failed: {}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

#[test]
fn serve_prints_the_key_once_and_the_cli_quickstart_works() {
    let dir = tempfile::tempdir().unwrap();
    let s = serve(dir.path(), &[]);
    let key_file = dir.path().join("admin-api-key");
    let key = std::fs::read_to_string(&key_file).unwrap().trim().to_string();
    assert!(s.key_line.as_deref().unwrap().ends_with(&key), "the key is printed on first start");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&key_file).unwrap().permissions().mode() & 0o777, 0o600);
    }
    assert!(dir.path().join("mailroom.db").exists(), "SQLite in the data directory");

    let url = s.url.clone();
    cli(&url, &key, &["mailboxes", "create", "alice", "--display-name", "Alice Agent"]);
    cli(&url, &key, &["mailboxes", "create", "bob"]);
    let table = cli(&url, &key, &["mailboxes", "list"]);
    assert!(table.contains("alice@mailroom.localhost") && table.contains("bob@mailroom.localhost"), "{table}");
    let boxes = json(&cli(&url, &key, &["--json", "mailboxes", "list"]));
    let id_of = |addr: &str| boxes["items"].as_array().unwrap().iter().find(|m| m["address"] == addr).unwrap()["id"].as_str().unwrap().to_string();
    let (alice, bob) = (id_of("alice@mailroom.localhost"), id_of("bob@mailroom.localhost"));

    cli(&url, &key, &["messages", "send", "--from-mailbox", &alice, "--to", "bob@mailroom.localhost", "--subject", "Lunch?", "--text", "Free at noon?"]);
    let inbox = json(&cli(&url, &key, &["--json", "messages", "list", &bob, "--direction", "inbound"]));
    let msg = inbox["items"][0]["id"].as_str().unwrap().to_string();
    cli(&url, &key, &["messages", "reply", &msg, "--text", "Yes, see you there."]);
    for mailbox in [&alice, &bob] {
        let threads = json(&cli(&url, &key, &["--json", "threads", "list", mailbox]));
        assert_eq!(threads["items"].as_array().unwrap().len(), 1, "one thread on each side");
        assert_eq!(threads["items"][0]["message_count"], 2, "holding both messages");
        let thread_id = threads["items"][0]["id"].as_str().unwrap();
        let shown = cli(&url, &key, &["threads", "get", thread_id]);
        assert!(shown.contains("Lunch?"), "{shown}");
    }
    let raw = cli(&url, &key, &["messages", "raw", &msg]);
    assert!(raw.contains("Subject: Lunch?") && raw.contains("\r\n"), "raw bytes with CRLF");
    let events = cli(&url, &key, &["events", "tail"]);
    assert!(events.contains("message.received"), "{events}");
    // `--mailbox` takes an address wherever it takes an id.
    let of_bob = cli(&url, &key, &["events", "tail", "--mailbox", "bob@mailroom.localhost", "--type", "message.received"]);
    assert!(of_bob.contains("message.received") && of_bob.contains(&bob) && !of_bob.contains(&alice), "{of_bob}");
    let hook = json(&cli(
        &url,
        &key,
        &["--json", "webhooks", "create", "https://93.184.216.34/in", "--disabled", "--mailbox", "bob@mailroom.localhost"],
    ));
    assert_eq!(hook["mailbox_id"], bob.as_str(), "{hook}");
    let hook_id = hook["id"].as_str().unwrap();
    let updated = json(&cli(&url, &key, &["--json", "webhooks", "update", hook_id, "--mailbox", "alice@mailroom.localhost"]));
    assert_eq!(updated["mailbox_id"], alice.as_str(), "{updated}");

    // Restart: no new key, the old one still works, the data is there.
    stop(s);
    let s = serve(dir.path(), &[]);
    assert!(s.key_line.is_none(), "the key is printed only on the first start");
    let threads = json(&cli(&s.url, &key, &["--json", "threads", "list", &alice]));
    assert_eq!(threads["items"][0]["message_count"], 2);
    stop(s);
}

#[test]
fn config_default_prints_a_file_that_serve_accepts() {
    let out = Command::new(BIN).args(["config", "default"]).output().unwrap();
    assert!(out.status.success());
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("mailroom.toml");
    std::fs::write(&file, &out.stdout).unwrap();
    let shown = Command::new(BIN)
        .args(["config", "show", "--config"])
        .arg(&file)
        .args(["--http-addr", "127.0.0.1:9999"])
        .env("MAILROOM_DEFAULT_DOMAIN", "env.test")
        .output()
        .unwrap();
    assert!(shown.status.success(), "{}", String::from_utf8_lossy(&shown.stderr));
    let text = String::from_utf8(shown.stdout).unwrap();
    assert!(text.contains("addr = \"127.0.0.1:9999\""), "flags beat the file: {text}");
    assert!(text.contains("default_domain = \"env.test\""), "environment beats the file: {text}");
    let bad = Command::new(BIN).args(["serve", "--http-addr", "nonsense"]).output().unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("http.addr"));
}

#[tokio::test]
async fn the_server_runs_on_postgresql() {
    let Ok(base) = std::env::var("MAILROOM_TEST_POSTGRES_URL") else {
        eprintln!("SKIPPED: MAILROOM_TEST_POSTGRES_URL is not set; the server-on-PostgreSQL test did not run");
        return;
    };
    use sqlx::Connection;
    let name = format!("mailroom_test_{}", uuid::Uuid::now_v7().simple());
    let mut admin = sqlx::PgConnection::connect(&base).await.expect("PostgreSQL reachable");
    sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut admin).await.unwrap();
    let url = match base.rfind('/') {
        Some(i) if base[..i].contains("://") && base[i..].len() > 1 && !base[..i].ends_with('/') => format!("{}/{name}", &base[..i]),
        _ => format!("{}/{name}", base.trim_end_matches('/')),
    };
    {
        let dir = tempfile::tempdir().unwrap();
        let mut config = common::test_config(dir.path().to_path_buf());
        config.database_url = url.clone();
        let app = common::start(config).await;
        let c = &app.admin;
        let a = common::mailbox(c, "pg-a").await;
        let b = common::mailbox(c, "pg-b").await;
        let sent = c.send_message(a.id, &common::text_message(&["pg-b@mailroom.localhost"], "on postgres", "hi"), Some("pg-1")).await.unwrap();
        let inbox = c.list_messages(b.id, &Default::default()).await.unwrap();
        assert_eq!(inbox.items.len(), 1);
        c.reply(inbox.items[0].id, &mailroom_core::api::ReplyRequest { text: Some("back".into()), ..Default::default() }, None).await.unwrap();
        let app = app.restart().await;
        assert_eq!(app.admin.get_thread(sent.thread_id).await.unwrap().messages.len(), 2);
        app.server.unwrap().shutdown().await;
    }
    let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&mut admin).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_stops_the_server_even_with_open_event_streams_and_waits() {
    let dir = tempfile::tempdir().unwrap();
    let s = serve(dir.path(), &[]);
    let key = std::fs::read_to_string(dir.path().join("admin-api-key")).unwrap().trim().to_string();
    let http = reqwest::Client::new();
    let stream = http.get(format!("{}/v1/events/stream", s.url)).bearer_auth(&key).send().await.unwrap();
    assert_eq!(stream.status(), 200);
    let api = mailroom_client::Client::new(&s.url, key.clone()).unwrap();
    let mb = api.create_mailbox(&mailroom_core::api::CreateMailboxRequest { username: "w".into(), ..Default::default() }).await.unwrap();
    let waiter = tokio::spawn({
        let (http, url) = (http.clone(), format!("{}/v1/mailboxes/{}/messages/wait?timeout=60", s.url, mb.id));
        async move { http.get(url).bearer_auth(key).send().await.map(|r| r.status().as_u16()) }
    });
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let started = std::time::Instant::now();
    stop(s); // asserts a clean exit within 5 s
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    assert_eq!(waiter.await.unwrap().unwrap(), 204, "a pending wait is answered, not cut off");
    drop(stream);
}
