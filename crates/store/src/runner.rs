//! The one loop of the workers that drain leased queues (outbound delivery, webhooks): claim
//! as many due jobs as there are free slots, run each in its own task, and otherwise wait
//! for a wake-up (the waker, the store's event signal, a finished job), the earliest retry
//! this worker scheduled, or the poll interval.
//!
//! What is claimed and how it runs belongs to the queue ([`LeasedQueue`]); leases make the
//! loop safe to stop at any point: a job claimed but not finished is claimed again when its
//! lease runs out.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{Notify, Semaphore, watch};
use tokio::task::JoinSet;

/// A queue of leased jobs, as a worker sees it.
#[async_trait]
pub trait LeasedQueue: Send + Sync + 'static {
    /// One unit of work, run in its own task with one slot.
    type Work: Send + 'static;

    /// Names the queue in logs (`outbound delivery`, `webhook delivery`).
    fn name(&self) -> &'static str;

    /// Runs before each claim (the webhook fan-out); failures are logged by the queue.
    async fn prepare(&self) {}

    /// Claims up to `limit` due jobs under a lease and returns them as units of work (there
    /// may be fewer units than jobs: several recipients share one SMTP transaction), with
    /// how many jobs were claimed.
    async fn claim_work(&self, limit: usize) -> Result<(usize, Vec<Self::Work>), String>;

    /// Runs one unit of work to its end, recording the outcome.
    async fn run_work(self: Arc<Self>, work: Self::Work);

    /// Returns how long to sleep when nothing is due: until the earliest retry this worker
    /// scheduled, at most the poll interval.
    fn idle_wait(&self) -> Duration;
}

/// A cluster-wide lease (`EventStore::hold_lease`) under which one node does work for all
/// (a fan-out of the event log): the holder renews it once half has passed; the others skip
/// the work, without asking the store again until the holder's lease could have run out. A
/// holder that dies is replaced when its lease ends.
#[derive(Debug)]
pub struct ClusterLease {
    name: &'static str,
    holder: String,
    length: Duration,
    /// Whether this node held the lease when it last asked, and until when.
    known: Mutex<Option<(bool, DateTime<Utc>)>>,
}

impl ClusterLease {
    /// A lease `name` held for `length` at a time, by a holder named after it and unique to
    /// this process.
    pub fn new(name: &'static str, length: Duration) -> Self {
        ClusterLease { name, holder: format!("{name}-{}", uuid::Uuid::now_v7()), length, known: Mutex::new(None) }
    }

    /// Takes or renews the lease when needed; returns whether this node holds it now.
    pub async fn hold(&self, store: &dyn crate::Store) -> crate::StoreResult<bool> {
        let t = mailroom_core::now();
        let half = chrono::Duration::from_std(self.length / 2).unwrap_or_default();
        {
            let known = self.known.lock().unwrap_or_else(|e| e.into_inner());
            match *known {
                // Ours, with more than half of it left: no need to renew yet.
                Some((true, until)) if t + half < until => return Ok(true),
                // Another node's, still running.
                Some((false, until)) if t < until => return Ok(false),
                _ => {}
            }
        }
        let until = t + chrono::Duration::from_std(self.length).unwrap_or_default();
        let held = store.hold_lease(self.name, &self.holder, t, until).await?;
        // Not ours: assume the holder renewed just now, so look again after a full lease.
        *self.known.lock().unwrap_or_else(|e| e.into_inner()) = Some((held, until));
        Ok(held)
    }
}

/// Remembers the earliest retry a worker scheduled, so its idle wait ends in time for it.
#[derive(Debug, Default)]
pub struct RetryClock {
    earliest: Mutex<Option<DateTime<Utc>>>,
}

impl RetryClock {
    /// Notes a retry due at `at`.
    pub fn remember(&self, at: DateTime<Utc>) {
        let mut earliest = self.earliest.lock().unwrap_or_else(|e| e.into_inner());
        if earliest.is_none_or(|t| at < t) {
            *earliest = Some(at);
        }
    }

    /// Returns the time until the earliest remembered retry, at most `poll` (zero, and
    /// forgotten, once it is due).
    pub fn idle_wait(&self, poll: Duration) -> Duration {
        let mut earliest = self.earliest.lock().unwrap_or_else(|e| e.into_inner());
        match *earliest {
            Some(t) => match (t - Utc::now()).to_std() {
                Ok(d) if !d.is_zero() => d.min(poll),
                _ => {
                    *earliest = None;
                    Duration::ZERO
                }
            },
            None => poll,
        }
    }
}

/// How often the store's event signal may start a round of an idle queue (one that claimed
/// nothing for [`IDLE_AFTER`]). Under load every commit, on every node of a cluster, moves the
/// signal, and each round is a claim, a round trip to the database, on every node, for every
/// queue: an idle queue looks at most this often, later commits joining the wake-up (a round
/// reads all there is), while a queue with work follows every event, and the waker always
/// starts a round at once. At 25 ms, three nodes' idle queues (webhooks, attachment text,
/// scheduled sends) still made about 600 of PostgreSQL's 4,500 round trips a second in
/// `bench/nodes.sh`; at 100 ms they make a quarter of that, and a queue that wakes from idle
/// still starts its first round at once.
pub const IDLE_SIGNAL_INTERVAL: Duration = Duration::from_millis(100);

/// How long a queue must have claimed nothing to count as idle.
pub const IDLE_AFTER: Duration = Duration::from_secs(1);

/// Runs `queue` until `shutdown` turns `true` (or its sender is dropped), with at most
/// `concurrency` units of work at once. Wakes on `waker`, on `signal` (the store's event
/// signal, for queues fed by the event log; at most every [`IDLE_SIGNAL_INTERVAL`] while the
/// queue is idle) and when a unit of work ends. On shutdown it stops
/// claiming and waits for the work under way.
pub async fn run<Q: LeasedQueue>(
    queue: Arc<Q>,
    concurrency: usize,
    waker: Arc<Notify>,
    mut signal: Option<watch::Receiver<u64>>,
    mut shutdown: watch::Receiver<bool>,
) {
    let slots = Arc::new(Semaphore::new(concurrency.max(1)));
    let mut running: JoinSet<()> = JoinSet::new();
    if let Some(s) = signal.as_mut() {
        s.borrow_and_update();
    }
    tracing::info!(concurrency, "{} started", queue.name());
    // When the queue last claimed work, and when the signal last started a round.
    let mut last_claim: Option<tokio::time::Instant> = None;
    let mut last_signal_round: Option<tokio::time::Instant> = None;
    loop {
        if *shutdown.borrow() {
            break;
        }
        queue.prepare().await;
        let free = slots.available_permits();
        let mut full = false;
        if free > 0 {
            match queue.claim_work(free).await {
                Ok((claimed, work)) => {
                    full = claimed == free;
                    if claimed > 0 {
                        last_claim = Some(tokio::time::Instant::now());
                    }
                    for w in work {
                        let Ok(permit) = slots.clone().acquire_owned().await else {
                            break;
                        };
                        let q = queue.clone();
                        running.spawn(async move {
                            q.run_work(w).await;
                            drop(permit);
                        });
                    }
                }
                Err(e) => {
                    tracing::error!(error = %e, "{}: claiming failed; retrying after the poll interval", queue.name())
                }
            }
        }
        if full && slots.available_permits() > 0 {
            continue;
        }
        let idle = queue.idle_wait();
        tokio::select! {
            changed = shutdown.changed() => if changed.is_err() { break },
            open = changed(&mut signal) => {
                if !open {
                    signal = None;
                } else {
                    let quiet = last_claim.is_none_or(|t| t.elapsed() >= IDLE_AFTER);
                    if quiet && let Some(last) = last_signal_round {
                        // Later commits join this wake-up (the round reads all there is).
                        tokio::select! {
                            changed = shutdown.changed() => if changed.is_err() { break },
                            _ = tokio::time::sleep_until(last + IDLE_SIGNAL_INTERVAL) => {}
                            _ = waker.notified() => {}
                        }
                    }
                    last_signal_round = Some(tokio::time::Instant::now());
                }
            }
            _ = waker.notified() => {}
            _ = tokio::time::sleep(idle), if !full => {}
            Some(_) = running.join_next(), if !running.is_empty() => {}
        }
    }
    tracing::info!(in_flight = running.len(), "{} stopping; finishing the work under way", queue.name());
    while running.join_next().await.is_some() {}
}

/// Waits for the signal to change; returns `false` once its sender is gone. Without a signal,
/// never returns.
async fn changed(signal: &mut Option<watch::Receiver<u64>>) -> bool {
    match signal {
        Some(s) => s.changed().await.is_ok(),
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A queue that records each round (when, and the signal value it saw) and hands out the
    /// jobs put in `work`.
    struct Fake {
        signal: watch::Receiver<u64>,
        work: AtomicUsize,
        rounds: Mutex<Vec<(tokio::time::Instant, u64)>>,
    }

    #[async_trait]
    impl LeasedQueue for Fake {
        type Work = ();

        fn name(&self) -> &'static str {
            "test queue"
        }

        async fn prepare(&self) {
            let seen = *self.signal.borrow();
            self.rounds.lock().unwrap().push((tokio::time::Instant::now(), seen));
        }

        async fn claim_work(&self, limit: usize) -> Result<(usize, Vec<()>), String> {
            let n = self.work.swap(0, Ordering::SeqCst).min(limit);
            Ok((n, vec![(); n]))
        }

        async fn run_work(self: Arc<Self>, _work: ()) {}

        fn idle_wait(&self) -> Duration {
            Duration::from_secs(60)
        }
    }

    fn start(work: usize) -> (Arc<Fake>, watch::Sender<u64>, watch::Sender<bool>, tokio::task::JoinHandle<()>) {
        let (signal, rx) = watch::channel(0);
        let (stop, stopped) = watch::channel(false);
        let queue = Arc::new(Fake { signal: rx.clone(), work: AtomicUsize::new(work), rounds: Mutex::new(Vec::new()) });
        let task = tokio::spawn(run(queue.clone(), 4, Arc::new(Notify::new()), Some(rx), stopped));
        (queue, signal, stop, task)
    }

    /// An idle queue's rounds started by the signal are at least `IDLE_SIGNAL_INTERVAL` apart,
    /// however often the signal moves, and the last move is still seen.
    #[tokio::test(start_paused = true)]
    async fn an_idle_queue_joins_signal_wake_ups() {
        let (queue, signal, stop, task) = start(0);
        tokio::time::sleep(Duration::from_millis(1)).await;
        let started = tokio::time::Instant::now();
        for i in 1..=200u64 {
            signal.send_replace(i);
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        let moving = started.elapsed();
        tokio::time::sleep(IDLE_SIGNAL_INTERVAL * 2).await;
        let rounds = queue.rounds.lock().unwrap().clone();
        // One round at start, then one per interval at most while the signal moves, then the
        // last.
        let most = 3 + (moving.as_millis() / IDLE_SIGNAL_INTERVAL.as_millis()) as usize;
        assert!(rounds.len() <= most, "an idle queue ran {} rounds for 200 moves in {moving:?}", rounds.len());
        assert!(rounds.len() >= most - 3, "an idle queue still follows the signal: {} rounds", rounds.len());
        assert_eq!(rounds.last().map(|r| r.1), Some(200), "the last move is seen");
        for pair in rounds[1..].windows(2) {
            assert!(pair[1].0 - pair[0].0 >= IDLE_SIGNAL_INTERVAL, "signal rounds of an idle queue {:?} apart", pair[1].0 - pair[0].0);
        }
        stop.send_replace(true);
        task.await.unwrap();
    }

    /// A queue that finds work follows every move of the signal at once.
    #[tokio::test(start_paused = true)]
    async fn a_queue_with_work_follows_every_signal() {
        let (queue, signal, stop, task) = start(0);
        tokio::time::sleep(Duration::from_millis(1)).await;
        for i in 1..=20u64 {
            queue.work.store(1, Ordering::SeqCst);
            let sent = tokio::time::Instant::now();
            signal.send_replace(i);
            tokio::time::sleep(Duration::from_millis(5)).await;
            let rounds = queue.rounds.lock().unwrap().clone();
            let seen = rounds.iter().find(|(_, v)| *v >= i).map(|(t, _)| *t - sent);
            assert_eq!(seen, Some(Duration::ZERO), "move {i} started a round at once");
        }
        stop.send_replace(true);
        task.await.unwrap();
    }
}
