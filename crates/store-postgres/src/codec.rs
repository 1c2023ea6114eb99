//! Conversions between domain values and PostgreSQL columns, and the mapping of sqlx errors.
//! The record decoders are shared with SQLite (`mailroom_store::codec`); this file says how a
//! PostgreSQL row gives each kind of column ([`RowAccess`], through [`Pg`]) and how values are
//! written.
//!
//! Reading never panics: a value that cannot be decoded becomes [`StoreError::Corrupt`].

use chrono::{DateTime, Utc};
use mailroom_core::agent::*;
use mailroom_core::*;
use mailroom_store::codec::{self as shared, RowAccess};
use mailroom_store::{StoreError, StoreResult};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sqlx::error::ErrorKind;
use sqlx::postgres::PgRow;
use sqlx::types::Json;
use sqlx::{Column as _, Postgres, Row, TypeInfo as _};
use uuid::Uuid;

/// The helpers both backends share (`mailroom_store::codec`).
pub(crate) use mailroom_store::codec::{MESSAGE_COLUMNS, event_seq, merge_participants, participants_of, signed, trunc};

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

/// Wraps a value for a JSONB parameter.
pub(crate) fn to_json<T: Serialize + ?Sized>(value: &T) -> StoreResult<Json<serde_json::Value>> {
    shared::json_value(value).map(Json)
}

/// A PostgreSQL row as the shared decoders read it: native UUID, integer (`SMALLINT`,
/// `INTEGER` or `BIGINT`), `BOOLEAN`, `BYTEA`, `TIMESTAMPTZ` and `JSONB` columns.
pub(crate) struct Pg<'r>(pub(crate) &'r PgRow);

impl RowAccess for Pg<'_> {
    fn opt_text(&self, name: &str) -> StoreResult<Option<String>> {
        col(self.0, name)
    }

    fn opt_uuid(&self, name: &str) -> StoreResult<Option<Uuid>> {
        col(self.0, name)
    }

    fn opt_int(&self, name: &str) -> StoreResult<Option<i64>> {
        let column = self.0.try_column(name).map_err(|e| StoreError::Corrupt(format!("column `{name}`: {e}")))?;
        match column.type_info().name() {
            "INT2" => col::<Option<i16>>(self.0, name).map(|v| v.map(i64::from)),
            "INT4" => col::<Option<i32>>(self.0, name).map(|v| v.map(i64::from)),
            _ => col(self.0, name),
        }
    }

    fn opt_bool(&self, name: &str) -> StoreResult<Option<bool>> {
        col(self.0, name)
    }

    fn opt_bytes(&self, name: &str) -> StoreResult<Option<Vec<u8>>> {
        col(self.0, name)
    }

    fn opt_time(&self, name: &str) -> StoreResult<Option<DateTime<Utc>>> {
        col(self.0, name)
    }

    fn opt_json<T: DeserializeOwned>(&self, name: &str) -> StoreResult<Option<T>> {
        match col::<Option<serde_json::Value>>(self.0, name)? {
            Some(value) => serde_json::from_value(value).map(Some).map_err(|e| StoreError::Corrupt(format!("column `{name}`: {e}"))),
            None => Ok(None),
        }
    }
}

/// Reads a UUID column as a typed id.
pub(crate) fn id<T: From<Uuid>>(row: &PgRow, name: &str) -> StoreResult<T> {
    shared::id(&Pg(row), name)
}

/// Reads a timestamp column.
pub(crate) fn time(row: &PgRow, name: &str) -> StoreResult<DateTime<Utc>> {
    shared::time(&Pg(row), name)
}

/// Reads a JSONB column.
pub(crate) fn json<T: DeserializeOwned>(row: &PgRow, name: &str) -> StoreResult<T> {
    shared::json(&Pg(row), name)
}

/// Reads an enum stored as its wire name.
pub(crate) fn parsed<T: std::str::FromStr<Err = String>>(row: &PgRow, name: &str) -> StoreResult<T> {
    shared::parsed(&Pg(row), name)
}

/// Reads a non-negative integer column.
pub(crate) fn unsigned<T: TryFrom<i64>>(row: &PgRow, name: &str) -> StoreResult<T> {
    shared::unsigned(&Pg(row), name)
}

/// Declares the record decoders of this backend: each one the shared decoder over [`Pg`].
macro_rules! decoders {
    ($($name:ident -> $ty:ty),* $(,)?) => {$(
        #[doc = concat!("Decodes a row with the shared `", stringify!($name), "` decoder.")]
        pub(crate) fn $name(row: &PgRow) -> StoreResult<$ty> {
            shared::$name(&Pg(row))
        }
    )*};
}

decoders! {
    site -> Site,
    api_key -> ApiKey,
    mailbox -> Mailbox,
    thread -> Thread,
    message -> Message,
    attachment -> Attachment,
    recipient -> Recipient,
    domain -> Domain,
    dkim_key -> DkimKey,
    suppression -> Suppression,
    webhook_endpoint -> WebhookEndpoint,
    webhook_delivery -> WebhookDelivery,
    webhook_attempt -> WebhookAttempt,
    pending -> mailroom_store::PendingRecipient,
    contact -> Contact,
    team_member -> TeamMember,
    secure_token -> SecureToken,
    tool_config -> ToolConfig,
    tool_run -> ToolRun,
    sent_email -> SentEmail,
    controls -> mailroom_core::controls::Controls,
    list_entry -> ListEntry,
    upload -> mailroom_core::controls::UploadedAttachment,
    attachment_text_job -> mailroom_store::AttachmentTextJob,
    attachment_text -> mailroom_core::reading::AttachmentText,
}

/// Decodes an `events` row with its cursor in `scope` (the whole log's position is `pos`).
pub(crate) fn event(row: &PgRow, scope: mailroom_core::cursor::CursorScope) -> StoreResult<mailroom_core::Event> {
    shared::event(&Pg(row), scope, "pos")
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
