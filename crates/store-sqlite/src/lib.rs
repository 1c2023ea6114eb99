//! The SQLite implementation of Mailroom's [`Store`](mailroom_store::Store).
//!
//! This is the default, embedded backend: one database file beside the blob directory. It
//! favours durability over speed (WAL journal, `synchronous=FULL`, so an acknowledged message
//! survives a crash) and works around SQLite's single writer by giving writes a pool of one
//! connection whose transactions start with `BEGIN IMMEDIATE`, while reads use a separate
//! pool. Concurrent writers therefore queue inside the process instead of failing with
//! `SQLITE_BUSY`, and the busy timeout covers other processes opening the same file.
//!
//! Message inserts, the hot write, are group-committed: concurrent inserts share one
//! transaction and one fsync, each in its own savepoint (see `group.rs`).
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

mod codec;
mod blobs;
mod group;
mod policy;
mod store;

use mailroom_store::{StoreError, StoreResult};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

/// The migrations of the SQLite schema, run by [`SqliteStore::connect`].
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!();

/// Blobs up to this size can be kept inside the database (see `blobs.rs`).
pub const INLINE_BLOB_MAX: usize = 256 * 1024;

/// How many connections serve reads of a file database.
const READ_CONNECTIONS: u32 = 4;

/// How long a connection waits for a lock held by another connection or process.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// A [`Store`](mailroom_store::Store) kept in a SQLite database.
///
/// Cloning is cheap and shares the connection pools.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    /// One connection: every write transaction goes through it, one at a time.
    write: SqlitePool,
    /// Connections for reads (the write pool itself for an in-memory database).
    read: SqlitePool,
    /// Bumped after every commit that appended events.
    signal: Arc<tokio::sync::watch::Sender<u64>>,
    /// Commits concurrent message inserts together (see [`group`]).
    group: group::GroupCommit,
}

impl SqliteStore {
    /// Opens the database at `url` and brings its schema up to date.
    ///
    /// `url` is `sqlite://path/to/file.db` (the file is created if missing; query options such
    /// as `?mode=rwc` are accepted) or `sqlite::memory:` for a private in-memory database that
    /// lives as long as this store.
    pub async fn connect(url: &str) -> StoreResult<SqliteStore> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|e| StoreError::Database(format!("invalid SQLite URL `{url}`: {e}").into()))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT);
        let in_memory = is_memory_url(url);

        // An in-memory database exists only as long as a connection to it is open, and each
        // connection would otherwise see its own: keep exactly one, forever.
        let write = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(u32::from(in_memory))
            .idle_timeout(if in_memory { None } else { Some(Duration::from_secs(600)) })
            .max_lifetime(if in_memory { None } else { Some(Duration::from_secs(1800)) })
            .connect_with(options.clone())
            .await
            .map_err(codec::db_err)?;
        MIGRATOR.run(&write).await.map_err(|e| StoreError::Database(Box::new(e)))?;

        let read = if in_memory {
            write.clone()
        } else {
            SqlitePoolOptions::new().max_connections(READ_CONNECTIONS).connect_with(options).await.map_err(codec::db_err)?
        };
        let signal = Arc::new(tokio::sync::watch::Sender::new(0));
        let group = group::GroupCommit::start(write.clone(), signal.clone());
        Ok(SqliteStore { write, read, signal, group })
    }

    /// Closes every connection, waiting for those in use to be returned.
    pub async fn close(&self) {
        self.read.close().await;
        self.write.close().await;
    }

    /// Wakes the event signal's receivers when `appended`: call after a commit, with whether
    /// it appended events.
    fn notify_if(&self, appended: bool) {
        if appended {
            self.signal.send_modify(|v| *v = v.wrapping_add(1));
        }
    }

    /// Starts a write transaction that holds SQLite's write lock from its first statement.
    async fn begin_write(&self) -> StoreResult<sqlx::Transaction<'static, sqlx::Sqlite>> {
        self.write.begin_with("BEGIN IMMEDIATE").await.map_err(codec::db_err)
    }
}

fn is_memory_url(url: &str) -> bool {
    let rest = url.trim_start_matches("sqlite:").trim_start_matches("//");
    rest.starts_with(":memory:") || rest.contains("mode=memory")
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::Row;

    #[tokio::test]
    async fn file_databases_use_wal_full_sync_and_foreign_keys() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub-does-not-matter.db");
        let store = SqliteStore::connect(&format!("sqlite://{}", path.display())).await.unwrap();
        assert!(path.exists(), "the database file is created");
        for pool in [&store.write, &store.read] {
            let mode: String = sqlx::query("PRAGMA journal_mode").fetch_one(pool).await.unwrap().get(0);
            assert_eq!(mode, "wal");
            let sync: i64 = sqlx::query("PRAGMA synchronous").fetch_one(pool).await.unwrap().get(0);
            assert_eq!(sync, 2, "synchronous=FULL");
            let fk: i64 = sqlx::query("PRAGMA foreign_keys").fetch_one(pool).await.unwrap().get(0);
            assert_eq!(fk, 1);
            let busy: i64 = sqlx::query("PRAGMA busy_timeout").fetch_one(pool).await.unwrap().get(0);
            assert_eq!(busy, 5000);
        }
        store.close().await;
    }

    #[tokio::test]
    async fn memory_databases_are_private_and_persist_while_open() {
        assert!(is_memory_url("sqlite::memory:"));
        assert!(is_memory_url("sqlite://?mode=memory"));
        assert!(!is_memory_url("sqlite://data/mailroom.db?mode=rwc"));
        let a = SqliteStore::connect("sqlite::memory:").await.unwrap();
        let b = SqliteStore::connect("sqlite::memory:").await.unwrap();
        sqlx::query("INSERT INTO settings (key, value) VALUES ('k', 'a')").execute(&a.write).await.unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
        let n: i64 = sqlx::query("SELECT COUNT(*) FROM settings").fetch_one(&a.read).await.unwrap().get(0);
        assert_eq!(n, 1);
        let n: i64 = sqlx::query("SELECT COUNT(*) FROM settings").fetch_one(&b.read).await.unwrap().get(0);
        assert_eq!(n, 0);
    }

    #[tokio::test]
    async fn invalid_urls_are_errors() {
        assert!(matches!(SqliteStore::connect("postgres://x").await, Err(StoreError::Database(_))));
    }
}
