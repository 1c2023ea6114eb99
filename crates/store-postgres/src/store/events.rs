//! PostgreSQL: the ordered event log, its wake-up signal, and cluster-wide leases.

#[allow(unused_imports)]
use super::*;
use mailroom_core::cursor::CursorScope;

#[async_trait]
impl EventStore for PgStore {
    async fn last_event_cursor(&self, site: Option<SiteId>) -> StoreResult<i64> {
        // `event_heads` may run ahead of what is committed only inside a sealing transaction,
        // which readers never see; it is the newest numbered position.
        let head = site.map_or(Uuid::nil(), |s| s.as_uuid());
        let last: Option<i64> =
            sqlx::query_scalar("SELECT last FROM event_heads WHERE site_id = $1").bind(head).fetch_optional(&self.pool).await.map_err(db_err)?;
        Ok(last.unwrap_or(0))
    }

    async fn get_event(&self, id: EventId) -> StoreResult<Option<Event>> {
        let row = sqlx::query("SELECT * FROM events WHERE id = $1 AND site_pos IS NOT NULL")
            .bind(id.as_uuid())
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?;
        row.as_ref().map(|r| codec::event(r, CursorScope::Site)).transpose()
    }

    fn event_signal(&self) -> tokio::sync::watch::Receiver<u64> {
        self.committed.signal.subscribe()
    }

    async fn append_events(&self, events: &[NewEvent]) -> StoreResult<()> {
        if events.is_empty() {
            return Ok(());
        }
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        let appended = append(&mut tx, events).await?;
        tx.commit().await.map_err(db_err)?;
        self.notify_if(appended).await;
        Ok(())
    }

    async fn list_events(&self, site: Option<SiteId>, after: Option<i64>, limit: u32) -> StoreResult<Vec<Event>> {
        let after = after.unwrap_or(0);
        let rows = match site {
            Some(site) => sqlx::query("SELECT * FROM events WHERE site_id = $1 AND site_pos > $2 ORDER BY site_pos LIMIT $3")
                .bind(site.as_uuid())
                .bind(after)
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await
                .map_err(db_err)?,
            None => sqlx::query("SELECT * FROM events WHERE pos > $1 ORDER BY pos LIMIT $2")
                .bind(after)
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await
                .map_err(db_err)?,
        };
        let scope = if site.is_some() { CursorScope::Site } else { CursorScope::All };
        rows.iter().map(|r| codec::event(r, scope)).collect()
    }

    async fn hold_lease(&self, name: &str, holder: &str, now: DateTime<Utc>, until: DateTime<Utc>) -> StoreResult<bool> {
        let held: Option<String> = sqlx::query_scalar(
            "INSERT INTO leases (name, holder, until) VALUES ($1, $2, $4) ON CONFLICT (name) DO UPDATE \
             SET holder = excluded.holder, until = excluded.until WHERE leases.holder = excluded.holder OR leases.until <= $3 \
             RETURNING holder",
        )
        .bind(name)
        .bind(holder)
        .bind(now)
        .bind(until)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(held.is_some())
    }
}
