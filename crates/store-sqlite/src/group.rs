//! The threads that own the SQLite connections: one writer with group commit, and readers.
//!
//! SQLite has one writer and, with `synchronous=FULL`, every commit waits for an fsync of the
//! WAL. Every write of the store is a closure run whole on the writer thread, which owns the
//! write connection: a caller pays one hand-off per transaction, not one per statement. The
//! writer takes everything queued (up to [`MAX_BATCH`]), opens one `BEGIN IMMEDIATE`
//! transaction, runs each closure in its own savepoint, commits once and then answers every
//! caller. A failing closure rolls back to its savepoint and fails alone; a failed commit fails
//! the whole batch. Nobody is answered before the commit that made their write durable.
//!
//! Reads never wait for the writer either (WAL readers see the last commit). A short read (a
//! lookup by key, a page of at most a hundred rows) runs on the calling thread with a
//! connection taken from a small pool, one per core: it costs tens of microseconds, less than
//! the two thread wake-ups a hand-off would cost (profiles of the API send and SMTP ingest
//! paths showed reader-thread hand-offs as their largest kernel cost). A read that may run long
//! (full-text search, scans, whole threads) and any read that finds the pool empty go to a few
//! reader threads with their own connections, so a runtime worker is never held by one. An
//! in-memory database has no second connection to read from: its reads run on the writer
//! thread, between batches.

use mailroom_store::{StoreError, StoreResult};
use rusqlite::Connection;
use std::cell::Cell;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Mutex};
use tokio::sync::{oneshot, watch};

/// The most transactions committed together.
pub(crate) const MAX_BATCH: usize = 256;

/// A write transaction in progress on the writer thread, handed to each write closure.
pub(crate) struct Tx<'c> {
    conn: &'c Connection,
    appended: &'c Cell<bool>,
}

impl Tx<'_> {
    /// Notes that this transaction appended events: the commit wakes the event signal.
    pub(crate) fn appended(&self) {
        self.appended.set(true);
    }
}

impl std::ops::Deref for Tx<'_> {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        self.conn
    }
}

/// Answers a caller once the commit's outcome is known.
type Finish = Box<dyn FnOnce(Result<(), String>) + Send>;
/// A write closure: runs in the batch's transaction, says whether it succeeded.
/// `None` when the batch failed before the closure could run: it only answers.
type WriteJob = Box<dyn FnOnce(Option<&Tx<'_>>) -> (bool, Finish) + Send>;
/// A read closure.
type ReadJob = Box<dyn FnOnce(&Connection) + Send>;

enum WriterMsg {
    Write(WriteJob),
    Read(ReadJob),
    Close(oneshot::Sender<()>),
}

enum ReaderMsg {
    Read(ReadJob),
    Close(oneshot::Sender<()>),
}

/// The handles to the connection threads; cloning shares them.
#[derive(Clone)]
pub(crate) struct Threads {
    writer: flume::Sender<WriterMsg>,
    /// `None` for an in-memory database (reads go to the writer).
    readers: Option<(flume::Sender<ReaderMsg>, usize)>,
    /// Connections for short reads run on the caller's thread; `None` inside once closed.
    inline: Arc<Mutex<Option<Vec<Connection>>>>,
}

impl std::fmt::Debug for Threads {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let inline = self.inline.lock().ok().and_then(|p| p.as_ref().map(Vec::len));
        f.debug_struct("Threads").field("readers", &self.readers.as_ref().map(|r| r.1)).field("inline", &inline).finish_non_exhaustive()
    }
}

fn stopped() -> StoreError {
    StoreError::Database("the SQLite store is closed".into())
}

impl Threads {
    /// Starts the writer thread on `write` and one reader thread per connection of `read`;
    /// `inline` serves short reads on their callers' threads.
    pub(crate) fn start(write: Connection, read: Vec<Connection>, inline: Vec<Connection>, signal: Arc<watch::Sender<u64>>) -> std::io::Result<Threads> {
        let (writer, rx) = flume::unbounded::<WriterMsg>();
        std::thread::Builder::new().name("sqlite-writer".into()).spawn(move || writer_loop(write, rx, signal))?;
        let readers = if read.is_empty() {
            None
        } else {
            let (tx, rx) = flume::unbounded::<ReaderMsg>();
            let n = read.len();
            for (i, conn) in read.into_iter().enumerate() {
                let rx = rx.clone();
                std::thread::Builder::new().name(format!("sqlite-reader-{i}")).spawn(move || reader_loop(conn, rx))?;
            }
            Some((tx, n))
        };
        Ok(Threads { writer, readers, inline: Arc::new(Mutex::new(Some(inline))) })
    }

    /// Runs `f` as (part of) a write transaction and returns its result once committed.
    pub(crate) async fn write<R, F>(&self, f: F) -> StoreResult<R>
    where
        R: Send + 'static,
        F: FnOnce(&Tx<'_>) -> StoreResult<R> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel::<StoreResult<R>>();
        let job: WriteJob = Box::new(move |tx: Option<&Tx<'_>>| {
            let result = match tx {
                Some(tx) => f(tx),
                None => Err(StoreError::Database("the write batch failed before this transaction ran".into())),
            };
            let ok = result.is_ok();
            let finish: Finish = Box::new(move |commit: Result<(), String>| {
                let answer = match (result, commit) {
                    (Err(e), _) => Err(e),
                    (Ok(_), Err(e)) => Err(StoreError::Database(e.into())),
                    (Ok(r), Ok(())) => Ok(r),
                };
                let _ = reply.send(answer);
            });
            (ok, finish)
        });
        self.writer.send(WriterMsg::Write(job)).map_err(|_| stopped())?;
        answer.await.map_err(|_| StoreError::Database("the SQLite writer stopped before committing".into()))?
    }

    /// Runs `f`, a short read, on a read connection: on this thread when one of the pool's
    /// connections is free, else on a reader thread.
    pub(crate) async fn read<R, F>(&self, f: F) -> StoreResult<R>
    where
        R: Send + 'static,
        F: FnOnce(&Connection) -> StoreResult<R> + Send + 'static,
    {
        let Some(conn) = self.take_inline() else {
            return self.read_long(f).await;
        };
        let mut out = None;
        run_read(&conn, Box::new(|c: &Connection| out = Some(f(c))));
        self.give_back(conn);
        // `None`: the read panicked (caught by `run_read`).
        out.unwrap_or_else(|| Err(StoreError::Database("a SQLite read failed unexpectedly".into())))
    }

    /// How many pooled connections are free; `None` once closed.
    #[cfg(test)]
    pub(crate) fn inline_free(&self) -> Option<usize> {
        self.inline.lock().ok()?.as_ref().map(Vec::len)
    }

    fn take_inline(&self) -> Option<Connection> {
        self.inline.lock().ok()?.as_mut()?.pop()
    }

    /// Returns a pooled connection, or closes it when the store closed meanwhile.
    fn give_back(&self, conn: Connection) {
        if let Ok(mut pool) = self.inline.lock()
            && let Some(pool) = pool.as_mut()
        {
            pool.push(conn);
        }
    }

    /// Runs `f`, a read that may take long (a search, a scan), on a reader thread.
    pub(crate) async fn read_long<R, F>(&self, f: F) -> StoreResult<R>
    where
        R: Send + 'static,
        F: FnOnce(&Connection) -> StoreResult<R> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel::<StoreResult<R>>();
        let job: ReadJob = Box::new(move |conn: &Connection| {
            let _ = reply.send(f(conn));
        });
        match &self.readers {
            Some((readers, _)) => readers.send(ReaderMsg::Read(job)).map_err(|_| stopped())?,
            None => self.writer.send(WriterMsg::Read(job)).map_err(|_| stopped())?,
        }
        answer.await.map_err(|_| StoreError::Database("the SQLite reader stopped before answering".into()))?
    }

    /// Stops every thread once the work queued before is done; their connections close.
    pub(crate) async fn close(&self) {
        // Pooled connections close now; one in use closes when its read returns it.
        if let Ok(mut pool) = self.inline.lock() {
            pool.take();
        }
        if let Some((readers, n)) = &self.readers {
            let mut waits = Vec::new();
            for _ in 0..*n {
                let (tx, rx) = oneshot::channel();
                if readers.send(ReaderMsg::Close(tx)).is_ok() {
                    waits.push(rx);
                }
            }
            for w in waits {
                let _ = w.await;
            }
        }
        let (tx, rx) = oneshot::channel();
        if self.writer.send(WriterMsg::Close(tx)).is_ok() {
            let _ = rx.await;
        }
    }
}

fn reader_loop(conn: Connection, rx: flume::Receiver<ReaderMsg>) {
    while let Ok(msg) = rx.recv() {
        match msg {
            ReaderMsg::Read(job) => run_read(&conn, job),
            ReaderMsg::Close(done) => {
                drop(conn);
                let _ = done.send(());
                return;
            }
        }
    }
}

/// Runs a read job inside one read transaction: all its statements see one snapshot (a
/// message and its recipients, a page and its attachments), and SQLite takes its WAL read
/// lock once per job instead of once per statement. If `BEGIN` fails the job still runs, each
/// statement in its own implicit transaction, and reports what it hits.
fn run_read<'a>(conn: &Connection, job: Box<dyn FnOnce(&Connection) + Send + 'a>) {
    let began = conn.prepare_cached("BEGIN").and_then(|mut s| s.execute([])).is_ok();
    // A panic drops the reply: the caller gets an error, the thread lives on.
    let _ = catch_unwind(AssertUnwindSafe(|| job(conn)));
    if began && !conn.is_autocommit() && conn.prepare_cached("COMMIT").and_then(|mut s| s.execute([])).is_err() {
        let _ = conn.execute_batch("ROLLBACK");
    }
}

fn writer_loop(conn: Connection, rx: flume::Receiver<WriterMsg>, signal: Arc<watch::Sender<u64>>) {
    let mut close = None;
    while close.is_none() {
        let Ok(first) = rx.recv() else { break };
        let mut writes = Vec::new();
        let mut msg = Some(first);
        while let Some(m) = msg.take() {
            match m {
                WriterMsg::Write(job) => writes.push(job),
                WriterMsg::Read(job) => run_read(&conn, job),
                WriterMsg::Close(done) => {
                    close = Some(done);
                    break;
                }
            }
            if writes.len() < MAX_BATCH {
                msg = rx.try_recv().ok();
            }
        }
        if !writes.is_empty() {
            commit_batch(&conn, writes, &signal);
        }
    }
    drop(conn);
    if let Some(done) = close {
        let _ = done.send(());
    }
}

fn commit_batch(conn: &Connection, writes: Vec<WriteJob>, signal: &watch::Sender<u64>) {
    if let Err(e) = conn.execute_batch("BEGIN IMMEDIATE") {
        let e = format!("could not begin a write transaction: {e}");
        tracing::warn!(error = %e, "a SQLite write batch could not start");
        for job in writes {
            let (_, finish) = job(None);
            finish(Err(e.clone()));
        }
        return;
    }
    let appended = Cell::new(false);
    let single = writes.len() == 1;
    let mut finishes: Vec<Finish> = Vec::with_capacity(writes.len());
    let mut failed_alone = false;
    for job in writes {
        // A failure SQLite answers by rolling the whole transaction back (disk full, I/O
        // error) ends the batch: what follows must not run outside a transaction.
        if conn.is_autocommit() {
            let (_, finish) = job(None);
            finishes.push(finish);
            continue;
        }
        if !single && conn.execute_batch("SAVEPOINT w").is_err() {
            let (_, finish) = job(None);
            finishes.push(finish);
            continue;
        }
        let mine = Cell::new(false);
        let tx = Tx { conn, appended: &mine };
        let (ok, finish) = match catch_unwind(AssertUnwindSafe(|| job(Some(&tx)))) {
            Ok(pair) => pair,
            // The reply went with the closure: its caller gets an error.
            Err(_) => (false, Box::new(|_| {}) as Finish),
        };
        if single {
            failed_alone = !ok;
        } else if ok {
            let _ = conn.execute_batch("RELEASE w");
        } else {
            let _ = conn.execute_batch("ROLLBACK TO w; RELEASE w");
        }
        if ok && mine.get() {
            appended.set(true);
        }
        finishes.push(finish);
    }
    let commit = if failed_alone {
        // The batch's one transaction failed: nothing to keep.
        let _ = conn.execute_batch("ROLLBACK");
        Ok(())
    } else if conn.is_autocommit() {
        appended.set(false);
        Err("the transaction was rolled back by SQLite".to_string())
    } else {
        match conn.execute_batch("COMMIT") {
            Ok(()) => Ok(()),
            Err(e) => {
                let _ = conn.execute_batch("ROLLBACK");
                appended.set(false);
                Err(format!("the commit failed: {e}"))
            }
        }
    };
    if appended.get() {
        signal.send_modify(|v| *v = v.wrapping_add(1));
    }
    for finish in finishes {
        finish(commit.clone());
    }
}
