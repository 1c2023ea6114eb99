//! The PostgreSQL implementation of Mailroom's [`Store`](mailroom_store::Store).
//!
//! This is the scale-out backend: several Mailroom nodes share one database. Its schema uses
//! native types (UUID, TIMESTAMPTZ, JSONB, an identity column for the event sequence) and its
//! migrations run on connect, on a connection of their own holding the session advisory lock
//! [`MIGRATION_LOCK`]: nodes that start together migrate one after the other (the first does
//! the work, the others find nothing left to do), and a node that fails or dies mid-migration
//! releases the lock with its connection.
//!
//! The event log needs one guarantee that sequences alone do not give: a reader that has seen
//! position N must never later see a smaller position appear (a transaction that drew N-1 but
//! committed after N would be skipped for ever). Writers take no lock for it: they insert
//! events un-numbered, and after their commit a sealer (the `seal` module) numbers committed
//! rows that no running transaction can precede any more, per site and for the whole log.
//! Readers follow those numbers only.
//!
//! Every commit that appended events bumps this node's event signal (see
//! [`Store::event_signal`](mailroom_store::Store::event_signal)), shared by clones of the
//! store, and notifies the other nodes (`NOTIFY mailroom_events` in the same transaction),
//! whose signals fire on it; see the `listen` module for reconnection and the safety net.
//!
//! Lock order, to keep concurrent writers free of deadlocks: mailbox, then thread, then
//! message.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod batch;
mod blobs;
mod codec;
mod held;
mod listen;
mod seal;
mod store;
pub mod tsvector;

pub use listen::CHANNEL as EVENTS_CHANNEL;

use mailroom_store::{StoreError, StoreResult};
use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

/// The migrations of the PostgreSQL schema, run by [`PgStore::connect`].
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!();

/// The key of the transaction-level advisory lock that versions before per-site cursors took
/// before appending events (`mailroom` in ASCII). Nothing takes it any more.
pub const EVENT_LOG_LOCK: i64 = 0x6d61_696c_726f_6f6d;

pub use seal::SEAL_LOCK;

/// Blobs up to this size are kept in the database (table `blobs`), written by the statement
/// that writes their message; see the `blobs` module.
pub const INLINE_BLOB_MAX: usize = 256 * 1024;

/// The key of the session-level advisory lock held while migrating (`mailmigr` in ASCII).
pub const MIGRATION_LOCK: i64 = 0x6d61_696c_6d69_6772;

/// How many connections one node's pool keeps at most. Besides them a node keeps one listening
/// for other nodes' events and one each for its batch writer and its sealer (the `held`
/// module): 14 at most in all.
pub(crate) const MAX_CONNECTIONS: u32 = 11;

/// A [`Store`](mailroom_store::Store) kept in a PostgreSQL database.
///
/// Cloning is cheap and shares the connection pool.
#[derive(Debug, Clone)]
pub struct PgStore {
    pool: PgPool,
    /// What follows a commit that appended events.
    committed: Committed,
    /// Messages that start a thread, written in batches (see the `batch` module).
    batches: batch::Queue,
    /// Keeps the listener running while any clone lives.
    _listener: Arc<listen::Listener>,
}

/// What follows a commit that appended events, shared by the store's clones and its batch
/// writer.
#[derive(Debug, Clone)]
pub(crate) struct Committed {
    pool: PgPool,
    /// Bumped after every commit that appended events, on this node or (through
    /// `LISTEN/NOTIFY`) on another.
    signal: Arc<tokio::sync::watch::Sender<u64>>,
    /// This node's `application_name`.
    node: Arc<str>,
    /// Numbers this node's events after their commits.
    sealer: Arc<seal::Sealer>,
}

impl Committed {
    /// After a commit that `appended` events: numbers them (so they are readable when the
    /// write returns; other nodes are notified) and wakes the event signal's receivers. `xid`
    /// is the commit's transaction id, when the writer has it (see [`seal::Sealer`]).
    async fn after(&self, appended: bool, xid: Option<u64>) {
        if appended {
            if let Err(e) = self.sealer.after_commit(&self.pool, &self.node, &self.signal, xid).await {
                // The commit stands; the poll task numbers the events within seconds.
                tracing::warn!(error = %e, "numbering committed events failed; the poll task retries");
            }
            self.signal.send_modify(|v| *v = v.wrapping_add(1));
        }
    }
}

impl PgStore {
    /// Connects to the database at `url` (`postgres://user:password@host:port/database`), brings
    /// its schema up to date and starts listening for other nodes' events. The connections'
    /// `application_name` is `mailroom-<random id>`, naming this node in `pg_stat_activity`.
    pub async fn connect(url: &str) -> StoreResult<PgStore> {
        let node = format!("mailroom-{}", &uuid::Uuid::now_v7().simple().to_string()[20..]);
        let options =
            PgConnectOptions::from_str(url).map_err(|e| StoreError::Database(format!("invalid PostgreSQL URL: {e}").into()))?.application_name(&node);
        migrate(&options).await?;
        let pool = PgPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .acquire_timeout(Duration::from_secs(30))
            .test_before_acquire(false)
            .before_acquire(|conn, meta| Box::pin(async move { held::check_if_idle(conn, meta.idle_for).await.map(|()| true) }))
            .connect_with(options)
            .await
            .map_err(codec::db_err)?;
        let signal = Arc::new(tokio::sync::watch::Sender::new(0));
        let sealer = Arc::<seal::Sealer>::default();
        let listener = listen::start(pool.clone(), node.clone(), Arc::downgrade(&signal), Arc::downgrade(&sealer)).await.map_err(codec::db_err)?;
        let committed = Committed { pool: pool.clone(), signal, node: node.into(), sealer };
        let batches = batch::start(committed.clone());
        Ok(PgStore { pool, committed, batches, _listener: Arc::new(listener) })
    }

    /// After a commit that `appended` events: see [`Committed::after`].
    async fn notify_if(&self, appended: bool) {
        self.committed.after(appended, None).await;
    }

    /// Closes every connection, waiting for those in use to be returned.
    pub async fn close(&self) {
        self.pool.close().await;
        self.committed.sealer.release().await;
    }
}

/// Runs the migrations on a connection of their own under [`MIGRATION_LOCK`], then closes it
/// (which would also release the lock if anything failed half-way).
async fn migrate(options: &PgConnectOptions) -> StoreResult<()> {
    let mut conn = PgConnection::connect_with(options).await.map_err(codec::db_err)?;
    sqlx::query("SELECT pg_advisory_lock($1)").bind(MIGRATION_LOCK).execute(&mut conn).await.map_err(codec::db_err)?;
    let migrated = MIGRATOR.run_direct(&mut conn).await.map_err(|e| StoreError::Database(Box::new(e)));
    let _ = conn.close().await;
    migrated
}
