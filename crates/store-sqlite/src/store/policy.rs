//! SQLite: allow/block lists, applied delivery-status reports and message routes.

#[allow(unused_imports)]
use super::*;
use mailroom_store::codec::list_entry;

fn dsn_record(row: &SqliteRow) -> StoreResult<DsnRecord> {
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
impl PolicyStore for SqliteStore {
    async fn create_list_entry(&self, entry: &ListEntry) -> StoreResult<()> {
        let entry = entry.to_owned();
        self.write(move |tx| {
            let done = query(
                "INSERT INTO list_entries (id, site_id, direction, kind, entry, mailbox_id, reason, created_at) \
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(entry.id.as_uuid())
            .bind(entry.site_id.as_uuid())
            .bind(entry.direction.as_str())
            .bind(entry.kind.as_str())
            .bind(&entry.entry)
            .bind(entry.mailbox_id.map(|m| m.as_uuid()))
            .bind(&entry.reason)
            .bind(ts(entry.created_at))
            .execute(tx)
            .map_err(db_err);
            match done {
                // The unique index is on an expression, so SQLite names the index, not columns.
                Err(StoreError::Conflict { .. }) => Err(StoreError::Conflict { constraint: "list_entry".into() }),
                other => other.map(|_| ()),
            }
        })
        .await
    }

    async fn get_list_entry(&self, id: ListEntryId) -> StoreResult<Option<ListEntry>> {
        self.read(move |conn| {
            let row = query("SELECT * FROM list_entries WHERE id = ?")
                .bind(id.as_uuid())
                .fetch_optional(conn)
                .map_err(db_err)?;
            row.as_ref().map(list_entry).transpose()
        })
        .await
    }

    async fn list_list_entries(
        &self,
        site: Option<SiteId>,
        direction: Option<ListDirection>,
        mailbox: Option<MailboxId>,
    ) -> StoreResult<Vec<ListEntry>> {
        self.read(move |conn| {
            let mut q = QueryBuilder::new("SELECT * FROM list_entries WHERE 1 = 1");
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
            let rows = q.build().fetch_all(conn).map_err(db_err)?;
            rows.iter().map(list_entry).collect()
        })
        .await
    }

    async fn applicable_list_entries(
        &self,
        site: SiteId,
        direction: ListDirection,
        mailbox: Option<MailboxId>,
    ) -> StoreResult<Vec<ListEntry>> {
        self.read(move |conn| {
            let rows = query(
                "SELECT * FROM list_entries WHERE site_id = ? AND direction = ? AND (mailbox_id IS NULL OR mailbox_id = ?) \
                 ORDER BY created_at, id",
            )
            .bind(site.as_uuid())
            .bind(direction.as_str())
            .bind(mailbox.map(|m| m.as_uuid()))
            .fetch_all(conn)
            .map_err(db_err)?;
            rows.iter().map(list_entry).collect()
        })
        .await
    }

    async fn delete_list_entry(&self, id: ListEntryId) -> StoreResult<bool> {
        self.delete_by_id("list_entries", id.as_uuid()).await
    }

    async fn record_dsn(&self, r: &DsnRecord) -> StoreResult<bool> {
        let r = r.to_owned();
        self.write(move |tx| {
            let done = query(
                "INSERT INTO dsn_records (report_message_id, recipient, site_id, original_message_id, decision, created_at) \
                 VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (report_message_id, recipient) DO NOTHING",
            )
            .bind(r.report_message_id.as_uuid())
            .bind(&r.recipient)
            .bind(r.site_id.as_uuid())
            .bind(r.original_message_id.as_uuid())
            .bind(&r.decision)
            .bind(ts(r.created_at))
            .execute(tx)
            .map_err(db_err)?;
            Ok(done.rows_affected() > 0)
        })
        .await
    }

    async fn list_dsn_records(&self, original: MessageId) -> StoreResult<Vec<DsnRecord>> {
        self.read(move |conn| {
            let rows = query("SELECT * FROM dsn_records WHERE original_message_id = ? ORDER BY created_at, recipient")
                .bind(original.as_uuid())
                .fetch_all(conn)
                .map_err(db_err)?;
            rows.iter().map(dsn_record).collect()
        })
        .await
    }

    async fn put_message_route(
        &self,
        message: MessageId,
        site: SiteId,
        route: &str,
    ) -> StoreResult<()> {
        let route = route.to_owned();
        self.write(move |tx| put_message_route_on(tx, message, site, &route)).await
    }

    async fn get_message_route(&self, message: MessageId) -> StoreResult<Option<String>> {
        self.read(move |conn| {
            let row = query("SELECT route FROM message_routes WHERE message_id = ?")
                .bind(message.as_uuid())
                .fetch_optional(conn)
                .map_err(db_err)?;
            row.map(|r| col(&r, "route")).transpose()
        })
        .await
    }
}

/// Records (or replaces) a message's route inside the caller's write transaction.
pub(super) fn put_message_route_on(tx: &Tx<'_>, message: MessageId, site: SiteId, route: &str) -> StoreResult<()> {
    query(
        "INSERT INTO message_routes (message_id, site_id, route) VALUES (?, ?, ?) \
         ON CONFLICT (message_id) DO UPDATE SET route = excluded.route",
    )
    .bind(message.as_uuid())
    .bind(site.as_uuid())
    .bind(route)
    .execute(tx)
    .map_err(db_err)?;
    Ok(())
}
