//! The SQLite implementation of Mailroom's [`Store`](mailroom_store::Store).
//!
//! This is the default, embedded backend: one database file beside the blob directory. It
//! favours durability over speed (WAL journal, `synchronous=FULL`, so an acknowledged message
//! survives a crash) and works around SQLite's single writer by giving the write connection to
//! one thread that runs every write transaction whole, as a closure (rusqlite, see `group.rs`):
//! concurrent writers queue inside the process instead of failing with `SQLITE_BUSY`, a caller
//! pays one thread hand-off per transaction rather than one per statement, and the busy
//! timeout covers other processes opening the same file. Reads run on reader threads with
//! connections of their own, so they never wait for the writer.
//!
//! Every write is group-committed: the transactions queued while the writer was busy share one
//! `COMMIT` and one fsync, each in its own savepoint, and each caller is answered after it.
//!
//! Every commit that appended events bumps the store's event signal (see
//! [`Store::event_signal`](mailroom_store::Store::event_signal)), shared by clones of the
//! store; a store opened separately on the same file (another process) has its own and does
//! not see the other's commits through it, only in the log.
//!
//! Because writes are serialised, event sequence numbers (`INTEGER PRIMARY KEY AUTOINCREMENT`)
//! become visible in the order they were assigned, so an event cursor never goes back.
//!
//! Storage conventions: ids are UUIDs stored as 16-byte BLOBs (bytewise order is UUID v7
//! creation order), timestamps are UTC text of one fixed shape with microseconds (text order is
//! time order; sub-microsecond digits are dropped, as PostgreSQL does), JSON columns are text.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod blobs;
mod codec;
mod db;
mod group;
mod migrate;
mod store;

use mailroom_store::{StoreError, StoreResult};
use rusqlite::{Connection, OpenFlags};
use std::sync::Arc;
use std::time::Duration;

/// The migrations of the SQLite schema, run by [`SqliteStore::connect`] (sqlx's migration
/// table and checksums, so databases made by earlier versions carry on).
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!();

/// Blobs up to this size can be kept inside the database (see `blobs.rs`).
pub const INLINE_BLOB_MAX: usize = 256 * 1024;

/// How many connections (and threads) serve long reads of a file database, and short ones
/// when the inline pool is busy.
const READ_CONNECTIONS: usize = 4;

/// How many connections serve short reads on their callers' threads: one per core (as many as
/// the runtime has workers), at least two, at most eight.
fn inline_connections() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get()).clamp(2, 8)
}

/// How long a connection waits for a lock held by another connection or process.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// How many prepared statements each connection keeps.
const STATEMENT_CACHE: usize = 256;

/// A [`Store`](mailroom_store::Store) kept in a SQLite database.
///
/// Cloning is cheap and shares the connection threads.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    /// The writer thread (group commit) and the reader threads.
    threads: group::Threads,
    /// Bumped after every commit that appended events.
    signal: Arc<tokio::sync::watch::Sender<u64>>,
}

impl SqliteStore {
    /// Opens the database at `url` and brings its schema up to date.
    ///
    /// `url` is `sqlite://path/to/file.db` (the file is created if missing; query options such
    /// as `?mode=rwc` are accepted) or `sqlite::memory:` for a private in-memory database that
    /// lives as long as this store.
    pub async fn connect(url: &str) -> StoreResult<SqliteStore> {
        let target = parse_url(url)?;
        type Connections = (Connection, Vec<Connection>, Vec<Connection>);
        let (write, read, inline) = tokio::task::spawn_blocking(move || -> StoreResult<Connections> {
            let mut write = open(&target)?;
            migrate::run(&mut write)?;
            let (mut read, mut inline) = (Vec::new(), Vec::new());
            if let Target::File(_) = &target {
                for i in 0..READ_CONNECTIONS + inline_connections() {
                    let conn = open(&target)?;
                    conn.execute_batch("PRAGMA query_only = ON").map_err(codec::db_err)?;
                    if i < READ_CONNECTIONS { read.push(conn) } else { inline.push(conn) }
                }
            }
            Ok((write, read, inline))
        })
        .await
        .map_err(|e| StoreError::Database(format!("opening the SQLite database failed: {e}").into()))??;
        let signal = Arc::new(tokio::sync::watch::Sender::new(0));
        let threads = group::Threads::start(write, read, inline, signal.clone())
            .map_err(|e| StoreError::Database(format!("could not start the SQLite threads: {e}").into()))?;
        Ok(SqliteStore { threads, signal })
    }

    /// Closes every connection once the work already queued is done. Later calls on this
    /// store (and its clones) fail.
    pub async fn close(&self) {
        self.threads.close().await;
    }

    /// Runs `f` as a write transaction (group-committed); answers after the commit.
    pub(crate) async fn write<R, F>(&self, f: F) -> StoreResult<R>
    where
        R: Send + 'static,
        F: FnOnce(&group::Tx<'_>) -> StoreResult<R> + Send + 'static,
    {
        self.threads.write(f).await
    }

    /// Runs `f`, a short read (a lookup by key, a bounded page), on a read connection,
    /// usually on this thread.
    pub(crate) async fn read<R, F>(&self, f: F) -> StoreResult<R>
    where
        R: Send + 'static,
        F: FnOnce(&Connection) -> StoreResult<R> + Send + 'static,
    {
        self.threads.read(f).await
    }

    /// Runs `f`, a read that may take long (full-text search, a scan), on a reader thread.
    pub(crate) async fn read_long<R, F>(&self, f: F) -> StoreResult<R>
    where
        R: Send + 'static,
        F: FnOnce(&Connection) -> StoreResult<R> + Send + 'static,
    {
        self.threads.read_long(f).await
    }
}

/// Where a database lives.
#[derive(Debug, Clone)]
enum Target {
    File(String),
    Memory,
}

fn parse_url(url: &str) -> StoreResult<Target> {
    let invalid = |why: &str| StoreError::Database(format!("invalid SQLite URL `{url}`: {why}").into());
    let rest = url.strip_prefix("sqlite:").ok_or_else(|| invalid("it must start with `sqlite:`"))?;
    if is_memory_url(url) {
        return Ok(Target::Memory);
    }
    let rest = rest.strip_prefix("//").unwrap_or(rest);
    let path = rest.split_once('?').map_or(rest, |(p, _)| p);
    if path.is_empty() {
        return Err(invalid("no file name"));
    }
    Ok(Target::File(path.to_string()))
}

/// Opens one connection with the store's settings: WAL, `synchronous=FULL`, foreign keys,
/// the busy timeout.
fn open(target: &Target) -> StoreResult<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = match target {
        Target::File(path) => Connection::open_with_flags(path, flags),
        Target::Memory => Connection::open_in_memory(),
    }
    .map_err(codec::db_err)?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(codec::db_err)?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    // journal_mode answers with a row.
    let _mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0)).map_err(codec::db_err)?;
    conn.execute_batch("PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;").map_err(codec::db_err)?;
    Ok(conn)
}

fn is_memory_url(url: &str) -> bool {
    let rest = url.trim_start_matches("sqlite:").trim_start_matches("//");
    rest.starts_with(":memory:") || rest.contains("mode=memory")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn file_databases_use_wal_full_sync_and_foreign_keys() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub-does-not-matter.db");
        let store = SqliteStore::connect(&format!("sqlite://{}", path.display())).await.unwrap();
        assert!(path.exists(), "the database file is created");
        fn pragmas(conn: &Connection) -> StoreResult<(String, i64, i64, i64)> {
            Ok((
                conn.query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap(),
                conn.query_row("PRAGMA synchronous", [], |r| r.get(0)).unwrap(),
                conn.query_row("PRAGMA foreign_keys", [], |r| r.get(0)).unwrap(),
                conn.query_row("PRAGMA busy_timeout", [], |r| r.get(0)).unwrap(),
            ))
        }
        let expected = ("wal".to_string(), 2, 1, 5000);
        assert_eq!(store.read(pragmas).await.unwrap(), expected, "readers");
        assert_eq!(store.write(|tx| pragmas(tx)).await.unwrap(), expected, "the writer");
        store.close().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn reads_inline_and_on_reader_threads_see_every_commit() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::connect(&format!("sqlite://{}", dir.path().join("m.db").display())).await.unwrap();
        store.write(|tx| tx.execute_batch("INSERT INTO settings (key, value) VALUES ('k', 'v')").map_err(codec::db_err)).await.unwrap();
        let count = |c: &Connection| c.query_row("SELECT COUNT(*) FROM settings WHERE key = 'k'", [], |r| r.get::<_, i64>(0)).map_err(codec::db_err);
        // Many more reads at once than the pool holds: the rest go to the reader threads, and
        // every one sees the commit before it.
        let reads: Vec<_> = (0..64)
            .map(|i| {
                let store = store.clone();
                tokio::spawn(async move { if i % 2 == 0 { store.read(count).await } else { store.read_long(count).await } })
            })
            .collect();
        for read in reads {
            assert_eq!(read.await.unwrap().unwrap(), 1);
        }
        // A read that panics answers an error and gives its connection back.
        for _ in 0..2 * inline_connections() {
            let failed = store.read(|_| -> StoreResult<()> { panic!("a read that panics") }).await;
            assert!(matches!(failed, Err(StoreError::Database(_))), "{failed:?}");
        }
        assert_eq!(store.read(count).await.unwrap(), 1);
        assert_eq!(store.threads.inline_free(), Some(inline_connections()), "every pooled connection came back");
        store.close().await;
        assert!(store.read(count).await.is_err(), "reads fail once the store is closed");
        assert_eq!(store.threads.inline_free(), None);
    }

    #[tokio::test]
    async fn memory_databases_are_private_and_persist_while_open() {
        assert!(is_memory_url("sqlite::memory:"));
        assert!(is_memory_url("sqlite://?mode=memory"));
        assert!(!is_memory_url("sqlite://data/mailroom.db?mode=rwc"));
        let a = SqliteStore::connect("sqlite::memory:").await.unwrap();
        let b = SqliteStore::connect("sqlite::memory:").await.unwrap();
        a.write(|tx| tx.execute_batch("INSERT INTO settings (key, value) VALUES ('k', 'a')").map_err(codec::db_err)).await.unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
        let count = |c: &Connection| c.query_row("SELECT COUNT(*) FROM settings", [], |r| r.get::<_, i64>(0)).map_err(codec::db_err);
        assert_eq!(a.read(count).await.unwrap(), 1);
        assert_eq!(b.read(count).await.unwrap(), 0);
    }

    #[tokio::test]
    async fn invalid_urls_are_errors() {
        assert!(matches!(SqliteStore::connect("postgres://x").await, Err(StoreError::Database(_))));
    }

    #[test]
    fn urls_name_files() {
        assert!(matches!(parse_url("sqlite://data/m.db?mode=rwc").unwrap(), Target::File(p) if p == "data/m.db"));
        assert!(matches!(parse_url("sqlite:///tmp/m.db").unwrap(), Target::File(p) if p == "/tmp/m.db"));
        assert!(matches!(parse_url("sqlite:m.db").unwrap(), Target::File(p) if p == "m.db"));
        assert!(matches!(parse_url("sqlite::memory:").unwrap(), Target::Memory));
    }
}
