//! Server-wide settings and idempotency keys.

#[allow(unused_imports)]
use crate::*;
use async_trait::async_trait;
#[allow(unused_imports)]
use chrono::{DateTime, Utc};
#[allow(unused_imports)]
use mailroom_core::agent::*;
use mailroom_core::*;

/// Server-wide settings and idempotency keys.
#[async_trait]
pub trait SettingsStore: Send + Sync + 'static {
    /// Returns a server-wide setting.
    async fn get_setting(&self, key: &str) -> StoreResult<Option<String>>;

    /// Stores `value` under `key` unless the key exists; returns the value now stored (the
    /// existing one if another node won the race).
    async fn put_setting_if_absent(&self, key: &str, value: &str) -> StoreResult<String>;

    /// Overwrites (or creates) a server-wide setting.
    async fn put_setting(&self, key: &str, value: &str) -> StoreResult<()>;

    /// Claims `key` for a request whose hash is `request_hash`, or reports the earlier use.
    async fn claim_idempotency_key(&self, site: SiteId, key: &str, request_hash: &str) -> StoreResult<IdempotencyClaim>;

    /// Records the answer of the request holding `key`.
    async fn complete_idempotency_key(&self, site: SiteId, key: &str, status: u16, body: &str) -> StoreResult<()>;

    /// Frees `key` after its request failed, so a retry runs again.
    async fn release_idempotency_key(&self, site: SiteId, key: &str) -> StoreResult<()>;

    /// Deletes keys created before `before`; returns how many.
    async fn purge_idempotency_keys(&self, before: DateTime<Utc>) -> StoreResult<u64>;
}
