//! Webhook endpoints and their leased deliveries.

#[allow(unused_imports)]
use crate::*;
use async_trait::async_trait;
#[allow(unused_imports)]
use chrono::{DateTime, Utc};
#[allow(unused_imports)]
use mailroom_core::agent::*;
use mailroom_core::*;

/// Webhook endpoints and their leased deliveries.
#[async_trait]
pub trait WebhookStore: Send + Sync + 'static {
    /// Creates a webhook endpoint.
    async fn create_webhook(&self, endpoint: &WebhookEndpoint) -> StoreResult<()>;

    /// Returns an endpoint by id.
    async fn get_webhook(&self, id: WebhookId) -> StoreResult<Option<WebhookEndpoint>>;

    /// Lists endpoints oldest first: of one site (`Some`) or all (`None`).
    async fn list_webhooks(&self, site: Option<SiteId>) -> StoreResult<Vec<WebhookEndpoint>>;

    /// Saves every mutable field of an endpoint (url, event types, mailbox, description,
    /// enabled, disabled reason, failing since, both secrets and the previous secret's expiry,
    /// updated_at) and appends `events`, in one transaction. `NotFound` if it does not exist.
    async fn update_webhook(&self, endpoint: &WebhookEndpoint, events: &[NewEvent]) -> StoreResult<()>;

    /// Deletes an endpoint with its deliveries; returns whether it existed.
    async fn delete_webhook(&self, id: WebhookId) -> StoreResult<bool>;

    /// Inserts deliveries (with their given status, normally `pending` and due now) and, when
    /// `cursor` is `Some((key, value))`, overwrites the setting `key` with `value`, in one
    /// transaction: a fan-out that stores its position with the jobs it made can crash and
    /// repeat, never skip. A delivery whose (endpoint, event) pair already exists is skipped.
    async fn create_webhook_deliveries(&self, deliveries: &[WebhookDelivery], cursor: Option<(&str, &str)>) -> StoreResult<()>;

    /// Claims up to `limit` deliveries for an attempt: `pending` ones due by `now` (or with no
    /// time set), and `sending` ones whose lease expired before `now`. Each becomes `sending`
    /// with a lease until `lease_until` and is returned in that state (without history),
    /// oldest event first. Concurrent callers on any number of nodes never claim the same one.
    async fn claim_webhook_deliveries(&self, now: DateTime<Utc>, lease_until: DateTime<Utc>, limit: u32) -> StoreResult<Vec<WebhookDelivery>>;

    /// Records one attempt of a delivery and its new state (status, attempts = the attempt's
    /// number, next attempt), ending the lease, in one transaction.
    async fn record_webhook_attempt(
        &self,
        id: WebhookDeliveryId,
        attempt: &WebhookAttempt,
        status: WebhookDeliveryStatus,
        next_attempt_at: Option<DateTime<Utc>>,
    ) -> StoreResult<()>;

    /// Lists an endpoint's deliveries newest first, with their attempts, with ids lower than
    /// `before`, at most `limit`.
    async fn list_webhook_deliveries(&self, endpoint: WebhookId, before: Option<WebhookDeliveryId>, limit: u32) -> StoreResult<Vec<WebhookDelivery>>;

    /// Marks every `pending` delivery of an endpoint `failed` (the endpoint was disabled);
    /// returns how many.
    async fn fail_pending_webhook_deliveries(&self, endpoint: WebhookId) -> StoreResult<u64>;

    /// Makes deliveries `pending` and due now again (a replay), whatever their state, except
    /// `sending` ones (an attempt is under way); returns how many. Ids, attempt counts and
    /// histories are kept.
    async fn requeue_webhook_deliveries(&self, ids: &[WebhookDeliveryId]) -> StoreResult<u64>;

    /// Counts the webhook deliveries of every site that are `pending` or `sending`.
    async fn webhook_backlog(&self) -> StoreResult<u64>;
}
