//! SQLite: the attachment-text queue and its results.

#[allow(unused_imports)]
use super::*;
use mailroom_core::reading::AttachmentText;

#[async_trait]
impl ReadingStore for SqliteStore {
    async fn queue_attachment_texts(&self, jobs: &[AttachmentTextJob], cursor: Option<(&str, &str)>) -> StoreResult<()> {
        if jobs.is_empty() && cursor.is_none() {
            return Ok(());
        }
        let jobs = jobs.to_owned();
        let cursor = cursor.map(|(k, v)| (k.to_owned(), v.to_owned()));
        self.write(move |tx| {
            let stamp = ts(trunc(Utc::now()));
            for j in &jobs {
                query(
                    "INSERT INTO attachment_texts (attachment_id, message_id, site_id, mailbox_id, status, attempts, updated_at) \
                     SELECT ?1, ?2, ?3, ?4, 'pending', 0, ?5 WHERE EXISTS (SELECT 1 FROM attachments WHERE id = ?1) \
                     ON CONFLICT (attachment_id) DO NOTHING",
                )
                .bind(j.attachment_id.as_uuid())
                .bind(j.message_id.as_uuid())
                .bind(j.site_id.as_uuid())
                .bind(j.mailbox_id.as_uuid())
                .bind(&stamp)
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

    async fn claim_attachment_texts(&self, now: DateTime<Utc>, lease_until: DateTime<Utc>, limit: u32) -> StoreResult<Vec<AttachmentTextJob>> {
        self.write(move |tx| {
            // One writer at a time: rows read here stay unclaimed by others until commit.
            let rows = query(
                "SELECT * FROM attachment_texts WHERE status = 'pending' \
                 AND (next_attempt_at IS NULL OR next_attempt_at <= ?1) AND (lease_until IS NULL OR lease_until < ?1) \
                 ORDER BY attachment_id LIMIT ?2",
            )
            .bind(ts(trunc(now)))
            .bind(i64::from(limit))
            .fetch_all(tx)
            .map_err(db_err)?;
            let claimed = rows.iter().map(codec::attachment_text_job).collect::<StoreResult<Vec<_>>>()?;
            for j in &claimed {
                query("UPDATE attachment_texts SET lease_until = ? WHERE attachment_id = ?")
                    .bind(ts(trunc(lease_until)))
                    .bind(j.attachment_id.as_uuid())
                    .execute(tx)
                    .map_err(db_err)?;
            }
            Ok(claimed)
        })
        .await
    }

    async fn record_attachment_text(&self, attachment: AttachmentId, update: &AttachmentTextUpdate, events: &[NewEvent]) -> StoreResult<()> {
        let (update, events) = (update.clone(), events.to_vec());
        self.write(move |tx| {
            let done = query(
                "UPDATE attachment_texts SET status = ?, text = ?, truncated = ?, error = ?, attempts = ?, next_attempt_at = ?, \
                 lease_until = NULL, updated_at = ? WHERE attachment_id = ?",
            )
            .bind(update.status.as_str())
            .bind(&update.text)
            .bind(update.truncated)
            .bind(&update.error)
            .bind(i64::from(update.attempts))
            .bind(update.next_attempt_at.map(|t| ts(trunc(t))))
            .bind(ts(trunc(Utc::now())))
            .bind(attachment.as_uuid())
            .execute(tx)
            .map_err(db_err)?;
            if done.rows_affected() == 0 {
                return Err(StoreError::NotFound(format!("attachment text {attachment}")));
            }
            append(tx, &events)?;
            Ok(())
        })
        .await
    }

    async fn get_attachment_texts(&self, ids: &[AttachmentId]) -> StoreResult<Vec<AttachmentText>> {
        let ids = ids.to_owned();
        self.read(move |conn| {
            let mut out = Vec::new();
            for chunk in ids.chunks(CHUNK) {
                let mut q = QueryBuilder::new("SELECT * FROM attachment_texts WHERE attachment_id IN (");
                let mut list = q.separated(", ");
                for id in chunk {
                    list.push_bind(id.as_uuid());
                }
                q.push(")");
                for row in q.build().fetch_all(conn).map_err(db_err)? {
                    out.push(codec::attachment_text(&row)?);
                }
            }
            Ok(out)
        })
        .await
    }
}
