//! Several nodes on one PostgreSQL database: start-up migrations run once under an advisory
//! lock, and each node's event signal fires for events other nodes append (LISTEN/NOTIFY),
//! also after its listening connection was cut.
//!
//! Needs `MAILROOM_TEST_POSTGRES_URL` (see tests/conformance.rs); skipped loudly without it.

use mailroom_core::*;
use mailroom_store::areas::*;
use mailroom_store::{NewEvent, NewMessage, Store};
use mailroom_store_postgres::{MIGRATION_LOCK, MIGRATOR, PgStore};
use sqlx::{Connection, PgConnection};
use std::io::Write;
use std::time::Duration;

const VAR: &str = "MAILROOM_TEST_POSTGRES_URL";

/// Runs `body` with the URL of a fresh database, dropping it afterwards even if `body` panics.
async fn with_db<F, Fut>(body: F)
where
    F: FnOnce(String) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let Ok(admin_url) = std::env::var(VAR) else {
        static WARNED: std::sync::Once = std::sync::Once::new();
        WARNED.call_once(|| {
            let _ = writeln!(std::io::stderr(), "SKIPPED: {VAR} is not set; the PostgreSQL multi-node tests did not run");
        });
        return;
    };
    let name = format!("mailroom_test_{}", uuid::Uuid::now_v7().simple());
    let mut admin = PgConnection::connect(&admin_url).await.expect("connect to MAILROOM_TEST_POSTGRES_URL");
    sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut admin).await.expect("create the test database");
    let (base, query) = admin_url.split_once('?').map(|(u, q)| (u.to_string(), format!("?{q}"))).unwrap_or((admin_url.clone(), String::new()));
    let scheme_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let server = base[scheme_end..].find('/').map(|i| base[..scheme_end + i].to_string()).unwrap_or(base.clone());
    let outcome = tokio::spawn(body(format!("{server}/{name}{query}"))).await;
    if let Err(e) = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&mut admin).await {
        eprintln!("warning: could not drop test database {name}: {e}");
    }
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}

fn event() -> NewEvent {
    NewEvent::new(SiteId::new(), None, "test.cross_node", serde_json::json!({}))
}

/// Eight nodes connecting at once to an empty database all start, and every migration is
/// applied exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn nodes_starting_together_migrate_once() {
    with_db(|url| async move {
        let connects: Vec<_> = (0..8)
            .map(|_| {
                tokio::spawn({
                    let url = url.clone();
                    async move { PgStore::connect(&url).await }
                })
            })
            .collect();
        let mut stores = Vec::new();
        for c in connects {
            stores.push(c.await.unwrap().expect("every node starts"));
        }
        let mut raw = PgConnection::connect(&url).await.unwrap();
        let (rows, versions, failed): (i64, i64, i64) =
            sqlx::query_as("SELECT COUNT(*), COUNT(DISTINCT version), COUNT(*) FILTER (WHERE NOT success) FROM _sqlx_migrations")
                .fetch_one(&mut raw)
                .await
                .unwrap();
        let expected = MIGRATOR.iter().count() as i64;
        assert_eq!((rows, versions, failed), (expected, expected, 0), "each migration once, none failed");
        for s in &stores {
            s.ping().await.unwrap();
        }
        for s in stores {
            s.close().await;
        }
        raw.close().await.ok();
    })
    .await;
}

/// A node waits for the migration lock another holds before touching the schema.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connecting_waits_for_the_migration_lock() {
    with_db(|url| async move {
        let mut holder = PgConnection::connect(&url).await.unwrap();
        sqlx::query("SELECT pg_advisory_lock($1)").bind(MIGRATION_LOCK).execute(&mut holder).await.unwrap();
        let connecting = tokio::spawn({
            let url = url.clone();
            async move { PgStore::connect(&url).await }
        });
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert!(!connecting.is_finished(), "connect must wait while another node migrates");
        let tables: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM pg_tables WHERE tablename = 'events'").fetch_one(&mut holder).await.unwrap();
        assert_eq!(tables, 0, "nothing was migrated under another node's lock");
        sqlx::query("SELECT pg_advisory_unlock($1)").bind(MIGRATION_LOCK).execute(&mut holder).await.unwrap();
        let store = tokio::time::timeout(Duration::from_secs(30), connecting).await.expect("connects once the lock is free").unwrap().unwrap();
        store.close().await;
        holder.close().await.ok();
    })
    .await;
}

/// Events appended through one node wake the other node's signal within a second, in both
/// directions; a write that appends nothing does not.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_append_on_one_node_wakes_the_other() {
    with_db(|url| async move {
        let a = PgStore::connect(&url).await.unwrap();
        let b = PgStore::connect(&url).await.unwrap();
        let (mut rx_a, mut rx_b) = (a.event_signal(), b.event_signal());
        for _ in 0..3 {
            rx_b.borrow_and_update();
            a.append_events(&[event()]).await.unwrap();
            tokio::time::timeout(Duration::from_secs(1), rx_b.changed()).await.expect("node B woke within 1 s").unwrap();
        }
        rx_a.borrow_and_update();
        b.append_events(&[event()]).await.unwrap();
        tokio::time::timeout(Duration::from_secs(1), rx_a.changed()).await.expect("node A woke within 1 s").unwrap();
        // The log is the truth: B reads A's events after the wake-up.
        assert_eq!(b.list_events(None, None, 10).await.unwrap().len(), 4);
        a.close().await;
        b.close().await;
    })
    .await;
}

/// When the listening connection is cut (here: terminated by the server), the node listens
/// again on a new one, wakes its readers once it does (so they look at the log for what was
/// notified in between), and other nodes' events wake it again afterwards.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_listener_reconnects_and_wakes_after_its_connection_is_cut() {
    with_db(|url| async move {
        let a = PgStore::connect(&url).await.unwrap();
        let b = PgStore::connect(&url).await.unwrap();
        let mut rx_b = b.event_signal();
        let mut raw = PgConnection::connect(&url).await.unwrap();
        let killed: Vec<bool> = sqlx::query_scalar(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = current_database() AND query LIKE 'LISTEN %' AND pid <> pg_backend_pid()",
        )
        .fetch_all(&mut raw)
        .await
        .unwrap();
        assert_eq!(killed, vec![true, true], "both nodes listen on a connection of their own");
        // Appended while B is not listening: B's wake-up after reconnecting covers it.
        a.append_events(&[event()]).await.unwrap();
        tokio::time::timeout(Duration::from_secs(3), rx_b.changed()).await.expect("woken after listening again").unwrap();
        let listening = async {
            loop {
                let n: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN %' AND pid <> pg_backend_pid()",
                )
                .fetch_one(&mut raw)
                .await
                .unwrap();
                if n == 2 {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        };
        tokio::time::timeout(Duration::from_secs(10), listening).await.expect("both nodes listen again");
        rx_b.borrow_and_update();
        a.append_events(&[event()]).await.unwrap();
        tokio::time::timeout(Duration::from_secs(1), rx_b.changed()).await.expect("notifications reach B again").unwrap();
        a.close().await;
        b.close().await;
        raw.close().await.ok();
    })
    .await;
}

/// Events that arrive without a notification (written by a node of an older version during a
/// rolling upgrade, or notified while a connection silently stopped delivering) still wake
/// the node, by the poll of the log's head, within its interval.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_without_a_notification_wake_within_the_poll_interval() {
    with_db(|url| async move {
        let b = PgStore::connect(&url).await.unwrap();
        let mut rx_b = b.event_signal();
        let mut raw = PgConnection::connect(&url).await.unwrap();
        sqlx::query("INSERT INTO events (id, site_id, type, data, created_at) VALUES ($1, $2, 'test.silent', '{}', now())")
            .bind(uuid::Uuid::now_v7())
            .bind(uuid::Uuid::now_v7())
            .execute(&mut raw)
            .await
            .unwrap();
        let started = std::time::Instant::now();
        tokio::time::timeout(Duration::from_secs(8), rx_b.changed()).await.expect("the poll noticed the new event").unwrap();
        assert!(started.elapsed() > Duration::from_millis(500), "no notification was sent, so only the poll can have woken B");
        // Nobody numbered the row (as if its node died between commit and numbering): the poll
        // numbered it, so it is readable.
        assert_eq!(b.list_events(None, None, 10).await.unwrap().len(), 1);
        b.close().await;
        raw.close().await.ok();
    })
    .await;
}

/// Many writers on two nodes and a tail per site on either node: every tail sees every event
/// of its site exactly once, in order, without gaps in its site's positions.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn writers_on_two_nodes_and_site_tails_see_every_event_once_in_order() {
    with_db(|url| async move {
        let a = PgStore::connect(&url).await.unwrap();
        let b = PgStore::connect(&url).await.unwrap();
        let nodes: Vec<std::sync::Arc<dyn Store>> = vec![std::sync::Arc::new(a.clone()), std::sync::Arc::new(b.clone())];
        mailroom_store::testkit::concurrent_writers_on_nodes_keep_site_order(&nodes).await;
        a.close().await;
        b.close().await;
    })
    .await;
}

/// The batch writer and the sealer keep a connection each, out of the pool: after every
/// backend of the node is terminated (a PostgreSQL restart, a proxy that drops connections),
/// they find theirs broken and take new ones, and writes go on: a message written after its
/// connection was idle for a moment is stored at the first attempt, and its event is numbered
/// when the write returns.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_writer_and_the_sealer_take_new_connections_after_theirs_are_cut() {
    use mailroom_store::testkit::{message_value, new_mailbox, new_site, now};
    with_db(|url| async move {
        let a = PgStore::connect(&url).await.unwrap();
        let store: std::sync::Arc<dyn Store> = std::sync::Arc::new(a.clone());
        let site = new_site(&store, "s").await;
        let mb = new_mailbox(&store, site.id, "agent@x.test").await;
        let write = |store: std::sync::Arc<dyn Store>| {
            let mb = mb.clone();
            async move {
                let events = vec![NewEvent::new(mb.site_id, Some(mb.id), event_types::MESSAGE_RECEIVED, serde_json::json!({}))];
                let written = store.insert_message(&NewMessage { message: message_value(&mb, ThreadId::new(), now()), new_thread: true }, &events).await;
                (written, events[0].id)
            }
        };
        let (written, id) = write(store.clone()).await;
        written.expect("the first message");
        assert!(store.get_event(id).await.unwrap().is_some(), "numbered when the write returns");
        let mut raw = PgConnection::connect(&url).await.unwrap();
        let killed = cut_every_connection(&mut raw).await;
        assert!(killed.len() >= 3, "the listener, the writer's and the sealer's connections at least: {killed:?}");
        // Idle for longer than the check's window: the writer and the sealer check their
        // connections, find them gone and take new ones; nothing fails.
        tokio::time::sleep(Duration::from_millis(700)).await;
        for _ in 0..3 {
            let (written, id) = write(store.clone()).await;
            written.expect("written on a new connection");
            assert!(store.get_event(id).await.unwrap().is_some(), "numbered on a new connection");
        }
        // Cut again while the connections were just used: a write may fail once (the
        // connection is not checked within the window), then the next ones go through.
        cut_every_connection(&mut raw).await;
        let mut failed = 0;
        for _ in 0..5 {
            let (written, id) = write(store.clone()).await;
            match written {
                Ok(()) => assert!(store.get_event(id).await.unwrap().is_some(), "numbered"),
                Err(_) => failed += 1,
            }
        }
        assert!(failed <= 1, "after its connection broke, the writer failed {failed} writes of 5");
        let (written, _) = write(store.clone()).await;
        written.expect("writes go on");
        a.close().await;
        raw.close().await.ok();
    })
    .await;
}

/// Terminates every backend of the database but `raw`'s own; returns what
/// `pg_terminate_backend` said for each.
async fn cut_every_connection(raw: &mut PgConnection) -> Vec<bool> {
    sqlx::query_scalar("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")
        .fetch_all(raw)
        .await
        .unwrap()
}
