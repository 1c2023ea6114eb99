//! PostgreSQL: drafts, scheduled sends and approvals.

#[allow(unused_imports)]
use super::*;
use mailroom_core::drafts::*;

fn draft(row: &PgRow) -> StoreResult<Draft> {
    let text: String = col(row, "doc")?;
    let mut d: Draft = serde_json::from_str(&text).map_err(|e| StoreError::Corrupt(format!("column `doc`: {e}")))?;
    d.version = unsigned(row, "version")?;
    d.status = parsed(row, "status")?;
    Ok(d)
}

fn doc(d: &Draft) -> StoreResult<String> {
    serde_json::to_string(d).map_err(|e| StoreError::Corrupt(format!("cannot encode JSON: {e}")))
}

/// A draft written as `sending` is leased for a minute (the node sending it holds it; after
/// a crash another node claims it again); any other write frees the lease.
fn sending_lease(d: &Draft) -> Option<DateTime<Utc>> {
    (d.status == DraftStatus::Sending).then(|| Utc::now() + chrono::Duration::seconds(60))
}

#[async_trait]
impl DraftStore for PgStore {
    async fn insert_draft(&self, d: &Draft, events: &[NewEvent]) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        sqlx::query(
            "INSERT INTO drafts (id, site_id, mailbox_id, status, send_at, lease_until, message_id, approval_id, approval_status, \
             requested_at, version, created_at, doc) VALUES ($1, $2, $3, $4, $5, NULL, $6, $7, $8, $9, $10, $11, $12)",
        )
        .bind(d.id.as_uuid())
        .bind(d.site_id.as_uuid())
        .bind(d.mailbox_id.as_uuid())
        .bind(d.status.as_str())
        .bind(d.send_at.map(trunc))
        .bind(d.message_id.as_uuid())
        .bind(d.approval.as_ref().map(|a| a.id.as_uuid()))
        .bind(d.approval.as_ref().map(|a| a.status.as_str()))
        .bind(d.approval.as_ref().map(|a| trunc(a.requested_at)))
        .bind(i64::from(d.version))
        .bind(trunc(d.created_at))
        .bind(doc(d)?)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        let appended = append(&mut tx, events).await?;
        tx.commit().await.map_err(db_err)?;
        self.notify_if(appended).await;
        Ok(())
    }

    async fn update_draft(&self, d: &Draft, expected_version: u32, events: &[NewEvent]) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        let done = sqlx::query(
            "UPDATE drafts SET status = $1, send_at = $2, lease_until = $10, approval_id = $3, approval_status = $4, requested_at = $5, \
             version = $6, doc = $7 WHERE id = $8 AND version = $9",
        )
        .bind(d.status.as_str())
        .bind(d.send_at.map(trunc))
        .bind(d.approval.as_ref().map(|a| a.id.as_uuid()))
        .bind(d.approval.as_ref().map(|a| a.status.as_str()))
        .bind(d.approval.as_ref().map(|a| trunc(a.requested_at)))
        .bind(i64::from(d.version))
        .bind(doc(d)?)
        .bind(d.id.as_uuid())
        .bind(i64::from(expected_version))
        .bind(sending_lease(d).map(trunc))
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        let appended = append(&mut tx, events).await?;
        tx.commit().await.map_err(db_err)?;
        self.notify_if(appended).await;
        Ok(true)
    }

    async fn delete_draft(&self, id: DraftId, events: &[NewEvent]) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        let done = sqlx::query("DELETE FROM drafts WHERE id = $1").bind(id.as_uuid()).execute(&mut *tx).await.map_err(db_err)?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        let appended = append(&mut tx, events).await?;
        tx.commit().await.map_err(db_err)?;
        self.notify_if(appended).await;
        Ok(true)
    }

    async fn get_draft(&self, id: DraftId) -> StoreResult<Option<Draft>> {
        let row = sqlx::query("SELECT status, version, doc FROM drafts WHERE id = $1").bind(id.as_uuid()).fetch_optional(&self.pool).await.map_err(db_err)?;
        row.map(|r| draft(&r)).transpose()
    }

    async fn get_draft_by_message(&self, message: MessageId) -> StoreResult<Option<Draft>> {
        let row = sqlx::query("SELECT status, version, doc FROM drafts WHERE message_id = $1")
            .bind(message.as_uuid())
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?;
        row.map(|r| draft(&r)).transpose()
    }

    async fn get_draft_by_approval(&self, approval: ApprovalId) -> StoreResult<Option<Draft>> {
        let row = sqlx::query("SELECT status, version, doc FROM drafts WHERE approval_id = $1")
            .bind(approval.as_uuid())
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?;
        row.map(|r| draft(&r)).transpose()
    }

    async fn list_drafts(&self, site: SiteId, filter: &DraftFilter) -> StoreResult<Vec<Draft>> {
        let mut q = QueryBuilder::<Postgres>::new("SELECT status, version, doc FROM drafts WHERE site_id = ");
        q.push_bind(site.as_uuid());
        if let Some(mb) = filter.mailbox {
            q.push(" AND mailbox_id = ").push_bind(mb.as_uuid());
        }
        if !filter.statuses.is_empty() {
            let names: Vec<&'static str> = filter.statuses.iter().map(|s| s.as_str()).collect();
            q.push(" AND status = ANY(").push_bind(names).push(")");
        }
        if let Some(before) = filter.before {
            q.push(" AND id < ").push_bind(before.as_uuid());
        }
        q.push(" ORDER BY id DESC LIMIT ").push_bind(i64::from(filter.limit));
        let rows = q.build().fetch_all(&self.pool).await.map_err(db_err)?;
        rows.iter().map(draft).collect()
    }

    async fn list_approval_drafts(&self, site: SiteId, status: Option<ApprovalStatus>, limit: u32) -> StoreResult<Vec<Draft>> {
        let mut q = QueryBuilder::<Postgres>::new("SELECT status, version, doc FROM drafts WHERE approval_id IS NOT NULL AND site_id = ");
        q.push_bind(site.as_uuid());
        if let Some(s) = status {
            q.push(" AND approval_status = ").push_bind(s.as_str());
        }
        q.push(
            " ORDER BY CASE WHEN approval_status = 'pending' THEN 0 ELSE 1 END, \
             CASE WHEN approval_status = 'pending' THEN requested_at END ASC, requested_at DESC, id DESC LIMIT ",
        )
        .push_bind(i64::from(limit));
        let rows = q.build().fetch_all(&self.pool).await.map_err(db_err)?;
        rows.iter().map(draft).collect()
    }

    async fn claim_due_drafts(&self, now: DateTime<Utc>, lease_until: DateTime<Utc>, limit: u32) -> StoreResult<Vec<Draft>> {
        // One statement: rows are locked as they are picked and those another claimer holds
        // are skipped, so no two nodes claim the same draft.
        let rows = sqlx::query(
            "WITH picked AS ( \
                 SELECT id FROM drafts WHERE (status = 'scheduled' AND send_at <= $1 AND (lease_until IS NULL OR lease_until < $1)) \
                 OR (status = 'sending' AND lease_until < $1) ORDER BY send_at, id LIMIT $3 FOR UPDATE SKIP LOCKED \
             ) \
             UPDATE drafts d SET status = 'sending', lease_until = $2, version = d.version + 1 FROM picked WHERE d.id = picked.id \
             RETURNING d.status, d.version, d.doc",
        )
        .bind(trunc(now))
        .bind(trunc(lease_until))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        let mut out = rows.iter().map(draft).collect::<StoreResult<Vec<_>>>()?;
        out.sort_by_key(|d| (d.send_at, d.id));
        Ok(out)
    }

    async fn next_draft_due(&self) -> StoreResult<Option<DateTime<Utc>>> {
        let row = sqlx::query("SELECT MIN(CASE WHEN status = 'scheduled' THEN send_at ELSE lease_until END) AS due FROM drafts \
             WHERE status IN ('scheduled', 'sending')").fetch_one(&self.pool).await.map_err(db_err)?;
        col(&row, "due")
    }

    async fn site_has_mailed(&self, site: SiteId, address: &str) -> StoreResult<bool> {
        let row = sqlx::query(
            "SELECT 1 AS hit FROM message_recipients r JOIN messages m ON m.id = r.message_id \
             WHERE m.site_id = $1 AND m.direction = 'outbound' AND lower(r.address) = $2 LIMIT 1",
        )
        .bind(site.as_uuid())
        .bind(address.to_lowercase())
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(row.is_some())
    }
}
