//! Group commit for the hot write: inserting messages.
//!
//! SQLite has one writer and, with `synchronous=FULL`, every commit waits for an fsync of the
//! WAL. Under load (many SMTP sessions delivering at once) committing each message alone makes
//! that fsync the ceiling. Here concurrent `insert_message` calls queue up; one task takes
//! everything queued (up to [`MAX_BATCH`]), runs each insert in its own savepoint inside one
//! transaction, commits once and answers every caller. A failing insert rolls back to its
//! savepoint and fails alone; a failed commit fails the whole batch. Nobody is answered before
//! the commit that made their message durable.

use crate::codec::db_err;
use crate::store::insert_message_on;
use mailroom_store::{NewEvent, NewMessage, StoreError, StoreResult};
use sqlx::SqlitePool;
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot, watch};

/// The most inserts committed together.
pub(crate) const MAX_BATCH: usize = 256;

/// One write waiting for the next group commit.
enum Work {
    /// `insert_message`, with blobs stored in the same transaction.
    Insert { new: Box<NewMessage>, events: Vec<NewEvent>, blobs: Vec<(String, bytes::Bytes)> },
    /// A blob kept in the database.
    Blob { key: String, data: bytes::Bytes },
}

struct Job {
    work: Work,
    reply: oneshot::Sender<StoreResult<()>>,
}

/// The queue in front of the committing task.
#[derive(Debug, Clone)]
pub(crate) struct GroupCommit {
    jobs: mpsc::UnboundedSender<Job>,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.work {
            Work::Insert { new, .. } => f.debug_struct("Job").field("message", &new.message.id).finish_non_exhaustive(),
            Work::Blob { key, .. } => f.debug_struct("Job").field("blob", key).finish_non_exhaustive(),
        }
    }
}

impl GroupCommit {
    /// Starts the committing task on the write pool; it ends when every handle is dropped.
    pub(crate) fn start(write: SqlitePool, signal: Arc<watch::Sender<u64>>) -> Self {
        let (jobs, mut rx) = mpsc::unbounded_channel::<Job>();
        tokio::spawn(async move {
            while let Some(first) = rx.recv().await {
                let mut batch = vec![first];
                while batch.len() < MAX_BATCH {
                    match rx.try_recv() {
                        Ok(job) => batch.push(job),
                        Err(_) => break,
                    }
                }
                let results = commit_batch(&write, &batch).await;
                let appended = results.iter().any(|r| matches!(r, Ok(true)));
                if appended {
                    signal.send_modify(|v| *v = v.wrapping_add(1));
                }
                for (job, result) in batch.into_iter().zip(results) {
                    let _ = job.reply.send(result.map(|_| ()));
                }
            }
        });
        Self { jobs }
    }

    /// Inserts a message in the next group commit and returns once it is durable.
    pub(crate) async fn insert(&self, new: NewMessage, events: Vec<NewEvent>, blobs: Vec<(String, bytes::Bytes)>) -> StoreResult<()> {
        self.submit(Work::Insert { new: Box::new(new), events, blobs }).await
    }

    /// Stores a blob in the next group commit and returns once it is durable.
    pub(crate) async fn put_blob(&self, key: String, data: bytes::Bytes) -> StoreResult<()> {
        self.submit(Work::Blob { key, data }).await
    }

    async fn submit(&self, work: Work) -> StoreResult<()> {
        let (reply, answer) = oneshot::channel();
        self.jobs
            .send(Job { work, reply })
            .map_err(|_| StoreError::Database("the SQLite writer has stopped".into()))?;
        answer.await.map_err(|_| StoreError::Database("the SQLite writer stopped before committing".into()))?
    }
}

async fn commit_batch(write: &SqlitePool, batch: &[Job]) -> Vec<StoreResult<bool>> {
    // Optimistic first: the whole batch in one transaction without savepoints (the common
    // case, and fewer statements on SQLite's single writer). If any insert fails, that
    // transaction is rolled back and the batch is run again with a savepoint per insert, so
    // the failure stays with its own caller.
    match run(write, batch, false).await {
        Ok(results) if results.len() == batch.len() && results.iter().all(|r| r.is_ok()) => results,
        _ => run(write, batch, true).await.unwrap_or_else(|e| batch.iter().map(|_| Err(StoreError::Database(e.clone().into()))).collect()),
    }
}

async fn run(write: &SqlitePool, batch: &[Job], savepoints: bool) -> Result<Vec<StoreResult<bool>>, String> {
    let mut conn = write.acquire().await.map_err(|e| format!("no write connection: {e}"))?;
    sqlx::query("BEGIN IMMEDIATE").execute(&mut *conn).await.map_err(|e| format!("could not begin a write transaction: {e}"))?;
    let mut results = Vec::with_capacity(batch.len());
    for job in batch {
        if !savepoints {
            match apply(&mut conn, &job.work).await {
                Ok(appended) => results.push(Ok(appended)),
                Err(e) => {
                    let _ = sqlx::query("ROLLBACK").execute(&mut *conn).await;
                    results.push(Err(e));
                    return Ok(results);
                }
            }
            continue;
        }
        if let Err(e) = sqlx::query("SAVEPOINT message").execute(&mut *conn).await {
            results.push(Err(db_err(e)));
            continue;
        }
        match apply(&mut conn, &job.work).await {
            Ok(appended) => {
                results.push(sqlx::query("RELEASE message").execute(&mut *conn).await.map(|_| appended).map_err(db_err));
            }
            Err(e) => {
                let _ = sqlx::query("ROLLBACK TO message").execute(&mut *conn).await;
                let _ = sqlx::query("RELEASE message").execute(&mut *conn).await;
                results.push(Err(e));
            }
        }
    }
    if let Err(e) = sqlx::query("COMMIT").execute(&mut *conn).await {
        let _ = sqlx::query("ROLLBACK").execute(&mut *conn).await;
        return Err(format!("the commit failed: {e}"));
    }
    Ok(results)
}

async fn apply(conn: &mut sqlx::SqliteConnection, work: &Work) -> StoreResult<bool> {
    match work {
        Work::Insert { new, events, blobs } => {
            for (key, data) in blobs {
                sqlx::query("INSERT INTO blobs (key, data) VALUES (?, ?)").bind(key).bind(data.as_ref()).execute(&mut *conn).await.map_err(db_err)?;
            }
            insert_message_on(conn, new, events).await
        }
        Work::Blob { key, data } => {
            sqlx::query("INSERT INTO blobs (key, data) VALUES (?, ?)").bind(key).bind(data.as_ref()).execute(&mut *conn).await.map_err(db_err)?;
            Ok(false)
        }
    }
}
