//! SQLite: sites, their API keys and their mailboxes.

#[allow(unused_imports)]
use super::*;

#[async_trait]
impl MailboxStore for SqliteStore {
    async fn create_site(&self, site: &Site) -> StoreResult<()> {
        let site = site.to_owned();
        self.write(move |tx| {
            let site = &site;
            query("INSERT INTO sites (id, name, created_at) VALUES (?, ?, ?)")
                .bind(site.id.as_uuid())
                .bind(&site.name)
                .bind(ts(site.created_at))
                .execute(tx)
                .map_err(db_err)?;
            Ok(())
        })
        .await
    }

    async fn get_site(&self, id: SiteId) -> StoreResult<Option<Site>> {
        self.read(move |conn| {
            let row = query("SELECT * FROM sites WHERE id = ?").bind(id.as_uuid()).fetch_optional(conn).map_err(db_err)?;
            row.as_ref().map(codec::site).transpose()
        })
        .await
    }

    async fn list_sites(&self) -> StoreResult<Vec<Site>> {
        self.read(move |conn| {
            let rows = query("SELECT * FROM sites ORDER BY created_at, id").fetch_all(conn).map_err(db_err)?;
            rows.iter().map(codec::site).collect()
        })
        .await
    }

    async fn create_api_key(&self, key: &ApiKey, secret_hash: &str) -> StoreResult<()> {
        let key = key.to_owned();
        let secret_hash = secret_hash.to_owned();
        self.write(move |tx| {
            let key = &key;
            let secret_hash = &secret_hash;
            query("INSERT INTO api_keys (id, name, scope, site_id, prefix, secret_hash, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)")
                .bind(key.id.as_uuid())
                .bind(&key.name)
                .bind(&key.scope)
                .bind(key.site_id.map(|s| s.as_uuid()))
                .bind(&key.prefix)
                .bind(secret_hash)
                .bind(ts(key.created_at))
                .execute(tx)
                .map_err(db_err)?;
            Ok(())
        })
        .await
    }

    async fn find_api_key_by_hash(&self, secret_hash: &str) -> StoreResult<Option<ApiKey>> {
        let secret_hash = secret_hash.to_owned();
        self.read(move |conn| {
            let secret_hash = &secret_hash;
            let row = query("SELECT * FROM api_keys WHERE secret_hash = ?").bind(secret_hash).fetch_optional(conn).map_err(db_err)?;
            row.as_ref().map(codec::api_key).transpose()
        })
        .await
    }

    async fn get_api_key(&self, id: ApiKeyId) -> StoreResult<Option<ApiKey>> {
        self.read(move |conn| {
            let row = query("SELECT * FROM api_keys WHERE id = ?").bind(id.as_uuid()).fetch_optional(conn).map_err(db_err)?;
            row.as_ref().map(codec::api_key).transpose()
        })
        .await
    }

    async fn list_api_keys(&self, site: Option<SiteId>) -> StoreResult<Vec<ApiKey>> {
        self.read(move |conn| {
            let rows = match site {
                Some(site) => {
                    query("SELECT * FROM api_keys WHERE site_id = ? ORDER BY created_at, id").bind(site.as_uuid()).fetch_all(conn)
                }
                None => query("SELECT * FROM api_keys ORDER BY created_at, id").fetch_all(conn),
            }
            .map_err(db_err)?;
            rows.iter().map(codec::api_key).collect()
        })
        .await
    }

    async fn delete_api_key(&self, id: ApiKeyId) -> StoreResult<bool> {
        self.write(move |tx| {
            let done = query("DELETE FROM api_keys WHERE id = ?").bind(id.as_uuid()).execute(tx).map_err(db_err)?;
            Ok(done.rows_affected() > 0)
        })
        .await
    }

    async fn create_mailbox(&self, mailbox: &Mailbox, event: &NewEvent) -> StoreResult<()> {
        let mailbox = mailbox.to_owned();
        let event = event.to_owned();
        self.write(move |tx| {
            let mailbox = &mailbox;
            let event = &event;
            query(
                "INSERT INTO mailboxes (id, site_id, address, address_canonical, display_name, client_id, created_at, updated_at) \
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(mailbox.id.as_uuid())
            .bind(mailbox.site_id.as_uuid())
            .bind(mailbox.address.as_str())
            .bind(mailbox.address.canonical())
            .bind(&mailbox.display_name)
            .bind(&mailbox.client_id)
            .bind(ts(mailbox.created_at))
            .bind(ts(mailbox.updated_at))
            .execute(tx)
            .map_err(db_err)?;
            append(tx, std::slice::from_ref(event))?;
            Ok(())
        })
        .await
    }

    async fn get_mailbox(&self, id: MailboxId) -> StoreResult<Option<Mailbox>> {
        self.read(move |conn| {
            let row = query("SELECT * FROM mailboxes WHERE id = ?").bind(id.as_uuid()).fetch_optional(conn).map_err(db_err)?;
            row.as_ref().map(codec::mailbox).transpose()
        })
        .await
    }

    async fn get_mailbox_by_address(&self, canonical_address: &str) -> StoreResult<Option<Mailbox>> {
        let canonical_address = canonical_address.to_owned();
        self.read(move |conn| {
            let canonical_address = &canonical_address;
            let row = query("SELECT * FROM mailboxes WHERE address_canonical = ?")
                .bind(canonical_address.to_lowercase())
                .fetch_optional(conn)
                .map_err(db_err)?;
            row.as_ref().map(codec::mailbox).transpose()
        })
        .await
    }

    async fn get_mailbox_by_client_id(&self, site: SiteId, client_id: &str) -> StoreResult<Option<Mailbox>> {
        let client_id = client_id.to_owned();
        self.read(move |conn| {
            let client_id = &client_id;
            let row = query("SELECT * FROM mailboxes WHERE site_id = ? AND client_id = ?")
                .bind(site.as_uuid())
                .bind(client_id)
                .fetch_optional(conn)
                .map_err(db_err)?;
            row.as_ref().map(codec::mailbox).transpose()
        })
        .await
    }

    async fn list_mailboxes(&self, site: Option<SiteId>, before: Option<MailboxId>, limit: u32) -> StoreResult<Vec<Mailbox>> {
        self.read(move |conn| {
            let mut q = QueryBuilder::new("SELECT * FROM mailboxes WHERE 1 = 1");
            if let Some(site) = site {
                q.push(" AND site_id = ").push_bind(site.as_uuid());
            }
            if let Some(before) = before {
                q.push(" AND id < ").push_bind(before.as_uuid());
            }
            q.push(" ORDER BY id DESC LIMIT ").push_bind(i64::from(limit));
            let rows = q.build().fetch_all(conn).map_err(db_err)?;
            rows.iter().map(codec::mailbox).collect()
        })
        .await
    }

    async fn update_mailbox(&self, mailbox: &Mailbox, event: &NewEvent) -> StoreResult<()> {
        let mailbox = mailbox.to_owned();
        let event = event.to_owned();
        self.write(move |tx| {
            let mailbox = &mailbox;
            let event = &event;
            let done = query("UPDATE mailboxes SET display_name = ?, updated_at = ? WHERE id = ?")
                .bind(&mailbox.display_name)
                .bind(ts(mailbox.updated_at))
                .bind(mailbox.id.as_uuid())
                .execute(tx)
                .map_err(db_err)?;
            if done.rows_affected() == 0 {
                return Err(StoreError::NotFound(format!("mailbox {}", mailbox.id)));
            }
            append(tx, std::slice::from_ref(event))?;
            Ok(())
        })
        .await
    }

    async fn delete_mailbox(&self, id: MailboxId, event: &NewEvent) -> StoreResult<Vec<String>> {
        let event = event.to_owned();
        self.write(move |tx| {
            let event = &event;
            let mut keys = Vec::new();
            let rows = query(
                "SELECT raw_blob_key AS blob_key FROM messages WHERE mailbox_id = ? \
                 UNION ALL SELECT a.blob_key FROM attachments a JOIN messages m ON m.id = a.message_id WHERE m.mailbox_id = ?",
            )
            .bind(id.as_uuid())
            .bind(id.as_uuid())
            .fetch_all(tx)
            .map_err(db_err)?;
            for row in &rows {
                keys.push(col::<String>(row, "blob_key")?);
            }
            // Only `team_members` refers to a mailbox without cascading.
            let done = query("DELETE FROM mailboxes WHERE id = ?").bind(id.as_uuid()).execute(tx).map_err(team_member_mailbox_err)?;
            if done.rows_affected() == 0 {
                return Err(StoreError::NotFound(format!("mailbox {id}")));
            }
            let keys = unreferenced(tx, keys)?;
            append(tx, std::slice::from_ref(event))?;
            Ok(keys)
        })
        .await
    }
}
