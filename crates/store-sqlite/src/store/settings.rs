//! SQLite: server-wide settings and idempotency keys.

#[allow(unused_imports)]
use super::*;

#[async_trait]
impl SettingsStore for SqliteStore {
    async fn get_setting(&self, key: &str) -> StoreResult<Option<String>> {
        let key = key.to_owned();
        self.read(move |conn| {
            let key = &key;
            let row = query("SELECT value FROM settings WHERE key = ?").bind(key).fetch_optional(conn).map_err(db_err)?;
            row.map(|r| col(&r, "value")).transpose()
        })
        .await
    }

    async fn put_setting_if_absent(&self, key: &str, value: &str) -> StoreResult<String> {
        let key = key.to_owned();
        let value = value.to_owned();
        self.write(move |tx| {
            let key = &key;
            let value = &value;
            query("INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING")
                .bind(key)
                .bind(value)
                .execute(tx)
                .map_err(db_err)?;
            let row = query("SELECT value FROM settings WHERE key = ?").bind(key).fetch_one(tx).map_err(db_err)?;
            let stored = col(&row, "value")?;
            Ok(stored)
        })
        .await
    }

    async fn put_setting(&self, key: &str, value: &str) -> StoreResult<()> {
        let key = key.to_owned();
        let value = value.to_owned();
        self.write(move |tx| {
            let key = &key;
            let value = &value;
            upsert_setting(tx, key, value)?;
            Ok(())
        })
        .await
    }

    async fn claim_idempotency_key(&self, site: SiteId, key: &str, request_hash: &str) -> StoreResult<IdempotencyClaim> {
        let key = key.to_owned();
        let request_hash = request_hash.to_owned();
        self.write(move |tx| {
            let key = &key;
            let request_hash = &request_hash;
            let done = query(
                "INSERT INTO idempotency_keys (site_id, key, request_hash, created_at) VALUES (?, ?, ?, ?) \
                 ON CONFLICT (site_id, key) DO NOTHING",
            )
            .bind(site.as_uuid())
            .bind(key)
            .bind(request_hash)
            .bind(ts(Utc::now()))
            .execute(tx)
            .map_err(db_err)?;
            let claim = if done.rows_affected() == 1 {
                IdempotencyClaim::Claimed
            } else {
                let row = query("SELECT request_hash, status_code, response_body FROM idempotency_keys WHERE site_id = ? AND key = ?")
                    .bind(site.as_uuid())
                    .bind(key)
                    .fetch_one(tx)
                    .map_err(db_err)?;
                existing_claim(&row)?
            };
            Ok(claim)
        })
        .await
    }

    async fn complete_idempotency_key(&self, site: SiteId, key: &str, status: u16, body: &str) -> StoreResult<()> {
        let key = key.to_owned();
        let body = body.to_owned();
        self.write(move |tx| {
            let key = &key;
            let body = &body;
            // A key purged or released meanwhile is not an error: the request itself succeeded.
            query("UPDATE idempotency_keys SET status_code = ?, response_body = ? WHERE site_id = ? AND key = ?")
                .bind(i64::from(status))
                .bind(body)
                .bind(site.as_uuid())
                .bind(key)
                .execute(tx)
                .map_err(db_err)?;
            Ok(())
        })
        .await
    }

    async fn release_idempotency_key(&self, site: SiteId, key: &str) -> StoreResult<()> {
        let key = key.to_owned();
        self.write(move |tx| {
            let key = &key;
            query("DELETE FROM idempotency_keys WHERE site_id = ? AND key = ?")
                .bind(site.as_uuid())
                .bind(key)
                .execute(tx)
                .map_err(db_err)?;
            Ok(())
        })
        .await
    }

    async fn purge_idempotency_keys(&self, before: DateTime<Utc>) -> StoreResult<u64> {
        self.write(move |tx| {
            let done = query("DELETE FROM idempotency_keys WHERE created_at < ?").bind(ts(trunc(before))).execute(tx).map_err(db_err)?;
            Ok(done.rows_affected())
        })
        .await
    }
}
