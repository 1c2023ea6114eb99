//! The sealer: numbers committed events so readers can follow them without a lock held by
//! writers.
//!
//! Writers insert events un-numbered (`pos IS NULL`) and take no lock. A row may be numbered
//! once its transaction is older than every transaction still running
//! (`xid < pg_snapshot_xmin(pg_current_snapshot())`): every row that could ever sort before it
//! in (xid, seq) order is then committed and visible, or never will be. The sealer numbers
//! such rows in (xid, seq) order, continuing each site's head and the log's head in
//! `event_heads`, in one short transaction under [`SEAL_LOCK`], taken with a *try*: a sealer
//! never queues behind another in the database. One that finds the lock taken (by another
//! node's sealer) waits in Mailroom for that seal's notification, which comes when it
//! commits, and looks again; often its rows are numbered by then. Only sealers take that
//! lock; writers commit in parallel.
//!
//! A node seals right after each of its commits that appended events, before the write
//! returns (so a write's events are readable when it returns), coalescing its concurrent
//! writers into one seal; the poll task seals rows left behind by a node that died between
//! its commit and its seal.
//!
//! A seal returns its horizon and its notification carries it (migration
//! `20261208000000_seal_horizon.sql`): every row of a transaction older than that is then
//! numbered. A write that knows its transaction's id (the batch writer's statement returns it)
//! is done once a horizon passes it, its own seal's or one notified by another node: it does
//! not wait for later transactions' rows that a running one still holds back, and one that
//! meets another node's seal, or finds its rows held back, waits for a notification that
//! covers it rather than sealing again.

use crate::codec::db_err;
use crate::held::Held;
use mailroom_store::{StoreError, StoreResult};
use sqlx::{PgConnection, PgPool, Row};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// The key of the transaction-level advisory lock a sealer holds (`mailseal` in ASCII).
pub const SEAL_LOCK: i64 = 0x6d61_696c_7365_616c;

/// Rows numbered per sealing transaction at most.
const BATCH: i32 = 5000;

/// How long a write waits for its events to be numbered before it leaves them to the next
/// seal (a transaction running for longer holds the horizon back).
const MAX_WAIT: Duration = Duration::from_secs(5);

/// How long a sealer that found the lock taken waits for that seal's notification before it
/// looks again anyway.
const BUSY_WAIT: Duration = Duration::from_millis(5);

/// A node's sealing state, shared by clones of its store.
#[derive(Debug, Default)]
pub(crate) struct Sealer {
    /// Commits on this node that appended events.
    commits: AtomicU64,
    /// Every commit counted up to this many has been sealed.
    sealed: AtomicU64,
    /// One seal at a time on this node, on a connection of its own (see the `held` module):
    /// concurrent writers wait for it and often find their rows numbered already.
    running: tokio::sync::Mutex<Held>,
    /// The highest horizon of a seal notified so far (by any node): every row of a
    /// transaction with a lower id is numbered. Raised by the listener before it wakes the
    /// event signal.
    covered: AtomicU64,
}

impl Sealer {
    /// Seals after a commit that appended events: returns once that commit's events are
    /// numbered (or after [`MAX_WAIT`], leaving them to a later seal). `xid` is the commit's
    /// transaction id when the writer knows it: a seal notified with a higher horizon (by
    /// any node) numbered its events, so none is needed.
    pub(crate) async fn after_commit(&self, pool: &PgPool, node: &str, signal: &watch::Sender<u64>, xid: Option<u64>) -> StoreResult<()> {
        let mine = self.commits.fetch_add(1, Ordering::SeqCst) + 1;
        let skip = xid.map(|xid| Skip { xid, covered: &self.covered });
        if skip.as_ref().is_some_and(Skip::done) {
            return Ok(());
        }
        let mut held = self.running.lock().await;
        if self.sealed.load(Ordering::SeqCst) >= mine {
            return Ok(());
        }
        // Every commit counted now happened before the seal below reads the log.
        let covers = self.commits.load(Ordering::SeqCst);
        let mut seal = held.run(pool, async |conn| seal_all(conn, node, Some(MAX_WAIT), Some(signal), skip.clone()).await).await;
        if let Err(StoreError::Database(e)) = &seal {
            // The held connection broke (and was given up): a seal is safe to run again, on a
            // new one.
            tracing::debug!(error = %e, "sealing failed; sealing again on a new connection");
            seal = held.run(pool, async |conn| seal_all(conn, node, Some(MAX_WAIT), Some(signal), skip.clone()).await).await;
        }
        let seal = seal?;
        // A seal left because this commit was covered may not have covered the others.
        if !seal.skipped {
            self.sealed.fetch_max(covers, Ordering::SeqCst);
        }
        Ok(())
    }

    /// Closes the seals' connection (when the store closes).
    pub(crate) async fn release(&self) {
        self.running.lock().await.release().await;
    }

    /// Notes a seal's notification: every row of a transaction older than `horizon` is
    /// numbered.
    pub(crate) fn covered_below(&self, horizon: u64) {
        self.covered.fetch_max(horizon, Ordering::SeqCst);
    }
}

/// A commit whose events a seal notified by another node may have numbered.
#[derive(Clone)]
struct Skip<'a> {
    /// The commit's transaction id.
    xid: u64,
    /// [`Sealer::covered`].
    covered: &'a AtomicU64,
}

impl Skip<'_> {
    fn done(&self) -> bool {
        self.covered.load(Ordering::SeqCst) > self.xid
    }
}

/// What [`seal_all`] did.
struct SealAll {
    /// Rows it numbered.
    numbered: u64,
    /// It stopped because another node's seal covered the commit it was sealing for.
    skipped: bool,
}

/// Numbers every committed row that exists now: seals, and while some of them wait behind a
/// running transaction or another node's seal, seals again until none is left or `max_wait`
/// passes. Between attempts it waits a moment, or less when `signal` (this node's event
/// signal, which other nodes' seals bump when they commit) moves first. With `skip`, it stops
/// as soon as a notified seal covers that commit.
async fn seal_all(conn: &mut PgConnection, node: &str, max_wait: Option<Duration>, signal: Option<&watch::Sender<u64>>, skip: Option<Skip<'_>>) -> StoreResult<SealAll> {
    let started = Instant::now();
    let mut pause = Duration::from_micros(200);
    let mut numbered = 0;
    let mut covers = None;
    loop {
        if skip.as_ref().is_some_and(Skip::done) {
            return Ok(SealAll { numbered, skipped: true });
        }
        // Before the attempt, so a seal that commits during it wakes the wait below.
        let mut changes = signal.map(|s| s.subscribe());
        let seal = seal_once(conn, node, covers).await?;
        covers = Some(seal.covers);
        numbered += seal.sealed;
        if !seal.more && !seal.pending {
            return Ok(SealAll { numbered, skipped: false });
        }
        // Rows are still held back, but perhaps not this commit's: its own are numbered once
        // the horizon has passed its transaction.
        if let (Some(horizon), Some(skip)) = (seal.horizon, skip.as_ref()) {
            skip.covered.fetch_max(horizon, Ordering::SeqCst);
            if skip.done() {
                return Ok(SealAll { numbered, skipped: true });
            }
        }
        if max_wait.is_some_and(|m| started.elapsed() >= m) {
            return Ok(SealAll { numbered, skipped: false });
        }
        if seal.more {
            continue;
        }
        if seal.busy {
            // Another node is sealing: its notification says when it is done.
            match changes.as_mut() {
                Some(changes) => {
                    let _ = tokio::time::timeout(BUSY_WAIT, changes.changed()).await;
                }
                None => tokio::time::sleep(pause).await,
            }
        } else {
            // Rows held back by a running transaction: often another node's write, whose seal,
            // after its commit, numbers them. A writer that knows its transaction waits for
            // that seal's notification, up to the pause, rather than sealing again in vain.
            match (changes.as_mut(), skip.as_ref()) {
                (Some(changes), Some(skip)) => {
                    let until = tokio::time::Instant::now() + pause;
                    while !skip.done() && tokio::time::timeout_at(until, changes.changed()).await.is_ok_and(|c| c.is_ok()) {}
                }
                _ => tokio::time::sleep(pause).await,
            }
            pause = (pause * 2).min(Duration::from_millis(2));
        }
    }
}

/// Seals rows left behind by a node that died between its commit and its seal: those
/// un-numbered for more than a second. Returns how many rows it numbered.
pub(crate) async fn seal_orphans(pool: &PgPool, node: &str) -> StoreResult<u64> {
    let mut conn = pool.acquire().await.map_err(db_err)?;
    let stale: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM events WHERE pos IS NULL AND created_at < now() - interval '1 second')")
        .fetch_one(&mut *conn)
        .await
        .map_err(db_err)?;
    if !stale {
        return Ok(0);
    }
    Ok(seal_all(&mut conn, node, Some(MAX_WAIT), None, None).await?.numbered)
}

/// What one sealing transaction did.
struct Seal {
    /// Rows numbered.
    sealed: u64,
    /// Another sealer held the lock: nothing was numbered.
    busy: bool,
    /// A full batch was numbered: more may be ready at once.
    more: bool,
    /// The newest seq the caller waits for (the log's newest when it first sealed).
    covers: i64,
    /// A row at or below `covers` is still un-numbered (waiting behind a running transaction,
    /// or for another node's sealer, which held the lock).
    pending: bool,
    /// Every row of a transaction older than this is numbered (none when another sealer held
    /// the lock, or a full batch may have left some).
    horizon: Option<u64>,
}

/// One sealing transaction, in one round trip: the `mailroom_seal` function (migration
/// `20261206000000_one_round_trip.sql`; its latest form is in
/// `20261208000000_seal_horizon.sql`) numbers the rows that may be numbered now, in order,
/// under [`SEAL_LOCK`], and notifies the other nodes. The horizon is the oldest transaction
/// still running in the statement's snapshot (`pg_snapshot_xmin`), except transactions seen
/// running in *other* databases of the cluster, which cannot write this log: a long
/// transaction of another database must not hold this log back. `covers` is the newest seq
/// the caller waits for (`None`: the log's newest now).
async fn seal_once(conn: &mut PgConnection, node: &str, covers: Option<i64>) -> StoreResult<Seal> {
    let row = sqlx::query("SELECT sealed, covers, pending, horizon::text AS horizon FROM mailroom_seal($1, $2, $3, $4, $5)")
        .bind(SEAL_LOCK)
        .bind(BATCH)
        .bind(crate::EVENTS_CHANNEL)
        .bind(node)
        .bind(covers)
        .fetch_one(conn)
        .await
        .map_err(db_err)?;
    let sealed: i64 = row.try_get("sealed").map_err(db_err)?;
    Ok(Seal {
        sealed: u64::try_from(sealed).unwrap_or(0),
        busy: sealed < 0,
        more: sealed >= i64::from(BATCH),
        covers: row.try_get("covers").map_err(db_err)?,
        pending: row.try_get("pending").map_err(db_err)?,
        horizon: row.try_get::<Option<String>, _>("horizon").map_err(db_err)?.and_then(|h| h.parse().ok()),
    })
}
