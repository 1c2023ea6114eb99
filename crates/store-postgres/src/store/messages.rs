//! PostgreSQL: messages with their attachments and recipients, and the threads they form.

#[allow(unused_imports)]
use super::*;

#[async_trait]
impl MessageStore for PgStore {
    async fn insert_message(&self, new: &NewMessage, events: &[NewEvent]) -> StoreResult<()> {
        let appended = if new.new_thread {
            // One statement (see `insert_message_on`), atomic on its own: no BEGIN and COMMIT
            // round trips.
            let mut conn = self.pool.acquire().await.map_err(db_err)?;
            insert_message_on(&mut conn, new, events).await?
        } else {
            let mut tx = self.pool.begin().await.map_err(db_err)?;
            let appended = insert_message_on(&mut tx, new, events).await?;
            tx.commit().await.map_err(db_err)?;
            appended
        };
        self.notify_if(appended).await;
        Ok(())
    }

    async fn get_message(&self, id: MessageId) -> StoreResult<Option<Message>> {
        let row = sqlx::query(&format!("SELECT {MESSAGE_COLUMNS} FROM messages m WHERE m.id = $1"))
            .bind(id.as_uuid())
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?;
        let Some(row) = row else { return Ok(None) };
        let mut messages = vec![codec::message(&row)?];
        self.complete(&mut messages).await?;
        Ok(messages.pop())
    }

    async fn find_message_by_message_id(
        &self,
        mailbox: MailboxId,
        direction: Option<Direction>,
        message_id: &str,
    ) -> StoreResult<Option<Message>> {
        // Equality on every column of the unique (mailbox_id, direction, message_id_header)
        // index, one point lookup per direction, planned at each call with its values: the
        // function `mailroom_message_by_message_id` (migration
        // `20261206000000_one_round_trip.sql`) says why.
        let directions: &[Direction] = match direction {
            Some(Direction::Inbound) => &[Direction::Inbound],
            Some(Direction::Outbound) => &[Direction::Outbound],
            None => &[Direction::Inbound, Direction::Outbound],
        };
        let mut messages = Vec::new();
        for d in directions {
            let row = sqlx::query(&format!("SELECT {MESSAGE_COLUMNS} FROM mailroom_message_by_message_id($1, $2, $3) m"))
                .bind(mailbox.as_uuid())
                .bind(d.as_str())
                .bind(message_id)
                .fetch_optional(&self.pool)
                .await
                .map_err(db_err)?;
            if let Some(row) = row {
                messages.push(codec::message(&row)?);
            }
        }
        // The newest when both directions hold the Message-ID.
        messages.sort_by_key(|m| m.id);
        let mut found: Vec<Message> = messages.pop().into_iter().collect();
        self.complete(&mut found).await?;
        Ok(found.pop())
    }

    async fn find_thread_by_message_ids(&self, mailbox: MailboxId, message_ids: &[String]) -> StoreResult<Option<ThreadId>> {
        if message_ids.is_empty() {
            return Ok(None);
        }
        // Planned at each call with its values, each lookup apart from the ORDER BY … LIMIT:
        // see the function `mailroom_thread_by_message_ids`.
        let row = sqlx::query("SELECT mailroom_thread_by_message_ids($1, $2) AS thread_id")
            .bind(mailbox.as_uuid())
            .bind(message_ids)
            .fetch_one(&self.pool)
            .await
            .map_err(db_err)?;
        let thread: Option<Uuid> = col(&row, "thread_id")?;
        Ok(thread.map(ThreadId::from))
    }

    async fn list_messages(&self, mailbox: MailboxId, filter: &MessageFilter) -> StoreResult<Vec<Message>> {
        let mut q = QueryBuilder::<Postgres>::new(format!("SELECT {MESSAGE_COLUMNS} FROM messages m WHERE m.mailbox_id = "));
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
            q.push(" AND m.created_at >= ").push_bind(trunc(since));
        }
        if let Some(label) = &filter.label {
            q.push(" AND m.labels ? ").push_bind(label);
        }
        if let Some(text) = &filter.q {
            let search = SearchQuery::parse(text);
            if search.is_empty() {
                return Ok(Vec::new());
            }
            q.push(" AND m.search @@ to_tsquery('simple', ").push_bind(codec::tsquery(&search)).push(")");
        }
        if let Some(before) = filter.before {
            q.push(" AND m.id < ").push_bind(before.as_uuid());
        }
        q.push(" ORDER BY m.id DESC LIMIT ").push_bind(i64::from(filter.limit));
        let rows = q.build().fetch_all(&self.pool).await.map_err(db_err)?;
        let mut messages = rows.iter().map(codec::message).collect::<StoreResult<Vec<_>>>()?;
        self.complete(&mut messages).await?;
        Ok(messages)
    }

    async fn update_message_flags(&self, id: MessageId, read: bool, labels: &[String]) -> StoreResult<()> {
        let done = sqlx::query("UPDATE messages SET read = $1, labels = $2 WHERE id = $3")
            .bind(read)
            .bind(to_json(labels)?)
            .bind(id.as_uuid())
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("message {id}")));
        }
        Ok(())
    }

    async fn delete_message(&self, id: MessageId, event: &NewEvent) -> StoreResult<Vec<String>> {
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        let not_found = || StoreError::NotFound(format!("message {id}"));
        // A message never changes thread, so its thread can be read before locking: thread
        // first, then the message, in the order a cascading mailbox deletion takes them.
        let row = sqlx::query("SELECT thread_id FROM messages WHERE id = $1")
            .bind(id.as_uuid())
            .fetch_optional(&mut *tx)
            .await
            .map_err(db_err)?
            .ok_or_else(not_found)?;
        let thread: ThreadId = codec::id(&row, "thread_id")?;
        sqlx::query("SELECT id FROM threads WHERE id = $1 FOR UPDATE").bind(thread.as_uuid()).execute(&mut *tx).await.map_err(db_err)?;
        let row = sqlx::query("SELECT raw_blob_key FROM messages WHERE id = $1 FOR UPDATE")
            .bind(id.as_uuid())
            .fetch_optional(&mut *tx)
            .await
            .map_err(db_err)?
            .ok_or_else(not_found)?;
        let mut keys = vec![col::<String>(&row, "raw_blob_key")?];
        let rows = sqlx::query("SELECT blob_key FROM attachments WHERE message_id = $1 ORDER BY position")
            .bind(id.as_uuid())
            .fetch_all(&mut *tx)
            .await
            .map_err(db_err)?;
        for row in &rows {
            keys.push(col(row, "blob_key")?);
        }
        sqlx::query("DELETE FROM messages WHERE id = $1").bind(id.as_uuid()).execute(&mut *tx).await.map_err(db_err)?;
        recount_thread(&mut tx, thread).await?;
        let keys = unreferenced(&mut tx, keys).await?;
        let appended = append(&mut tx, std::slice::from_ref(event)).await?;
        tx.commit().await.map_err(db_err)?;
        self.notify_if(appended).await;
        Ok(keys)
    }

    async fn get_attachment(&self, id: AttachmentId) -> StoreResult<Option<(Attachment, MessageId, SiteId)>> {
        let row =
            sqlx::query("SELECT * FROM attachments WHERE id = $1").bind(id.as_uuid()).fetch_optional(&self.pool).await.map_err(db_err)?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some((codec::attachment(&row)?, codec::id(&row, "message_id")?, codec::id(&row, "site_id")?)))
    }

    async fn get_thread(&self, id: ThreadId) -> StoreResult<Option<Thread>> {
        let row =
            sqlx::query("SELECT * FROM threads WHERE id = $1").bind(id.as_uuid()).fetch_optional(&self.pool).await.map_err(db_err)?;
        row.as_ref().map(codec::thread).transpose()
    }

    async fn list_threads(&self, mailbox: MailboxId, cursor: Option<ThreadCursor>, limit: u32) -> StoreResult<Vec<Thread>> {
        let mut q = QueryBuilder::<Postgres>::new("SELECT * FROM threads WHERE mailbox_id = ");
        q.push_bind(mailbox.as_uuid());
        if let Some(c) = cursor {
            q.push(" AND (last_message_at, id) < (").push_bind(trunc(c.last_message_at)).push(", ").push_bind(c.id.as_uuid()).push(")");
        }
        q.push(" ORDER BY last_message_at DESC, id DESC LIMIT ").push_bind(i64::from(limit));
        let rows = q.build().fetch_all(&self.pool).await.map_err(db_err)?;
        rows.iter().map(codec::thread).collect()
    }

    async fn list_thread_messages(&self, thread: ThreadId) -> StoreResult<Vec<Message>> {
        let rows = sqlx::query(&format!("SELECT {MESSAGE_COLUMNS} FROM messages m WHERE m.thread_id = $1 ORDER BY m.id"))
            .bind(thread.as_uuid())
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        let mut messages = rows.iter().map(codec::message).collect::<StoreResult<Vec<_>>>()?;
        self.complete(&mut messages).await?;
        Ok(messages)
    }
}

/// The text `messages.search` is built from, prepared here rather than by the database: the
/// subject (first [`INDEXED_FIELD_CHARS`] characters), the text body (first
/// [`INDEXED_BODY_CHARS`]), the sender's display name and address, the To and Cc recipients'
/// (each group bounded like the subject), ASCII punctuation turned into spaces. It is what
/// the SQL function `message_search_document` computed for the former generated column, so
/// old and new rows answer a query alike; the database now only tokenises it.
fn search_document(m: &Message) -> String {
    use mailroom_store::search::{INDEXED_BODY_CHARS, INDEXED_FIELD_CHARS};
    fn left(s: &str, chars: usize) -> &str {
        s.char_indices().nth(chars).map_or(s, |(i, _)| &s[..i])
    }
    // As jsonb orders an address object's keys: `name`, then `address`.
    fn values<'a>(addresses: impl Iterator<Item = &'a NamedAddress>) -> String {
        let mut out: Vec<&str> = Vec::new();
        for a in addresses {
            if let Some(name) = &a.name {
                out.push(name);
            }
            out.push(a.address.as_str());
        }
        out.join(" ")
    }
    let sender = values(m.from.iter());
    let recipients = values(m.to.iter().chain(m.cc.iter()));
    let joined = [
        left(m.subject.as_deref().unwrap_or(""), INDEXED_FIELD_CHARS),
        left(m.text.as_deref().unwrap_or(""), INDEXED_BODY_CHARS),
        left(&sender, INDEXED_FIELD_CHARS),
        left(&recipients, INDEXED_FIELD_CHARS),
    ]
    .join(" ");
    joined.chars().map(|c| if c.is_ascii_punctuation() { ' ' } else { c }).collect()
}

/// Inserts a message with its thread, attachments, recipients and events inside the caller's
/// transaction; returns whether events were appended.
///
/// The rows are written by one statement (data-modifying `WITH` queries), one round trip: a
/// message that starts a thread is that statement alone, atomic by itself, so the caller may
/// run it outside a transaction. A reply first locks its mailbox and its thread (the lock
/// order) and reads the thread to merge its participants, so it needs the caller's
/// transaction. Foreign keys are checked at the end of the statement, when every row of it is
/// written: a new thread's check locks the mailbox row (`FOR KEY SHARE`) and answers
/// `NotFound` when the mailbox is gone.
pub(super) async fn insert_message_on(conn: &mut PgConnection, new: &NewMessage, events: &[NewEvent]) -> StoreResult<bool> {
    let m = &new.message;
    let created_at = trunc(m.created_at);
    // The search vector: written here for an ASCII document (the same vector, tested), left
    // to the database's parser otherwise.
    let search_document = search_document(m);
    let search_literal = crate::tsvector::ascii_literal(&search_document);
    let search_document = if search_literal.is_none() { Some(search_document) } else { None };
    let mut attachments = Vec::with_capacity(m.attachments.len());
    for (position, a) in m.attachments.iter().enumerate() {
        attachments.push((a, signed::<i32, _>(position, "attachment position")?, signed::<i64, _>(a.size, "attachment size")?));
    }
    let mut recipients = Vec::with_capacity(m.recipients.len());
    for (position, r) in m.recipients.iter().enumerate() {
        recipients.push((r, signed::<i32, _>(position, "recipient position")?));
    }
    let mut q = QueryBuilder::<Postgres>::new("WITH t AS (");
    if new.new_thread {
        q.push(
            "INSERT INTO threads (id, site_id, mailbox_id, subject, participants, message_count, snippet, last_message_at, created_at) \
             VALUES (",
        );
        let mut b = q.separated(", ");
        b.push_bind(m.thread_id.as_uuid())
            .push_bind(m.site_id.as_uuid())
            .push_bind(m.mailbox_id.as_uuid())
            .push_bind(m.subject.as_deref().map(base_subject))
            .push_bind(to_json(&participants_of(m))?)
            .push("1")
            .push_bind(&m.snippet)
            .push_bind(created_at)
            .push_bind(created_at);
        b.push_unseparated(")");
    } else {
        let mailbox = sqlx::query("SELECT id FROM mailboxes WHERE id = $1 FOR KEY SHARE")
            .bind(m.mailbox_id.as_uuid())
            .fetch_optional(&mut *conn)
            .await
            .map_err(db_err)?;
        if mailbox.is_none() {
            return Err(StoreError::NotFound(format!("mailbox {}", m.mailbox_id)));
        }
        let row = sqlx::query("SELECT participants, last_message_at FROM threads WHERE id = $1 AND mailbox_id = $2 FOR UPDATE")
            .bind(m.thread_id.as_uuid())
            .bind(m.mailbox_id.as_uuid())
            .fetch_optional(&mut *conn)
            .await
            .map_err(db_err)?
            .ok_or_else(|| StoreError::NotFound(format!("thread {} in mailbox {}", m.thread_id, m.mailbox_id)))?;
        let mut participants: Vec<EmailAddress> = json(&row, "participants")?;
        merge_participants(&mut participants, participants_of(m));
        let last = time(&row, "last_message_at")?;
        q.push("UPDATE threads SET message_count = message_count + 1, participants = ")
            .push_bind(to_json(&participants)?)
            .push(", last_message_at = ")
            .push_bind(created_at.max(last))
            .push(", snippet = CASE WHEN ")
            .push_bind(created_at >= last)
            .push(" THEN ")
            .push_bind(&m.snippet)
            .push(" ELSE snippet END WHERE id = ")
            .push_bind(m.thread_id.as_uuid());
    }
    q.push(
        "), m AS (INSERT INTO messages (id, site_id, mailbox_id, thread_id, direction, message_id_header, in_reply_to, \
         \"references\", from_address, to_addresses, cc_addresses, bcc_addresses, reply_to, subject, text_body, html_body, \
         snippet, headers, labels, read, size, raw_blob_key, auth_results, reading, created_at, search) VALUES (",
    );
    let mut b = q.separated(", ");
    b.push_bind(m.id.as_uuid())
        .push_bind(m.site_id.as_uuid())
        .push_bind(m.mailbox_id.as_uuid())
        .push_bind(m.thread_id.as_uuid())
        .push_bind(m.direction.as_str())
        .push_bind(&m.message_id)
        .push_bind(&m.in_reply_to)
        .push_bind(to_json(&m.references)?)
        .push_bind(m.from.as_ref().map(to_json).transpose()?)
        .push_bind(to_json(&m.to)?)
        .push_bind(to_json(&m.cc)?)
        .push_bind(to_json(&m.bcc)?)
        .push_bind(to_json(&m.reply_to)?)
        .push_bind(&m.subject)
        .push_bind(&m.text)
        .push_bind(&m.html)
        .push_bind(&m.snippet)
        .push_bind(to_json(&m.headers)?)
        .push_bind(to_json(&m.labels)?)
        .push_bind(m.read)
        .push_bind(signed::<i64, _>(m.size, "message size")?)
        .push_bind(&m.raw_blob_key)
        .push_bind(m.auth_results.as_ref().map(to_json).transpose()?)
        .push_bind(to_json(&mailroom_core::reading::stored(m))?)
        .push_bind(created_at)
        .push("COALESCE(")
        .push_bind_unseparated(&search_literal)
        .push_unseparated("::tsvector, to_tsvector('simple', ")
        .push_bind_unseparated(&search_document)
        .push_unseparated("))");
    q.push(")");
    if !attachments.is_empty() {
        q.push("), a AS (INSERT INTO attachments (id, message_id, site_id, position, filename, content_type, size, content_id, inline, blob_key) ");
        q.push_values(attachments, |mut b, (a, position, size)| {
            b.push_bind(a.id.as_uuid())
                .push_bind(m.id.as_uuid())
                .push_bind(m.site_id.as_uuid())
                .push_bind(position)
                .push_bind(&a.filename)
                .push_bind(&a.content_type)
                .push_bind(size)
                .push_bind(&a.content_id)
                .push_bind(a.inline)
                .push_bind(&a.blob_key);
        });
    }
    if !recipients.is_empty() {
        q.push(
            "), r AS (INSERT INTO message_recipients (message_id, address, position, kind, status, last_reply, attempts, \
             next_attempt_at, updated_at) ",
        );
        q.push_values(recipients, |mut b, (r, position)| {
            b.push_bind(m.id.as_uuid())
                .push_bind(r.address.as_str())
                .push_bind(position)
                .push_bind(r.kind.as_str())
                .push_bind(r.status.as_str())
                .push_bind(&r.last_reply)
                .push_bind(i64::from(r.attempts))
                .push_bind(r.next_attempt_at.map(trunc))
                .push_bind(trunc(r.updated_at));
        });
    }
    if !events.is_empty() {
        q.push("), e AS (");
        push_events(&mut q, events)?;
    }
    q.push(") SELECT 1");
    q.build().execute(&mut *conn).await.map_err(db_err)?;
    Ok(!events.is_empty())
}
