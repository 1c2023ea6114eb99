//! The attachment-text fan-out runs on one node of a cluster at a time: workers sharing a
//! store take turns under a cluster-wide lease, so the log is read and the shared cursor
//! written once, not once per node.

use mailroom_core::event_types::MESSAGE_RECEIVED;
use mailroom_core::{AttachmentId, MailboxId, MessageId, SiteId};
use mailroom_reading::{TextWorker, TextWorkerConfig};
use mailroom_store::{BlobStore, NewEvent, Store};
use mailroom_store_sqlite::SqliteStore;
use std::sync::Arc;

fn received_with_attachments(n: usize) -> NewEvent {
    let attachments: Vec<serde_json::Value> = (0..n).map(|_| serde_json::json!({"id": AttachmentId::new()})).collect();
    let data = serde_json::json!({"id": MessageId::new(), "mailbox_id": MailboxId::new(), "attachments": attachments});
    NewEvent::new(SiteId::new(), None, MESSAGE_RECEIVED, data)
}

#[tokio::test]
async fn one_worker_of_the_cluster_fans_out() {
    let sqlite = SqliteStore::connect("sqlite::memory:").await.unwrap();
    let store: Arc<dyn Store> = Arc::new(sqlite.clone());
    let blobs: Arc<dyn BlobStore> = Arc::new(sqlite);
    let first = TextWorker::new(store.clone(), blobs.clone(), TextWorkerConfig::default());
    let second = TextWorker::new(store.clone(), blobs.clone(), TextWorkerConfig::default());

    store.append_events(&[received_with_attachments(2)]).await.unwrap();
    assert_eq!(first.fan_out_once().await.unwrap(), 2, "the first worker takes the lease and queues both attachments");
    store.append_events(&[received_with_attachments(1)]).await.unwrap();
    assert_eq!(second.fan_out_once().await.unwrap(), 0, "the lease is held by the first worker: the second skips the fan-out");
    assert_eq!(first.fan_out_once().await.unwrap(), 1, "the holder goes on from the shared cursor");
    assert_eq!(first.fan_out_once().await.unwrap(), 0, "nothing new");
    let cursor = store.get_setting(mailroom_reading::worker::CURSOR_SETTING).await.unwrap();
    assert!(cursor.is_some_and(|c| c.parse::<i64>().is_ok_and(|c| c > 0)), "the cursor is stored");
}
