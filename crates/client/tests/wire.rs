//! What the client puts on the wire and how it reads answers, checked against a canned
//! HTTP responder on a real socket. The real server is tested through this client elsewhere;
//! these tests pin the client's own half without needing it.

use mailroom_client::{Client, ClientError, Method};
use mailroom_core::api::{
    CreateDomainRequest, CreateMailboxRequest, CreateSuppressionRequest, CreateWebhookRequest, MessageQuery,
    SendMessageRequest, UpdateWebhookRequest,
};
use mailroom_core::ids::{AttachmentId, DomainId, MailboxId, MessageId, SiteId, WebhookId};
use mailroom_core::model::{DeliveryStatus, WebhookDeliveryStatus};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

/// One request as the responder received it.
#[derive(Debug)]
struct Seen {
    request_line: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// Starts a responder that answers each connection with the next canned response and
/// reports what it received.
async fn responder(answers: Vec<String>) -> (String, mpsc::UnboundedReceiver<Seen>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        for answer in answers {
            let (mut sock, _) = listener.accept().await.unwrap();
            let mut buf = Vec::new();
            let header_end = loop {
                let mut chunk = [0u8; 4096];
                let n = sock.read(&mut chunk).await.unwrap();
                assert!(n > 0, "connection closed before the request was complete");
                buf.extend_from_slice(&chunk[..n]);
                if let Some(pos) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                    break pos + 4;
                }
            };
            let head = String::from_utf8(buf[..header_end].to_vec()).unwrap();
            let mut lines = head.split("\r\n").filter(|l| !l.is_empty());
            let request_line = lines.next().unwrap().to_string();
            let headers: Vec<(String, String)> = lines
                .map(|l| {
                    let (k, v) = l.split_once(':').unwrap();
                    (k.trim().to_string(), v.trim().to_string())
                })
                .collect();
            let len = headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
                .map(|(_, v)| v.parse::<usize>().unwrap())
                .unwrap_or(0);
            while buf.len() < header_end + len {
                let mut chunk = [0u8; 4096];
                let n = sock.read(&mut chunk).await.unwrap();
                buf.extend_from_slice(&chunk[..n]);
            }
            let body = buf[header_end..header_end + len].to_vec();
            sock.write_all(answer.as_bytes()).await.unwrap();
            sock.shutdown().await.ok();
            tx.send(Seen { request_line, headers, body }).unwrap();
        }
    });
    (url, rx)
}

fn answer(status: &str, content_type: &str, extra: &str, body: &str) -> String {
    format!(
        "HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n{extra}\r\n{body}",
        body.len()
    )
}

const MAILBOX: &str = r#"{"id":"0190f5a0-0000-7000-8000-000000000001","site_id":"0190f5a0-0000-7000-8000-000000000002",
"address":"bot@example.test","display_name":null,"client_id":"c1",
"created_at":"2026-01-01T00:00:00Z","updated_at":"2026-01-01T00:00:00Z"}"#;

#[tokio::test]
async fn api_errors_are_parsed_and_the_key_is_sent() {
    let body = r#"{"error":{"code":"not_found","message":"No mailbox has this id."}}"#;
    let (url, mut seen) = responder(vec![answer("404 Not Found", "application/json", "", body)]).await;
    let client = Client::new(&url, "mr_secret").unwrap();
    let id = MailboxId::new();
    let err = client.get_mailbox(id).await.unwrap_err();
    match &err {
        ClientError::Api { status, code, message } => {
            assert_eq!((*status, code.as_str(), message.as_str()), (404, "not_found", "No mailbox has this id."));
        }
        other => panic!("unexpected {other:?}"),
    }
    let req = seen.recv().await.unwrap();
    assert_eq!(req.request_line, format!("GET /v1/mailboxes/{id} HTTP/1.1"));
    assert_eq!(req.header("authorization"), Some("Bearer mr_secret"));
}

#[tokio::test]
async fn mailbox_creation_tells_new_from_existing() {
    let (url, mut seen) = responder(vec![
        answer("201 Created", "application/json", "", MAILBOX),
        answer("200 OK", "application/json", "", MAILBOX),
    ])
    .await;
    let client = Client::new(&url, "k").unwrap();
    let req = CreateMailboxRequest { username: "bot".into(), client_id: Some("c1".into()), ..Default::default() };
    let (first, created) = client.create_mailbox_with_status(&req).await.unwrap();
    assert!(created);
    let (again, created) = client.create_mailbox_with_status(&req).await.unwrap();
    assert!(!created);
    assert_eq!(first, again);
    let sent = seen.recv().await.unwrap();
    assert_eq!(sent.request_line, "POST /v1/mailboxes HTTP/1.1");
    assert_eq!(sent.header("content-type"), Some("application/json"));
    let json: serde_json::Value = serde_json::from_slice(&sent.body).unwrap();
    assert_eq!(json, serde_json::json!({"username": "bot", "client_id": "c1"}));
}

#[tokio::test]
async fn sends_carry_the_idempotency_key() {
    let id = MessageId::new();
    let reply = format!(
        r#"{{"id":"{id}","thread_id":"0190f5a0-0000-7000-8000-000000000003","message_id":"x@example.test",
        "recipients":[{{"address":"a@example.com","status":"queued"}}]}}"#
    );
    let (url, mut seen) = responder(vec![answer("202 Accepted", "application/json", "", &reply)]).await;
    let client = Client::new(&url, "k").unwrap();
    let mailbox = MailboxId::new();
    let req = SendMessageRequest { to: vec!["a@example.com".into()], subject: "Hi".into(), ..Default::default() };
    let sent = client.send_message(mailbox, &req, Some("send-1")).await.unwrap();
    assert_eq!(sent.id, id);
    let wire = seen.recv().await.unwrap();
    assert_eq!(wire.request_line, format!("POST /v1/mailboxes/{mailbox}/messages HTTP/1.1"));
    assert_eq!(wire.header("idempotency-key"), Some("send-1"));
}

#[tokio::test]
async fn message_lists_send_their_filters() {
    let (url, mut seen) = responder(vec![answer("200 OK", "application/json", "", r#"{"items":[]}"#)]).await;
    let client = Client::new(&url, "k").unwrap();
    let mailbox = MailboxId::new();
    let query = MessageQuery { unread: Some(true), limit: Some(2), ..Default::default() };
    let page = client.list_messages(mailbox, &query).await.unwrap();
    assert!(page.items.is_empty() && page.next_cursor.is_none());
    let wire = seen.recv().await.unwrap();
    assert_eq!(wire.request_line, format!("GET /v1/mailboxes/{mailbox}/messages?unread=true&limit=2 HTTP/1.1"));
}

const DOMAIN: &str = r#"{"id":"0190f5a0-0000-7000-8000-000000000005","site_id":"0190f5a0-0000-7000-8000-000000000002",
"name":"agents.example.com","dkim":[{"selector":"mailroom-ed25519","algorithm":"ed25519","public_key":"AAAA"}],
"created_at":"2026-01-01T00:00:00Z"}"#;

#[tokio::test]
async fn domains_are_created_listed_and_their_records_read() {
    let dns = r#"{"domain":"agents.example.com","records":[
        {"type":"MX","name":"agents.example.com","value":"10 mx.example.net.","purpose":"Routes mail."}]}"#;
    let (url, mut seen) = responder(vec![
        answer("201 Created", "application/json", "", DOMAIN),
        answer("200 OK", "application/json", "", &format!(r#"{{"items":[{DOMAIN}]}}"#)),
        answer("200 OK", "application/json", "", dns),
        answer("204 No Content", "application/json", "", ""),
    ])
    .await;
    let client = Client::new(&url, "k").unwrap();
    let site = SiteId::new();
    let domain = client
        .create_domain(&CreateDomainRequest { name: "agents.example.com".into(), site_id: Some(site) })
        .await
        .unwrap();
    assert_eq!(domain.name, "agents.example.com");
    assert_eq!(domain.dkim[0].selector, "mailroom-ed25519");
    let wire = seen.recv().await.unwrap();
    assert_eq!(wire.request_line, "POST /v1/domains HTTP/1.1");
    let json: serde_json::Value = serde_json::from_slice(&wire.body).unwrap();
    assert_eq!(json, serde_json::json!({"name": "agents.example.com", "site_id": site}));

    assert_eq!(client.list_domains().await.unwrap().items, vec![domain.clone()]);
    assert_eq!(seen.recv().await.unwrap().request_line, "GET /v1/domains HTTP/1.1");

    let records = client.domain_dns(domain.id).await.unwrap();
    assert_eq!(records.records[0].record_type, "MX");
    assert_eq!(seen.recv().await.unwrap().request_line, format!("GET /v1/domains/{}/dns HTTP/1.1", domain.id));

    let gone = DomainId::new();
    client.delete_domain(gone).await.unwrap();
    assert_eq!(seen.recv().await.unwrap().request_line, format!("DELETE /v1/domains/{gone} HTTP/1.1"));
}

#[tokio::test]
async fn suppressions_encode_the_address_in_the_path() {
    let entry = r#"{"site_id":"0190f5a0-0000-7000-8000-000000000002","address":"bob+news@example.com",
        "reason":"manual","detail":null,"created_at":"2026-01-01T00:00:00Z"}"#;
    let (url, mut seen) = responder(vec![
        answer("201 Created", "application/json", "", entry),
        answer(
            "200 OK",
            "application/json",
            "",
            &format!(r#"{{"items":[{entry}],"next_cursor":"bob+news@example.com"}}"#),
        ),
        answer("204 No Content", "application/json", "", ""),
        answer("204 No Content", "application/json", "", ""),
    ])
    .await;
    let client = Client::new(&url, "k").unwrap();
    let added = client
        .add_suppression(&CreateSuppressionRequest { address: "bob+news@example.com".into(), ..Default::default() })
        .await
        .unwrap();
    assert_eq!(added.address.to_string(), "bob+news@example.com");
    let wire = seen.recv().await.unwrap();
    assert_eq!(wire.request_line, "POST /v1/suppressions HTTP/1.1");
    let json: serde_json::Value = serde_json::from_slice(&wire.body).unwrap();
    assert_eq!(json, serde_json::json!({"address": "bob+news@example.com"}));

    let page = client.list_suppressions(Some("a+b@x.test"), Some(1)).await.unwrap();
    assert_eq!(page.next_cursor.as_deref(), Some("bob+news@example.com"));
    assert_eq!(seen.recv().await.unwrap().request_line, "GET /v1/suppressions?cursor=a%2Bb%40x.test&limit=1 HTTP/1.1");

    client.remove_suppression("bob+news@example.com").await.unwrap();
    assert_eq!(seen.recv().await.unwrap().request_line, "DELETE /v1/suppressions/bob%2Bnews%40example.com HTTP/1.1");

    let site = SiteId::new();
    client.remove_suppression_in_site(Some(site), "x@y.test").await.unwrap();
    assert_eq!(
        seen.recv().await.unwrap().request_line,
        format!("DELETE /v1/suppressions/x%40y.test?site_id={site} HTTP/1.1")
    );
}

#[tokio::test]
async fn the_queue_is_listed_and_recipients_retried_or_cancelled() {
    let id = MessageId::new();
    let entry = format!(
        r#"{{"message_id":"{id}","site_id":"0190f5a0-0000-7000-8000-000000000002","address":"a+b@example.com",
        "kind":"to","status":"deferred","attempts":2,"next_attempt_at":"2026-01-01T00:10:00Z",
        "last_reply":"451 try later","updated_at":"2026-01-01T00:00:00Z"}}"#
    );
    let message = format!(
        r#"{{"id":"{id}","site_id":"0190f5a0-0000-7000-8000-000000000002",
        "mailbox_id":"0190f5a0-0000-7000-8000-000000000001","thread_id":"0190f5a0-0000-7000-8000-000000000003",
        "direction":"outbound","snippet":"","size":10,"read":true,"created_at":"2026-01-01T00:00:00Z",
        "recipients":[{{"address":"a+b@example.com","kind":"to","status":"queued","attempts":2,
        "updated_at":"2026-01-01T00:00:00Z"}}]}}"#
    );
    let (url, mut seen) = responder(vec![
        answer("200 OK", "application/json", "", &format!(r#"{{"items":[{entry}]}}"#)),
        answer("200 OK", "application/json", "", &message),
        answer("200 OK", "application/json", "", &message),
    ])
    .await;
    let client = Client::new(&url, "k").unwrap();
    let page = client.list_queue(Some("queued,deferred"), Some(10)).await.unwrap();
    assert_eq!(page.items[0].status, DeliveryStatus::Deferred);
    assert_eq!(page.items[0].attempts, 2);
    assert_eq!(seen.recv().await.unwrap().request_line, "GET /v1/queue?status=queued%2Cdeferred&limit=10 HTTP/1.1");

    let m = client.retry_recipient(id, "a+b@example.com").await.unwrap();
    assert_eq!(m.recipients[0].status, DeliveryStatus::Queued);
    assert_eq!(
        seen.recv().await.unwrap().request_line,
        format!("POST /v1/messages/{id}/recipients/a%2Bb%40example.com/retry HTTP/1.1")
    );
    client.cancel_recipient(id, "a+b@example.com").await.unwrap();
    assert_eq!(
        seen.recv().await.unwrap().request_line,
        format!("POST /v1/messages/{id}/recipients/a%2Bb%40example.com/cancel HTTP/1.1")
    );
}

#[tokio::test]
async fn attachments_and_raw_messages_come_back_as_bytes() {
    let (url, _seen) = responder(vec![
        answer("200 OK", "application/pdf", "content-disposition: attachment; filename=\"r.pdf\"\r\n", "%PDF-1"),
        answer("200 OK", "message/rfc822", "", "Subject: x\r\n\r\nbody\r\n"),
    ])
    .await;
    let client = Client::new(&url, "k").unwrap();
    let (content_type, name, bytes) = client.get_attachment(AttachmentId::new()).await.unwrap();
    assert_eq!(
        (content_type.as_str(), name.as_deref(), &bytes[..]),
        ("application/pdf", Some("r.pdf"), &b"%PDF-1"[..])
    );
    let raw = client.get_raw_message(MessageId::new()).await.unwrap();
    assert_eq!(&raw[..], b"Subject: x\r\n\r\nbody\r\n");
}

#[tokio::test]
async fn readiness_failures_still_return_the_checks() {
    let body = r#"{"status":"unavailable","checks":{"database":"connection refused"}}"#;
    let (url, _seen) = responder(vec![answer("503 Service Unavailable", "application/json", "", body)]).await;
    let health = Client::new(&url, "k").unwrap().ready().await.unwrap();
    assert_eq!(health.status, "unavailable");
    assert_eq!(health.checks["database"], "connection refused");
}

#[tokio::test]
async fn unexpected_success_bodies_are_decode_errors() {
    let (url, _seen) = responder(vec![answer("200 OK", "application/json", "", r#"{"items":"nope"}"#)]).await;
    let err = Client::new(&url, "k").unwrap().list_sites().await.unwrap_err();
    assert!(matches!(&err, ClientError::Decode { request, .. } if request == "GET /v1/sites"), "{err:?}");
}

#[tokio::test]
async fn raw_requests_send_anything_and_return_everything() {
    let body = r#"{"error":{"code":"invalid_json","message":"The body is not valid JSON."}}"#;
    let (url, mut seen) = responder(vec![
        answer("400 Bad Request", "application/json", "x-request-id: r1\r\n", body),
        answer("401 Unauthorized", "application/json", "", body),
    ])
    .await;
    let client = Client::new(&url, "k").unwrap();
    let resp = client
        .raw_request_bytes(Method::POST, "/v1/sites", Some("{not json".into()), &[("content-type", "application/json")])
        .await
        .unwrap();
    assert_eq!(resp.status, 400);
    assert_eq!(resp.header("x-request-id"), Some("r1"));
    let parsed: mailroom_core::api::ErrorBody = resp.json().unwrap();
    assert_eq!(parsed.error.code, "invalid_json");
    let wire = seen.recv().await.unwrap();
    assert_eq!(wire.body, b"{not json");
    assert_eq!(wire.header("authorization"), Some("Bearer k"));

    // An Authorization header of the caller's replaces the client's key.
    let resp = client
        .raw_request(Method::GET, "/v1/sites", Some(serde_json::json!({"x": 1})), &[("Authorization", "Bearer wrong")])
        .await
        .unwrap();
    assert_eq!(resp.status, 401);
    let wire = seen.recv().await.unwrap();
    assert_eq!(wire.header("authorization"), Some("Bearer wrong"));
    assert_eq!(wire.headers.iter().filter(|(k, _)| k.eq_ignore_ascii_case("authorization")).count(), 1);
    assert_eq!(wire.header("content-type"), Some("application/json"));
}

#[tokio::test]
async fn an_unreachable_server_is_a_transport_error_that_says_what_to_check() {
    // Bind and drop a listener so the port is (almost certainly) closed.
    let port = TcpListener::bind("127.0.0.1:0").await.unwrap().local_addr().unwrap().port();
    let client = Client::new(&format!("http://127.0.0.1:{port}"), "k").unwrap();
    let err = client.health().await.unwrap_err();
    assert!(matches!(err, ClientError::Transport(_)), "{err:?}");
    let text = err.to_string();
    assert!(text.contains(&format!("could not be reached at http://127.0.0.1:{port}")), "{text}");
    assert!(text.contains("MAILROOM_URL") && text.contains("mailroom serve"), "{text}");
}

const MESSAGE_ID: &str = "0190f5a0-0000-7000-8000-00000000000a";

fn inbound_message() -> String {
    format!(
        r#"{{"id":"{MESSAGE_ID}","site_id":"0190f5a0-0000-7000-8000-000000000002",
        "mailbox_id":"0190f5a0-0000-7000-8000-000000000001","thread_id":"0190f5a0-0000-7000-8000-000000000003",
        "direction":"inbound","subject":"Hi","snippet":"","size":10,"read":false,"created_at":"2026-01-01T00:00:00Z"}}"#
    )
}

#[tokio::test]
async fn waiting_for_a_message_returns_it_or_nothing_at_the_timeout() {
    let arrived = format!(r#"{{"cursor":"77","message":{}}}"#, inbound_message());
    let (url, mut seen) = responder(vec![
        answer("200 OK", "application/json", "", &arrived),
        answer("204 No Content", "application/json", "", ""),
    ])
    .await;
    let client = Client::new(&url, "k").unwrap();
    let mailbox = MailboxId::new();
    let got = client.wait_for_message(mailbox, Some("76"), 30).await.unwrap().expect("a message");
    assert_eq!(got.cursor, "77");
    assert_eq!(got.message.id.to_string(), MESSAGE_ID);
    assert_eq!(
        seen.recv().await.unwrap().request_line,
        format!("GET /v1/mailboxes/{mailbox}/messages/wait?after=76&timeout=30 HTTP/1.1")
    );
    assert!(client.wait_for_message(mailbox, None, 0).await.unwrap().is_none());
    assert_eq!(
        seen.recv().await.unwrap().request_line,
        format!("GET /v1/mailboxes/{mailbox}/messages/wait?timeout=0 HTTP/1.1")
    );
}

const WEBHOOK_ID: &str = "0190f5a0-0000-7000-8000-0000000000a1";

fn endpoint(extra: &str) -> String {
    format!(
        r#"{{"id":"{WEBHOOK_ID}","site_id":"0190f5a0-0000-7000-8000-000000000002","url":"https://crm.example.com/hook",
        "event_types":["message.received"],"mailbox_id":null,"description":"CRM","enabled":true,
        "created_at":"2026-01-01T00:00:00Z","updated_at":"2026-01-01T00:00:00Z"{extra}}}"#
    )
}

#[tokio::test]
async fn webhooks_are_created_with_their_secret_listed_changed_and_deleted() {
    let with_secret = endpoint(r#","secret":"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw""#);
    let (url, mut seen) = responder(vec![
        answer("201 Created", "application/json", "", &with_secret),
        answer("200 OK", "application/json", "", &format!(r#"{{"items":[{}]}}"#, endpoint(""))),
        answer("200 OK", "application/json", "", &endpoint("")),
        answer("200 OK", "application/json", "", &endpoint("")),
        answer("204 No Content", "application/json", "", ""),
        answer("200 OK", "application/json", "", &with_secret),
    ])
    .await;
    let client = Client::new(&url, "k").unwrap();
    let id: WebhookId = WEBHOOK_ID.parse().unwrap();
    let req = CreateWebhookRequest {
        url: "https://crm.example.com/hook".into(),
        event_types: Some(vec!["message.received".into()]),
        description: Some("CRM".into()),
        enabled: Some(false),
        ..Default::default()
    };
    let created = client.create_webhook(&req).await.unwrap();
    assert_eq!(created.secret, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
    assert_eq!(created.endpoint.id, id);
    let wire = seen.recv().await.unwrap();
    assert_eq!(wire.request_line, "POST /v1/webhooks HTTP/1.1");
    let json: serde_json::Value = serde_json::from_slice(&wire.body).unwrap();
    assert_eq!(
        json,
        serde_json::json!({"url": "https://crm.example.com/hook", "event_types": ["message.received"],
            "description": "CRM", "enabled": false})
    );

    let page = client.list_webhooks().await.unwrap();
    assert_eq!(page.items, vec![created.endpoint.clone()]);
    assert_eq!(seen.recv().await.unwrap().request_line, "GET /v1/webhooks HTTP/1.1");

    assert_eq!(client.get_webhook(id).await.unwrap().url, "https://crm.example.com/hook");
    assert_eq!(seen.recv().await.unwrap().request_line, format!("GET /v1/webhooks/{id} HTTP/1.1"));

    let change = UpdateWebhookRequest { mailbox_id: Some(None), enabled: Some(true), ..Default::default() };
    client.update_webhook(id, &change).await.unwrap();
    let wire = seen.recv().await.unwrap();
    assert_eq!(wire.request_line, format!("PATCH /v1/webhooks/{id} HTTP/1.1"));
    let json: serde_json::Value = serde_json::from_slice(&wire.body).unwrap();
    assert_eq!(json, serde_json::json!({"mailbox_id": null, "enabled": true}));

    client.delete_webhook(id).await.unwrap();
    assert_eq!(seen.recv().await.unwrap().request_line, format!("DELETE /v1/webhooks/{id} HTTP/1.1"));

    let rotated = client.rotate_webhook_secret(id).await.unwrap();
    assert!(rotated.secret.starts_with("whsec_"));
    let wire = seen.recv().await.unwrap();
    assert_eq!(wire.request_line, format!("POST /v1/webhooks/{id}/rotate-secret HTTP/1.1"));
    assert!(wire.body.is_empty());
}

#[tokio::test]
async fn webhook_deliveries_are_paged_and_replays_report_what_they_queued() {
    let delivery = format!(
        r#"{{"id":"0190f5a0-0000-7000-8000-0000000000d1","endpoint_id":"{WEBHOOK_ID}",
        "site_id":"0190f5a0-0000-7000-8000-000000000002","event_id":"0190f5a0-0000-7000-8000-0000000000e1",
        "event_cursor":"42","event_type":"message.received","status":"pending","attempts":1,
        "next_attempt_at":"2026-01-01T00:00:05Z",
        "history":[{{"attempt":1,"at":"2026-01-01T00:00:00Z","status_code":500,"latency_ms":12,"error":"HTTP 500"}}],
        "created_at":"2026-01-01T00:00:00Z","updated_at":"2026-01-01T00:00:00Z"}}"#
    );
    let (url, mut seen) = responder(vec![
        answer("200 OK", "application/json", "", &format!(r#"{{"items":[{delivery}],"next_cursor":"d1"}}"#)),
        answer("202 Accepted", "application/json", "", r#"{"matched":3,"created":2,"requeued":1}"#),
        answer("202 Accepted", "application/json", "", r#"{"created":0,"requeued":0}"#),
    ])
    .await;
    let client = Client::new(&url, "k").unwrap();
    let id: WebhookId = WEBHOOK_ID.parse().unwrap();
    let page = client.list_webhook_deliveries(id, Some("d0"), Some(10)).await.unwrap();
    assert_eq!(page.next_cursor.as_deref(), Some("d1"));
    assert_eq!(page.items[0].status, WebhookDeliveryStatus::Pending);
    assert_eq!(page.items[0].history[0].status_code, Some(500));
    assert_eq!(
        seen.recv().await.unwrap().request_line,
        format!("GET /v1/webhooks/{id}/deliveries?cursor=d0&limit=10 HTTP/1.1")
    );

    let report = client.replay_webhook(id, Some("40")).await.unwrap();
    assert_eq!((report.created, report.requeued, report.matched), (2, 1, Some(3)));
    let wire = seen.recv().await.unwrap();
    assert_eq!(wire.request_line, format!("POST /v1/webhooks/{id}/replay HTTP/1.1"));
    assert_eq!(serde_json::from_slice::<serde_json::Value>(&wire.body).unwrap(), serde_json::json!({"after": "40"}));

    client.replay_webhook(id, None).await.unwrap();
    let wire = seen.recv().await.unwrap();
    assert_eq!(serde_json::from_slice::<serde_json::Value>(&wire.body).unwrap(), serde_json::json!({}));
}
