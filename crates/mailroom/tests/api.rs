//! The REST API end to end: the real server on port 0, driven through the Rust client.

mod common;

use base64::Engine as _;
use common::*;
use mailroom_client::Method;
use mailroom_core::api::*;
use mailroom_core::*;
use serde_json::json;

#[tokio::test]
async fn health_readiness_openapi_and_docs_are_served() {
    let app = spawn_app().await;
    assert_eq!(app.admin.health().await.unwrap().status, "ok");
    assert_eq!(app.admin.ready().await.unwrap().status, "ok");
    let spec = app.admin.raw_request(Method::GET, "/v1/openapi.json", None, &[]).await.unwrap();
    assert_eq!(spec.status, 200);
    let spec: serde_json::Value = spec.json().unwrap();
    for path in [
        "/v1/mailboxes", "/v1/mailboxes/{id}", "/v1/mailboxes/{id}/messages", "/v1/messages/{id}", "/v1/messages/{id}/raw",
        "/v1/messages/{id}/reply", "/v1/messages/{id}/forward", "/v1/mailboxes/{id}/threads", "/v1/threads/{id}", "/v1/attachments/{id}", "/v1/events",
        "/v1/sites", "/v1/api-keys", "/v1/api-keys/{id}", "/healthz", "/readyz",
    ] {
        assert!(spec["paths"].get(path).is_some(), "{path} missing from the OpenAPI document");
    }
    let docs = app.admin.raw_request(Method::GET, "/docs/", None, &[]).await.unwrap();
    assert_eq!(docs.status, 200);
    assert!(docs.text().contains("swagger"), "the docs page is Swagger UI");
    let js = app.admin.raw_request(Method::GET, "/docs/swagger-ui-bundle.js", None, &[]).await.unwrap();
    assert_eq!(js.status, 200, "Swagger UI assets are served by the binary, not a CDN");
}

#[tokio::test]
async fn sites_and_api_keys() {
    let app = spawn_app().await;
    let sites = app.admin.list_sites().await.unwrap();
    assert_eq!(sites.items.len(), 1, "a default site exists from the first start");
    let (site, site_client) = app.site_client("acme").await;
    assert_eq!(site.name, "acme");
    assert_eq!(app.admin.list_sites().await.unwrap().items.len(), 2);

    // Site keys cannot use admin routes.
    assert_api_error(site_client.list_sites().await, 403, "forbidden");
    assert_api_error(site_client.create_site(&CreateSiteRequest { name: "x".into() }).await, 403, "forbidden");
    assert_api_error(
        site_client.create_api_key(&CreateApiKeyRequest { name: "root".into(), scope: Some("admin".into()), site_id: None }).await,
        403,
        "forbidden",
    );

    // A site key creates keys for its own site and sees only them.
    let second = site_client.create_api_key(&CreateApiKeyRequest { name: "second".into(), ..Default::default() }).await.unwrap();
    assert_eq!(second.api_key.site_id, Some(site.id));
    assert!(second.key.starts_with("mr_"));
    let keys = site_client.list_api_keys().await.unwrap();
    assert_eq!(keys.items.len(), 2);
    assert!(keys.items.iter().all(|k| k.site_id == Some(site.id)));
    let all = app.admin.list_api_keys().await.unwrap();
    assert!(all.items.len() >= 3);
    let listed = serde_json::to_string(&all).unwrap();
    assert!(!listed.contains(&second.key), "secrets are never listed");

    // Deleting a key revokes it at once.
    let second_client = app.client(&second.key);
    second_client.list_mailboxes(None, None).await.unwrap();
    site_client.delete_api_key(second.api_key.id).await.unwrap();
    assert_api_error(second_client.list_mailboxes(None, None).await, 401, "invalid_api_key");
    assert_api_error(site_client.delete_api_key(second.api_key.id).await, 404, "not_found");

    // An admin key can create another admin key, which works.
    let admin2 = app.admin.create_api_key(&CreateApiKeyRequest { name: "ops".into(), scope: Some("admin".into()), site_id: None }).await.unwrap();
    assert_eq!(admin2.api_key.scope, "admin");
    app.client(&admin2.key).list_sites().await.unwrap();
}

#[tokio::test]
async fn mailbox_crud_and_client_id_idempotency() {
    let app = spawn_app().await;
    let (site, c) = app.site_client("s").await;
    let req = CreateMailboxRequest { username: "Support".into(), display_name: Some("Support Bot".into()), client_id: Some("agent-7".into()), ..Default::default() };
    let (mb, created) = c.create_mailbox_with_status(&req).await.unwrap();
    assert!(created);
    assert_eq!(mb.address.as_str(), "support@mailroom.localhost");
    assert_eq!(mb.site_id, site.id);
    assert_eq!(mb.display_name.as_deref(), Some("Support Bot"));
    let (again, created) = c.create_mailbox_with_status(&req).await.unwrap();
    assert!(!created, "the same client_id returns the same mailbox with 200");
    assert_eq!(again.id, mb.id);

    // Another hosted domain works; a foreign one does not; the address is unique.
    let other = c.create_mailbox(&CreateMailboxRequest { username: "support".into(), domain: Some("OTHER.test".into()), ..Default::default() }).await.unwrap();
    assert_eq!(other.address.as_str(), "support@other.test");
    assert_api_error(c.create_mailbox(&CreateMailboxRequest { username: "x".into(), domain: Some("gmail.com".into()), ..Default::default() }).await, 422, "domain_not_hosted");
    assert_api_error(c.create_mailbox(&CreateMailboxRequest { username: "support".into(), ..Default::default() }).await, 409, "address_taken");
    assert_api_error(c.create_mailbox(&CreateMailboxRequest { username: "bad name".into(), ..Default::default() }).await, 422, "invalid_username");

    // Pagination walks every mailbox exactly once, newest first.
    for i in 0..5 {
        mailbox(&c, &format!("bulk{i}")).await;
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = c.list_mailboxes(cursor.as_deref(), Some(3)).await.unwrap();
        seen.extend(page.items.iter().map(|m| m.id));
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(seen.len(), 7);
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.reverse();
    assert_eq!(seen, sorted, "newest first");

    let updated = c.update_mailbox(mb.id, &UpdateMailboxRequest { display_name: Some("Renamed".into()), ..Default::default() }).await.unwrap();
    assert_eq!(updated.display_name.as_deref(), Some("Renamed"));
    assert_eq!(c.get_mailbox(mb.id).await.unwrap().display_name.as_deref(), Some("Renamed"));
    c.delete_mailbox(mb.id).await.unwrap();
    assert_api_error(c.get_mailbox(mb.id).await, 404, "not_found");
    assert_api_error(c.delete_mailbox(mb.id).await, 404, "not_found");
}

#[tokio::test]
async fn local_delivery_reply_and_threads_on_both_sides() {
    let app = spawn_app().await;
    let c = &app.admin;
    let alice = mailbox(c, "alice").await;
    let bob = mailbox(c, "bob").await;

    let sent = c.send_message(alice.id, &text_message(&["bob@mailroom.localhost"], "Lunch?", "Are you free at noon?"), None).await.unwrap();
    assert_eq!(sent.recipients, vec![RecipientStatus { address: bob.address.clone(), status: DeliveryStatus::Delivered }]);
    assert!(sent.message_id.ends_with("@mailroom.localhost"));

    let out = c.get_message(sent.id).await.unwrap();
    assert_eq!(out.direction, Direction::Outbound);
    assert_eq!(out.from.as_ref().unwrap().address, alice.address);
    assert_eq!(out.from.as_ref().unwrap().name.as_deref(), Some("alice agent"));
    assert_eq!(out.recipients[0].status, DeliveryStatus::Delivered);
    assert!(out.headers.iter().any(|h| h.name.eq_ignore_ascii_case("date")));

    let inbox = c.list_messages(bob.id, &MessageQuery { direction: Some("inbound".into()), ..Default::default() }).await.unwrap();
    assert_eq!(inbox.items.len(), 1);
    let received = &inbox.items[0];
    assert_eq!(received.message_id.as_deref(), Some(sent.message_id.as_str()), "the inbound copy keeps the Message-ID");
    assert_eq!(received.subject.as_deref(), Some("Lunch?"));
    assert_eq!(received.text.as_deref().map(str::trim), Some("Are you free at noon?"));
    assert!(!received.read);
    let raw_out = c.get_raw_message(sent.id).await.unwrap();
    let raw_in = c.get_raw_message(received.id).await.unwrap();
    assert_eq!(raw_out, raw_in, "both copies keep the same bytes");

    // Bob replies through the API; the reply lands in Alice's original thread.
    let reply = c.reply(received.id, &ReplyRequest { text: Some("Yes, see you there.".into()), ..Default::default() }, None).await.unwrap();
    assert_eq!(reply.thread_id, received.thread_id, "the reply stays in Bob's thread");
    assert_eq!(reply.recipients[0].status, DeliveryStatus::Delivered);
    let reply_msg = c.get_message(reply.id).await.unwrap();
    assert_eq!(reply_msg.in_reply_to.as_deref(), Some(sent.message_id.as_str()));
    assert_eq!(reply_msg.references, vec![sent.message_id.clone()]);
    assert_eq!(reply_msg.subject.as_deref(), Some("Re: Lunch?"));

    let alice_thread = c.get_thread(sent.thread_id).await.unwrap();
    assert_eq!(alice_thread.messages.len(), 2, "Alice's thread holds her message and Bob's reply");
    assert_eq!(alice_thread.messages[0].id, sent.id);
    assert_eq!(alice_thread.messages[1].direction, Direction::Inbound);
    assert_eq!(alice_thread.thread.message_count, 2);
    assert_eq!(alice_thread.thread.subject.as_deref(), Some("Lunch?"));
    assert!(alice_thread.thread.participants.contains(&bob.address));
    let bob_thread = c.get_thread(received.thread_id).await.unwrap();
    assert_eq!(bob_thread.messages.len(), 2);

    // Thread listings: latest activity first, with snippet and count.
    let threads = c.list_threads(alice.id, None, None).await.unwrap();
    assert_eq!(threads.items.len(), 1);
    assert_eq!(threads.items[0].message_count, 2);
    assert!(threads.items[0].snippet.contains("see you there"));
    let later = c.send_message(alice.id, &text_message(&["bob@mailroom.localhost"], "Another topic", "x"), None).await.unwrap();
    let threads = c.list_threads(alice.id, None, None).await.unwrap();
    assert_eq!(threads.items[0].id, later.thread_id, "latest activity first");
    let first_page = c.list_threads(alice.id, None, Some(1)).await.unwrap();
    let second_page = c.list_threads(alice.id, first_page.next_cursor.as_deref(), Some(1)).await.unwrap();
    assert_eq!(second_page.items[0].id, sent.thread_id);

    // Reply-all from Alice to her own sent message goes to the original recipients.
    let carol = mailbox(c, "carol").await;
    let group = c
        .send_message(alice.id, &SendMessageRequest { cc: vec![carol.address.to_string()], ..text_message(&["bob@mailroom.localhost"], "Team", "hi all") }, None)
        .await
        .unwrap();
    let bob_copy = c.list_messages(bob.id, &MessageQuery { direction: Some("inbound".into()), ..Default::default() }).await.unwrap().items.into_iter().find(|m| m.subject.as_deref() == Some("Team")).unwrap();
    let all = c.reply(bob_copy.id, &ReplyRequest { text: Some("ack".into()), reply_all: true, ..Default::default() }, None).await.unwrap();
    let mut addrs: Vec<_> = all.recipients.iter().map(|r| r.address.to_string()).collect();
    addrs.sort();
    assert_eq!(addrs, vec!["alice@mailroom.localhost", "carol@mailroom.localhost"]);
    let _ = group;
}

#[tokio::test]
async fn mime_attachments_headers_and_remote_recipients() {
    let app = spawn_app().await;
    let c = &app.admin;
    let alice = mailbox(c, "alice").await;
    let bob = mailbox(c, "bob").await;
    let pdf = b"%PDF-1.4\n binary \x00\x01\x02 content".to_vec();
    let req = SendMessageRequest {
        to: vec!["Bob <bob@mailroom.localhost>".into(), "ext@example.com".into()],
        bcc: vec!["hidden@example.org".into(), "nobody@mailroom.localhost".into()],
        subject: "Rapport trimestriel — été".into(),
        text: Some("Voici le rapport.".into()),
        html: Some("<p>Voici le <b>rapport</b>.</p>".into()),
        attachments: vec![AttachmentInput {
            attachment_id: None,
            filename: "rapport été.pdf".into(),
            content_type: Some("application/pdf".into()),
            content_base64: base64::engine::general_purpose::STANDARD.encode(&pdf),
            content_id: None,
        }],
        headers: [("X-Agent-Run".to_string(), "run-42".to_string())].into(),
        labels: vec!["reports".into()],
        ..Default::default()
    };
    let sent = c.send_message(alice.id, &req, None).await.unwrap();
    let status = |a: &str| sent.recipients.iter().find(|r| r.address.as_str() == a).unwrap().status;
    assert_eq!(status("bob@mailroom.localhost"), DeliveryStatus::Delivered);
    assert_eq!(status("ext@example.com"), DeliveryStatus::Queued, "other domains wait in the durable outbound queue");
    assert_eq!(status("hidden@example.org"), DeliveryStatus::Queued);
    assert_eq!(status("nobody@mailroom.localhost"), DeliveryStatus::Bounced, "unknown local mailbox bounces");

    let raw = String::from_utf8(c.get_raw_message(sent.id).await.unwrap().to_vec()).unwrap();
    assert!(raw.contains("multipart/alternative"));
    assert!(raw.contains("X-Agent-Run: run-42"));
    assert!(!raw.contains("hidden@example.org"), "Bcc never appears in the message");
    assert!(raw.contains("=?utf-8?"), "non-ASCII subject is encoded");

    let out = c.get_message(sent.id).await.unwrap();
    assert_eq!(out.subject.as_deref(), Some("Rapport trimestriel — été"));
    assert_eq!(out.html.as_deref(), Some("<p>Voici le <b>rapport</b>.</p>"));
    assert_eq!(out.bcc.len(), 2, "the sender's copy remembers its Bcc recipients");
    assert_eq!(out.labels, vec!["reports"]);
    assert_eq!(out.recipients.len(), 4);

    let inbound = &c.list_messages(bob.id, &MessageQuery::default()).await.unwrap().items[0];
    assert!(inbound.bcc.is_empty());
    assert_eq!(inbound.attachments.len(), 1);
    let att = &inbound.attachments[0];
    assert_eq!(att.filename.as_deref(), Some("rapport été.pdf"));
    assert_eq!(att.content_type, "application/pdf");
    assert_eq!(att.size, pdf.len() as u64);
    let (ct, name, bytes) = c.get_attachment(att.id).await.unwrap();
    assert_eq!(ct, "application/pdf");
    assert_eq!(name.as_deref(), Some("rapport été.pdf"));
    assert_eq!(bytes.to_vec(), pdf);

    // The queued recipients are durable jobs visible in the store's queue.
    let due = app.server.as_ref().unwrap().engine.store().due_recipients(chrono::Utc::now(), 10).await.unwrap();
    assert_eq!(due.iter().filter(|d| d.message_id == sent.id).count(), 2);
}

#[tokio::test]
async fn message_filters_flags_and_deletion() {
    let app = spawn_app().await;
    let c = &app.admin;
    let a = mailbox(c, "a").await;
    let b = mailbox(c, "b").await;
    let t0 = chrono::Utc::now();
    let first = c.send_message(a.id, &text_message(&["b+news@mailroom.localhost"], "one", "1"), None).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let t1 = chrono::Utc::now();
    let second = c.send_message(a.id, &text_message(&["b@mailroom.localhost"], "two", "2"), None).await.unwrap();
    c.send_message(b.id, &text_message(&["a@mailroom.localhost"], "three", "3"), None).await.unwrap();

    let list = |q: MessageQuery| async move { c.list_messages(b.id, &q).await.unwrap().items };
    assert_eq!(list(MessageQuery::default()).await.len(), 3);
    assert_eq!(list(MessageQuery { direction: Some("inbound".into()), ..Default::default() }).await.len(), 2);
    assert_eq!(list(MessageQuery { direction: Some("outbound".into()), ..Default::default() }).await.len(), 1);
    let tagged = list(MessageQuery { label: Some("news".into()), ..Default::default() }).await;
    assert_eq!(tagged.len(), 1, "plus-addressing delivers to the base mailbox and labels the tag");
    assert_eq!(tagged[0].subject.as_deref(), Some("one"));
    assert_eq!(list(MessageQuery { since: Some(t1.to_rfc3339()), direction: Some("inbound".into()), ..Default::default() }).await.len(), 1);
    assert_eq!(list(MessageQuery { since: Some(t0.to_rfc3339()), ..Default::default() }).await.len(), 3);
    let inbound = list(MessageQuery { direction: Some("inbound".into()), ..Default::default() }).await;
    let by_thread = list(MessageQuery { thread_id: Some(inbound[0].thread_id), ..Default::default() }).await;
    assert_eq!(by_thread.len(), 1);
    assert_eq!(list(MessageQuery { unread: Some(true), ..Default::default() }).await.len(), 2, "sent copies are read");

    let newest = &inbound[0];
    let patched = c.update_message(newest.id, &UpdateMessageRequest { read: Some(true), add_labels: vec!["done".into()], ..Default::default() }).await.unwrap();
    assert!(patched.read);
    assert_eq!(patched.labels, vec!["done"]);
    assert_eq!(list(MessageQuery { unread: Some(true), ..Default::default() }).await.len(), 1);
    let patched = c.update_message(newest.id, &UpdateMessageRequest { labels: Some(vec!["x".into(), "y".into()]), remove_labels: vec!["x".into()], ..Default::default() }).await.unwrap();
    assert_eq!(patched.labels, vec!["y"]);

    // Cursor pagination.
    let p1 = c.list_messages(b.id, &MessageQuery { limit: Some(2), ..Default::default() }).await.unwrap();
    assert_eq!(p1.items.len(), 2);
    let p2 = c.list_messages(b.id, &MessageQuery { limit: Some(2), cursor: p1.next_cursor.clone(), ..Default::default() }).await.unwrap();
    assert_eq!(p2.items.len(), 1);
    assert!(p2.next_cursor.is_none());

    // Deleting a message removes it and its raw bytes; the thread follows.
    c.delete_message(newest.id).await.unwrap();
    assert_api_error(c.get_message(newest.id).await, 404, "not_found");
    assert_api_error(c.get_raw_message(newest.id).await, 404, "not_found");
    assert_api_error(c.get_thread(newest.thread_id).await, 404, "not_found");
    let _ = (first, second);

    // Bad filters are explained.
    assert_api_error(c.list_messages(b.id, &MessageQuery { direction: Some("sideways".into()), ..Default::default() }).await, 400, "invalid_query");
    assert_api_error(c.list_messages(b.id, &MessageQuery { since: Some("yesterday".into()), ..Default::default() }).await, 400, "invalid_query");
    assert_api_error(c.list_messages(b.id, &MessageQuery { cursor: Some("garbage".into()), ..Default::default() }).await, 400, "invalid_cursor");
    assert_api_error(c.list_messages(b.id, &MessageQuery { limit: Some(1000), ..Default::default() }).await, 400, "invalid_query");
}

#[tokio::test]
async fn idempotent_sends() {
    let app = spawn_app().await;
    let c = &app.admin;
    let a = mailbox(c, "a").await;
    let b = mailbox(c, "b").await;
    let req = text_message(&["b@mailroom.localhost"], "once", "only once");
    let first = c.send_message(a.id, &req, Some("key-1")).await.unwrap();
    let again = c.send_message(a.id, &req, Some("key-1")).await.unwrap();
    assert_eq!(first, again, "same key and body: the same answer");
    let inbox = c.list_messages(b.id, &MessageQuery::default()).await.unwrap();
    assert_eq!(inbox.items.len(), 1, "and nothing sent twice");
    let other = text_message(&["b@mailroom.localhost"], "different", "body");
    assert_api_error(c.send_message(a.id, &other, Some("key-1")).await, 422, "idempotency_key_reused");
    // The replayed answer is marked.
    let raw = c
        .raw_request(Method::POST, &format!("/v1/mailboxes/{}/messages", a.id), Some(serde_json::to_value(&req).unwrap()), &[("Idempotency-Key", "key-1")])
        .await
        .unwrap();
    assert_eq!(raw.status, 202);
    assert_eq!(raw.header("idempotent-replayed"), Some("true"));
    // A failed request does not burn its key.
    let bad = text_message(&["not-an-address"], "x", "y");
    assert_api_error(c.send_message(a.id, &bad, Some("key-2")).await, 422, "invalid_email_address");
    c.send_message(a.id, &text_message(&["b@mailroom.localhost"], "x", "y"), Some("key-2")).await.unwrap();
    // Replies honour keys too.
    let msg = &c.list_messages(b.id, &MessageQuery::default()).await.unwrap().items[0];
    let r1 = c.reply(msg.id, &ReplyRequest { text: Some("r".into()), ..Default::default() }, Some("reply-1")).await.unwrap();
    let r2 = c.reply(msg.id, &ReplyRequest { text: Some("r".into()), ..Default::default() }, Some("reply-1")).await.unwrap();
    assert_eq!(r1, r2);
    // Mailbox creation honours keys as well.
    let raw1 = c.raw_request(Method::POST, "/v1/mailboxes", Some(json!({"username": "idem"})), &[("Idempotency-Key", "mb-1")]).await.unwrap();
    let raw2 = c.raw_request(Method::POST, "/v1/mailboxes", Some(json!({"username": "idem"})), &[("Idempotency-Key", "mb-1")]).await.unwrap();
    assert_eq!((raw1.status, raw2.status), (201, 201));
    assert_eq!(raw1.body, raw2.body);
}

#[tokio::test]
async fn every_error_has_its_own_code_in_one_shape() {
    let app = spawn_app_with(|c| c.http.max_body_bytes = 64 * 1024).await;
    let c = &app.admin;
    let a = mailbox(c, "a").await;
    let send_path = format!("/v1/mailboxes/{}/messages", a.id);

    let check = |r: mailroom_client::RawResponse, status: u16, code: &str| {
        assert_eq!(r.status, status, "{}", r.text());
        let body: serde_json::Value = r.json().expect("error bodies are JSON");
        assert_eq!(body["error"]["code"], code, "{body}");
        assert!(body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()));
        assert_eq!(body.as_object().unwrap().len(), 1, "one shape: only `error`");
    };

    // Malformed JSON, unknown field, wrong type, wrong content type.
    check(c.raw_request_bytes(Method::POST, &send_path, Some("{\"to\": [".into()), &[("content-type", "application/json")]).await.unwrap(), 400, "malformed_json");
    check(c.raw_request(Method::POST, &send_path, Some(json!({"to": ["b@x.test"], "subject": "s", "text": "t", "sujet": "typo"})), &[]).await.unwrap(), 400, "unknown_field");
    check(c.raw_request(Method::POST, &send_path, Some(json!({"to": "b@x.test", "text": "t"})), &[]).await.unwrap(), 422, "invalid_request");
    check(c.raw_request_bytes(Method::POST, &send_path, Some("to=x".into()), &[("content-type", "application/x-www-form-urlencoded")]).await.unwrap(), 415, "unsupported_media_type");

    // Invalid addresses, in every field, name the field.
    for field in ["to", "cc", "bcc", "reply_to"] {
        let mut body = json!({"to": ["ok@x.test"], "subject": "s", "text": "t"});
        body[field] = json!(["ok@x.test", "not an address"]);
        let r = c.raw_request(Method::POST, &send_path, Some(body), &[]).await.unwrap();
        assert!(r.text().contains(&format!("{field}[1]")), "{}", r.text());
        check(r, 422, "invalid_email_address");
    }
    check(c.raw_request(Method::POST, &send_path, Some(json!({"to": ["a@x.test\r\nBcc: evil@x.test"], "text": "t"})), &[]).await.unwrap(), 422, "invalid_email_address");
    check(c.raw_request(Method::POST, &send_path, Some(json!({"to": [], "text": "t"})), &[]).await.unwrap(), 422, "validation_error");
    check(c.raw_request(Method::POST, &send_path, Some(json!({"to": ["b@x.test"], "subject": "a\r\nBcc: x@y.z", "text": "t"})), &[]).await.unwrap(), 422, "validation_error");
    check(c.raw_request(Method::POST, &send_path, Some(json!({"to": ["b@x.test"], "text": "t", "headers": {"Bcc": "x@y.z"}})), &[]).await.unwrap(), 422, "invalid_header");
    check(c.raw_request(Method::POST, &send_path, Some(json!({"to": ["b@x.test"], "text": "t", "attachments": [{"filename": "a", "content_base64": "!!!"}]})), &[]).await.unwrap(), 422, "invalid_attachment");
    check(c.raw_request(Method::POST, &send_path, Some(json!({"to": ["b@x.test"], "text": "t", "in_reply_to": "00000000-0000-7000-8000-000000000000"})), &[]).await.unwrap(), 422, "invalid_in_reply_to");

    // Too large.
    let big = "x".repeat(100 * 1024);
    check(c.raw_request(Method::POST, &send_path, Some(json!({"to": ["b@x.test"], "text": big})), &[]).await.unwrap(), 413, "payload_too_large");

    // Missing and bad keys.
    check(c.raw_request(Method::GET, "/v1/mailboxes", None, &[("authorization", "")]).await.unwrap(), 401, "invalid_api_key");
    let anon = reqwest::get(format!("{}/v1/mailboxes", app.url)).await.unwrap();
    assert_eq!(anon.status(), 401);
    let body: serde_json::Value = anon.json().await.unwrap();
    assert_eq!(body["error"]["code"], "missing_api_key");
    check(c.raw_request(Method::GET, "/v1/mailboxes", None, &[("authorization", "Bearer mr_nope")]).await.unwrap(), 401, "invalid_api_key");
    check(c.raw_request(Method::GET, "/v1/mailboxes", None, &[("authorization", "Basic abc")]).await.unwrap(), 401, "invalid_api_key");

    // Unknown ids, malformed ids and unknown routes.
    let ghost = MessageId::new();
    check(c.raw_request(Method::GET, &format!("/v1/messages/{ghost}"), None, &[]).await.unwrap(), 404, "not_found");
    check(c.raw_request(Method::GET, "/v1/messages/not-a-uuid", None, &[]).await.unwrap(), 404, "not_found");
    check(c.raw_request(Method::GET, "/v1/nothing-here", None, &[]).await.unwrap(), 404, "route_not_found");
    check(c.raw_request(Method::GET, "/v1/events?after=abc", None, &[]).await.unwrap(), 400, "invalid_cursor");
    check(c.raw_request(Method::GET, "/v1/mailboxes?bogus=1", None, &[]).await.unwrap(), 400, "invalid_query");
}

#[tokio::test]
async fn sites_are_isolated_on_every_route() {
    let app = spawn_app().await;
    let (_, acme) = app.site_client("acme").await;
    let (_, globex) = app.site_client("globex").await;
    let a = mailbox(&acme, "acme-agent").await;
    let other = mailbox(&acme, "acme-other").await;
    let sent = acme
        .send_message(
            a.id,
            &SendMessageRequest {
                attachments: vec![AttachmentInput { attachment_id: None, filename: "f.txt".into(), content_type: Some("text/plain".into()), content_base64: "aGk=".into(), content_id: None }],
                ..text_message(&[other.address.as_str()], "secret", "acme only")
            },
            None,
        )
        .await
        .unwrap();
    let received = &acme.list_messages(other.id, &MessageQuery::default()).await.unwrap().items[0];
    let att = received.attachments[0].id;

    // Globex sees none of it, and every route answers exactly as for a missing object.
    assert!(globex.list_mailboxes(None, None).await.unwrap().items.is_empty());
    assert!(globex.list_events(None, None).await.unwrap().items.is_empty());
    assert_api_error(globex.get_mailbox(a.id).await, 404, "not_found");
    assert_api_error(globex.update_mailbox(a.id, &UpdateMailboxRequest { display_name: Some("pwned".into()), ..Default::default() }).await, 404, "not_found");
    assert_api_error(globex.delete_mailbox(a.id).await, 404, "not_found");
    assert_api_error(globex.send_message(a.id, &text_message(&["x@y.test"], "s", "t"), None).await, 404, "not_found");
    assert_api_error(globex.list_messages(a.id, &MessageQuery::default()).await, 404, "not_found");
    assert_api_error(globex.list_threads(a.id, None, None).await, 404, "not_found");
    assert_api_error(globex.get_message(sent.id).await, 404, "not_found");
    assert_api_error(globex.get_raw_message(sent.id).await, 404, "not_found");
    assert_api_error(globex.update_message(sent.id, &UpdateMessageRequest { read: Some(true), ..Default::default() }).await, 404, "not_found");
    assert_api_error(globex.delete_message(sent.id).await, 404, "not_found");
    assert_api_error(globex.reply(received.id, &ReplyRequest { text: Some("x".into()), ..Default::default() }, None).await, 404, "not_found");
    assert_api_error(globex.get_thread(sent.thread_id).await, 404, "not_found");
    assert_api_error(globex.get_attachment(att).await, 404, "not_found");
    let acme_keys = acme.list_api_keys().await.unwrap();
    assert_api_error(globex.delete_api_key(acme_keys.items[0].id).await, 404, "not_found");
    // The 404 body is the same as for an id that never existed.
    let foreign = globex.raw_request(Method::GET, &format!("/v1/messages/{}", sent.id), None, &[]).await.unwrap();
    let missing = globex.raw_request(Method::GET, &format!("/v1/messages/{}", MessageId::new()), None, &[]).await.unwrap();
    let code = |r: &mailroom_client::RawResponse| r.json::<serde_json::Value>().unwrap()["error"]["code"].clone();
    assert_eq!((foreign.status, code(&foreign)), (missing.status, code(&missing)));
    // Nothing changed for Acme.
    assert_eq!(acme.get_mailbox(a.id).await.unwrap().display_name.as_deref(), Some("acme-agent agent"));
    assert!(!acme.get_message(received.id).await.unwrap().read);
    // A site key cannot create in another site.
    let globex_site = app.admin.list_sites().await.unwrap().items.into_iter().find(|s| s.name == "globex").unwrap();
    assert_api_error(acme.create_mailbox(&CreateMailboxRequest { username: "spy".into(), site_id: Some(globex_site.id), ..Default::default() }).await, 404, "not_found");
}

#[tokio::test]
async fn the_event_log_is_ordered_durable_and_resumable() {
    let app = spawn_app().await;
    let (_, c) = app.site_client("events").await;
    let a = mailbox(&c, "a").await;
    let b = mailbox(&c, "b").await;
    c.send_message(a.id, &text_message(&["b@mailroom.localhost", "far@example.com"], "hello", "x"), None).await.unwrap();
    let page = c.list_events(None, None).await.unwrap();
    let types: Vec<_> = page.items.iter().map(|e| e.event_type.as_str()).collect();
    assert_eq!(types, vec!["mailbox.created", "mailbox.created", "message.sent", "message.received", "message.delivered"]);
    let cursors: Vec<i64> = page.items.iter().map(|e| mailroom_core::cursor::position(&e.cursor)).collect();
    assert!(cursors.windows(2).all(|w| w[0] < w[1]));
    let received = &page.items[3];
    assert_eq!(received.mailbox_id, Some(b.id));
    assert_eq!(received.data["subject"], "hello");
    // Resume from a cursor: only what follows.
    let rest = c.list_events(Some(&page.items[2].cursor), None).await.unwrap();
    assert_eq!(rest.items.len(), 2);
    let limited = c.list_events(None, Some(2)).await.unwrap();
    assert_eq!(limited.items.len(), 2);
    let next = c.list_events(limited.next_cursor.as_deref(), Some(100)).await.unwrap();
    assert_eq!(next.items.len(), 3);
    // At the end, next_cursor stays put so polling can go on.
    let end = c.list_events(next.next_cursor.as_deref(), None).await.unwrap();
    assert!(end.items.is_empty());
    assert_eq!(end.next_cursor, next.next_cursor);
    // Cursors are the site's own (its first event is `e1`), and numeric cursors of earlier
    // versions answer their own error code.
    assert_eq!(page.items[0].cursor, "e1");
    let old = c.list_events(Some("3"), None).await.unwrap_err();
    assert_eq!(old.code(), Some("cursor_outdated"), "{old:?}");
    let foreign = c.list_events(Some("g1"), None).await.unwrap_err();
    assert_eq!(foreign.code(), Some("invalid_cursor"), "{foreign:?}");
}

#[tokio::test]
async fn data_survives_a_restart() {
    let app = spawn_app().await;
    let key = app.admin_key.clone();
    let a = mailbox(&app.admin, "keep").await;
    let b = mailbox(&app.admin, "other").await;
    let sent = app.admin.send_message(a.id, &text_message(&["other@mailroom.localhost", "x@example.com"], "persist", "me"), Some("restart-key")).await.unwrap();
    let raw = app.admin.get_raw_message(sent.id).await.unwrap();
    let events = app.admin.list_events(None, None).await.unwrap().items.len();

    let app = app.restart().await;
    assert_eq!(app.admin_key, key, "the admin key is kept, not regenerated");
    assert_eq!(app.admin.get_mailbox(a.id).await.unwrap().address, a.address);
    assert_eq!(app.admin.get_raw_message(sent.id).await.unwrap(), raw);
    assert_eq!(app.admin.list_messages(b.id, &MessageQuery::default()).await.unwrap().items.len(), 1);
    assert_eq!(app.admin.get_thread(sent.thread_id).await.unwrap().messages.len(), 1);
    assert_eq!(app.admin.list_events(None, None).await.unwrap().items.len(), events);
    let m = app.admin.get_message(sent.id).await.unwrap();
    assert_eq!(m.recipients.iter().find(|r| r.address.as_str() == "x@example.com").unwrap().status, DeliveryStatus::Queued, "queued mail survives");
    // Idempotency keys survive too.
    let again = app.admin.send_message(a.id, &text_message(&["other@mailroom.localhost", "x@example.com"], "persist", "me"), Some("restart-key")).await.unwrap();
    assert_eq!(again, sent);
}

#[tokio::test]
async fn configured_admin_key_is_accepted() {
    let app = spawn_app_with(|c| c.admin_api_key = Some("mr_configured_admin_key_0123456789".into())).await;
    let c = app.client("mr_configured_admin_key_0123456789");
    assert_eq!(c.list_sites().await.unwrap().items.len(), 1);
    assert!(!app.config.data_dir.join("admin-api-key").exists(), "no key is generated when one is configured");
}

#[tokio::test]
async fn large_attachments_go_to_files_and_small_ones_stay_in_the_database() {
    let app = spawn_app().await;
    let c = &app.admin;
    let a = mailbox(c, "a").await;
    let b = mailbox(c, "b").await;
    let big: Vec<u8> = (0..400 * 1024).map(|i| (i % 251) as u8).collect();
    let req = SendMessageRequest {
        attachments: vec![
            AttachmentInput { attachment_id: None, filename: "big.bin".into(), content_type: Some("application/octet-stream".into()), content_base64: base64::engine::general_purpose::STANDARD.encode(&big), content_id: None },
            AttachmentInput { attachment_id: None, filename: "small.txt".into(), content_type: Some("text/plain".into()), content_base64: base64::engine::general_purpose::STANDARD.encode(b"hello"), content_id: None },
        ],
        ..text_message(&["b@mailroom.localhost"], "sizes", "see attached")
    };
    c.send_message(a.id, &req, None).await.unwrap();
    let got = &c.list_messages(b.id, &MessageQuery::default()).await.unwrap().items[0];
    let big_att = got.attachments.iter().find(|x| x.filename.as_deref() == Some("big.bin")).unwrap();
    let small_att = got.attachments.iter().find(|x| x.filename.as_deref() == Some("small.txt")).unwrap();
    assert_eq!(c.get_attachment(big_att.id).await.unwrap().2.to_vec(), big);
    assert_eq!(&c.get_attachment(small_att.id).await.unwrap().2[..], b"hello");
    // The delivered copy shares the sender's blobs, which are named after the sender's attachments.
    let sent = &c.list_messages(a.id, &MessageQuery::default()).await.unwrap().items[0];
    let sent_big = sent.attachments.iter().find(|x| x.filename.as_deref() == Some("big.bin")).unwrap();
    let sent_small = sent.attachments.iter().find(|x| x.filename.as_deref() == Some("small.txt")).unwrap();
    let files: Vec<_> = std::fs::read_dir(app.config.data_dir.join("blobs/attachments")).map(|d| d.flatten().map(|e| e.file_name()).collect()).unwrap_or_default();
    assert!(files.iter().any(|f| f.to_string_lossy() == sent_big.id.to_string()), "the large attachment is a file: {files:?}");
    assert!(!files.iter().any(|f| f.to_string_lossy() == sent_small.id.to_string()), "the small one lives in the database");
    assert_eq!(files.len(), 1, "one file for both copies: {files:?}");
    // Deleting one copy keeps the blobs the other refers to; deleting both removes them.
    c.delete_message(got.id).await.unwrap();
    assert_api_error(c.get_attachment(big_att.id).await, 404, "not_found");
    assert_eq!(c.get_attachment(sent_big.id).await.unwrap().2.to_vec(), big);
    c.delete_message(sent.id).await.unwrap();
    assert_api_error(c.get_attachment(sent_big.id).await, 404, "not_found");
    assert!(!app.config.data_dir.join("blobs/attachments").join(sent_big.id.to_string()).exists());
}

#[tokio::test]
async fn forwarding_quotes_the_original_and_keeps_its_attachments() {
    let app = spawn_app().await;
    let c = &app.admin;
    let alice = mailbox(c, "alice").await;
    let bob = mailbox(c, "bob").await;
    let carol = mailbox(c, "carol").await;
    let pdf = b"%PDF-1.4 \x00\x01 quarterly".to_vec();
    let png = b"\x89PNG\r\n\x1a\n tiny".to_vec();
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    let req = SendMessageRequest {
        to: vec![bob.address.to_string()],
        cc: vec!["ext@example.com".into()],
        subject: "Q3 report".into(),
        text: Some("The report is attached.".into()),
        html: Some("<p>The report is attached. <img src=\"cid:logo\"></p>".into()),
        attachments: vec![
            AttachmentInput { attachment_id: None, filename: "q3.pdf".into(), content_type: Some("application/pdf".into()), content_base64: b64(&pdf), content_id: None },
            AttachmentInput { attachment_id: None, filename: "logo.png".into(), content_type: Some("image/png".into()), content_base64: b64(&png), content_id: Some("logo".into()) },
        ],
        ..Default::default()
    };
    c.send_message(alice.id, &req, None).await.unwrap();
    let original = c.list_messages(bob.id, &MessageQuery::default()).await.unwrap().items.remove(0);

    let fwd = ForwardRequest { to: vec![format!("Carol <{}>", carol.address)], text: Some("Carol, FYI.\nSee below.".into()), ..Default::default() };
    let sent = c.forward(original.id, &fwd, Some("fwd-1")).await.unwrap();
    assert_ne!(sent.thread_id, original.thread_id, "a forward starts a new conversation");
    assert_eq!(sent.recipients.len(), 1);
    assert_eq!(sent.recipients[0].status, DeliveryStatus::Delivered);
    assert_eq!(c.forward(original.id, &fwd, Some("fwd-1")).await.unwrap().id, sent.id, "Idempotency-Key is honoured");

    let out = c.get_message(sent.id).await.unwrap();
    assert_eq!(out.mailbox_id, bob.id, "sent from the mailbox holding the original");
    assert_eq!(out.subject.as_deref(), Some("Fwd: Q3 report"));
    assert!(out.in_reply_to.is_none());
    let text = out.text.unwrap().replace("\r\n", "\n");
    assert!(text.starts_with("Carol, FYI.\nSee below.\n\n---------- Forwarded message ---------\n"), "{text}");
    assert!(text.contains(&format!("From: alice agent <{}>\n", alice.address)), "{text}");
    assert!(text.contains("Subject: Q3 report\n") && text.contains(&format!("To: {}", bob.address)), "{text}");
    assert!(text.contains("Cc: ext@example.com") && text.contains("Date: "), "{text}");
    assert!(text.trim_end().ends_with("The report is attached."), "{text}");
    let html = out.html.unwrap().replace("\r\n", "\n");
    assert!(html.starts_with("<div>Carol, FYI.<br>See below.</div>"), "{html}");
    assert!(html.contains(&format!("From: alice agent &lt;{}&gt;", alice.address)), "{html}");
    assert!(html.contains("<img src=\"cid:logo\">"), "{html}");

    let received = c.list_messages(carol.id, &MessageQuery::default()).await.unwrap().items.remove(0);
    assert_eq!(received.subject.as_deref(), Some("Fwd: Q3 report"));
    assert_eq!(received.attachments.len(), 2, "{:?}", received.attachments);
    let report = received.attachments.iter().find(|a| a.filename.as_deref() == Some("q3.pdf")).unwrap();
    assert_eq!(c.get_attachment(report.id).await.unwrap().2.to_vec(), pdf);
    let logo = received.attachments.iter().find(|a| a.content_id.as_deref() == Some("logo"));
    let logo = logo.expect("inline parts keep their Content-ID, so the quoted HTML still shows them");
    assert_eq!((logo.content_type.as_str(), logo.inline), ("image/png", true));
    assert_eq!(c.get_attachment(logo.id).await.unwrap().2.to_vec(), png);

    // Forwarding a forward does not stack prefixes.
    let again = c.forward(received.id, &ForwardRequest { to: vec![alice.address.to_string()], ..Default::default() }, None).await.unwrap();
    let again = c.get_message(again.id).await.unwrap();
    assert_eq!(again.subject.as_deref(), Some("Fwd: Q3 report"));
    assert!(again.text.unwrap().starts_with("---------- Forwarded message ---------"));

    // Errors: no recipient, a bad address, an unknown field, another site's message.
    let path = format!("/v1/messages/{}/forward", original.id);
    let check = |r: mailroom_client::RawResponse, status: u16, code: &str| {
        assert_eq!(r.status, status, "{}", r.text());
        assert_eq!(r.json::<serde_json::Value>().unwrap()["error"]["code"], code);
    };
    check(c.raw_request(Method::POST, &path, Some(json!({"text": "x"})), &[]).await.unwrap(), 422, "validation_error");
    check(c.raw_request(Method::POST, &path, Some(json!({"to": ["nope"]})), &[]).await.unwrap(), 422, "invalid_email_address");
    check(c.raw_request(Method::POST, &path, Some(json!({"to": ["a@x.test"], "subject": "s"})), &[]).await.unwrap(), 400, "unknown_field");
    let (_, other) = app.site_client("other").await;
    assert_api_error(other.forward(original.id, &ForwardRequest { to: vec!["a@x.test".into()], ..Default::default() }, None).await, 404, "not_found");
}

/// Every creating route honours `Idempotency-Key`: the same key and body answer the first
/// answer again (marked `idempotent-replayed`) without creating a second record, and the same
/// key with another body is refused.
#[tokio::test]
async fn creating_routes_replay_the_first_answer_for_the_same_idempotency_key() {
    let app = spawn_app_with(|c| c.security.allow_private_targets = true).await;
    let (site, c) = app.site_client("idem").await;
    let twice = |path: &'static str, body: serde_json::Value, key: &'static str| {
        let c = c.clone();
        async move {
            let first = c.raw_request(Method::POST, path, Some(body.clone()), &[("Idempotency-Key", key)]).await.unwrap();
            let second = c.raw_request(Method::POST, path, Some(body), &[("Idempotency-Key", key)]).await.unwrap();
            assert!((200..300).contains(&first.status), "{path}: {}", first.text());
            assert_eq!((first.status, &first.body), (second.status, &second.body), "{path}: the replay is the first answer");
            assert_eq!(first.header("idempotent-replayed"), None);
            assert_eq!(second.header("idempotent-replayed"), Some("true"), "{path}");
            first.json::<serde_json::Value>().unwrap()
        }
    };
    let count = |path: &'static str| {
        let c = c.clone();
        async move {
            let r = c.raw_request(Method::GET, path, None, &[]).await.unwrap();
            r.json::<serde_json::Value>().unwrap()["items"].as_array().unwrap().len()
        }
    };

    // Webhook endpoints: one endpoint, and the replay carries the same secret.
    let hook = twice("/v1/webhooks", json!({"url": "http://127.0.0.1:9/hook"}), "wh-1").await;
    assert!(hook["secret"].as_str().is_some_and(|s| s.starts_with("whsec_")));
    assert_eq!(count("/v1/webhooks").await, 1);
    let other = c.raw_request(Method::POST, "/v1/webhooks", Some(json!({"url": "http://127.0.0.1:9/other"})), &[("Idempotency-Key", "wh-1")]).await.unwrap();
    assert_eq!(other.status, 422, "{}", other.text());
    assert_eq!(other.json::<serde_json::Value>().unwrap()["error"]["code"], "idempotency_key_reused");
    assert_eq!(count("/v1/webhooks").await, 1);

    // API keys: one key more, not two.
    let before = count("/v1/api-keys").await;
    let key = twice("/v1/api-keys", json!({"name": "ci"}), "key-1").await;
    assert_eq!(count("/v1/api-keys").await, before + 1, "{key}");
    // The kept answers hold those secrets sealed: neither is anywhere in the database's files.
    let secrets = [hook["secret"].as_str().unwrap().to_string(), key["key"].as_str().expect("the new key's secret").to_string()];
    for entry in std::fs::read_dir(&app.config.data_dir).unwrap() {
        let path = entry.unwrap().path();
        if path.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with("mailroom.db")) {
            let bytes = std::fs::read(&path).unwrap();
            for secret in &secrets {
                assert!(!bytes.windows(secret.len()).any(|w| w == secret.as_bytes()), "{secret} is in clear in {}", path.display());
            }
        }
    }

    // A tool config name is unique: without the key the second create is a 409.
    twice("/v1/tool-configs", json!({"name": "followup", "tool": "send_one_to_one_email", "prompt": "Follow up."}), "tc-1").await;
    assert_eq!(count("/v1/tool-configs").await, 1);

    // Contacts: the replay answers 201 again (a second upsert without the key would be 200).
    let contact = twice("/v1/contacts", json!({"email": "pat@example.org", "name": "Pat"}), "ct-1").await;
    assert_eq!(count("/v1/contacts").await, 1, "{contact}");

    // Lists, suppressions, domains, team members, secure tokens.
    twice("/v1/lists", json!({"direction": "send", "kind": "block", "entry": "spam.example"}), "ls-1").await;
    assert_eq!(count("/v1/lists").await, 1);
    twice("/v1/suppressions", json!({"address": "gone@example.org"}), "sp-1").await;
    twice("/v1/domains", json!({"name": "idem.example"}), "dm-1").await;
    assert_eq!(count("/v1/domains").await, 1);

    // Uploads (raw bytes): the same key answers the same upload; without a key, a new one.
    let upload = |key: Option<&'static str>| {
        let c = c.clone();
        async move {
            let mut headers = vec![("content-type", "text/plain")];
            if let Some(k) = key {
                headers.push(("Idempotency-Key", k));
            }
            let r = c.raw_request_bytes(Method::POST, "/v1/attachments?filename=a.txt", Some("hello".into()), &headers).await.unwrap();
            assert_eq!(r.status, 201, "{}", r.text());
            r.json::<serde_json::Value>().unwrap()["id"].as_str().unwrap().to_string()
        }
    };
    assert_eq!(upload(Some("up-1")).await, upload(Some("up-1")).await);
    assert_ne!(upload(None).await, upload(None).await);

    // Imports: the replay is the first answer (201), not "already there" (200).
    let mb: serde_json::Value = c.raw_request(Method::POST, "/v1/mailboxes", Some(json!({"username": "imports"})), &[]).await.unwrap().json().unwrap();
    let path = format!("/v1/mailboxes/{}/import", mb["id"].as_str().unwrap());
    let raw = "From: a@example.org\r\nTo: imports@mailroom.localhost\r\nSubject: old\r\nMessage-ID: <old-1@example.org>\r\n\r\nold mail\r\n";
    let import = |key: &'static str| {
        let (c, path) = (c.clone(), path.clone());
        async move { c.raw_request_bytes(Method::POST, &path, Some(raw.into()), &[("content-type", "message/rfc822"), ("Idempotency-Key", key)]).await.unwrap() }
    };
    let (first, second) = (import("im-1").await, import("im-1").await);
    assert_eq!((first.status, second.status), (201, 201), "{}", second.text());
    assert_eq!(first.body, second.body);
    assert_eq!(import("im-2").await.status, 200, "a new key: the message is there already");

    // The agent tools: a run replayed is the first run (one tool run recorded); a refused run
    // is not kept, so its retry runs (and is recorded) again.
    let settings = c.raw_request(Method::PUT, "/v1/settings", Some(json!({})), &[]).await.unwrap();
    assert_eq!(settings.status, 200, "{}", settings.text());
    let skipped = json!({"email": "gone@example.org", "subject": "Hello", "message": "Hi", "site_id": site.id.to_string()});
    let runs_before = count("/v1/tool-runs").await;
    let a = c.raw_request(Method::POST, "/v1/tools/send_email/invoke", Some(skipped.clone()), &[("Idempotency-Key", "tool-1")]).await.unwrap();
    let b = c.raw_request(Method::POST, "/v1/tools/send_email/invoke", Some(skipped), &[("Idempotency-Key", "tool-1")]).await.unwrap();
    assert_eq!(a.status, 200, "suppressed: skipped; {}", a.text());
    assert_eq!((a.status, &a.body), (b.status, &b.body));
    assert_eq!(b.header("idempotent-replayed"), Some("true"));
    assert_eq!(count("/v1/tool-runs").await, runs_before + 1, "the replay ran nothing");
    let refused = json!({"email": "not-an-address", "subject": "s", "message": "m", "site_id": site.id.to_string()});
    for _ in 0..2 {
        let r = c.raw_request(Method::POST, "/v1/send-email", Some(refused.clone()), &[("Idempotency-Key", "tool-2")]).await.unwrap();
        assert_eq!((r.status, r.header("idempotent-replayed")), (400, None), "{}", r.text());
    }
    assert_eq!(count("/v1/tool-runs").await, runs_before + 3);
}
