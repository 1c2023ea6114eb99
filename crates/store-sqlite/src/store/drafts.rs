//! SQLite: drafts, scheduled sends and approvals.

#[allow(unused_imports)]
use super::*;
use mailroom_core::drafts::*;

fn draft(row: &SqliteRow) -> StoreResult<Draft> {
    let mut d: Draft = json(row, "doc")?;
    d.version = unsigned(row, "version")?;
    d.status = parsed(row, "status")?;
    Ok(d)
}

fn doc(d: &Draft) -> StoreResult<String> {
    to_json(d)
}

/// A draft written as `sending` is leased for a minute (the node sending it holds it; after
/// a crash another node claims it again); any other write frees the lease.
fn sending_lease(d: &Draft) -> Option<DateTime<Utc>> {
    (d.status == DraftStatus::Sending).then(|| Utc::now() + chrono::Duration::seconds(60))
}

#[async_trait]
impl DraftStore for SqliteStore {
    async fn insert_draft(&self, d: &Draft, events: &[NewEvent]) -> StoreResult<()> {
        let d = d.clone();
        let events = events.to_vec();
        self.write(move |tx| {
            query(
                "INSERT INTO drafts (id, site_id, mailbox_id, status, send_at, lease_until, message_id, approval_id, approval_status, \
                 requested_at, version, created_at, doc) VALUES (?, ?, ?, ?, ?, NULL, ?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(d.id.as_uuid())
            .bind(d.site_id.as_uuid())
            .bind(d.mailbox_id.as_uuid())
            .bind(d.status.as_str())
            .bind(d.send_at.map(|t| ts(trunc(t))))
            .bind(d.message_id.as_uuid())
            .bind(d.approval.as_ref().map(|a| a.id.as_uuid()))
            .bind(d.approval.as_ref().map(|a| a.status.as_str()))
            .bind(d.approval.as_ref().map(|a| ts(trunc(a.requested_at))))
            .bind(i64::from(d.version))
            .bind(ts(trunc(d.created_at)))
            .bind(doc(&d)?)
            .execute(tx)
            .map_err(db_err)?;
            append(tx, &events)?;
            Ok(())
        })
        .await
    }

    async fn update_draft(&self, d: &Draft, expected_version: u32, events: &[NewEvent]) -> StoreResult<bool> {
        let d = d.clone();
        let events = events.to_vec();
        self.write(move |tx| {
            // A changed status or due time frees the lease; the scheduler's own writes keep
            // none either (it holds the draft only while it sends).
            let done = query(
                "UPDATE drafts SET status = ?, send_at = ?, lease_until = ?, approval_id = ?, approval_status = ?, requested_at = ?, \
                 version = ?, doc = ? WHERE id = ? AND version = ?",
            )
            .bind(d.status.as_str())
            .bind(d.send_at.map(|t| ts(trunc(t))))
            .bind(sending_lease(&d).map(|t| ts(trunc(t))))
            .bind(d.approval.as_ref().map(|a| a.id.as_uuid()))
            .bind(d.approval.as_ref().map(|a| a.status.as_str()))
            .bind(d.approval.as_ref().map(|a| ts(trunc(a.requested_at))))
            .bind(i64::from(d.version))
            .bind(doc(&d)?)
            .bind(d.id.as_uuid())
            .bind(i64::from(expected_version))
            .execute(tx)
            .map_err(db_err)?;
            if done.rows_affected() == 0 {
                return Ok(false);
            }
            append(tx, &events)?;
            Ok(true)
        })
        .await
    }

    async fn delete_draft(&self, id: DraftId, events: &[NewEvent]) -> StoreResult<bool> {
        let events = events.to_vec();
        self.write(move |tx| {
            let done = query("DELETE FROM drafts WHERE id = ?").bind(id.as_uuid()).execute(tx).map_err(db_err)?;
            if done.rows_affected() == 0 {
                return Ok(false);
            }
            append(tx, &events)?;
            Ok(true)
        })
        .await
    }

    async fn get_draft(&self, id: DraftId) -> StoreResult<Option<Draft>> {
        self.read(move |conn| {
            query("SELECT status, version, doc FROM drafts WHERE id = ?").bind(id.as_uuid()).fetch_optional(conn).map_err(db_err)?.map(|r| draft(&r)).transpose()
        })
        .await
    }

    async fn get_draft_by_message(&self, message: MessageId) -> StoreResult<Option<Draft>> {
        self.read(move |conn| {
            query("SELECT status, version, doc FROM drafts WHERE message_id = ?")
                .bind(message.as_uuid())
                .fetch_optional(conn)
                .map_err(db_err)?
                .map(|r| draft(&r))
                .transpose()
        })
        .await
    }

    async fn get_draft_by_approval(&self, approval: ApprovalId) -> StoreResult<Option<Draft>> {
        self.read(move |conn| {
            query("SELECT status, version, doc FROM drafts WHERE approval_id = ?")
                .bind(approval.as_uuid())
                .fetch_optional(conn)
                .map_err(db_err)?
                .map(|r| draft(&r))
                .transpose()
        })
        .await
    }

    async fn list_drafts(&self, site: SiteId, filter: &DraftFilter) -> StoreResult<Vec<Draft>> {
        let filter = filter.clone();
        self.read(move |conn| {
            let mut q = QueryBuilder::new("SELECT status, version, doc FROM drafts WHERE site_id = ");
            q.push_bind(site.as_uuid());
            if let Some(mb) = filter.mailbox {
                q.push(" AND mailbox_id = ").push_bind(mb.as_uuid());
            }
            if !filter.statuses.is_empty() {
                q.push(" AND status IN (");
                let mut sep = q.separated(", ");
                for s in &filter.statuses {
                    sep.push_bind(s.as_str());
                }
                q.push(")");
            }
            if let Some(before) = filter.before {
                q.push(" AND id < ").push_bind(before.as_uuid());
            }
            q.push(" ORDER BY id DESC LIMIT ").push_bind(i64::from(filter.limit));
            let rows = q.build().fetch_all(conn).map_err(db_err)?;
            rows.iter().map(draft).collect()
        })
        .await
    }

    async fn list_approval_drafts(&self, site: SiteId, status: Option<ApprovalStatus>, limit: u32) -> StoreResult<Vec<Draft>> {
        self.read(move |conn| {
            let mut q = QueryBuilder::new("SELECT status, version, doc FROM drafts WHERE approval_id IS NOT NULL AND site_id = ");
            q.push_bind(site.as_uuid());
            if let Some(s) = status {
                q.push(" AND approval_status = ").push_bind(s.as_str());
            }
            q.push(
                " ORDER BY CASE WHEN approval_status = 'pending' THEN 0 ELSE 1 END, \
                 CASE WHEN approval_status = 'pending' THEN requested_at END ASC, requested_at DESC, id DESC LIMIT ",
            )
            .push_bind(i64::from(limit));
            let rows = q.build().fetch_all(conn).map_err(db_err)?;
            rows.iter().map(draft).collect()
        })
        .await
    }

    async fn claim_due_drafts(&self, now: DateTime<Utc>, lease_until: DateTime<Utc>, limit: u32) -> StoreResult<Vec<Draft>> {
        self.write(move |tx| {
            // One writer at a time: what this transaction reads stays unclaimed by others
            // until it commits.
            let rows = query(
                "SELECT id, status, version, doc FROM drafts WHERE (status = 'scheduled' AND send_at <= ?1 \
                 AND (lease_until IS NULL OR lease_until < ?1)) OR (status = 'sending' AND lease_until < ?1) ORDER BY send_at, id LIMIT ?2",
            )
            .bind(ts(trunc(now)))
            .bind(i64::from(limit))
            .fetch_all(tx)
            .map_err(db_err)?;
            let mut out = Vec::with_capacity(rows.len());
            for r in &rows {
                let mut d = draft(r)?;
                d.status = DraftStatus::Sending;
                d.version += 1;
                query("UPDATE drafts SET status = 'sending', lease_until = ?, version = ? WHERE id = ?")
                    .bind(ts(trunc(lease_until)))
                    .bind(i64::from(d.version))
                    .bind(d.id.as_uuid())
                    .execute(tx)
                    .map_err(db_err)?;
                out.push(d);
            }
            Ok(out)
        })
        .await
    }

    async fn next_draft_due(&self) -> StoreResult<Option<DateTime<Utc>>> {
        self.read(move |conn| {
            let row = query("SELECT MIN(CASE WHEN status = 'scheduled' THEN send_at ELSE lease_until END) AS due FROM drafts \
                 WHERE status IN ('scheduled', 'sending')").fetch_one(conn).map_err(db_err)?;
            opt_time(&row, "due")
        })
        .await
    }

    async fn site_has_mailed(&self, site: SiteId, address: &str) -> StoreResult<bool> {
        let address = address.to_lowercase();
        self.read_long(move |conn| {
            let row = query(
                "SELECT 1 AS hit FROM message_recipients r JOIN messages m ON m.id = r.message_id \
                 WHERE m.site_id = ? AND m.direction = 'outbound' AND lower(r.address) = ? LIMIT 1",
            )
            .bind(site.as_uuid())
            .bind(&address)
            .fetch_optional(conn)
            .map_err(db_err)?;
            Ok(row.is_some())
        })
        .await
    }
}
