//! The PostgreSQL implementation of Mailroom's [`Store`](mailroom_store::Store).
//!
//! This is the scale-out backend: several Mailroom nodes share one database. Its schema uses
//! native types (UUID, TIMESTAMPTZ, JSONB, an identity column for the event sequence) and its
//! migrations run on connect under sqlx's migrator, which serialises concurrent nodes with an
//! advisory lock of its own.
//!
//! The event log needs one guarantee that sequences alone do not give: a reader that has seen
//! cursor N must never later see a smaller cursor appear (a transaction that drew N-1 but
//! committed after N would be skipped for ever). Every transaction that appends events
//! therefore takes a transaction-level advisory lock ([`EVENT_LOG_LOCK`]) just before
//! inserting them, as its last step before commit, so cursors are assigned in commit order.
//!
//! Every commit that appended events bumps this node's event signal (see
//! [`Store::event_signal`](mailroom_store::Store::event_signal)), shared by clones of the
//! store. Other nodes' commits do not reach it: a node learns of them from the log.
//!
//! Lock order, to keep concurrent writers free of deadlocks: mailbox, then thread, then
//! message, then the event-log lock.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod codec;
mod store;

use mailroom_store::{StoreError, StoreResult};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

/// The migrations of the PostgreSQL schema, run by [`PgStore::connect`].
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!();

/// The key of the transaction-level advisory lock taken before appending events
/// (`mailroom` in ASCII).
pub const EVENT_LOG_LOCK: i64 = 0x6d61_696c_726f_6f6d;

/// How many connections one node keeps at most.
const MAX_CONNECTIONS: u32 = 10;

/// A [`Store`](mailroom_store::Store) kept in a PostgreSQL database.
///
/// Cloning is cheap and shares the connection pool.
#[derive(Debug, Clone)]
pub struct PgStore {
    pool: PgPool,
    /// Bumped after every commit that appended events.
    signal: Arc<tokio::sync::watch::Sender<u64>>,
}

impl PgStore {
    /// Connects to the database at `url` (`postgres://user:password@host:port/database`) and
    /// brings its schema up to date.
    pub async fn connect(url: &str) -> StoreResult<PgStore> {
        let options = PgConnectOptions::from_str(url)
            .map_err(|e| StoreError::Database(format!("invalid PostgreSQL URL: {e}").into()))?
            .application_name("mailroom");
        let pool = PgPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options)
            .await
            .map_err(codec::db_err)?;
        MIGRATOR.run(&pool).await.map_err(|e| StoreError::Database(Box::new(e)))?;
        Ok(PgStore { pool, signal: Arc::new(tokio::sync::watch::Sender::new(0)) })
    }

    /// Wakes the event signal's receivers when `appended`: call after a commit, with whether
    /// it appended events.
    fn notify_if(&self, appended: bool) {
        if appended {
            self.signal.send_modify(|v| *v = v.wrapping_add(1));
        }
    }

    /// Closes every connection, waiting for those in use to be returned.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}
