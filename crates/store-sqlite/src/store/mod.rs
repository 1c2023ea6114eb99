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

mod mailboxes;
mod messages;
mod queue;
mod domains;
mod webhooks;
mod events;
mod agent;
mod settings;
mod policy;
mod drafts;
mod controls;
mod reading;
mod send;

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
}


impl SqliteStore {
    /// Deletes the row of `table` (a fixed table name, never input) with this id; returns
    /// whether it existed.
    async fn delete_by_id(&self, table: &'static str, id: uuid::Uuid) -> StoreResult<bool> {
        self.write(move |tx| {
            let done = query(format!("DELETE FROM {table} WHERE id = ?")).bind(id).execute(tx).map_err(db_err)?;
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

/// Appends events inside the caller's write transaction; their positions are assigned in
/// order, across the log (`seq`) and within their site (`site_pos`, one more than the site's
/// last: the one writer makes that safe). Returns whether there were any (the commit then
/// bumps the event signal).
fn append(conn: &Tx<'_>, events: &[NewEvent]) -> StoreResult<bool> {
    for e in events {
        query(
            "INSERT INTO events (id, site_id, mailbox_id, type, data, created_at, site_pos) VALUES (?1, ?2, ?3, ?4, ?5, ?6, \
             (SELECT COALESCE(MAX(site_pos), 0) + 1 FROM events WHERE site_id = ?2))",
        )
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
    // Rows come back grouped by message but not ordered by position (the sort is done here:
    // an `ORDER BY` would cost SQLite a sorter per query for a handful of rows).
    let mut attachments: HashMap<MessageId, Vec<(i64, Attachment)>> = HashMap::new();
    let mut recipients: HashMap<MessageId, Vec<(i64, Recipient)>> = HashMap::new();
    let ids: Vec<MessageId> = messages.iter().map(|m| m.id).collect();
    for chunk in ids.chunks(CHUNK) {
        let mut q = QueryBuilder::new("SELECT * FROM attachments WHERE message_id IN (");
        let mut list = q.separated(", ");
        for id in chunk {
            list.push_bind(id.as_uuid());
        }
        q.push(")");
        for row in q.build().fetch_all(conn).map_err(db_err)? {
            attachments.entry(codec::id(&row, "message_id")?).or_default().push((codec::col(&row, "position")?, codec::attachment(&row)?));
        }
        let mut q = QueryBuilder::new("SELECT * FROM message_recipients WHERE message_id IN (");
        let mut list = q.separated(", ");
        for id in chunk {
            list.push_bind(id.as_uuid());
        }
        q.push(")");
        for row in q.build().fetch_all(conn).map_err(db_err)? {
            recipients.entry(codec::id(&row, "message_id")?).or_default().push((codec::col(&row, "position")?, codec::recipient(&row)?));
        }
    }
    fn in_order<T>(mut rows: Vec<(i64, T)>) -> Vec<T> {
        rows.sort_by_key(|(position, _)| *position);
        rows.into_iter().map(|(_, row)| row).collect()
    }
    for m in messages {
        m.attachments = attachments.remove(&m.id).map(in_order).unwrap_or_default();
        m.recipients = recipients.remove(&m.id).map(in_order).unwrap_or_default();
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
         labels, read, size, raw_blob_key, auth_results, reading, created_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
    .bind(to_json(&mailroom_core::reading::stored(m))?)
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
