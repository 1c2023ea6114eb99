//! Reading the event log: what the event routes, the live stream, the long-poll wait and the
//! readiness probe read (the backlogs are in `status.rs`).

use crate::{Engine, EngineResult};
use mailroom_core::{DeliveryStatus, Event, SiteId};

impl Engine {
    /// Reads the event log of `site` (every site: `None`) after `after`, in order.
    pub async fn list_events(&self, site: Option<SiteId>, after: Option<i64>, limit: u32) -> EngineResult<Vec<Event>> {
        let mut events = self.store.list_events(site, after, limit).await?;
        for e in &mut events {
            self.complete_event(e);
        }
        Ok(events)
    }

    /// Returns the position of the latest event of `site` (of the whole log: `None`).
    pub async fn last_event_cursor(&self, site: Option<SiteId>) -> EngineResult<i64> {
        Ok(self.store.last_event_cursor(site).await?)
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

    /// Lists outbound recipients of `site` (every site: `None`) in the given statuses (every
    /// status: empty), oldest first.
    pub async fn list_queue(&self, site: Option<SiteId>, statuses: &[DeliveryStatus], limit: u32) -> EngineResult<Vec<mailroom_store::PendingRecipient>> {
        Ok(self.store.list_queue(site, statuses, limit).await?)
    }
}
