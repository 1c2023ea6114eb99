//! One send in one transaction: the sender's copy, the copies delivered to mailboxes of this
//! server, their events, and the `Idempotency-Key` with its stored answer, committed together.

#[allow(unused_imports)]
use crate::*;
use async_trait::async_trait;
use mailroom_core::*;

/// An `Idempotency-Key` a send claims, with the answer stored under it in the same
/// transaction (so a retry finds either nothing, and runs again, or the whole send and its
/// answer).
#[derive(Debug, Clone, PartialEq)]
pub struct IdempotentAnswer {
    /// The site the key belongs to.
    pub site: SiteId,
    /// The key as the client sent it.
    pub key: String,
    /// The SHA-256 of the request (method, path and body) the key was used with.
    pub request_hash: String,
    /// The status answered.
    pub status: u16,
    /// The body answered.
    pub body: String,
}

/// One write of a send, applied in order (so events keep the order they happened in).
#[derive(Debug, Clone, PartialEq)]
pub enum SendWrite {
    /// A message (the sender's copy or a copy delivered to a local mailbox), as
    /// [`MessageStore::insert_message_with_blobs`] stores it: `blobs` are `(key, bytes)` of at
    /// most [`MessageStore::inline_blob_max`] bytes each (none for a store that keeps no blobs).
    Message {
        /// The message and whether it starts a thread.
        new: NewMessage,
        /// Its events.
        events: Vec<NewEvent>,
        /// Blobs kept in the store, in the same transaction.
        blobs: Vec<(String, bytes::Bytes)>,
    },
    /// A suppression, as [`DomainStore::put_suppression`] stores it.
    Suppression {
        /// The suppression (created, or replacing the site's entry for the address).
        suppression: Suppression,
        /// Its event.
        event: Option<NewEvent>,
    },
    /// Events alone (a local delivery's `message.delivered`, a `message.bounced`).
    Events(Vec<NewEvent>),
}

/// Everything one send writes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NewSend {
    /// The key claimed and answered in the same transaction, if the request had one.
    pub idempotency: Option<IdempotentAnswer>,
    /// The route the delivery worker takes for `(message, site, route)`, as
    /// [`PolicyStore::put_message_route`] records it.
    pub route: Option<(MessageId, SiteId, String)>,
    /// The writes, in order.
    pub writes: Vec<SendWrite>,
}

/// The send path's writes and the idempotency key look-up it starts with.
#[async_trait]
pub trait SendStore: Send + Sync + 'static {
    /// Commits `send` in one transaction and answers once it is durable. With
    /// `send.idempotency`, the key is claimed first: if the site holds it already, nothing is
    /// written and its earlier use is returned (`Existing`); otherwise the route and every write
    /// are applied in order and the key is stored with its answer. Returns `Claimed` (also when
    /// there is no key) when everything was committed. A failing write (a missing mailbox or
    /// thread, a `Conflict`) fails the whole send and writes nothing.
    async fn commit_send(&self, send: NewSend) -> StoreResult<IdempotencyClaim>;

    /// Returns the earlier use of `key` by `site` (`Existing`), or `None` when the key is free.
    async fn find_idempotency_key(&self, site: SiteId, key: &str) -> StoreResult<Option<IdempotencyClaim>>;
}
