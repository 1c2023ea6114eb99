//! SQLite: outbound recipients: the durable delivery queue.

#[allow(unused_imports)]
use super::*;

#[async_trait]
impl QueueStore for SqliteStore {
    async fn update_recipient(
        &self,
        message: MessageId,
        address: &EmailAddress,
        update: &RecipientUpdate,
        events: &[NewEvent],
    ) -> StoreResult<()> {
        let address = address.to_owned();
        let update = update.to_owned();
        let events = events.to_owned();
        self.write(move |tx| {
            let address = &address;
            let update = &update;
            let events = &events;
            let done = query(
                "UPDATE message_recipients SET status = ?, last_reply = ?, attempts = ?, next_attempt_at = ?, updated_at = ?, \
                 lease_until = NULL WHERE message_id = ? AND address = ?",
            )
            .bind(update.status.as_str())
            .bind(&update.last_reply)
            .bind(i64::from(update.attempts))
            .bind(update.next_attempt_at.map(|t| ts(trunc(t))))
            .bind(ts(Utc::now()))
            .bind(message.as_uuid())
            .bind(address.as_str())
            .execute(tx)
            .map_err(db_err)?;
            if done.rows_affected() == 0 {
                return Err(StoreError::NotFound(format!("recipient {address} of message {message}")));
            }
            append(tx, events)?;
            Ok(())
        })
        .await
    }

    async fn due_recipients(&self, now: DateTime<Utc>, limit: u32) -> StoreResult<Vec<PendingRecipient>> {
        self.read_long(move |conn| {
            let rows = query(
                "SELECT r.*, m.site_id FROM message_recipients r JOIN messages m ON m.id = r.message_id \
                 WHERE r.status IN ('queued', 'deferred') AND (r.next_attempt_at IS NULL OR r.next_attempt_at <= ?) \
                 ORDER BY m.created_at, m.id, r.position LIMIT ?",
            )
            .bind(ts(trunc(now)))
            .bind(i64::from(limit))
            .fetch_all(conn)
            .map_err(db_err)?;
            rows.iter().map(codec::pending).collect()
        })
        .await
    }

    async fn claim_recipients(&self, now: DateTime<Utc>, lease_until: DateTime<Utc>, limit: u32) -> StoreResult<Vec<PendingRecipient>> {
        self.write(move |tx| {
            // One writer at a time: whatever this transaction reads stays unclaimed by others
            // until it commits.
            let rows = query(
                "SELECT r.*, m.site_id FROM message_recipients r JOIN messages m ON m.id = r.message_id \
                 WHERE (r.status IN ('queued', 'deferred') AND (r.next_attempt_at IS NULL OR r.next_attempt_at <= ?1)) \
                 OR (r.status = 'sending' AND r.lease_until < ?1) \
                 ORDER BY m.created_at, m.id, r.position LIMIT ?2",
            )
            .bind(ts(trunc(now)))
            .bind(i64::from(limit))
            .fetch_all(tx)
            .map_err(db_err)?;
            let mut claimed = rows.iter().map(codec::pending).collect::<StoreResult<Vec<_>>>()?;
            let stamp = trunc(Utc::now());
            for p in &mut claimed {
                query(
                    "UPDATE message_recipients SET status = 'sending', lease_until = ?, updated_at = ? WHERE message_id = ? AND address = ?",
                )
                .bind(ts(trunc(lease_until)))
                .bind(ts(stamp))
                .bind(p.message_id.as_uuid())
                .bind(p.recipient.address.as_str())
                .execute(tx)
                .map_err(db_err)?;
                p.recipient.status = DeliveryStatus::Sending;
                p.recipient.updated_at = stamp;
            }
                    Ok(claimed)
        })
        .await
    }

    async fn list_queue(&self, site: Option<SiteId>, statuses: &[DeliveryStatus], limit: u32) -> StoreResult<Vec<PendingRecipient>> {
        let statuses = statuses.to_owned();
        self.read(move |conn| {
            let statuses = &statuses;
            let mut q =
                QueryBuilder::new("SELECT r.*, m.site_id FROM message_recipients r JOIN messages m ON m.id = r.message_id WHERE 1 = 1");
            if let Some(site) = site {
                q.push(" AND m.site_id = ").push_bind(site.as_uuid());
            }
            if !statuses.is_empty() {
                q.push(" AND r.status IN (");
                let mut list = q.separated(", ");
                for s in statuses {
                    list.push_bind(s.as_str());
                }
                q.push(")");
            }
            q.push(" ORDER BY m.created_at, m.id, r.position LIMIT ").push_bind(i64::from(limit));
            let rows = q.build().fetch_all(conn).map_err(db_err)?;
            rows.iter().map(codec::pending).collect()
        })
        .await
    }

    async fn queue_backlog(&self) -> StoreResult<QueueBacklog> {
        self.read_long(move |conn| {
            let row = query(
                "SELECT COUNT(*) AS n, MIN(m.created_at) AS oldest FROM message_recipients r \
                 JOIN messages m ON m.id = r.message_id WHERE r.status IN ('queued', 'sending', 'deferred')",
            )
            .fetch_one(conn)
            .map_err(db_err)?;
            Ok(QueueBacklog { waiting: codec::unsigned(&row, "n")?, oldest: codec::opt_time(&row, "oldest")? })
        })
        .await
    }
}
