//! What only SQLite's full-text index needs checked beyond the shared suite: the migration
//! indexes messages stored before it, and no index row outlives its message, whatever deleted
//! it (the store, a cascade, raw SQL).

use mailroom_core::*;
use mailroom_store::areas::*;
use mailroom_store::testkit;
use mailroom_store::{MessageFilter, NewEvent, Store};
use mailroom_store_sqlite::SqliteStore;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions};
use std::sync::Arc;

/// The version of the migration that adds the index.
const SEARCH_MIGRATION: i64 = 20251101000000;

fn search(q: &str) -> MessageFilter {
    MessageFilter { q: Some(q.into()), limit: 10, ..MessageFilter::default() }
}

async fn raw_pool(dir: &tempfile::TempDir) -> SqlitePool {
    let options = SqliteConnectOptions::new().filename(dir.path().join("mailroom.db")).create_if_missing(true).foreign_keys(true);
    SqlitePoolOptions::new().max_connections(1).connect_with(options).await.unwrap()
}

async fn count(pool: &SqlitePool, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(pool).await.unwrap()
}

/// Messages stored before the search migration are found after it.
#[tokio::test]
async fn the_migration_indexes_existing_messages() {
    let dir = tempfile::tempdir().unwrap();
    let earlier = tempfile::tempdir().unwrap();
    let migrations = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    for entry in std::fs::read_dir(&migrations).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        let version: i64 = name.split('_').next().unwrap().parse().unwrap();
        if version < SEARCH_MIGRATION {
            std::fs::copy(migrations.join(&name), earlier.path().join(&name)).unwrap();
        }
    }
    let raw = raw_pool(&dir).await;
    sqlx::migrate::Migrator::new(earlier.path()).await.unwrap().run(&raw).await.unwrap();
    let (site, mailbox) = (SiteId::new(), MailboxId::new());
    let t = "2025-01-01T00:00:00.000000Z";
    sqlx::query("INSERT INTO sites (id, name, created_at) VALUES (?, 's', ?)").bind(site.as_uuid()).bind(t).execute(&raw).await.unwrap();
    sqlx::query(
        "INSERT INTO mailboxes (id, site_id, address, address_canonical, created_at, updated_at) VALUES (?, ?, 'a@x.test', 'a@x.test', ?, ?)",
    )
    .bind(mailbox.as_uuid())
    .bind(site.as_uuid())
    .bind(t)
    .bind(t)
    .execute(&raw)
    .await
    .unwrap();
    let mut ids = Vec::new();
    for (from, to, subject, text) in [
        (Some(r#"{"name":"Alice","address":"alice@example.com"}"#), r#"[{"address":"a@x.test"}]"#, Some("Old invoice"), Some("pay soon")),
        (None, r#"[{"name":"Bob","address":"bob@example.com"}]"#, None, None),
        // A malformed address column does not stop the migration.
        (Some("not json"), "[]", Some("broken addresses"), Some("still indexed")),
    ] {
        let (thread, message) = (ThreadId::new(), MessageId::new());
        sqlx::query(
            "INSERT INTO threads (id, site_id, mailbox_id, message_count, snippet, last_message_at, created_at) VALUES (?, ?, ?, 1, '', ?, ?)",
        )
        .bind(thread.as_uuid())
        .bind(site.as_uuid())
        .bind(mailbox.as_uuid())
        .bind(t)
        .bind(t)
        .execute(&raw)
        .await
        .unwrap();
        sqlx::query(
            "INSERT INTO messages (id, site_id, mailbox_id, thread_id, direction, from_address, to_addresses, subject, text_body, \
             snippet, size, raw_blob_key, created_at) VALUES (?, ?, ?, ?, 'inbound', ?, ?, ?, ?, '', 1, 'k', ?)",
        )
        .bind(message.as_uuid())
        .bind(site.as_uuid())
        .bind(mailbox.as_uuid())
        .bind(thread.as_uuid())
        .bind(from)
        .bind(to)
        .bind(subject)
        .bind(text)
        .bind(t)
        .execute(&raw)
        .await
        .unwrap();
        ids.push(message);
    }
    raw.close().await;

    let store = SqliteStore::connect(&format!("sqlite://{}", dir.path().join("mailroom.db").display())).await.unwrap();
    let find = |q: &'static str| {
        let store = store.clone();
        async move { store.list_messages(mailbox, &search(q)).await.unwrap().into_iter().map(|m| m.id).collect::<Vec<_>>() }
    };
    assert_eq!(find("invoice").await, vec![ids[0]]);
    assert_eq!(find("alice@example.com").await, vec![ids[0]]);
    assert_eq!(find("pay soon").await, vec![ids[0]]);
    assert_eq!(find("bob@example.com").await, vec![ids[1]]);
    assert_eq!(find("a@x.test").await, vec![ids[0]]);
    store.close().await;
    // The listing cannot decode that row, but the migration indexed it all the same.
    let raw = raw_pool(&dir).await;
    assert_eq!(count(&raw, "SELECT COUNT(*) FROM message_search WHERE message_search MATCH 'broken AND still'").await, 1);
    raw.close().await;
}

/// Every way a message goes takes its index row along: the store's deletes, a thread's,
/// mailbox's or site's cascade, raw SQL.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn index_rows_never_outlive_their_messages() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(SqliteStore::connect(&format!("sqlite://{}", dir.path().join("mailroom.db").display())).await.unwrap());
    let raw = raw_pool(&dir).await;
    let site = testkit::new_site(&store, "s").await;
    let other = testkit::new_site(&store, "t").await;
    let a = testkit::new_mailbox(&store, site.id, "a@x.test").await;
    let b = testkit::new_mailbox(&store, site.id, "b@x.test").await;
    let c = testkit::new_mailbox(&store, other.id, "c@x.test").await;
    let mut messages = Vec::new();
    for mb in [&a, &a, &b, &b, &c, &c] {
        let m = testkit::message_value(mb, ThreadId::new(), testkit::now());
        testkit::insert(&store, &m, true).await;
        messages.push(m);
    }
    let in_step = || async {
        let (messages, ids, docs) = (
            count(&raw, "SELECT COUNT(*) FROM messages").await,
            count(&raw, "SELECT COUNT(*) FROM message_search_ids").await,
            count(&raw, "SELECT COUNT(*) FROM message_search WHERE message_search MATCH 'hello'").await,
        );
        assert_eq!((ids, docs), (messages, messages), "one index row per message");
        messages
    };
    assert_eq!(in_step().await, 6);

    store.delete_message(messages[0].id, &NewEvent::new(site.id, Some(a.id), "message.deleted", serde_json::json!({}))).await.unwrap();
    assert_eq!(in_step().await, 5);
    store.delete_mailbox(a.id, &NewEvent::new(site.id, Some(a.id), "mailbox.deleted", serde_json::json!({}))).await.unwrap();
    assert_eq!(in_step().await, 4);
    sqlx::query("DELETE FROM threads WHERE id = ?").bind(messages[2].thread_id.as_uuid()).execute(&raw).await.unwrap();
    assert_eq!(in_step().await, 3);
    sqlx::query("DELETE FROM sites WHERE id = ?").bind(site.id.as_uuid()).execute(&raw).await.unwrap();
    assert_eq!(in_step().await, 2);
    sqlx::query("UPDATE messages SET subject = 'Changed', text_body = 'changed' WHERE id = ?")
        .bind(messages[4].id.as_uuid())
        .execute(&raw)
        .await
        .unwrap();
    assert_eq!(store.list_messages(c.id, &search("changed")).await.unwrap().len(), 1, "raw edits are indexed too");
    assert_eq!(store.list_messages(c.id, &search("hello")).await.unwrap().len(), 1);
    sqlx::query("DELETE FROM messages").execute(&raw).await.unwrap();
    assert_eq!(count(&raw, "SELECT COUNT(*) FROM message_search_ids").await, 0);
    assert_eq!(count(&raw, "SELECT COUNT(*) FROM message_search WHERE message_search MATCH 'changed OR hello'").await, 0);
    raw.close().await;
}
