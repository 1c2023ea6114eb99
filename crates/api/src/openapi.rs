//! The OpenAPI document and the Swagger UI page, both served by the binary itself.

use crate::routes;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_swagger_ui::SwaggerUi;

/// The API description.
#[derive(OpenApi)]
#[openapi(
    info(title = "Mailroom API", description = "Email for AI agents: mailboxes, messages, threads and events. Authenticate with `Authorization: Bearer <key>`."),
    paths(
        routes::health::healthz, routes::health::readyz,
        routes::admin::create_site, routes::admin::list_sites,
        routes::admin::create_api_key, routes::admin::list_api_keys, routes::admin::delete_api_key,
        routes::mailboxes::create, routes::mailboxes::list, routes::mailboxes::get, routes::mailboxes::update, routes::mailboxes::delete,
        routes::messages::send, routes::messages::list, routes::messages::get, routes::messages::raw, routes::messages::update,
        routes::messages::delete, routes::messages::reply, routes::messages::forward, routes::messages::attachment,
        routes::threads::list, routes::threads::get,
        routes::events::list, routes::live::stream, routes::live::wait,
        routes::domains::create, routes::domains::list, routes::domains::get, routes::domains::dns, routes::domains::delete,
        routes::suppressions::list, routes::suppressions::create, routes::suppressions::delete,
        routes::queue::list, routes::queue::retry, routes::queue::cancel,
        routes::webhooks::create, routes::webhooks::list, routes::webhooks::get, routes::webhooks::update, routes::webhooks::delete,
        routes::webhooks::rotate_secret, routes::webhooks::deliveries, routes::webhooks::replay,
        routes::contacts::upsert, routes::contacts::list, routes::contacts::get, routes::contacts::update, routes::contacts::delete,
        routes::contacts::consent,
        routes::team_members::create, routes::team_members::list, routes::team_members::get, routes::team_members::update,
        routes::team_members::delete,
        routes::secure_tokens::create, routes::secure_tokens::list, routes::secure_tokens::delete,
        routes::settings::get, routes::settings::put,
        routes::tool_configs::create, routes::tool_configs::list, routes::tool_configs::get, routes::tool_configs::update,
        routes::tool_configs::delete,
        routes::tool_runs::list, routes::tool_runs::get,
        routes::tools::list, routes::tools::invoke, routes::tools::send_email_alias,
        routes::import::import, routes::status::get, routes::lookup::find,
    ),
    modifiers(&BearerAuth),
    tags(
        (name = "mailboxes", description = "Addresses that send and receive"),
        (name = "messages", description = "Sending, reading and managing mail"),
        (name = "threads", description = "Conversations inside a mailbox"),
        (name = "events", description = "The ordered, durable event log"),
        (name = "domains", description = "Hosted domains, DKIM keys and DNS records"),
        (name = "suppressions", description = "Addresses a site must not mail"),
        (name = "queue", description = "The durable outbound delivery queue"),
        (name = "webhooks", description = "Signed event deliveries (Standard Webhooks)"),
        (name = "contacts", description = "People a site emails, with consent and history"),
        (name = "team-members", description = "Human sender identities mapped to mailboxes"),
        (name = "secure-tokens", description = "Sealed secrets for the tools (write-only values)"),
        (name = "settings", description = "The site's sending settings document"),
        (name = "tool-configs", description = "Configured instances of the agent email tools"),
        (name = "tool-runs", description = "The audit record of tool invocations"),
        (name = "tools", description = "The agent email tools: catalogue and invocation"),
        (name = "status", description = "The server's version, listeners, store and backlogs"),
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme("bearer", SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()));
    }
}

/// Returns the routes `/v1/openapi.json` and `/docs`.
pub fn docs<S: Clone + Send + Sync + 'static>() -> axum::Router<S> {
    axum::Router::from(SwaggerUi::new("/docs").url("/v1/openapi.json", ApiDoc::openapi()))
}
