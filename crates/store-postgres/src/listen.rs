//! Cross-node wake-ups of the event signal: `LISTEN/NOTIFY` with a polling safety net.
//!
//! Every seal that numbers events also sends `NOTIFY mailroom_events` (delivered by
//! PostgreSQL at commit, and only if it commits), with the sending node's name as payload,
//! followed by the seal's horizon when it has one (see the `seal` module). Each node listens
//! on one connection, notes the horizon for its sealer and bumps its event signal for other
//! nodes' notifications (its own commits bump the signal directly). A notification only says
//! "read the log": the log stays the truth, so a lost notification can delay a reader, never
//! lose an event.
//!
//! Two things can lose notifications: the listening connection breaking (notifications sent
//! while it is down are gone) and a connection that silently stops delivering (a network
//! partition without a reset). For the first, the listener reconnects and bumps the signal
//! once it listens again, so readers look at the log after the gap. For the second, a poll of
//! the log's head every [`POLL_INTERVAL`] bumps the signal when the head moved — one cheap
//! query per node, bounding the delay whatever happens to the notifications.

use crate::seal::Sealer;
use sqlx::PgPool;
use sqlx::postgres::PgListener;
use std::sync::Weak;
use std::time::Duration;
use tokio::sync::watch;

/// The notification channel of the event log.
pub const CHANNEL: &str = "mailroom_events";

/// How often the head of the log is polled as a safety net.
const POLL_INTERVAL: Duration = Duration::from_secs(5);

/// The longest pause between attempts to listen again.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// Keeps the background tasks running; they stop when the last clone of the store (which
/// holds this in an `Arc`) is dropped, or when its pool is closed.
#[derive(Debug)]
pub(crate) struct Listener {
    _stop: watch::Sender<()>,
}

/// Starts listening before returning (so commits on other nodes after this point wake
/// `signal`), then keeps listening and polling in the background. `node` is this store's
/// `application_name`: notifications carrying it are its own.
pub(crate) async fn start(pool: PgPool, node: String, signal: Weak<watch::Sender<u64>>, sealer: Weak<Sealer>) -> Result<Listener, sqlx::Error> {
    let listener = subscribe(&pool).await?;
    let baseline = head(&pool).await?;
    let (stop, stopped) = watch::channel(());
    tokio::spawn(listen(pool.clone(), node.clone(), signal.clone(), sealer, listener, stopped.clone()));
    tokio::spawn(poll(pool, node, signal, baseline, stopped));
    Ok(Listener { _stop: stop })
}

async fn subscribe(pool: &PgPool) -> Result<PgListener, sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.listen(CHANNEL).await?;
    Ok(listener)
}

/// Bumps the signal; returns `false` when the store is gone.
fn wake(signal: &Weak<watch::Sender<u64>>) -> bool {
    match signal.upgrade() {
        Some(s) => {
            s.send_modify(|v| *v = v.wrapping_add(1));
            true
        }
        None => false,
    }
}

/// Splits a notification's payload into the sending node's name and the seal's horizon (none
/// from a seal that may have left rows of older transactions, or from an earlier version).
fn parse(payload: &str) -> (&str, Option<u64>) {
    match payload.rsplit_once(' ').and_then(|(name, horizon)| Some((name, horizon.parse().ok()?))) {
        Some((name, horizon)) => (name, Some(horizon)),
        None => (payload, None),
    }
}

async fn listen(pool: PgPool, node: String, signal: Weak<watch::Sender<u64>>, sealer: Weak<Sealer>, mut listener: PgListener, mut stopped: watch::Receiver<()>) {
    loop {
        let failure = loop {
            tokio::select! {
                _ = stopped.changed() => return,
                got = listener.try_recv() => match got {
                    Ok(Some(n)) => {
                        let (from, horizon) = parse(n.payload());
                        // Before the wake-up: a sealer woken by it finds its commit covered.
                        if let (Some(horizon), Some(sealer)) = (horizon, sealer.upgrade()) {
                            sealer.covered_below(horizon);
                        }
                        if from != node && !wake(&signal) {
                            return;
                        }
                    }
                    // The connection broke and sqlx has already listened again on a new one:
                    // whatever was notified in between is lost, so look at the log now.
                    Ok(None) => {
                        tracing::warn!("the PostgreSQL LISTEN connection broke; listening again on a new one");
                        if !wake(&signal) {
                            return;
                        }
                    }
                    Err(sqlx::Error::PoolClosed) => return,
                    Err(e) => break e,
                }
            }
        };
        tracing::warn!(error = %failure, "PostgreSQL LISTEN failed; reconnecting (live events from other nodes wait until then)");
        drop(listener);
        let mut backoff = Duration::from_millis(100);
        listener = loop {
            tokio::select! {
                _ = stopped.changed() => return,
                _ = tokio::time::sleep(backoff) => {}
            }
            if pool.is_closed() || signal.strong_count() == 0 {
                return;
            }
            match subscribe(&pool).await {
                Ok(l) => break l,
                Err(e) => {
                    tracing::warn!(error = %e, "could not LISTEN on PostgreSQL; retrying");
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
        };
        tracing::info!("listening for other nodes' events again");
        if !wake(&signal) {
            return;
        }
    }
}

/// Bumps the signal whenever the log's head moved since the last look; `baseline` is the head
/// when the store connected, so nothing appended after that goes unseen.
async fn poll(pool: PgPool, node: String, signal: Weak<watch::Sender<u64>>, baseline: i64, mut stopped: watch::Receiver<()>) {
    let mut last = baseline;
    loop {
        tokio::select! {
            _ = stopped.changed() => return,
            _ = tokio::time::sleep(POLL_INTERVAL) => {}
        }
        if pool.is_closed() {
            return;
        }
        // Events a node committed but died before numbering (see the `seal` module).
        if let Err(e) = crate::seal::seal_orphans(&pool, &node).await {
            tracing::debug!(error = %e, "could not number events left behind");
        }
        match head(&pool).await {
            Ok(head) => {
                if head != last && !wake(&signal) {
                    return;
                }
                last = head;
            }
            Err(sqlx::Error::PoolClosed) => return,
            Err(e) => tracing::debug!(error = %e, "could not poll the event log's head"),
        }
    }
}

/// Returns the cursor of the newest event.
async fn head(pool: &PgPool) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COALESCE(MAX(last), 0) FROM event_heads WHERE site_id = '00000000-0000-0000-0000-000000000000'")
        .fetch_one(pool)
        .await
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn a_payload_names_its_node_and_may_carry_a_horizon() {
        assert_eq!(parse("mailroom-1a2b 4021"), ("mailroom-1a2b", Some(4021)));
        assert_eq!(parse("mailroom-1a2b"), ("mailroom-1a2b", None));
        // A name with a space and no horizon stays whole.
        assert_eq!(parse("node a"), ("node a", None));
        assert_eq!(parse(""), ("", None));
    }
}
