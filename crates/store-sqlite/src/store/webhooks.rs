//! SQLite: webhook endpoints and their leased deliveries.

#[allow(unused_imports)]
use super::*;

#[async_trait]
impl WebhookStore for SqliteStore {
    async fn create_webhook(&self, endpoint: &WebhookEndpoint) -> StoreResult<()> {
        let endpoint = endpoint.to_owned();
        self.write(move |tx| {
            let endpoint = &endpoint;
            let e = endpoint;
            query(
                "INSERT INTO webhook_endpoints (id, site_id, url, event_types, mailbox_id, description, enabled, disabled_reason, \
                 failing_since, secret_encrypted, previous_secret_encrypted, previous_secret_expires_at, created_at, updated_at) \
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(e.id.as_uuid())
            .bind(e.site_id.as_uuid())
            .bind(&e.url)
            .bind(to_json(&e.event_types)?)
            .bind(e.mailbox_id.map(|m| m.as_uuid()))
            .bind(&e.description)
            .bind(e.enabled)
            .bind(&e.disabled_reason)
            .bind(e.failing_since.map(ts))
            .bind(&e.secret_encrypted)
            .bind(&e.previous_secret_encrypted)
            .bind(e.previous_secret_expires_at.map(ts))
            .bind(ts(e.created_at))
            .bind(ts(e.updated_at))
            .execute(tx)
            .map_err(db_err)?;
            Ok(())
        })
        .await
    }

    async fn get_webhook(&self, id: WebhookId) -> StoreResult<Option<WebhookEndpoint>> {
        self.read(move |conn| {
            let row = query("SELECT * FROM webhook_endpoints WHERE id = ?").bind(id.as_uuid()).fetch_optional(conn).map_err(db_err)?;
            row.as_ref().map(codec::webhook_endpoint).transpose()
        })
        .await
    }

    async fn list_webhooks(&self, site: Option<SiteId>) -> StoreResult<Vec<WebhookEndpoint>> {
        self.read(move |conn| {
            let rows = match site {
                Some(site) => {
                    query("SELECT * FROM webhook_endpoints WHERE site_id = ? ORDER BY created_at, id").bind(site.as_uuid()).fetch_all(conn)
                }
                None => query("SELECT * FROM webhook_endpoints ORDER BY created_at, id").fetch_all(conn),
            }
            .map_err(db_err)?;
            rows.iter().map(codec::webhook_endpoint).collect()
        })
        .await
    }

    async fn update_webhook(&self, endpoint: &WebhookEndpoint, events: &[NewEvent]) -> StoreResult<()> {
        let endpoint = endpoint.to_owned();
        let events = events.to_owned();
        self.write(move |tx| {
            let endpoint = &endpoint;
            let events = &events;
            let e = endpoint;
            let done = query(
                "UPDATE webhook_endpoints SET url = ?, event_types = ?, mailbox_id = ?, description = ?, enabled = ?, \
                 disabled_reason = ?, failing_since = ?, secret_encrypted = ?, previous_secret_encrypted = ?, \
                 previous_secret_expires_at = ?, updated_at = ? WHERE id = ?",
            )
            .bind(&e.url)
            .bind(to_json(&e.event_types)?)
            .bind(e.mailbox_id.map(|m| m.as_uuid()))
            .bind(&e.description)
            .bind(e.enabled)
            .bind(&e.disabled_reason)
            .bind(e.failing_since.map(ts))
            .bind(&e.secret_encrypted)
            .bind(&e.previous_secret_encrypted)
            .bind(e.previous_secret_expires_at.map(ts))
            .bind(ts(e.updated_at))
            .bind(e.id.as_uuid())
            .execute(tx)
            .map_err(db_err)?;
            if done.rows_affected() == 0 {
                return Err(StoreError::NotFound(format!("webhook endpoint {}", e.id)));
            }
            append(tx, events)?;
            Ok(())
        })
        .await
    }

    async fn delete_webhook(&self, id: WebhookId) -> StoreResult<bool> {
        self.write(move |tx| {
            let done = query("DELETE FROM webhook_endpoints WHERE id = ?").bind(id.as_uuid()).execute(tx).map_err(db_err)?;
            Ok(done.rows_affected() > 0)
        })
        .await
    }

    async fn create_webhook_deliveries(&self, deliveries: &[WebhookDelivery], cursor: Option<(&str, &str)>) -> StoreResult<()> {
        if deliveries.is_empty() && cursor.is_none() {
            return Ok(());
        }
        let deliveries = deliveries.to_owned();
        let cursor = cursor.map(|(k, v)| (k.to_owned(), v.to_owned()));
        self.write(move |tx| {
            let deliveries = &deliveries;
            for d in deliveries {
                query(
                    "INSERT INTO webhook_deliveries (id, endpoint_id, site_id, event_id, event_cursor, event_seq, event_type, status, \
                     attempts, next_attempt_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) \
                     ON CONFLICT (endpoint_id, event_id) DO NOTHING",
                )
                .bind(d.id.as_uuid())
                .bind(d.endpoint_id.as_uuid())
                .bind(d.site_id.as_uuid())
                .bind(d.event_id.as_uuid())
                .bind(&d.event_cursor)
                .bind(event_seq(&d.event_cursor))
                .bind(&d.event_type)
                .bind(d.status.as_str())
                .bind(i64::from(d.attempts))
                .bind(d.next_attempt_at.map(|t| ts(trunc(t))))
                .bind(ts(d.created_at))
                .bind(ts(d.updated_at))
                .execute(tx)
                .map_err(db_err)?;
            }
            if let Some((key, value)) = &cursor {
                upsert_setting(tx, key, value)?;
            }
            Ok(())
        })
        .await
    }

    async fn claim_webhook_deliveries(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<WebhookDelivery>> {
        self.write(move |tx| {
            // One writer at a time: whatever this transaction reads stays unclaimed by others
            // until it commits.
            let rows = query(
                "SELECT * FROM webhook_deliveries \
                 WHERE (status = 'pending' AND (next_attempt_at IS NULL OR next_attempt_at <= ?1)) \
                 OR (status = 'sending' AND lease_until < ?1) \
                 ORDER BY event_seq, id LIMIT ?2",
            )
            .bind(ts(trunc(now)))
            .bind(i64::from(limit))
            .fetch_all(tx)
            .map_err(db_err)?;
            let mut claimed = rows.iter().map(codec::webhook_delivery).collect::<StoreResult<Vec<_>>>()?;
            let stamp = trunc(Utc::now());
            for chunk in claimed.chunks(CHUNK) {
                let mut q = QueryBuilder::new("UPDATE webhook_deliveries SET status = 'sending', lease_until = ");
                q.push_bind(ts(trunc(lease_until))).push(", updated_at = ").push_bind(ts(stamp)).push(" WHERE id IN (");
                let mut list = q.separated(", ");
                for d in chunk {
                    list.push_bind(d.id.as_uuid());
                }
                q.push(")");
                q.build().execute(tx).map_err(db_err)?;
            }
            for d in &mut claimed {
                d.status = WebhookDeliveryStatus::Sending;
                d.updated_at = stamp;
            }
            Ok(claimed)
        })
        .await
    }

    async fn record_webhook_attempt(
        &self,
        id: WebhookDeliveryId,
        attempt: &WebhookAttempt,
        status: WebhookDeliveryStatus,
        next_attempt_at: Option<DateTime<Utc>>,
    ) -> StoreResult<()> {
        let attempt = attempt.to_owned();
        self.write(move |tx| {
            let attempt = &attempt;
            let done = query(
                "UPDATE webhook_deliveries SET status = ?, attempts = ?, next_attempt_at = ?, lease_until = NULL, updated_at = ? \
                 WHERE id = ?",
            )
            .bind(status.as_str())
            .bind(i64::from(attempt.attempt))
            .bind(next_attempt_at.map(|t| ts(trunc(t))))
            .bind(ts(Utc::now()))
            .bind(id.as_uuid())
            .execute(tx)
            .map_err(db_err)?;
            if done.rows_affected() == 0 {
                return Err(StoreError::NotFound(format!("webhook delivery {id}")));
            }
            query("INSERT INTO webhook_attempts (delivery_id, attempt, at, status_code, latency_ms, error) VALUES (?, ?, ?, ?, ?, ?)")
                .bind(id.as_uuid())
                .bind(i64::from(attempt.attempt))
                .bind(ts(attempt.at))
                .bind(attempt.status_code.map(i64::from))
                .bind(signed(attempt.latency_ms, "attempt latency")?)
                .bind(&attempt.error)
                .execute(tx)
                .map_err(db_err)?;
            Ok(())
        })
        .await
    }

    async fn list_webhook_deliveries(
        &self,
        endpoint: WebhookId,
        before: Option<WebhookDeliveryId>,
        limit: u32,
    ) -> StoreResult<Vec<WebhookDelivery>> {
        self.read(move |conn| {
            let mut q = QueryBuilder::new("SELECT * FROM webhook_deliveries WHERE endpoint_id = ");
            q.push_bind(endpoint.as_uuid());
            if let Some(before) = before {
                q.push(" AND id < ").push_bind(before.as_uuid());
            }
            q.push(" ORDER BY id DESC LIMIT ").push_bind(i64::from(limit));
            let rows = q.build().fetch_all(conn).map_err(db_err)?;
            let mut deliveries = rows.iter().map(codec::webhook_delivery).collect::<StoreResult<Vec<_>>>()?;
            with_history(conn, &mut deliveries)?;
            Ok(deliveries)
        })
        .await
    }

    async fn fail_pending_webhook_deliveries(&self, endpoint: WebhookId) -> StoreResult<u64> {
        self.write(move |tx| {
            let done = query(
                "UPDATE webhook_deliveries SET status = 'failed', next_attempt_at = NULL, updated_at = ? \
                 WHERE endpoint_id = ? AND status = 'pending'",
            )
            .bind(ts(Utc::now()))
            .bind(endpoint.as_uuid())
            .execute(tx)
            .map_err(db_err)?;
            Ok(done.rows_affected())
        })
        .await
    }

    async fn requeue_webhook_deliveries(&self, ids: &[WebhookDeliveryId]) -> StoreResult<u64> {
        let ids = ids.to_owned();
        self.write(move |tx| {
            let ids = &ids;
            if ids.is_empty() {
                return Ok(0);
            }
            let mut total = 0;
            for chunk in ids.chunks(500) {
                let mut q = QueryBuilder::new("UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = ");
                q.push_bind(ts(Utc::now())).push(", lease_until = NULL, updated_at = ").push_bind(ts(Utc::now()));
                q.push(" WHERE status <> 'sending' AND id IN (");
                let mut sep = q.separated(", ");
                for id in chunk {
                    sep.push_bind(id.as_uuid());
                }
                q.push(")");
                total += q.build().execute(tx).map_err(db_err)?.rows_affected();
            }
            Ok(total)
        })
        .await
    }

    async fn webhook_backlog(&self) -> StoreResult<u64> {
        self.read_long(move |conn| {
            let row = query("SELECT COUNT(*) AS n FROM webhook_deliveries WHERE status IN ('pending', 'sending')")
                .fetch_one(conn)
                .map_err(db_err)?;
            codec::unsigned(&row, "n")
        })
        .await
    }
}
