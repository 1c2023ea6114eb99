//! The ordered event log and its wake-up signal.

#[allow(unused_imports)]
use crate::*;
use async_trait::async_trait;
#[allow(unused_imports)]
use chrono::{DateTime, Utc};
#[allow(unused_imports)]
use mailroom_core::agent::*;
use mailroom_core::*;

/// The ordered event log and its wake-up signal.
#[async_trait]
pub trait EventStore: Send + Sync + 'static {
    /// Returns the cursor of the newest event (0 when the log is empty).
    async fn last_event_cursor(&self) -> StoreResult<i64>;

    /// Returns the event with this cursor.
    async fn get_event(&self, cursor: i64) -> StoreResult<Option<Event>>;

    /// Returns a receiver whose value changes after every commit on this store that appended
    /// events — and, where several nodes share the database (PostgreSQL), soon after other
    /// nodes' commits too. SSE streams, long-poll waits and the webhook fan-out wake on it and
    /// then read the log from their own cursor: the log is the truth, the signal only a wake-up.
    fn event_signal(&self) -> tokio::sync::watch::Receiver<u64>;

    /// Appends events. Their cursors increase in commit order.
    async fn append_events(&self, events: &[NewEvent]) -> StoreResult<()>;

    /// Returns events with a cursor greater than `after`, in log order, at most `limit`:
    /// of one site (`Some`) or of all sites (`None`).
    async fn list_events(&self, site: Option<SiteId>, after: Option<i64>, limit: u32) -> StoreResult<Vec<Event>>;
}
