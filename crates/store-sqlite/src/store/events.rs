//! SQLite: the ordered event log and its wake-up signal.

#[allow(unused_imports)]
use super::*;

#[async_trait]
impl EventStore for SqliteStore {
    async fn last_event_cursor(&self) -> StoreResult<i64> {
        self.read(move |conn| {
            let row = query("SELECT COALESCE(MAX(seq), 0) AS last FROM events").fetch_one(conn).map_err(db_err)?;
            col(&row, "last")
        })
        .await
    }

    async fn get_event(&self, cursor: i64) -> StoreResult<Option<Event>> {
        self.read(move |conn| {
            let row = query("SELECT * FROM events WHERE seq = ?").bind(cursor).fetch_optional(conn).map_err(db_err)?;
            row.as_ref().map(codec::event).transpose()
        })
        .await
    }

    fn event_signal(&self) -> tokio::sync::watch::Receiver<u64> {
        self.signal.subscribe()
    }

    async fn append_events(&self, events: &[NewEvent]) -> StoreResult<()> {
        let events = events.to_owned();
        self.write(move |tx| {
            let events = &events;
            if events.is_empty() {
                return Ok(());
            }
            append(tx, events)?;
            Ok(())
        })
        .await
    }

    async fn list_events(&self, site: Option<SiteId>, after: Option<i64>, limit: u32) -> StoreResult<Vec<Event>> {
        self.read(move |conn| {
            let mut q = QueryBuilder::new("SELECT * FROM events WHERE seq > ");
            q.push_bind(after.unwrap_or(0));
            if let Some(site) = site {
                q.push(" AND site_id = ").push_bind(site.as_uuid());
            }
            q.push(" ORDER BY seq LIMIT ").push_bind(i64::from(limit));
            let rows = q.build().fetch_all(conn).map_err(db_err)?;
            rows.iter().map(codec::event).collect()
        })
        .await
    }
}
