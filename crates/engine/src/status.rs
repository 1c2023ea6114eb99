//! What waits, across every site: the outbound queue and webhook deliveries, for
//! `GET /v1/status`, `mailroom status` and the metrics gauges.

use crate::{Engine, EngineResult};

/// What is waiting: outbound recipients and webhook deliveries, counted exactly.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Backlog {
    /// Outbound recipients queued, sending or deferred.
    pub queue_depth: u64,
    /// Seconds since the oldest message with a waiting recipient was created (0 when none).
    pub oldest_queued_secs: f64,
    /// Webhook deliveries pending or being sent.
    pub webhook_backlog: u64,
}

impl Engine {
    /// Counts the backlog of every site: two aggregate queries, however long the queues.
    pub async fn backlog(&self) -> EngineResult<Backlog> {
        let queue = self.store().queue_backlog().await?;
        let webhook_backlog = self.store().webhook_backlog().await?;
        let oldest_queued_secs = queue
            .oldest
            .map(|t| (chrono::Utc::now() - t).num_microseconds().unwrap_or(i64::MAX) as f64 / 1e6)
            .unwrap_or(0.0)
            .max(0.0);
        Ok(Backlog { queue_depth: queue.waiting, oldest_queued_secs, webhook_backlog })
    }
}
