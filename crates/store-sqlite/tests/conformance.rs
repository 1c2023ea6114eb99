//! Runs the shared Store conformance suite against SQLite: a fresh database file in a
//! temporary directory per test (and the whole suite again on `sqlite::memory:`), plus the
//! checks only SQLite needs (several stores on one file, corrupt rows).

use mailroom_core::*;
use mailroom_store::areas::*;
use mailroom_store::testkit::{self, TestStore};
use mailroom_store::{MessageFilter, NewEvent, NewMessage, Store, StoreError};
use mailroom_store_sqlite::SqliteStore;
use std::sync::Arc;

fn url(dir: &tempfile::TempDir) -> String {
    format!("sqlite://{}", dir.path().join("mailroom.db").display())
}

/// A fresh file database; reopening closes it and opens the same file again.
async fn file_store() -> Option<TestStore> {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let url = url(&dir);
    let store = SqliteStore::connect(&url).await.expect("connect");
    let first = store.clone();
    let reopened_url = url.clone();
    Some(TestStore {
        store: Arc::new(store),
        reopen: Some(Box::new(move || {
            Box::pin(async move {
                first.close().await;
                Arc::new(SqliteStore::connect(&reopened_url).await.expect("reopen")) as Arc<dyn Store>
            })
        })),
        teardown: Some(Box::pin(async move { drop(dir) })),
    })
}

mod file {
    mailroom_store::conformance_tests!(super::file_store);
}

async fn memory_store() -> Option<Arc<dyn Store>> {
    Some(Arc::new(SqliteStore::connect("sqlite::memory:").await.expect("connect")))
}

mod memory {
    mailroom_store::conformance_tests!(super::memory_store);
}

/// Two stores on one file (as two processes would be) write concurrently without `SQLITE_BUSY`
/// failures, and the event cursors stay strictly increasing.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_stores_on_one_file_share_the_writer_lock() {
    let dir = tempfile::tempdir().unwrap();
    let a: Arc<dyn Store> = Arc::new(SqliteStore::connect(&url(&dir)).await.unwrap());
    let b: Arc<dyn Store> = Arc::new(SqliteStore::connect(&url(&dir)).await.unwrap());
    let site = testkit::new_site(&a, "s").await;
    let mb = testkit::new_mailbox(&b, site.id, "agent@x.test").await;
    let mut tasks = Vec::new();
    for i in 0..16 {
        let store = if i % 2 == 0 { a.clone() } else { b.clone() };
        let mb = mb.clone();
        tasks.push(tokio::spawn(async move {
            for _ in 0..4 {
                let m = testkit::message_value(&mb, ThreadId::new(), testkit::now());
                let e = mailroom_store::NewEvent::new(mb.site_id, Some(mb.id), "message.received", serde_json::json!({}));
                store.insert_message(&NewMessage { message: m, new_thread: true }, &[e]).await.expect("insert");
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let events = a.list_events(None, None, 1000).await.unwrap();
    assert_eq!(events.len(), 1 + 16 * 4);
    let cursors: Vec<i64> = events.iter().map(|e| mailroom_core::cursor::position(&e.cursor)).collect();
    assert!(cursors.windows(2).all(|w| w[0] < w[1]));
}

/// Rows that cannot be decoded are reported as `Corrupt`, never a panic.
#[tokio::test]
async fn corrupt_rows_are_errors_not_panics() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(SqliteStore::connect(&url(&dir)).await.unwrap());
    // One connection, so the pragma below holds for every statement.
    let raw = sqlx::sqlite::SqlitePoolOptions::new().max_connections(1).connect(&url(&dir)).await.unwrap();
    let site = testkit::new_site(&store, "s").await;
    let mb = testkit::new_mailbox(&store, site.id, "agent@x.test").await;
    let filter = MessageFilter { limit: 10, ..MessageFilter::default() };
    for sql in [
        "UPDATE messages SET labels = 'not json'",
        "UPDATE messages SET created_at = 'yesterday'",
        "UPDATE messages SET size = -1",
        "UPDATE messages SET direction = 'sideways'",
        "UPDATE messages SET id = x'0102'",
        "UPDATE message_recipients SET status = 'lost'",
        "UPDATE attachments SET size = -5",
    ] {
        let mut m = testkit::message_value(&mb, ThreadId::new(), testkit::now());
        m.direction = Direction::Outbound;
        m.recipients = vec![Recipient {
            address: EmailAddress::parse("bob@y.test").unwrap(),
            kind: RecipientKind::To,
            status: DeliveryStatus::Queued,
            last_reply: None,
            attempts: 0,
            next_attempt_at: None,
            updated_at: testkit::now(),
        }];
        m.attachments = vec![Attachment {
            id: AttachmentId::new(),
            filename: None,
            content_type: "text/plain".into(),
            size: 1,
            content_id: None,
            inline: false,
            blob_key: "a".into(),
            download_url: None,
        }];
        testkit::insert(&store, &m, true).await;
        sqlx::query("PRAGMA foreign_keys = OFF").execute(&raw).await.unwrap();
        sqlx::query("PRAGMA ignore_check_constraints = ON").execute(&raw).await.unwrap();
        sqlx::query(sql).execute(&raw).await.unwrap();
        let listed = store.list_messages(mb.id, &filter).await;
        assert!(matches!(listed, Err(StoreError::Corrupt(_))), "{sql}: {listed:?}");
        sqlx::query("DELETE FROM message_recipients").execute(&raw).await.unwrap();
        sqlx::query("DELETE FROM attachments").execute(&raw).await.unwrap();
        sqlx::query("DELETE FROM messages").execute(&raw).await.unwrap();
    }
    sqlx::query("UPDATE mailboxes SET address = 'not an address'").execute(&raw).await.unwrap();
    assert!(matches!(store.get_mailbox(mb.id).await, Err(StoreError::Corrupt(_))));
    sqlx::query("UPDATE threads SET participants = '[\"bad\"]'").execute(&raw).await.unwrap();
    assert!(matches!(store.list_threads(mb.id, None, 10).await, Err(StoreError::Corrupt(_))));
    sqlx::query("UPDATE events SET data = '{'").execute(&raw).await.unwrap();
    assert!(matches!(store.list_events(None, None, 10).await, Err(StoreError::Corrupt(_))));
    raw.close().await;
}

/// Claimers on two stores on one file (as on two processes) never claim the same recipient.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn claimers_on_two_stores_never_overlap() {
    let dir = tempfile::tempdir().unwrap();
    let a: Arc<dyn Store> = Arc::new(SqliteStore::connect(&url(&dir)).await.unwrap());
    let b: Arc<dyn Store> = Arc::new(SqliteStore::connect(&url(&dir)).await.unwrap());
    testkit::claimers_never_overlap(vec![a, b]).await;
}

/// Recipients an earlier version left in `sending` (without a lease) get a lease that ended at
/// their last change, so the first claim after the upgrade takes them again.
#[tokio::test]
async fn upgrade_gives_stranded_sending_recipients_an_expired_lease() {
    let dir = tempfile::tempdir().unwrap();
    let initial = tempfile::tempdir().unwrap();
    let name = "20250101000000_initial.sql";
    std::fs::copy(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations").join(name), initial.path().join(name)).unwrap();
    let options = sqlx::sqlite::SqliteConnectOptions::new().filename(dir.path().join("mailroom.db")).create_if_missing(true);
    let raw = sqlx::sqlite::SqlitePoolOptions::new().max_connections(1).connect_with(options).await.unwrap();
    sqlx::migrate::Migrator::new(initial.path()).await.unwrap().run(&raw).await.unwrap();
    let (site, mailbox, thread, message) = (SiteId::new(), MailboxId::new(), ThreadId::new(), MessageId::new());
    sqlx::query("INSERT INTO sites (id, name, created_at) VALUES (?, 's', '2025-01-01T00:00:00.000000Z')")
        .bind(site.as_uuid())
        .execute(&raw)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO mailboxes (id, site_id, address, address_canonical, created_at, updated_at) \
         VALUES (?, ?, 'a@x.test', 'a@x.test', '2025-01-01T00:00:00.000000Z', '2025-01-01T00:00:00.000000Z')",
    )
    .bind(mailbox.as_uuid())
    .bind(site.as_uuid())
    .execute(&raw)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO threads (id, site_id, mailbox_id, message_count, snippet, last_message_at, created_at) \
         VALUES (?, ?, ?, 1, '', '2025-01-01T00:00:00.000000Z', '2025-01-01T00:00:00.000000Z')",
    )
    .bind(thread.as_uuid())
    .bind(site.as_uuid())
    .bind(mailbox.as_uuid())
    .execute(&raw)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO messages (id, site_id, mailbox_id, thread_id, direction, snippet, size, raw_blob_key, created_at) \
         VALUES (?, ?, ?, ?, 'outbound', '', 1, 'k', '2025-01-01T00:00:00.000000Z')",
    )
    .bind(message.as_uuid())
    .bind(site.as_uuid())
    .bind(mailbox.as_uuid())
    .bind(thread.as_uuid())
    .execute(&raw)
    .await
    .unwrap();
    for (position, (address, status)) in [("stuck@y.test", "sending"), ("done@y.test", "delivered")].into_iter().enumerate() {
        sqlx::query(
            "INSERT INTO message_recipients (message_id, address, position, kind, status, attempts, updated_at) \
             VALUES (?, ?, ?, 'to', ?, 1, '2025-01-01T00:00:01.000000Z')",
        )
        .bind(message.as_uuid())
        .bind(address)
        .bind(position as i64)
        .bind(status)
        .execute(&raw)
        .await
        .unwrap();
    }
    raw.close().await;

    let store = SqliteStore::connect(&url(&dir)).await.unwrap();
    let at = chrono::DateTime::parse_from_rfc3339("2025-01-01T00:00:01Z").unwrap().to_utc();
    assert!(store.claim_recipients(at, at, 10).await.unwrap().is_empty(), "the lease ends at the last change");
    let claimed = store.claim_recipients(at + chrono::Duration::seconds(1), testkit::now(), 10).await.unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!((claimed[0].message_id, claimed[0].recipient.address.as_str()), (message, "stuck@y.test"));
    assert_eq!((claimed[0].recipient.status, claimed[0].recipient.attempts), (DeliveryStatus::Sending, 1));
}

/// Webhook claimers on two stores on one file (as on two processes) never claim the same
/// delivery.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn webhook_claimers_on_two_stores_never_overlap() {
    let dir = tempfile::tempdir().unwrap();
    let a: Arc<dyn Store> = Arc::new(SqliteStore::connect(&url(&dir)).await.unwrap());
    let b: Arc<dyn Store> = Arc::new(SqliteStore::connect(&url(&dir)).await.unwrap());
    testkit::webhook_claimers_never_overlap(vec![a, b]).await;
}

/// Clones of a store share its event signal; a store opened separately on the same file has
/// its own, which other stores' commits do not move.
#[tokio::test]
async fn clones_share_the_event_signal() {
    let dir = tempfile::tempdir().unwrap();
    let a = SqliteStore::connect(&url(&dir)).await.unwrap();
    let b = SqliteStore::connect(&url(&dir)).await.unwrap();
    let (mut rx_a, mut rx_b) = (a.event_signal(), b.event_signal());
    let clone = a.clone();
    clone.append_events(&[NewEvent::new(SiteId::new(), None, "test.x", serde_json::json!({}))]).await.unwrap();
    assert!(rx_a.has_changed().unwrap(), "a commit on a clone moves the original's signal");
    assert!(!rx_b.has_changed().unwrap(), "another store's signal does not move");
    rx_a.borrow_and_update();
    rx_b.borrow_and_update();
}

/// Deleting a site (raw SQL: the `Store` trait has no `delete_site`) cascades to the agent
/// tools' records, with foreign keys on as the store runs them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn site_deletion_cascades_to_agent_records() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(SqliteStore::connect(&url(&dir)).await.unwrap());
    let options = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(dir.path().join("mailroom.db"))
        .foreign_keys(true)
        .busy_timeout(std::time::Duration::from_secs(5));
    let raw = sqlx::sqlite::SqlitePoolOptions::new().max_connections(1).connect_with(options).await.unwrap();
    let pool = raw.clone();
    testkit::site_deletion_cascades_to_agent_records(store, move |site| {
        Box::pin(async move {
            let done = sqlx::query("DELETE FROM sites WHERE id = ?").bind(site.as_uuid()).execute(&pool).await.unwrap();
            assert_eq!(done.rows_affected(), 1);
        })
    })
    .await;
    raw.close().await;
}
