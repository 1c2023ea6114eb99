//! `spawn_app()`: the real server on port 0 with a fresh data directory, driven through the
//! real client.
#![allow(dead_code)]

use mailroom::config::Config;
use mailroom::server::{self, Server};
pub mod dns;
pub mod pg;
pub mod process;
pub mod smtp;
pub mod submission;

use mailroom_client::{Client, ClientError};
use mailroom_core::api::*;
use mailroom_core::*;
use std::path::PathBuf;

pub struct TestApp {
    pub server: Option<Server>,
    pub config: Config,
    pub url: String,
    pub admin_key: String,
    pub admin: Client,
    pub dir: Option<tempfile::TempDir>,
}

pub fn test_config(data_dir: PathBuf) -> Config {
    let mut c = Config { data_dir, domains: vec!["other.test".into()], ..Config::default() };
    c.http.addr = "127.0.0.1:0".into();
    c.smtp.addr = "127.0.0.1:0".into();
    // The API tests look at the queue as the API leaves it; delivery tests turn the worker on.
    c.delivery.enabled = false;
    c
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

pub async fn spawn_app_with(edit: impl FnOnce(&mut Config)) -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = test_config(dir.path().to_path_buf());
    edit(&mut config);
    let mut app = start(config).await;
    app.dir = Some(dir);
    app
}

pub async fn start(config: Config) -> TestApp {
    let server = server::start(config.clone()).await.expect("server starts");
    let url = format!("http://{}", server.http_addr);
    let admin_key = match (&server.generated_admin_key, &config.admin_api_key) {
        (Some(k), _) | (None, Some(k)) => k.clone(),
        (None, None) => std::fs::read_to_string(config.data_dir.join(server::ADMIN_KEY_FILE)).expect("admin key file").trim().to_string(),
    };
    let admin = Client::new(&url, admin_key.clone()).expect("client");
    TestApp { server: Some(server), config, url, admin_key, admin, dir: None }
}

impl TestApp {
    /// Stops the server and starts a new one on the same data directory and database.
    pub async fn restart(mut self) -> TestApp {
        self.server.take().expect("running").shutdown().await;
        let dir = self.dir.take();
        let mut app = start(self.config.clone()).await;
        app.dir = dir;
        app
    }

    pub fn client(&self, key: &str) -> Client {
        Client::new(&self.url, key.to_string()).expect("client")
    }

    /// Creates a site and a key limited to it.
    pub async fn site_client(&self, name: &str) -> (Site, Client) {
        let (site, key) = self.site_key(name).await;
        (site, self.client(&key))
    }

    /// Creates a site and a key limited to it; returns the key's secret.
    pub async fn site_key(&self, name: &str) -> (Site, String) {
        let site = self.admin.create_site(&CreateSiteRequest { name: name.into() }).await.expect("site");
        let key = self
            .admin
            .create_api_key(&CreateApiKeyRequest { name: format!("{name} key"), scope: Some("site".into()), site_id: Some(site.id) })
            .await
            .expect("key");
        (site, key.key)
    }
}

/// Sends a request with an optional JSON body; returns the status and the JSON answer (`null`
/// for an empty body). A body that is not JSON fails the test.
pub async fn call(c: &Client, method: mailroom_client::Method, path: &str, body: Option<serde_json::Value>) -> (u16, serde_json::Value) {
    let r = c.raw_request(method, path, body, &[]).await.unwrap();
    let v = if r.body.is_empty() { serde_json::Value::Null } else { r.json().unwrap_or_else(|_| panic!("not JSON: {}", r.text())) };
    (r.status, v)
}

/// The code of an answer in the API's error shape (or the seed's), or "".
pub fn error_code(v: &serde_json::Value) -> &str {
    v["error"]["code"].as_str().unwrap_or_default()
}

pub async fn mailbox(client: &Client, username: &str) -> Mailbox {
    client
        .create_mailbox(&CreateMailboxRequest { username: username.into(), display_name: Some(format!("{username} agent")), ..Default::default() })
        .await
        .expect("mailbox")
}

pub fn text_message(to: &[&str], subject: &str, text: &str) -> SendMessageRequest {
    SendMessageRequest {
        to: to.iter().map(|s| s.to_string()).collect(),
        subject: subject.into(),
        text: Some(text.into()),
        ..Default::default()
    }
}

/// Asserts an API error's status and code.
pub fn assert_api_error<T: std::fmt::Debug>(result: Result<T, ClientError>, status: u16, code: &str) {
    match result {
        Err(ClientError::Api { status: s, code: c, message }) => {
            assert_eq!((s, c.as_str()), (status, code), "message: {message}");
            assert!(!message.is_empty());
        }
        other => panic!("expected {status} {code}, got {other:?}"),
    }
}

/// Waits (up to 15 s) until `recipient` of message `id` satisfies `done`; returns it.
pub async fn wait_recipient(engine: &mailroom_engine::Engine, id: MessageId, recipient: &str, done: impl Fn(&Recipient) -> bool) -> Recipient {
    let mut last = None;
    for _ in 0..300 {
        let m = engine.store().get_message(id).await.unwrap().expect("message");
        if let Some(r) = m.recipients.iter().find(|r| r.address.canonical() == recipient.to_ascii_lowercase()) {
            if done(r) {
                return r.clone();
            }
            last = Some(r.clone());
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("{recipient} of {id} never reached the expected state; last: {last:?}");
}

/// A server with the delivery worker on, retries after 1 s, and private targets allowed (the
/// test's SMTP servers listen on loopback).
pub fn delivering(c: &mut Config) {
    c.delivery.enabled = true;
    c.delivery.retry_schedule_secs = vec![1];
    c.security.allow_private_targets = true;
}
