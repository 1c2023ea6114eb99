//! Conversions between domain values and PostgreSQL columns, and the mapping of sqlx errors.
//!
//! Reading never panics: a value that cannot be decoded becomes [`StoreError::Corrupt`].

use chrono::{DateTime, Timelike, Utc};
use mailroom_core::agent::*;
use mailroom_core::*;
use mailroom_store::{StoreError, StoreResult};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sqlx::error::ErrorKind;
use sqlx::postgres::PgRow;
use sqlx::types::Json;
use sqlx::{Postgres, Row};
use std::str::FromStr;
use uuid::Uuid;

/// Maps a sqlx error to a store error: unique violations become `Conflict` named after the
/// violated constraint (the schema names them as the `Store` contract does), foreign-key
/// violations `NotFound`, everything else `Database`.
pub(crate) fn db_err(err: sqlx::Error) -> StoreError {
    if let sqlx::Error::Database(db) = &err {
        match db.kind() {
            ErrorKind::UniqueViolation => {
                let constraint = db.constraint().unwrap_or("unknown").to_string();
                return StoreError::Conflict { constraint };
            }
            ErrorKind::ForeignKeyViolation => {
                return StoreError::NotFound("a record this one refers to (site, mailbox, thread or message)".into());
            }
            _ => {}
        }
    }
    StoreError::Database(Box::new(err))
}

/// Maps the error of deleting a mailbox: a foreign-key violation there means a team member
/// still sends from it (constraint `team_member_mailbox`).
pub(crate) fn team_member_mailbox_err(err: sqlx::Error) -> StoreError {
    if let sqlx::Error::Database(db) = &err
        && db.kind() == ErrorKind::ForeignKeyViolation
    {
        return StoreError::Conflict { constraint: "team_member_mailbox".into() };
    }
    db_err(err)
}

/// Reads a column, reporting an undecodable value as corrupt data.
pub(crate) fn col<'r, T>(row: &'r PgRow, name: &str) -> StoreResult<T>
where
    T: sqlx::Decode<'r, Postgres> + sqlx::Type<Postgres>,
{
    row.try_get(name).map_err(|e| StoreError::Corrupt(format!("column `{name}`: {e}")))
}

/// Reads a UUID column as a typed id.
pub(crate) fn id<T: From<Uuid>>(row: &PgRow, name: &str) -> StoreResult<T> {
    col::<Uuid>(row, name).map(T::from)
}

/// Reads a nullable UUID column as a typed id.
pub(crate) fn opt_id<T: From<Uuid>>(row: &PgRow, name: &str) -> StoreResult<Option<T>> {
    col::<Option<Uuid>>(row, name).map(|u| u.map(T::from))
}

/// Drops the sub-microsecond part of a timestamp, which `TIMESTAMPTZ` cannot keep (done here
/// rather than left to the driver so that every comparison truncates the same way).
pub(crate) fn trunc(t: DateTime<Utc>) -> DateTime<Utc> {
    t.with_nanosecond(t.nanosecond() / 1_000 * 1_000).unwrap_or(t)
}

/// Reads a timestamp column.
pub(crate) fn time(row: &PgRow, name: &str) -> StoreResult<DateTime<Utc>> {
    col(row, name)
}

/// Wraps a value for a JSONB parameter.
pub(crate) fn to_json<T: Serialize + ?Sized>(value: &T) -> StoreResult<Json<serde_json::Value>> {
    serde_json::to_value(value).map(Json).map_err(|e| StoreError::Corrupt(format!("cannot encode JSON: {e}")))
}

/// Reads a JSONB column.
pub(crate) fn json<T: DeserializeOwned>(row: &PgRow, name: &str) -> StoreResult<T> {
    let value: serde_json::Value = col(row, name)?;
    serde_json::from_value(value).map_err(|e| StoreError::Corrupt(format!("column `{name}`: {e}")))
}

/// Reads a nullable JSONB column.
pub(crate) fn opt_json<T: DeserializeOwned>(row: &PgRow, name: &str) -> StoreResult<Option<T>> {
    match col::<Option<serde_json::Value>>(row, name)? {
        Some(value) => serde_json::from_value(value).map(Some).map_err(|e| StoreError::Corrupt(format!("column `{name}`: {e}"))),
        None => Ok(None),
    }
}

/// Reads an enum stored as its wire name.
pub(crate) fn parsed<T: FromStr<Err = String>>(row: &PgRow, name: &str) -> StoreResult<T> {
    let text: String = col(row, name)?;
    text.parse().map_err(|e| StoreError::Corrupt(format!("column `{name}`: {e}")))
}

/// Reads a non-negative `BIGINT` column.
pub(crate) fn unsigned<T: TryFrom<i64>>(row: &PgRow, name: &str) -> StoreResult<T> {
    let v: i64 = col(row, name)?;
    T::try_from(v).map_err(|_| StoreError::Corrupt(format!("column `{name}`: {v} is out of range")))
}

/// Converts an unsigned value for a `BIGINT` or `INTEGER` column.
pub(crate) fn signed<I, T>(v: T, what: &str) -> StoreResult<I>
where
    T: TryInto<I> + Copy + std::fmt::Display,
{
    v.try_into().map_err(|_| StoreError::Corrupt(format!("{what} {v} is too large to store")))
}

/// Reads a stored address.
pub(crate) fn address(row: &PgRow, name: &str) -> StoreResult<EmailAddress> {
    let text: String = col(row, name)?;
    EmailAddress::parse(&text).map_err(|e| StoreError::Corrupt(format!("column `{name}`: {e}")))
}

/// Decodes a `sites` row.
pub(crate) fn site(row: &PgRow) -> StoreResult<Site> {
    Ok(Site { id: id(row, "id")?, name: col(row, "name")?, created_at: time(row, "created_at")? })
}

/// Decodes an `api_keys` row.
pub(crate) fn api_key(row: &PgRow) -> StoreResult<ApiKey> {
    Ok(ApiKey {
        id: id(row, "id")?,
        name: col(row, "name")?,
        scope: col(row, "scope")?,
        site_id: opt_id(row, "site_id")?,
        prefix: col(row, "prefix")?,
        created_at: time(row, "created_at")?,
    })
}

/// Decodes a `mailboxes` row.
pub(crate) fn mailbox(row: &PgRow) -> StoreResult<Mailbox> {
    Ok(Mailbox {
        id: id(row, "id")?,
        site_id: id(row, "site_id")?,
        address: address(row, "address")?,
        display_name: col(row, "display_name")?,
        client_id: col(row, "client_id")?,
        created_at: time(row, "created_at")?,
        updated_at: time(row, "updated_at")?,
    })
}

/// Decodes a `threads` row.
pub(crate) fn thread(row: &PgRow) -> StoreResult<Thread> {
    Ok(Thread {
        id: id(row, "id")?,
        site_id: id(row, "site_id")?,
        mailbox_id: id(row, "mailbox_id")?,
        subject: col(row, "subject")?,
        participants: json(row, "participants")?,
        message_count: unsigned(row, "message_count")?,
        snippet: col(row, "snippet")?,
        last_message_at: time(row, "last_message_at")?,
        created_at: time(row, "created_at")?,
    })
}

/// The columns of `messages` that [`message`] decodes, in select-list form.
pub(crate) const MESSAGE_COLUMNS: &str = "m.id, m.site_id, m.mailbox_id, m.thread_id, m.direction, \
    m.message_id_header, m.in_reply_to, m.\"references\", m.from_address, m.to_addresses, m.cc_addresses, \
    m.bcc_addresses, m.reply_to, m.subject, m.text_body, m.html_body, m.snippet, m.headers, m.labels, \
    m.read, m.size, m.raw_blob_key, m.auth_results, m.reading, m.created_at";

/// Decodes a `messages` row (without its attachments and recipients).
pub(crate) fn message(row: &PgRow) -> StoreResult<Message> {
    let mut m = Message {
        id: id(row, "id")?,
        site_id: id(row, "site_id")?,
        mailbox_id: id(row, "mailbox_id")?,
        thread_id: id(row, "thread_id")?,
        direction: parsed(row, "direction")?,
        message_id: col(row, "message_id_header")?,
        in_reply_to: col(row, "in_reply_to")?,
        references: json(row, "references")?,
        from: opt_json(row, "from_address")?,
        to: json(row, "to_addresses")?,
        cc: json(row, "cc_addresses")?,
        bcc: json(row, "bcc_addresses")?,
        reply_to: json(row, "reply_to")?,
        subject: col(row, "subject")?,
        text: col(row, "text_body")?,
        html: col(row, "html_body")?,
        snippet: col(row, "snippet")?,
        headers: json(row, "headers")?,
        attachments: Vec::new(),
        labels: json(row, "labels")?,
        read: col(row, "read")?,
        size: unsigned(row, "size")?,
        recipients: Vec::new(),
        auth_results: opt_json(row, "auth_results")?,
        auto_submitted: false,
        dsn: None,
        extracted_text: None,
        extracted_html: None,
        security: None,
        created_at: time(row, "created_at")?,
        raw_blob_key: col(row, "raw_blob_key")?,
    }
    .derived();
    // The reading fields (extracted text, security flags); rows stored before they existed
    // have none, and get them computed here.
    mailroom_core::reading::restore(&mut m, opt_json(row, "reading")?);
    Ok(m)
}

/// Decodes an `attachments` row.
pub(crate) fn attachment(row: &PgRow) -> StoreResult<Attachment> {
    Ok(Attachment {
        id: id(row, "id")?,
        filename: col(row, "filename")?,
        content_type: col(row, "content_type")?,
        size: unsigned(row, "size")?,
        content_id: col(row, "content_id")?,
        inline: col(row, "inline")?,
        blob_key: col(row, "blob_key")?,
    })
}

/// Decodes a `message_recipients` row.
pub(crate) fn recipient(row: &PgRow) -> StoreResult<Recipient> {
    Ok(Recipient {
        address: address(row, "address")?,
        kind: parsed(row, "kind")?,
        status: parsed(row, "status")?,
        last_reply: col(row, "last_reply")?,
        attempts: unsigned(row, "attempts")?,
        next_attempt_at: col(row, "next_attempt_at")?,
        updated_at: time(row, "updated_at")?,
    })
}

/// Decodes a `domains` row (without its DKIM keys).
pub(crate) fn domain(row: &PgRow) -> StoreResult<Domain> {
    Ok(Domain {
        id: id(row, "id")?,
        site_id: id(row, "site_id")?,
        name: col(row, "name")?,
        dkim: Vec::new(),
        created_at: time(row, "created_at")?,
    })
}

/// Decodes a `dkim_keys` row.
pub(crate) fn dkim_key(row: &PgRow) -> StoreResult<DkimKey> {
    Ok(DkimKey {
        selector: col(row, "selector")?,
        algorithm: col(row, "algorithm")?,
        public_key: col(row, "public_key")?,
        private_key_encrypted: col(row, "private_key_encrypted")?,
    })
}

/// Decodes a `suppressions` row.
pub(crate) fn suppression(row: &PgRow) -> StoreResult<Suppression> {
    Ok(Suppression {
        site_id: id(row, "site_id")?,
        address: address(row, "address")?,
        reason: col(row, "reason")?,
        detail: col(row, "detail")?,
        created_at: time(row, "created_at")?,
    })
}

/// Returns the number deliveries are claimed in order of: the event's cursor, which this
/// store makes of the event's sequence number. A cursor that is not a number (never one this
/// store handed out) counts as 0.
pub(crate) fn event_seq(cursor: &str) -> i64 {
    cursor.trim().parse().unwrap_or(0)
}

/// Decodes a `webhook_endpoints` row.
pub(crate) fn webhook_endpoint(row: &PgRow) -> StoreResult<WebhookEndpoint> {
    Ok(WebhookEndpoint {
        id: id(row, "id")?,
        site_id: id(row, "site_id")?,
        url: col(row, "url")?,
        event_types: json(row, "event_types")?,
        mailbox_id: opt_id(row, "mailbox_id")?,
        description: col(row, "description")?,
        enabled: col(row, "enabled")?,
        disabled_reason: col(row, "disabled_reason")?,
        failing_since: col(row, "failing_since")?,
        secret_encrypted: col(row, "secret_encrypted")?,
        previous_secret_encrypted: col(row, "previous_secret_encrypted")?,
        previous_secret_expires_at: col(row, "previous_secret_expires_at")?,
        created_at: time(row, "created_at")?,
        updated_at: time(row, "updated_at")?,
    })
}

/// Decodes a `webhook_deliveries` row (without its attempts).
pub(crate) fn webhook_delivery(row: &PgRow) -> StoreResult<WebhookDelivery> {
    Ok(WebhookDelivery {
        id: id(row, "id")?,
        endpoint_id: id(row, "endpoint_id")?,
        site_id: id(row, "site_id")?,
        event_id: id(row, "event_id")?,
        event_cursor: col(row, "event_cursor")?,
        event_type: col(row, "event_type")?,
        status: parsed(row, "status")?,
        attempts: unsigned(row, "attempts")?,
        next_attempt_at: col(row, "next_attempt_at")?,
        history: Vec::new(),
        created_at: time(row, "created_at")?,
        updated_at: time(row, "updated_at")?,
    })
}

/// Decodes a `webhook_attempts` row.
pub(crate) fn webhook_attempt(row: &PgRow) -> StoreResult<WebhookAttempt> {
    let status_code: Option<i32> = col(row, "status_code")?;
    let status_code = status_code
        .map(|c| u16::try_from(c).map_err(|_| StoreError::Corrupt(format!("column `status_code`: {c} is out of range"))))
        .transpose()?;
    Ok(WebhookAttempt {
        attempt: unsigned(row, "attempt")?,
        at: time(row, "at")?,
        status_code,
        latency_ms: unsigned(row, "latency_ms")?,
        error: col(row, "error")?,
    })
}

/// Decodes a `message_recipients` row joined with its message's `site_id`.
pub(crate) fn pending(row: &PgRow) -> StoreResult<mailroom_store::PendingRecipient> {
    Ok(mailroom_store::PendingRecipient { message_id: id(row, "message_id")?, site_id: id(row, "site_id")?, recipient: recipient(row)? })
}

/// Decodes an `events` row.
pub(crate) fn event(row: &PgRow) -> StoreResult<Event> {
    let seq: i64 = col(row, "seq")?;
    Ok(Event {
        id: id(row, "id")?,
        cursor: seq.to_string(),
        event_type: col(row, "type")?,
        site_id: id(row, "site_id")?,
        mailbox_id: opt_id(row, "mailbox_id")?,
        data: col(row, "data")?,
        created_at: time(row, "created_at")?,
    })
}

/// Decodes a `contacts` row.
pub(crate) fn contact(row: &PgRow) -> StoreResult<Contact> {
    let email: Option<String> = col(row, "email")?;
    let email = email
        .map(|e| EmailAddress::parse(&e).map_err(|err| StoreError::Corrupt(format!("column `email`: {err}"))))
        .transpose()?;
    Ok(Contact {
        id: id(row, "id")?,
        site_id: id(row, "site_id")?,
        email,
        external_id: col(row, "external_id")?,
        name: col(row, "name")?,
        attributes: json(row, "attributes")?,
        email_subscribed: col(row, "email_subscribed")?,
        marketing_opt_out: col(row, "marketing_opt_out")?,
        owner_team_member_id: opt_id(row, "owner_team_member_id")?,
        created_at: time(row, "created_at")?,
        updated_at: time(row, "updated_at")?,
    })
}

/// Decodes a `team_members` row.
pub(crate) fn team_member(row: &PgRow) -> StoreResult<TeamMember> {
    Ok(TeamMember {
        id: id(row, "id")?,
        site_id: id(row, "site_id")?,
        name: col(row, "name")?,
        mailbox_id: id(row, "mailbox_id")?,
        signature_html: col(row, "signature_html")?,
        created_at: time(row, "created_at")?,
        updated_at: time(row, "updated_at")?,
    })
}

/// Decodes a `secure_tokens` row.
pub(crate) fn secure_token(row: &PgRow) -> StoreResult<SecureToken> {
    Ok(SecureToken {
        id: id(row, "id")?,
        site_id: id(row, "site_id")?,
        token_type: col(row, "token_type")?,
        identifier: col(row, "identifier")?,
        value_encrypted: col(row, "value_encrypted")?,
        created_at: time(row, "created_at")?,
        updated_at: time(row, "updated_at")?,
    })
}

/// Decodes a `tool_configs` row.
pub(crate) fn tool_config(row: &PgRow) -> StoreResult<ToolConfig> {
    Ok(ToolConfig {
        id: id(row, "id")?,
        site_id: id(row, "site_id")?,
        name: col(row, "name")?,
        tool: col(row, "tool")?,
        prompt: col(row, "prompt")?,
        settings: json(row, "settings")?,
        created_at: time(row, "created_at")?,
        updated_at: time(row, "updated_at")?,
    })
}

/// Decodes a `tool_runs` row.
pub(crate) fn tool_run(row: &PgRow) -> StoreResult<ToolRun> {
    Ok(ToolRun {
        id: id(row, "id")?,
        site_id: id(row, "site_id")?,
        tool: col(row, "tool")?,
        tool_config_id: opt_id(row, "tool_config_id")?,
        contact_id: opt_id(row, "contact_id")?,
        status: col(row, "status")?,
        code: col(row, "code")?,
        dry_run: col(row, "dry_run")?,
        inputs: json(row, "inputs")?,
        checks: json(row, "checks")?,
        decision: json(row, "decision")?,
        outputs: json(row, "outputs")?,
        message_id: opt_id(row, "message_id")?,
        created_at: time(row, "created_at")?,
    })
}

/// Decodes a `sent_emails` row.
pub(crate) fn sent_email(row: &PgRow) -> StoreResult<SentEmail> {
    Ok(SentEmail {
        id: id(row, "id")?,
        site_id: id(row, "site_id")?,
        recipient: col(row, "recipient")?,
        contact_id: opt_id(row, "contact_id")?,
        tool: col(row, "tool")?,
        provider: col(row, "provider")?,
        external_message_id: col(row, "external_message_id")?,
        message_id: opt_id(row, "message_id")?,
        subject: col(row, "subject")?,
        content_hash: col(row, "content_hash")?,
        simhash: col(row, "simhash")?,
        template: col(row, "template")?,
        context: json(row, "context")?,
        created_at: time(row, "created_at")?,
    })
}

/// Returns the thread participants a message brings: its sender and every recipient, without
/// duplicates (compared case-insensitively, keeping the first spelling).
pub(crate) fn participants_of(m: &Message) -> Vec<EmailAddress> {
    let mut out = Vec::new();
    merge_participants(&mut out, m.from.iter().chain(&m.to).chain(&m.cc).chain(&m.bcc).map(|n| n.address.clone()));
    out
}

/// Appends to `into` the addresses it does not hold yet (compared case-insensitively).
pub(crate) fn merge_participants(into: &mut Vec<EmailAddress>, new: impl IntoIterator<Item = EmailAddress>) {
    for a in new {
        let canonical = a.canonical();
        if !into.iter().any(|p| p.canonical() == canonical) {
            into.push(a);
        }
    }
}

/// Renders a search query for `to_tsquery('simple', $1)`: each term a phrase of quoted tokens
/// (`'a' <-> 'b'`), the terms joined with `&`, the last token a prefix (`:*`). Quoted tokens
/// are never read as operators; they hold letters and digits only, and quotes and
/// backslashes are escaped all the same.
pub(crate) fn tsquery(query: &mailroom_store::SearchQuery) -> String {
    let terms = query.terms();
    let phrases: Vec<String> = terms
        .iter()
        .enumerate()
        .map(|(i, tokens)| {
            let quoted: Vec<String> = tokens
                .iter()
                .enumerate()
                .map(|(j, t)| {
                    let token = format!("'{}'", t.replace('\\', "\\\\").replace('\'', "''"));
                    if i + 1 == terms.len() && j + 1 == tokens.len() { format!("{token}:*") } else { token }
                })
                .collect();
            format!("({})", quoted.join(" <-> "))
        })
        .collect();
    phrases.join(" & ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_queries_become_quoted_tsquery_phrases() {
        let tsq = |q: &str| tsquery(&mailroom_store::SearchQuery::parse(q));
        assert_eq!(tsq("invoice"), "('invoice':*)");
        assert_eq!(tsq("Alice@Example.com march"), "('alice' <-> 'example' <-> 'com') & ('march':*)");
        assert_eq!(tsq("a | !b & c:* 'd'"), "('a') & ('b') & ('c') & ('d':*)");
        assert_eq!(tsq("***"), "");
    }
}
