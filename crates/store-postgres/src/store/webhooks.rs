//! PostgreSQL: webhook endpoints and their leased deliveries.

#[allow(unused_imports)]
use super::*;

#[async_trait]
impl WebhookStore for PgStore {
    async fn create_webhook(&self, endpoint: &WebhookEndpoint) -> StoreResult<()> {
        let e = endpoint;
        sqlx::query(
            "INSERT INTO webhook_endpoints (id, site_id, url, event_types, mailbox_id, description, enabled, disabled_reason, \
             failing_since, secret_encrypted, previous_secret_encrypted, previous_secret_expires_at, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
        )
        .bind(e.id.as_uuid())
        .bind(e.site_id.as_uuid())
        .bind(&e.url)
        .bind(to_json(&e.event_types)?)
        .bind(e.mailbox_id.map(|m| m.as_uuid()))
        .bind(&e.description)
        .bind(e.enabled)
        .bind(&e.disabled_reason)
        .bind(e.failing_since.map(trunc))
        .bind(&e.secret_encrypted)
        .bind(&e.previous_secret_encrypted)
        .bind(e.previous_secret_expires_at.map(trunc))
        .bind(trunc(e.created_at))
        .bind(trunc(e.updated_at))
        .execute(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    async fn get_webhook(&self, id: WebhookId) -> StoreResult<Option<WebhookEndpoint>> {
        let row = sqlx::query("SELECT * FROM webhook_endpoints WHERE id = $1")
            .bind(id.as_uuid())
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?;
        row.as_ref().map(codec::webhook_endpoint).transpose()
    }

    async fn list_webhooks(&self, site: Option<SiteId>) -> StoreResult<Vec<WebhookEndpoint>> {
        let rows = match site {
            Some(site) => sqlx::query("SELECT * FROM webhook_endpoints WHERE site_id = $1 ORDER BY created_at, id")
                .bind(site.as_uuid())
                .fetch_all(&self.pool)
                .await,
            None => sqlx::query("SELECT * FROM webhook_endpoints ORDER BY created_at, id").fetch_all(&self.pool).await,
        }
        .map_err(db_err)?;
        rows.iter().map(codec::webhook_endpoint).collect()
    }

    async fn update_webhook(&self, endpoint: &WebhookEndpoint, events: &[NewEvent]) -> StoreResult<()> {
        let e = endpoint;
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        let done = sqlx::query(
            "UPDATE webhook_endpoints SET url = $1, event_types = $2, mailbox_id = $3, description = $4, enabled = $5, \
             disabled_reason = $6, failing_since = $7, secret_encrypted = $8, previous_secret_encrypted = $9, \
             previous_secret_expires_at = $10, updated_at = $11 WHERE id = $12",
        )
        .bind(&e.url)
        .bind(to_json(&e.event_types)?)
        .bind(e.mailbox_id.map(|m| m.as_uuid()))
        .bind(&e.description)
        .bind(e.enabled)
        .bind(&e.disabled_reason)
        .bind(e.failing_since.map(trunc))
        .bind(&e.secret_encrypted)
        .bind(&e.previous_secret_encrypted)
        .bind(e.previous_secret_expires_at.map(trunc))
        .bind(trunc(e.updated_at))
        .bind(e.id.as_uuid())
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("webhook endpoint {}", e.id)));
        }
        let appended = append(&mut tx, events).await?;
        tx.commit().await.map_err(db_err)?;
        self.notify_if(appended).await;
        Ok(())
    }

    async fn delete_webhook(&self, id: WebhookId) -> StoreResult<bool> {
        let done =
            sqlx::query("DELETE FROM webhook_endpoints WHERE id = $1").bind(id.as_uuid()).execute(&self.pool).await.map_err(db_err)?;
        Ok(done.rows_affected() > 0)
    }

    async fn create_webhook_deliveries(&self, deliveries: &[WebhookDelivery], cursor: Option<(&str, &str)>) -> StoreResult<()> {
        if deliveries.is_empty() && cursor.is_none() {
            return Ok(());
        }
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        // 12 parameters a row, under PostgreSQL's 65535 per statement.
        for chunk in deliveries.chunks(1000) {
            let mut rows = Vec::with_capacity(chunk.len());
            for d in chunk {
                rows.push((d, signed::<i64, _>(d.attempts, "delivery attempts")?));
            }
            let mut q = QueryBuilder::<Postgres>::new(
                "INSERT INTO webhook_deliveries (id, endpoint_id, site_id, event_id, event_cursor, event_seq, event_type, status, \
                 attempts, next_attempt_at, created_at, updated_at) ",
            );
            q.push_values(rows, |mut b, (d, attempts)| {
                b.push_bind(d.id.as_uuid())
                    .push_bind(d.endpoint_id.as_uuid())
                    .push_bind(d.site_id.as_uuid())
                    .push_bind(d.event_id.as_uuid())
                    .push_bind(&d.event_cursor)
                    .push_bind(event_seq(&d.event_cursor))
                    .push_bind(&d.event_type)
                    .push_bind(d.status.as_str())
                    .push_bind(attempts)
                    .push_bind(d.next_attempt_at.map(trunc))
                    .push_bind(trunc(d.created_at))
                    .push_bind(trunc(d.updated_at));
            });
            q.push(" ON CONFLICT (endpoint_id, event_id) DO NOTHING");
            q.build().execute(&mut *tx).await.map_err(db_err)?;
        }
        if let Some((key, value)) = cursor {
            upsert_setting(&mut tx, key, value).await?;
        }
        tx.commit().await.map_err(db_err)
    }

    async fn claim_webhook_deliveries(&self, now: DateTime<Utc>, lease_until: DateTime<Utc>, limit: u32) -> StoreResult<Vec<WebhookDelivery>> {
        // As `claim_recipients`: one statement whose picked rows are locked as they are
        // picked, skipping those another claimer holds.
        let rows = sqlx::query(
            "WITH picked AS ( \
                 SELECT id FROM webhook_deliveries \
                 WHERE (status = 'pending' AND (next_attempt_at IS NULL OR next_attempt_at <= $1)) \
                 OR (status = 'sending' AND lease_until < $1) \
                 ORDER BY event_seq, id LIMIT $3 \
                 FOR UPDATE SKIP LOCKED \
             ) \
             UPDATE webhook_deliveries d SET status = 'sending', lease_until = $2, updated_at = $4 \
             FROM picked WHERE d.id = picked.id \
             RETURNING d.*",
        )
        .bind(trunc(now))
        .bind(trunc(lease_until))
        .bind(i64::from(limit))
        .bind(trunc(Utc::now()))
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        let mut claimed = Vec::with_capacity(rows.len());
        for row in &rows {
            claimed.push((col::<i64>(row, "event_seq")?, codec::webhook_delivery(row)?));
        }
        claimed.sort_by_key(|(seq, d)| (*seq, d.id));
        Ok(claimed.into_iter().map(|(_, d)| d).collect())
    }

    async fn record_webhook_attempt(
        &self,
        id: WebhookDeliveryId,
        attempt: &WebhookAttempt,
        status: WebhookDeliveryStatus,
        next_attempt_at: Option<DateTime<Utc>>,
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        let done = sqlx::query(
            "UPDATE webhook_deliveries SET status = $1, attempts = $2, next_attempt_at = $3, lease_until = NULL, updated_at = $4 \
             WHERE id = $5",
        )
        .bind(status.as_str())
        .bind(i64::from(attempt.attempt))
        .bind(next_attempt_at.map(trunc))
        .bind(trunc(Utc::now()))
        .bind(id.as_uuid())
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("webhook delivery {id}")));
        }
        sqlx::query(
            "INSERT INTO webhook_attempts (delivery_id, attempt, at, status_code, latency_ms, error) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(id.as_uuid())
        .bind(i64::from(attempt.attempt))
        .bind(trunc(attempt.at))
        .bind(attempt.status_code.map(i32::from))
        .bind(signed::<i64, _>(attempt.latency_ms, "attempt latency")?)
        .bind(&attempt.error)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        tx.commit().await.map_err(db_err)
    }

    async fn list_webhook_deliveries(&self, endpoint: WebhookId, before: Option<WebhookDeliveryId>, limit: u32) -> StoreResult<Vec<WebhookDelivery>> {
        let mut q = QueryBuilder::<Postgres>::new("SELECT * FROM webhook_deliveries WHERE endpoint_id = ");
        q.push_bind(endpoint.as_uuid());
        if let Some(before) = before {
            q.push(" AND id < ").push_bind(before.as_uuid());
        }
        q.push(" ORDER BY id DESC LIMIT ").push_bind(i64::from(limit));
        let rows = q.build().fetch_all(&self.pool).await.map_err(db_err)?;
        let mut deliveries = rows.iter().map(codec::webhook_delivery).collect::<StoreResult<Vec<_>>>()?;
        self.with_history(&mut deliveries).await?;
        Ok(deliveries)
    }

    async fn fail_pending_webhook_deliveries(&self, endpoint: WebhookId) -> StoreResult<u64> {
        let done = sqlx::query(
            "UPDATE webhook_deliveries SET status = 'failed', next_attempt_at = NULL, updated_at = $1 \
             WHERE endpoint_id = $2 AND status = 'pending'",
        )
        .bind(trunc(Utc::now()))
        .bind(endpoint.as_uuid())
        .execute(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(done.rows_affected())
    }

    async fn requeue_webhook_deliveries(&self, ids: &[WebhookDeliveryId]) -> StoreResult<u64> {
        if ids.is_empty() {
            return Ok(0);
        }
        let uuids: Vec<uuid::Uuid> = ids.iter().map(|i| i.as_uuid()).collect();
        let now = trunc(Utc::now());
        let done = sqlx::query(
            "UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = $1, lease_until = NULL, updated_at = $1 \
             WHERE status <> 'sending' AND id = ANY($2)",
        )
        .bind(now)
        .bind(&uuids)
        .execute(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(done.rows_affected())
    }

    async fn webhook_backlog(&self) -> StoreResult<u64> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM webhook_deliveries WHERE status IN ('pending', 'sending')")
            .fetch_one(&self.pool)
            .await
            .map_err(db_err)?;
        let n: i64 = col(&row, "n")?;
        Ok(n.max(0) as u64)
    }
}
