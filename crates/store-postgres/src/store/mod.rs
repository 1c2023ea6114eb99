//! The [`Store`] implementation: one method per operation; a write that appends events inserts
//! them un-numbered and has them numbered after its commit (see the `seal` module).

use crate::codec::{self, *};
use crate::PgStore;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use mailroom_core::agent::*;
use mailroom_core::*;
use mailroom_core::controls::Controls;
use mailroom_store::*;
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Postgres, QueryBuilder};
use std::collections::{HashMap, HashSet};
use uuid::Uuid;

/// Pushes the arguments of `unnest(…)`: each array bound as a parameter with its cast
/// (`$1::uuid[], $2::text[], …`), so the statement's text is the same for any length.
macro_rules! push_arrays {
    ($q:expr, $($values:expr => $element:literal),+ $(,)?) => {{
        let mut arguments = $q.separated(", ");
        $( arguments.push_bind($values).push_unseparated(concat!("::", $element, "[]")); )+
    }};
}

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

pub(crate) use messages::{Rows, insert_rows};

#[async_trait]
impl Store for PgStore {
    fn backend(&self) -> &'static str {
        "postgres"
    }

    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await.map_err(db_err)?;
        Ok(())
    }

    /// One statement, one round trip (they were three reads, two of them in sequence): the
    /// mailbox joined to its and its site's controls (`mc_…`, `sc_…`) and to its receive lists
    /// (`l_…`), one row per list entry, or one row with the entry's columns null.
    async fn inbound_lookup(&self, canonical_address: &str) -> StoreResult<Option<InboundLookup>> {
        let rows = sqlx::query(
            "SELECT m.*, \
             mc.scope AS mc_scope, mc.limits AS mc_limits, mc.retention_days AS mc_retention_days, mc.expires_at AS mc_expires_at, \
             sc.scope AS sc_scope, sc.limits AS sc_limits, sc.retention_days AS sc_retention_days, sc.expires_at AS sc_expires_at, \
             l.id AS l_id, l.site_id AS l_site_id, l.direction AS l_direction, l.kind AS l_kind, l.entry AS l_entry, \
             l.mailbox_id AS l_mailbox_id, l.reason AS l_reason, l.created_at AS l_created_at \
             FROM mailboxes m \
             LEFT JOIN controls mc ON mc.scope = 'mailbox:' || m.id::text \
             LEFT JOIN controls sc ON sc.scope = 'site:' || m.site_id::text \
             LEFT JOIN list_entries l ON l.site_id = m.site_id AND l.direction = 'receive' \
             AND (l.mailbox_id IS NULL OR l.mailbox_id = m.id) \
             WHERE m.address_canonical = $1 ORDER BY l.created_at, l.id",
        )
        .bind(canonical_address.to_lowercase())
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        let Some(first) = rows.first() else { return Ok(None) };
        let stored = |prefix: &'static str| -> StoreResult<Option<Controls>> {
            let found: Option<String> = col(first, &format!("{prefix}scope"))?;
            found.map(|_| mailroom_store::codec::controls(&mailroom_store::codec::Prefixed { row: &Pg(first), prefix })).transpose()
        };
        let mut receive_lists = Vec::new();
        for row in &rows {
            if col::<Option<Uuid>>(row, "l_id")?.is_some() {
                receive_lists.push(mailroom_store::codec::list_entry(&mailroom_store::codec::Prefixed { row: &Pg(row), prefix: "l_" })?);
            }
        }
        Ok(Some(InboundLookup { mailbox: codec::mailbox(first)?, controls: [stored("mc_")?, stored("sc_")?], receive_lists }))
    }

    /// Sends, of each event read, its position and, only for a message event that names
    /// attachments, the three fields the jobs need: the events whole (a received message's is
    /// some kilobytes of JSON) cost the database more to send than anything else the fan-out
    /// does, and most name no attachment.
    ///
    /// The array's length is taken in a nested `CASE`, only once the value is known to be an
    /// array: the operands of `AND` may be evaluated in any order, and `jsonb_array_length` of
    /// anything else is an error, which would stop the fan-out at that event for good.
    async fn attachment_jobs_after(&self, after: i64, limit: u32) -> StoreResult<AttachmentScan> {
        let rows = sqlx::query(
            "SELECT pos, site_id, type, CASE WHEN type IN ($3, $4, $5) AND jsonb_typeof(data->'attachments') = 'array' \
             THEN CASE WHEN jsonb_array_length(data->'attachments') > 0 \
             THEN jsonb_build_object('id', data->'id', 'mailbox_id', data->'mailbox_id', 'attachments', data->'attachments') END END AS fields \
             FROM events WHERE pos > $1 ORDER BY pos LIMIT $2",
        )
        .bind(after)
        .bind(i64::from(limit))
        .bind(ATTACHMENT_EVENT_TYPES[0])
        .bind(ATTACHMENT_EVENT_TYPES[1])
        .bind(ATTACHMENT_EVENT_TYPES[2])
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        let mut jobs = Vec::new();
        for row in &rows {
            if let Some(fields) = col::<Option<sqlx::types::Json<serde_json::Value>>>(row, "fields")? {
                jobs.extend(attachment_jobs(id(row, "site_id")?, &col::<String>(row, "type")?, &fields.0));
            }
        }
        let last = rows.last().map(|r| col::<i64>(r, "pos")).transpose()?;
        Ok(AttachmentScan { jobs, last, read: rows.len() })
    }
}


impl PgStore {
    /// Loads the attempts of `deliveries`, oldest first (one query, not one per delivery).
    async fn with_history(&self, deliveries: &mut [WebhookDelivery]) -> StoreResult<()> {
        if deliveries.is_empty() {
            return Ok(());
        }
        let ids: Vec<Uuid> = deliveries.iter().map(|d| d.id.as_uuid()).collect();
        let rows = sqlx::query("SELECT * FROM webhook_attempts WHERE delivery_id = ANY($1) ORDER BY delivery_id, attempt, seq")
            .bind(&ids)
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        let mut history: HashMap<WebhookDeliveryId, Vec<WebhookAttempt>> = HashMap::new();
        for row in &rows {
            history.entry(codec::id(row, "delivery_id")?).or_default().push(codec::webhook_attempt(row)?);
        }
        for d in deliveries {
            d.history = history.remove(&d.id).unwrap_or_default();
        }
        Ok(())
    }

    /// Loads the DKIM keys of `domains`, in the order they were given.
    async fn with_keys(&self, domains: &mut [Domain]) -> StoreResult<()> {
        if domains.is_empty() {
            return Ok(());
        }
        let ids: Vec<Uuid> = domains.iter().map(|d| d.id.as_uuid()).collect();
        let rows = sqlx::query("SELECT * FROM dkim_keys WHERE domain_id = ANY($1) ORDER BY domain_id, position")
            .bind(&ids)
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        let mut keys: HashMap<DomainId, Vec<DkimKey>> = HashMap::new();
        for row in &rows {
            keys.entry(codec::id(row, "domain_id")?).or_default().push(codec::dkim_key(row)?);
        }
        for d in domains {
            d.dkim = keys.remove(&d.id).unwrap_or_default();
        }
        Ok(())
    }

    /// Loads the attachments and recipients of `messages` (two queries, not two per message).
    async fn complete(&self, messages: &mut [Message]) -> StoreResult<()> {
        if messages.is_empty() {
            return Ok(());
        }
        let ids: Vec<Uuid> = messages.iter().map(|m| m.id.as_uuid()).collect();
        let mut attachments: HashMap<MessageId, Vec<Attachment>> = HashMap::new();
        let rows = sqlx::query("SELECT * FROM attachments WHERE message_id = ANY($1) ORDER BY message_id, position")
            .bind(&ids)
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        for row in &rows {
            attachments.entry(codec::id(row, "message_id")?).or_default().push(codec::attachment(row)?);
        }
        let mut recipients: HashMap<MessageId, Vec<Recipient>> = HashMap::new();
        let rows = sqlx::query("SELECT * FROM message_recipients WHERE message_id = ANY($1) ORDER BY message_id, position")
            .bind(&ids)
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        for row in &rows {
            recipients.entry(codec::id(row, "message_id")?).or_default().push(codec::recipient(row)?);
        }
        for m in messages {
            m.attachments = attachments.remove(&m.id).unwrap_or_default();
            m.recipients = recipients.remove(&m.id).unwrap_or_default();
        }
        Ok(())
    }
}

impl PgStore {
    /// Deletes the row of `table` (a fixed table name, never input) with this id; returns
    /// whether it existed.
    async fn delete_by_id(&self, table: &'static str, id: Uuid) -> StoreResult<bool> {
        let done = sqlx::query(&format!("DELETE FROM {table} WHERE id = $1")).bind(id).execute(&self.pool).await.map_err(db_err)?;
        Ok(done.rows_affected() > 0)
    }
}

/// Reads the earlier use of an idempotency key.
fn existing_claim(row: &PgRow) -> StoreResult<IdempotencyClaim> {
    let status: Option<i32> = col(row, "status_code")?;
    let body: Option<String> = col(row, "response_body")?;
    let response = match status {
        Some(status) => {
            let status = u16::try_from(status).map_err(|_| StoreError::Corrupt(format!("status code {status} is out of range")))?;
            Some((status, body.unwrap_or_default()))
        }
        None => None,
    };
    Ok(IdempotencyClaim::Existing { request_hash: col(row, "request_hash")?, response })
}

/// Appends events inside the caller's transaction, in one statement and without a lock: they
/// are numbered after the commit (see the `seal` module), which [`PgStore::notify_if`] runs.
/// Returns whether there were any.
async fn append(conn: &mut PgConnection, events: &[NewEvent]) -> StoreResult<bool> {
    if events.is_empty() {
        return Ok(false);
    }
    let mut q = QueryBuilder::<Postgres>::new("");
    push_events(&mut q, events.iter())?;
    q.build().execute(&mut *conn).await.map_err(db_err)?;
    Ok(true)
}

/// Pushes the statement inserting `events`, un-numbered, onto `q`: `unnest` of one array per
/// column, so its text is the same for any number of events (none included).
fn push_events<'e>(q: &mut QueryBuilder<'_, Postgres>, events: impl Iterator<Item = &'e NewEvent>) -> StoreResult<()> {
    let (mut id, mut site, mut mailbox, mut kind, mut data, mut at) = (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for e in events {
        id.push(e.id.as_uuid());
        site.push(e.site_id.as_uuid());
        mailbox.push(e.mailbox_id.map(|m| m.as_uuid()));
        kind.push(e.event_type.clone());
        data.push(to_json(&e.data)?);
        at.push(trunc(e.created_at));
    }
    q.push("INSERT INTO events (id, site_id, mailbox_id, type, data, created_at) SELECT * FROM unnest(");
    push_arrays!(q, id => "uuid", site => "uuid", mailbox => "uuid", kind => "text", data => "jsonb", at => "timestamptz");
    q.push(")");
    Ok(())
}

/// Overwrites (or creates) a setting, inside the caller's transaction if it has one.
async fn upsert_setting(conn: &mut PgConnection, key: &str, value: &str) -> StoreResult<()> {
    sqlx::query("INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value")
        .bind(key)
        .bind(value)
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
    Ok(())
}

/// Brings a (locked) thread's counters in line with its remaining messages, deleting it when
/// empty.
async fn recount_thread(conn: &mut PgConnection, thread: ThreadId) -> StoreResult<()> {
    let latest = sqlx::query(
        "SELECT (SELECT COUNT(*) FROM messages WHERE thread_id = $1) AS n, snippet, created_at \
         FROM messages WHERE thread_id = $1 ORDER BY created_at DESC, id DESC LIMIT 1",
    )
    .bind(thread.as_uuid())
    .fetch_optional(&mut *conn)
    .await
    .map_err(db_err)?;
    match latest {
        None => {
            sqlx::query("DELETE FROM threads WHERE id = $1").bind(thread.as_uuid()).execute(&mut *conn).await.map_err(db_err)?;
        }
        Some(row) => {
            sqlx::query("UPDATE threads SET message_count = $1, snippet = $2, last_message_at = $3 WHERE id = $4")
                .bind(col::<i64>(&row, "n")?)
                .bind(col::<String>(&row, "snippet")?)
                .bind(time(&row, "created_at")?)
                .bind(thread.as_uuid())
                .execute(&mut *conn)
                .await
                .map_err(db_err)?;
        }
    }
    Ok(())
}

/// Returns the keys, without duplicates, that no remaining message or attachment refers to.
async fn unreferenced(conn: &mut PgConnection, keys: Vec<String>) -> StoreResult<Vec<String>> {
    let mut seen = HashSet::new();
    let keys: Vec<String> = keys.into_iter().filter(|k| seen.insert(k.clone())).collect();
    if keys.is_empty() {
        return Ok(keys);
    }
    let rows = sqlx::query(
        "SELECT raw_blob_key AS k FROM messages WHERE raw_blob_key = ANY($1) \
         UNION SELECT blob_key AS k FROM attachments WHERE blob_key = ANY($1)",
    )
    .bind(&keys)
    .fetch_all(&mut *conn)
    .await
    .map_err(db_err)?;
    let referenced = rows.iter().map(|r| col::<String>(r, "k")).collect::<StoreResult<HashSet<_>>>()?;
    Ok(keys.into_iter().filter(|k| !referenced.contains(k)).collect())
}

/// Inserts a `sent_emails` row.
async fn insert_sent(tx: &mut sqlx::Transaction<'static, sqlx::Postgres>, s: &SentEmail) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO sent_emails (id, site_id, recipient, contact_id, tool, provider, external_message_id, message_id, \
         subject, content_hash, simhash, template, context, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
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
    .bind(trunc(s.created_at))
    .execute(&mut **tx)
    .await
    .map_err(db_err)?;
    Ok(())
}
