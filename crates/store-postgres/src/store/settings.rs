//! PostgreSQL: server-wide settings and idempotency keys.

#[allow(unused_imports)]
use super::*;

#[async_trait]
impl SettingsStore for PgStore {
    async fn get_setting(&self, key: &str) -> StoreResult<Option<String>> {
        let row = sqlx::query("SELECT value FROM settings WHERE key = $1").bind(key).fetch_optional(&self.pool).await.map_err(db_err)?;
        row.map(|r| col(&r, "value")).transpose()
    }

    async fn put_setting_if_absent(&self, key: &str, value: &str) -> StoreResult<String> {
        // The insert waits for a concurrent insert of the same key to finish; the select, a
        // new statement, then sees whichever value was committed. Settings are never deleted.
        sqlx::query("INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING")
            .bind(key)
            .bind(value)
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        let row = sqlx::query("SELECT value FROM settings WHERE key = $1").bind(key).fetch_one(&self.pool).await.map_err(db_err)?;
        col(&row, "value")
    }

    async fn put_setting(&self, key: &str, value: &str) -> StoreResult<()> {
        let mut conn = self.pool.acquire().await.map_err(db_err)?;
        upsert_setting(&mut conn, key, value).await
    }

    async fn claim_idempotency_key(&self, site: SiteId, key: &str, request_hash: &str) -> StoreResult<IdempotencyClaim> {
        // The insert waits for a concurrent claim of the same key to commit or roll back. If
        // the row it conflicted with is released before the select reads it, claim again.
        loop {
            let done = sqlx::query(
                "INSERT INTO idempotency_keys (site_id, key, request_hash, created_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (site_id, key) DO NOTHING",
            )
            .bind(site.as_uuid())
            .bind(key)
            .bind(request_hash)
            .bind(trunc(Utc::now()))
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
            if done.rows_affected() == 1 {
                return Ok(IdempotencyClaim::Claimed);
            }
            let row = sqlx::query("SELECT request_hash, status_code, response_body FROM idempotency_keys WHERE site_id = $1 AND key = $2")
                .bind(site.as_uuid())
                .bind(key)
                .fetch_optional(&self.pool)
                .await
                .map_err(db_err)?;
            if let Some(row) = row {
                return existing_claim(&row);
            }
        }
    }

    async fn complete_idempotency_key(&self, site: SiteId, key: &str, status: u16, body: &str) -> StoreResult<()> {
        // A key purged or released meanwhile is not an error: the request itself succeeded.
        sqlx::query("UPDATE idempotency_keys SET status_code = $1, response_body = $2 WHERE site_id = $3 AND key = $4")
            .bind(i32::from(status))
            .bind(body)
            .bind(site.as_uuid())
            .bind(key)
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn release_idempotency_key(&self, site: SiteId, key: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM idempotency_keys WHERE site_id = $1 AND key = $2")
            .bind(site.as_uuid())
            .bind(key)
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn purge_idempotency_keys(&self, before: DateTime<Utc>) -> StoreResult<u64> {
        let done = sqlx::query("DELETE FROM idempotency_keys WHERE created_at < $1")
            .bind(trunc(before))
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(done.rows_affected())
    }
}
