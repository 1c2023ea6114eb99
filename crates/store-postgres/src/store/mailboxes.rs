//! PostgreSQL: sites, their API keys and their mailboxes.

#[allow(unused_imports)]
use super::*;

#[async_trait]
impl MailboxStore for PgStore {
    async fn create_site(&self, site: &Site) -> StoreResult<()> {
        sqlx::query("INSERT INTO sites (id, name, created_at) VALUES ($1, $2, $3)")
            .bind(site.id.as_uuid())
            .bind(&site.name)
            .bind(trunc(site.created_at))
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn get_site(&self, id: SiteId) -> StoreResult<Option<Site>> {
        let row = sqlx::query("SELECT * FROM sites WHERE id = $1").bind(id.as_uuid()).fetch_optional(&self.pool).await.map_err(db_err)?;
        row.as_ref().map(codec::site).transpose()
    }

    async fn list_sites(&self) -> StoreResult<Vec<Site>> {
        let rows = sqlx::query("SELECT * FROM sites ORDER BY created_at, id").fetch_all(&self.pool).await.map_err(db_err)?;
        rows.iter().map(codec::site).collect()
    }

    async fn create_api_key(&self, key: &ApiKey, secret_hash: &str) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO api_keys (id, name, scope, site_id, prefix, secret_hash, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(key.id.as_uuid())
        .bind(&key.name)
        .bind(&key.scope)
        .bind(key.site_id.map(|s| s.as_uuid()))
        .bind(&key.prefix)
        .bind(secret_hash)
        .bind(trunc(key.created_at))
        .execute(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    async fn find_api_key_by_hash(&self, secret_hash: &str) -> StoreResult<Option<ApiKey>> {
        let row = sqlx::query("SELECT * FROM api_keys WHERE secret_hash = $1")
            .bind(secret_hash)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?;
        row.as_ref().map(codec::api_key).transpose()
    }

    async fn get_api_key(&self, id: ApiKeyId) -> StoreResult<Option<ApiKey>> {
        let row =
            sqlx::query("SELECT * FROM api_keys WHERE id = $1").bind(id.as_uuid()).fetch_optional(&self.pool).await.map_err(db_err)?;
        row.as_ref().map(codec::api_key).transpose()
    }

    async fn list_api_keys(&self, site: Option<SiteId>) -> StoreResult<Vec<ApiKey>> {
        let rows = match site {
            Some(site) => sqlx::query("SELECT * FROM api_keys WHERE site_id = $1 ORDER BY created_at, id")
                .bind(site.as_uuid())
                .fetch_all(&self.pool)
                .await,
            None => sqlx::query("SELECT * FROM api_keys ORDER BY created_at, id").fetch_all(&self.pool).await,
        }
        .map_err(db_err)?;
        rows.iter().map(codec::api_key).collect()
    }

    async fn delete_api_key(&self, id: ApiKeyId) -> StoreResult<bool> {
        let done = sqlx::query("DELETE FROM api_keys WHERE id = $1").bind(id.as_uuid()).execute(&self.pool).await.map_err(db_err)?;
        Ok(done.rows_affected() > 0)
    }

    async fn create_mailbox(&self, mailbox: &Mailbox, event: &NewEvent) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        sqlx::query(
            "INSERT INTO mailboxes (id, site_id, address, address_canonical, display_name, client_id, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(mailbox.id.as_uuid())
        .bind(mailbox.site_id.as_uuid())
        .bind(mailbox.address.as_str())
        .bind(mailbox.address.canonical())
        .bind(&mailbox.display_name)
        .bind(&mailbox.client_id)
        .bind(trunc(mailbox.created_at))
        .bind(trunc(mailbox.updated_at))
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        let appended = append(&mut tx, std::slice::from_ref(event)).await?;
        tx.commit().await.map_err(db_err)?;
        self.notify_if(appended).await;
        Ok(())
    }

    async fn get_mailbox(&self, id: MailboxId) -> StoreResult<Option<Mailbox>> {
        let row =
            sqlx::query("SELECT * FROM mailboxes WHERE id = $1").bind(id.as_uuid()).fetch_optional(&self.pool).await.map_err(db_err)?;
        row.as_ref().map(codec::mailbox).transpose()
    }

    async fn get_mailbox_by_address(&self, canonical_address: &str) -> StoreResult<Option<Mailbox>> {
        let row = sqlx::query("SELECT * FROM mailboxes WHERE address_canonical = $1")
            .bind(canonical_address.to_lowercase())
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?;
        row.as_ref().map(codec::mailbox).transpose()
    }

    async fn get_mailbox_by_client_id(&self, site: SiteId, client_id: &str) -> StoreResult<Option<Mailbox>> {
        let row = sqlx::query("SELECT * FROM mailboxes WHERE site_id = $1 AND client_id = $2")
            .bind(site.as_uuid())
            .bind(client_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?;
        row.as_ref().map(codec::mailbox).transpose()
    }

    async fn list_mailboxes(&self, site: Option<SiteId>, before: Option<MailboxId>, limit: u32) -> StoreResult<Vec<Mailbox>> {
        let mut q = QueryBuilder::<Postgres>::new("SELECT * FROM mailboxes WHERE TRUE");
        if let Some(site) = site {
            q.push(" AND site_id = ").push_bind(site.as_uuid());
        }
        if let Some(before) = before {
            q.push(" AND id < ").push_bind(before.as_uuid());
        }
        q.push(" ORDER BY id DESC LIMIT ").push_bind(i64::from(limit));
        let rows = q.build().fetch_all(&self.pool).await.map_err(db_err)?;
        rows.iter().map(codec::mailbox).collect()
    }

    async fn update_mailbox(&self, mailbox: &Mailbox, event: &NewEvent) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        let done = sqlx::query("UPDATE mailboxes SET display_name = $1, updated_at = $2 WHERE id = $3")
            .bind(&mailbox.display_name)
            .bind(trunc(mailbox.updated_at))
            .bind(mailbox.id.as_uuid())
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("mailbox {}", mailbox.id)));
        }
        let appended = append(&mut tx, std::slice::from_ref(event)).await?;
        tx.commit().await.map_err(db_err)?;
        self.notify_if(appended).await;
        Ok(())
    }

    async fn delete_mailbox(&self, id: MailboxId, event: &NewEvent) -> StoreResult<Vec<String>> {
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        // Locking the mailbox first waits for messages being inserted into it (they hold a key
        // share lock on it) and keeps new ones out, so the keys read next are complete.
        let locked = sqlx::query("SELECT id FROM mailboxes WHERE id = $1 FOR UPDATE")
            .bind(id.as_uuid())
            .fetch_optional(&mut *tx)
            .await
            .map_err(db_err)?;
        if locked.is_none() {
            return Err(StoreError::NotFound(format!("mailbox {id}")));
        }
        let rows = sqlx::query(
            "SELECT raw_blob_key AS blob_key FROM messages WHERE mailbox_id = $1 \
             UNION ALL SELECT a.blob_key FROM attachments a JOIN messages m ON m.id = a.message_id WHERE m.mailbox_id = $1",
        )
        .bind(id.as_uuid())
        .fetch_all(&mut *tx)
        .await
        .map_err(db_err)?;
        let keys = rows.iter().map(|r| col::<String>(r, "blob_key")).collect::<StoreResult<Vec<_>>>()?;
        // Only `team_members` refers to a mailbox without cascading.
        sqlx::query("DELETE FROM mailboxes WHERE id = $1").bind(id.as_uuid()).execute(&mut *tx).await.map_err(team_member_mailbox_err)?;
        let keys = unreferenced(&mut tx, keys).await?;
        let appended = append(&mut tx, std::slice::from_ref(event)).await?;
        tx.commit().await.map_err(db_err)?;
        self.notify_if(appended).await;
        Ok(keys)
    }
}
