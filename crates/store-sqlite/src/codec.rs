//! Conversions between domain values and SQLite columns, and the mapping of SQLite errors.
//! The record decoders are shared with PostgreSQL (`mailroom_store::codec`); this file says
//! how a SQLite row gives each kind of column ([`RowAccess`]) and how values are written.
//!
//! Reading never panics: a value that cannot be decoded becomes [`StoreError::Corrupt`].

use crate::db::{Row as SqliteRow, RowRef};
use chrono::{DateTime, Utc};
use mailroom_store::codec::RowAccess;
use mailroom_store::{StoreError, StoreResult};
use rusqlite::ffi;
use rusqlite::types::FromSql;
use serde::Serialize;
use serde::de::DeserializeOwned;
use uuid::Uuid;

/// The decoders and helpers both backends share (`mailroom_store::codec`).
pub(crate) use mailroom_store::codec::{
    MESSAGE_COLUMNS, api_key, attachment, attachment_text, attachment_text_job, contact, controls, dkim_key, domain, event_seq, id, json, mailbox, merge_participants, message,
    opt_time, parsed, participants_of, pending, recipient, secure_token, sent_email, site, suppression, team_member, thread, time,
    tool_config, tool_run, trunc, unsigned, upload, webhook_attempt, webhook_delivery, webhook_endpoint,
};

/// Decodes an `events` row with its cursor in `scope` (the whole log's position is `seq`).
pub(crate) fn event(row: &SqliteRow, scope: mailroom_core::cursor::CursorScope) -> StoreResult<mailroom_core::Event> {
    mailroom_store::codec::event(row, scope, "seq")
}

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
    row.try_get(name).map_err(|e| corrupt(name, e))
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

/// Serializes a value for a JSON column.
pub(crate) fn to_json<T: Serialize + ?Sized>(value: &T) -> StoreResult<String> {
    mailroom_store::codec::json_text(value)
}

/// Converts an unsigned count for storage.
pub(crate) fn signed<T: TryInto<i64> + Copy + std::fmt::Display>(v: T, what: &str) -> StoreResult<i64> {
    mailroom_store::codec::signed(v, what)
}

/// Reports a column that could not be read as corrupt data.
fn corrupt(name: &str, e: String) -> StoreError {
    StoreError::Corrupt(format!("column `{name}`: {e}"))
}

/// SQLite's columns: UUIDs as the driver binds them, timestamps as fixed-shape text ([`ts`]),
/// JSON as text; for an owned [`SqliteRow`] and for a [`RowRef`] borrowed from a running
/// statement alike (both read columns by name with `try_get` and `text`).
macro_rules! row_access {
    ($row:ty) => {
        impl RowAccess for $row {
            fn opt_text(&self, name: &str) -> StoreResult<Option<String>> {
                Ok(self.text(name).map_err(|e| corrupt(name, e))?.map(|s| s.to_string()))
            }

            fn opt_uuid(&self, name: &str) -> StoreResult<Option<Uuid>> {
                self.try_get(name).map_err(|e| corrupt(name, e))
            }

            fn opt_int(&self, name: &str) -> StoreResult<Option<i64>> {
                self.try_get(name).map_err(|e| corrupt(name, e))
            }

            fn opt_bool(&self, name: &str) -> StoreResult<Option<bool>> {
                self.try_get(name).map_err(|e| corrupt(name, e))
            }

            fn opt_bytes(&self, name: &str) -> StoreResult<Option<Vec<u8>>> {
                self.try_get(name).map_err(|e| corrupt(name, e))
            }

            fn opt_time(&self, name: &str) -> StoreResult<Option<DateTime<Utc>>> {
                self.text(name).map_err(|e| corrupt(name, e))?.map(|s| parse_ts(&s, name)).transpose()
            }

            fn opt_json<T: DeserializeOwned>(&self, name: &str) -> StoreResult<Option<T>> {
                match self.text(name).map_err(|e| corrupt(name, e))? {
                    Some(text) => serde_json::from_str(&text).map(Some).map_err(|e| corrupt(name, e.to_string())),
                    None => Ok(None),
                }
            }
        }
    };
}

row_access!(SqliteRow);
row_access!(RowRef<'_, '_>);

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
