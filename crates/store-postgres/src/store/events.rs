//! PostgreSQL: the ordered event log and its wake-up signal.

#[allow(unused_imports)]
use super::*;

#[async_trait]
impl EventStore for PgStore {
    async fn last_event_cursor(&self) -> StoreResult<i64> {
        let row = sqlx::query("SELECT COALESCE(MAX(seq), 0) AS last FROM events").fetch_one(&self.pool).await.map_err(db_err)?;
        col(&row, "last")
    }

    async fn get_event(&self, cursor: i64) -> StoreResult<Option<Event>> {
        let row = sqlx::query("SELECT * FROM events WHERE seq = $1").bind(cursor).fetch_optional(&self.pool).await.map_err(db_err)?;
        row.as_ref().map(codec::event).transpose()
    }

    fn event_signal(&self) -> tokio::sync::watch::Receiver<u64> {
        self.signal.subscribe()
    }

    async fn append_events(&self, events: &[NewEvent]) -> StoreResult<()> {
        if events.is_empty() {
            return Ok(());
        }
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        let appended = append(&mut tx, events).await?;
        tx.commit().await.map_err(db_err)?;
        self.notify_if(appended);
        Ok(())
    }

    async fn list_events(&self, site: Option<SiteId>, after: Option<i64>, limit: u32) -> StoreResult<Vec<Event>> {
        let mut q = QueryBuilder::<Postgres>::new("SELECT * FROM events WHERE seq > ");
        q.push_bind(after.unwrap_or(0));
        if let Some(site) = site {
            q.push(" AND site_id = ").push_bind(site.as_uuid());
        }
        q.push(" ORDER BY seq LIMIT ").push_bind(i64::from(limit));
        let rows = q.build().fetch_all(&self.pool).await.map_err(db_err)?;
        rows.iter().map(codec::event).collect()
    }
}
