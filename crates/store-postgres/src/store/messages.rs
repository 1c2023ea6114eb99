//! PostgreSQL: messages with their attachments and recipients, and the threads they form.

#[allow(unused_imports)]
use super::*;

#[async_trait]
impl MessageStore for PgStore {
    async fn insert_message(&self, new: &NewMessage, events: &[NewEvent]) -> StoreResult<()> {
        self.insert_message_with_blobs(new, events, Vec::new()).await
    }

    fn inline_blob_max(&self) -> usize {
        crate::INLINE_BLOB_MAX
    }

    async fn insert_message_with_blobs(&self, new: &NewMessage, events: &[NewEvent], blobs: Vec<(String, bytes::Bytes)>) -> StoreResult<()> {
        check_inline(&blobs)?;
        if new.new_thread && new.message.size <= crate::batch::ALONE_ABOVE {
            // Written in a batch with other writers' (see the `batch` module), which also
            // numbers the events.
            return crate::batch::write(&self.batches, new, events, blobs).await;
        }
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        let appended = insert_message_on(&mut tx, new, events, &blobs).await?;
        tx.commit().await.map_err(db_err)?;
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
/// transaction; returns whether events were appended. A reply first locks its mailbox and its
/// thread (the lock order), merges the thread's participants and updates it; the rows are then
/// written by [`insert_rows`], one statement.
pub(super) async fn insert_message_on(conn: &mut PgConnection, new: &NewMessage, events: &[NewEvent], blobs: &[(String, bytes::Bytes)]) -> StoreResult<bool> {
    if !new.new_thread {
        let m = &new.message;
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
        let created_at = trunc(m.created_at);
        sqlx::query(
            "UPDATE threads SET message_count = message_count + 1, participants = $1, last_message_at = $2, \
             snippet = CASE WHEN $3 THEN $4 ELSE snippet END WHERE id = $5",
        )
        .bind(to_json(&participants)?)
        .bind(created_at.max(last))
        .bind(created_at >= last)
        .bind(&m.snippet)
        .bind(m.thread_id.as_uuid())
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
    }
    insert_rows(conn, &[Rows { new, events, blobs }]).await?;
    Ok(!events.is_empty())
}

/// Refuses blobs larger than the database keeps ([`crate::INLINE_BLOB_MAX`]), before anything
/// is written.
pub(super) fn check_inline(blobs: &[(String, bytes::Bytes)]) -> StoreResult<()> {
    match blobs.iter().find(|(_, d)| d.len() > crate::INLINE_BLOB_MAX) {
        Some((key, data)) => {
            Err(StoreError::Database(format!("blob {key} is {} bytes, more than the {} kept in the database", data.len(), crate::INLINE_BLOB_MAX).into()))
        }
        None => Ok(()),
    }
}

/// One message's rows for [`insert_rows`]: the message, its events, and the blobs kept with it
/// (at most [`crate::INLINE_BLOB_MAX`] bytes each).
#[derive(Clone, Copy)]
pub(crate) struct Rows<'a> {
    pub(crate) new: &'a NewMessage,
    pub(crate) events: &'a [NewEvent],
    pub(crate) blobs: &'a [(String, bytes::Bytes)],
}

/// Writes the rows of `messages` in one statement, one round trip whatever their number: the
/// threads of those that start one, the messages, their attachments, recipients, events and
/// blobs (data-modifying `WITH` queries over `unnest` of one array per column, so the statement's
/// text, and its prepared plan, is the same for any number of messages; it names only the
/// tables the batch has rows for). A reply's thread must have been
/// updated already, in the caller's transaction. The statement is atomic by itself, so rows of
/// messages that all start a thread may be written outside a transaction. Foreign keys are
/// checked at its end, when all its rows are written: a new thread's check locks its mailbox
/// row (`FOR KEY SHARE`, the lock order's first) and a mailbox that is gone is `NotFound`.
/// Returns the id of the transaction that wrote them (`None` in the unexpected case that it
/// does not read as a number: outside a transaction the rows are committed by then, and the
/// id only spares a seal, so that is no error).
pub(crate) async fn insert_rows(conn: &mut PgConnection, messages: &[Rows<'_>]) -> StoreResult<Option<u64>> {
    let mut threads = ThreadRows::default();
    let mut rows = MessageRows::default();
    let mut attachments = AttachmentRows::default();
    let mut recipients = RecipientRows::default();
    let mut events = Vec::new();
    let (mut blob_keys, mut blob_data): (Vec<&str>, Vec<&[u8]>) = (Vec::new(), Vec::new());
    for Rows { new, events: own, blobs } in messages {
        let m = &new.message;
        let created_at = trunc(m.created_at);
        if new.new_thread {
            threads.id.push(m.thread_id.as_uuid());
            threads.site.push(m.site_id.as_uuid());
            threads.mailbox.push(m.mailbox_id.as_uuid());
            threads.subject.push(m.subject.as_deref().map(base_subject));
            threads.participants.push(to_json(&participants_of(m))?);
            threads.snippet.push(m.snippet.clone());
            threads.at.push(created_at);
        }
        rows.push(m, created_at)?;
        for (position, a) in m.attachments.iter().enumerate() {
            attachments.id.push(a.id.as_uuid());
            attachments.message.push(m.id.as_uuid());
            attachments.site.push(m.site_id.as_uuid());
            attachments.position.push(signed::<i32, _>(position, "attachment position")?);
            attachments.filename.push(a.filename.clone());
            attachments.content_type.push(a.content_type.clone());
            attachments.size.push(signed::<i64, _>(a.size, "attachment size")?);
            attachments.content_id.push(a.content_id.clone());
            attachments.inline.push(a.inline);
            attachments.blob_key.push(a.blob_key.clone());
        }
        for (position, r) in m.recipients.iter().enumerate() {
            recipients.message.push(m.id.as_uuid());
            recipients.address.push(r.address.as_str().to_owned());
            recipients.position.push(signed::<i32, _>(position, "recipient position")?);
            recipients.kind.push(r.kind.as_str());
            recipients.status.push(r.status.as_str());
            recipients.last_reply.push(r.last_reply.clone());
            recipients.attempts.push(i64::from(r.attempts));
            recipients.next_attempt_at.push(r.next_attempt_at.map(trunc));
            recipients.updated_at.push(trunc(r.updated_at));
        }
        events.extend(own.iter());
        for (key, data) in blobs.iter() {
            blob_keys.push(key);
            blob_data.push(data);
        }
    }
    // Tables without rows in this batch are left out of the statement (most received mail
    // has no attachments and no recipient rows): each table written costs the statement its
    // locks and its indexes opened, whether or not a row comes. At most a few SQL texts
    // result, each prepared once per connection.
    let mut q = QueryBuilder::<Postgres>::new("WITH ");
    if !threads.id.is_empty() {
        q.push(
            "t AS (INSERT INTO threads (id, site_id, mailbox_id, subject, participants, message_count, snippet, last_message_at, \
             created_at) SELECT id, site_id, mailbox_id, subject, participants, 1, snippet, at, at FROM unnest(",
        );
        push_arrays!(q, threads.id => "uuid", threads.site => "uuid", threads.mailbox => "uuid", threads.subject => "text",
            threads.participants => "jsonb", threads.snippet => "text", threads.at => "timestamptz");
        q.push(") AS u(id, site_id, mailbox_id, subject, participants, snippet, at)), ");
    }
    q.push(
        "m AS (INSERT INTO messages (id, site_id, mailbox_id, thread_id, direction, message_id_header, in_reply_to, \
         \"references\", from_address, to_addresses, cc_addresses, bcc_addresses, reply_to, subject, text_body, html_body, \
         snippet, headers, labels, read, size, raw_blob_key, auth_results, reading, created_at, search) \
         SELECT id, site_id, mailbox_id, thread_id, direction, message_id_header, in_reply_to, refs, from_address, \
         to_addresses, cc_addresses, bcc_addresses, reply_to, subject, text_body, html_body, snippet, headers, labels, read, \
         size, raw_blob_key, auth_results, reading, created_at, COALESCE(search_literal::tsvector, to_tsvector('simple', \
         search_document)) FROM unnest(",
    );
    push_arrays!(q, rows.id => "uuid", rows.site => "uuid", rows.mailbox => "uuid", rows.thread => "uuid",
        rows.direction => "text", rows.message_id => "text", rows.in_reply_to => "text", rows.references => "jsonb",
        rows.from => "jsonb", rows.to => "jsonb", rows.cc => "jsonb", rows.bcc => "jsonb", rows.reply_to => "jsonb",
        rows.subject => "text", rows.text => "text", rows.html => "text", rows.snippet => "text", rows.headers => "jsonb",
        rows.labels => "jsonb", rows.read => "boolean", rows.size => "bigint", rows.raw_blob_key => "text",
        rows.auth_results => "jsonb", rows.reading => "jsonb", rows.created_at => "timestamptz",
        rows.search_literal => "text", rows.search_document => "text");
    q.push(
        ") AS u(id, site_id, mailbox_id, thread_id, direction, message_id_header, in_reply_to, refs, from_address, \
         to_addresses, cc_addresses, bcc_addresses, reply_to, subject, text_body, html_body, snippet, headers, labels, read, \
         size, raw_blob_key, auth_results, reading, created_at, search_literal, search_document))",
    );
    if !attachments.id.is_empty() {
        q.push(
            ", a AS (INSERT INTO attachments (id, message_id, site_id, position, filename, content_type, size, content_id, \
             inline, blob_key) SELECT * FROM unnest(",
        );
        push_arrays!(q, attachments.id => "uuid", attachments.message => "uuid", attachments.site => "uuid",
            attachments.position => "integer", attachments.filename => "text", attachments.content_type => "text",
            attachments.size => "bigint", attachments.content_id => "text", attachments.inline => "boolean",
            attachments.blob_key => "text");
        q.push("))");
    }
    if !recipients.message.is_empty() {
        q.push(
            ", r AS (INSERT INTO message_recipients (message_id, address, position, kind, status, last_reply, attempts, \
             next_attempt_at, updated_at) SELECT * FROM unnest(",
        );
        push_arrays!(q, recipients.message => "uuid", recipients.address => "text", recipients.position => "integer",
            recipients.kind => "text", recipients.status => "text", recipients.last_reply => "text",
            recipients.attempts => "bigint", recipients.next_attempt_at => "timestamptz", recipients.updated_at => "timestamptz");
        q.push("))");
    }
    if !blob_keys.is_empty() {
        q.push(", b AS (INSERT INTO blobs (key, data) SELECT * FROM unnest(");
        push_arrays!(q, blob_keys => "text", blob_data => "bytea");
        q.push("))");
    }
    if !events.is_empty() {
        q.push(", e AS (");
        push_events(&mut q, events.into_iter())?;
        q.push(")");
    }
    // The transaction's id, which its events carry (see the `seal` module).
    q.push(" SELECT pg_current_xact_id()::text");
    let xid: String = q.build_query_scalar().fetch_one(&mut *conn).await.map_err(db_err)?;
    Ok(xid.parse().ok())
}

/// The columns of new threads, one array each.
#[derive(Default)]
struct ThreadRows {
    id: Vec<Uuid>,
    site: Vec<Uuid>,
    mailbox: Vec<Uuid>,
    subject: Vec<Option<String>>,
    participants: Vec<sqlx::types::Json<serde_json::Value>>,
    snippet: Vec<String>,
    at: Vec<DateTime<Utc>>,
}

/// The columns of messages, one array each; text is borrowed from the messages, not copied.
#[derive(Default)]
struct MessageRows<'a> {
    id: Vec<Uuid>,
    site: Vec<Uuid>,
    mailbox: Vec<Uuid>,
    thread: Vec<Uuid>,
    direction: Vec<&'static str>,
    message_id: Vec<Option<&'a str>>,
    in_reply_to: Vec<Option<&'a str>>,
    references: Vec<sqlx::types::Json<serde_json::Value>>,
    from: Vec<Option<sqlx::types::Json<serde_json::Value>>>,
    to: Vec<sqlx::types::Json<serde_json::Value>>,
    cc: Vec<sqlx::types::Json<serde_json::Value>>,
    bcc: Vec<sqlx::types::Json<serde_json::Value>>,
    reply_to: Vec<sqlx::types::Json<serde_json::Value>>,
    subject: Vec<Option<&'a str>>,
    text: Vec<Option<&'a str>>,
    html: Vec<Option<&'a str>>,
    snippet: Vec<&'a str>,
    headers: Vec<sqlx::types::Json<serde_json::Value>>,
    labels: Vec<sqlx::types::Json<serde_json::Value>>,
    read: Vec<bool>,
    size: Vec<i64>,
    raw_blob_key: Vec<&'a str>,
    auth_results: Vec<Option<sqlx::types::Json<serde_json::Value>>>,
    reading: Vec<sqlx::types::Json<serde_json::Value>>,
    created_at: Vec<DateTime<Utc>>,
    search_literal: Vec<Option<String>>,
    search_document: Vec<Option<String>>,
}

impl<'a> MessageRows<'a> {
    fn push(&mut self, m: &'a Message, created_at: DateTime<Utc>) -> StoreResult<()> {
        // The search vector: written here for an ASCII document (the same vector, tested),
        // left to the database's parser otherwise.
        let document = search_document(m);
        let literal = crate::tsvector::ascii_literal(&document);
        self.search_document.push(if literal.is_none() { Some(document) } else { None });
        self.search_literal.push(literal);
        self.id.push(m.id.as_uuid());
        self.site.push(m.site_id.as_uuid());
        self.mailbox.push(m.mailbox_id.as_uuid());
        self.thread.push(m.thread_id.as_uuid());
        self.direction.push(m.direction.as_str());
        self.message_id.push(m.message_id.as_deref());
        self.in_reply_to.push(m.in_reply_to.as_deref());
        self.references.push(to_json(&m.references)?);
        self.from.push(m.from.as_ref().map(to_json).transpose()?);
        self.to.push(to_json(&m.to)?);
        self.cc.push(to_json(&m.cc)?);
        self.bcc.push(to_json(&m.bcc)?);
        self.reply_to.push(to_json(&m.reply_to)?);
        self.subject.push(m.subject.as_deref());
        self.text.push(m.text.as_deref());
        self.html.push(m.html.as_deref());
        self.snippet.push(&m.snippet);
        self.headers.push(to_json(&m.headers)?);
        self.labels.push(to_json(&m.labels)?);
        self.read.push(m.read);
        self.size.push(signed::<i64, _>(m.size, "message size")?);
        self.raw_blob_key.push(&m.raw_blob_key);
        self.auth_results.push(m.auth_results.as_ref().map(to_json).transpose()?);
        self.reading.push(to_json(&mailroom_core::reading::stored(m))?);
        self.created_at.push(created_at);
        Ok(())
    }
}

/// The columns of attachments, one array each.
#[derive(Default)]
struct AttachmentRows {
    id: Vec<Uuid>,
    message: Vec<Uuid>,
    site: Vec<Uuid>,
    position: Vec<i32>,
    filename: Vec<Option<String>>,
    content_type: Vec<String>,
    size: Vec<i64>,
    content_id: Vec<Option<String>>,
    inline: Vec<bool>,
    blob_key: Vec<String>,
}

/// The columns of message recipients, one array each.
#[derive(Default)]
struct RecipientRows {
    message: Vec<Uuid>,
    address: Vec<String>,
    position: Vec<i32>,
    kind: Vec<&'static str>,
    status: Vec<&'static str>,
    last_reply: Vec<Option<String>>,
    attempts: Vec<i64>,
    next_attempt_at: Vec<Option<DateTime<Utc>>>,
    updated_at: Vec<DateTime<Utc>>,
}
