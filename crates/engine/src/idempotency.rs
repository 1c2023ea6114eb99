//! `Idempotency-Key`s of sends. The key is claimed and its answer stored in the send's own
//! transaction (see [`mailroom_store::SendStore::commit_send`]), so a retry finds either
//! nothing (the send did not happen, and runs now) or the whole send with its answer.

use crate::{Engine, EngineError, EngineResult};
use mailroom_core::SiteId;
use mailroom_core::api::SendMessageResponse;
use mailroom_store::{IdempotencyClaim, IdempotentAnswer};

/// The `Idempotency-Key` a send runs under, as the interface received it.
#[derive(Debug, Clone, PartialEq)]
pub struct IdempotencyKey {
    /// The key.
    pub key: String,
    /// A hash of the request (method, path and body): the same key with another request is
    /// refused.
    pub request_hash: String,
    /// The status the interface answers a successful send with, stored with the answer.
    pub status: u16,
}

impl IdempotencyKey {
    /// The key's row, answered with `response`.
    pub(crate) fn answer(&self, site: SiteId, response: &SendMessageResponse) -> EngineResult<IdempotentAnswer> {
        Ok(IdempotentAnswer {
            site,
            key: self.key.clone(),
            request_hash: self.request_hash.clone(),
            status: self.status,
            body: crate::drafts::sent_answer(response).to_string(),
        })
    }

    /// What an earlier use of the key means for this request: its stored answer again, or an
    /// error when the key was used with another request or that request is still running.
    pub(crate) fn replay(&self, claim: IdempotencyClaim) -> EngineResult<Sent> {
        match claim {
            IdempotencyClaim::Claimed => Err(EngineError::Internal("an idempotency key was claimed without a send".into())),
            IdempotencyClaim::Existing { request_hash, .. } if request_hash != self.request_hash => Err(EngineError::invalid(
                "idempotency_key_reused",
                "this Idempotency-Key was used for a different request; use a new key for a new request",
            )),
            IdempotencyClaim::Existing { response: None, .. } => Err(EngineError::Conflict {
                code: "idempotency_key_in_progress",
                message: "a request with this Idempotency-Key is still running; retry in a moment".into(),
            }),
            IdempotencyClaim::Existing { response: Some((status, body)), .. } => Ok(Sent::Replayed { status, body }),
        }
    }
}

/// How a send under an optional [`IdempotencyKey`] ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Sent {
    /// The message was sent now.
    New(SendMessageResponse),
    /// The key was used before by the same request: its stored answer, to return as it is.
    Replayed {
        /// The status answered the first time.
        status: u16,
        /// The body answered the first time.
        body: String,
    },
}

impl Sent {
    /// Returns the answer of a send made without a key (which cannot be a replay).
    pub(crate) fn fresh(self) -> EngineResult<SendMessageResponse> {
        match self {
            Sent::New(r) => Ok(r),
            Sent::Replayed { .. } => Err(EngineError::Internal("a send without an idempotency key was replayed".into())),
        }
    }
}

impl Engine {
    /// Returns the earlier answer under `key` if the site used it before (checked before any
    /// work, so a retry gets the first answer even if the request would no longer pass).
    pub(crate) async fn earlier_use(&self, site: SiteId, key: Option<&IdempotencyKey>) -> EngineResult<Option<Sent>> {
        let Some(key) = key else { return Ok(None) };
        match self.store.find_idempotency_key(site, &key.key).await? {
            None => Ok(None),
            Some(claim) => key.replay(claim).map(Some),
        }
    }
}
