//! Runs the shared Store conformance suite against PostgreSQL.
//!
//! Set `MAILROOM_TEST_POSTGRES_URL` (for example `postgres://postgres@127.0.0.1:5432/postgres`)
//! to a server where the user may create databases: each test creates its own fresh database
//! `mailroom_test_<uuid>` and drops it afterwards. Without the variable every test is skipped,
//! loudly.

use mailroom_core::*;
use mailroom_store::areas::*;
use mailroom_store::testkit::{self, TestStore};
use mailroom_store::{MessageFilter, NewEvent, Store, StoreError};
use mailroom_store_postgres::PgStore;
use sqlx::{Connection, PgConnection};
use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

const VAR: &str = "MAILROOM_TEST_POSTGRES_URL";

/// Returns `url` with its database replaced by `database`.
fn with_database(url: &str, database: &str) -> String {
    let (url, query) = match url.split_once('?') {
        Some((u, q)) => (u, format!("?{q}")),
        None => (url, String::new()),
    };
    let scheme_end = url.find("://").map(|i| i + 3).unwrap_or(0);
    let server = match url[scheme_end..].find('/') {
        Some(i) => &url[..scheme_end + i],
        None => url,
    };
    format!("{server}/{database}{query}")
}

/// A fresh, empty database on the server `MAILROOM_TEST_POSTGRES_URL` names.
struct TestDb {
    admin_url: String,
    name: String,
    url: String,
}

impl TestDb {
    async fn create() -> Option<TestDb> {
        let Ok(admin_url) = std::env::var(VAR) else {
            // Once per run, and past the test harness's output capture, so it is seen.
            static WARNED: std::sync::Once = std::sync::Once::new();
            WARNED.call_once(|| {
                let _ = writeln!(std::io::stderr(), "SKIPPED: {VAR} is not set; PostgreSQL conformance tests did not run");
            });
            return None;
        };
        let name = format!("mailroom_test_{}", uuid::Uuid::now_v7().simple());
        let mut admin = PgConnection::connect(&admin_url).await.expect("connect to MAILROOM_TEST_POSTGRES_URL");
        sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut admin).await.expect("create the test database");
        admin.close().await.ok();
        let url = with_database(&admin_url, &name);
        Some(TestDb { admin_url, name, url })
    }

    /// Drops the database, best effort (a failure is reported, not fatal).
    async fn drop_database(admin_url: String, name: String) {
        let result = async {
            let mut admin = PgConnection::connect(&admin_url).await?;
            sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&mut admin).await?;
            admin.close().await
        }
        .await;
        if let Err(e) = result {
            eprintln!("warning: could not drop test database {name}: {e}");
        }
    }
}

/// Runs `body` with the URL of a fresh database, dropping it afterwards even if `body` panics.
async fn with_db<F, Fut>(body: F)
where
    F: FnOnce(String) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let Some(db) = TestDb::create().await else { return };
    let outcome = tokio::spawn(body(db.url.clone())).await;
    TestDb::drop_database(db.admin_url, db.name).await;
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}

/// A store on a fresh database; reopening closes the pool and connects again.
async fn pg_store() -> Option<TestStore> {
    let db = TestDb::create().await?;
    let store = match PgStore::connect(&db.url).await {
        Ok(store) => store,
        Err(e) => {
            TestDb::drop_database(db.admin_url, db.name).await;
            panic!("cannot connect to the test database: {e}");
        }
    };
    let (first, for_teardown) = (store.clone(), store.clone());
    let url = db.url.clone();
    Some(TestStore {
        store: Arc::new(store),
        reopen: Some(Box::new(move || {
            Box::pin(async move {
                first.close().await;
                Arc::new(PgStore::connect(&url).await.expect("reconnect")) as Arc<dyn Store>
            })
        })),
        teardown: Some(Box::pin(async move {
            for_teardown.close().await;
            TestDb::drop_database(db.admin_url, db.name).await;
        })),
    })
}

mailroom_store::conformance_tests!(pg_store);

/// Small blobs round-trip through the database; a key is written once; a blob larger than the
/// database keeps is refused with the reason, before anything is sent.
#[tokio::test]
async fn blobs_round_trip_and_refuse_what_they_cannot_keep() {
    use bytes::Bytes;
    use mailroom_store::BlobStore;
    use std::io::ErrorKind;
    with_db(|url| async move {
        let store = PgStore::connect(&url).await.unwrap();
        store.check().await.unwrap();
        store.put("messages/a.eml", Bytes::from_static(b"raw\r\n")).await.unwrap();
        assert_eq!(&store.get("messages/a.eml").await.unwrap()[..], b"raw\r\n");
        assert_eq!(store.put("messages/a.eml", Bytes::from_static(b"other")).await.unwrap_err().kind(), ErrorKind::AlreadyExists);
        assert_eq!(&store.get("messages/a.eml").await.unwrap()[..], b"raw\r\n", "the first write stands");
        let large = Bytes::from(vec![7u8; mailroom_store_postgres::INLINE_BLOB_MAX + 1]);
        let refused = store.put("messages/large.eml", large).await.unwrap_err();
        assert_eq!(refused.kind(), ErrorKind::InvalidInput);
        assert!(refused.to_string().contains("more than"), "{refused}");
        store.delete("messages/a.eml").await.unwrap();
        store.delete("messages/a.eml").await.unwrap();
        assert_eq!(store.get("messages/a.eml").await.unwrap_err().kind(), ErrorKind::NotFound);
        store.close().await;
    })
    .await;
}

#[test]
fn database_names_replace_the_path() {
    assert_eq!(with_database("postgres://root@127.0.0.1:5432/postgres", "x"), "postgres://root@127.0.0.1:5432/x");
    assert_eq!(with_database("postgres://root@127.0.0.1:5432", "x"), "postgres://root@127.0.0.1:5432/x");
    assert_eq!(with_database("postgres://u:p@h/db?sslmode=disable", "x"), "postgres://u:p@h/x?sslmode=disable");
}

/// No lock orders appenders: a transaction that wrote an event and is still running holds
/// back only the *numbering* of later commits (they could otherwise be read before it and
/// the reader would skip it). The later append commits at once, becomes readable when the
/// slow one ends, and is read after it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_writer_holds_back_later_events_until_it_ends() {
    with_db(appenders_wait).await;
}

async fn appenders_wait(url: String) {
    let store = PgStore::connect(&url).await.unwrap();
    let site = SiteId::new();

    let mut slow = PgConnection::connect(&url).await.unwrap();
    let mut tx = slow.begin().await.unwrap();
    // The slow transaction takes its id (and so its place in the order) first.
    sqlx::query("SELECT pg_current_xact_id()").execute(&mut *tx).await.unwrap();
    let waiting = {
        let store = store.clone();
        tokio::spawn(async move {
            let e = NewEvent::new(site, None, "test.waiting", serde_json::json!({}));
            store.append_events(std::slice::from_ref(&e)).await.unwrap();
            e.id
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    let committed: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM events").fetch_one(&mut slow_reader(&url).await).await.unwrap();
    assert_eq!(committed, 1, "the later append committed without waiting for a lock");
    assert!(store.list_events(None, None, 10).await.unwrap().is_empty(), "but it is not readable before the older writer ends");
    assert!(!waiting.is_finished(), "append_events returns once its events are readable");
    let slow_id = uuid::Uuid::now_v7();
    sqlx::query("INSERT INTO events (id, site_id, type, data, created_at) VALUES ($1, $2, 'test.slow', '{}', now())")
        .bind(slow_id)
        .bind(site.as_uuid())
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let waiting_id = waiting.await.unwrap();
    let events = store.list_events(None, None, 10).await.unwrap();
    assert_eq!(events.iter().map(|e| e.id.as_uuid()).collect::<Vec<_>>(), vec![slow_id, waiting_id.as_uuid()]);
    let of_site = store.list_events(Some(site), None, 10).await.unwrap();
    assert_eq!(of_site.iter().map(|e| e.cursor.as_str()).collect::<Vec<_>>(), vec!["e1", "e2"]);

    store.close().await;
    slow.close().await.ok();
}

async fn slow_reader(url: &str) -> PgConnection {
    PgConnection::connect(url).await.unwrap()
}

/// A long transaction in another database of the same server does not hold this log back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_transaction_elsewhere_does_not_delay_events() {
    with_db(|url| async move {
        let other = TestDb::create().await.expect("a second database");
        let mut elsewhere = PgConnection::connect(&other.url).await.unwrap();
        let mut tx = elsewhere.begin().await.unwrap();
        sqlx::query("SELECT pg_current_xact_id()").execute(&mut *tx).await.unwrap();
        let store = PgStore::connect(&url).await.unwrap();
        let started = std::time::Instant::now();
        store.append_events(&[NewEvent::new(SiteId::new(), None, "test.quick", serde_json::json!({}))]).await.unwrap();
        assert!(started.elapsed() < Duration::from_secs(2), "took {:?}", started.elapsed());
        assert_eq!(store.list_events(None, None, 10).await.unwrap().len(), 1);
        tx.rollback().await.unwrap();
        elsewhere.close().await.ok();
        store.close().await;
        TestDb::drop_database(other.admin_url, other.name).await;
    })
    .await;
}

/// Rows that cannot be decoded are reported as `Corrupt`, never a panic.
#[tokio::test]
async fn corrupt_rows_are_errors_not_panics() {
    with_db(corrupt_rows).await;
}

async fn corrupt_rows(url: String) {
    let pg = PgStore::connect(&url).await.unwrap();
    let store: Arc<dyn Store> = Arc::new(pg.clone());
    let mut raw = PgConnection::connect(&url).await.unwrap();
    let site = testkit::new_site(&store, "s").await;
    let mb = testkit::new_mailbox(&store, site.id, "agent@x.test").await;
    let filter = MessageFilter { limit: 10, ..MessageFilter::default() };
    for sql in [
        "UPDATE messages SET labels = '\"not a list\"'",
        "UPDATE messages SET size = -1",
        "UPDATE messages SET to_addresses = '[{\"address\": \"no at sign\"}]'",
        "UPDATE message_recipients SET status = 'lost'",
        "UPDATE message_recipients SET attempts = -1",
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
        sqlx::query(sql).execute(&mut raw).await.unwrap();
        let listed = store.list_messages(mb.id, &filter).await;
        assert!(matches!(listed, Err(StoreError::Corrupt(_))), "{sql}: {listed:?}");
        sqlx::query("DELETE FROM messages").execute(&mut raw).await.unwrap();
    }
    sqlx::query("UPDATE mailboxes SET address = 'not an address'").execute(&mut raw).await.unwrap();
    assert!(matches!(store.get_mailbox(mb.id).await, Err(StoreError::Corrupt(_))));
    sqlx::query("UPDATE threads SET participants = '[\"bad\"]'").execute(&mut raw).await.unwrap();
    assert!(matches!(store.list_threads(mb.id, None, 10).await, Err(StoreError::Corrupt(_))));

    raw.close().await.ok();
    pg.close().await;
}

/// Claimers on two stores (two nodes, each with its own pool) never claim the same recipient.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn claimers_on_two_nodes_never_overlap() {
    with_db(|url| async move {
        let a = PgStore::connect(&url).await.unwrap();
        let b = PgStore::connect(&url).await.unwrap();
        testkit::claimers_never_overlap(vec![Arc::new(a.clone()), Arc::new(b.clone())]).await;
        a.close().await;
        b.close().await;
    })
    .await;
}

/// Webhook claimers on two stores (two nodes) never claim the same delivery.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn webhook_claimers_on_two_nodes_never_overlap() {
    with_db(|url| async move {
        let a = PgStore::connect(&url).await.unwrap();
        let b = PgStore::connect(&url).await.unwrap();
        testkit::webhook_claimers_never_overlap(vec![Arc::new(a.clone()), Arc::new(b.clone())]).await;
        a.close().await;
        b.close().await;
    })
    .await;
}

/// A webhook claimer skips the deliveries another claimer's open transaction holds instead of
/// waiting.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_claimers_skip_locked_rows_without_waiting() {
    with_db(webhook_skip_locked).await;
}

async fn webhook_skip_locked(url: String) {
    let pg = PgStore::connect(&url).await.unwrap();
    let store: Arc<dyn Store> = Arc::new(pg.clone());
    let site = testkit::new_site(&store, "s").await;
    let ep = testkit::new_webhook(&store, site.id, "https://a.test").await;
    let held = testkit::delivery_value(&ep, EventId::new(), 1, None);
    let free = testkit::delivery_value(&ep, EventId::new(), 2, None);
    store.create_webhook_deliveries(&[held.clone(), free.clone()], None).await.unwrap();

    let mut other = PgConnection::connect(&url).await.unwrap();
    let mut tx = other.begin().await.unwrap();
    sqlx::query("SELECT 1 FROM webhook_deliveries WHERE id = $1 FOR UPDATE").bind(held.id.as_uuid()).execute(&mut *tx).await.unwrap();
    let now = testkit::now();
    let lease = now + chrono::Duration::minutes(5);
    let claimed = tokio::time::timeout(Duration::from_secs(5), store.claim_webhook_deliveries(now, lease, 10)).await;
    let claimed = claimed.expect("the claim must not wait for the locked row").unwrap();
    assert_eq!(claimed.iter().map(|d| d.id).collect::<Vec<_>>(), vec![free.id]);
    tx.rollback().await.unwrap();
    let claimed = store.claim_webhook_deliveries(now, lease, 10).await.unwrap();
    assert_eq!(claimed.iter().map(|d| d.id).collect::<Vec<_>>(), vec![held.id]);

    other.close().await.ok();
    pg.close().await;
}

/// Clones of a store share its event signal, and a commit moves it as soon as the commit
/// returns (other nodes' stores follow through LISTEN/NOTIFY; see tests/nodes.rs).
#[tokio::test]
async fn clones_share_the_event_signal() {
    with_db(|url| async move {
        let a = PgStore::connect(&url).await.unwrap();
        let mut rx_a = a.event_signal();
        let clone = a.clone();
        clone.append_events(&[NewEvent::new(SiteId::new(), None, "test.x", serde_json::json!({}))]).await.unwrap();
        assert!(rx_a.has_changed().unwrap(), "a commit on a clone moves the original's signal");
        rx_a.borrow_and_update();
        a.close().await;
    })
    .await;
}

/// A claimer skips the rows another claimer's open transaction holds instead of waiting.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claimers_skip_locked_rows_without_waiting() {
    with_db(skip_locked).await;
}

async fn skip_locked(url: String) {
    let pg = PgStore::connect(&url).await.unwrap();
    let store: Arc<dyn Store> = Arc::new(pg.clone());
    let site = testkit::new_site(&store, "s").await;
    let mb = testkit::new_mailbox(&store, site.id, "agent@x.test").await;
    let mut m = testkit::message_value(&mb, ThreadId::new(), testkit::now());
    m.direction = Direction::Outbound;
    m.recipients = ["held@y.test", "free@y.test"]
        .into_iter()
        .map(|a| Recipient {
            address: EmailAddress::parse(a).unwrap(),
            kind: RecipientKind::To,
            status: DeliveryStatus::Queued,
            last_reply: None,
            attempts: 0,
            next_attempt_at: None,
            updated_at: testkit::now(),
        })
        .collect();
    testkit::insert(&store, &m, true).await;

    let mut other = PgConnection::connect(&url).await.unwrap();
    let mut tx = other.begin().await.unwrap();
    sqlx::query("SELECT 1 FROM message_recipients WHERE address = 'held@y.test' FOR UPDATE").execute(&mut *tx).await.unwrap();
    let now = testkit::now();
    let claimed =
        tokio::time::timeout(Duration::from_secs(5), store.claim_recipients(now, now + chrono::Duration::minutes(5), 10)).await;
    let claimed = claimed.expect("the claim must not wait for the locked row").unwrap();
    assert_eq!(claimed.iter().map(|p| p.recipient.address.as_str()).collect::<Vec<_>>(), vec!["free@y.test"]);
    tx.rollback().await.unwrap();
    let claimed = store.claim_recipients(now, now + chrono::Duration::minutes(5), 10).await.unwrap();
    assert_eq!(claimed.iter().map(|p| p.recipient.address.as_str()).collect::<Vec<_>>(), vec!["held@y.test"]);

    other.close().await.ok();
    pg.close().await;
}

/// Recipients an earlier version left in `sending` (without a lease) get a lease that ended at
/// their last change, so the first claim after the upgrade takes them again.
#[tokio::test]
async fn upgrade_gives_stranded_sending_recipients_an_expired_lease() {
    with_db(upgrade).await;
}

async fn upgrade(url: String) {
    let initial = tempfile::tempdir().unwrap();
    let name = "20250101000000_initial.sql";
    std::fs::copy(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations").join(name), initial.path().join(name)).unwrap();
    let raw = sqlx::postgres::PgPoolOptions::new().max_connections(1).connect(&url).await.unwrap();
    sqlx::migrate::Migrator::new(initial.path()).await.unwrap().run(&raw).await.unwrap();
    let (site, mailbox, thread, message) = (SiteId::new(), MailboxId::new(), ThreadId::new(), MessageId::new());
    let t0 = "2025-01-01T00:00:00Z";
    sqlx::query("INSERT INTO sites (id, name, created_at) VALUES ($1, 's', $2::timestamptz)")
        .bind(site.as_uuid())
        .bind(t0)
        .execute(&raw)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO mailboxes (id, site_id, address, address_canonical, created_at, updated_at) \
         VALUES ($1, $2, 'a@x.test', 'a@x.test', $3::timestamptz, $3::timestamptz)",
    )
    .bind(mailbox.as_uuid())
    .bind(site.as_uuid())
    .bind(t0)
    .execute(&raw)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO threads (id, site_id, mailbox_id, message_count, snippet, last_message_at, created_at) \
         VALUES ($1, $2, $3, 1, '', $4::timestamptz, $4::timestamptz)",
    )
    .bind(thread.as_uuid())
    .bind(site.as_uuid())
    .bind(mailbox.as_uuid())
    .bind(t0)
    .execute(&raw)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO messages (id, site_id, mailbox_id, thread_id, direction, snippet, size, raw_blob_key, created_at) \
         VALUES ($1, $2, $3, $4, 'outbound', '', 1, 'k', $5::timestamptz)",
    )
    .bind(message.as_uuid())
    .bind(site.as_uuid())
    .bind(mailbox.as_uuid())
    .bind(thread.as_uuid())
    .bind(t0)
    .execute(&raw)
    .await
    .unwrap();
    for (position, (address, status)) in [("stuck@y.test", "sending"), ("done@y.test", "delivered")].into_iter().enumerate() {
        sqlx::query(
            "INSERT INTO message_recipients (message_id, address, position, kind, status, attempts, updated_at) \
             VALUES ($1, $2, $3, 'to', $4, 1, '2025-01-01T00:00:01Z'::timestamptz)",
        )
        .bind(message.as_uuid())
        .bind(address)
        .bind(position as i32)
        .bind(status)
        .execute(&raw)
        .await
        .unwrap();
    }
    raw.close().await;

    let store = PgStore::connect(&url).await.unwrap();
    let at = chrono::DateTime::parse_from_rfc3339("2025-01-01T00:00:01Z").unwrap().to_utc();
    assert!(store.claim_recipients(at, at, 10).await.unwrap().is_empty(), "the lease ends at the last change");
    let claimed = store.claim_recipients(at + chrono::Duration::seconds(1), testkit::now(), 10).await.unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!((claimed[0].message_id, claimed[0].recipient.address.as_str()), (message, "stuck@y.test"));
    assert_eq!((claimed[0].recipient.status, claimed[0].recipient.attempts), (DeliveryStatus::Sending, 1));
    store.close().await;
}

/// Deleting a site (raw SQL: the `Store` trait has no `delete_site`) cascades to the agent
/// tools' records.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn site_deletion_cascades_to_agent_records() {
    with_db(|url| async move {
        let pg = PgStore::connect(&url).await.unwrap();
        let raw_url = url.clone();
        testkit::site_deletion_cascades_to_agent_records(Arc::new(pg.clone()), move |site| {
            Box::pin(async move {
                let mut raw = PgConnection::connect(&raw_url).await.unwrap();
                let done = sqlx::query("DELETE FROM sites WHERE id = $1").bind(site.as_uuid()).execute(&mut raw).await.unwrap();
                assert_eq!(done.rows_affected(), 1);
                raw.close().await.ok();
            })
        })
        .await;
        pg.close().await;
    })
    .await;
}
