//! Conversions between domain values and SQLite columns, and the mapping of SQLite errors.
//!
//! Reading never panics: a value that cannot be decoded becomes [`StoreError::Corrupt`].

use crate::db::Row as SqliteRow;
use chrono::{DateTime, Timelike, Utc};
use mailroom_core::agent::*;
use mailroom_core::*;
use mailroom_store::{StoreError, StoreResult};
use rusqlite::ffi;
use rusqlite::types::FromSql;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::str::FromStr;
use uuid::Uuid;

/// Maps a SQLite error to a store error: unique violations become `Conflict` named after the
/// rule they broke, foreign-key violations `NotFound`, everything else `Database`.
pub(crate) fn db_err(err: rusqlite::Error) -> StoreError {
    if let rusqlite::Error::SqliteFailure(e, message) = &err {
        match e.extended_code {
            ffi::SQLITE_CONSTRAINT_UNIQUE | ffi::SQLITE_CONSTRAINT_PRIMARYKEY => {
                return StoreError::Conflict { constraint: constraint_name(message.as_deref().unwrap_or_default()) };
            }
            ffi::SQLITE_CONSTRAINT_FOREIGNKEY => {
                return StoreError::NotFound("a record this one refers to (site, mailbox, thread or message)".into());
            }
            _ => {}
        }
    }
    StoreError::Database(Box::new(err))
}

/// Maps the error of deleting a mailbox: a foreign-key violation there means a team member
/// still sends from it.
pub(crate) fn team_member_mailbox_err(err: rusqlite::Error) -> StoreError {
    if let rusqlite::Error::SqliteFailure(e, _) = &err
        && e.extended_code == ffi::SQLITE_CONSTRAINT_FOREIGNKEY
    {
        return StoreError::Conflict { constraint: "team_member_mailbox".into() };
    }
    db_err(err)
}

/// Names a unique violation from SQLite's message, `UNIQUE constraint failed: t.a, t.b`, with
/// the same names the PostgreSQL schema gives its constraints.
fn constraint_name(message: &str) -> String {
    let columns = message.rsplit_once(": ").map(|(_, c)| c).unwrap_or(message).trim();
    let name = match columns {
        "mailboxes.address_canonical" => "mailbox_address",
        "mailboxes.site_id, mailboxes.client_id" => "mailbox_client_id",
        "messages.mailbox_id, messages.direction, messages.message_id_header" => "message_id",
        "api_keys.secret_hash" => "api_key_hash",
        "events.id" => "event_id",
        "message_recipients.message_id, message_recipients.address" => "message_recipients_pkey",
        "idempotency_keys.site_id, idempotency_keys.key" => "idempotency_keys_pkey",
        "settings.key" => "settings_pkey",
        "domains.name" => "domain_name",
        "dkim_keys.domain_id, dkim_keys.selector" => "dkim_selector",
        "dkim_keys.domain_id, dkim_keys.position" => "dkim_keys_pkey",
        "suppressions.site_id, suppressions.address" => "suppressions_pkey",
        "webhook_deliveries.endpoint_id, webhook_deliveries.event_id" => "webhook_delivery_event",
        "contacts.site_id, contacts.email_lower" => "contact_email",
        "contacts.site_id, contacts.external_id" => "contact_external_id",
        "secure_tokens.site_id, secure_tokens.token_type, secure_tokens.identifier" => "secure_token_identity",
        "tool_configs.site_id, tool_configs.name" => "tool_config_name",
        "sent_emails.site_id, sent_emails.provider, sent_emails.external_message_id" => "sent_email_external_id",
        "site_settings.site_id" => "site_settings_pkey",
        other => match other.split_once('.') {
            Some((table, "id")) => return format!("{table}_pkey"),
            _ => other,
        },
    };
    name.to_string()
}

/// Reads a column, reporting an undecodable value as corrupt data.
pub(crate) fn col<T: FromSql>(row: &SqliteRow, name: &str) -> StoreResult<T> {
    row.try_get(name).map_err(|e| StoreError::Corrupt(format!("column `{name}`: {e}")))
}

/// Reads a UUID column as a typed id.
pub(crate) fn id<T: From<Uuid>>(row: &SqliteRow, name: &str) -> StoreResult<T> {
    col::<Uuid>(row, name).map(T::from)
}

/// Reads a nullable UUID column as a typed id.
pub(crate) fn opt_id<T: From<Uuid>>(row: &SqliteRow, name: &str) -> StoreResult<Option<T>> {
    col::<Option<Uuid>>(row, name).map(|u| u.map(T::from))
}

/// Drops the sub-microsecond part of a timestamp: both backends keep microseconds.
pub(crate) fn trunc(t: DateTime<Utc>) -> DateTime<Utc> {
    t.with_nanosecond(t.nanosecond() / 1_000 * 1_000).unwrap_or(t)
}

/// Formats a timestamp in the one fixed shape stored, whose text order is time order.
pub(crate) fn ts(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// Parses a stored timestamp.
pub(crate) fn parse_ts(s: &str, name: &str) -> StoreResult<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| StoreError::Corrupt(format!("column `{name}`: `{s}` is not a timestamp: {e}")))
}

/// Reads a timestamp column.
pub(crate) fn time(row: &SqliteRow, name: &str) -> StoreResult<DateTime<Utc>> {
    parse_ts(&col::<String>(row, name)?, name)
}

/// Reads a nullable timestamp column.
pub(crate) fn opt_time(row: &SqliteRow, name: &str) -> StoreResult<Option<DateTime<Utc>>> {
    col::<Option<String>>(row, name)?.map(|s| parse_ts(&s, name)).transpose()
}

/// Serializes a value for a JSON column.
pub(crate) fn to_json<T: Serialize + ?Sized>(value: &T) -> StoreResult<String> {
    serde_json::to_string(value).map_err(|e| StoreError::Corrupt(format!("cannot encode JSON: {e}")))
}

/// Reads a JSON column.
pub(crate) fn json<T: DeserializeOwned>(row: &SqliteRow, name: &str) -> StoreResult<T> {
    let text: String = col(row, name)?;
    serde_json::from_str(&text).map_err(|e| StoreError::Corrupt(format!("column `{name}`: {e}")))
}

/// Reads a nullable JSON column.
pub(crate) fn opt_json<T: DeserializeOwned>(row: &SqliteRow, name: &str) -> StoreResult<Option<T>> {
    match col::<Option<String>>(row, name)? {
        Some(text) => serde_json::from_str(&text).map(Some).map_err(|e| StoreError::Corrupt(format!("column `{name}`: {e}"))),
        None => Ok(None),
    }
}

/// Reads an enum stored as its wire name.
pub(crate) fn parsed<T: FromStr<Err = String>>(row: &SqliteRow, name: &str) -> StoreResult<T> {
    let text: String = col(row, name)?;
    text.parse().map_err(|e| StoreError::Corrupt(format!("column `{name}`: {e}")))
}

/// Reads a non-negative integer column.
pub(crate) fn unsigned<T: TryFrom<i64>>(row: &SqliteRow, name: &str) -> StoreResult<T> {
    let v: i64 = col(row, name)?;
    T::try_from(v).map_err(|_| StoreError::Corrupt(format!("column `{name}`: {v} is out of range")))
}

/// Converts an unsigned count for storage.
pub(crate) fn signed<T: TryInto<i64> + Copy + std::fmt::Display>(v: T, what: &str) -> StoreResult<i64> {
    v.try_into().map_err(|_| StoreError::Corrupt(format!("{what} {v} is too large to store")))
}

/// Reads a stored address.
pub(crate) fn address(row: &SqliteRow, name: &str) -> StoreResult<EmailAddress> {
    let text: String = col(row, name)?;
    EmailAddress::parse(&text).map_err(|e| StoreError::Corrupt(format!("column `{name}`: {e}")))
}

/// Decodes a `sites` row.
pub(crate) fn site(row: &SqliteRow) -> StoreResult<Site> {
    Ok(Site { id: id(row, "id")?, name: col(row, "name")?, created_at: time(row, "created_at")? })
}

/// Decodes an `api_keys` row.
pub(crate) fn api_key(row: &SqliteRow) -> StoreResult<ApiKey> {
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
pub(crate) fn mailbox(row: &SqliteRow) -> StoreResult<Mailbox> {
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
pub(crate) fn thread(row: &SqliteRow) -> StoreResult<Thread> {
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
pub(crate) fn message(row: &SqliteRow) -> StoreResult<Message> {
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
pub(crate) fn attachment(row: &SqliteRow) -> StoreResult<Attachment> {
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
pub(crate) fn recipient(row: &SqliteRow) -> StoreResult<Recipient> {
    Ok(Recipient {
        address: address(row, "address")?,
        kind: parsed(row, "kind")?,
        status: parsed(row, "status")?,
        last_reply: col(row, "last_reply")?,
        attempts: unsigned(row, "attempts")?,
        next_attempt_at: opt_time(row, "next_attempt_at")?,
        updated_at: time(row, "updated_at")?,
    })
}

/// Decodes a `domains` row (without its DKIM keys).
pub(crate) fn domain(row: &SqliteRow) -> StoreResult<Domain> {
    Ok(Domain {
        id: id(row, "id")?,
        site_id: id(row, "site_id")?,
        name: col(row, "name")?,
        dkim: Vec::new(),
        created_at: time(row, "created_at")?,
    })
}

/// Decodes a `dkim_keys` row.
pub(crate) fn dkim_key(row: &SqliteRow) -> StoreResult<DkimKey> {
    Ok(DkimKey {
        selector: col(row, "selector")?,
        algorithm: col(row, "algorithm")?,
        public_key: col(row, "public_key")?,
        private_key_encrypted: col(row, "private_key_encrypted")?,
    })
}

/// Decodes a `suppressions` row.
pub(crate) fn suppression(row: &SqliteRow) -> StoreResult<Suppression> {
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
pub(crate) fn webhook_endpoint(row: &SqliteRow) -> StoreResult<WebhookEndpoint> {
    Ok(WebhookEndpoint {
        id: id(row, "id")?,
        site_id: id(row, "site_id")?,
        url: col(row, "url")?,
        event_types: json(row, "event_types")?,
        mailbox_id: opt_id(row, "mailbox_id")?,
        description: col(row, "description")?,
        enabled: col(row, "enabled")?,
        disabled_reason: col(row, "disabled_reason")?,
        failing_since: opt_time(row, "failing_since")?,
        secret_encrypted: col(row, "secret_encrypted")?,
        previous_secret_encrypted: col(row, "previous_secret_encrypted")?,
        previous_secret_expires_at: opt_time(row, "previous_secret_expires_at")?,
        created_at: time(row, "created_at")?,
        updated_at: time(row, "updated_at")?,
    })
}

/// Decodes a `webhook_deliveries` row (without its attempts).
pub(crate) fn webhook_delivery(row: &SqliteRow) -> StoreResult<WebhookDelivery> {
    Ok(WebhookDelivery {
        id: id(row, "id")?,
        endpoint_id: id(row, "endpoint_id")?,
        site_id: id(row, "site_id")?,
        event_id: id(row, "event_id")?,
        event_cursor: col(row, "event_cursor")?,
        event_type: col(row, "event_type")?,
        status: parsed(row, "status")?,
        attempts: unsigned(row, "attempts")?,
        next_attempt_at: opt_time(row, "next_attempt_at")?,
        history: Vec::new(),
        created_at: time(row, "created_at")?,
        updated_at: time(row, "updated_at")?,
    })
}

/// Decodes a `webhook_attempts` row.
pub(crate) fn webhook_attempt(row: &SqliteRow) -> StoreResult<WebhookAttempt> {
    let status_code: Option<i64> = col(row, "status_code")?;
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
pub(crate) fn pending(row: &SqliteRow) -> StoreResult<mailroom_store::PendingRecipient> {
    Ok(mailroom_store::PendingRecipient { message_id: id(row, "message_id")?, site_id: id(row, "site_id")?, recipient: recipient(row)? })
}

/// Decodes an `events` row.
pub(crate) fn event(row: &SqliteRow) -> StoreResult<Event> {
    let seq: i64 = col(row, "seq")?;
    Ok(Event {
        id: id(row, "id")?,
        cursor: seq.to_string(),
        event_type: col(row, "type")?,
        site_id: id(row, "site_id")?,
        mailbox_id: opt_id(row, "mailbox_id")?,
        data: json(row, "data")?,
        created_at: time(row, "created_at")?,
    })
}

/// Decodes a `contacts` row.
pub(crate) fn contact(row: &SqliteRow) -> StoreResult<Contact> {
    let email: Option<String> = col(row, "email")?;
    let email = email.map(|e| EmailAddress::parse(&e).map_err(|err| StoreError::Corrupt(format!("column `email`: {err}")))).transpose()?;
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
pub(crate) fn team_member(row: &SqliteRow) -> StoreResult<TeamMember> {
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
pub(crate) fn secure_token(row: &SqliteRow) -> StoreResult<SecureToken> {
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
pub(crate) fn tool_config(row: &SqliteRow) -> StoreResult<ToolConfig> {
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
pub(crate) fn tool_run(row: &SqliteRow) -> StoreResult<ToolRun> {
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
pub(crate) fn sent_email(row: &SqliteRow) -> StoreResult<SentEmail> {
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

/// Renders a search query as an FTS5 expression for `message_search MATCH ?`: each term a
/// quoted phrase (FTS5 reads nothing inside quotes as syntax, so `OR`, `NEAR(`, `*` and `-`
/// are only text), the terms joined with `AND`, the last phrase's last token a prefix
/// (`"…" *`). Tokens hold letters and digits only; quotes are doubled all the same.
pub(crate) fn fts5_query(query: &mailroom_store::SearchQuery) -> String {
    let terms = query.terms();
    let mut out = String::new();
    for (i, tokens) in terms.iter().enumerate() {
        if i > 0 {
            out.push_str(" AND ");
        }
        out.push('"');
        out.push_str(&tokens.join(" ").replace('"', "\"\""));
        out.push('"');
        if i + 1 == terms.len() {
            out.push_str(" *");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_queries_become_quoted_fts5_phrases() {
        let fts = |q: &str| fts5_query(&mailroom_store::SearchQuery::parse(q));
        assert_eq!(fts("invoice"), "\"invoice\" *");
        assert_eq!(fts("Alice@Example.com march"), "\"alice example com\" AND \"march\" *");
        assert_eq!(fts("a OR NEAR(b \"c\" -d*"), "\"a\" AND \"or\" AND \"near b\" AND \"c\" AND \"d\" *");
        assert_eq!(fts("***"), "");
    }

    #[test]
    fn names_constraints_like_postgres() {
        assert_eq!(constraint_name("UNIQUE constraint failed: mailboxes.address_canonical"), "mailbox_address");
        assert_eq!(constraint_name("UNIQUE constraint failed: mailboxes.site_id, mailboxes.client_id"), "mailbox_client_id");
        assert_eq!(
            constraint_name("UNIQUE constraint failed: messages.mailbox_id, messages.direction, messages.message_id_header"),
            "message_id"
        );
        assert_eq!(constraint_name("UNIQUE constraint failed: sites.id"), "sites_pkey");
        assert_eq!(constraint_name("UNIQUE constraint failed: domains.name"), "domain_name");
        assert_eq!(constraint_name("UNIQUE constraint failed: dkim_keys.domain_id, dkim_keys.selector"), "dkim_selector");
        assert_eq!(constraint_name("UNIQUE constraint failed: contacts.site_id, contacts.email_lower"), "contact_email");
        assert_eq!(constraint_name("UNIQUE constraint failed: contacts.site_id, contacts.external_id"), "contact_external_id");
        assert_eq!(constraint_name("UNIQUE constraint failed: tool_configs.site_id, tool_configs.name"), "tool_config_name");
        assert_eq!(
            constraint_name("UNIQUE constraint failed: sent_emails.site_id, sent_emails.provider, sent_emails.external_message_id"),
            "sent_email_external_id"
        );
    }

    #[test]
    fn timestamps_sort_as_text_and_keep_microseconds() {
        let t = DateTime::parse_from_rfc3339("2025-01-02T03:04:05.123456789Z").unwrap().with_timezone(&Utc);
        assert_eq!(ts(t), "2025-01-02T03:04:05.123456Z");
        assert_eq!(parse_ts(&ts(t), "t").unwrap(), trunc(t));
        let whole = DateTime::parse_from_rfc3339("2025-01-02T03:04:05Z").unwrap().with_timezone(&Utc);
        assert!(ts(whole) < ts(t));
        assert!(parse_ts("yesterday", "t").is_err());
    }
}
