//! The sealer: numbers committed events so readers can follow them without a lock held by
//! writers.
//!
//! Writers insert events un-numbered (`pos IS NULL`) and take no lock. A row may be numbered
//! once its transaction is older than every transaction still running
//! (`xid < pg_snapshot_xmin(pg_current_snapshot())`): every row that could ever sort before it
//! in (xid, seq) order is then committed and visible, or never will be. The sealer numbers
//! such rows in (xid, seq) order, continuing each site's head and the log's head in
//! `event_heads`, in one short transaction under [`SEAL_LOCK`] (taken with a *try*, so a
//! sealer never queues behind another: it retries a moment later). Only sealers take that
//! lock; writers commit in parallel.
//!
//! A node seals right after each of its commits that appended events, before the write
//! returns (so a write's events are readable when it returns), coalescing its concurrent
//! writers into one seal; the poll task seals rows left behind by a node that died between
//! its commit and its seal.

use crate::codec::db_err;
use mailroom_store::StoreResult;
use sqlx::{PgPool, Row};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use uuid::Uuid;

/// The key of the transaction-level advisory lock a sealer holds (`mailseal` in ASCII).
pub const SEAL_LOCK: i64 = 0x6d61_696c_7365_616c;

/// Rows numbered per sealing transaction at most.
const BATCH: i64 = 5000;

/// How long a write waits for its events to be numbered before it leaves them to the next
/// seal (a transaction running for longer holds the horizon back).
const MAX_WAIT: Duration = Duration::from_secs(5);

/// A node's sealing state, shared by clones of its store.
#[derive(Debug, Default)]
pub(crate) struct Sealer {
    /// Commits on this node that appended events.
    commits: AtomicU64,
    /// Every commit counted up to this many has been sealed.
    sealed: AtomicU64,
    /// One seal at a time on this node: concurrent writers wait for it and often find their
    /// rows numbered already.
    running: tokio::sync::Mutex<()>,
}

impl Sealer {
    /// Seals after a commit that appended events: returns once that commit's events are
    /// numbered (or after [`MAX_WAIT`], leaving them to a later seal).
    pub(crate) async fn after_commit(&self, pool: &PgPool, node: &str) -> StoreResult<()> {
        let mine = self.commits.fetch_add(1, Ordering::SeqCst) + 1;
        let _one = self.running.lock().await;
        if self.sealed.load(Ordering::SeqCst) >= mine {
            return Ok(());
        }
        // Every commit counted now happened before the seal below reads the log.
        let covers = self.commits.load(Ordering::SeqCst);
        seal_all(pool, node, Some(MAX_WAIT)).await?;
        self.sealed.fetch_max(covers, Ordering::SeqCst);
        Ok(())
    }
}

/// Numbers every committed row that exists now: seals, and while some of them wait behind a
/// running transaction, seals again (a moment later) until none is left or `max_wait` passes.
/// Returns how many rows it numbered.
pub(crate) async fn seal_all(pool: &PgPool, node: &str, max_wait: Option<Duration>) -> StoreResult<u64> {
    let upto: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) FROM events").fetch_one(pool).await.map_err(db_err)?;
    let started = Instant::now();
    let mut pause = Duration::from_micros(200);
    let mut total = 0;
    loop {
        let (sealed, more) = seal_once(pool, node).await?;
        total += sealed;
        if !more {
            let left: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM events WHERE pos IS NULL AND seq <= $1)")
                .bind(upto)
                .fetch_one(pool)
                .await
                .map_err(db_err)?;
            if !left {
                return Ok(total);
            }
        }
        if max_wait.is_some_and(|m| started.elapsed() >= m) {
            return Ok(total);
        }
        if !more {
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_millis(2));
        }
    }
}

/// Seals rows left behind by a node that died between its commit and its seal: those
/// un-numbered for more than a second. Returns how many rows it numbered.
pub(crate) async fn seal_orphans(pool: &PgPool, node: &str) -> StoreResult<u64> {
    let stale: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM events WHERE pos IS NULL AND created_at < now() - interval '1 second')")
        .fetch_one(pool)
        .await
        .map_err(db_err)?;
    if !stale {
        return Ok(0);
    }
    seal_all(pool, node, Some(MAX_WAIT)).await
}

/// The rows that may be numbered now, in order. The horizon is the oldest transaction still
/// running in the statement's snapshot (`pg_snapshot_xmin`), except transactions seen running
/// in *other* databases of the cluster, which cannot write this log: a long transaction of
/// another database must not hold this log back. The exclusion errs only one way: a
/// transaction of this database is never listed as another's, and one that ended meanwhile is
/// simply not excluded (the horizon is then lower than it could be, never higher). xids are
/// compared on their low 32 bits, as `pg_stat_activity` shows them.
const HORIZON_QUERY: &str = "SELECT seq, site_id FROM events WHERE pos IS NULL AND xid < COALESCE(\
    (SELECT MIN(x) FROM pg_snapshot_xip(pg_current_snapshot()) AS x \
     WHERE (x::text::bigint % 4294967296) NOT IN (\
        SELECT a.backend_xid::text::bigint FROM pg_stat_activity a \
        WHERE a.backend_xid IS NOT NULL AND a.datname IS DISTINCT FROM current_database() AND a.datname IS NOT NULL)), \
    pg_snapshot_xmax(pg_current_snapshot())) \
    ORDER BY xid, seq LIMIT $1";

/// One sealing transaction. Returns how many rows it numbered and whether a full batch was
/// numbered (more may be ready); (0, false) when another sealer holds the lock.
async fn seal_once(pool: &PgPool, node: &str) -> StoreResult<(u64, bool)> {
    let mut tx = pool.begin().await.map_err(db_err)?;
    let locked: bool = sqlx::query_scalar("SELECT pg_try_advisory_xact_lock($1)").bind(SEAL_LOCK).fetch_one(&mut *tx).await.map_err(db_err)?;
    if !locked {
        tx.rollback().await.map_err(db_err)?;
        return Ok((0, false));
    }
    // A new statement, so a new snapshot: it sees what the previous sealer numbered.
    let rows = sqlx::query(HORIZON_QUERY)
    .bind(BATCH)
    .fetch_all(&mut *tx)
    .await
    .map_err(db_err)?;
    if rows.is_empty() {
        tx.rollback().await.map_err(db_err)?;
        return Ok((0, false));
    }
    let mut pending = Vec::with_capacity(rows.len());
    let mut counts: HashMap<Uuid, i64> = HashMap::new();
    for row in &rows {
        let seq: i64 = row.try_get("seq").map_err(db_err)?;
        let site: Uuid = row.try_get("site_id").map_err(db_err)?;
        *counts.entry(site).or_default() += 1;
        pending.push((seq, site));
    }
    let n = i64::try_from(pending.len()).unwrap_or(i64::MAX);
    let mut sites: Vec<Uuid> = counts.keys().copied().collect();
    sites.sort();
    let mut heads_sites = sites.clone();
    let mut heads_counts: Vec<i64> = sites.iter().map(|s| counts[s]).collect();
    heads_sites.push(Uuid::nil());
    heads_counts.push(n);
    // The heads after this batch; the batch's first position is head - count + 1.
    let heads = sqlx::query(
        "INSERT INTO event_heads (site_id, last) SELECT * FROM unnest($1::uuid[], $2::bigint[]) \
         ON CONFLICT (site_id) DO UPDATE SET last = event_heads.last + excluded.last RETURNING site_id, last",
    )
    .bind(&heads_sites)
    .bind(&heads_counts)
    .fetch_all(&mut *tx)
    .await
    .map_err(db_err)?;
    let mut next: HashMap<Uuid, i64> = HashMap::new();
    for row in &heads {
        let site: Uuid = row.try_get("site_id").map_err(db_err)?;
        let last: i64 = row.try_get("last").map_err(db_err)?;
        let count = if site.is_nil() { n } else { counts.get(&site).copied().unwrap_or(0) };
        next.insert(site, last - count + 1);
    }
    let (mut seqs, mut positions, mut site_positions) = (Vec::with_capacity(pending.len()), Vec::new(), Vec::new());
    for (seq, site) in pending {
        let g = next.entry(Uuid::nil()).or_insert(1);
        positions.push(*g);
        *g += 1;
        let s = next.entry(site).or_insert(1);
        site_positions.push(*s);
        *s += 1;
        seqs.push(seq);
    }
    // Planned at each call (not a cached generic plan): a generic plan made while `events`
    // was small hash-joins a sequential scan of the whole log, so each batch cost more as the
    // log grew (1,019 scans reading 2.8 million rows in a 6,000-message bench run).
    sqlx::query(
        "UPDATE events e SET pos = u.pos, site_pos = u.site_pos \
         FROM unnest($1::bigint[], $2::bigint[], $3::bigint[]) AS u(seq, pos, site_pos) WHERE e.seq = u.seq",
    )
    .persistent(false)
    .bind(&seqs)
    .bind(&positions)
    .bind(&site_positions)
    .execute(&mut *tx)
    .await
    .map_err(db_err)?;
    // Other nodes wake when this commits; the payload names this node, which skips it.
    sqlx::query("SELECT pg_notify($1, $2)").bind(crate::EVENTS_CHANNEL).bind(node).execute(&mut *tx).await.map_err(db_err)?;
    tx.commit().await.map_err(db_err)?;
    Ok((n as u64, n >= BATCH))
}
