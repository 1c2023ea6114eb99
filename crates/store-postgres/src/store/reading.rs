//! PostgreSQL: the attachment-text queue and its results.

#[allow(unused_imports)]
use super::*;
use mailroom_core::reading::AttachmentText;

#[async_trait]
impl ReadingStore for PgStore {
    async fn queue_attachment_texts(&self, jobs: &[AttachmentTextJob], cursor: Option<(&str, &str)>) -> StoreResult<()> {
        if jobs.is_empty() && cursor.is_none() {
            return Ok(());
        }
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        let stamp = trunc(Utc::now());
        for j in jobs {
            sqlx::query(
                "INSERT INTO attachment_texts (attachment_id, message_id, site_id, mailbox_id, status, attempts, updated_at) \
                 SELECT $1, $2, $3, $4, 'pending', 0, $5 WHERE EXISTS (SELECT 1 FROM attachments WHERE id = $1) \
                 ON CONFLICT (attachment_id) DO NOTHING",
            )
            .bind(j.attachment_id.as_uuid())
            .bind(j.message_id.as_uuid())
            .bind(j.site_id.as_uuid())
            .bind(j.mailbox_id.as_uuid())
            .bind(stamp)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        }
        if let Some((key, value)) = cursor {
            upsert_setting(&mut tx, key, value).await?;
        }
        tx.commit().await.map_err(db_err)
    }

    async fn claim_attachment_texts(&self, now: DateTime<Utc>, lease_until: DateTime<Utc>, limit: u32) -> StoreResult<Vec<AttachmentTextJob>> {
        let rows = sqlx::query(
            "WITH picked AS ( \
                 SELECT attachment_id FROM attachment_texts WHERE status = 'pending' \
                 AND (next_attempt_at IS NULL OR next_attempt_at <= $1) AND (lease_until IS NULL OR lease_until < $1) \
                 ORDER BY attachment_id LIMIT $3 FOR UPDATE SKIP LOCKED \
             ) \
             UPDATE attachment_texts t SET lease_until = $2 FROM picked WHERE t.attachment_id = picked.attachment_id \
             RETURNING t.*",
        )
        .bind(trunc(now))
        .bind(trunc(lease_until))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        let mut jobs = rows.iter().map(codec::attachment_text_job).collect::<StoreResult<Vec<_>>>()?;
        jobs.sort_by_key(|j| j.attachment_id);
        Ok(jobs)
    }

    async fn record_attachment_text(&self, attachment: AttachmentId, update: &AttachmentTextUpdate, events: &[NewEvent]) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        let done = sqlx::query(
            "UPDATE attachment_texts SET status = $1, text = $2, truncated = $3, error = $4, attempts = $5, next_attempt_at = $6, \
             lease_until = NULL, updated_at = $7 WHERE attachment_id = $8",
        )
        .bind(update.status.as_str())
        .bind(&update.text)
        .bind(update.truncated)
        .bind(&update.error)
        .bind(i64::from(update.attempts))
        .bind(update.next_attempt_at.map(trunc))
        .bind(trunc(Utc::now()))
        .bind(attachment.as_uuid())
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("attachment text {attachment}")));
        }
        let appended = append(&mut tx, events).await?;
        tx.commit().await.map_err(db_err)?;
        self.notify_if(appended).await;
        Ok(())
    }

    async fn get_attachment_texts(&self, ids: &[AttachmentId]) -> StoreResult<Vec<AttachmentText>> {
        let uuids: Vec<Uuid> = ids.iter().map(|i| i.as_uuid()).collect();
        let rows = sqlx::query("SELECT * FROM attachment_texts WHERE attachment_id = ANY($1)")
            .bind(&uuids)
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        rows.iter().map(codec::attachment_text).collect()
    }
}
