//! PostgreSQL: hosted domains with their DKIM keys, and the suppression list.

#[allow(unused_imports)]
use super::*;

#[async_trait]
impl DomainStore for PgStore {
    async fn create_domain(&self, domain: &Domain, event: &NewEvent) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        sqlx::query("INSERT INTO domains (id, site_id, name, created_at) VALUES ($1, $2, $3, $4)")
            .bind(domain.id.as_uuid())
            .bind(domain.site_id.as_uuid())
            .bind(domain.name.to_lowercase())
            .bind(trunc(domain.created_at))
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        for (position, k) in domain.dkim.iter().enumerate() {
            sqlx::query(
                "INSERT INTO dkim_keys (domain_id, position, selector, algorithm, public_key, private_key_encrypted) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(domain.id.as_uuid())
            .bind(signed::<i32, _>(position, "DKIM key position")?)
            .bind(&k.selector)
            .bind(&k.algorithm)
            .bind(&k.public_key)
            .bind(&k.private_key_encrypted)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        }
        let appended = append(&mut tx, std::slice::from_ref(event)).await?;
        tx.commit().await.map_err(db_err)?;
        self.notify_if(appended).await;
        Ok(())
    }

    async fn get_domain(&self, id: DomainId) -> StoreResult<Option<Domain>> {
        let row = sqlx::query("SELECT * FROM domains WHERE id = $1").bind(id.as_uuid()).fetch_optional(&self.pool).await.map_err(db_err)?;
        let mut domains = row.iter().map(codec::domain).collect::<StoreResult<Vec<_>>>()?;
        self.with_keys(&mut domains).await?;
        Ok(domains.pop())
    }

    async fn get_domain_by_name(&self, name: &str) -> StoreResult<Option<Domain>> {
        let row = sqlx::query("SELECT * FROM domains WHERE name = $1")
            .bind(name.to_lowercase())
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?;
        let mut domains = row.iter().map(codec::domain).collect::<StoreResult<Vec<_>>>()?;
        self.with_keys(&mut domains).await?;
        Ok(domains.pop())
    }

    async fn list_domains(&self, site: Option<SiteId>) -> StoreResult<Vec<Domain>> {
        let rows = match site {
            Some(site) => {
                sqlx::query("SELECT * FROM domains WHERE site_id = $1 ORDER BY name").bind(site.as_uuid()).fetch_all(&self.pool).await
            }
            None => sqlx::query("SELECT * FROM domains ORDER BY name").fetch_all(&self.pool).await,
        }
        .map_err(db_err)?;
        let mut domains = rows.iter().map(codec::domain).collect::<StoreResult<Vec<_>>>()?;
        self.with_keys(&mut domains).await?;
        Ok(domains)
    }

    async fn delete_domain(&self, id: DomainId) -> StoreResult<bool> {
        let done = sqlx::query("DELETE FROM domains WHERE id = $1").bind(id.as_uuid()).execute(&self.pool).await.map_err(db_err)?;
        Ok(done.rows_affected() > 0)
    }

    async fn put_suppression(&self, suppression: &Suppression, event: Option<&NewEvent>) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        put_suppression_on(&mut tx, suppression).await?;
        let appended = append(&mut tx, event.map(std::slice::from_ref).unwrap_or_default()).await?;
        tx.commit().await.map_err(db_err)?;
        self.notify_if(appended).await;
        Ok(())
    }

    async fn get_suppression(&self, site: SiteId, address: &str) -> StoreResult<Option<Suppression>> {
        let row = sqlx::query("SELECT * FROM suppressions WHERE site_id = $1 AND address = $2")
            .bind(site.as_uuid())
            .bind(address.trim().to_lowercase())
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?;
        row.as_ref().map(codec::suppression).transpose()
    }

    async fn list_suppressions(&self, site: Option<SiteId>, after: Option<&str>, limit: u32) -> StoreResult<Vec<Suppression>> {
        let mut q = QueryBuilder::<Postgres>::new("SELECT * FROM suppressions WHERE TRUE");
        if let Some(site) = site {
            q.push(" AND site_id = ").push_bind(site.as_uuid());
        }
        if let Some(after) = after {
            q.push(" AND address > ").push_bind(after.trim().to_lowercase());
        }
        q.push(" ORDER BY address, site_id LIMIT ").push_bind(i64::from(limit));
        let rows = q.build().fetch_all(&self.pool).await.map_err(db_err)?;
        rows.iter().map(codec::suppression).collect()
    }

    async fn delete_suppression(&self, site: SiteId, address: &str) -> StoreResult<bool> {
        let done = sqlx::query("DELETE FROM suppressions WHERE site_id = $1 AND address = $2")
            .bind(site.as_uuid())
            .bind(address.trim().to_lowercase())
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(done.rows_affected() > 0)
    }
}

/// Creates (or replaces) a suppression inside the caller's transaction.
pub(super) async fn put_suppression_on(conn: &mut PgConnection, suppression: &Suppression) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO suppressions (site_id, address, reason, detail, created_at) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (site_id, address) DO UPDATE SET reason = excluded.reason, detail = excluded.detail, \
         created_at = excluded.created_at",
    )
    .bind(suppression.site_id.as_uuid())
    .bind(suppression.address.canonical())
    .bind(&suppression.reason)
    .bind(&suppression.detail)
    .bind(trunc(suppression.created_at))
    .execute(&mut *conn)
    .await
    .map_err(db_err)?;
    Ok(())
}
