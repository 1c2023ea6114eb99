//! The crate's one error enum; each variant has a stable code the REST API passes on.

use mailroom_engine::secrets::SecretError;
use mailroom_store::StoreError;

/// What went wrong in a webhook operation.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    /// The URL is malformed, not http(s), carries credentials, is too long, or its host does
    /// not resolve.
    #[error("{0}")]
    InvalidUrl(String),
    /// The URL points at an address Mailroom refuses to call (loopback, private networks,
    /// link-local, cloud metadata, …).
    #[error("{0}")]
    ForbiddenTarget(String),
    /// An event type name is not one Mailroom emits.
    #[error("{0}")]
    InvalidEventType(String),
    /// Another field is invalid.
    #[error("{0}")]
    Validation(String),
    /// The endpoint (or a mailbox it names) does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A stored secret could not be decrypted.
    #[error(transparent)]
    Secret(#[from] SecretError),
}

impl WebhookError {
    /// Returns the stable, machine-readable code of this error.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidUrl(_) => "invalid_url",
            Self::ForbiddenTarget(_) => "forbidden_target",
            Self::InvalidEventType(_) => "invalid_event_type",
            Self::Validation(_) => "validation_error",
            Self::NotFound(_) => "not_found",
            Self::Store(StoreError::NotFound(_)) => "not_found",
            Self::Store(_) | Self::Secret(_) => "internal_error",
        }
    }
}
