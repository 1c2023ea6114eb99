//! The OpenAPI document and the Swagger UI page, both served by the binary itself.

use crate::routes;
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};
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
        routes::threads::list, routes::threads::get, routes::reading::attachment_text,
        routes::events::list, routes::live::stream, routes::live::wait,
        routes::domains::create, routes::domains::list, routes::domains::get, routes::domains::dns, routes::domains::delete,
        routes::suppressions::list, routes::suppressions::create, routes::suppressions::delete,
        routes::lists::create, routes::lists::list, routes::lists::delete,
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
        routes::drafts::create, routes::drafts::list, routes::drafts::get_in_mailbox, routes::drafts::update_in_mailbox,
        routes::drafts::delete_in_mailbox, routes::drafts::get, routes::drafts::update, routes::drafts::delete, routes::drafts::send,
        routes::drafts::cancel_message, routes::drafts::list_approvals, routes::drafts::get_approval, routes::drafts::wait_approval,
        routes::drafts::approve, routes::drafts::reject, routes::drafts::site_policy,
        routes::drafts::mailbox_policy,
        routes::controls::usage, routes::controls::update_site, routes::controls::upload, routes::controls::signed_url,
        routes::controls::download,
    ),
    components(schemas(AttachmentTextEventData, ToolRunEventData, DeliveryEventData, MessageDeletedEventData, MailboxDeletedEventData, SuppressionEventData, EndpointDisabledEventData,
        mailroom_core::Mailbox, mailroom_core::Domain, mailroom_core::Suppression, mailroom_core::drafts::HeldSendResponse, mailroom_core::drafts::Approval)),
    modifiers(&BearerAuth, &StandardErrors, &EventData, &SendAnswers, &Examples),
    tags(
        (name = "health", description = "Liveness and readiness probes (no key needed)"),
        (name = "sites", description = "Tenants (admin keys)"),
        (name = "api-keys", description = "API keys: admin keys and site keys"),
        (name = "attachments", description = "Attachment uploads, downloads and signed time-limited URLs"),
        (name = "mailboxes", description = "Addresses that send and receive"),
        (name = "messages", description = "Sending, reading and managing mail"),
        (name = "drafts", description = "Drafts and scheduled sends: messages kept, or due later"),
        (name = "approvals", description = "Outbound messages held for a person's approval"),
        (name = "threads", description = "Conversations inside a mailbox"),
        (name = "events", description = "The ordered, durable event log"),
        (name = "domains", description = "Hosted domains, DKIM keys and DNS records"),
        (name = "suppressions", description = "Addresses a site must not mail"),
        (name = "lists", description = "Allow and block lists for sending and receiving, per site or mailbox"),
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
        (name = "usage", description = "Storage use, limits and quotas"),
    )
)]
pub struct ApiDoc;

/// `data` of `message.delivered`, `message.deferred`, `message.bounced` and `message.failed`.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct DeliveryEventData {
    /// The message.
    message_id: mailroom_core::MessageId,
    /// Its mailbox.
    mailbox_id: mailroom_core::MailboxId,
    /// Its thread.
    thread_id: mailroom_core::ThreadId,
    /// The recipient this outcome is about.
    recipient: String,
    /// `delivered`, `deferred`, `bounced` or `failed`.
    status: String,
    /// The last SMTP reply.
    last_reply: Option<String>,
    /// Attempts so far.
    attempts: u32,
    /// `message.deferred`: when the next attempt is due.
    next_attempt_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// `data` of `message.deleted`.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct MessageDeletedEventData {
    /// The deleted message.
    id: mailroom_core::MessageId,
    /// Its mailbox.
    mailbox_id: mailroom_core::MailboxId,
    /// Its thread.
    thread_id: mailroom_core::ThreadId,
}

/// `data` of `mailbox.deleted`.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct MailboxDeletedEventData {
    /// The deleted mailbox.
    id: mailroom_core::MailboxId,
    /// Its address.
    address: String,
}

/// `data` of `suppression.created`.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct SuppressionEventData {
    /// The suppressed address.
    address: String,
    /// Why (`hard_bounce`, `complaint`, `manual`…).
    reason: String,
    /// The details (a bounce's SMTP reply).
    detail: Option<String>,
    /// The message whose bounce added it, if any.
    message_id: Option<mailroom_core::MessageId>,
    /// Its mailbox.
    mailbox_id: Option<mailroom_core::MailboxId>,
}

/// `data` of `endpoint.disabled`.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct EndpointDisabledEventData {
    /// The webhook endpoint.
    endpoint_id: mailroom_core::WebhookId,
    /// Its URL.
    url: String,
    /// Its description.
    description: Option<String>,
    /// `gone` (410) or `failing`.
    reason: String,
    /// The last failure.
    detail: Option<String>,
    /// When it started failing.
    failing_since: Option<chrono::DateTime<chrono::Utc>>,
}

/// `data` of `attachment.text_extracted`: the worker finished with an attachment.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
struct AttachmentTextEventData {
    attachment_id: mailroom_core::AttachmentId,
    message_id: mailroom_core::MessageId,
    mailbox_id: mailroom_core::MailboxId,
    filename: Option<String>,
    content_type: String,
    /// `done`, `unsupported` or `failed`.
    text_status: mailroom_core::reading::TextStatus,
    truncated: bool,
    /// Characters of text extracted (`done`).
    chars: Option<u64>,
    /// The first 300 characters (`done`); the whole text is at `GET /v1/attachments/{id}/text`.
    excerpt: Option<String>,
    /// Why it is unsupported or failed.
    error: Option<String>,
}

/// `data` of `tool_run.created`: an agent tool's run was recorded. Its inputs, checks and
/// outputs are left out: read them at `GET /v1/tool-runs/{id}`.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
struct ToolRunEventData {
    /// The run.
    id: mailroom_core::ToolRunId,
    /// The tool invoked.
    tool: String,
    /// `success`, `failure`, `skipped`, `consent_required`, `sent`, …
    status: String,
    /// The reason code, if any.
    code: Option<String>,
    /// Whether it was a dry run (nothing sent).
    dry_run: bool,
    /// The decision taken and why.
    #[schema(value_type = Object)]
    decision: serde_json::Value,
    /// The contact concerned, if any.
    contact_id: Option<mailroom_core::ContactId>,
    /// The message sent, if any.
    message_id: Option<mailroom_core::MessageId>,
    /// When the run happened.
    created_at: chrono::DateTime<chrono::Utc>,
}

/// Describes `Event.data` type by type: the payload's schema depends on the event's `type`.
struct EventData;

impl Modify for EventData {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::schema::{AnyOfBuilder, ObjectBuilder, Schema, Type};
        let Some(components) = openapi.components.as_mut() else { return };
        let Some(RefOr::T(Schema::Object(event))) = components.schemas.get_mut("Event") else { return };
        let by_type = [
            ("Message", "`message.sent`, `message.received`: the message"),
            ("Mailbox", "`mailbox.created`, `mailbox.updated`: the mailbox"),
            ("MailboxDeletedEventData", "`mailbox.deleted`"),
            ("DeliveryEventData", "`message.delivered`, `message.deferred`, `message.bounced`, `message.failed`"),
            ("MessageDeletedEventData", "`message.deleted`"),
            ("Domain", "`domain.created`: the domain"),
            ("SuppressionEventData", "`suppression.created`"),
            ("EndpointDisabledEventData", "`endpoint.disabled`"),
            ("Approval", "`approval.requested`, `approval.approved`, `approval.rejected`: the approval (plus `subject`, `to`, `draft_status`)"),
            ("AttachmentTextEventData", "`attachment.text_extracted`"),
            ("ToolRunEventData", "`tool_run.created`"),
        ];
        let mut description = String::from("The event's payload; its shape depends on `type`:");
        let mut any_of = AnyOfBuilder::new();
        for (schema, types) in by_type {
            description.push_str(&format!("\n- {types}: `{schema}`"));
            any_of = any_of.item(RefOr::Ref(Ref::from_schema_name(schema)));
        }
        description.push_str("\n- the agent tools' events (`information_email.sent`…) and types added later: an object");
        any_of = any_of.item(ObjectBuilder::new().schema_type(Type::Object).description(Some("Any other type")));
        event.properties.insert("data".into(), RefOr::T(Schema::AnyOf(any_of.description(Some(description)).build())));
    }
}

/// A send (and a reply) answers `202` with one of two bodies: `SendMessageResponse` when the
/// message left (`status: "sent"`), `HeldSendResponse` when it was scheduled or held for
/// approval. A forward is never held.
struct SendAnswers;

impl Modify for SendAnswers {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::schema::{OneOfBuilder, Schema};
        for op in operations_mut(openapi) {
            if !matches!(op.operation_id.as_deref(), Some("messages_send" | "messages_reply")) {
                continue;
            }
            let Some(RefOr::T(accepted)) = op.responses.responses.get_mut("202") else { continue };
            let Some(content) = accepted.content.get_mut("application/json") else { continue };
            let one_of = OneOfBuilder::new()
                .item(RefOr::Ref(Ref::from_schema_name("SendMessageResponse")))
                .item(RefOr::Ref(Ref::from_schema_name("HeldSendResponse")))
                .description(Some("`SendMessageResponse` (`status: \"sent\"`) or `HeldSendResponse` (`scheduled`, `pending_approval`)"));
            content.schema = Some(RefOr::T(Schema::OneOf(one_of.build())));
        }
    }
}

/// Every operation of the document, mutable.
fn operations_mut(openapi: &mut utoipa::openapi::OpenApi) -> impl Iterator<Item = &mut Operation> {
    openapi.paths.paths.values_mut().flat_map(|item| [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch]).flatten()
}

/// Request and response examples of the main routes (what the docs page shows first).
struct Examples;

impl Modify for Examples {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use serde_json::json;
        let mailbox = json!({
            "id": "0193c3f4-8a1e-7b2c-9d4e-5f6a7b8c9d0e", "site_id": "0193c3f4-0000-7000-8000-000000000001",
            "address": "support@agents.example.com", "display_name": "Support agent", "client_id": "support-agent",
            "created_at": "2026-12-06T09:00:00Z", "updated_at": "2026-12-06T09:00:00Z",
            "expires_at": null, "limits": {}, "retention_days": null, "usage": {"messages": 0, "storage_bytes": 0}
        });
        let message = json!({
            "id": "0193c3f5-1111-7222-8333-444455556666", "site_id": "0193c3f4-0000-7000-8000-000000000001",
            "mailbox_id": "0193c3f4-8a1e-7b2c-9d4e-5f6a7b8c9d0e", "thread_id": "0193c3f5-2222-7333-8444-555566667777",
            "direction": "inbound", "message_id": "CAF1x2y3@mail.example.org",
            "from": {"address": "alice@example.org", "name": "Alice"}, "to": [{"address": "support@agents.example.com"}],
            "subject": "Order 1234 has not arrived", "text": "Hi, my order 1234 has not arrived yet.\n",
            "extracted_text": "Hi, my order 1234 has not arrived yet.", "snippet": "Hi, my order 1234 has not arrived yet.",
            "labels": [], "read": false, "size": 1843, "created_at": "2026-12-06T09:05:00Z"
        });
        let examples: [(&str, Option<serde_json::Value>, &str, serde_json::Value); 3] = [
            (
                "mailboxes_create",
                Some(json!({"username": "support", "display_name": "Support agent", "client_id": "support-agent"})),
                "201",
                mailbox,
            ),
            (
                "messages_send",
                Some(json!({"to": ["alice@example.org"], "subject": "Your order 1234", "text": "It left our warehouse this morning."})),
                "202",
                json!({
                    "id": "0193c3f6-3333-7444-8555-666677778888", "thread_id": "0193c3f6-4444-7555-8666-777788889999",
                    "message_id": "0193c3f6-3333-7444-8555-666677778888@agents.example.com", "status": "sent",
                    "recipients": [{"address": "alice@example.org", "status": "queued"}]
                }),
            ),
            ("messages_list", None, "200", json!({"items": [message], "next_cursor": null})),
        ];
        for op in operations_mut(openapi) {
            for (id, request, status, response) in &examples {
                if op.operation_id.as_deref() != Some(*id) {
                    continue;
                }
                if let (Some(example), Some(body)) = (request, op.request_body.as_mut())
                    && let Some(content) = body.content.get_mut("application/json")
                {
                    content.example = Some(example.clone());
                }
                if let Some(RefOr::T(r)) = op.responses.responses.get_mut(*status)
                    && let Some(content) = r.content.get_mut("application/json")
                {
                    content.example = Some(response.clone());
                }
            }
        }
    }
}

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme("bearer", SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()));
    }
}

/// Documents the errors every route of a kind can give, so that no operation forgets them: 401
/// on every keyed route, 400 where a query string, a body or an `Idempotency-Key` is read
/// (`invalid_query`, `malformed_json`, `unknown_field`, `invalid_idempotency_key`), 404 where
/// the path names an object, 413/415/422 where a JSON body is read, 403 on admin-only routes.
/// A route's own annotation wins where it documents the same status.
struct StandardErrors;

/// Routes only an admin key may call.
const ADMIN_ONLY: [&str; 2] = ["sites_create", "sites_list"];

impl Modify for StandardErrors {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let schemas: Vec<(String, serde_json::Value)> = openapi
            .components
            .as_ref()
            .map(|c| c.schemas.iter().map(|(name, s)| (name.clone(), serde_json::to_value(s).unwrap_or_default())).collect())
            .unwrap_or_default();
        let with_site: Vec<String> =
            schemas.iter().filter(|(_, v)| v.pointer("/properties/site_id").is_some()).map(|(n, _)| n.clone()).collect();
        // Bodies whose every field is optional may be left out: the server reads an empty
        // body as `{}` (an empty update).
        let all_optional: Vec<String> = schemas
            .iter()
            .filter(|(_, v)| v.get("properties").is_some() && v.get("required").and_then(|r| r.as_array()).is_none_or(|r| r.is_empty()))
            .map(|(n, _)| n.clone())
            .collect();
        for (path, item) in openapi.paths.paths.iter_mut() {
            let ops = [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch];
            for op in ops.into_iter().flatten() {
                add_standard_errors(path, op, &with_site);
                let body_ref = body_schema(op);
                if let (Some(body), Some(name)) = (op.request_body.as_mut(), body_ref)
                    && all_optional.contains(&name)
                {
                    body.required = Some(utoipa::openapi::Required::False);
                }
            }
        }
    }
}

/// Returns the name of the component schema of an operation's JSON body.
fn body_schema(op: &Operation) -> Option<String> {
    let v = serde_json::to_value(op.request_body.as_ref()?).ok()?;
    let r = v.pointer("/content/application~1json/schema/$ref")?.as_str()?;
    Some(r.rsplit('/').next().unwrap_or_default().to_string())
}

fn add_standard_errors(path: &str, op: &mut Operation, with_site: &[String]) {
    // What the server takes: visible ASCII, spaces and tabs, not blank (it trims).
    let idempotency_pattern = "^[\t -~]*[!-~][\t -~]*$";
    for p in op.parameters.iter_mut().flatten() {
        if p.name.eq_ignore_ascii_case("idempotency-key")
            && let Some(RefOr::T(utoipa::openapi::schema::Schema::Object(o))) = p.schema.as_mut()
        {
            o.pattern = Some(idempotency_pattern.into());
            o.max_length = Some(255);
        }
    }
    let params = op.parameters.as_deref().unwrap_or_default();
    let body_ref = body_schema(op);
    let names_site = params.iter().any(|p| p.name == "site_id") || body_ref.is_some_and(|r| with_site.contains(&r));
    let has_query = params.iter().any(|p| p.parameter_in == ParameterIn::Query);
    let idempotent = params.iter().any(|p| p.name.eq_ignore_ascii_case("idempotency-key"));
    let has_body = op.request_body.is_some();
    let secured = op.security.as_ref().is_some_and(|s| !s.is_empty());
    let admin_only = op.operation_id.as_deref().is_some_and(|id| ADMIN_ONLY.contains(&id));
    let mut add = |status: &str, description: &str| {
        if !op.responses.responses.contains_key(status) {
            let content = ContentBuilder::new().schema(Some(RefOr::Ref(Ref::from_schema_name("ErrorBody")))).build();
            let response = ResponseBuilder::new().description(description).content("application/json", content).build();
            op.responses.responses.insert(status.to_string(), RefOr::T(response));
        }
    };
    if secured {
        add("401", "No API key, or an unknown or deleted one (`missing_api_key`, `invalid_api_key`)");
    }
    if admin_only {
        add("403", "The route needs an admin key (`forbidden`)");
    }
    if has_query || has_body || idempotent {
        add(
            "400",
            "The request cannot be read: `invalid_query`, `malformed_json`, `unknown_field` (a field the route does not take), \
             `invalid_idempotency_key`",
        );
    }
    if path.contains('{') {
        add("404", "No such object, or one of another site (`not_found`)");
    }
    if names_site {
        add("404", "No site with this `site_id`, or one the key may not reach (`not_found`)");
    }
    if has_body {
        add("413", "The body is larger than `http.max_body_bytes` (`payload_too_large`)");
        add("415", "The body is not `application/json` (`unsupported_media_type`)");
        add("422", "A field is missing or has the wrong type (`invalid_request`), or a value is refused (a specific code)");
    }
    if idempotent {
        add("409", "Another request with the same `Idempotency-Key` is still running (`idempotency_key_in_progress`)");
    }
    if secured {
        add_too_many_requests(op);
    }
}

/// Documents 429 on a keyed route: every key is held to `controls.api_requests_per_second`
/// (per node) before the route runs, and sends to their site's and mailbox's send limits; the
/// answer says when to retry.
fn add_too_many_requests(op: &mut Operation) {
    use utoipa::openapi::header::HeaderBuilder;
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    let int = |description: &str| {
        HeaderBuilder::new().schema(ObjectBuilder::new().schema_type(Type::Integer).minimum(Some(0))).description(Some(description)).build()
    };
    let headers = [
        ("Retry-After", int("Seconds to wait before retrying")),
        ("RateLimit-Limit", int("The limit that was reached (requests or sends in its window)")),
        ("RateLimit-Remaining", int("What is left of it in the current window (0)")),
        ("RateLimit-Reset", int("Seconds until the window resets")),
        (
            "RateLimit-Policy-Name",
            HeaderBuilder::new()
                .schema(ObjectBuilder::new().schema_type(Type::String))
                .description(Some("Which limit: the key's request rate, or a site's or mailbox's send rate"))
                .build(),
        ),
    ];
    let response = op.responses.responses.entry("429".to_string()).or_insert_with(|| {
        let content = ContentBuilder::new().schema(Some(RefOr::Ref(Ref::from_schema_name("ErrorBody")))).build();
        RefOr::T(
            ResponseBuilder::new()
                .description(
                    "Too many requests (`rate_limited`): the API key's request rate (`controls.api_requests_per_second`), or on sends \
                     the site's or mailbox's send limits. Retry after `Retry-After` seconds.",
                )
                .content("application/json", content)
                .build(),
        )
    });
    if let RefOr::T(r) = response {
        for (name, header) in headers {
            r.headers.entry(name.to_string()).or_insert(header);
        }
    }
}

/// Returns the routes `/v1/openapi.json` and `/docs`.
pub fn docs<S: Clone + Send + Sync + 'static>() -> axum::Router<S> {
    axum::Router::from(SwaggerUi::new("/docs").url("/v1/openapi.json", ApiDoc::openapi()))
}

#[cfg(test)]
mod tests {
    use super::ApiDoc;
    use serde_json::Value;
    use std::collections::BTreeMap;
    use utoipa::OpenApi;

    fn operations() -> Vec<(String, String, Value)> {
        let doc = serde_json::to_value(ApiDoc::openapi()).unwrap();
        let mut out = Vec::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                if ["get", "put", "post", "delete", "patch"].contains(&method.as_str()) {
                    out.push((path.clone(), method.clone(), op.clone()));
                }
            }
        }
        assert!(out.len() > 60, "the document lists {} operations", out.len());
        out
    }

    #[test]
    fn operation_ids_are_unique_and_named_resource_action() {
        let mut seen: BTreeMap<String, String> = BTreeMap::new();
        for (path, method, op) in operations() {
            let id = op["operationId"].as_str().unwrap_or_else(|| panic!("{method} {path} has no operationId")).to_string();
            let (resource, action) = id.split_once('_').unwrap_or_else(|| panic!("{id} is not resource_action"));
            assert!(!resource.is_empty() && !action.is_empty() && id.chars().all(|c| c.is_ascii_lowercase() || c == '_'), "{id}");
            let tag = op["tags"][0].as_str().unwrap_or_else(|| panic!("{id} has no tag")).replace('-', "_");
            assert!(id.starts_with(&format!("{tag}_")), "{id} does not start with its tag {tag}");
            if let Some(other) = seen.insert(id.clone(), format!("{method} {path}")) {
                panic!("operationId {id} is used by {other} and {method} {path}");
            }
        }
    }

    #[test]
    fn path_parameters_are_in_the_path_and_the_others_are_not() {
        for (path, method, op) in operations() {
            for p in op["parameters"].as_array().cloned().unwrap_or_default() {
                let name = p["name"].as_str().unwrap();
                let placeholder = format!("{{{name}}}");
                match p["in"].as_str().unwrap() {
                    "path" => assert!(path.contains(&placeholder), "{method} {path}: `{name}` is declared in: path but is not in the path"),
                    "query" | "header" => assert!(!path.contains(&placeholder), "{method} {path}: `{name}`"),
                    other => panic!("{method} {path}: `{name}` is in {other}"),
                }
            }
            let declared = op["parameters"].as_array().cloned().unwrap_or_default();
            for segment in path.split('/').filter(|s| s.starts_with('{')) {
                let name = segment.trim_matches(|c| c == '{' || c == '}');
                assert!(declared.iter().any(|p| p["name"] == name && p["in"] == "path"), "{method} {path}: `{name}` is not declared");
            }
        }
    }

    #[test]
    fn every_keyed_operation_documents_its_errors_with_the_error_schema() {
        for (path, method, op) in operations() {
            let responses = op["responses"].as_object().unwrap();
            let keyed = op["security"].as_array().is_some_and(|s| !s.is_empty());
            // A signed download URL carries its own proof instead of a key.
            let signed = path == "/v1/attachments/{id}/download";
            assert_eq!(keyed, path.starts_with("/v1/") && !signed, "{method} {path}: only /v1 routes need a key");
            if keyed {
                assert!(responses.contains_key("401"), "{method} {path} does not document 401");
                // The per-key request limit applies to every keyed route.
                let limited = responses.get("429").unwrap_or_else(|| panic!("{method} {path} does not document 429"));
                assert_eq!(
                    limited["content"]["application/json"]["schema"]["$ref"], "#/components/schemas/ErrorBody",
                    "{method} {path}: 429 does not answer the error schema"
                );
                for header in ["Retry-After", "RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"] {
                    assert!(limited["headers"][header]["schema"].is_object(), "{method} {path}: 429 does not document the {header} header");
                }
            }
            if op.get("requestBody").is_some() {
                for status in ["400", "413", "415", "422"] {
                    assert!(responses.contains_key(status), "{method} {path} does not document {status}");
                }
            }
            for (status, r) in responses {
                if status.starts_with('4') {
                    assert!(r["content"]["application/json"]["schema"].is_object(), "{method} {path} {status} has no body schema");
                }
            }
        }
    }

    #[test]
    fn creating_operations_take_an_idempotency_key() {
        let creating = [
            "sites_create", "api_keys_create", "mailboxes_create", "messages_send", "messages_reply", "messages_forward", "messages_import",
            "drafts_create", "drafts_send", "webhooks_create", "domains_create", "suppressions_create", "contacts_upsert",
            "team_members_create", "secure_tokens_create", "tool_configs_create", "lists_create", "attachments_upload", "tools_invoke",
            "tools_send_email",
        ];
        let ops = operations();
        for id in creating {
            let (path, method, op) = ops.iter().find(|(_, _, op)| op["operationId"] == id).unwrap_or_else(|| panic!("no operation {id}"));
            let params = op["parameters"].as_array().cloned().unwrap_or_default();
            assert!(
                params.iter().any(|p| p["name"] == "Idempotency-Key" && p["in"] == "header"),
                "{method} {path} ({id}) does not document the Idempotency-Key header"
            );
            assert!(op["responses"]["409"].is_object(), "{id} does not document 409 idempotency_key_in_progress");
        }
    }

    #[test]
    fn sends_answer_a_sent_or_a_held_message_and_the_main_routes_have_examples() {
        let ops = operations();
        let op = |id: &str| ops.iter().find(|(_, _, op)| op["operationId"] == id).map(|(_, _, op)| op.clone()).unwrap();
        for id in ["messages_send", "messages_reply"] {
            let schema = &op(id)["responses"]["202"]["content"]["application/json"]["schema"];
            let refs: Vec<&str> = schema["oneOf"].as_array().unwrap_or_else(|| panic!("{id}: 202 is not oneOf")).iter().filter_map(|s| s["$ref"].as_str()).collect();
            assert_eq!(refs, ["#/components/schemas/SendMessageResponse", "#/components/schemas/HeldSendResponse"], "{id}");
        }
        for (id, status) in [("mailboxes_create", "201"), ("messages_send", "202"), ("messages_list", "200")] {
            assert!(op(id)["responses"][status]["content"]["application/json"]["example"].is_object(), "{id} has no {status} example");
        }
        for id in ["mailboxes_create", "messages_send"] {
            assert!(op(id)["requestBody"]["content"]["application/json"]["example"].is_object(), "{id} has no request example");
        }
    }

    #[test]
    fn bodies_are_typed() {
        for (path, method, op) in operations() {
            if let Some(schema) = op.pointer("/requestBody/content/application~1json/schema") {
                assert!(schema.get("$ref").is_some() || schema.get("oneOf").is_some(), "{method} {path}: untyped request body {schema}");
            }
            for (status, r) in op["responses"].as_object().unwrap() {
                if let Some(schema) = r.pointer("/content/application~1json/schema") {
                    assert!(schema != &serde_json::json!({"type": "object"}), "{method} {path} {status}: untyped response body");
                }
            }
        }
    }
}
