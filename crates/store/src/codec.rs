//! Row decoding both SQL backends share.
//!
//! Each backend implements [`RowAccess`] for its row type: how one column of a given kind
//! (text, UUID, integer, boolean, bytes, timestamp, JSON) is read from it. The decoders of
//! every record (`site`, `mailbox`, `message`, …) are written once here on top of it, so a
//! column added to a record changes one decoder, not two. Reading never panics: a value that
//! cannot be decoded becomes [`StoreError::Corrupt`].

use crate::{PendingRecipient, StoreError, StoreResult};
use chrono::{DateTime, Timelike, Utc};
use mailroom_core::agent::*;
use mailroom_core::*;
use serde::de::DeserializeOwned;
use std::str::FromStr;
use uuid::Uuid;

/// How a backend reads one column of a row by name. Every method reads a nullable column
/// (`None` for NULL); the non-null readers ([`col`] and friends) are built on them. Errors are
/// `Corrupt`, naming the column.
pub trait RowAccess {
    /// Reads a text column.
    fn opt_text(&self, name: &str) -> StoreResult<Option<String>>;
    /// Reads a UUID column.
    fn opt_uuid(&self, name: &str) -> StoreResult<Option<Uuid>>;
    /// Reads an integer column (any width).
    fn opt_int(&self, name: &str) -> StoreResult<Option<i64>>;
    /// Reads a boolean column.
    fn opt_bool(&self, name: &str) -> StoreResult<Option<bool>>;
    /// Reads a binary column.
    fn opt_bytes(&self, name: &str) -> StoreResult<Option<Vec<u8>>>;
    /// Reads a timestamp column.
    fn opt_time(&self, name: &str) -> StoreResult<Option<DateTime<Utc>>>;
    /// Reads a JSON column into `T`.
    fn opt_json<T: DeserializeOwned>(&self, name: &str) -> StoreResult<Option<T>>;
}

impl<A: RowAccess + ?Sized> RowAccess for &A {
    fn opt_text(&self, name: &str) -> StoreResult<Option<String>> {
        (**self).opt_text(name)
    }
    fn opt_uuid(&self, name: &str) -> StoreResult<Option<Uuid>> {
        (**self).opt_uuid(name)
    }
    fn opt_int(&self, name: &str) -> StoreResult<Option<i64>> {
        (**self).opt_int(name)
    }
    fn opt_bool(&self, name: &str) -> StoreResult<Option<bool>> {
        (**self).opt_bool(name)
    }
    fn opt_bytes(&self, name: &str) -> StoreResult<Option<Vec<u8>>> {
        (**self).opt_bytes(name)
    }
    fn opt_time(&self, name: &str) -> StoreResult<Option<DateTime<Utc>>> {
        (**self).opt_time(name)
    }
    fn opt_json<T: DeserializeOwned>(&self, name: &str) -> StoreResult<Option<T>> {
        (**self).opt_json(name)
    }
}

/// The columns of a row whose names start with a prefix, read by their names without it: a
/// joined table's columns renamed apart (`mc.limits AS mc_limits`) decode with its decoder.
pub struct Prefixed<'r, R: ?Sized> {
    /// The row.
    pub row: &'r R,
    /// What each of the table's column names is prefixed with in the row.
    pub prefix: &'static str,
}

impl<R: RowAccess + ?Sized> Prefixed<'_, R> {
    fn name(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }
}

impl<R: RowAccess + ?Sized> RowAccess for Prefixed<'_, R> {
    fn opt_text(&self, name: &str) -> StoreResult<Option<String>> {
        self.row.opt_text(&self.name(name))
    }
    fn opt_uuid(&self, name: &str) -> StoreResult<Option<Uuid>> {
        self.row.opt_uuid(&self.name(name))
    }
    fn opt_int(&self, name: &str) -> StoreResult<Option<i64>> {
        self.row.opt_int(&self.name(name))
    }
    fn opt_bool(&self, name: &str) -> StoreResult<Option<bool>> {
        self.row.opt_bool(&self.name(name))
    }
    fn opt_bytes(&self, name: &str) -> StoreResult<Option<Vec<u8>>> {
        self.row.opt_bytes(&self.name(name))
    }
    fn opt_time(&self, name: &str) -> StoreResult<Option<DateTime<Utc>>> {
        self.row.opt_time(&self.name(name))
    }
    fn opt_json<T: DeserializeOwned>(&self, name: &str) -> StoreResult<Option<T>> {
        self.row.opt_json(&self.name(name))
    }
}

/// A value a column can be read as through [`RowAccess`].
pub trait Column: Sized {
    /// Reads column `name` of `row`.
    fn read<R: RowAccess + ?Sized>(row: &R, name: &str) -> StoreResult<Self>;
}

fn required<T>(v: Option<T>, name: &str) -> StoreResult<T> {
    v.ok_or_else(|| StoreError::Corrupt(format!("column `{name}`: unexpected NULL")))
}

macro_rules! columns {
    ($($ty:ty => $method:ident),* $(,)?) => {$(
        impl Column for Option<$ty> {
            fn read<R: RowAccess + ?Sized>(row: &R, name: &str) -> StoreResult<Self> {
                row.$method(name)
            }
        }
        impl Column for $ty {
            fn read<R: RowAccess + ?Sized>(row: &R, name: &str) -> StoreResult<Self> {
                required(row.$method(name)?, name)
            }
        }
    )*};
}

columns! {
    String => opt_text,
    Uuid => opt_uuid,
    i64 => opt_int,
    bool => opt_bool,
    Vec<u8> => opt_bytes,
    DateTime<Utc> => opt_time,
}

/// Reads a column.
pub fn col<T: Column, R: RowAccess + ?Sized>(row: &R, name: &str) -> StoreResult<T> {
    T::read(row, name)
}

/// Reads a UUID column as a typed id.
pub fn id<T: From<Uuid>, R: RowAccess + ?Sized>(row: &R, name: &str) -> StoreResult<T> {
    col::<Uuid, R>(row, name).map(T::from)
}

/// Reads a nullable UUID column as a typed id.
pub fn opt_id<T: From<Uuid>, R: RowAccess + ?Sized>(row: &R, name: &str) -> StoreResult<Option<T>> {
    row.opt_uuid(name).map(|u| u.map(T::from))
}

/// Reads a timestamp column.
pub fn time<R: RowAccess + ?Sized>(row: &R, name: &str) -> StoreResult<DateTime<Utc>> {
    col(row, name)
}

/// Reads a nullable timestamp column.
pub fn opt_time<R: RowAccess + ?Sized>(row: &R, name: &str) -> StoreResult<Option<DateTime<Utc>>> {
    row.opt_time(name)
}

/// Reads a JSON column.
pub fn json<T: DeserializeOwned, R: RowAccess + ?Sized>(row: &R, name: &str) -> StoreResult<T> {
    required(row.opt_json(name)?, name)
}

/// Reads a nullable JSON column.
pub fn opt_json<T: DeserializeOwned, R: RowAccess + ?Sized>(row: &R, name: &str) -> StoreResult<Option<T>> {
    row.opt_json(name)
}

/// Reads an enum stored as its wire name.
pub fn parsed<T: FromStr<Err = String>, R: RowAccess + ?Sized>(row: &R, name: &str) -> StoreResult<T> {
    let text: String = col(row, name)?;
    text.parse().map_err(|e| StoreError::Corrupt(format!("column `{name}`: {e}")))
}

/// Reads a non-negative integer column.
pub fn unsigned<T: TryFrom<i64>, R: RowAccess + ?Sized>(row: &R, name: &str) -> StoreResult<T> {
    let v: i64 = col(row, name)?;
    T::try_from(v).map_err(|_| StoreError::Corrupt(format!("column `{name}`: {v} is out of range")))
}

/// Converts an unsigned value for an integer column.
pub fn signed<I, T>(v: T, what: &str) -> StoreResult<I>
where
    T: TryInto<I> + Copy + std::fmt::Display,
{
    v.try_into().map_err(|_| StoreError::Corrupt(format!("{what} {v} is too large to store")))
}

/// Reads a stored address.
pub fn address<R: RowAccess + ?Sized>(row: &R, name: &str) -> StoreResult<EmailAddress> {
    let text: String = col(row, name)?;
    EmailAddress::parse(&text).map_err(|e| StoreError::Corrupt(format!("column `{name}`: {e}")))
}

/// Drops the sub-microsecond part of a timestamp: both backends keep microseconds (done here
/// rather than left to the driver so that every comparison truncates the same way).
pub fn trunc(t: DateTime<Utc>) -> DateTime<Utc> {
    t.with_nanosecond(t.nanosecond() / 1_000 * 1_000).unwrap_or(t)
}

/// Serializes a value for a JSON column, as text.
pub fn json_text<T: serde::Serialize + ?Sized>(value: &T) -> StoreResult<String> {
    serde_json::to_string(value).map_err(|e| StoreError::Corrupt(format!("cannot encode JSON: {e}")))
}

/// Serializes a value for a JSON column, as a JSON value.
pub fn json_value<T: serde::Serialize + ?Sized>(value: &T) -> StoreResult<serde_json::Value> {
    serde_json::to_value(value).map_err(|e| StoreError::Corrupt(format!("cannot encode JSON: {e}")))
}

/// Returns the number deliveries are claimed in order of: the position in the event's
/// (site) cursor. A cursor that is none (never one this store handed out) counts as 0.
pub fn event_seq(cursor: &str) -> i64 {
    mailroom_core::cursor::position(cursor)
}

/// Decodes a `sites` row.
pub fn site<R: RowAccess + ?Sized>(row: &R) -> StoreResult<Site> {
    Ok(Site { id: id(row, "id")?, name: col(row, "name")?, created_at: time(row, "created_at")? })
}

/// Decodes an `api_keys` row.
pub fn api_key<R: RowAccess + ?Sized>(row: &R) -> StoreResult<ApiKey> {
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
pub fn mailbox<R: RowAccess + ?Sized>(row: &R) -> StoreResult<Mailbox> {
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
pub fn thread<R: RowAccess + ?Sized>(row: &R) -> StoreResult<Thread> {
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
pub const MESSAGE_COLUMNS: &str = "m.id, m.site_id, m.mailbox_id, m.thread_id, m.direction, \
    m.message_id_header, m.in_reply_to, m.\"references\", m.from_address, m.to_addresses, m.cc_addresses, \
    m.bcc_addresses, m.reply_to, m.subject, m.text_body, m.html_body, m.snippet, m.headers, m.labels, \
    m.read, m.size, m.raw_blob_key, m.auth_results, m.reading, m.created_at";

/// Decodes a `messages` row (without its attachments and recipients).
pub fn message<R: RowAccess + ?Sized>(row: &R) -> StoreResult<Message> {
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
        created_at: time(row, "created_at")?,
        raw_blob_key: col(row, "raw_blob_key")?,
        extracted_text: None,
        extracted_html: None,
        security: None,
    }
    .derived();
    // The reading fields (extracted text, security flags); rows stored before they existed
    // have none, and get them computed here.
    mailroom_core::reading::restore(&mut m, opt_json(row, "reading")?);
    Ok(m)
}

/// Decodes an `attachments` row.
pub fn attachment<R: RowAccess + ?Sized>(row: &R) -> StoreResult<Attachment> {
    Ok(Attachment {
        id: id(row, "id")?,
        filename: col(row, "filename")?,
        content_type: col(row, "content_type")?,
        size: unsigned(row, "size")?,
        content_id: col(row, "content_id")?,
        inline: col(row, "inline")?,
        blob_key: col(row, "blob_key")?,
        download_url: None,
    })
}

/// Decodes a `message_recipients` row.
pub fn recipient<R: RowAccess + ?Sized>(row: &R) -> StoreResult<Recipient> {
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
pub fn domain<R: RowAccess + ?Sized>(row: &R) -> StoreResult<Domain> {
    Ok(Domain { id: id(row, "id")?, site_id: id(row, "site_id")?, name: col(row, "name")?, dkim: Vec::new(), created_at: time(row, "created_at")? })
}

/// Decodes a `dkim_keys` row.
pub fn dkim_key<R: RowAccess + ?Sized>(row: &R) -> StoreResult<DkimKey> {
    Ok(DkimKey {
        selector: col(row, "selector")?,
        algorithm: col(row, "algorithm")?,
        public_key: col(row, "public_key")?,
        private_key_encrypted: col(row, "private_key_encrypted")?,
    })
}

/// Decodes a `suppressions` row.
pub fn suppression<R: RowAccess + ?Sized>(row: &R) -> StoreResult<Suppression> {
    Ok(Suppression {
        site_id: id(row, "site_id")?,
        address: address(row, "address")?,
        reason: col(row, "reason")?,
        detail: col(row, "detail")?,
        created_at: time(row, "created_at")?,
    })
}

/// Decodes a `webhook_endpoints` row.
pub fn webhook_endpoint<R: RowAccess + ?Sized>(row: &R) -> StoreResult<WebhookEndpoint> {
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
pub fn webhook_delivery<R: RowAccess + ?Sized>(row: &R) -> StoreResult<WebhookDelivery> {
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
pub fn webhook_attempt<R: RowAccess + ?Sized>(row: &R) -> StoreResult<WebhookAttempt> {
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
pub fn pending<R: RowAccess + ?Sized>(row: &R) -> StoreResult<PendingRecipient> {
    Ok(PendingRecipient { message_id: id(row, "message_id")?, site_id: id(row, "site_id")?, recipient: recipient(row)? })
}

/// Decodes an `events` row.
///
/// Its cursor is in `scope`: the `site_pos` column for a site's reads, `all_column` (the
/// position in the whole log, which each backend names) for reads of every site.
pub fn event<R: RowAccess + ?Sized>(row: &R, scope: mailroom_core::cursor::CursorScope, all_column: &str) -> StoreResult<Event> {
    let column = match scope {
        mailroom_core::cursor::CursorScope::Site => "site_pos",
        mailroom_core::cursor::CursorScope::All => all_column,
    };
    let position: i64 = col(row, column)?;
    Ok(Event {
        id: id(row, "id")?,
        cursor: mailroom_core::cursor::encode(scope, position),
        event_type: col(row, "type")?,
        site_id: id(row, "site_id")?,
        mailbox_id: opt_id(row, "mailbox_id")?,
        data: json(row, "data")?,
        created_at: time(row, "created_at")?,
    })
}

/// Decodes a `contacts` row.
pub fn contact<R: RowAccess + ?Sized>(row: &R) -> StoreResult<Contact> {
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
pub fn team_member<R: RowAccess + ?Sized>(row: &R) -> StoreResult<TeamMember> {
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
pub fn secure_token<R: RowAccess + ?Sized>(row: &R) -> StoreResult<SecureToken> {
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
pub fn tool_config<R: RowAccess + ?Sized>(row: &R) -> StoreResult<ToolConfig> {
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
pub fn tool_run<R: RowAccess + ?Sized>(row: &R) -> StoreResult<ToolRun> {
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
        delivery: None,
    })
}

/// Decodes a `sent_emails` row.
pub fn sent_email<R: RowAccess + ?Sized>(row: &R) -> StoreResult<SentEmail> {
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
pub fn participants_of(m: &Message) -> Vec<EmailAddress> {
    let mut out = Vec::new();
    merge_participants(&mut out, m.from.iter().chain(&m.to).chain(&m.cc).chain(&m.bcc).map(|n| n.address.clone()));
    out
}

/// Appends to `into` the addresses it does not hold yet (compared case-insensitively).
pub fn merge_participants(into: &mut Vec<EmailAddress>, new: impl IntoIterator<Item = EmailAddress>) {
    for a in new {
        let canonical = a.canonical();
        if !into.iter().any(|p| p.canonical() == canonical) {
            into.push(a);
        }
    }
}

/// Decodes a `list_entries` row (an allow or block entry of a site or mailbox).
pub fn list_entry<R: RowAccess + ?Sized>(row: &R) -> StoreResult<ListEntry> {
    let direction: String = col(row, "direction")?;
    let kind: String = col(row, "kind")?;
    Ok(ListEntry {
        id: id(row, "id")?,
        site_id: id(row, "site_id")?,
        direction: match direction.as_str() {
            "send" => ListDirection::Send,
            "receive" => ListDirection::Receive,
            other => return Err(StoreError::Corrupt(format!("list direction `{other}`"))),
        },
        kind: match kind.as_str() {
            "allow" => ListKind::Allow,
            "block" => ListKind::Block,
            other => return Err(StoreError::Corrupt(format!("list kind `{other}`"))),
        },
        entry: col(row, "entry")?,
        mailbox_id: opt_id(row, "mailbox_id")?,
        reason: col(row, "reason")?,
        created_at: time(row, "created_at")?,
    })
}

/// Decodes a `controls` row (a site's or mailbox's limits, retention and expiry).
pub fn controls<R: RowAccess + ?Sized>(row: &R) -> StoreResult<mailroom_core::controls::Controls> {
    let retention: Option<i64> = col(row, "retention_days")?;
    Ok(mailroom_core::controls::Controls {
        limits: json(row, "limits")?,
        retention_days: retention.map(|d| d.clamp(0, i64::from(u32::MAX)) as u32),
        expires_at: opt_time(row, "expires_at")?,
    })
}

/// Decodes an `uploads` row.
pub fn upload<R: RowAccess + ?Sized>(row: &R) -> StoreResult<mailroom_core::controls::UploadedAttachment> {
    Ok(mailroom_core::controls::UploadedAttachment {
        id: id(row, "id")?,
        site_id: id(row, "site_id")?,
        filename: col(row, "filename")?,
        content_type: col(row, "content_type")?,
        size: unsigned(row, "size")?,
        sha256: col(row, "sha256")?,
        created_at: time(row, "created_at")?,
        expires_at: time(row, "expires_at")?,
        blob_key: col(row, "blob_key")?,
    })
}

/// Decodes an `attachment_texts` row as a queued job.
pub fn attachment_text_job<R: RowAccess + ?Sized>(row: &R) -> StoreResult<crate::AttachmentTextJob> {
    Ok(crate::AttachmentTextJob {
        attachment_id: id(row, "attachment_id")?,
        message_id: id(row, "message_id")?,
        site_id: id(row, "site_id")?,
        mailbox_id: id(row, "mailbox_id")?,
        attempts: unsigned(row, "attempts")?,
    })
}

/// Decodes an `attachment_texts` row as the extracted text.
pub fn attachment_text<R: RowAccess + ?Sized>(row: &R) -> StoreResult<mailroom_core::reading::AttachmentText> {
    Ok(mailroom_core::reading::AttachmentText {
        attachment_id: id(row, "attachment_id")?,
        message_id: id(row, "message_id")?,
        text_status: parsed(row, "status")?,
        text: col(row, "text")?,
        truncated: col(row, "truncated")?,
        error: col(row, "error")?,
        attempts: unsigned(row, "attempts")?,
        updated_at: time(row, "updated_at")?,
    })
}
