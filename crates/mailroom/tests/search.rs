//! Message search (`GET /v1/mailboxes/{id}/messages?q=…`) end to end: the real server on port
//! 0, driven through the Rust client, on SQLite and (with `MAILROOM_TEST_POSTGRES_URL`) on
//! PostgreSQL.

mod common;

use common::*;
use mailroom_client::{Client, Method};
use mailroom_core::api::*;
use mailroom_core::*;

#[tokio::test]
async fn search_on_sqlite() {
    let app = spawn_app().await;
    search_scenario(&app).await;
    app.server.unwrap().shutdown().await;
}

#[tokio::test]
async fn search_on_postgresql() {
    common::pg::with_database("the search test", |url| async move {
        let dir = tempfile::tempdir().unwrap();
        let mut config = test_config(dir.path().to_path_buf());
        config.database_url = url;
        let app = start(config).await;
        search_scenario(&app).await;
        app.server.unwrap().shutdown().await;
    })
    .await;
}

async fn find(c: &Client, mailbox: MailboxId, q: MessageQuery) -> Vec<String> {
    c.list_messages(mailbox, &q).await.unwrap().items.into_iter().map(|m| m.subject.unwrap_or_default()).collect()
}

fn q(text: &str) -> MessageQuery {
    MessageQuery { q: Some(text.into()), ..Default::default() }
}

async fn search_scenario(app: &TestApp) {
    let (_, c) = app.site_client("acme").await;
    let (_, other) = app.site_client("rival").await;
    let alice = mailbox(&c, "alice").await;
    let bob = mailbox(&c, "bob").await;
    let carol = mailbox(&c, "carol").await;
    let spy = mailbox(&other, "spy").await;
    for (from, to, subject, text) in [
        (alice.id, "bob@mailroom.localhost", "Invoice March", "Please pay the invoice by Friday."),
        (carol.id, "bob@mailroom.localhost", "Lunch?", "Free at noon — café au coin?"),
        (alice.id, "bob@mailroom.localhost", "Quarterly report", "Numbers attached, see page 3."),
    ] {
        c.send_message(from, &text_message(&[to], subject, text), None).await.unwrap();
    }
    other.send_message(spy.id, &text_message(&["spy@mailroom.localhost"], "Invoice March", "the rival's invoice"), None).await.unwrap();

    // Subject, body, sender and recipient; every word must appear; the last one is a prefix.
    assert_eq!(find(&c, bob.id, q("invoice")).await, vec!["Invoice March"]);
    assert_eq!(find(&c, bob.id, q("friday")).await, vec!["Invoice March"]);
    assert_eq!(find(&c, bob.id, q("café")).await, vec!["Lunch?"]);
    assert_eq!(find(&c, bob.id, q("alice@mailroom.localhost")).await, vec!["Quarterly report", "Invoice March"]);
    assert_eq!(find(&c, bob.id, q("carol@mailroom.localhost noon")).await, vec!["Lunch?"]);
    assert_eq!(find(&c, alice.id, q("bob@mailroom.localhost")).await, vec!["Quarterly report", "Invoice March"], "the sent copies, by recipient");
    assert_eq!(find(&c, bob.id, q("quarter")).await, vec!["Quarterly report"]);
    assert_eq!(find(&c, bob.id, q("invoice lunch")).await, Vec::<String>::new());
    assert_eq!(find(&c, bob.id, q("nothing")).await, Vec::<String>::new());

    // With the other filters, and page by page.
    assert_eq!(find(&c, alice.id, MessageQuery { direction: Some("inbound".into()), ..q("invoice") }).await, Vec::<String>::new());
    let first = c.list_messages(bob.id, &MessageQuery { limit: Some(1), ..q("mailroom.localhost") }).await.unwrap();
    assert_eq!(first.items.len(), 1);
    let mut subjects: Vec<String> = first.items.iter().map(|m| m.subject.clone().unwrap()).collect();
    let mut cursor = first.next_cursor;
    while let Some(next) = cursor {
        let page = c.list_messages(bob.id, &MessageQuery { limit: Some(1), cursor: Some(next), ..q("mailroom.localhost") }).await.unwrap();
        subjects.extend(page.items.iter().map(|m| m.subject.clone().unwrap()));
        cursor = page.next_cursor;
    }
    assert_eq!(subjects, vec!["Quarterly report", "Lunch?", "Invoice March"]);

    // Another site's mail is never found, and its mailbox is not there at all.
    assert_eq!(find(&c, bob.id, q("rival")).await, Vec::<String>::new());
    assert_api_error(other.list_messages(bob.id, &q("invoice")).await, 404, "not_found");
    assert_eq!(find(&other, spy.id, q("invoice")).await, vec!["Invoice March"; 2], "the spy's sent and received copies");

    // Whatever the input, a 200; only an empty or an over-long query is refused.
    for text in ["\"", "*", "-invoice", "invoice OR lunch", "NEAR(invoice", "'; DROP TABLE messages; --", "a:* & !b", "🦀", "%_\\"] {
        c.list_messages(bob.id, &q(text)).await.unwrap_or_else(|e| panic!("{text:?}: {e}"));
    }
    assert_eq!(find(&c, bob.id, q("\"invoice\"")).await, vec!["Invoice March"]);
    assert_eq!(find(&c, bob.id, q(&"x".repeat(500))).await, Vec::<String>::new());
    for bad in ["", "   ", &"x".repeat(501)] {
        assert_api_error(c.list_messages(bob.id, &q(bad)).await, 400, "invalid_query");
    }
    let raw = c.raw_request(Method::GET, &format!("/v1/mailboxes/{}/messages?q=", bob.id), None, &[]).await.unwrap();
    assert_eq!(raw.status, 400);
    assert_eq!(raw.json::<serde_json::Value>().unwrap()["error"]["code"], "invalid_query");

    // Deleted mail is not found any more.
    let report = c.list_messages(bob.id, &q("quarterly")).await.unwrap().items.remove(0);
    c.delete_message(report.id).await.unwrap();
    assert_eq!(find(&c, bob.id, q("alice@mailroom.localhost")).await, vec!["Invoice March"]);

    // The OpenAPI document names the parameter.
    let spec: serde_json::Value = app.admin.raw_request(Method::GET, "/v1/openapi.json", None, &[]).await.unwrap().json().unwrap();
    let params = spec["paths"]["/v1/mailboxes/{id}/messages"]["get"]["parameters"].as_array().unwrap().clone();
    assert!(params.iter().any(|p| p["name"] == "q" && p["in"] == "query"), "{params:?}");
}
