//! The [`Store`] implementation: one method per operation; a write is one closure run on the
//! writer thread inside its group-commit transaction, a read one closure on a reader thread.

use crate::SqliteStore;
use crate::codec::{self, *};
use crate::db::{QueryBuilder, Row as SqliteRow, query};
use crate::group::Tx;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use mailroom_core::agent::*;
use mailroom_core::*;
use mailroom_store::*;
use rusqlite::Connection;
use std::collections::{HashMap, HashSet};

/// How many values go into one `IN (...)` list.
const CHUNK: usize = 500;

#[async_trait]
impl Store for SqliteStore {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    async fn ping(&self) -> StoreResult<()> {
        self.read(move |conn| {
            query("SELECT 1").fetch_one(conn).map_err(db_err)?;
            Ok(())
        })
        .await
    }

    // --- settings ---------------------------------------------------------------------------

    async fn get_setting(&self, key: &str) -> StoreResult<Option<String>> {
        let key = key.to_owned();
        self.read(move |conn| {
            let key = &key;
            let row = query("SELECT value FROM settings WHERE key = ?").bind(key).fetch_optional(conn).map_err(db_err)?;
            row.map(|r| col(&r, "value")).transpose()
        })
        .await
    }

    async fn put_setting_if_absent(&self, key: &str, value: &str) -> StoreResult<String> {
        let key = key.to_owned();
        let value = value.to_owned();
        self.write(move |tx| {
            let key = &key;
            let value = &value;
            query("INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING")
                .bind(key)
                .bind(value)
                .execute(tx)
                .map_err(db_err)?;
            let row = query("SELECT value FROM settings WHERE key = ?").bind(key).fetch_one(tx).map_err(db_err)?;
            let stored = col(&row, "value")?;
            Ok(stored)
        })
        .await
    }

    // --- sites ------------------------------------------------------------------------------

    async fn create_site(&self, site: &Site) -> StoreResult<()> {
        let site = site.to_owned();
        self.write(move |tx| {
            let site = &site;
            query("INSERT INTO sites (id, name, created_at) VALUES (?, ?, ?)")
                .bind(site.id.as_uuid())
                .bind(&site.name)
                .bind(ts(site.created_at))
                .execute(tx)
                .map_err(db_err)?;
            Ok(())
        })
        .await
    }

    async fn get_site(&self, id: SiteId) -> StoreResult<Option<Site>> {
        self.read(move |conn| {
            let row = query("SELECT * FROM sites WHERE id = ?").bind(id.as_uuid()).fetch_optional(conn).map_err(db_err)?;
            row.as_ref().map(codec::site).transpose()
        })
        .await
    }

    async fn list_sites(&self) -> StoreResult<Vec<Site>> {
        self.read(move |conn| {
            let rows = query("SELECT * FROM sites ORDER BY created_at, id").fetch_all(conn).map_err(db_err)?;
            rows.iter().map(codec::site).collect()
        })
        .await
    }

    // --- API keys ---------------------------------------------------------------------------

    async fn create_api_key(&self, key: &ApiKey, secret_hash: &str) -> StoreResult<()> {
        let key = key.to_owned();
        let secret_hash = secret_hash.to_owned();
        self.write(move |tx| {
            let key = &key;
            let secret_hash = &secret_hash;
            query("INSERT INTO api_keys (id, name, scope, site_id, prefix, secret_hash, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)")
                .bind(key.id.as_uuid())
                .bind(&key.name)
                .bind(&key.scope)
                .bind(key.site_id.map(|s| s.as_uuid()))
                .bind(&key.prefix)
                .bind(secret_hash)
                .bind(ts(key.created_at))
                .execute(tx)
                .map_err(db_err)?;
            Ok(())
        })
        .await
    }

    async fn find_api_key_by_hash(&self, secret_hash: &str) -> StoreResult<Option<ApiKey>> {
        let secret_hash = secret_hash.to_owned();
        self.read(move |conn| {
            let secret_hash = &secret_hash;
            let row = query("SELECT * FROM api_keys WHERE secret_hash = ?").bind(secret_hash).fetch_optional(conn).map_err(db_err)?;
            row.as_ref().map(codec::api_key).transpose()
        })
        .await
    }

    async fn get_api_key(&self, id: ApiKeyId) -> StoreResult<Option<ApiKey>> {
        self.read(move |conn| {
            let row = query("SELECT * FROM api_keys WHERE id = ?").bind(id.as_uuid()).fetch_optional(conn).map_err(db_err)?;
            row.as_ref().map(codec::api_key).transpose()
        })
        .await
    }

    async fn list_api_keys(&self, site: Option<SiteId>) -> StoreResult<Vec<ApiKey>> {
        self.read(move |conn| {
            let rows = match site {
                Some(site) => {
                    query("SELECT * FROM api_keys WHERE site_id = ? ORDER BY created_at, id").bind(site.as_uuid()).fetch_all(conn)
                }
                None => query("SELECT * FROM api_keys ORDER BY created_at, id").fetch_all(conn),
            }
            .map_err(db_err)?;
            rows.iter().map(codec::api_key).collect()
        })
        .await
    }

    async fn delete_api_key(&self, id: ApiKeyId) -> StoreResult<bool> {
        self.write(move |tx| {
            let done = query("DELETE FROM api_keys WHERE id = ?").bind(id.as_uuid()).execute(tx).map_err(db_err)?;
            Ok(done.rows_affected() > 0)
        })
        .await
    }

    // --- mailboxes --------------------------------------------------------------------------

    async fn create_mailbox(&self, mailbox: &Mailbox, event: &NewEvent) -> StoreResult<()> {
        let mailbox = mailbox.to_owned();
        let event = event.to_owned();
        self.write(move |tx| {
            let mailbox = &mailbox;
            let event = &event;
            query(
                "INSERT INTO mailboxes (id, site_id, address, address_canonical, display_name, client_id, created_at, updated_at) \
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(mailbox.id.as_uuid())
            .bind(mailbox.site_id.as_uuid())
            .bind(mailbox.address.as_str())
            .bind(mailbox.address.canonical())
            .bind(&mailbox.display_name)
            .bind(&mailbox.client_id)
            .bind(ts(mailbox.created_at))
            .bind(ts(mailbox.updated_at))
            .execute(tx)
            .map_err(db_err)?;
            append(tx, std::slice::from_ref(event))?;
            Ok(())
        })
        .await
    }

    async fn get_mailbox(&self, id: MailboxId) -> StoreResult<Option<Mailbox>> {
        self.read(move |conn| {
            let row = query("SELECT * FROM mailboxes WHERE id = ?").bind(id.as_uuid()).fetch_optional(conn).map_err(db_err)?;
            row.as_ref().map(codec::mailbox).transpose()
        })
        .await
    }

    async fn get_mailbox_by_address(&self, canonical_address: &str) -> StoreResult<Option<Mailbox>> {
        let canonical_address = canonical_address.to_owned();
        self.read(move |conn| {
            let canonical_address = &canonical_address;
            let row = query("SELECT * FROM mailboxes WHERE address_canonical = ?")
                .bind(canonical_address.to_lowercase())
                .fetch_optional(conn)
                .map_err(db_err)?;
            row.as_ref().map(codec::mailbox).transpose()
        })
        .await
    }

    async fn get_mailbox_by_client_id(&self, site: SiteId, client_id: &str) -> StoreResult<Option<Mailbox>> {
        let client_id = client_id.to_owned();
        self.read(move |conn| {
            let client_id = &client_id;
            let row = query("SELECT * FROM mailboxes WHERE site_id = ? AND client_id = ?")
                .bind(site.as_uuid())
                .bind(client_id)
                .fetch_optional(conn)
                .map_err(db_err)?;
            row.as_ref().map(codec::mailbox).transpose()
        })
        .await
    }

    async fn list_mailboxes(&self, site: Option<SiteId>, before: Option<MailboxId>, limit: u32) -> StoreResult<Vec<Mailbox>> {
        self.read(move |conn| {
            let mut q = QueryBuilder::new("SELECT * FROM mailboxes WHERE 1 = 1");
            if let Some(site) = site {
                q.push(" AND site_id = ").push_bind(site.as_uuid());
            }
            if let Some(before) = before {
                q.push(" AND id < ").push_bind(before.as_uuid());
            }
            q.push(" ORDER BY id DESC LIMIT ").push_bind(i64::from(limit));
            let rows = q.build().fetch_all(conn).map_err(db_err)?;
            rows.iter().map(codec::mailbox).collect()
        })
        .await
    }

    async fn update_mailbox(&self, mailbox: &Mailbox, event: &NewEvent) -> StoreResult<()> {
        let mailbox = mailbox.to_owned();
        let event = event.to_owned();
        self.write(move |tx| {
            let mailbox = &mailbox;
            let event = &event;
            let done = query("UPDATE mailboxes SET display_name = ?, updated_at = ? WHERE id = ?")
                .bind(&mailbox.display_name)
                .bind(ts(mailbox.updated_at))
                .bind(mailbox.id.as_uuid())
                .execute(tx)
                .map_err(db_err)?;
            if done.rows_affected() == 0 {
                return Err(StoreError::NotFound(format!("mailbox {}", mailbox.id)));
            }
            append(tx, std::slice::from_ref(event))?;
            Ok(())
        })
        .await
    }

    async fn delete_mailbox(&self, id: MailboxId, event: &NewEvent) -> StoreResult<Vec<String>> {
        let event = event.to_owned();
        self.write(move |tx| {
            let event = &event;
            let mut keys = Vec::new();
            let rows = query(
                "SELECT raw_blob_key AS blob_key FROM messages WHERE mailbox_id = ? \
                 UNION ALL SELECT a.blob_key FROM attachments a JOIN messages m ON m.id = a.message_id WHERE m.mailbox_id = ?",
            )
            .bind(id.as_uuid())
            .bind(id.as_uuid())
            .fetch_all(tx)
            .map_err(db_err)?;
            for row in &rows {
                keys.push(col::<String>(row, "blob_key")?);
            }
            // Only `team_members` refers to a mailbox without cascading.
            let done = query("DELETE FROM mailboxes WHERE id = ?").bind(id.as_uuid()).execute(tx).map_err(team_member_mailbox_err)?;
            if done.rows_affected() == 0 {
                return Err(StoreError::NotFound(format!("mailbox {id}")));
            }
            let keys = unreferenced(tx, keys)?;
            append(tx, std::slice::from_ref(event))?;
            Ok(keys)
        })
        .await
    }

    // --- messages and threads ---------------------------------------------------------------

    async fn insert_message(&self, new: &NewMessage, events: &[NewEvent]) -> StoreResult<()> {
        let (new, events) = (new.clone(), events.to_vec());
        self.write(move |tx| insert_message_on(tx, &new, &events).map(drop)).await
    }

    fn inline_blob_max(&self) -> usize {
        crate::INLINE_BLOB_MAX
    }

    async fn insert_message_with_blobs(
        &self,
        new: &NewMessage,
        events: &[NewEvent],
        blobs: Vec<(String, bytes::Bytes)>,
    ) -> StoreResult<()> {
        if let Some((key, _)) = blobs.iter().find(|(_, d)| d.len() > crate::INLINE_BLOB_MAX) {
            return Err(StoreError::Database(format!("blob {key} is larger than the inline limit").into()));
        }
        let (new, events) = (new.clone(), events.to_vec());
        self.write(move |tx| {
            for (key, data) in &blobs {
                query("INSERT INTO blobs (key, data) VALUES (?, ?)").bind(key).bind(data.as_ref()).execute(tx).map_err(db_err)?;
            }
            insert_message_on(tx, &new, &events).map(drop)
        })
        .await
    }

    async fn get_message(&self, id: MessageId) -> StoreResult<Option<Message>> {
        self.read(move |conn| {
            let row = query(&format!("SELECT {MESSAGE_COLUMNS} FROM messages m WHERE m.id = ?"))
                .bind(id.as_uuid())
                .fetch_optional(conn)
                .map_err(db_err)?;
            let Some(row) = row else { return Ok(None) };
            let mut messages = vec![codec::message(&row)?];
            complete(conn, &mut messages)?;
            Ok(messages.pop())
        })
        .await
    }

    async fn find_message_by_message_id(
        &self,
        mailbox: MailboxId,
        direction: Option<Direction>,
        message_id: &str,
    ) -> StoreResult<Option<Message>> {
        let message_id = message_id.to_owned();
        self.read(move |conn| {
            let message_id = &message_id;
            let mut q = QueryBuilder::new(format!("SELECT {MESSAGE_COLUMNS} FROM messages m WHERE m.mailbox_id = "));
            q.push_bind(mailbox.as_uuid()).push(" AND m.message_id_header = ").push_bind(message_id);
            if let Some(direction) = direction {
                q.push(" AND m.direction = ").push_bind(direction.as_str());
            }
            q.push(" ORDER BY m.id DESC LIMIT 1");
            let rows = q.build().fetch_all(conn).map_err(db_err)?;
            let mut messages = rows.iter().map(codec::message).collect::<StoreResult<Vec<_>>>()?;
            complete(conn, &mut messages)?;
            Ok(messages.pop())
        })
        .await
    }

    async fn find_thread_by_message_ids(&self, mailbox: MailboxId, message_ids: &[String]) -> StoreResult<Option<ThreadId>> {
        let message_ids = message_ids.to_owned();
        self.read(move |conn| {
            let message_ids = &message_ids;
            let mut best: Option<(MessageId, ThreadId)> = None;
            for chunk in message_ids.chunks(CHUNK) {
                let mut q = QueryBuilder::new("SELECT id, thread_id FROM messages WHERE mailbox_id = ");
                q.push_bind(mailbox.as_uuid()).push(" AND message_id_header IN (");
                let mut list = q.separated(", ");
                for mid in chunk {
                    list.push_bind(mid);
                }
                q.push(") ORDER BY id DESC LIMIT 1");
                if let Some(row) = q.build().fetch_optional(conn).map_err(db_err)? {
                    let found: (MessageId, ThreadId) = (id(&row, "id")?, id(&row, "thread_id")?);
                    if best.is_none_or(|b| found.0 > b.0) {
                        best = Some(found);
                    }
                }
            }
            Ok(best.map(|(_, thread)| thread))
        })
        .await
    }

    async fn list_messages(&self, mailbox: MailboxId, filter: &MessageFilter) -> StoreResult<Vec<Message>> {
        let filter = filter.to_owned();
        self.read(move |conn| {
            let filter = &filter;
            let mut q = QueryBuilder::new(format!("SELECT {MESSAGE_COLUMNS} FROM messages m WHERE m.mailbox_id = "));
            q.push_bind(mailbox.as_uuid());
            if let Some(direction) = filter.direction {
                q.push(" AND m.direction = ").push_bind(direction.as_str());
            }
            if let Some(thread) = filter.thread_id {
                q.push(" AND m.thread_id = ").push_bind(thread.as_uuid());
            }
            if let Some(unread) = filter.unread {
                q.push(" AND m.read = ").push_bind(!unread);
            }
            if let Some(since) = filter.since {
                q.push(" AND m.created_at >= ").push_bind(ts(trunc(since)));
            }
            if let Some(label) = &filter.label {
                q.push(" AND EXISTS (SELECT 1 FROM json_each(m.labels) l WHERE l.value = ").push_bind(label).push(")");
            }
            if let Some(text) = &filter.q {
                let search = SearchQuery::parse(text);
                if search.is_empty() {
                    return Ok(Vec::new());
                }
                q.push(
                    " AND m.id IN (SELECT s.message_id FROM message_search \
                     JOIN message_search_ids s ON s.docid = message_search.rowid WHERE message_search MATCH ",
                )
                .push_bind(codec::fts5_query(&search))
                .push(")");
            }
            if let Some(before) = filter.before {
                q.push(" AND m.id < ").push_bind(before.as_uuid());
            }
            q.push(" ORDER BY m.id DESC LIMIT ").push_bind(i64::from(filter.limit));
            let rows = q.build().fetch_all(conn).map_err(db_err)?;
            let mut messages = rows.iter().map(codec::message).collect::<StoreResult<Vec<_>>>()?;
            complete(conn, &mut messages)?;
            Ok(messages)
        })
        .await
    }

    async fn update_message_flags(&self, id: MessageId, read: bool, labels: &[String]) -> StoreResult<()> {
        let labels = labels.to_owned();
        self.write(move |tx| {
            let labels = &labels;
            let done = query("UPDATE messages SET read = ?, labels = ? WHERE id = ?")
                .bind(read)
                .bind(to_json(labels)?)
                .bind(id.as_uuid())
                .execute(tx)
                .map_err(db_err)?;
            if done.rows_affected() == 0 {
                return Err(StoreError::NotFound(format!("message {id}")));
            }
            Ok(())
        })
        .await
    }

    async fn delete_message(&self, id: MessageId, event: &NewEvent) -> StoreResult<Vec<String>> {
        let event = event.to_owned();
        self.write(move |tx| {
            let event = &event;
            let row = query("SELECT thread_id, raw_blob_key FROM messages WHERE id = ?")
                .bind(id.as_uuid())
                .fetch_optional(tx)
                .map_err(db_err)?
                .ok_or_else(|| StoreError::NotFound(format!("message {id}")))?;
            let thread: ThreadId = codec::id(&row, "thread_id")?;
            let mut keys = vec![col::<String>(&row, "raw_blob_key")?];
            let rows = query("SELECT blob_key FROM attachments WHERE message_id = ? ORDER BY position")
                .bind(id.as_uuid())
                .fetch_all(tx)
                .map_err(db_err)?;
            for row in &rows {
                keys.push(col(row, "blob_key")?);
            }
            query("DELETE FROM messages WHERE id = ?").bind(id.as_uuid()).execute(tx).map_err(db_err)?;
            recount_thread(tx, thread)?;
            let keys = unreferenced(tx, keys)?;
            append(tx, std::slice::from_ref(event))?;
            Ok(keys)
        })
        .await
    }

    async fn get_attachment(&self, id: AttachmentId) -> StoreResult<Option<(Attachment, MessageId, SiteId)>> {
        self.read(move |conn| {
            let row = query("SELECT * FROM attachments WHERE id = ?").bind(id.as_uuid()).fetch_optional(conn).map_err(db_err)?;
            let Some(row) = row else { return Ok(None) };
            Ok(Some((codec::attachment(&row)?, codec::id(&row, "message_id")?, codec::id(&row, "site_id")?)))
        })
        .await
    }

    async fn get_thread(&self, id: ThreadId) -> StoreResult<Option<Thread>> {
        self.read(move |conn| {
            let row = query("SELECT * FROM threads WHERE id = ?").bind(id.as_uuid()).fetch_optional(conn).map_err(db_err)?;
            row.as_ref().map(codec::thread).transpose()
        })
        .await
    }

    async fn list_threads(&self, mailbox: MailboxId, cursor: Option<ThreadCursor>, limit: u32) -> StoreResult<Vec<Thread>> {
        self.read(move |conn| {
            let mut q = QueryBuilder::new("SELECT * FROM threads WHERE mailbox_id = ");
            q.push_bind(mailbox.as_uuid());
            if let Some(c) = cursor {
                let at = ts(trunc(c.last_message_at));
                q.push(" AND (last_message_at < ").push_bind(at.clone());
                q.push(" OR (last_message_at = ").push_bind(at).push(" AND id < ").push_bind(c.id.as_uuid()).push("))");
            }
            q.push(" ORDER BY last_message_at DESC, id DESC LIMIT ").push_bind(i64::from(limit));
            let rows = q.build().fetch_all(conn).map_err(db_err)?;
            rows.iter().map(codec::thread).collect()
        })
        .await
    }

    async fn list_thread_messages(&self, thread: ThreadId) -> StoreResult<Vec<Message>> {
        self.read(move |conn| {
            let rows = query(&format!("SELECT {MESSAGE_COLUMNS} FROM messages m WHERE m.thread_id = ? ORDER BY m.id"))
                .bind(thread.as_uuid())
                .fetch_all(conn)
                .map_err(db_err)?;
            let mut messages = rows.iter().map(codec::message).collect::<StoreResult<Vec<_>>>()?;
            complete(conn, &mut messages)?;
            Ok(messages)
        })
        .await
    }

    // --- outbound recipients ----------------------------------------------------------------

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
        self.read(move |conn| {
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

    // --- domains ----------------------------------------------------------------------------

    async fn create_domain(&self, domain: &Domain, event: &NewEvent) -> StoreResult<()> {
        let domain = domain.to_owned();
        let event = event.to_owned();
        self.write(move |tx| {
            let domain = &domain;
            let event = &event;
            query("INSERT INTO domains (id, site_id, name, created_at) VALUES (?, ?, ?, ?)")
                .bind(domain.id.as_uuid())
                .bind(domain.site_id.as_uuid())
                .bind(domain.name.to_lowercase())
                .bind(ts(domain.created_at))
                .execute(tx)
                .map_err(db_err)?;
            for (position, k) in domain.dkim.iter().enumerate() {
                query(
                    "INSERT INTO dkim_keys (domain_id, position, selector, algorithm, public_key, private_key_encrypted) \
                     VALUES (?, ?, ?, ?, ?, ?)",
                )
                .bind(domain.id.as_uuid())
                .bind(signed(position, "DKIM key position")?)
                .bind(&k.selector)
                .bind(&k.algorithm)
                .bind(&k.public_key)
                .bind(&k.private_key_encrypted)
                .execute(tx)
                .map_err(db_err)?;
            }
            append(tx, std::slice::from_ref(event))?;
            Ok(())
        })
        .await
    }

    async fn get_domain(&self, id: DomainId) -> StoreResult<Option<Domain>> {
        self.read(move |conn| {
            let row = query("SELECT * FROM domains WHERE id = ?").bind(id.as_uuid()).fetch_optional(conn).map_err(db_err)?;
            let mut domains = row.iter().map(codec::domain).collect::<StoreResult<Vec<_>>>()?;
            with_keys(conn, &mut domains)?;
            Ok(domains.pop())
        })
        .await
    }

    async fn get_domain_by_name(&self, name: &str) -> StoreResult<Option<Domain>> {
        let name = name.to_owned();
        self.read(move |conn| {
            let name = &name;
            let row = query("SELECT * FROM domains WHERE name = ?").bind(name.to_lowercase()).fetch_optional(conn).map_err(db_err)?;
            let mut domains = row.iter().map(codec::domain).collect::<StoreResult<Vec<_>>>()?;
            with_keys(conn, &mut domains)?;
            Ok(domains.pop())
        })
        .await
    }

    async fn list_domains(&self, site: Option<SiteId>) -> StoreResult<Vec<Domain>> {
        self.read(move |conn| {
            let rows = match site {
                Some(site) => query("SELECT * FROM domains WHERE site_id = ? ORDER BY name").bind(site.as_uuid()).fetch_all(conn),
                None => query("SELECT * FROM domains ORDER BY name").fetch_all(conn),
            }
            .map_err(db_err)?;
            let mut domains = rows.iter().map(codec::domain).collect::<StoreResult<Vec<_>>>()?;
            with_keys(conn, &mut domains)?;
            Ok(domains)
        })
        .await
    }

    async fn delete_domain(&self, id: DomainId) -> StoreResult<bool> {
        self.write(move |tx| {
            let done = query("DELETE FROM domains WHERE id = ?").bind(id.as_uuid()).execute(tx).map_err(db_err)?;
            Ok(done.rows_affected() > 0)
        })
        .await
    }

    // --- suppressions -----------------------------------------------------------------------

    async fn put_suppression(&self, suppression: &Suppression, event: Option<&NewEvent>) -> StoreResult<()> {
        let suppression = suppression.to_owned();
        let event = event.map(|v| v.to_owned());
        self.write(move |tx| {
            let suppression = &suppression;
            let event = event.as_ref();
            query(
                "INSERT INTO suppressions (site_id, address, reason, detail, created_at) VALUES (?, ?, ?, ?, ?) \
                 ON CONFLICT (site_id, address) DO UPDATE SET reason = excluded.reason, detail = excluded.detail, \
                 created_at = excluded.created_at",
            )
            .bind(suppression.site_id.as_uuid())
            .bind(suppression.address.canonical())
            .bind(&suppression.reason)
            .bind(&suppression.detail)
            .bind(ts(suppression.created_at))
            .execute(tx)
            .map_err(db_err)?;
            append(tx, event.map(std::slice::from_ref).unwrap_or_default())?;
            Ok(())
        })
        .await
    }

    async fn get_suppression(&self, site: SiteId, address: &str) -> StoreResult<Option<Suppression>> {
        let address = address.to_owned();
        self.read(move |conn| {
            let address = &address;
            let row = query("SELECT * FROM suppressions WHERE site_id = ? AND address = ?")
                .bind(site.as_uuid())
                .bind(address.trim().to_lowercase())
                .fetch_optional(conn)
                .map_err(db_err)?;
            row.as_ref().map(codec::suppression).transpose()
        })
        .await
    }

    async fn list_suppressions(&self, site: Option<SiteId>, after: Option<&str>, limit: u32) -> StoreResult<Vec<Suppression>> {
        let after = after.map(|v| v.to_owned());
        self.read(move |conn| {
            let after = after.as_deref();
            let mut q = QueryBuilder::new("SELECT * FROM suppressions WHERE 1 = 1");
            if let Some(site) = site {
                q.push(" AND site_id = ").push_bind(site.as_uuid());
            }
            if let Some(after) = after {
                q.push(" AND address > ").push_bind(after.trim().to_lowercase());
            }
            q.push(" ORDER BY address, site_id LIMIT ").push_bind(i64::from(limit));
            let rows = q.build().fetch_all(conn).map_err(db_err)?;
            rows.iter().map(codec::suppression).collect()
        })
        .await
    }

    async fn delete_suppression(&self, site: SiteId, address: &str) -> StoreResult<bool> {
        let address = address.to_owned();
        self.write(move |tx| {
            let address = &address;
            let done = query("DELETE FROM suppressions WHERE site_id = ? AND address = ?")
                .bind(site.as_uuid())
                .bind(address.trim().to_lowercase())
                .execute(tx)
                .map_err(db_err)?;
            Ok(done.rows_affected() > 0)
        })
        .await
    }

    // --- webhooks ---------------------------------------------------------------------------

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

    async fn put_setting(&self, key: &str, value: &str) -> StoreResult<()> {
        let key = key.to_owned();
        let value = value.to_owned();
        self.write(move |tx| {
            let key = &key;
            let value = &value;
            upsert_setting(tx, key, value)?;
            Ok(())
        })
        .await
    }

    async fn last_event_cursor(&self) -> StoreResult<i64> {
        self.read(move |conn| {
            let row = query("SELECT COALESCE(MAX(seq), 0) AS last FROM events").fetch_one(conn).map_err(db_err)?;
            col(&row, "last")
        })
        .await
    }

    async fn get_event(&self, cursor: i64) -> StoreResult<Option<Event>> {
        self.read(move |conn| {
            let row = query("SELECT * FROM events WHERE seq = ?").bind(cursor).fetch_optional(conn).map_err(db_err)?;
            row.as_ref().map(codec::event).transpose()
        })
        .await
    }

    fn event_signal(&self) -> tokio::sync::watch::Receiver<u64> {
        self.signal.subscribe()
    }

    // --- agent tools: contacts --------------------------------------------------------------

    async fn create_contact(&self, contact: &Contact) -> StoreResult<()> {
        let contact = contact.to_owned();
        self.write(move |tx| {
            let contact = &contact;
            let c = contact;
            query(
                "INSERT INTO contacts (id, site_id, email, email_lower, external_id, name, attributes, email_subscribed, \
                 marketing_opt_out, owner_team_member_id, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(c.id.as_uuid())
            .bind(c.site_id.as_uuid())
            .bind(c.email.as_ref().map(|e| e.as_str()))
            .bind(c.email.as_ref().map(|e| e.canonical()))
            .bind(&c.external_id)
            .bind(&c.name)
            .bind(to_json(&c.attributes)?)
            .bind(c.email_subscribed)
            .bind(c.marketing_opt_out)
            .bind(c.owner_team_member_id.map(|t| t.as_uuid()))
            .bind(ts(c.created_at))
            .bind(ts(c.updated_at))
            .execute(tx)
            .map_err(db_err)?;
            Ok(())
        })
        .await
    }

    async fn update_contact(&self, contact: &Contact) -> StoreResult<()> {
        let contact = contact.to_owned();
        self.write(move |tx| {
            let contact = &contact;
            let c = contact;
            let done = query(
                "UPDATE contacts SET email = ?, email_lower = ?, external_id = ?, name = ?, attributes = ?, email_subscribed = ?, \
                 marketing_opt_out = ?, owner_team_member_id = ?, updated_at = ? WHERE id = ?",
            )
            .bind(c.email.as_ref().map(|e| e.as_str()))
            .bind(c.email.as_ref().map(|e| e.canonical()))
            .bind(&c.external_id)
            .bind(&c.name)
            .bind(to_json(&c.attributes)?)
            .bind(c.email_subscribed)
            .bind(c.marketing_opt_out)
            .bind(c.owner_team_member_id.map(|t| t.as_uuid()))
            .bind(ts(c.updated_at))
            .bind(c.id.as_uuid())
            .execute(tx)
            .map_err(db_err)?;
            if done.rows_affected() == 0 {
                return Err(StoreError::NotFound(format!("contact {}", c.id)));
            }
            Ok(())
        })
        .await
    }

    async fn get_contact(&self, id: ContactId) -> StoreResult<Option<Contact>> {
        self.read(move |conn| {
            let row = query("SELECT * FROM contacts WHERE id = ?").bind(id.as_uuid()).fetch_optional(conn).map_err(db_err)?;
            row.as_ref().map(codec::contact).transpose()
        })
        .await
    }

    async fn find_contact(&self, site: SiteId, email: Option<&str>, external_id: Option<&str>) -> StoreResult<Option<Contact>> {
        let email = email.map(|v| v.to_owned());
        let external_id = external_id.map(|v| v.to_owned());
        self.read(move |conn| {
            let email = email.as_deref();
            let external_id = external_id.as_deref();
            if let Some(email) = email {
                let row = query("SELECT * FROM contacts WHERE site_id = ? AND email_lower = ?")
                    .bind(site.as_uuid())
                    .bind(email.trim().to_lowercase())
                    .fetch_optional(conn)
                    .map_err(db_err)?;
                if let Some(row) = row {
                    return codec::contact(&row).map(Some);
                }
            }
            if let Some(external_id) = external_id {
                let row = query("SELECT * FROM contacts WHERE site_id = ? AND external_id = ?")
                    .bind(site.as_uuid())
                    .bind(external_id)
                    .fetch_optional(conn)
                    .map_err(db_err)?;
                return row.as_ref().map(codec::contact).transpose();
            }
            Ok(None)
        })
        .await
    }

    async fn list_contacts(&self, site: Option<SiteId>, before: Option<ContactId>, limit: u32) -> StoreResult<Vec<Contact>> {
        self.read(move |conn| {
            let mut q = QueryBuilder::new("SELECT * FROM contacts WHERE 1 = 1");
            if let Some(site) = site {
                q.push(" AND site_id = ").push_bind(site.as_uuid());
            }
            if let Some(before) = before {
                q.push(" AND id < ").push_bind(before.as_uuid());
            }
            q.push(" ORDER BY id DESC LIMIT ").push_bind(i64::from(limit));
            let rows = q.build().fetch_all(conn).map_err(db_err)?;
            rows.iter().map(codec::contact).collect()
        })
        .await
    }

    async fn delete_contact(&self, id: ContactId) -> StoreResult<bool> {
        self.delete_by_id("contacts", id.as_uuid()).await
    }

    // --- agent tools: team members ----------------------------------------------------------

    async fn create_team_member(&self, member: &TeamMember) -> StoreResult<()> {
        let member = member.to_owned();
        self.write(move |tx| {
            let member = &member;
            let m = member;
            query(
                "INSERT INTO team_members (id, site_id, name, mailbox_id, signature_html, created_at, updated_at) \
                 VALUES (?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(m.id.as_uuid())
            .bind(m.site_id.as_uuid())
            .bind(&m.name)
            .bind(m.mailbox_id.as_uuid())
            .bind(&m.signature_html)
            .bind(ts(m.created_at))
            .bind(ts(m.updated_at))
            .execute(tx)
            .map_err(db_err)?;
            Ok(())
        })
        .await
    }

    async fn update_team_member(&self, member: &TeamMember) -> StoreResult<()> {
        let member = member.to_owned();
        self.write(move |tx| {
            let member = &member;
            let m = member;
            let done = query("UPDATE team_members SET name = ?, mailbox_id = ?, signature_html = ?, updated_at = ? WHERE id = ?")
                .bind(&m.name)
                .bind(m.mailbox_id.as_uuid())
                .bind(&m.signature_html)
                .bind(ts(m.updated_at))
                .bind(m.id.as_uuid())
                .execute(tx)
                .map_err(db_err)?;
            if done.rows_affected() == 0 {
                return Err(StoreError::NotFound(format!("team member {}", m.id)));
            }
            Ok(())
        })
        .await
    }

    async fn get_team_member(&self, id: TeamMemberId) -> StoreResult<Option<TeamMember>> {
        self.read(move |conn| {
            let row = query("SELECT * FROM team_members WHERE id = ?").bind(id.as_uuid()).fetch_optional(conn).map_err(db_err)?;
            row.as_ref().map(codec::team_member).transpose()
        })
        .await
    }

    async fn list_team_members(&self, site: Option<SiteId>) -> StoreResult<Vec<TeamMember>> {
        self.read(move |conn| {
            let rows = match site {
                Some(site) => {
                    query("SELECT * FROM team_members WHERE site_id = ? ORDER BY created_at, id").bind(site.as_uuid()).fetch_all(conn)
                }
                None => query("SELECT * FROM team_members ORDER BY created_at, id").fetch_all(conn),
            }
            .map_err(db_err)?;
            rows.iter().map(codec::team_member).collect()
        })
        .await
    }

    async fn delete_team_member(&self, id: TeamMemberId) -> StoreResult<bool> {
        self.delete_by_id("team_members", id.as_uuid()).await
    }

    // --- agent tools: site settings ---------------------------------------------------------

    async fn get_site_settings(&self, site: SiteId) -> StoreResult<Option<serde_json::Value>> {
        self.read(move |conn| {
            let row =
                query("SELECT settings FROM site_settings WHERE site_id = ?").bind(site.as_uuid()).fetch_optional(conn).map_err(db_err)?;
            row.as_ref().map(|r| json(r, "settings")).transpose()
        })
        .await
    }

    async fn put_site_settings(&self, site: SiteId, settings: &serde_json::Value) -> StoreResult<()> {
        let settings = settings.to_owned();
        self.write(move |tx| {
            let settings = &settings;
            query(
                "INSERT INTO site_settings (site_id, settings, updated_at) VALUES (?, ?, ?) \
                 ON CONFLICT (site_id) DO UPDATE SET settings = excluded.settings, updated_at = excluded.updated_at",
            )
            .bind(site.as_uuid())
            .bind(to_json(settings)?)
            .bind(ts(Utc::now()))
            .execute(tx)
            .map_err(db_err)?;
            Ok(())
        })
        .await
    }

    // --- agent tools: secure tokens ---------------------------------------------------------

    async fn put_secure_token(&self, token: &SecureToken) -> StoreResult<SecureToken> {
        let token = token.to_owned();
        self.write(move |tx| {
            let token = &token;
            let t = token;
            let row = query(
                "INSERT INTO secure_tokens (id, site_id, token_type, identifier, value_encrypted, created_at, updated_at) \
                 VALUES (?, ?, ?, ?, ?, ?, ?) \
                 ON CONFLICT (site_id, token_type, identifier) DO UPDATE SET value_encrypted = excluded.value_encrypted, \
                 updated_at = excluded.updated_at RETURNING *",
            )
            .bind(t.id.as_uuid())
            .bind(t.site_id.as_uuid())
            .bind(&t.token_type)
            .bind(&t.identifier)
            .bind(&t.value_encrypted)
            .bind(ts(t.created_at))
            .bind(ts(t.updated_at))
            .fetch_one(tx)
            .map_err(db_err)?;
            let stored = codec::secure_token(&row)?;
            Ok(stored)
        })
        .await
    }

    async fn get_secure_token(&self, site: SiteId, token_type: &str, identifier: &str) -> StoreResult<Option<SecureToken>> {
        let token_type = token_type.to_owned();
        let identifier = identifier.to_owned();
        self.read(move |conn| {
            let token_type = &token_type;
            let identifier = &identifier;
            let row = query("SELECT * FROM secure_tokens WHERE site_id = ? AND token_type = ? AND identifier = ?")
                .bind(site.as_uuid())
                .bind(token_type)
                .bind(identifier)
                .fetch_optional(conn)
                .map_err(db_err)?;
            row.as_ref().map(codec::secure_token).transpose()
        })
        .await
    }

    async fn list_secure_tokens(&self, site: SiteId) -> StoreResult<Vec<SecureToken>> {
        self.read(move |conn| {
            let rows = query("SELECT * FROM secure_tokens WHERE site_id = ? ORDER BY created_at, id")
                .bind(site.as_uuid())
                .fetch_all(conn)
                .map_err(db_err)?;
            rows.iter().map(codec::secure_token).collect()
        })
        .await
    }

    async fn delete_secure_token(&self, id: SecureTokenId) -> StoreResult<bool> {
        self.delete_by_id("secure_tokens", id.as_uuid()).await
    }

    // --- agent tools: tool configs ----------------------------------------------------------

    async fn create_tool_config(&self, config: &ToolConfig) -> StoreResult<()> {
        let config = config.to_owned();
        self.write(move |tx| {
            let config = &config;
            let c = config;
            query(
                "INSERT INTO tool_configs (id, site_id, name, tool, prompt, settings, created_at, updated_at) \
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(c.id.as_uuid())
            .bind(c.site_id.as_uuid())
            .bind(&c.name)
            .bind(&c.tool)
            .bind(&c.prompt)
            .bind(to_json(&c.settings)?)
            .bind(ts(c.created_at))
            .bind(ts(c.updated_at))
            .execute(tx)
            .map_err(db_err)?;
            Ok(())
        })
        .await
    }

    async fn update_tool_config(&self, config: &ToolConfig) -> StoreResult<()> {
        let config = config.to_owned();
        self.write(move |tx| {
            let config = &config;
            let c = config;
            let done = query("UPDATE tool_configs SET name = ?, prompt = ?, settings = ?, updated_at = ? WHERE id = ?")
                .bind(&c.name)
                .bind(&c.prompt)
                .bind(to_json(&c.settings)?)
                .bind(ts(c.updated_at))
                .bind(c.id.as_uuid())
                .execute(tx)
                .map_err(db_err)?;
            if done.rows_affected() == 0 {
                return Err(StoreError::NotFound(format!("tool config {}", c.id)));
            }
            Ok(())
        })
        .await
    }

    async fn get_tool_config(&self, id: ToolConfigId) -> StoreResult<Option<ToolConfig>> {
        self.read(move |conn| {
            let row = query("SELECT * FROM tool_configs WHERE id = ?").bind(id.as_uuid()).fetch_optional(conn).map_err(db_err)?;
            row.as_ref().map(codec::tool_config).transpose()
        })
        .await
    }

    async fn get_tool_config_by_name(&self, site: SiteId, name: &str) -> StoreResult<Option<ToolConfig>> {
        let name = name.to_owned();
        self.read(move |conn| {
            let name = &name;
            let row = query("SELECT * FROM tool_configs WHERE site_id = ? AND name = ?")
                .bind(site.as_uuid())
                .bind(name)
                .fetch_optional(conn)
                .map_err(db_err)?;
            row.as_ref().map(codec::tool_config).transpose()
        })
        .await
    }

    async fn list_tool_configs(&self, site: Option<SiteId>) -> StoreResult<Vec<ToolConfig>> {
        self.read(move |conn| {
            let rows = match site {
                Some(site) => query("SELECT * FROM tool_configs WHERE site_id = ? ORDER BY name, id").bind(site.as_uuid()).fetch_all(conn),
                None => query("SELECT * FROM tool_configs ORDER BY name, site_id, id").fetch_all(conn),
            }
            .map_err(db_err)?;
            rows.iter().map(codec::tool_config).collect()
        })
        .await
    }

    async fn delete_tool_config(&self, id: ToolConfigId) -> StoreResult<bool> {
        self.delete_by_id("tool_configs", id.as_uuid()).await
    }

    // --- agent tools: tool runs -------------------------------------------------------------

    async fn insert_tool_run(&self, run: &ToolRun, events: &[NewEvent]) -> StoreResult<()> {
        let run = run.to_owned();
        let events = events.to_owned();
        self.write(move |tx| {
            let run = &run;
            let events = &events;
            let r = run;
            query(
                "INSERT INTO tool_runs (id, site_id, tool, tool_config_id, contact_id, status, code, dry_run, inputs, checks, \
                 decision, outputs, message_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(r.id.as_uuid())
            .bind(r.site_id.as_uuid())
            .bind(&r.tool)
            .bind(r.tool_config_id.map(|c| c.as_uuid()))
            .bind(r.contact_id.map(|c| c.as_uuid()))
            .bind(&r.status)
            .bind(&r.code)
            .bind(r.dry_run)
            .bind(to_json(&r.inputs)?)
            .bind(to_json(&r.checks)?)
            .bind(to_json(&r.decision)?)
            .bind(to_json(&r.outputs)?)
            .bind(r.message_id.map(|m| m.as_uuid()))
            .bind(ts(r.created_at))
            .execute(tx)
            .map_err(db_err)?;
            append(tx, events)?;
            Ok(())
        })
        .await
    }

    async fn get_tool_run(&self, id: ToolRunId) -> StoreResult<Option<ToolRun>> {
        self.read(move |conn| {
            let row = query("SELECT * FROM tool_runs WHERE id = ?").bind(id.as_uuid()).fetch_optional(conn).map_err(db_err)?;
            row.as_ref().map(codec::tool_run).transpose()
        })
        .await
    }

    async fn list_tool_runs(&self, filter: &ToolRunFilter) -> StoreResult<Vec<ToolRun>> {
        let filter = filter.to_owned();
        self.read(move |conn| {
            let filter = &filter;
            let mut q = QueryBuilder::new("SELECT * FROM tool_runs WHERE 1 = 1");
            if let Some(site) = filter.site {
                q.push(" AND site_id = ").push_bind(site.as_uuid());
            }
            if let Some(tool) = &filter.tool {
                q.push(" AND tool = ").push_bind(tool.clone());
            }
            if let Some(contact) = filter.contact {
                q.push(" AND contact_id = ").push_bind(contact.as_uuid());
            }
            if let Some(status) = &filter.status {
                q.push(" AND status = ").push_bind(status.clone());
            }
            if let Some(since) = filter.since {
                q.push(" AND created_at >= ").push_bind(ts(trunc(since)));
            }
            if let Some(until) = filter.until {
                q.push(" AND created_at < ").push_bind(ts(trunc(until)));
            }
            if let Some(before) = filter.before {
                q.push(" AND id < ").push_bind(before.as_uuid());
            }
            q.push(" ORDER BY id DESC LIMIT ").push_bind(i64::from(filter.limit));
            let rows = q.build().fetch_all(conn).map_err(db_err)?;
            rows.iter().map(codec::tool_run).collect()
        })
        .await
    }

    // --- agent tools: sent emails -----------------------------------------------------------

    async fn insert_sent_email(&self, sent: &SentEmail) -> StoreResult<()> {
        let sent = sent.to_owned();
        self.write(move |tx| {
            let sent = &sent;
            insert_sent(tx, sent)?;
            Ok(())
        })
        .await
    }

    async fn reserve_sent_email(&self, sent: &SentEmail, since: DateTime<Utc>, limit: u32) -> StoreResult<Vec<SentEmail>> {
        let sent = sent.to_owned();
        self.write(move |tx| {
            let sent = &sent;
            // BEGIN IMMEDIATE holds the database's one write lock: reservations are serialised.
            let rows = query(
                "SELECT * FROM sent_emails WHERE site_id = ? AND recipient = ? AND created_at >= ? \
                 ORDER BY created_at DESC, id DESC LIMIT ?",
            )
            .bind(sent.site_id.as_uuid())
            .bind(sent.recipient.trim().to_lowercase())
            .bind(ts(since))
            .bind(i64::from(limit))
            .fetch_all(tx)
            .map_err(db_err)?;
            let earlier = rows.iter().map(codec::sent_email).collect::<StoreResult<Vec<_>>>()?;
            insert_sent(tx, sent)?;
            Ok(earlier)
        })
        .await
    }

    async fn list_sent_emails(&self, site: SiteId, recipient: &str, since: DateTime<Utc>, limit: u32) -> StoreResult<Vec<SentEmail>> {
        let recipient = recipient.to_owned();
        self.read(move |conn| {
            let recipient = &recipient;
            let rows = query(
                "SELECT * FROM sent_emails WHERE site_id = ? AND recipient = ? AND created_at >= ? \
                 ORDER BY created_at DESC, id DESC LIMIT ?",
            )
            .bind(site.as_uuid())
            .bind(recipient.trim().to_lowercase())
            .bind(ts(trunc(since)))
            .bind(i64::from(limit))
            .fetch_all(conn)
            .map_err(db_err)?;
            rows.iter().map(codec::sent_email).collect()
        })
        .await
    }

    async fn list_contact_sends(&self, contact: ContactId, limit: u32) -> StoreResult<Vec<SentEmail>> {
        self.read(move |conn| {
            let rows = query("SELECT * FROM sent_emails WHERE contact_id = ? ORDER BY created_at DESC, id DESC LIMIT ?")
                .bind(contact.as_uuid())
                .bind(i64::from(limit))
                .fetch_all(conn)
                .map_err(db_err)?;
            rows.iter().map(codec::sent_email).collect()
        })
        .await
    }

    async fn find_sent_email(&self, site: SiteId, provider: &str, external_message_id: &str) -> StoreResult<Option<SentEmail>> {
        let provider = provider.to_owned();
        let external_message_id = external_message_id.to_owned();
        self.read(move |conn| {
            let provider = &provider;
            let external_message_id = &external_message_id;
            let row = query("SELECT * FROM sent_emails WHERE site_id = ? AND provider = ? AND external_message_id = ?")
                .bind(site.as_uuid())
                .bind(provider)
                .bind(external_message_id)
                .fetch_optional(conn)
                .map_err(db_err)?;
            row.as_ref().map(codec::sent_email).transpose()
        })
        .await
    }

    async fn complete_sent_email(
        &self,
        id: SentEmailId,
        provider: &str,
        external_message_id: &str,
        message: Option<MessageId>,
    ) -> StoreResult<bool> {
        let provider = provider.to_owned();
        let external_message_id = external_message_id.to_owned();
        self.write(move |tx| {
            let provider = &provider;
            let external_message_id = &external_message_id;
            let done = query("UPDATE sent_emails SET provider = ?, external_message_id = ?, message_id = ? WHERE id = ?")
                .bind(provider)
                .bind(external_message_id)
                .bind(message.map(|m| m.as_uuid()))
                .bind(id.as_uuid())
                .execute(tx)
                .map_err(db_err)?;
            Ok(done.rows_affected() == 1)
        })
        .await
    }

    async fn delete_sent_email(&self, id: SentEmailId) -> StoreResult<bool> {
        self.write(move |tx| {
            let done = query("DELETE FROM sent_emails WHERE id = ?").bind(id.as_uuid()).execute(tx).map_err(db_err)?;
            Ok(done.rows_affected() == 1)
        })
        .await
    }

    // --- the event log ----------------------------------------------------------------------

    async fn append_events(&self, events: &[NewEvent]) -> StoreResult<()> {
        let events = events.to_owned();
        self.write(move |tx| {
            let events = &events;
            if events.is_empty() {
                return Ok(());
            }
            append(tx, events)?;
            Ok(())
        })
        .await
    }

    async fn list_events(&self, site: Option<SiteId>, after: Option<i64>, limit: u32) -> StoreResult<Vec<Event>> {
        self.read(move |conn| {
            let mut q = QueryBuilder::new("SELECT * FROM events WHERE seq > ");
            q.push_bind(after.unwrap_or(0));
            if let Some(site) = site {
                q.push(" AND site_id = ").push_bind(site.as_uuid());
            }
            q.push(" ORDER BY seq LIMIT ").push_bind(i64::from(limit));
            let rows = q.build().fetch_all(conn).map_err(db_err)?;
            rows.iter().map(codec::event).collect()
        })
        .await
    }

    // --- idempotency keys -------------------------------------------------------------------

    async fn claim_idempotency_key(&self, site: SiteId, key: &str, request_hash: &str) -> StoreResult<IdempotencyClaim> {
        let key = key.to_owned();
        let request_hash = request_hash.to_owned();
        self.write(move |tx| {
            let key = &key;
            let request_hash = &request_hash;
            let done = query(
                "INSERT INTO idempotency_keys (site_id, key, request_hash, created_at) VALUES (?, ?, ?, ?) \
                 ON CONFLICT (site_id, key) DO NOTHING",
            )
            .bind(site.as_uuid())
            .bind(key)
            .bind(request_hash)
            .bind(ts(Utc::now()))
            .execute(tx)
            .map_err(db_err)?;
            let claim = if done.rows_affected() == 1 {
                IdempotencyClaim::Claimed
            } else {
                let row = query("SELECT request_hash, status_code, response_body FROM idempotency_keys WHERE site_id = ? AND key = ?")
                    .bind(site.as_uuid())
                    .bind(key)
                    .fetch_one(tx)
                    .map_err(db_err)?;
                existing_claim(&row)?
            };
            Ok(claim)
        })
        .await
    }

    async fn complete_idempotency_key(&self, site: SiteId, key: &str, status: u16, body: &str) -> StoreResult<()> {
        let key = key.to_owned();
        let body = body.to_owned();
        self.write(move |tx| {
            let key = &key;
            let body = &body;
            // A key purged or released meanwhile is not an error: the request itself succeeded.
            query("UPDATE idempotency_keys SET status_code = ?, response_body = ? WHERE site_id = ? AND key = ?")
                .bind(i64::from(status))
                .bind(body)
                .bind(site.as_uuid())
                .bind(key)
                .execute(tx)
                .map_err(db_err)?;
            Ok(())
        })
        .await
    }

    async fn release_idempotency_key(&self, site: SiteId, key: &str) -> StoreResult<()> {
        let key = key.to_owned();
        self.write(move |tx| {
            let key = &key;
            query("DELETE FROM idempotency_keys WHERE site_id = ? AND key = ?")
                .bind(site.as_uuid())
                .bind(key)
                .execute(tx)
                .map_err(db_err)?;
            Ok(())
        })
        .await
    }

    async fn purge_idempotency_keys(&self, before: DateTime<Utc>) -> StoreResult<u64> {
        self.write(move |tx| {
            let done = query("DELETE FROM idempotency_keys WHERE created_at < ?").bind(ts(trunc(before))).execute(tx).map_err(db_err)?;
            Ok(done.rows_affected())
        })
        .await
    }
}

impl SqliteStore {
    /// Deletes the row of `table` (a fixed table name, never input) with this id; returns
    /// whether it existed.
    async fn delete_by_id(&self, table: &'static str, id: uuid::Uuid) -> StoreResult<bool> {
        self.write(move |tx| {
            let done = query(&format!("DELETE FROM {table} WHERE id = ?")).bind(id).execute(tx).map_err(db_err)?;
            Ok(done.rows_affected() > 0)
        })
        .await
    }
}

/// Reads the earlier use of an idempotency key.
fn existing_claim(row: &SqliteRow) -> StoreResult<IdempotencyClaim> {
    let status: Option<i64> = col(row, "status_code")?;
    let body: Option<String> = col(row, "response_body")?;
    let response = match (status, body) {
        (Some(status), body) => {
            let status = u16::try_from(status).map_err(|_| StoreError::Corrupt(format!("status code {status} is out of range")))?;
            Some((status, body.unwrap_or_default()))
        }
        (None, _) => None,
    };
    Ok(IdempotencyClaim::Existing { request_hash: col(row, "request_hash")?, response })
}

/// Appends events inside the caller's write transaction; their cursors are assigned in order.
/// Returns whether there were any (the commit then bumps the event signal).
fn append(conn: &Tx<'_>, events: &[NewEvent]) -> StoreResult<bool> {
    for e in events {
        query("INSERT INTO events (id, site_id, mailbox_id, type, data, created_at) VALUES (?, ?, ?, ?, ?, ?)")
            .bind(e.id.as_uuid())
            .bind(e.site_id.as_uuid())
            .bind(e.mailbox_id.map(|m| m.as_uuid()))
            .bind(&e.event_type)
            .bind(to_json(&e.data)?)
            .bind(ts(e.created_at))
            .execute(conn)
            .map_err(db_err)?;
    }
    if !events.is_empty() {
        conn.appended();
    }
    Ok(!events.is_empty())
}

/// Overwrites (or creates) a setting inside the caller's write transaction.
fn upsert_setting(conn: &Connection, key: &str, value: &str) -> StoreResult<()> {
    query("INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value")
        .bind(key)
        .bind(value)
        .execute(conn)
        .map_err(db_err)?;
    Ok(())
}

/// Loads the attempts of `deliveries`, oldest first (one query per chunk, not per delivery).
fn with_history(conn: &Connection, deliveries: &mut [WebhookDelivery]) -> StoreResult<()> {
    let mut history: HashMap<WebhookDeliveryId, Vec<WebhookAttempt>> = HashMap::new();
    let ids: Vec<WebhookDeliveryId> = deliveries.iter().map(|d| d.id).collect();
    for chunk in ids.chunks(CHUNK) {
        let mut q = QueryBuilder::new("SELECT * FROM webhook_attempts WHERE delivery_id IN (");
        let mut list = q.separated(", ");
        for id in chunk {
            list.push_bind(id.as_uuid());
        }
        q.push(") ORDER BY delivery_id, attempt, seq");
        for row in q.build().fetch_all(conn).map_err(db_err)? {
            history.entry(codec::id(&row, "delivery_id")?).or_default().push(codec::webhook_attempt(&row)?);
        }
    }
    for d in deliveries {
        d.history = history.remove(&d.id).unwrap_or_default();
    }
    Ok(())
}

/// Brings a thread's counters in line with its remaining messages, deleting it when empty.
fn recount_thread(conn: &Connection, thread: ThreadId) -> StoreResult<()> {
    let latest = query(
        "SELECT (SELECT COUNT(*) FROM messages WHERE thread_id = ?1) AS n, snippet, created_at \
         FROM messages WHERE thread_id = ?1 ORDER BY created_at DESC, id DESC LIMIT 1",
    )
    .bind(thread.as_uuid())
    .fetch_optional(conn)
    .map_err(db_err)?;
    match latest {
        None => {
            query("DELETE FROM threads WHERE id = ?").bind(thread.as_uuid()).execute(conn).map_err(db_err)?;
        }
        Some(row) => {
            query("UPDATE threads SET message_count = ?, snippet = ?, last_message_at = ? WHERE id = ?")
                .bind(col::<i64>(&row, "n")?)
                .bind(col::<String>(&row, "snippet")?)
                .bind(col::<String>(&row, "created_at")?)
                .bind(thread.as_uuid())
                .execute(conn)
                .map_err(db_err)?;
        }
    }
    Ok(())
}

/// Returns the keys, without duplicates, that no remaining message or attachment refers to.
fn unreferenced(conn: &Connection, keys: Vec<String>) -> StoreResult<Vec<String>> {
    let mut seen = HashSet::new();
    let keys: Vec<String> = keys.into_iter().filter(|k| seen.insert(k.clone())).collect();
    let mut referenced = HashSet::new();
    for chunk in keys.chunks(CHUNK) {
        let mut q = QueryBuilder::new("SELECT raw_blob_key AS k FROM messages WHERE raw_blob_key IN (");
        let mut list = q.separated(", ");
        for k in chunk {
            list.push_bind(k);
        }
        q.push(") UNION SELECT blob_key AS k FROM attachments WHERE blob_key IN (");
        let mut list = q.separated(", ");
        for k in chunk {
            list.push_bind(k);
        }
        q.push(")");
        for row in q.build().fetch_all(conn).map_err(db_err)? {
            referenced.insert(col::<String>(&row, "k")?);
        }
    }
    Ok(keys.into_iter().filter(|k| !referenced.contains(k)).collect())
}

/// Loads the DKIM keys of `domains`, in the order they were given.
fn with_keys(conn: &Connection, domains: &mut [Domain]) -> StoreResult<()> {
    let mut keys: HashMap<DomainId, Vec<DkimKey>> = HashMap::new();
    let ids: Vec<DomainId> = domains.iter().map(|d| d.id).collect();
    for chunk in ids.chunks(CHUNK) {
        let mut q = QueryBuilder::new("SELECT * FROM dkim_keys WHERE domain_id IN (");
        let mut list = q.separated(", ");
        for id in chunk {
            list.push_bind(id.as_uuid());
        }
        q.push(") ORDER BY domain_id, position");
        for row in q.build().fetch_all(conn).map_err(db_err)? {
            keys.entry(codec::id(&row, "domain_id")?).or_default().push(codec::dkim_key(&row)?);
        }
    }
    for d in domains {
        d.dkim = keys.remove(&d.id).unwrap_or_default();
    }
    Ok(())
}

/// Loads the attachments and recipients of `messages` (two queries per chunk, not per message).
fn complete(conn: &Connection, messages: &mut [Message]) -> StoreResult<()> {
    if messages.is_empty() {
        return Ok(());
    }
    let mut attachments: HashMap<MessageId, Vec<Attachment>> = HashMap::new();
    let mut recipients: HashMap<MessageId, Vec<Recipient>> = HashMap::new();
    let ids: Vec<MessageId> = messages.iter().map(|m| m.id).collect();
    for chunk in ids.chunks(CHUNK) {
        let mut q = QueryBuilder::new("SELECT * FROM attachments WHERE message_id IN (");
        let mut list = q.separated(", ");
        for id in chunk {
            list.push_bind(id.as_uuid());
        }
        q.push(") ORDER BY message_id, position");
        for row in q.build().fetch_all(conn).map_err(db_err)? {
            attachments.entry(codec::id(&row, "message_id")?).or_default().push(codec::attachment(&row)?);
        }
        let mut q = QueryBuilder::new("SELECT * FROM message_recipients WHERE message_id IN (");
        let mut list = q.separated(", ");
        for id in chunk {
            list.push_bind(id.as_uuid());
        }
        q.push(") ORDER BY message_id, position");
        for row in q.build().fetch_all(conn).map_err(db_err)? {
            recipients.entry(codec::id(&row, "message_id")?).or_default().push(codec::recipient(&row)?);
        }
    }
    for m in messages {
        m.attachments = attachments.remove(&m.id).unwrap_or_default();
        m.recipients = recipients.remove(&m.id).unwrap_or_default();
    }
    Ok(())
}

/// Inserts a message with its thread, attachments, recipients and events on a connection
/// inside a write transaction (the caller's group commit); returns whether events were
/// appended.
pub(crate) fn insert_message_on(tx: &Tx<'_>, new: &NewMessage, events: &[NewEvent]) -> StoreResult<bool> {
    let m = &new.message;
    let mailbox = query("SELECT id FROM mailboxes WHERE id = ?").bind(m.mailbox_id.as_uuid()).fetch_optional(tx).map_err(db_err)?;
    if mailbox.is_none() {
        return Err(StoreError::NotFound(format!("mailbox {}", m.mailbox_id)));
    }
    let created_at = trunc(m.created_at);
    if new.new_thread {
        query(
            "INSERT INTO threads (id, site_id, mailbox_id, subject, participants, message_count, snippet, last_message_at, created_at) \
             VALUES (?, ?, ?, ?, ?, 1, ?, ?, ?)",
        )
        .bind(m.thread_id.as_uuid())
        .bind(m.site_id.as_uuid())
        .bind(m.mailbox_id.as_uuid())
        .bind(m.subject.as_deref().map(base_subject))
        .bind(to_json(&participants_of(m))?)
        .bind(&m.snippet)
        .bind(ts(created_at))
        .bind(ts(created_at))
        .execute(tx)
        .map_err(db_err)?;
    } else {
        let row = query("SELECT participants, last_message_at FROM threads WHERE id = ? AND mailbox_id = ?")
            .bind(m.thread_id.as_uuid())
            .bind(m.mailbox_id.as_uuid())
            .fetch_optional(tx)
            .map_err(db_err)?
            .ok_or_else(|| StoreError::NotFound(format!("thread {} in mailbox {}", m.thread_id, m.mailbox_id)))?;
        let mut participants: Vec<EmailAddress> = json(&row, "participants")?;
        merge_participants(&mut participants, participants_of(m));
        let last = time(&row, "last_message_at")?;
        let newest = created_at >= last;
        query(
            "UPDATE threads SET message_count = message_count + 1, participants = ?, last_message_at = ?, \
             snippet = CASE WHEN ? THEN ? ELSE snippet END WHERE id = ?",
        )
        .bind(to_json(&participants)?)
        .bind(ts(created_at.max(last)))
        .bind(newest)
        .bind(&m.snippet)
        .bind(m.thread_id.as_uuid())
        .execute(tx)
        .map_err(db_err)?;
    }
    query(
        "INSERT INTO messages (id, site_id, mailbox_id, thread_id, direction, message_id_header, in_reply_to, \"references\", \
         from_address, to_addresses, cc_addresses, bcc_addresses, reply_to, subject, text_body, html_body, snippet, headers, \
         labels, read, size, raw_blob_key, auth_results, created_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(m.id.as_uuid())
    .bind(m.site_id.as_uuid())
    .bind(m.mailbox_id.as_uuid())
    .bind(m.thread_id.as_uuid())
    .bind(m.direction.as_str())
    .bind(&m.message_id)
    .bind(&m.in_reply_to)
    .bind(to_json(&m.references)?)
    .bind(m.from.as_ref().map(to_json).transpose()?)
    .bind(to_json(&m.to)?)
    .bind(to_json(&m.cc)?)
    .bind(to_json(&m.bcc)?)
    .bind(to_json(&m.reply_to)?)
    .bind(&m.subject)
    .bind(&m.text)
    .bind(&m.html)
    .bind(&m.snippet)
    .bind(to_json(&m.headers)?)
    .bind(to_json(&m.labels)?)
    .bind(m.read)
    .bind(signed(m.size, "message size")?)
    .bind(&m.raw_blob_key)
    .bind(m.auth_results.as_ref().map(to_json).transpose()?)
    .bind(ts(created_at))
    .execute(tx)
    .map_err(db_err)?;
    for (position, a) in m.attachments.iter().enumerate() {
        query(
            "INSERT INTO attachments (id, message_id, site_id, position, filename, content_type, size, content_id, inline, blob_key) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(a.id.as_uuid())
        .bind(m.id.as_uuid())
        .bind(m.site_id.as_uuid())
        .bind(signed(position, "attachment position")?)
        .bind(&a.filename)
        .bind(&a.content_type)
        .bind(signed(a.size, "attachment size")?)
        .bind(&a.content_id)
        .bind(a.inline)
        .bind(&a.blob_key)
        .execute(tx)
        .map_err(db_err)?;
    }
    for (position, r) in m.recipients.iter().enumerate() {
        query(
            "INSERT INTO message_recipients (message_id, address, position, kind, status, last_reply, attempts, next_attempt_at, updated_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(m.id.as_uuid())
        .bind(r.address.as_str())
        .bind(signed(position, "recipient position")?)
        .bind(r.kind.as_str())
        .bind(r.status.as_str())
        .bind(&r.last_reply)
        .bind(i64::from(r.attempts))
        .bind(r.next_attempt_at.map(|t| ts(trunc(t))))
        .bind(ts(r.updated_at))
        .execute(tx)
        .map_err(db_err)?;
    }
    append(tx, events)
}

/// Inserts a `sent_emails` row.
fn insert_sent(tx: &Tx<'_>, s: &SentEmail) -> StoreResult<()> {
    query(
        "INSERT INTO sent_emails (id, site_id, recipient, contact_id, tool, provider, external_message_id, message_id, \
         subject, content_hash, simhash, template, context, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(s.id.as_uuid())
    .bind(s.site_id.as_uuid())
    .bind(s.recipient.trim().to_lowercase())
    .bind(s.contact_id.map(|c| c.as_uuid()))
    .bind(&s.tool)
    .bind(&s.provider)
    .bind(&s.external_message_id)
    .bind(s.message_id.map(|m| m.as_uuid()))
    .bind(&s.subject)
    .bind(&s.content_hash)
    .bind(&s.simhash)
    .bind(&s.template)
    .bind(to_json(&s.context)?)
    .bind(ts(s.created_at))
    .execute(tx)
    .map_err(db_err)?;
    Ok(())
}
