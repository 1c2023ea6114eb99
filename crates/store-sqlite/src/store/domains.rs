//! SQLite: hosted domains with their DKIM keys, and the suppression list.

#[allow(unused_imports)]
use super::*;

#[async_trait]
impl DomainStore for SqliteStore {
    async fn create_domain(&self, domain: &Domain, event: &NewEvent) -> StoreResult<()> {
        let domain = domain.to_owned();
        let event = event.to_owned();
        self.write(move |tx| {
            let domain = &domain;
            let event = &event;
            query("INSERT INTO domains (id, site_id, name, created_at) VALUES (?, ?, ?, ?)")
                .bind(domain.id.as_uuid())
                .bind(domain.site_id.as_uuid())
                .bind(domain.name.to_lowercase())
                .bind(ts(domain.created_at))
                .execute(tx)
                .map_err(db_err)?;
            for (position, k) in domain.dkim.iter().enumerate() {
                query(
                    "INSERT INTO dkim_keys (domain_id, position, selector, algorithm, public_key, private_key_encrypted) \
                     VALUES (?, ?, ?, ?, ?, ?)",
                )
                .bind(domain.id.as_uuid())
                .bind(signed(position, "DKIM key position")?)
                .bind(&k.selector)
                .bind(&k.algorithm)
                .bind(&k.public_key)
                .bind(&k.private_key_encrypted)
                .execute(tx)
                .map_err(db_err)?;
            }
            append(tx, std::slice::from_ref(event))?;
            Ok(())
        })
        .await
    }

    async fn get_domain(&self, id: DomainId) -> StoreResult<Option<Domain>> {
        self.read(move |conn| {
            let row = query("SELECT * FROM domains WHERE id = ?").bind(id.as_uuid()).fetch_optional(conn).map_err(db_err)?;
            let mut domains = row.iter().map(codec::domain).collect::<StoreResult<Vec<_>>>()?;
            with_keys(conn, &mut domains)?;
            Ok(domains.pop())
        })
        .await
    }

    async fn get_domain_by_name(&self, name: &str) -> StoreResult<Option<Domain>> {
        let name = name.to_owned();
        self.read(move |conn| {
            let name = &name;
            let row = query("SELECT * FROM domains WHERE name = ?").bind(name.to_lowercase()).fetch_optional(conn).map_err(db_err)?;
            let mut domains = row.iter().map(codec::domain).collect::<StoreResult<Vec<_>>>()?;
            with_keys(conn, &mut domains)?;
            Ok(domains.pop())
        })
        .await
    }

    async fn list_domains(&self, site: Option<SiteId>) -> StoreResult<Vec<Domain>> {
        self.read(move |conn| {
            let rows = match site {
                Some(site) => query("SELECT * FROM domains WHERE site_id = ? ORDER BY name").bind(site.as_uuid()).fetch_all(conn),
                None => query("SELECT * FROM domains ORDER BY name").fetch_all(conn),
            }
            .map_err(db_err)?;
            let mut domains = rows.iter().map(codec::domain).collect::<StoreResult<Vec<_>>>()?;
            with_keys(conn, &mut domains)?;
            Ok(domains)
        })
        .await
    }

    async fn delete_domain(&self, id: DomainId) -> StoreResult<bool> {
        self.write(move |tx| {
            let done = query("DELETE FROM domains WHERE id = ?").bind(id.as_uuid()).execute(tx).map_err(db_err)?;
            Ok(done.rows_affected() > 0)
        })
        .await
    }

    async fn put_suppression(&self, suppression: &Suppression, event: Option<&NewEvent>) -> StoreResult<()> {
        let suppression = suppression.to_owned();
        let event = event.map(|v| v.to_owned());
        self.write(move |tx| put_suppression_on(tx, &suppression, event.as_ref())).await
    }

    async fn get_suppression(&self, site: SiteId, address: &str) -> StoreResult<Option<Suppression>> {
        let address = address.to_owned();
        self.read(move |conn| {
            let address = &address;
            let row = query("SELECT * FROM suppressions WHERE site_id = ? AND address = ?")
                .bind(site.as_uuid())
                .bind(address.trim().to_lowercase())
                .fetch_optional(conn)
                .map_err(db_err)?;
            row.as_ref().map(codec::suppression).transpose()
        })
        .await
    }

    async fn list_suppressions(&self, site: Option<SiteId>, after: Option<&str>, limit: u32) -> StoreResult<Vec<Suppression>> {
        let after = after.map(|v| v.to_owned());
        self.read(move |conn| {
            let after = after.as_deref();
            let mut q = QueryBuilder::new("SELECT * FROM suppressions WHERE 1 = 1");
            if let Some(site) = site {
                q.push(" AND site_id = ").push_bind(site.as_uuid());
            }
            if let Some(after) = after {
                q.push(" AND address > ").push_bind(after.trim().to_lowercase());
            }
            q.push(" ORDER BY address, site_id LIMIT ").push_bind(i64::from(limit));
            let rows = q.build().fetch_all(conn).map_err(db_err)?;
            rows.iter().map(codec::suppression).collect()
        })
        .await
    }

    async fn delete_suppression(&self, site: SiteId, address: &str) -> StoreResult<bool> {
        let address = address.to_owned();
        self.write(move |tx| {
            let address = &address;
            let done = query("DELETE FROM suppressions WHERE site_id = ? AND address = ?")
                .bind(site.as_uuid())
                .bind(address.trim().to_lowercase())
                .execute(tx)
                .map_err(db_err)?;
            Ok(done.rows_affected() > 0)
        })
        .await
    }
}

/// Creates (or replaces) a suppression and appends its event inside the caller's write
/// transaction.
pub(super) fn put_suppression_on(tx: &Tx<'_>, suppression: &Suppression, event: Option<&NewEvent>) -> StoreResult<()> {
    query(
        "INSERT INTO suppressions (site_id, address, reason, detail, created_at) VALUES (?, ?, ?, ?, ?) \
         ON CONFLICT (site_id, address) DO UPDATE SET reason = excluded.reason, detail = excluded.detail, \
         created_at = excluded.created_at",
    )
    .bind(suppression.site_id.as_uuid())
    .bind(suppression.address.canonical())
    .bind(&suppression.reason)
    .bind(&suppression.detail)
    .bind(ts(suppression.created_at))
    .execute(tx)
    .map_err(db_err)?;
    append(tx, event.map(std::slice::from_ref).unwrap_or_default())?;
    Ok(())
}
