//! Operational controls (issue 15): sending rate limits, storage quotas, mailbox lifetimes,
//! message retention and uploaded attachments, as data. The rules that apply them live in
//! the engine; these are the shapes the API, the store and the CLI share.

use crate::ids::{AttachmentId, MailboxId, SiteId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};

/// The limits in force for a mailbox or a site; `null` means unlimited.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Limits {
    /// Messages sent per minute.
    pub send_per_minute: Option<u64>,
    /// Messages sent per hour.
    pub send_per_hour: Option<u64>,
    /// Messages sent per day.
    pub send_per_day: Option<u64>,
    /// Bytes of stored mail: raw messages plus their decoded attachments.
    pub storage_bytes: Option<u64>,
    /// Stored messages.
    pub max_messages: Option<u64>,
}

/// A change to limits: a field left out keeps its value (or the server default); `null`
/// makes it unlimited; a number sets it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LimitsPatch {
    /// Messages sent per minute.
    #[serde(default, deserialize_with = "whole_or_null", skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<u64>, maximum = 1000000000)]
    pub send_per_minute: Option<Option<u64>>,
    /// Messages sent per hour.
    #[serde(default, deserialize_with = "whole_or_null", skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<u64>, maximum = 1000000000)]
    pub send_per_hour: Option<Option<u64>>,
    /// Messages sent per day.
    #[serde(default, deserialize_with = "whole_or_null", skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<u64>, maximum = 1000000000)]
    pub send_per_day: Option<Option<u64>>,
    /// Bytes of stored mail (at most 10^15, a petabyte).
    #[serde(default, deserialize_with = "whole_or_null", skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<u64>, maximum = 1e15)]
    pub storage_bytes: Option<Option<u64>>,
    /// Stored messages (at most 10^12).
    #[serde(default, deserialize_with = "whole_or_null", skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<u64>, maximum = 1e12)]
    pub max_messages: Option<Option<u64>>,
}

impl LimitsPatch {
    /// Returns `self` with every field `other` sets taken from `other`.
    pub fn merged(self, other: &LimitsPatch) -> LimitsPatch {
        LimitsPatch {
            send_per_minute: other.send_per_minute.or(self.send_per_minute),
            send_per_hour: other.send_per_hour.or(self.send_per_hour),
            send_per_day: other.send_per_day.or(self.send_per_day),
            storage_bytes: other.storage_bytes.or(self.storage_bytes),
            max_messages: other.max_messages.or(self.max_messages),
        }
    }

    /// Returns the limits in force: the fields set here, the others from `defaults`.
    pub fn resolve(&self, defaults: &Limits) -> Limits {
        Limits {
            send_per_minute: self.send_per_minute.unwrap_or(defaults.send_per_minute),
            send_per_hour: self.send_per_hour.unwrap_or(defaults.send_per_hour),
            send_per_day: self.send_per_day.unwrap_or(defaults.send_per_day),
            storage_bytes: self.storage_bytes.unwrap_or(defaults.storage_bytes),
            max_messages: self.max_messages.unwrap_or(defaults.max_messages),
        }
    }
}

/// What a site or mailbox has stored.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Usage {
    /// Bytes of raw messages plus their decoded attachments.
    pub storage_bytes: u64,
    /// Stored messages.
    pub messages: u64,
}

/// Whose controls: a site's or a mailbox's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ControlScope {
    /// A site's controls, which apply to all its mailboxes together.
    Site(SiteId),
    /// One mailbox's controls.
    Mailbox(MailboxId),
}

impl ControlScope {
    /// Returns the scope's key: `site:<id>` or `mailbox:<id>`.
    pub fn key(&self) -> String {
        match self {
            ControlScope::Site(id) => format!("site:{id}"),
            ControlScope::Mailbox(id) => format!("mailbox:{id}"),
        }
    }
}

/// The controls stored for one site or mailbox.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Controls {
    /// Limits set explicitly (the others come from the server defaults).
    pub limits: LimitsPatch,
    /// Days messages are kept; `None` keeps them forever (for a mailbox: the site's rule).
    pub retention_days: Option<u32>,
    /// When the mailbox expires (mailboxes only).
    pub expires_at: Option<DateTime<Utc>>,
}

/// An attachment uploaded before the message that carries it (`POST /v1/attachments`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct UploadedAttachment {
    /// The id to reference as `{"attachment_id": "…"}` in sends, replies and forwards.
    pub id: AttachmentId,
    /// The owning site.
    pub site_id: SiteId,
    /// The file name given at upload.
    #[serde(default)]
    pub filename: Option<String>,
    /// The MIME type.
    pub content_type: String,
    /// Size in bytes.
    pub size: u64,
    /// SHA-256 of the content, hex.
    pub sha256: String,
    /// When it was uploaded.
    pub created_at: DateTime<Utc>,
    /// When the upload is deleted (messages that used it keep their own copy).
    pub expires_at: DateTime<Utc>,
    /// Where the content is kept in the blob store.
    #[serde(skip)]
    pub blob_key: String,
}

/// `POST /v1/attachments/{id}/url`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignedUrlRequest {
    /// Seconds the URL stays valid (default 3600, at most 604800).
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "whole_number")]
    #[schema(minimum = 1, maximum = 604800)]
    pub expires_in_seconds: Option<u64>,
}

/// Reads a whole number written `603` or `603.0`: JSON Schema's `integer` (what the document
/// declares) admits both, and a client that computes the value in floating point sends the
/// second. A fraction, a negative number or another type is refused.
pub fn whole_number<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    use serde::de::Error;
    let Some(n) = Option::<serde_json::Number>::deserialize(d)? else { return Ok(None) };
    if let Some(u) = n.as_u64() {
        return Ok(Some(u));
    }
    match n.as_f64() {
        Some(f) if f.fract() == 0.0 && (0.0..=9.0e15).contains(&f) => Ok(Some(f as u64)),
        _ => Err(D::Error::custom(format!("invalid value: {n}, expected a whole number"))),
    }
}

/// A field that may be `null` (`Some(None)`: unlimited, forever) or a whole number written
/// either way (see [`whole_number`]); absent fields are `None` through `#[serde(default)]`.
pub fn whole_or_null<'de, D: Deserializer<'de>, T: TryFrom<u64>>(d: D) -> Result<Option<Option<T>>, D::Error> {
    use serde::de::Error;
    match whole_number(d)? {
        None => Ok(Some(None)),
        Some(n) => T::try_from(n).map(|v| Some(Some(v))).map_err(|_| D::Error::custom(format!("invalid value: {n}, out of range"))),
    }
}

#[cfg(test)]
mod whole_number_tests {
    use super::SignedUrlRequest;

    #[test]
    fn expiry_is_a_whole_number_written_either_way() {
        let read = |s: &str| serde_json::from_str::<SignedUrlRequest>(s).map(|r| r.expires_in_seconds);
        assert_eq!(read(r#"{"expires_in_seconds": 603}"#).unwrap(), Some(603));
        assert_eq!(read(r#"{"expires_in_seconds": 603.0}"#).unwrap(), Some(603));
        assert_eq!(read(r#"{"expires_in_seconds": null}"#).unwrap(), None);
        assert_eq!(read("{}").unwrap(), None);
        for bad in ["603.5", "-1", "\"603\"", "true"] {
            assert!(read(&format!(r#"{{"expires_in_seconds": {bad}}}"#)).is_err(), "{bad}");
        }
    }

    #[test]
    fn limits_and_retention_take_whole_numbers_written_either_way() {
        let site = |s: &str| serde_json::from_str::<super::UpdateSiteRequest>(s);
        let r = site(r#"{"limits": {"send_per_day": 1000.0, "send_per_hour": null}, "retention_days": 30.0}"#).unwrap();
        let limits = r.limits.unwrap();
        assert_eq!((limits.send_per_day, limits.send_per_hour, limits.send_per_minute), (Some(Some(1000)), Some(None), None));
        assert_eq!(r.retention_days, Some(Some(30)));
        assert_eq!(site(r#"{"retention_days": null}"#).unwrap().retention_days, Some(None));
        assert_eq!(site("{}").unwrap().retention_days, None);
        assert!(site(r#"{"retention_days": 4294967296}"#).is_err(), "out of u32");
        assert!(site(r#"{"limits": {"send_per_day": 1.5}}"#).is_err());
    }
}

/// A time-limited download URL.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SignedUrl {
    /// Downloads the attachment without an API key until `expires_at`.
    pub url: String,
    /// When the URL stops working.
    pub expires_at: DateTime<Utc>,
}

/// Reads a `limits` field: a JSON object (or `null`), never the array form serde would also
/// take for a struct.
pub fn limits_object<'de, D: Deserializer<'de>>(d: D) -> Result<Option<LimitsPatch>, D::Error> {
    use serde::de::Error;
    match Option::<serde_json::Value>::deserialize(d)? {
        None => Ok(None),
        Some(v @ serde_json::Value::Object(_)) => serde_json::from_value(v).map(Some).map_err(D::Error::custom),
        Some(_) => Err(D::Error::custom("`limits` must be an object such as {\"send_per_minute\": 5}")),
    }
}

/// `PATCH /v1/sites/{id}`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateSiteRequest {
    /// Limits shared by all the site's mailboxes together.
    #[serde(default, deserialize_with = "limits_object", skip_serializing_if = "Option::is_none")]
    pub limits: Option<LimitsPatch>,
    /// Days messages are kept (`null`: forever); a mailbox's own value wins.
    #[serde(default, deserialize_with = "whole_or_null", skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<u32>, minimum = 1, maximum = 36500)]
    pub retention_days: Option<Option<u32>>,
    /// The site's approval policy for outbound mail (`none`, `all`, `first_contact`); the
    /// strictest of the site's, the mailbox's and the tool config's applies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval_policy: Option<crate::drafts::ApprovalPolicy>,
}

/// A site's or mailbox's controls as the API shows them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ControlsView {
    /// The limits in force (explicit values, else server defaults; `null`: unlimited).
    pub limits: Limits,
    /// Days messages are kept; `null`: forever.
    pub retention_days: Option<u32>,
    /// What is stored now.
    pub usage: Usage,
    /// The approval policy (site answers of `PATCH /v1/sites/{id}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval_policy: Option<crate::drafts::ApprovalPolicy>,
}

/// `GET /v1/usage`: the site's use and limits, and each mailbox's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct UsageReport {
    /// The site.
    pub site_id: SiteId,
    /// The site's limits, retention and totals.
    pub site: ControlsView,
    /// Each mailbox's limits, retention, totals and expiry.
    pub mailboxes: Vec<MailboxUsage>,
}

/// One mailbox's line of [`UsageReport`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MailboxUsage {
    /// The mailbox.
    pub mailbox_id: MailboxId,
    /// Its address.
    pub address: String,
    /// Its limits, retention and totals.
    #[serde(flatten)]
    pub controls: ControlsView,
    /// When it expires, if it is ephemeral.
    pub expires_at: Option<DateTime<Utc>>,
}

/// A mailbox as `GET`, `POST` and `PATCH /v1/mailboxes…` show it: its fields plus its
/// expiry, limits, retention and storage use.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MailboxView {
    /// The mailbox.
    #[serde(flatten)]
    pub mailbox: crate::model::Mailbox,
    /// When the mailbox expires and is deleted with its mail; `null`: never.
    pub expires_at: Option<DateTime<Utc>>,
    /// The mailbox's limits in force (its site's apply too).
    pub limits: Limits,
    /// Days messages are kept; `null`: the site's rule, else forever.
    pub retention_days: Option<u32>,
    /// What the mailbox stores now.
    pub usage: Usage,
}
