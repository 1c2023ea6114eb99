//! Endpoint management, called by the REST routes: create, change, rotate the secret, replay.
//!
//! Tenant checks stay at the interface, as in the engine: these functions trust the site id
//! and the endpoint they are given. Secrets are sealed with the server key before they reach
//! the store, and shown in clear only in the answer to a create or a rotation.

use crate::signing::generate_secret;
use crate::ssrf::{check_target, validate_url};
use crate::{WebhookConfig, WebhookError};
use mailroom_core::{Event, MailboxId, SiteId, WebhookDelivery, WebhookDeliveryId, WebhookDeliveryStatus, WebhookEndpoint, WebhookId, event_types, now};
use mailroom_engine::SecretBox;
use mailroom_store::Store;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;

/// The longest description accepted, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 500;

/// Every event type an endpoint may subscribe to, besides `*` (all of them).
pub const EVENT_TYPES: &[&str] = &[
    event_types::MAILBOX_CREATED,
    event_types::MAILBOX_UPDATED,
    event_types::MAILBOX_DELETED,
    event_types::MESSAGE_SENT,
    event_types::MESSAGE_RECEIVED,
    event_types::MESSAGE_IMPORTED,
    event_types::MESSAGE_DELIVERED,
    event_types::MESSAGE_DEFERRED,
    event_types::MESSAGE_BOUNCED,
    event_types::MESSAGE_FAILED,
    event_types::MESSAGE_DELETED,
    event_types::DOMAIN_CREATED,
    event_types::SUPPRESSION_CREATED,
    event_types::ENDPOINT_DISABLED,
    mailroom_core::drafts::draft_events::MESSAGE_SCHEDULED,
    mailroom_core::drafts::draft_events::MESSAGE_CANCELLED,
    mailroom_core::drafts::draft_events::APPROVAL_REQUESTED,
    mailroom_core::drafts::draft_events::APPROVAL_APPROVED,
    mailroom_core::drafts::draft_events::APPROVAL_REJECTED,
    event_types::ATTACHMENT_TEXT_EXTRACTED,
    event_types::TOOL_RUN_CREATED,
];

/// How many deliveries one replay creates at most; `next_cursor` continues from there.
pub const MAX_REPLAY: usize = 10_000;

pub use mailroom_core::api::{CreateWebhookRequest, UpdateWebhookRequest};

/// An endpoint as the API shows it, with its secret only in the answer to a create or a
/// rotation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct WebhookResponse {
    /// The endpoint.
    #[serde(flatten)]
    pub endpoint: WebhookEndpoint,
    /// The signing secret (`whsec_…`): keep it, it is shown only this once. Verify requests
    /// with any Standard Webhooks library.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

impl From<WebhookEndpoint> for WebhookResponse {
    fn from(endpoint: WebhookEndpoint) -> Self {
        Self { endpoint, secret: None }
    }
}

/// What a replay did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ReplayReport {
    /// Events after the cursor that match the endpoint's filters (up to the replay limit).
    pub matched: u64,
    /// New deliveries queued.
    pub queued: u64,
    /// Matching events that already have a delivery to this endpoint, which were left as
    /// they are (a delivered event is not sent twice by a replay).
    pub already_delivered: u64,
    /// The existing deliveries of those events, for a caller that wants them sent again.
    #[serde(skip)]
    pub existing: Vec<WebhookDeliveryId>,
    /// Where to continue when the replay stopped at its limit (pass it as the next cursor).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// Creates an endpoint for `site` and returns it with its new secret (shown only now).
///
/// The URL is validated and, unless `config.allow_private_targets`, resolved and refused
/// when any address is loopback, private, link-local or otherwise internal.
pub async fn create_endpoint(
    store: &dyn Store,
    secrets: &SecretBox,
    config: &WebhookConfig,
    site: SiteId,
    req: CreateWebhookRequest,
) -> Result<(WebhookEndpoint, String), WebhookError> {
    let url = checked_url(&req.url, config).await?;
    let event_types = normalize_event_types(req.event_types.unwrap_or_default())?;
    if let Some(mailbox) = req.mailbox_id {
        check_mailbox(store, site, mailbox).await?;
    }
    let description = normalize_description(req.description)?;
    let secret = generate_secret();
    let t = now();
    let endpoint = WebhookEndpoint {
        id: WebhookId::new(),
        site_id: site,
        url,
        event_types,
        mailbox_id: req.mailbox_id,
        description,
        enabled: req.enabled.unwrap_or(true),
        disabled_reason: None,
        failing_since: None,
        secret_encrypted: secrets.seal(secret.as_bytes()),
        previous_secret_encrypted: None,
        previous_secret_expires_at: None,
        created_at: t,
        updated_at: t,
    };
    store.create_webhook(&endpoint).await?;
    Ok((endpoint, secret))
}

/// Applies `req` to the endpoint (read again from the store, so that the worker's latest
/// changes are kept) and returns the result. Enabling clears `disabled_reason` and
/// `failing_since`; disabling fails the endpoint's pending deliveries.
pub async fn update_endpoint(
    store: &dyn Store,
    config: &WebhookConfig,
    endpoint: &WebhookEndpoint,
    req: UpdateWebhookRequest,
) -> Result<WebhookEndpoint, WebhookError> {
    let mut e = fresh(store, endpoint).await?;
    if let Some(url) = req.url {
        let url = checked_url(&url, config).await?;
        if url != e.url {
            // Another target: its failures so far say nothing about the new one.
            e.failing_since = None;
        }
        e.url = url;
    }
    if let Some(types) = req.event_types {
        e.event_types = normalize_event_types(types)?;
    }
    if let Some(mailbox) = req.mailbox_id {
        if let Some(m) = mailbox {
            check_mailbox(store, e.site_id, m).await?;
        }
        e.mailbox_id = mailbox;
    }
    if let Some(description) = req.description {
        e.description = normalize_description(description)?;
    }
    let was_enabled = e.enabled;
    if let Some(enabled) = req.enabled {
        e.enabled = enabled;
        if enabled {
            e.disabled_reason = None;
            e.failing_since = None;
        }
    }
    e.updated_at = now();
    store.update_webhook(&e, &[]).await?;
    if was_enabled && !e.enabled {
        store.fail_pending_webhook_deliveries(e.id).await?;
    }
    Ok(e)
}

/// Gives the endpoint a new secret and returns it with the secret (shown only now). The
/// current secret keeps signing beside the new one for `config.rotation_overlap`, so that
/// receivers can switch without missing a request; a secret older than that is dropped.
pub async fn rotate_secret(
    store: &dyn Store,
    secrets: &SecretBox,
    config: &WebhookConfig,
    endpoint: &WebhookEndpoint,
) -> Result<(WebhookEndpoint, String), WebhookError> {
    let mut e = fresh(store, endpoint).await?;
    let secret = generate_secret();
    let t = now();
    let overlap = chrono::Duration::from_std(config.rotation_overlap).unwrap_or(chrono::Duration::hours(24));
    e.previous_secret_encrypted = Some(std::mem::replace(&mut e.secret_encrypted, secrets.seal(secret.as_bytes())));
    e.previous_secret_expires_at = Some(t + overlap);
    e.updated_at = t;
    store.update_webhook(&e, &[]).await?;
    Ok((e, secret))
}

/// Returns the secrets that sign requests to `endpoint` now: the current one, then the
/// previous one while its overlap lasts.
pub fn signing_secrets(secrets: &SecretBox, endpoint: &WebhookEndpoint, at: chrono::DateTime<chrono::Utc>) -> Result<Vec<String>, WebhookError> {
    let open = |sealed: &[u8]| -> Result<String, WebhookError> {
        let plain = secrets.open(sealed)?;
        String::from_utf8(plain).map_err(|_| WebhookError::Secret(mailroom_engine::secrets::SecretError::Open))
    };
    let mut out = vec![open(&endpoint.secret_encrypted)?];
    if let (Some(prev), Some(until)) = (&endpoint.previous_secret_encrypted, endpoint.previous_secret_expires_at)
        && until > at
    {
        out.push(open(prev)?);
    }
    Ok(out)
}

/// Queues deliveries to `endpoint` of its site's events after `after_cursor` (from the start
/// of the log when `None`) that match its type and mailbox filters, at most [`MAX_REPLAY`].
/// Unlike the live fan-out, events older than the endpoint are included: a replay is asked for.
///
/// An event that already has a delivery to this endpoint is not queued again (the store keeps
/// one delivery per endpoint and event); it is counted in `already_delivered` and its
/// delivery listed in `existing` (found by reading the endpoint's deliveries, so a replay
/// costs in proportion to the endpoint's history). The endpoint must be enabled. The worker
/// is not woken by a replay: call `notify_one()` on [`crate::WebhookWorker::waker`] after it.
pub async fn replay(store: &dyn Store, endpoint: &WebhookEndpoint, after_cursor: Option<i64>) -> Result<ReplayReport, WebhookError> {
    const PAGE: u32 = 500;
    let endpoint = fresh(store, endpoint).await?;
    if !endpoint.enabled {
        return Err(WebhookError::Validation("the endpoint is disabled; enable it before replaying events".into()));
    }
    let mut existing_by_event = std::collections::HashMap::new();
    let mut before = None;
    loop {
        let page = store.list_webhook_deliveries(endpoint.id, before, PAGE).await?;
        for d in &page {
            existing_by_event.insert(d.event_id, d.id);
        }
        match page.last() {
            Some(last) if page.len() == PAGE as usize => before = Some(last.id),
            _ => break,
        }
    }

    let mut report = ReplayReport::default();
    let mut after = after_cursor;
    let mut new = Vec::new();
    'pages: loop {
        let events = store.list_events(Some(endpoint.site_id), after, PAGE).await?;
        for event in &events {
            if report.matched as usize >= MAX_REPLAY {
                report.next_cursor = after.map(|c| mailroom_core::cursor::encode(mailroom_core::cursor::CursorScope::Site, c));
                break 'pages;
            }
            after = mailroom_core::cursor::parse_scoped(&event.cursor, mailroom_core::cursor::CursorScope::Site).ok().or(after);
            if !matches_filters(&endpoint, event) {
                continue;
            }
            report.matched += 1;
            match existing_by_event.get(&event.id) {
                Some(id) => {
                    report.already_delivered += 1;
                    report.existing.push(*id);
                }
                None => new.push(new_delivery(&endpoint, event, now())),
            }
        }
        if events.len() < PAGE as usize {
            break;
        }
    }
    for chunk in new.chunks(PAGE as usize) {
        store.create_webhook_deliveries(chunk, None).await?;
    }
    report.queued = new.len() as u64;
    Ok(report)
}

/// Tells whether `event` passes the endpoint's type and mailbox filters (not its creation
/// time, which only the live fan-out checks).
pub(crate) fn matches_filters(endpoint: &WebhookEndpoint, event: &Event) -> bool {
    event.site_id == endpoint.site_id
        && (endpoint.event_types.is_empty() || endpoint.event_types.iter().any(|t| t == "*" || *t == event.event_type))
        && endpoint.mailbox_id.is_none_or(|m| event.mailbox_id == Some(m))
}

/// Returns a pending delivery of `event` to `endpoint`, due at once.
pub(crate) fn new_delivery(endpoint: &WebhookEndpoint, event: &Event, at: chrono::DateTime<chrono::Utc>) -> WebhookDelivery {
    WebhookDelivery {
        id: WebhookDeliveryId::new(),
        endpoint_id: endpoint.id,
        site_id: endpoint.site_id,
        event_id: event.id,
        event_cursor: event.cursor.clone(),
        event_type: event.event_type.clone(),
        status: WebhookDeliveryStatus::Pending,
        attempts: 0,
        next_attempt_at: Some(at),
        history: Vec::new(),
        created_at: at,
        updated_at: at,
    }
}

async fn fresh(store: &dyn Store, endpoint: &WebhookEndpoint) -> Result<WebhookEndpoint, WebhookError> {
    store
        .get_webhook(endpoint.id)
        .await?
        .filter(|e| e.site_id == endpoint.site_id)
        .ok_or_else(|| WebhookError::NotFound(format!("no webhook endpoint with id {}", endpoint.id)))
}

async fn checked_url(url: &str, config: &WebhookConfig) -> Result<String, WebhookError> {
    let parsed = validate_url(url)?;
    if !config.allow_private_targets {
        check_target(&parsed, false).await?;
    }
    Ok(parsed.to_string())
}

async fn check_mailbox(store: &dyn Store, site: SiteId, mailbox: MailboxId) -> Result<(), WebhookError> {
    match store.get_mailbox(mailbox).await? {
        Some(m) if m.site_id == site => Ok(()),
        _ => Err(WebhookError::Validation(format!("`mailbox_id`: no mailbox with id {mailbox} in this site"))),
    }
}

/// Checks event type names and returns them sorted without duplicates; `*` (alone or not)
/// and an empty list both mean every type, stored as an empty list.
fn normalize_event_types(types: Vec<String>) -> Result<Vec<String>, WebhookError> {
    let mut out: Vec<String> = Vec::new();
    let mut all = false;
    for t in types {
        let t = t.trim();
        if t == "*" {
            all = true;
        } else if EVENT_TYPES.contains(&t) {
            out.push(t.to_string());
        } else {
            return Err(WebhookError::InvalidEventType(format!(
                "`{t}` is not an event type; use `*` or some of: {}",
                EVENT_TYPES.join(", ")
            )));
        }
    }
    if all {
        return Ok(Vec::new());
    }
    let unique: HashSet<String> = out.into_iter().collect();
    let mut out: Vec<String> = unique.into_iter().collect();
    out.sort();
    Ok(out)
}

fn normalize_description(description: Option<String>) -> Result<Option<String>, WebhookError> {
    let Some(d) = description.map(|d| d.trim().to_string()).filter(|d| !d.is_empty()) else { return Ok(None) };
    if d.chars().count() > MAX_DESCRIPTION_CHARS {
        return Err(WebhookError::Validation(format!("`description` must be at most {MAX_DESCRIPTION_CHARS} characters")));
    }
    if d.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return Err(WebhookError::Validation("`description` must not contain control characters".into()));
    }
    Ok(Some(d))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_types_are_checked_and_normalized() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(normalize_event_types(s(&["message.received", "message.sent", "message.received"])).unwrap(), s(&["message.received", "message.sent"]));
        assert_eq!(normalize_event_types(s(&["*"])).unwrap(), Vec::<String>::new());
        assert_eq!(normalize_event_types(s(&["message.sent", "*"])).unwrap(), Vec::<String>::new());
        assert_eq!(normalize_event_types(vec![]).unwrap(), Vec::<String>::new());
        let err = normalize_event_types(s(&["message.recieved"])).unwrap_err();
        assert_eq!(err.code(), "invalid_event_type");
        assert!(err.to_string().contains("message.received"), "the message lists the valid names: {err}");
        assert!(normalize_event_types(s(&["message.*"])).is_err());
    }

    #[test]
    fn descriptions_are_bounded() {
        assert_eq!(normalize_description(Some("  ".into())).unwrap(), None);
        assert_eq!(normalize_description(Some(" CRM ".into())).unwrap().as_deref(), Some("CRM"));
        assert_eq!(normalize_description(Some("x".repeat(501))).unwrap_err().code(), "validation_error");
        assert!(normalize_description(Some("é".repeat(500))).is_ok());
        assert!(normalize_description(Some("a\u{0}b".into())).is_err());
    }

    #[test]
    fn requests_refuse_unknown_fields_and_tell_null_from_absent() {
        let err = serde_json::from_str::<CreateWebhookRequest>(r#"{"url":"https://x.test/","secret":"mine"}"#).unwrap_err();
        assert!(err.to_string().contains("unknown field"), "{err}");
        let u: UpdateWebhookRequest = serde_json::from_str(r#"{"mailbox_id":null}"#).unwrap();
        assert_eq!(u.mailbox_id, Some(None));
        assert_eq!(u.description, None);
        let u: UpdateWebhookRequest = serde_json::from_str(r#"{"description":"x"}"#).unwrap();
        assert_eq!(u.description, Some(Some("x".into())));
        assert!(serde_json::from_str::<UpdateWebhookRequest>(r#"{"urll":"x"}"#).is_err());
    }

    #[test]
    fn the_api_types_have_openapi_schemas() {
        use utoipa::PartialSchema;
        let json = |s: utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>| serde_json::to_string(&s).unwrap();
        let create = json(CreateWebhookRequest::schema());
        assert!(create.contains("event_types") && create.contains("mailbox_id"), "{create}");
        let update = json(UpdateWebhookRequest::schema());
        assert!(update.contains("null"), "mailbox_id and description are nullable: {update}");
        let response = json(WebhookResponse::schema());
        assert!(response.contains("secret"), "{response}");
        let report = json(ReplayReport::schema());
        assert!(report.contains("already_delivered") && !report.contains("existing"), "{report}");
    }

    #[test]
    fn the_response_shows_the_secret_only_when_given() {
        let t = now();
        let e = WebhookEndpoint {
            id: WebhookId::new(),
            site_id: SiteId::new(),
            url: "https://x.test/".into(),
            event_types: vec![],
            mailbox_id: None,
            description: None,
            enabled: true,
            disabled_reason: None,
            failing_since: None,
            secret_encrypted: vec![1, 2, 3],
            previous_secret_encrypted: None,
            previous_secret_expires_at: None,
            created_at: t,
            updated_at: t,
        };
        let plain = serde_json::to_value(WebhookResponse::from(e.clone())).unwrap();
        assert!(plain.get("secret").is_none());
        assert!(plain.get("secret_encrypted").is_none());
        assert_eq!(plain["url"], "https://x.test/");
        let shown = serde_json::to_value(WebhookResponse { endpoint: e, secret: Some("whsec_x".into()) }).unwrap();
        assert_eq!(shown["secret"], "whsec_x");
    }
}
