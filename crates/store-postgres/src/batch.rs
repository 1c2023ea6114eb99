//! Group commit of messages that start a thread (most received mail, and imports).
//!
//! Writers hand such a message (with the blobs kept in the database: its raw bytes, its
//! attachments) to a queue and wait; one writer per node takes what is queued (up to
//! [`MAX_BATCH`] messages or [`MAX_BATCH_BYTES`]) and writes it with one statement in a
//! transaction of its own ([`insert_rows`]): one round trip, one commit and one WAL flush for
//! the batch, where each message would have had its own. Under light load a batch is one
//! message, written at once; under load the queue fills while the statement and its commit
//! run, so batches grow with the load. The batch's events are numbered (see the `seal` module)
//! before its writers are answered, as for any other write, and before the next batch starts.
//!
//! One writer, not several: on one node (`bench/nodes.sh`, pg1) and on three, a single writer
//! took more messages a second than two or three, with less PostgreSQL CPU per message. More
//! writers make smaller batches: more statements, more commits and seals, and more backends
//! contending for the WAL. The writer keeps a connection of its own (see the `held` module). A
//! message larger than [`ALONE_ABOVE`] does not wait in the queue (nor hold it up): it is
//! written alone, in a transaction of its own.
//!
//! A batch is all or nothing: if its statement fails (a mailbox deleted meanwhile, a
//! Message-ID stored by a concurrent delivery), each of its messages is written again alone,
//! so each writer gets its own answer, exactly as without batching.

use crate::Committed;
use crate::held::Held;
use crate::store::{Rows, insert_rows};
use mailroom_store::{NewEvent, NewMessage, StoreError, StoreResult};
use bytes::Bytes;
use tokio::sync::{mpsc, oneshot};

/// Messages larger than this (raw bytes) are written alone, outside the queue.
pub(crate) const ALONE_ABOVE: u64 = 1024 * 1024;

/// Messages written by one statement at most.
const MAX_BATCH: usize = 16;

/// A batch takes no more messages once their raw sizes add up to this: one statement's
/// parameters stay far below PostgreSQL's 1 GiB message limit and memory stays that of the
/// writers waiting anyway. A larger message is written alone.
const MAX_BATCH_BYTES: u64 = 8 * 1024 * 1024;

/// One writer's message with its events and blobs, and where its answer goes.
pub(crate) struct Job {
    pub(crate) new: NewMessage,
    pub(crate) events: Vec<NewEvent>,
    pub(crate) blobs: Vec<(String, Bytes)>,
    pub(crate) done: oneshot::Sender<StoreResult<()>>,
}

/// The queue's sending side; the writer stops when every clone of it is dropped (with the
/// last clone of the store).
pub(crate) type Queue = mpsc::UnboundedSender<Job>;

/// Starts the writer.
pub(crate) fn start(committed: Committed) -> Queue {
    let (queue, jobs) = mpsc::unbounded_channel();
    tokio::spawn(work(jobs, committed));
    queue
}

/// Writes `new` with its `events` and `blobs` through the queue and waits for its answer.
pub(crate) async fn write(queue: &Queue, new: &NewMessage, events: &[NewEvent], blobs: Vec<(String, Bytes)>) -> StoreResult<()> {
    let (done, answer) = oneshot::channel();
    queue
        .send(Job { new: new.clone(), events: events.to_vec(), blobs, done })
        .map_err(|_| StoreError::Database("the store is shutting down: its message writers have stopped".into()))?;
    answer.await.map_err(|_| StoreError::Database("a message writer stopped before answering".into()))?
}

async fn work(mut jobs: mpsc::UnboundedReceiver<Job>, committed: Committed) {
    let mut held = Held::default();
    let mut closed = std::pin::pin!(committed.pool.close_event());
    let mut open = true;
    loop {
        let first = tokio::select! {
            job = jobs.recv() => match job {
                Some(job) => job,
                None => break,
            },
            () = &mut closed, if open => {
                open = false;
                held.release().await;
                continue;
            }
        };
        let mut bytes = first.bytes();
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH && bytes < MAX_BATCH_BYTES {
            match jobs.try_recv() {
                Ok(job) => {
                    bytes = bytes.saturating_add(job.bytes());
                    batch.push(job);
                }
                Err(_) => break,
            }
        }
        run(&committed, &mut held, batch).await;
    }
}

/// Writes a batch, or each of its messages alone when the batch fails.
async fn run(committed: &Committed, held: &mut Held, batch: Vec<Job>) {
    let items: Vec<Rows<'_>> = batch.iter().map(Job::rows).collect();
    let written = write_rows(committed, held, &items).await;
    drop(items);
    match written {
        Ok(xid) => {
            committed.after(batch.iter().any(|j| !j.events.is_empty()), xid).await;
            for job in batch {
                let _ = job.done.send(Ok(()));
            }
        }
        Err(e) if batch.len() == 1 => {
            if let Some(job) = batch.into_iter().next() {
                let _ = job.done.send(Err(e));
            }
        }
        Err(_) => {
            for job in batch {
                let written = write_rows(committed, held, &[job.rows()]).await;
                if let Ok(xid) = written {
                    committed.after(!job.events.is_empty(), xid).await;
                }
                let _ = job.done.send(written.map(drop));
            }
        }
    }
}

impl Job {
    fn rows(&self) -> Rows<'_> {
        Rows { new: &self.new, events: &self.events, blobs: &self.blobs }
    }

    /// The bytes this job adds to a batch's statement: its raw message, or its blobs when
    /// they are kept with it (the raw message among them).
    fn bytes(&self) -> u64 {
        let blobs: usize = self.blobs.iter().map(|(_, d)| d.len()).sum();
        self.new.message.size.max(blobs as u64)
    }
}

/// Writes `items` in one transaction on the writer's connection; returns its id (see
/// [`insert_rows`]).
async fn write_rows(committed: &Committed, held: &mut Held, items: &[Rows<'_>]) -> StoreResult<Option<u64>> {
    held.run(&committed.pool, async |conn| insert_rows(conn, items).await).await
}
