//! A connection held by one task for its hot statements, out of the pool.
//!
//! The batch writer and the sealer each run one statement after another, all day. On a pooled
//! connection each would land on whichever backend was idle longest (the pool hands out its
//! idle connections in turn), so every backend of every node ran them in turn, each with its
//! own plan cache, catalog caches and memory to warm, and PostgreSQL switched between them.
//! Held, each runs on one warm backend: on three nodes, the 33 backends that ran the batch
//! statements and seals became six.
//!
//! The connection is taken from the pool once and detached from it (the pool may open another
//! in its place), checked as the pool checks its own (see [`CHECK_IDLE_AFTER`]), and given up
//! when that check or a statement fails in a way that may have broken it; the next statement
//! takes a new one. Once the pool is closed, no statement runs on it either, and its holder
//! closes it.

use crate::codec::db_err;
use mailroom_store::{StoreError, StoreResult};
use sqlx::{Connection, PgConnection, PgPool};
use std::time::{Duration, Instant};

/// A connection idle for longer than this is checked (one round trip) before a statement runs
/// on it; one used more recently is taken to be alive, as HikariCP does (its
/// `aliveBypassWindowMs`, 500 ms). sqlx's own check (`test_before_acquire`, off) is a round
/// trip each time a connection leaves the pool: under load, one more round trip for nearly
/// every statement.
pub(crate) const CHECK_IDLE_AFTER: Duration = Duration::from_millis(500);

/// Checks `conn` (a round trip) if it has been idle for [`CHECK_IDLE_AFTER`] or longer: the
/// pool's `before_acquire`, and the held connection's check. An error means it is broken.
pub(crate) async fn check_if_idle(conn: &mut PgConnection, idle_for: Duration) -> Result<(), sqlx::Error> {
    if idle_for >= CHECK_IDLE_AFTER {
        conn.ping().await?;
    }
    Ok(())
}

/// A connection kept for one task (see the module).
#[derive(Debug, Default)]
pub(crate) struct Held {
    /// The connection, with when it was last used.
    conn: Option<(PgConnection, Instant)>,
}

impl Held {
    /// Runs `work` on the held connection (taking one from `pool` first if none is held) and
    /// gives the connection up if `work` fails with anything but an answer of the database
    /// about the rows (a conflict, a missing row), which leaves it usable.
    pub(crate) async fn run<T, F>(&mut self, pool: &PgPool, work: F) -> StoreResult<T>
    where
        F: AsyncFnOnce(&mut PgConnection) -> StoreResult<T>,
    {
        if pool.is_closed() {
            self.conn = None;
            return Err(db_err(sqlx::Error::PoolClosed));
        }
        if let Some((conn, used)) = &mut self.conn
            && check_if_idle(conn, used.elapsed()).await.is_err()
        {
            self.conn = None;
        }
        let (conn, used) = match &mut self.conn {
            Some(held) => held,
            empty => empty.insert((fresh(pool).await?, Instant::now())),
        };
        let done = work(conn).await;
        *used = Instant::now();
        if let Err(StoreError::Database(_)) = &done {
            self.conn = None;
        }
        done
    }

    /// Closes the held connection, if any (when the pool closes).
    pub(crate) async fn release(&mut self) {
        if let Some((conn, _)) = self.conn.take() {
            let _ = conn.close().await;
        }
    }
}

/// A connection from `pool`, checked whatever its idle time (a held connection is taken after
/// none was held, or after one broke, when the pool's may have broken with it), detached from
/// the pool. Broken ones are closed, and the pool opens new ones in their place.
async fn fresh(pool: &PgPool) -> StoreResult<PgConnection> {
    let mut last = None;
    for _ in 0..=crate::MAX_CONNECTIONS {
        let mut conn = pool.acquire().await.map_err(db_err)?;
        match conn.ping().await {
            Ok(()) => return Ok(conn.detach()),
            Err(e) => {
                conn.close_on_drop();
                last = Some(e);
            }
        }
    }
    Err(db_err(last.unwrap_or(sqlx::Error::PoolTimedOut)))
}
