//! The MCP server through a real MCP client (rmcp) on both transports: `mailroom mcp` over
//! stdio (the built binary, pointed at a test server) and streamable HTTP at `/mcp`.
//!
//! `tools/list` is compared with the committed snapshot `tests/snapshots/mcp_tools.json`
//! (names and input schemas); run with `MAILROOM_BLESS=1` to write it anew after a deliberate
//! change, and review the diff.

mod common;

use base64::Engine as _;
use common::process::BIN;
use common::*;
use mailroom_client::Method;
use mailroom_core::api::CreateTeamMemberRequest;
use rmcp::model::{CallToolRequestParams, CallToolResult};
use rmcp::service::{RoleClient, RunningService};
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::transport::{ConfigureCommandExt, StreamableHttpClientTransport, TokioChildProcess};
use rmcp::{ServiceError, ServiceExt};
use serde_json::{Value, json};
use std::process::Stdio;
use std::time::Duration;

type McpClient = RunningService<RoleClient, ()>;

const SNAPSHOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/snapshots/mcp_tools.json");

/// Starts `mailroom mcp` with the server's URL and `key`, and connects to it over stdio.
async fn stdio(url: &str, key: &str) -> Result<McpClient, rmcp::service::ClientInitializeError> {
    let command = tokio::process::Command::new(BIN).configure(|c| {
        c.arg("mcp").env("MAILROOM_URL", url).env("MAILROOM_API_KEY", key).env("RUST_LOG", "warn");
    });
    let (transport, _) =
        TokioChildProcess::builder(command).stderr(Stdio::inherit()).spawn().expect("mailroom mcp starts");
    ().serve(transport).await
}

/// Connects to the server's `/mcp` with `key`.
async fn http(url: &str, key: &str) -> Result<McpClient, rmcp::service::ClientInitializeError> {
    let config = StreamableHttpClientTransportConfig::with_uri(format!("{url}/mcp")).auth_header(key);
    ().serve(StreamableHttpClientTransport::from_config(config)).await
}

async fn call(client: &McpClient, tool: &str, args: Value) -> CallToolResult {
    let args = args.as_object().cloned().expect("arguments are an object");
    client
        .call_tool(CallToolRequestParams::new(tool.to_string()).with_arguments(args))
        .await
        .unwrap_or_else(|e| panic!("{tool}: a protocol error instead of a result: {e}"))
}

/// Calls a tool that must succeed; returns its structured content.
async fn ok(client: &McpClient, tool: &str, args: Value) -> Value {
    let r = call(client, tool, args).await;
    let structured = r.structured_content.clone().unwrap_or_else(|| panic!("{tool}: no structured content: {r:?}"));
    assert_eq!(r.is_error, Some(false), "{tool} failed: {structured}");
    let summary = r.content.first().and_then(|c| c.as_text()).map(|t| t.text.clone()).unwrap_or_default();
    assert!(!summary.is_empty() && !summary.starts_with('{'), "{tool}: the first content is a summary: {summary}");
    structured
}

/// Calls a tool that must fail with `code`; returns the error's message.
async fn fails(client: &McpClient, tool: &str, args: Value, code: &str) -> String {
    let r = call(client, tool, args).await;
    assert_eq!(r.is_error, Some(true), "{tool} should fail with {code}: {r:?}");
    let s = r.structured_content.expect("errors carry structured content");
    assert_eq!(s["error"]["code"], code, "{s}");
    let text = r.content[0].as_text().expect("a text summary").text.clone();
    assert!(text.contains(code), "{text}");
    s["error"]["message"].as_str().expect("a message").to_string()
}

/// The names and input schemas of the tools, as the snapshot holds them.
async fn tool_schemas(client: &McpClient) -> Value {
    let tools = client.list_all_tools().await.expect("tools/list");
    Value::Array(tools.into_iter().map(|t| json!({"name": t.name, "input_schema": *t.input_schema})).collect())
}

fn check_snapshot(actual: &Value) {
    let pretty = serde_json::to_string_pretty(actual).unwrap() + "\n";
    if std::env::var_os("MAILROOM_BLESS").is_some() {
        std::fs::create_dir_all(std::path::Path::new(SNAPSHOT).parent().unwrap()).unwrap();
        std::fs::write(SNAPSHOT, &pretty).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(SNAPSHOT).expect("the snapshot exists; write it with MAILROOM_BLESS=1");
    let expected: Value = serde_json::from_str(&expected).expect("the snapshot is JSON");
    if &expected != actual {
        let dir = tempfile::tempdir().unwrap().keep();
        let path = dir.join("mcp_tools.json");
        std::fs::write(&path, &pretty).unwrap();
        panic!(
            "tools/list differs from {SNAPSHOT}; the new list is in {}: diff them, and run with MAILROOM_BLESS=1 if the change is meant",
            path.display()
        );
    }
}

#[tokio::test]
async fn tools_list_is_the_same_on_both_transports_and_matches_the_snapshot() {
    let app = spawn_app().await;
    let key = site_key(&app, "snapshot").await;
    let over_stdio = stdio(&app.url, &key).await.expect("stdio initialize");
    let over_http = http(&app.url, &key).await.expect("http initialize");

    let info = over_http.peer_info().expect("initialized");
    assert_eq!(info.server_info.as_ref().map(|i| i.name.as_str()), Some("mailroom"));
    assert!(info.capabilities.tools.is_some());
    assert!(info.instructions.as_deref().unwrap_or_default().contains("list_mailboxes"));

    let a = tool_schemas(&over_stdio).await;
    let b = tool_schemas(&over_http).await;
    assert_eq!(a, b, "both transports list the same tools");
    let names: Vec<&str> = a.as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect();
    for expected in mailroom_mcp::static_tool_names() {
        assert!(names.contains(&expected.as_str()), "{expected} is listed");
    }
    check_snapshot(&a);

    // Descriptions and hints: read tools are read-only, delete is destructive.
    let tools = over_http.list_all_tools().await.unwrap();
    let get = |n: &str| tools.iter().find(|t| t.name == n).unwrap().clone();
    assert_eq!(get("get_message").annotations.unwrap().read_only_hint, Some(true));
    assert_eq!(get("delete_mailbox").annotations.unwrap().destructive_hint, Some(true));
    assert_eq!(get("send_message").annotations.unwrap().destructive_hint, Some(false));
    assert!(tools.iter().all(|t| t.description.as_deref().is_some_and(|d| d.len() > 20)), "every tool is described");
    assert_eq!(get("send_message").input_schema["additionalProperties"], json!(false));

    over_stdio.cancel().await.unwrap();
    over_http.cancel().await.unwrap();
}

/// The content of an `<untrusted_email_content>` block (issue 18), or the text itself.
fn untrusted(v: &Value) -> String {
    let s = v.as_str().unwrap_or_default();
    let inner = match (s.find(">\n"), s.rfind("\n</untrusted_email_content>")) {
        (Some(a), Some(b)) if s.starts_with("<untrusted_email_content") && a < b => &s[a + 2..b],
        _ => s,
    };
    inner.trim().to_string()
}

/// Creates a site with a key and returns the key's secret.
async fn site_key(app: &TestApp, name: &str) -> String {
    use mailroom_core::api::{CreateApiKeyRequest, CreateSiteRequest};
    let site = app.admin.create_site(&CreateSiteRequest { name: name.into() }).await.unwrap();
    let key = app
        .admin
        .create_api_key(&CreateApiKeyRequest { name: name.into(), scope: Some("site".into()), site_id: Some(site.id) })
        .await
        .unwrap();
    key.key
}

/// Two agents talk through the tools: create mailboxes, send with an attachment, wait for the
/// mail, read it, search it, reply, find both in one thread, forward, label, and get error
/// results for a missing id and for bad arguments.
async fn conversation(mcp: &McpClient, rest: &mailroom_client::Client, tag: &str) {
    let alice = ok(mcp, "create_mailbox", json!({"username": format!("alice-{tag}"), "display_name": "Alice"})).await;
    let bob =
        ok(mcp, "create_mailbox", json!({"username": format!("bob-{tag}"), "client_id": format!("bob-{tag}")})).await;
    let again =
        ok(mcp, "create_mailbox", json!({"username": format!("bob-{tag}"), "client_id": format!("bob-{tag}")})).await;
    assert_eq!(again["id"], bob["id"], "the same client_id is the same mailbox");
    let carol = ok(mcp, "create_mailbox", json!({"username": format!("carol-{tag}")})).await;
    let listed = ok(mcp, "list_mailboxes", json!({})).await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 3, "{listed}");

    // Bob waits for mail before anything is sent; the wait blocks until Alice's message lands.
    // It starts from the log's current end, so the test does not depend on the wait reaching
    // the server before the send does.
    let events = rest.list_events(None, Some(1000)).await.unwrap();
    let head = events.items.last().map(|e| e.cursor.clone());
    let waiting = {
        let mcp = mcp.peer().clone();
        let bob_id = bob["id"].clone();
        tokio::spawn(async move {
            let args = json!({"mailbox_id": bob_id, "timeout_seconds": 30, "after": head});
            call_peer(&mcp, "wait_for_message", args).await
        })
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!waiting.is_finished(), "wait_for_message blocks while nothing arrives");
    let csv = base64::engine::general_purpose::STANDARD.encode("sku,qty\nA-1,3\n");
    let sent = ok(
        mcp,
        "send_message",
        json!({
            "mailbox_id": alice["id"], "to": [bob["address"]], "subject": format!("Order {tag}"),
            "text": "Here is the order sheet.",
            "attachments": [{"filename": "order.csv", "content_type": "text/csv", "content_base64": csv}],
            "idempotency_key": format!("order-{tag}")
        }),
    )
    .await;
    assert_eq!(sent["recipients"][0]["status"], "delivered", "{sent}");
    let resent = ok(
        mcp,
        "send_message",
        json!({
            "mailbox_id": alice["id"], "to": [bob["address"]], "subject": format!("Order {tag}"),
            "text": "Here is the order sheet.",
            "attachments": [{"filename": "order.csv", "content_type": "text/csv", "content_base64": csv}],
            "idempotency_key": format!("order-{tag}")
        }),
    )
    .await;
    assert_eq!(resent["id"], sent["id"], "the idempotency key makes a retry safe");

    let arrived = waiting.await.unwrap();
    assert_eq!(arrived.is_error, Some(false), "{arrived:?}");
    let arrived = arrived.structured_content.unwrap();
    assert_eq!(arrived["received"], true, "{arrived}");
    let received = &arrived["message"];
    assert_eq!(received["subject"], format!("Order {tag}"));
    assert_eq!(received["direction"], "inbound");
    assert_eq!(untrusted(&received["attachments"][0]["text"]), "sku,qty\nA-1,3", "text attachments are inlined: {received}");
    let received_id = received["id"].as_str().unwrap().to_string();

    // Nothing else arrives: the wait times out as a result, not an error.
    let quiet =
        ok(mcp, "wait_for_message", json!({"mailbox_id": bob["id"], "timeout_seconds": 1, "after": arrived["cursor"]}))
            .await;
    assert_eq!(quiet["received"], false);

    let full = ok(mcp, "get_message", json!({"message_id": received_id})).await;
    assert_eq!(untrusted(&full["text"]), "Here is the order sheet.");
    assert_eq!(full["from"], format!("Alice <{}>", alice["address"].as_str().unwrap()));
    assert_eq!(full["attachments"][0]["filename"], "order.csv");
    assert_eq!(untrusted(&full["attachments"][0]["text"]), "sku,qty\nA-1,3");

    let found = ok(mcp, "search_messages", json!({"mailbox_id": bob["id"], "query": "order sheet"})).await;
    assert_eq!(found["items"].as_array().unwrap().len(), 1, "{found}");
    assert_eq!(found["items"][0]["id"], received_id.as_str());
    let none = ok(mcp, "search_messages", json!({"mailbox_id": bob["id"], "query": "invoice"})).await;
    assert!(none["items"].as_array().unwrap().is_empty(), "{none}");
    let unread =
        ok(mcp, "search_messages", json!({"mailbox_id": bob["id"], "unread": true, "direction": "inbound"})).await;
    assert_eq!(unread["items"].as_array().unwrap().len(), 1, "{unread}");

    // Alice waits (from the cursor Bob's wait returned, so nothing can slip through) while Bob replies.
    let alice_waits = {
        let mcp = mcp.peer().clone();
        let alice_id = alice["id"].clone();
        let after = arrived["cursor"].clone();
        tokio::spawn(async move {
            call_peer(&mcp, "wait_for_message", json!({"mailbox_id": alice_id, "timeout_seconds": 30, "after": after}))
                .await
        })
    };
    let reply =
        ok(mcp, "reply_to_message", json!({"message_id": received_id, "text": "Got it, shipping today."})).await;
    assert_eq!(reply["recipients"][0]["status"], "delivered", "{reply}");
    let answer = alice_waits.await.unwrap().structured_content.unwrap();
    assert_eq!(answer["message"]["subject"], format!("Re: Order {tag}"), "{answer}");
    assert_eq!(answer["message"]["thread_id"], sent["thread_id"], "the reply is in Alice's thread");

    let thread = ok(mcp, "get_thread", json!({"thread_id": sent["thread_id"]})).await;
    assert_eq!(thread["message_count"], 2, "{thread}");
    let messages = thread["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 2);
    assert_eq!(messages[0]["direction"], "outbound");
    assert_eq!(messages[1]["direction"], "inbound");
    assert_eq!(untrusted(&messages[1]["text"]), "Got it, shipping today.");
    let threads = ok(mcp, "list_threads", json!({"mailbox_id": alice["id"]})).await;
    assert_eq!(threads["items"].as_array().unwrap().len(), 1, "{threads}");

    // Bob forwards the order to Carol: a new conversation with the original and its attachment.
    let fwd = ok(
        mcp,
        "forward_message",
        json!({"message_id": received_id, "to": [carol["address"]], "text": "Carol, can you pack this?"}),
    )
    .await;
    assert_ne!(fwd["thread_id"], reply["thread_id"]);
    let carol_has = ok(mcp, "search_messages", json!({"mailbox_id": carol["id"]})).await;
    let carol_msg = ok(mcp, "get_message", json!({"message_id": carol_has["items"][0]["id"]})).await;
    assert_eq!(carol_msg["subject"], format!("Fwd: Order {tag}"));
    // The new text only (issue 18): the forwarded message is history, kept in the stored body.
    assert_eq!(untrusted(&carol_msg["text"]), "Carol, can you pack this?", "{carol_msg}");
    assert_eq!(untrusted(&carol_msg["attachments"][0]["text"]), "sku,qty\nA-1,3");

    let updated =
        ok(mcp, "update_message", json!({"message_id": received_id, "read": true, "add_labels": ["orders"]})).await;
    assert_eq!((updated["read"].clone(), updated["labels"].clone()), (json!(true), json!(["orders"])));

    // Failures are error results with the REST code, naming what is wrong.
    let missing = mailroom_core::MessageId::new();
    let m = fails(mcp, "get_message", json!({"message_id": missing.to_string()}), "not_found").await;
    assert!(m.contains(&missing.to_string()), "{m}");
    fails(mcp, "get_message", json!({"message_id": "not-an-id"}), "not_found").await;
    let m = fails(mcp, "get_message", json!({"message_id": received_id, "verbose": true}), "unknown_field").await;
    assert!(m.contains("`verbose`"), "{m}");
    let m = fails(
        mcp,
        "send_message",
        json!({"mailbox_id": alice["id"], "to": "bob", "subject": "x", "text": "y"}),
        "invalid_request",
    )
    .await;
    assert!(m.starts_with("`to`"), "{m}");
    let m = fails(mcp, "send_message", json!({"mailbox_id": alice["id"], "subject": "x"}), "invalid_request").await;
    assert!(m.contains("`to`"), "{m}");
    fails(
        mcp,
        "send_message",
        json!({"mailbox_id": alice["id"], "to": ["not an address"], "subject": "x", "text": "y"}),
        "invalid_email_address",
    )
    .await;
    fails(mcp, "wait_for_message", json!({"mailbox_id": alice["id"], "timeout_seconds": 600}), "invalid_request").await;

    let deleted = ok(mcp, "delete_mailbox", json!({"mailbox_id": carol["id"]})).await;
    assert_eq!(deleted["deleted"], true);
    fails(mcp, "delete_mailbox", json!({"mailbox_id": carol["id"]}), "not_found").await;
}

/// Like [`call`], on a clone of the client, for calls running in their own task.
async fn call_peer(client: &rmcp::Peer<RoleClient>, tool: &str, args: Value) -> CallToolResult {
    let args = args.as_object().cloned().unwrap();
    client.call_tool(CallToolRequestParams::new(tool.to_string()).with_arguments(args)).await.unwrap()
}

#[tokio::test]
async fn a_conversation_over_stdio() {
    let app = spawn_app().await;
    let key = site_key(&app, "stdio").await;
    let mcp = stdio(&app.url, &key).await.expect("initialize");
    conversation(&mcp, &app.client(&key), "stdio").await;
    mcp.cancel().await.unwrap();
}

#[tokio::test]
async fn a_conversation_over_http() {
    let app = spawn_app().await;
    let key = site_key(&app, "http").await;
    let mcp = http(&app.url, &key).await.expect("initialize");
    conversation(&mcp, &app.client(&key), "http").await;
    mcp.cancel().await.unwrap();
}

#[tokio::test]
async fn keys_are_required_and_scope_what_the_tools_see() {
    let app = spawn_app().await;
    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}});
    let accept = ("accept", "application/json, text/event-stream");
    let http = reqwest::Client::new();
    let post = |key: Option<&str>| {
        let mut rb = http.post(format!("{}/mcp", app.url)).header(accept.0, accept.1).json(&init);
        if let Some(k) = key {
            rb = rb.bearer_auth(k);
        }
        rb.send()
    };
    let r = post(None).await.unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(r.json::<Value>().await.unwrap()["error"]["code"], "missing_api_key");
    let r = post(Some("mr_wrong")).await.unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(r.json::<Value>().await.unwrap()["error"]["code"], "invalid_api_key");
    let r = post(Some(&app.admin_key)).await.unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());

    // An MCP client with a bad key cannot connect, on either transport.
    assert!(http_client_fails(&app.url, "mr_wrong").await);
    assert!(stdio(&app.url, "mr_wrong").await.is_err(), "mailroom mcp refuses a wrong key at start");

    // One site's key never sees another site's mailboxes or messages through the tools.
    let (_, a) = app.site_client("a").await;
    let key_b = site_key(&app, "b").await;
    let mb = mailbox(&a, "private").await;
    let sent = a.send_message(mb.id, &text_message(&["someone@example.com"], "s", "t"), None).await.unwrap();
    let mcp = self::http(&app.url, &key_b).await.unwrap();
    let listed = ok(&mcp, "list_mailboxes", json!({})).await;
    assert!(listed["items"].as_array().unwrap().is_empty(), "{listed}");
    fails(&mcp, "get_message", json!({"message_id": sent.id.to_string()}), "not_found").await;
    fails(&mcp, "list_threads", json!({"mailbox_id": mb.id.to_string()}), "not_found").await;
    mcp.cancel().await.unwrap();
}

async fn http_client_fails(url: &str, key: &str) -> bool {
    match http(url, key).await {
        Err(_) => true,
        Ok(c) => {
            // Some clients only see the refusal on the first request after initialize.
            let r = c.list_all_tools().await;
            let _ = c.cancel().await;
            matches!(r, Err(ServiceError::McpError(_)) | Err(_))
        }
    }
}

#[tokio::test]
async fn foreign_host_headers_are_refused_unless_configured() {
    let app = spawn_app_with(|c| c.http.mcp_allowed_hosts = vec!["agents.example.com".into()]).await;
    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}});
    for (host, status) in [("agents.example.com", 200), ("evil.example", 403), ("localhost", 200)] {
        let headers = [("host", host), ("accept", "application/json, text/event-stream")];
        let r = app.admin.raw_request(Method::POST, "/mcp", Some(init.clone()), &headers).await.unwrap();
        assert_eq!(r.status, status, "Host: {host}: {}", r.text());
    }
}

/// The agent email tools come from `GET /v1/tools` and run through
/// `POST /v1/tools/{name}/invoke`; a tool config is a tool of its own, described by its prompt.
#[tokio::test]
async fn agent_tools_send_one_to_one_email_skips_an_opted_out_contact() {
    let app = spawn_app().await;
    let key = site_key(&app, "agents").await;
    let rest = app.client(&key);
    let mcp = http(&app.url, &key).await.unwrap();

    let tools = mcp.list_all_tools().await.unwrap();
    for name in ["send_email", "send_one_to_one_email", "send_information_email"] {
        let t = tools.iter().find(|t| t.name == name).unwrap_or_else(|| panic!("{name} is listed"));
        assert!(t.input_schema.contains_key("properties"), "{name} has its schema from GET /v1/tools");
    }

    let prompt = "Use after a customer asks for a callback: write a short, warm note.";
    let (status, _) = raw(
        &rest,
        Method::POST,
        "/v1/tool-configs",
        json!({"name": "callback_note", "tool": "send_one_to_one_email", "prompt": prompt}),
    )
    .await;
    assert_eq!(status, 201);
    let tools = mcp.list_all_tools().await.unwrap();
    let configured = tools.iter().find(|t| t.name == "callback_note").expect("the tool config is a tool");
    assert_eq!(configured.description.as_deref(), Some(prompt));

    let sender = mailbox(&rest, "sales").await;
    let member = rest
        .create_team_member(&CreateTeamMemberRequest {
            name: "Grace".into(),
            mailbox_id: sender.id,
            signature_html: None,
        })
        .await
        .unwrap();
    let contact = ok(
        &mcp,
        "upsert_contact",
        json!({"email": "lead@example.com", "name": "Lee", "marketing_opt_out": true, "owner_team_member_id": member.id}),
    )
    .await;
    assert_eq!(contact["marketing_opt_out"], true);
    let contacts = ok(&mcp, "list_contacts", json!({})).await;
    assert_eq!(contacts["items"][0]["id"], contact["id"]);
    let consent = ok(&mcp, "grant_consent", json!({"contact_id": contact["id"]})).await;
    assert_eq!(consent["email_subscribed"], true);

    let out = ok(
        &mcp,
        "send_one_to_one_email",
        json!({"send_to": contact["id"], "send_from": member.id, "subject": "Quick question", "body": "Hi Lee, …"}),
    )
    .await;
    assert_eq!(out["status"], "skipped", "{out}");
    assert_eq!(out["code"], "user_marketing_email_opt_out", "{out}");

    // A refusal of the tool itself is an error result with the tool's code.
    let r = call(&mcp, "send_one_to_one_email", json!({"subject": "x", "body": "y"})).await;
    assert_eq!(r.is_error, Some(true), "{r:?}");
    assert!(r.structured_content.unwrap()["error"]["code"].is_string());
    mcp.cancel().await.unwrap();
}

async fn raw(c: &mailroom_client::Client, method: Method, path: &str, body: Value) -> (u16, Value) {
    let r = c.raw_request(method, path, Some(body), &[]).await.unwrap();
    (r.status, r.json().unwrap_or(Value::Null))
}

/// Injects `raw` over SMTP from `from` to `to` at the test server; the dialogue must end 250.
async fn receive(app: &TestApp, from: &str, to: &str, raw: &str) {
    let smtp = app.server.as_ref().unwrap().smtp_addr.unwrap();
    let cmds = vec!["EHLO r.test".to_string(), format!("MAIL FROM:<{from}>"), format!("RCPT TO:<{to}>"), "DATA".into()];
    let replies = common::smtp::smtp_dialogue(smtp, &cmds, Some(raw)).await;
    assert!(replies.last().unwrap().starts_with("250"), "{replies:?}");
}

/// `list_lists` through the real client; `reply_to_message` to an auto-reply is an error
/// result `auto_reply_loop` unless `allow_auto_reply`; `stop_run` is set only when a send
/// failed under `complete_on_send_failure: false`, never for a validation failure or when the
/// run completes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lists_the_auto_reply_guard_and_stop_run_over_mcp() {
    let app = spawn_app().await;
    let key = site_key(&app, "guarded").await;
    let rest = app.client(&key);
    let mcp = http(&app.url, &key).await.unwrap();

    // list_lists: all, by direction, by mailbox; a bad direction is an error result.
    let sales = mailbox(&rest, "sales").await;
    let (s, block) = raw(&rest, Method::POST, "/v1/lists", json!({"direction": "send", "kind": "block", "entry": "rival.test", "reason": "competitor"})).await;
    assert_eq!(s, 201, "{block}");
    let (s, allow) = raw(&rest, Method::POST, "/v1/lists",
        json!({"direction": "receive", "kind": "allow", "entry": "boss@corp.test", "mailbox_id": sales.id})).await;
    assert_eq!(s, 201, "{allow}");
    let all = ok(&mcp, "list_lists", json!({})).await;
    assert_eq!(all["items"].as_array().unwrap().len(), 2, "{all}");
    let send = ok(&mcp, "list_lists", json!({"direction": "send"})).await;
    assert_eq!(send["items"].as_array().unwrap().iter().map(|e| e["id"].clone()).collect::<Vec<_>>(), vec![block["id"].clone()], "{send}");
    assert_eq!(send["items"][0]["reason"], "competitor");
    let mine = ok(&mcp, "list_lists", json!({"mailbox_id": sales.id})).await;
    assert_eq!(mine["items"].as_array().unwrap().iter().map(|e| e["entry"].clone()).collect::<Vec<_>>(), vec![json!("boss@corp.test")], "{mine}");
    fails(&mcp, "list_lists", json!({"direction": "sideways"}), "invalid_argument").await;
    fails(&mcp, "list_lists", json!({"mailbox_id": "nope"}), "not_found").await;

    // An out-of-office reply arrives; answering it is refused unless the call allows it.
    let support = mailbox(&rest, "support").await;
    let ooo = format!(
        "From: robot@remote.test\r\nTo: {}\r\nSubject: Out of office\r\nAuto-Submitted: auto-replied\r\nMessage-ID: <ooo-mcp@remote.test>\r\n\r\nAway.\r\n",
        support.address
    );
    receive(&app, "robot@remote.test", support.address.as_str(), &ooo).await;
    let (s, list) = common::call(&rest, Method::GET, &format!("/v1/mailboxes/{}/messages?direction=inbound", support.id), None).await;
    assert_eq!(s, 200, "{list}");
    let id = list["items"][0]["id"].clone();
    assert!(id.is_string(), "{list}");
    let message = ok(&mcp, "get_message", json!({"message_id": id})).await;
    assert_eq!(message["auto_submitted"], true, "{message}");
    let why = fails(&mcp, "reply_to_message", json!({"message_id": id, "text": "Thanks"}), "auto_reply_loop").await;
    assert!(why.contains("allow_auto_reply"), "{why}");
    let sent = ok(&mcp, "reply_to_message", json!({"message_id": id, "text": "Thanks, a person read this.", "allow_auto_reply": true})).await;
    assert!(sent["id"].is_string() || sent["message_id"].is_string(), "{sent}");

    // A send that fails: no SMTP credentials for the account's address, the mailbox channel
    // off. A config that must not complete on failure stops the run; the default does not.
    let member = rest
        .create_team_member(&CreateTeamMemberRequest { name: "Grace".into(), mailbox_id: sales.id, signature_html: None })
        .await
        .unwrap();
    let contact = ok(&mcp, "upsert_contact", json!({"email": "lee@customer.test", "name": "Lee", "owner_team_member_id": member.id})).await;
    let (s, _) = raw(&rest, Method::PUT, "/v1/settings",
        json!({"channels": {"agent_email": {"status": "inactive"}, "email": {"email": "nobody@guarded.test", "enabled": true}}})).await;
    assert_eq!(s, 200);
    for (name, complete) in [("critical_note", false), ("relaxed_note", true)] {
        let (s, v) = raw(&rest, Method::POST, "/v1/tool-configs", json!({"name": name, "tool": "send_one_to_one_email",
            "prompt": "Write a short note.", "settings": {"complete_on_send_failure": complete}})).await;
        assert_eq!(s, 201, "{v}");
    }
    mcp.list_all_tools().await.unwrap();
    let email = json!({"send_to": contact["id"], "subject": "Checking in", "body": "Hi Lee, how is the rollout going this week?"});
    let r = call(&mcp, "critical_note", email.clone()).await;
    assert_eq!(r.is_error, Some(true), "{r:?}");
    let s = r.structured_content.unwrap();
    assert_eq!((s["error"]["code"].as_str(), s["stop_run"].as_bool()), (Some("resend_error"), Some(true)), "{s}");
    assert!(s["error"]["message"].as_str().unwrap().contains("stop"), "{s}");
    // The same failure with the default: the tool ran, its status says failure, no stop_run.
    let out = ok(&mcp, "relaxed_note", email.clone()).await;
    assert_eq!((out["status"].as_str(), out["code"].as_str()), (Some("failure"), Some("resend_error")), "{out}");
    assert!(out.get("stop_run").is_none(), "{out}");
    // A validation failure of the strict config is an error result without stop_run.
    let r = call(&mcp, "critical_note", json!({"send_to": contact["id"], "subject": "No body"})).await;
    assert_eq!(r.is_error, Some(true), "{r:?}");
    let s = r.structured_content.unwrap();
    assert_eq!(s["error"]["code"], "validation_error", "{s}");
    assert!(s.get("stop_run").is_none(), "{s}");
    // A refusal (a blocked cc) is a skip, not a failure: no stop_run either.
    let mut blocked = email.clone();
    blocked["cc"] = json!(["ceo@rival.test"]);
    let out = ok(&mcp, "critical_note", blocked).await;
    assert_eq!((out["status"].as_str(), out["code"].as_str()), (Some("skipped"), Some("recipient_blocked")), "{out}");
    mcp.cancel().await.unwrap();
}
