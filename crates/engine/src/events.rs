//! Reading the event log and the backlogs: what the event routes, the live stream, the long-poll
//! wait, `/v1/status`, `/metrics` and the readiness probe read.

use crate::{Engine, EngineResult};
use mailroom_core::{DeliveryStatus, Event, SiteId, WebhookDeliveryStatus};

/// What is waiting: outbound recipients and webhook deliveries.
#[derive(Debug, Clone, Copy, Default)]
pub struct Backlog {
    /// Outbound recipients queued, sending or deferred (at most the scan limit).
    pub queue_depth: u64,
    /// Seconds since the oldest message with a waiting recipient was created.
    pub oldest_queued_secs: f64,
    /// Webhook deliveries pending or being sent.
    pub webhook_backlog: u64,
}

impl Engine {
    /// Reads the event log of `site` (every site: `None`) after `after`, in order.
    pub async fn list_events(&self, site: Option<SiteId>, after: Option<i64>, limit: u32) -> EngineResult<Vec<Event>> {
        Ok(self.store.list_events(site, after, limit).await?)
    }

    /// Returns the cursor of the latest event.
    pub async fn last_event_cursor(&self) -> EngineResult<i64> {
        Ok(self.store.last_event_cursor().await?)
    }

    /// Returns a signal that changes whenever events were appended (on any node).
    pub fn event_signal(&self) -> tokio::sync::watch::Receiver<u64> {
        self.store.event_signal()
    }

    /// Tells whether the API key still exists. A store error counts as "still valid": a
    /// database hiccup should not cut every stream; the next check decides.
    pub async fn api_key_still_valid(&self, id: mailroom_core::ApiKeyId) -> bool {
        match self.store.get_api_key(id).await {
            Ok(key) => key.is_some(),
            Err(e) => {
                tracing::warn!(error = %e, "could not re-check an API key; keeping the stream open");
                true
            }
        }
    }

    /// Checks that the store answers.
    pub async fn ping(&self) -> EngineResult<()> {
        Ok(self.store.ping().await?)
    }

    /// Names the store's backend (`sqlite`, `postgres`).
    pub fn store_backend(&self) -> &'static str {
        self.store.backend()
    }

    /// Reads the backlog of every site, scanning at most `scan_limit` queued recipients and
    /// `scan_limit` deliveries per webhook endpoint.
    pub async fn backlog(&self, scan_limit: u32) -> EngineResult<Backlog> {
        let store = &self.store;
        let waiting = store.list_queue(None, &[DeliveryStatus::Queued, DeliveryStatus::Sending, DeliveryStatus::Deferred], scan_limit).await?;
        // Message ids are UUID v7: their timestamp is the message's creation time.
        let oldest = waiting.iter().filter_map(|p| p.message_id.as_uuid().get_timestamp()).map(|t| t.to_unix()).min();
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        let oldest_queued_secs = oldest.map(|(secs, nanos)| (now.as_secs_f64() - (secs as f64 + f64::from(nanos) / 1e9)).max(0.0)).unwrap_or(0.0);
        let mut webhook_backlog = 0u64;
        for endpoint in store.list_webhooks(None).await? {
            let deliveries = store.list_webhook_deliveries(endpoint.id, None, scan_limit).await?;
            webhook_backlog += deliveries.iter().filter(|d| matches!(d.status, WebhookDeliveryStatus::Pending | WebhookDeliveryStatus::Sending)).count() as u64;
        }
        Ok(Backlog { queue_depth: waiting.len() as u64, oldest_queued_secs, webhook_backlog })
    }

    /// Lists outbound recipients of `site` (every site: `None`) in the given statuses (every
    /// status: empty), oldest first.
    pub async fn list_queue(&self, site: Option<SiteId>, statuses: &[DeliveryStatus], limit: u32) -> EngineResult<Vec<mailroom_store::PendingRecipient>> {
        Ok(self.store.list_queue(site, statuses, limit).await?)
    }
}
