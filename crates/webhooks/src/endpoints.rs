//! Webhook endpoints as the interfaces reach them: each function takes the engine and the
//! caller's key scope, checks the endpoint is visible to it (another site's endpoint answers as
//! a missing one) and runs the [`service`](crate::service) step. REST routes call these.

use crate::service::{self, CreateWebhookRequest, ReplayReport, UpdateWebhookRequest};
use crate::{WebhookConfig, WebhookError};
use mailroom_core::{KeyScope, SiteId, WebhookDelivery, WebhookDeliveryId, WebhookEndpoint, WebhookId};
use mailroom_engine::Engine;

/// Returns an endpoint the caller may see.
pub async fn visible(engine: &Engine, scope: KeyScope, id: WebhookId) -> Result<WebhookEndpoint, WebhookError> {
    engine.store().get_webhook(id).await?.filter(|w| scope.allows(w.site_id)).ok_or_else(|| WebhookError::NotFound(format!("no webhook with id {id}")))
}

/// Creates an endpoint in `site`; returns it with its signing secret (`whsec_…`).
pub async fn create(engine: &Engine, config: &WebhookConfig, site: SiteId, req: CreateWebhookRequest) -> Result<(WebhookEndpoint, String), WebhookError> {
    service::create_endpoint(engine.store().as_ref(), engine.secrets(), config, site, req).await
}

/// Lists the endpoints of `site` (every site: `None`).
pub async fn list(engine: &Engine, site: Option<SiteId>) -> Result<Vec<WebhookEndpoint>, WebhookError> {
    Ok(engine.store().list_webhooks(site).await?)
}

/// Changes an endpoint the caller may see.
pub async fn update(engine: &Engine, config: &WebhookConfig, scope: KeyScope, id: WebhookId, req: UpdateWebhookRequest) -> Result<WebhookEndpoint, WebhookError> {
    let endpoint = visible(engine, scope, id).await?;
    service::update_endpoint(engine.store().as_ref(), config, &endpoint, req).await
}

/// Deletes an endpoint the caller may see, with its deliveries.
pub async fn delete(engine: &Engine, scope: KeyScope, id: WebhookId) -> Result<(), WebhookError> {
    let endpoint = visible(engine, scope, id).await?;
    engine.store().delete_webhook(endpoint.id).await?;
    Ok(())
}

/// Issues a new signing secret for an endpoint the caller may see.
pub async fn rotate_secret(engine: &Engine, config: &WebhookConfig, scope: KeyScope, id: WebhookId) -> Result<(WebhookEndpoint, String), WebhookError> {
    let endpoint = visible(engine, scope, id).await?;
    service::rotate_secret(engine.store().as_ref(), engine.secrets(), config, &endpoint).await
}

/// Lists the deliveries of an endpoint the caller may see, newest first, before the cursor.
pub async fn deliveries(engine: &Engine, endpoint: &WebhookEndpoint, before: Option<WebhookDeliveryId>, limit: u32) -> Result<Vec<WebhookDelivery>, WebhookError> {
    Ok(engine.store().list_webhook_deliveries(endpoint.id, before, limit).await?)
}

/// Replays an endpoint's events after a cursor: events never sent get new deliveries, and the
/// existing deliveries of the others are queued again. Returns the report and how many
/// deliveries were requeued.
pub async fn replay(engine: &Engine, endpoint: &WebhookEndpoint, after: Option<i64>) -> Result<(ReplayReport, u64), WebhookError> {
    let report = service::replay(engine.store().as_ref(), endpoint, after).await?;
    let requeued = engine.store().requeue_webhook_deliveries(&report.existing).await?;
    Ok((report, requeued))
}
