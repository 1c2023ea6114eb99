//! PostgreSQL: allow/block lists, applied delivery-status reports and message routes.

use crate::PgStore;
use crate::codec::*;
use async_trait::async_trait;
use mailroom_core::*;
use mailroom_store::{PolicyStore, StoreError, StoreResult};
use sqlx::postgres::PgRow;
use sqlx::{Postgres, QueryBuilder};

fn dsn_record(row: &PgRow) -> StoreResult<DsnRecord> {
    Ok(DsnRecord {
        site_id: id(row, "site_id")?,
        report_message_id: id(row, "report_message_id")?,
        original_message_id: id(row, "original_message_id")?,
        recipient: col(row, "recipient")?,
        decision: col(row, "decision")?,
        created_at: time(row, "created_at")?,
    })
}

#[async_trait]
impl PolicyStore for PgStore {
    async fn create_list_entry(&self, entry: &ListEntry) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        let done = sqlx::query(
            "INSERT INTO list_entries (id, site_id, direction, kind, entry, mailbox_id, reason, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(entry.id.as_uuid())
        .bind(entry.site_id.as_uuid())
        .bind(entry.direction.as_str())
        .bind(entry.kind.as_str())
        .bind(&entry.entry)
        .bind(entry.mailbox_id.map(|m| m.as_uuid()))
        .bind(&entry.reason)
        .bind(trunc(entry.created_at))
        .execute(&mut *tx)
        .await
        .map_err(db_err);
        match done {
            Err(StoreError::Conflict { .. }) => {
                return Err(StoreError::Conflict {
                    constraint: "list_entry".into(),
                });
            }
            other => other?,
        };
        tx.commit().await.map_err(db_err)?;
        Ok(())
    }

    async fn get_list_entry(&self, id: ListEntryId) -> StoreResult<Option<ListEntry>> {
        let row = sqlx::query("SELECT * FROM list_entries WHERE id = $1")
            .bind(id.as_uuid())
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?;
        row.as_ref().map(list_entry).transpose()
    }

    async fn list_list_entries(
        &self,
        site: Option<SiteId>,
        direction: Option<ListDirection>,
        mailbox: Option<MailboxId>,
    ) -> StoreResult<Vec<ListEntry>> {
        let mut q = QueryBuilder::<Postgres>::new("SELECT * FROM list_entries WHERE 1 = 1");
        if let Some(site) = site {
            q.push(" AND site_id = ").push_bind(site.as_uuid());
        }
        if let Some(d) = direction {
            q.push(" AND direction = ").push_bind(d.as_str());
        }
        if let Some(m) = mailbox {
            q.push(" AND mailbox_id = ").push_bind(m.as_uuid());
        }
        q.push(" ORDER BY created_at, id LIMIT 10000");
        let rows = q.build().fetch_all(&self.pool).await.map_err(db_err)?;
        rows.iter().map(list_entry).collect()
    }

    async fn applicable_list_entries(
        &self,
        site: SiteId,
        direction: ListDirection,
        mailbox: Option<MailboxId>,
    ) -> StoreResult<Vec<ListEntry>> {
        let rows = sqlx::query(
            "SELECT * FROM list_entries WHERE site_id = $1 AND direction = $2 AND (mailbox_id IS NULL OR mailbox_id = $3) ORDER BY created_at, id",
        )
        .bind(site.as_uuid())
        .bind(direction.as_str())
        .bind(mailbox.map(|m| m.as_uuid()))
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.iter().map(list_entry).collect()
    }

    async fn delete_list_entry(&self, id: ListEntryId) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        let done = sqlx::query("DELETE FROM list_entries WHERE id = $1")
            .bind(id.as_uuid())
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        tx.commit().await.map_err(db_err)?;
        Ok(done.rows_affected() > 0)
    }

    async fn record_dsn(&self, r: &DsnRecord) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        let done = sqlx::query(
            "INSERT INTO dsn_records (report_message_id, recipient, site_id, original_message_id, decision, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (report_message_id, recipient) DO NOTHING",
        )
        .bind(r.report_message_id.as_uuid())
        .bind(&r.recipient)
        .bind(r.site_id.as_uuid())
        .bind(r.original_message_id.as_uuid())
        .bind(&r.decision)
        .bind(trunc(r.created_at))
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        tx.commit().await.map_err(db_err)?;
        Ok(done.rows_affected() > 0)
    }

    async fn list_dsn_records(&self, original: MessageId) -> StoreResult<Vec<DsnRecord>> {
        let rows = sqlx::query("SELECT * FROM dsn_records WHERE original_message_id = $1 ORDER BY created_at, recipient")
            .bind(original.as_uuid())
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        rows.iter().map(dsn_record).collect()
    }

    async fn put_message_route(
        &self,
        message: MessageId,
        site: SiteId,
        route: &str,
    ) -> StoreResult<()> {
        let mut conn = self.pool.acquire().await.map_err(db_err)?;
        put_message_route_on(&mut conn, message, site, route).await
    }

    async fn get_message_route(&self, message: MessageId) -> StoreResult<Option<String>> {
        let row = sqlx::query("SELECT route FROM message_routes WHERE message_id = $1")
            .bind(message.as_uuid())
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?;
        row.map(|r| col(&r, "route")).transpose()
    }
}

/// Records (or replaces) a message's route on `conn` (inside the caller's transaction, if any).
pub(super) async fn put_message_route_on(conn: &mut sqlx::PgConnection, message: MessageId, site: SiteId, route: &str) -> StoreResult<()> {
    sqlx::query("INSERT INTO message_routes (message_id, site_id, route) VALUES ($1, $2, $3) ON CONFLICT (message_id) DO UPDATE SET route = excluded.route")
        .bind(message.as_uuid())
        .bind(site.as_uuid())
        .bind(route)
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
    Ok(())
}
