//! The engine's errors: each carries a stable code that the interfaces pass on.

use mailroom_store::StoreError;

/// What went wrong in an engine operation.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The object does not exist (or the caller may not see it).
    #[error("{0}")]
    NotFound(String),
    /// The input is invalid; `code` is machine-readable (`invalid_email_address`, …).
    #[error("{message}")]
    Invalid {
        /// A stable code.
        code: &'static str,
        /// What is wrong and how to fix it.
        message: String,
    },
    /// The request conflicts with existing data (`address_taken`, …).
    #[error("{message}")]
    Conflict {
        /// A stable code.
        code: &'static str,
        /// What conflicts.
        message: String,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Something that should not happen did.
    #[error("internal error: {0}")]
    Internal(String),
}

impl EngineError {
    /// Returns an `Invalid` error.
    pub fn invalid(code: &'static str, message: impl Into<String>) -> Self {
        Self::Invalid { code, message: message.into() }
    }
}

impl From<std::io::Error> for EngineError {
    fn from(e: std::io::Error) -> Self {
        Self::Store(StoreError::Blob(e))
    }
}

/// Shorthand for engine results.
pub type EngineResult<T> = Result<T, EngineError>;
