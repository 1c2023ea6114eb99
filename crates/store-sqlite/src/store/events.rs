//! SQLite: the ordered event log, its wake-up signal, and leases.

#[allow(unused_imports)]
use super::*;
use mailroom_core::cursor::CursorScope;

#[async_trait]
impl EventStore for SqliteStore {
    async fn last_event_cursor(&self, site: Option<SiteId>) -> StoreResult<i64> {
        self.read(move |conn| {
            let row = match site {
                Some(site) => query("SELECT COALESCE(MAX(site_pos), 0) AS last FROM events WHERE site_id = ?").bind(site.as_uuid()).fetch_one(conn),
                None => query("SELECT COALESCE(MAX(seq), 0) AS last FROM events").fetch_one(conn),
            }
            .map_err(db_err)?;
            col(&row, "last")
        })
        .await
    }

    async fn get_event(&self, id: EventId) -> StoreResult<Option<Event>> {
        self.read(move |conn| {
            let row = query("SELECT * FROM events WHERE id = ?").bind(id.as_uuid()).fetch_optional(conn).map_err(db_err)?;
            row.as_ref().map(|r| codec::event(r, CursorScope::Site)).transpose()
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
        self.read_long(move |conn| {
            let after = after.unwrap_or(0);
            let rows = match site {
                Some(site) => query("SELECT * FROM events WHERE site_id = ? AND site_pos > ? ORDER BY site_pos LIMIT ?")
                    .bind(site.as_uuid())
                    .bind(after)
                    .bind(i64::from(limit))
                    .fetch_all(conn),
                None => query("SELECT * FROM events WHERE seq > ? ORDER BY seq LIMIT ?").bind(after).bind(i64::from(limit)).fetch_all(conn),
            }
            .map_err(db_err)?;
            let scope = if site.is_some() { CursorScope::Site } else { CursorScope::All };
            rows.iter().map(|r| codec::event(r, scope)).collect()
        })
        .await
    }

    async fn hold_lease(&self, name: &str, holder: &str, now: DateTime<Utc>, until: DateTime<Utc>) -> StoreResult<bool> {
        let (name, holder) = (name.to_owned(), holder.to_owned());
        self.write(move |tx| {
            let held = query(
                "INSERT INTO leases (name, holder, until) VALUES (?1, ?2, ?4) ON CONFLICT (name) DO UPDATE \
                 SET holder = excluded.holder, until = excluded.until WHERE leases.holder = excluded.holder OR leases.until <= ?3 \
                 RETURNING holder",
            )
            .bind(&name)
            .bind(&holder)
            .bind(ts(now))
            .bind(ts(until))
            .fetch_optional(tx)
            .map_err(db_err)?;
            Ok(held.is_some())
        })
        .await
    }
}
