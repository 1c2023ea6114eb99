//! `GET /v1/status`: what an operator (or `mailroom status`) wants to know at a glance:
//! version, listeners, store, and what is waiting in the queues.

use crate::AppState;
use crate::auth::Auth;
use crate::error::ApiResult;
use axum::extract::State;
use crate::json::Json;
use axum::Extension;
use mailroom_core::api::ErrorBody;
use serde::{Deserialize, Serialize};
use std::sync::{Arc, RwLock};

/// What the server knows about itself, set at start-up (listeners are added as they bind).
#[derive(Debug, Clone, Default)]
pub struct ServerInfo(pub Arc<RwLock<ServerFacts>>);

/// The facts behind [`ServerInfo`].
#[derive(Debug, Clone, Default)]
pub struct ServerFacts {
    /// The store: `sqlite` or `postgres`, with where it is (no credentials).
    pub store: String,
    /// The domain mailboxes get when none is given.
    pub default_domain: String,
    /// Every listener: `http`, `smtp`, `metrics`.
    pub listeners: Vec<Listener>,
}

/// One listening socket.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Listener {
    /// `http`, `smtp` or `metrics`.
    pub name: String,
    /// The address it listens on, such as `127.0.0.1:8025`.
    pub addr: String,
}

/// The answer to `GET /v1/status`.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StatusResponse {
    /// The server's version.
    pub version: String,
    /// The store: `sqlite` or `postgres`, with where it is (no credentials).
    pub store: String,
    /// The domain mailboxes get when none is given.
    pub default_domain: String,
    /// The listening sockets of the node that answered.
    pub listeners: Vec<Listener>,
    /// Outbound recipients queued, sending or deferred (every site).
    pub queue_depth: u64,
    /// Seconds since the oldest message with a waiting recipient was created (0 when none).
    pub oldest_queued_secs: f64,
    /// Webhook deliveries pending or being sent (every site).
    pub webhook_backlog: u64,
}

/// Returns the server's version, listeners and store, the outbound queue's depth and age, and
/// the webhook backlog. Admin keys only: the counts cover every site.
#[utoipa::path(get, path = "/v1/status", tag = "status", operation_id = "status_get",
    responses((status = 200, body = StatusResponse), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn get(State(state): State<AppState>, auth: Auth, info: Option<Extension<ServerInfo>>) -> ApiResult<Json<StatusResponse>> {
    auth.require_admin()?;
    let facts = info.map(|Extension(i)| i.0.read().map(|f| f.clone()).unwrap_or_default()).unwrap_or_default();
    let b = state.engine.backlog().await?;
    Ok(Json(StatusResponse {
        version: env!("CARGO_PKG_VERSION").to_string(),
        store: facts.store,
        default_domain: facts.default_domain,
        listeners: facts.listeners,
        queue_depth: b.queue_depth,
        oldest_queued_secs: b.oldest_queued_secs,
        webhook_backlog: b.webhook_backlog,
    }))
}
