//! Group commit: concurrent inserts share transactions, and one failing insert fails alone.

use mailroom_core::*;
use mailroom_store::testkit::{message_value, new_mailbox, new_site};
use mailroom_store::{NewEvent, NewMessage, Store, StoreError};
use std::sync::Arc;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_inserts_commit_together_and_a_bad_one_fails_alone() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> =
        Arc::new(mailroom_store_sqlite::SqliteStore::connect(&format!("sqlite://{}", dir.path().join("g.db").display())).await.unwrap());
    let site = new_site(&store, "s").await;
    let mb = new_mailbox(&store, site.id, "a@x.test").await;
    let mut tasks = Vec::new();
    for i in 0..200 {
        let store = store.clone();
        let mb = mb.clone();
        tasks.push(tokio::spawn(async move {
            let mut m = message_value(&mb, ThreadId::new(), now());
            // Every 50th insert reuses a Message-ID already taken: a conflict.
            m.message_id = Some(if i % 50 == 49 { "dup@x.test".to_string() } else { format!("m{i}@x.test") });
            let event = NewEvent::new(mb.site_id, Some(mb.id), "message.received", serde_json::json!({"i": i}));
            (i, store.insert_message(&NewMessage { message: m, new_thread: true }, &[event]).await)
        }));
    }
    let mut ok = 0;
    let mut conflicts = 0;
    for t in tasks {
        match t.await.unwrap() {
            (_, Ok(())) => ok += 1,
            (i, Err(StoreError::Conflict { constraint })) => {
                assert_eq!(i % 50, 49, "only duplicates conflict");
                assert_eq!(constraint, "message_id");
                conflicts += 1;
            }
            (i, Err(e)) => panic!("insert {i} failed: {e}"),
        }
    }
    assert_eq!((ok, conflicts), (197, 3), "the first duplicate wins, the other three fail alone");
    let events = store.list_events(Some(site.id), None, 1000).await.unwrap();
    assert_eq!(events.iter().filter(|e| e.event_type == "message.received").count(), 197, "a failed insert leaves no event");
    let cursors: Vec<i64> = events.iter().map(|e| mailroom_core::cursor::position(&e.cursor)).collect();
    assert!(cursors.windows(2).all(|w| w[0] < w[1]));
}

#[tokio::test]
async fn small_blobs_live_in_the_database() {
    use mailroom_store::BlobStore;
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("b.db").display());
    let store = mailroom_store_sqlite::SqliteStore::connect(&url).await.unwrap();
    store.put("messages/a.eml", bytes::Bytes::from_static(b"raw\r\n")).await.unwrap();
    assert_eq!(&store.get("messages/a.eml").await.unwrap()[..], b"raw\r\n");
    let again = store.put("messages/a.eml", bytes::Bytes::from_static(b"x")).await.unwrap_err();
    assert_eq!(again.kind(), std::io::ErrorKind::AlreadyExists, "keys are never overwritten");
    store.delete("messages/a.eml").await.unwrap();
    assert_eq!(store.get("messages/a.eml").await.unwrap_err().kind(), std::io::ErrorKind::NotFound);
    store.put("messages/b.eml", bytes::Bytes::from_static(b"kept")).await.unwrap();
    store.close().await;
    let reopened = mailroom_store_sqlite::SqliteStore::connect(&url).await.unwrap();
    assert_eq!(&reopened.get("messages/b.eml").await.unwrap()[..], b"kept", "durable across a reopen");
    reopened.check().await.unwrap();
}
