//! Mailroom's REST API: axum routes under `/v1`, Bearer-key auth, one error shape, an
//! OpenAPI document at `/v1/openapi.json` and a docs page at `/docs` served from the binary
//! (no CDN).
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod auth;
pub mod error;
pub mod idempotency;
pub mod json;
pub mod listener;
pub mod openapi;
pub mod routes;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{delete, get};
use mailroom_engine::Engine;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use tower_http::trace::TraceLayer;

/// Settings of the HTTP interface.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// The largest request body accepted, in bytes (413 past it).
    pub max_body_bytes: usize,
    /// The most header entries `GET /v1/messages/{id}` returns (`headers_truncated` says when
    /// there were more; `/raw` has them all).
    pub max_header_entries: usize,
}

impl Default for ApiConfig {
    fn default() -> Self {
        Self { max_body_bytes: 35 * 1024 * 1024, max_header_entries: 200 }
    }
}

/// What every handler gets.
#[derive(Clone)]
pub struct AppState {
    /// The application services.
    pub engine: Engine,
    /// HTTP settings.
    pub config: Arc<ApiConfig>,
    /// Set once every listener is up; `/readyz` answers 503 before.
    pub ready: Arc<AtomicBool>,
    /// Webhook settings (SSRF policy, rotation overlap, …).
    pub webhooks: Arc<mailroom_webhooks::WebhookConfig>,
    /// Wakes the webhook worker (after a replay), when one runs on this node.
    pub webhook_waker: Option<Arc<tokio::sync::Notify>>,
    /// Becomes `true` when the server starts shutting down: long-lived answers (event
    /// streams, waits) end so that graceful shutdown does not wait on them.
    pub shutdown: tokio::sync::watch::Receiver<bool>,
    /// The model that analyses conversations and translates for `send_information_email`,
    /// when one is configured (`llm.*`).
    pub llm: Option<Arc<mailroom_tools::llm::LlmClient>>,
}

/// Returns the router with every route.
pub fn router(state: AppState) -> Router {
    use routes::*;
    let max = state.config.max_body_bytes;
    let v1 = Router::new()
        .route("/sites", get(admin::list_sites).post(admin::create_site))
        .route("/api-keys", get(admin::list_api_keys).post(admin::create_api_key))
        .route("/api-keys/{id}", delete(admin::delete_api_key))
        .route("/mailboxes", get(mailboxes::list).post(mailboxes::create))
        .route("/mailboxes/{id}", get(mailboxes::get).patch(mailboxes::update).delete(mailboxes::delete))
        .route("/mailboxes/{id}/messages", get(messages::list).post(messages::send))
        .route("/mailboxes/{id}/threads", get(threads::list))
        .route("/mailboxes/{id}/import", axum::routing::post(import::import))
        .route("/status", get(status::get))
        .route("/messages", get(lookup::find))
        .route("/messages/{id}", get(messages::get).patch(messages::update).delete(messages::delete))
        .route("/messages/{id}/raw", get(messages::raw))
        .route("/messages/{id}/reply", axum::routing::post(messages::reply))
        .route("/messages/{id}/forward", axum::routing::post(messages::forward))
        .route("/threads/{id}", get(threads::get))
        .route("/attachments/{id}", get(messages::attachment))
        // Operational controls (issue 15).
        .route("/attachments", axum::routing::post(controls::upload))
        .route("/attachments/{id}/url", axum::routing::post(controls::signed_url))
        .route("/attachments/{id}/download", get(controls::download))
        .route("/usage", get(controls::usage))
        .route("/sites/{id}", axum::routing::patch(controls::update_site))
        .route("/attachments/{id}/text", get(reading::attachment_text))
        .route("/events", get(events::list))
        .route("/events/stream", get(live::stream))
        .route("/webhooks", get(webhooks::list).post(webhooks::create))
        .route("/webhooks/{id}", get(webhooks::get).patch(webhooks::update).delete(webhooks::delete))
        .route("/webhooks/{id}/rotate-secret", axum::routing::post(webhooks::rotate_secret))
        .route("/webhooks/{id}/deliveries", get(webhooks::deliveries))
        .route("/webhooks/{id}/replay", axum::routing::post(webhooks::replay))
        .route("/mailboxes/{id}/messages/wait", get(live::wait))
        .route("/domains", get(domains::list).post(domains::create))
        .route("/domains/{id}", get(domains::get).delete(domains::delete))
        .route("/domains/{id}/dns", get(domains::dns))
        .route("/suppressions", get(suppressions::list).post(suppressions::create))
        .route("/lists", get(lists::list).post(lists::create))
        .route("/lists/{id}", delete(lists::delete))
        .route("/suppressions/{address}", delete(suppressions::delete))
        .route("/queue", get(queue::list))
        .route("/messages/{id}/recipients/{address}/retry", axum::routing::post(queue::retry))
        .route("/messages/{id}/recipients/{address}/cancel", axum::routing::post(queue::cancel))
        .route("/contacts", get(contacts::list).post(contacts::upsert))
        .route("/contacts/{id}", get(contacts::get).patch(contacts::update).delete(contacts::delete))
        .route("/contacts/{id}/consent", axum::routing::post(contacts::consent))
        .route("/team-members", get(team_members::list).post(team_members::create))
        .route("/team-members/{id}", get(team_members::get).patch(team_members::update).delete(team_members::delete))
        .route("/secure-tokens", get(secure_tokens::list).post(secure_tokens::create))
        .route("/secure-tokens/{id}", delete(secure_tokens::delete))
        .route("/settings", get(settings::get).put(settings::put))
        .route("/tool-configs", get(tool_configs::list).post(tool_configs::create))
        .route("/tool-configs/{id}", get(tool_configs::get).patch(tool_configs::update).delete(tool_configs::delete))
        .route("/tool-runs", get(tool_runs::list))
        .route("/tool-runs/{id}", get(tool_runs::get))
        .route("/tools", get(tools::list))
        .route("/tools/{name}/invoke", axum::routing::post(tools::invoke))
        .route("/send-email", axum::routing::post(tools::send_email_alias))
        // Issue 17: drafts, scheduled sends, approvals.
        .route("/mailboxes/{id}/drafts", get(drafts::list).post(drafts::create))
        .route("/mailboxes/{id}/drafts/{draft_id}", get(drafts::get_in_mailbox).patch(drafts::update_in_mailbox).delete(drafts::delete_in_mailbox))
        .route("/mailboxes/{id}/approval-policy", get(drafts::mailbox_policy))
        .route("/drafts/{id}", get(drafts::get).patch(drafts::update).delete(drafts::delete))
        .route("/drafts/{id}/send", axum::routing::post(drafts::send))
        .route("/messages/{id}/cancel", axum::routing::post(drafts::cancel_message))
        .route("/approvals", get(drafts::list_approvals))
        .route("/approvals/{id}", get(drafts::get_approval))
        .route("/approvals/{id}/wait", get(drafts::wait_approval))
        .route("/approvals/{id}/approve", axum::routing::post(drafts::approve))
        .route("/approvals/{id}/reject", axum::routing::post(drafts::reject))
        .route("/sites/{id}/approval-policy", get(drafts::site_policy))
        .fallback(fallback)
        .layer(axum::middleware::from_fn_with_state(state.clone(), controls::rate_headers));
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .nest("/v1", v1)
        .merge(openapi::docs())
        .fallback(fallback)
        .layer(DefaultBodyLimit::max(max))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

async fn fallback(method: axum::http::Method, uri: axum::http::Uri) -> error::ApiError {
    error::ApiError::new(
        axum::http::StatusCode::NOT_FOUND,
        "route_not_found",
        format!("there is no route {method} {}; see /docs for the API", uri.path()),
    )
}
