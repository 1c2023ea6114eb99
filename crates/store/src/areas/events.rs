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
///
/// Positions come in two scopes. Every site has its own log, numbered 1, 2, 3… in the order
/// its events became readable; a site-scoped read (`site = Some`) takes and returns these
/// (cursors `mailroom_core::cursor::encode(CursorScope::Site, n)`), so a site's cursors say
/// nothing about other sites. Reads of every site at once (`site = None`: admin reads and the
/// webhook fan-out) use the log's own positions (`CursorScope::All`). In both scopes a reader
/// that has read up to a position never later finds an event behind it.
#[async_trait]
pub trait EventStore: Send + Sync + 'static {
    /// Returns the position of the newest readable event of `site` (or of the whole log), 0
    /// when there is none.
    async fn last_event_cursor(&self, site: Option<SiteId>) -> StoreResult<i64>;

    /// Returns the event with this id, its cursor in its site's scope.
    async fn get_event(&self, id: EventId) -> StoreResult<Option<Event>>;

    /// Returns a receiver whose value changes after every commit on this store that appended
    /// events — and, where several nodes share the database (PostgreSQL), soon after other
    /// nodes' commits too. SSE streams, long-poll waits and the webhook fan-out wake on it and
    /// then read the log from their own cursor: the log is the truth, the signal only a wake-up.
    fn event_signal(&self) -> tokio::sync::watch::Receiver<u64>;

    /// Appends events. When this returns they are readable (on every node), in order, after
    /// every event readable before.
    async fn append_events(&self, events: &[NewEvent]) -> StoreResult<()>;

    /// Returns events after position `after` (exclusive), in log order, at most `limit`: of one
    /// site (`Some`, site positions) or of all sites (`None`, log positions).
    async fn list_events(&self, site: Option<SiteId>, after: Option<i64>, limit: u32) -> StoreResult<Vec<Event>>;

    /// Takes or renews the cluster-wide lease `name` for `holder` until `until`: returns
    /// whether `holder` holds it now (it was free, expired at `now`, or already `holder`'s).
    /// Work that one node should do for the whole cluster (the webhook fan-out) runs under it.
    async fn hold_lease(&self, name: &str, holder: &str, now: DateTime<Utc>, until: DateTime<Utc>) -> StoreResult<bool>;
}
