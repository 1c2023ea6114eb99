//! SQLite: messages with their attachments and recipients, and the threads they form.

#[allow(unused_imports)]
use super::*;

#[async_trait]
impl MessageStore for SqliteStore {
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
            insert_blobs(tx, &blobs)?;
            insert_message_on(tx, &new, &events).map(drop)
        })
        .await
    }

    async fn get_message(&self, id: MessageId) -> StoreResult<Option<Message>> {
        self.read(move |conn| {
            let row = query(format!("SELECT {MESSAGE_COLUMNS} FROM messages m WHERE m.id = ?"))
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
            let mut messages = q.build().fetch_map(conn, db_err, |row| codec::message(row))?;
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
                // Naming both directions lets the (mailbox_id, direction, message_id_header) index
                // answer; without it every message of the mailbox is scanned.
                q.push_bind(mailbox.as_uuid()).push(" AND direction IN ('inbound', 'outbound') AND message_id_header IN (");
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
        let searching = filter.q.is_some();
        let page = move |conn: &Connection| {
            let filter = &filter;
            let search = filter.q.as_deref().map(SearchQuery::parse);
            if let Some(search) = &search {
                if search.is_empty() {
                    return Ok(Vec::new());
                }
                if let Some(page) = search_recent(conn, mailbox, filter, search)? {
                    return Ok(page);
                }
            }
            let mut q = QueryBuilder::new(format!("SELECT {MESSAGE_COLUMNS} FROM messages m WHERE m.mailbox_id = "));
            q.push_bind(mailbox.as_uuid());
            push_message_filters(&mut q, filter);
            if let Some(search) = &search {
                // The matches' rowids (integers, no join) become one set; the mailbox's messages
                // are then read newest first, each looked up by its docid, until the page is full.
                q.push(
                    " AND (SELECT s.docid FROM message_search_ids s WHERE s.message_id = m.id) IN \
                     (SELECT rowid FROM message_search WHERE message_search MATCH ",
                )
                .push_bind(codec::fts5_query(search))
                .push(")");
            }
            q.push(" ORDER BY m.id DESC LIMIT ").push_bind(i64::from(filter.limit));
            let mut messages = q.build().fetch_map(conn, db_err, |row| codec::message(row))?;
            complete(conn, &mut messages)?;
            Ok(messages)
        };
        // A search may read many index entries (a rare word in a large mailbox): a reader
        // thread. A plain page is at most a hundred rows by key, read inline: its cost grows
        // with the size of its messages, as does writing it as JSON, which the handler does on
        // the same runtime thread anyway.
        if searching { self.read_long(page).await } else { self.read(page).await }
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
        self.read_long(move |conn| {
            let mut messages = query(format!("SELECT {MESSAGE_COLUMNS} FROM messages m WHERE m.thread_id = ? ORDER BY m.id"))
                .bind(thread.as_uuid())
                .fetch_map(conn, db_err, |row| codec::message(row))?;
            complete(conn, &mut messages)?;
            Ok(messages)
        })
        .await
    }
}

/// Stores blobs `(key, bytes)` inside the caller's write transaction.
pub(super) fn insert_blobs(tx: &Tx<'_>, blobs: &[(String, bytes::Bytes)]) -> StoreResult<()> {
    for (key, data) in blobs {
        query("INSERT INTO blobs (key, data) VALUES (?, ?)").bind(key).bind(data.as_ref()).execute(tx).map_err(db_err)?;
    }
    Ok(())
}

/// Adds the conditions of `filter` other than the search (direction, thread, unread, since,
/// label, cursor) on messages `m`.
fn push_message_filters(q: &mut QueryBuilder, filter: &MessageFilter) {
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
    if let Some(before) = filter.before {
        q.push(" AND m.id < ").push_bind(before.as_uuid());
    }
}

/// How many of a mailbox's newest messages a search checks, in turn, before it reads every
/// match: a few pages' worth first (a word most messages hold), then more.
const SEARCH_WALKS: [i64; 2] = [64, 512];

/// A search that most of a mailbox's messages match, answered from its newest messages: the
/// newest [`SEARCH_WALKS`] that pass the other filters, checked against the index within their
/// docids' range (one index query, bounded by that range, not by every match). Returns the page
/// when that settles it — the page is full, or the mailbox has no older message to check — and
/// `None` when only reading every match can (a word few messages hold).
fn search_recent(conn: &Connection, mailbox: MailboxId, filter: &MessageFilter, search: &SearchQuery) -> StoreResult<Option<Vec<Message>>> {
    for walk in SEARCH_WALKS {
        if let Some(page) = search_walk(conn, mailbox, filter, search, walk.max(2 * i64::from(filter.limit)))? {
            return Ok(Some(page));
        }
    }
    Ok(None)
}

/// One step of [`search_recent`]: checks the `walk` newest messages.
fn search_walk(conn: &Connection, mailbox: MailboxId, filter: &MessageFilter, search: &SearchQuery, walk: i64) -> StoreResult<Option<Vec<Message>>> {
    let mut q = QueryBuilder::new("SELECT m.id, i.docid FROM messages m JOIN message_search_ids i ON i.message_id = m.id WHERE m.mailbox_id = ");
    q.push_bind(mailbox.as_uuid());
    push_message_filters(&mut q, filter);
    q.push(" ORDER BY m.id DESC LIMIT ").push_bind(walk);
    let recent: Vec<(Vec<u8>, i64)> = q
        .build()
        .fetch_all(conn)
        .map_err(db_err)?
        .iter()
        .map(|row| Ok((row.try_get::<Vec<u8>>("id").map_err(StoreError::Corrupt)?, row.try_get::<i64>("docid").map_err(StoreError::Corrupt)?)))
        .collect::<StoreResult<_>>()?;
    let (Some(low), Some(high)) = (recent.iter().map(|r| r.1).min(), recent.iter().map(|r| r.1).max()) else { return Ok(Some(Vec::new())) };
    let matched: std::collections::HashSet<i64> = query("SELECT rowid FROM message_search WHERE message_search MATCH ? AND rowid >= ? AND rowid <= ?")
        .bind(codec::fts5_query(search))
        .bind(low)
        .bind(high)
        .fetch_all(conn)
        .map_err(db_err)?
        .iter()
        .map(|row| row.try_get::<i64>("rowid").map_err(StoreError::Corrupt))
        .collect::<StoreResult<_>>()?;
    let limit = filter.limit as usize;
    let page: Vec<&Vec<u8>> = recent.iter().filter(|(_, docid)| matched.contains(docid)).map(|(id, _)| id).take(limit).collect();
    if page.len() < limit && recent.len() as i64 == walk {
        return Ok(None);
    }
    if page.is_empty() {
        return Ok(Some(Vec::new()));
    }
    let mut q = QueryBuilder::new(format!("SELECT {MESSAGE_COLUMNS} FROM messages m WHERE m.id IN ("));
    let mut ids = q.separated(", ");
    for id in &page {
        ids.push_bind(id.as_slice());
    }
    q.push(") ORDER BY m.id DESC");
    let mut messages = q.build().fetch_map(conn, db_err, |row| codec::message(row))?;
    complete(conn, &mut messages)?;
    Ok(Some(messages))
}
