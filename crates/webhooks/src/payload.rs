//! The body of a webhook request.
//!
//! `{"id": <event id>, "type": "message.received", "created_at": "…", "data": {…}}`: the
//! event as the log holds it. A receiver must be able to take a body in one read, so an
//! event larger than the limit is trimmed rather than refused: the bulky fields of a message
//! (`text`, `html`, `extracted_text`, `headers`, `attachments`, …) are dropped, `"truncated": true` is added,
//! and `"url"` says where the whole object can be fetched with an API key.

use mailroom_core::Event;
use serde_json::{Map, Value, json};

/// Fields of a message object that can be large and are dropped first.
const BULKY_MESSAGE_FIELDS: &[&str] = &["text", "html", "extracted_text", "extracted_html", "headers", "attachments", "references", "auth_results", "recipients"];

/// A field of `data` longer than this (as JSON) is dropped in the second trimming step.
const MAX_KEPT_FIELD_BYTES: usize = 1024;

/// Returns the JSON body for `event`, at most `max_bytes` long when it can be trimmed that
/// far (the envelope itself is never cut). `public_url` is this server's base URL, used in
/// the `url` of a trimmed body.
pub fn build_payload(event: &Event, max_bytes: usize, public_url: &str) -> Vec<u8> {
    let envelope = |data: Value| {
        let mut body = Map::new();
        body.insert("id".into(), json!(event.id));
        body.insert("type".into(), json!(event.event_type));
        body.insert("created_at".into(), json!(event.created_at));
        body.insert("data".into(), data);
        body
    };
    let full = to_vec(&Value::Object(envelope(event.data.clone())));
    if full.len() <= max_bytes {
        return full;
    }

    let url = resource_url(event, public_url);
    let trimmed = |data: Value| {
        let mut body = envelope(data);
        body.insert("truncated".into(), Value::Bool(true));
        if let Some(url) = &url {
            body.insert("url".into(), Value::String(url.clone()));
        }
        to_vec(&Value::Object(body))
    };

    // 1. Without the bulky fields of a message.
    let mut data = event.data.clone();
    if let Value::Object(fields) = &mut data {
        for f in BULKY_MESSAGE_FIELDS {
            fields.remove(*f);
        }
    }
    let body = trimmed(data.clone());
    if body.len() <= max_bytes {
        return body;
    }
    // 2. Only the short fields (ids, subject, status, …).
    if let Value::Object(fields) = &mut data {
        fields.retain(|_, v| to_vec(v).len() <= MAX_KEPT_FIELD_BYTES);
    }
    let body = trimmed(data);
    if body.len() <= max_bytes {
        return body;
    }
    // 3. The envelope and the link only.
    trimmed(Value::Object(Map::new()))
}

fn to_vec(v: &Value) -> Vec<u8> {
    serde_json::to_vec(v).unwrap_or_default()
}

/// Returns where the full object of a trimmed event can be read: the message for message
/// events, else the event itself in the log.
fn resource_url(event: &Event, public_url: &str) -> Option<String> {
    let base = public_url.trim_end_matches('/');
    if let Some(id) = message_id(&event.data) {
        return Some(format!("{base}/v1/messages/{id}"));
    }
    let (scope, position) = mailroom_core::cursor::parse(&event.cursor).ok()?;
    let before = mailroom_core::cursor::encode(scope, position - 1);
    Some(format!("{base}/v1/events?after={before}&limit=1"))
}

/// Returns the Mailroom message id an event's data is about: its `id` when the data is a
/// message object, else its `message_id` field (delivery events).
fn message_id(data: &Value) -> Option<mailroom_core::MessageId> {
    let fields = data.as_object()?;
    let is_message = fields.contains_key("direction") && fields.contains_key("thread_id") && fields.contains_key("mailbox_id");
    let raw = if is_message { fields.get("id") } else { fields.get("message_id") };
    raw?.as_str()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use mailroom_core::{EventId, MessageId, SiteId, ThreadId, event_types};

    fn event(event_type: &str, data: Value) -> Event {
        Event {
            id: EventId::new(),
            cursor: "e16".into(),
            event_type: event_type.into(),
            site_id: SiteId::new(),
            mailbox_id: None,
            data,
            created_at: mailroom_core::now(),
        }
    }

    fn parse(body: &[u8]) -> Value {
        serde_json::from_slice(body).unwrap()
    }

    fn message(id: MessageId, text_len: usize) -> Value {
        json!({
            "id": id, "thread_id": ThreadId::new(), "mailbox_id": "0190aaaa-0000-7000-8000-000000000000",
            "direction": "inbound", "message_id": "<abc@example.com>", "subject": "Hello",
            "snippet": "Hi there", "text": "x".repeat(text_len), "html": format!("<p>{}</p>", "y".repeat(text_len)),
            "headers": [{"name": "X-Big", "value": "z".repeat(text_len)}], "attachments": [],
        })
    }

    #[test]
    fn a_small_event_is_sent_whole() {
        let e = event(event_types::MESSAGE_RECEIVED, json!({"subject": "Hi"}));
        let body = parse(&build_payload(&e, 1024, "https://mail.example.com"));
        assert_eq!(body, json!({"id": e.id, "type": "message.received", "created_at": e.created_at, "data": {"subject": "Hi"}}));
    }

    #[test]
    fn a_large_message_loses_its_bulky_fields_and_links_to_itself() {
        let id = MessageId::new();
        let e = event(event_types::MESSAGE_RECEIVED, message(id, 100_000));
        let raw = build_payload(&e, 4096, "https://mail.example.com/");
        assert!(raw.len() <= 4096, "{} bytes", raw.len());
        let body = parse(&raw);
        assert_eq!(body["truncated"], true);
        assert_eq!(body["url"], format!("https://mail.example.com/v1/messages/{id}"));
        assert_eq!(body["id"], json!(e.id));
        assert_eq!(body["data"]["id"], json!(id));
        assert_eq!(body["data"]["subject"], "Hello");
        assert_eq!(body["data"]["snippet"], "Hi there");
        for gone in ["text", "html", "headers", "attachments"] {
            assert!(body["data"].get(gone).is_none(), "{gone} is dropped");
        }
    }

    #[test]
    fn an_event_about_a_message_links_to_the_message() {
        let id = MessageId::new();
        let e = event(event_types::MESSAGE_DELIVERED, json!({"message_id": id, "last_reply": "x".repeat(10_000)}));
        let body = parse(&build_payload(&e, 2048, "http://h"));
        assert_eq!(body["url"], format!("http://h/v1/messages/{id}"));
        assert_eq!(body["data"], json!({"message_id": id}), "the long field is dropped, the id kept");
    }

    #[test]
    fn another_event_links_to_its_place_in_the_log() {
        let e = event(event_types::MAILBOX_UPDATED, json!({"blob": "x".repeat(10_000)}));
        let body = parse(&build_payload(&e, 1024, "http://h"));
        assert_eq!(body["url"], "http://h/v1/events?after=e15&limit=1");
        assert_eq!(body["data"], json!({}));
    }

    #[test]
    fn a_tiny_limit_still_gives_the_envelope() {
        let id = MessageId::new();
        let e = event(event_types::MESSAGE_RECEIVED, message(id, 10));
        let body = parse(&build_payload(&e, 10, "http://h"));
        assert_eq!(body["truncated"], true);
        assert_eq!(body["data"], json!({}));
        assert_eq!(body["type"], "message.received");
    }
}
