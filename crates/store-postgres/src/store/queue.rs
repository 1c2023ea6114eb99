//! PostgreSQL: outbound recipients: the durable delivery queue.

#[allow(unused_imports)]
use super::*;

#[async_trait]
impl QueueStore for PgStore {
    async fn update_recipient(
        &self,
        message: MessageId,
        address: &EmailAddress,
        update: &RecipientUpdate,
        events: &[NewEvent],
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        let done = sqlx::query(
            "UPDATE message_recipients SET status = $1, last_reply = $2, attempts = $3, next_attempt_at = $4, updated_at = $5, \
             lease_until = NULL WHERE message_id = $6 AND address = $7",
        )
        .bind(update.status.as_str())
        .bind(&update.last_reply)
        .bind(i64::from(update.attempts))
        .bind(update.next_attempt_at.map(trunc))
        .bind(trunc(Utc::now()))
        .bind(message.as_uuid())
        .bind(address.as_str())
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("recipient {address} of message {message}")));
        }
        let appended = append(&mut tx, events).await?;
        tx.commit().await.map_err(db_err)?;
        self.notify_if(appended).await;
        Ok(())
    }

    async fn due_recipients(&self, now: DateTime<Utc>, limit: u32) -> StoreResult<Vec<PendingRecipient>> {
        let rows = sqlx::query(
            "SELECT r.*, m.site_id FROM message_recipients r JOIN messages m ON m.id = r.message_id \
             WHERE r.status IN ('queued', 'deferred') AND (r.next_attempt_at IS NULL OR r.next_attempt_at <= $1) \
             ORDER BY m.created_at, m.id, r.position LIMIT $2",
        )
        .bind(trunc(now))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.iter().map(codec::pending).collect()
    }

    async fn claim_recipients(&self, now: DateTime<Utc>, lease_until: DateTime<Utc>, limit: u32) -> StoreResult<Vec<PendingRecipient>> {
        // One statement: the rows picked are locked as they are picked, and those another
        // claimer holds are skipped (SKIP LOCKED), so no two claimers take the same row and
        // none waits for another. A row changed since the statement's snapshot is re-checked
        // against the conditions once locked.
        let rows = sqlx::query(
            "WITH picked AS ( \
                 SELECT r.message_id, r.address FROM message_recipients r JOIN messages m ON m.id = r.message_id \
                 WHERE (r.status IN ('queued', 'deferred') AND (r.next_attempt_at IS NULL OR r.next_attempt_at <= $1)) \
                 OR (r.status = 'sending' AND r.lease_until < $1) \
                 ORDER BY m.created_at, m.id, r.position LIMIT $3 \
                 FOR UPDATE OF r SKIP LOCKED \
             ), claimed AS ( \
                 UPDATE message_recipients r SET status = 'sending', lease_until = $2, updated_at = $4 \
                 FROM picked WHERE r.message_id = picked.message_id AND r.address = picked.address \
                 RETURNING r.* \
             ) \
             SELECT c.*, m.site_id FROM claimed c JOIN messages m ON m.id = c.message_id \
             ORDER BY m.created_at, m.id, c.position",
        )
        .bind(trunc(now))
        .bind(trunc(lease_until))
        .bind(i64::from(limit))
        .bind(trunc(Utc::now()))
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.iter().map(codec::pending).collect()
    }

    async fn list_queue(&self, site: Option<SiteId>, statuses: &[DeliveryStatus], limit: u32) -> StoreResult<Vec<PendingRecipient>> {
        let mut q = QueryBuilder::<Postgres>::new(
            "SELECT r.*, m.site_id FROM message_recipients r JOIN messages m ON m.id = r.message_id WHERE TRUE",
        );
        if let Some(site) = site {
            q.push(" AND m.site_id = ").push_bind(site.as_uuid());
        }
        if !statuses.is_empty() {
            let names: Vec<&'static str> = statuses.iter().map(|s| s.as_str()).collect();
            q.push(" AND r.status = ANY(").push_bind(names).push(")");
        }
        q.push(" ORDER BY m.created_at, m.id, r.position LIMIT ").push_bind(i64::from(limit));
        let rows = q.build().fetch_all(&self.pool).await.map_err(db_err)?;
        rows.iter().map(codec::pending).collect()
    }

    async fn queue_backlog(&self) -> StoreResult<QueueBacklog> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n, MIN(m.created_at) AS oldest FROM message_recipients r \
             JOIN messages m ON m.id = r.message_id WHERE r.status IN ('queued', 'sending', 'deferred')",
        )
        .fetch_one(&self.pool)
        .await
        .map_err(db_err)?;
        let waiting: i64 = col(&row, "n")?;
        Ok(QueueBacklog { waiting: waiting.max(0) as u64, oldest: col(&row, "oldest")? })
    }
}
