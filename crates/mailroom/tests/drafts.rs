//! Drafts, scheduled sends and approvals (issue 17), end to end: the real server (in process,
//! or the binary for the SIGKILL case), a local SMTP sink as the remote MX of `ext.test`, and
//! on PostgreSQL too when `MAILROOM_TEST_POSTGRES_URL` is set.

mod common;

use common::pg::with_database;
use common::process::serve_env;
use common::*;
use mailroom::config::Config;
use mailroom_client::{Client, Method, SendResult};
use mailroom_core::api::*;
use mailroom_core::drafts::*;
use mailroom_core::*;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

// --- an SMTP sink: records each accepted copy with its recipient, Subject and time ---------

#[derive(Debug, Clone)]
struct Copy {
    rcpt: String,
    subject: String,
    at: chrono::DateTime<chrono::Utc>,
}

#[derive(Default)]
struct Sink {
    copies: Mutex<Vec<Copy>>,
}

impl Sink {
    fn with_subject(&self, subject: &str) -> Vec<Copy> {
        self.copies.lock().unwrap().iter().filter(|c| c.subject == subject).cloned().collect()
    }

    async fn wait_for(&self, subject: &str, within: Duration) -> Vec<Copy> {
        let deadline = Instant::now() + within;
        loop {
            let got = self.with_subject(subject);
            if !got.is_empty() || Instant::now() > deadline {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}

async fn start_sink() -> (Arc<Sink>, SocketAddr) {
    let sink = Arc::new(Sink::default());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let s = sink.clone();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else { return };
            tokio::spawn(sink_session(stream, s.clone()));
        }
    });
    (sink, addr)
}

async fn sink_session(stream: tokio::net::TcpStream, sink: Arc<Sink>) -> std::io::Result<()> {
    let (r, mut w) = stream.into_split();
    let mut r = BufReader::new(r);
    w.write_all(b"220 sink.test ESMTP\r\n").await?;
    let mut rcpts: Vec<String> = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        if r.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let upper = line.trim_end().to_ascii_uppercase();
        if upper.starts_with("EHLO") {
            w.write_all(b"250-sink.test\r\n250 8BITMIME\r\n").await?;
        } else if upper.starts_with("HELO") {
            w.write_all(b"250 sink.test\r\n").await?;
        } else if upper.starts_with("MAIL FROM:") {
            rcpts.clear();
            w.write_all(b"250 2.1.0 OK\r\n").await?;
        } else if upper.starts_with("RCPT TO:") {
            rcpts.push(line.trim_end()[8..].trim().trim_start_matches('<').split('>').next().unwrap_or_default().to_ascii_lowercase());
            w.write_all(b"250 2.1.5 OK\r\n").await?;
        } else if upper == "DATA" {
            w.write_all(b"354 go ahead\r\n").await?;
            let mut subject = String::new();
            let mut in_headers = true;
            loop {
                line.clear();
                if r.read_line(&mut line).await? == 0 {
                    return Ok(());
                }
                if line == ".\r\n" || line == ".\n" {
                    break;
                }
                if in_headers {
                    if line.trim_end().is_empty() {
                        in_headers = false;
                    } else if line.to_ascii_lowercase().starts_with("subject:") {
                        subject = line[8..].trim().to_string();
                    }
                }
            }
            w.write_all(b"250 2.0.0 queued\r\n").await?;
            let at = chrono::Utc::now();
            let mut copies = sink.copies.lock().unwrap();
            for rcpt in rcpts.drain(..) {
                copies.push(Copy { rcpt, subject: subject.clone(), at });
            }
        } else if upper == "QUIT" {
            w.write_all(b"221 bye\r\n").await?;
            return Ok(());
        } else {
            w.write_all(b"250 OK\r\n").await?;
        }
    }
}

// --- helpers ------------------------------------------------------------------------------

fn with_sink(c: &mut Config, sink: SocketAddr) {
    delivering(c);
    c.delivery.routes.insert("ext.test".into(), sink.to_string());
}

fn in_secs(s: f64) -> chrono::DateTime<chrono::Utc> {
    chrono::Utc::now() + chrono::Duration::milliseconds((s * 1000.0) as i64)
}

fn held(r: SendResult) -> HeldSendResponse {
    match r {
        SendResult::Held(h) => h,
        SendResult::Sent(s) => panic!("expected a held send, got {s:?}"),
    }
}

async fn event_types(c: &Client) -> Vec<String> {
    let (status, v) = call(c, Method::GET, "/v1/events?limit=1000", None).await;
    assert_eq!(status, 200, "{v}");
    v["items"].as_array().unwrap().iter().map(|e| e["type"].as_str().unwrap_or_default().to_string()).collect()
}

async fn inbox_count(c: &Client, mb: MailboxId) -> usize {
    c.list_messages(mb, &MessageQuery::default()).await.unwrap().items.len()
}

/// Runs `scenario` on SQLite, then on PostgreSQL when it is configured.
async fn on_both_stores<F, Fut>(what: &'static str, scenario: F)
where
    F: Fn(Option<String>) -> Fut + Send + Sync + Clone + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    scenario(None).await;
    let s = scenario.clone();
    with_database(what, move |url| async move { s(Some(url)).await }).await;
}

async fn app(sink: SocketAddr, database: Option<String>) -> TestApp {
    spawn_app_with(move |c| {
        with_sink(c, sink);
        if let Some(url) = database {
            c.database_url = url;
        }
    })
    .await
}

// --- drafts -------------------------------------------------------------------------------

async fn draft_scenario(database: Option<String>) {
    let (sink, addr) = start_sink().await;
    let app = app(addr, database).await;
    let (_, c) = app.site_client("drafts").await;
    let a = mailbox(&c, "writer").await;
    let b = mailbox(&c, "reader").await;

    let req = SendMessageRequest { to: vec!["bob@ext.test".into(), b.address.to_string()], ..text_message(&[], "Draft one", "first words") };
    let draft = c.create_draft(a.id, &req, None).await.unwrap();
    assert_eq!(draft.status, DraftStatus::Draft);
    assert_eq!(draft.revision, 1);
    // A draft is durable and listed, and is not delivered.
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert!(sink.with_subject("Draft one").is_empty());
    assert_eq!(inbox_count(&c, b.id).await, 0);
    let listed = c.list_drafts(a.id, None, None, None).await.unwrap();
    assert_eq!(listed.items.iter().map(|d| d.id).collect::<Vec<_>>(), vec![draft.id]);
    let (status, v) = call(&c, Method::GET, &format!("/v1/mailboxes/{}/drafts/{}", a.id, draft.id), None).await;
    assert_eq!((status, v["id"].as_str()), (200, Some(draft.id.to_string().as_str())));
    assert_api_error(c.get_message(draft.message_id).await, 404, "not_found");

    // An edit keeps the earlier content as a revision.
    let edited = c.update_draft(draft.id, &UpdateDraftRequest { text: Some("second words".into()), ..Default::default() }).await.unwrap();
    assert_eq!(edited.revision, 2);
    assert_eq!(edited.revisions[0].content.text.as_deref(), Some("first words"));

    // Sent: both the remote and the local recipient get it, with the reserved id.
    let sent = c.send_draft(draft.id, &SendDraftRequest::default(), None).await.unwrap();
    let SendResult::Sent(sent) = sent else { panic!("sent at once: {sent:?}") };
    assert_eq!(sent.id, draft.message_id);
    assert_eq!(sink.wait_for("Draft one", Duration::from_secs(10)).await.len(), 1);
    assert_eq!(inbox_count(&c, b.id).await, 1);
    let after = c.get_draft(draft.id).await.unwrap();
    assert_eq!(after.status, DraftStatus::Sent);
    assert_api_error(c.send_draft(draft.id, &SendDraftRequest::default(), None).await, 409, "draft_not_editable");
    let message = c.get_message(sent.id).await.unwrap();
    assert_eq!(message.text.as_deref().map(str::trim), Some("second words"));

    // A reply draft joins the thread of the message it answers, and its message does too.
    let received = c.list_messages(b.id, &MessageQuery::default()).await.unwrap().items.remove(0);
    let reply = SendMessageRequest { in_reply_to: Some(received.id.to_string()), ..text_message(&[a.address.as_str()], "Re: Draft one", "thanks") };
    let rd = c.create_draft(b.id, &reply, None).await.unwrap();
    assert_eq!(rd.thread_id, Some(received.thread_id));
    let SendResult::Sent(rs) = c.send_draft(rd.id, &SendDraftRequest::default(), None).await.unwrap() else { panic!("sent") };
    assert_eq!(rs.thread_id, received.thread_id);

    // Deleting a kept draft removes it; other sites never see it.
    let gone = c.create_draft(a.id, &text_message(&["x@ext.test"], "never", "x"), None).await.unwrap();
    let (_, other) = app.site_client("other").await;
    assert_api_error(other.get_draft(gone.id).await, 404, "not_found");
    assert_api_error(other.delete_draft(gone.id).await, 404, "not_found");
    c.delete_draft(gone.id).await.unwrap();
    assert_api_error(c.get_draft(gone.id).await, 404, "not_found");
    app.server.unwrap().shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_draft_is_not_delivered_until_it_is_sent() {
    on_both_stores("drafts", draft_scenario).await;
}

// --- scheduled sends ----------------------------------------------------------------------

async fn schedule_scenario(database: Option<String>) {
    let (sink, addr) = start_sink().await;
    let app = app(addr, database).await;
    let (_, c) = app.site_client("sched").await;
    let a = mailbox(&c, "planner").await;

    let due = in_secs(2.0);
    let req = SendMessageRequest { send_at: Some(due.to_rfc3339()), ..text_message(&["carol@ext.test"], "Later", "on time") };
    let h = held(c.send_or_hold(a.id, &req, None).await.unwrap());
    assert_eq!(h.status, DraftStatus::Scheduled);
    // Two more: one cancelled by its message id, one by deleting its draft.
    let c1 = held(c.send_or_hold(a.id, &SendMessageRequest { send_at: Some(due.to_rfc3339()), ..text_message(&["dan@ext.test"], "Cancelled 1", "no") }, None).await.unwrap());
    let c2 = held(c.send_or_hold(a.id, &SendMessageRequest { send_at: Some(due.to_rfc3339()), ..text_message(&["eve@ext.test"], "Cancelled 2", "no") }, None).await.unwrap());
    let cancelled = c.cancel_message(c1.id).await.unwrap();
    assert_eq!(cancelled.status, DraftStatus::Cancelled);
    c.delete_draft(c2.draft_id).await.unwrap();
    assert_eq!(c.get_draft(c2.draft_id).await.unwrap().status, DraftStatus::Cancelled);

    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert!(sink.with_subject("Later").is_empty(), "not before its time");
    assert_api_error(c.get_message(h.id).await, 404, "not_found");
    let got = sink.wait_for("Later", Duration::from_secs(8)).await;
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(got[0].at >= due, "arrived at {} before {due}", got[0].at);
    let m = c.get_message(h.id).await.unwrap();
    let lag = m.created_at - due;
    assert!(lag >= chrono::Duration::zero() && lag < chrono::Duration::milliseconds(1000), "sent {lag} after its time");
    assert_api_error(c.cancel_message(h.id).await, 409, "already_sent");
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert!(sink.with_subject("Cancelled 1").is_empty() && sink.with_subject("Cancelled 2").is_empty());
    let types = event_types(&c).await;
    assert!(types.iter().filter(|t| *t == "message.scheduled").count() >= 3, "{types:?}");
    assert_eq!(types.iter().filter(|t| *t == "message.cancelled").count(), 2, "{types:?}");
    assert_api_error(c.send_or_hold(a.id, &SendMessageRequest { send_at: Some("tomorrow".into()), ..text_message(&["x@ext.test"], "x", "x") }, None).await, 422, "invalid_send_at");
    app.server.unwrap().shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scheduled_message_arrives_after_its_time_and_a_cancelled_one_never() {
    on_both_stores("scheduled sends", schedule_scenario).await;
}

/// The binary is SIGKILLed after scheduling and started again before the time: the message
/// still arrives, once, after its time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scheduled_message_survives_sigkill_and_restart() {
    let (sink, addr) = start_sink().await;
    let dir = tempfile::tempdir().unwrap();
    let routes = format!("ext.test={addr}");
    let env = [("MAILROOM_DELIVERY_ENABLED", "true"), ("MAILROOM_DELIVERY_ROUTES", routes.as_str())];
    let served = serve_env(dir.path(), &[], &env);
    let key = std::fs::read_to_string(dir.path().join("admin-api-key")).unwrap().trim().to_string();
    let c = Client::new(&served.url, key.clone()).unwrap();
    let a = mailbox(&c, "durable").await;
    let due = in_secs(3.0);
    let h = held(c.send_or_hold(a.id, &SendMessageRequest { send_at: Some(due.to_rfc3339()), ..text_message(&["zed@ext.test"], "Survivor", "still here") }, None).await.unwrap());
    served.kill();
    let served = serve_env(dir.path(), &[], &env);
    let c = Client::new(&served.url, key).unwrap();
    assert_eq!(c.get_draft(h.draft_id).await.unwrap().status, DraftStatus::Scheduled);
    let got = sink.wait_for("Survivor", Duration::from_secs(10)).await;
    assert_eq!(got.len(), 1);
    assert!(got[0].at >= due);
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(sink.with_subject("Survivor").len(), 1, "exactly once");
    common::process::stop(served);
}

/// Two nodes on one PostgreSQL: every scheduled message is sent exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_send_each_scheduled_message_exactly_once() {
    with_database("two nodes and scheduled sends", |url| async move {
        let (sink, addr) = start_sink().await;
        const ADMIN: &str = "mr_admin_drafts_two_nodes_0123456789abcdef";
        // One blob directory for both nodes (as one S3 bucket would be).
        let blobs = tempfile::tempdir().unwrap();
        let blobs_url = format!("file://{}", blobs.path().display());
        let node = |url: String| {
            let blobs_url = blobs_url.clone();
            spawn_app_with(move |c| {
                with_sink(c, addr);
                c.database_url = url;
                c.admin_api_key = Some(ADMIN.into());
                c.blobs.url = blobs_url;
            })
        };
        let one = node(url.clone()).await;
        let two = node(url).await;
        let c1 = one.client(ADMIN);
        let c2 = two.client(ADMIN);
        let a = mailbox(&c1, "nodes").await;
        let due = in_secs(2.0);
        for i in 0..6 {
            let c = if i % 2 == 0 { &c1 } else { &c2 };
            let req = SendMessageRequest { send_at: Some(due.to_rfc3339()), ..text_message(&[&format!("n{i}@ext.test")], &format!("Node {i}"), "once") };
            held(c.send_or_hold(a.id, &req, None).await.unwrap());
        }
        for i in 0..6 {
            let got = sink.wait_for(&format!("Node {i}"), Duration::from_secs(10)).await.len();
            if got != 1 {
                let drafts = c1.list_drafts(a.id, None, None, None).await.unwrap();
                for d in drafts.items {
                    eprintln!("draft {} {:?} {:?} {:?} error={:?}", d.content.subject, d.status, d.send_at, d.message_id, d.error);
                    if let Ok(m) = c1.get_message(d.message_id).await {
                        eprintln!("  message recipients {:?}", m.recipients);
                    }
                }
            }
            assert_eq!(got, 1, "Node {i}");
        }
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let mut per: HashMap<String, usize> = HashMap::new();
        for copy in sink.copies.lock().unwrap().iter() {
            assert!(copy.at >= due);
            *per.entry(copy.rcpt.clone()).or_default() += 1;
        }
        assert_eq!(per.len(), 6);
        assert!(per.values().all(|n| *n == 1), "{per:?}");
        one.server.unwrap().shutdown().await;
        two.server.unwrap().shutdown().await;
    })
    .await;
}

// --- approvals ----------------------------------------------------------------------------

async fn approval_scenario(database: Option<String>) {
    let (sink, addr) = start_sink().await;
    let app = app(addr, database).await;
    let (site, c) = app.site_client("approvals").await;
    let a = mailbox(&c, "careful").await;
    let local = mailbox(&c, "colleague").await;
    c.update_mailbox(a.id, &UpdateMailboxRequest { approval_policy: Some(ApprovalPolicy::All), ..Default::default() }).await.unwrap();
    assert_eq!(c.mailbox_approval_policy(a.id).await.unwrap().approval_policy, ApprovalPolicy::All);

    // Held: nothing leaves, not even to a local mailbox.
    let req = SendMessageRequest { to: vec!["fay@ext.test".into(), local.address.to_string()], ..text_message(&[], "Needs a yes", "v1") };
    let (status, v) = call(&c, Method::POST, &format!("/v1/mailboxes/{}/messages", a.id), Some(serde_json::to_value(&req).unwrap())).await;
    assert_eq!((status, v["status"].as_str()), (202, Some("pending_approval")), "{v}");
    let approval_id: ApprovalId = v["approval_id"].as_str().unwrap().parse().unwrap();
    let draft_id: DraftId = v["draft_id"].as_str().unwrap().parse().unwrap();
    let rejected = held(c.send_or_hold(a.id, &text_message(&["gus@ext.test"], "Say no", "no"), None).await.unwrap());
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(sink.with_subject("Needs a yes").is_empty());
    assert_eq!(inbox_count(&c, local.id).await, 0);

    // Pending first; an edit before approval is a new revision of the same approval.
    let list = c.list_approvals(None, None).await.unwrap();
    assert_eq!(list.items.len(), 2);
    assert!(list.items.iter().all(|i| i.approval.status == ApprovalStatus::Pending));
    assert_eq!(list.items[0].approval.id, approval_id, "oldest pending first");
    let edited = c.update_draft(draft_id, &UpdateDraftRequest { text: Some("v2".into()), ..Default::default() }).await.unwrap();
    assert_eq!((edited.revision, edited.status), (2, DraftStatus::PendingApproval));

    let approved = c.approve(approval_id, Some("looks good")).await.unwrap();
    assert_eq!(approved.approval.status, ApprovalStatus::Approved);
    assert_eq!(approved.approval.revision, 2);
    assert!(approved.approval.decided_by.is_some() && approved.approval.decided_at.is_some());
    assert_eq!(sink.wait_for("Needs a yes", Duration::from_secs(10)).await.len(), 1);
    let deadline = Instant::now() + Duration::from_secs(5);
    while inbox_count(&c, local.id).await == 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(inbox_count(&c, local.id).await, 1);
    let message = c.get_message(approved.approval.message_id).await.unwrap();
    assert_eq!(message.text.as_deref().map(str::trim), Some("v2"));
    assert!(message.labels.iter().any(|l| l.starts_with("approved-by:")), "{:?}", message.labels);
    assert!(message.labels.iter().any(|l| l.starts_with("approved-at:")), "{:?}", message.labels);
    assert_api_error(c.approve(approval_id, None).await, 409, "approval_decided");

    // Rejected: never sent.
    let r = c.reject(rejected.approval_id.unwrap(), Some("not this one")).await.unwrap();
    assert_eq!((r.approval.status, r.draft.status), (ApprovalStatus::Rejected, DraftStatus::Rejected));
    assert_eq!(r.approval.note.as_deref(), Some("not this one"));
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert!(sink.with_subject("Say no").is_empty());
    assert_api_error(c.get_message(rejected.id).await, 404, "not_found");

    // A recipient suppressed between the request and the approval is not sent.
    let s = held(c.send_or_hold(a.id, &text_message(&["hal@ext.test"], "Suppressed later", "x"), None).await.unwrap());
    c.add_suppression(&CreateSuppressionRequest { address: "hal@ext.test".into(), ..Default::default() }).await.unwrap();
    assert_api_error(c.approve(s.approval_id.unwrap(), None).await, 422, "recipient_suppressed");
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert!(sink.with_subject("Suppressed later").is_empty());
    assert_eq!(c.get_approval(s.approval_id.unwrap()).await.unwrap().approval.status, ApprovalStatus::Pending);

    // First contact, set on the site: a known recipient goes at once, a new one waits.
    c.update_mailbox(a.id, &UpdateMailboxRequest { approval_policy: Some(ApprovalPolicy::None), ..Default::default() }).await.unwrap();
    app.admin.set_site_approval_policy(site.id, ApprovalPolicy::FirstContact).await.unwrap();
    let known = c.send_or_hold(a.id, &text_message(&["fay@ext.test"], "Known", "again"), None).await.unwrap();
    assert!(matches!(known, SendResult::Sent(_)), "{known:?}");
    let new = held(c.send_or_hold(a.id, &text_message(&["ida@ext.test"], "Stranger", "hello"), None).await.unwrap());
    assert_eq!(new.status, DraftStatus::PendingApproval);
    let item = c.get_approval(new.approval_id.unwrap()).await.unwrap();
    assert_eq!(item.approval.policy, ApprovalPolicy::FirstContact);
    assert_eq!(item.approval.first_contacts, vec!["ida@ext.test".to_string()]);

    let types = event_types(&c).await;
    for t in ["approval.requested", "approval.approved", "approval.rejected"] {
        assert!(types.iter().any(|x| x == t), "{t} in {types:?}");
    }
    app.server.unwrap().shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mailbox_requiring_approval_delivers_nothing_until_approved() {
    on_both_stores("approvals", approval_scenario).await;
}

// --- an agent over MCP ----------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_over_mcp_creates_a_draft_waits_for_approval_and_sees_the_outcome() {
    use rmcp::ServiceExt;
    use rmcp::model::CallToolRequestParams;
    use rmcp::transport::StreamableHttpClientTransport;
    use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;

    let (sink, addr) = start_sink().await;
    let app = app(addr, None).await;
    let (_, key) = app.site_key("agent").await;
    let c = app.client(&key);
    let a = mailbox(&c, "bot").await;
    c.update_mailbox(a.id, &UpdateMailboxRequest { approval_policy: Some(ApprovalPolicy::All), ..Default::default() }).await.unwrap();
    let config = StreamableHttpClientTransportConfig::with_uri(format!("{}/mcp", app.url)).auth_header(key.clone());
    let mcp = ().serve(StreamableHttpClientTransport::from_config(config)).await.unwrap();
    let call = |tool: &'static str, args: Value| {
        let mcp = &mcp;
        async move {
            let r = mcp
                .call_tool(CallToolRequestParams::new(tool.to_string()).with_arguments(args.as_object().cloned().unwrap()))
                .await
                .unwrap();
            assert_eq!(r.is_error, Some(false), "{tool}: {r:?}");
            r.structured_content.unwrap()
        }
    };
    let names: Vec<String> = mcp.list_all_tools().await.unwrap().into_iter().map(|t| t.name.to_string()).collect();
    for t in ["create_draft", "update_draft", "send_draft", "list_drafts", "delete_draft", "wait_for_approval"] {
        assert!(names.iter().any(|n| n == t), "{t} in {names:?}");
    }
    let d = call("create_draft", json!({"mailbox_id": a.id, "to": ["jo@ext.test"], "subject": "From the agent", "text": "draft"})).await;
    let draft_id = d["id"].as_str().unwrap().to_string();
    call("update_draft", json!({"draft_id": draft_id, "text": "better draft"})).await;
    let listed = call("list_drafts", json!({"mailbox_id": a.id})).await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
    let sent = call("send_draft", json!({"draft_id": draft_id})).await;
    assert_eq!(sent["status"], "pending_approval", "{sent}");
    let approval = sent["approval_id"].as_str().unwrap().to_string();
    let waiting = call("wait_for_approval", json!({"approval_id": approval, "timeout_seconds": 0})).await;
    assert_eq!(waiting["status"], "pending");

    // A person approves while the agent waits.
    let approver = c.clone();
    let id: ApprovalId = approval.parse().unwrap();
    let decide = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(700)).await;
        approver.approve(id, Some("ok")).await.unwrap();
    });
    let started = Instant::now();
    let outcome = call("wait_for_approval", json!({"approval_id": approval, "timeout_seconds": 20})).await;
    decide.await.unwrap();
    assert_eq!(outcome["status"], "approved", "{outcome}");
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(sink.wait_for("From the agent", Duration::from_secs(10)).await.len(), 1);

    // send_message with send_at answers a scheduled message.
    let due = in_secs(30.0);
    c.update_mailbox(a.id, &UpdateMailboxRequest { approval_policy: Some(ApprovalPolicy::None), ..Default::default() }).await.unwrap();
    let later = call("send_message", json!({"mailbox_id": a.id, "to": ["jo@ext.test"], "subject": "Later", "text": "x", "send_at": due.to_rfc3339()})).await;
    assert_eq!(later["status"], "scheduled", "{later}");
    call("delete_draft", json!({"draft_id": later["draft_id"]})).await;
    mcp.cancel().await.unwrap();
    app.server.unwrap().shutdown().await;
}

// --- the console's approvals page -----------------------------------------------------------

fn csrf_of(html: &str) -> String {
    let at = html.find("name=\"csrf\" value=\"").expect("a CSRF field") + "name=\"csrf\" value=\"".len();
    html[at..at + 64].to_string()
}

/// A person signs in to the console, sees the pending message with its text and proposer,
/// cannot approve without the form's CSRF token, edits it (a new revision) and approves it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_lists_pending_approvals_and_approves_with_csrf() {
    let (sink, addr) = start_sink().await;
    let app = app(addr, None).await;
    let (_, key) = app.site_key("console").await;
    let c = app.client(&key);
    let a = mailbox(&c, "held").await;
    c.update_mailbox(a.id, &UpdateMailboxRequest { approval_policy: Some(ApprovalPolicy::All), ..Default::default() }).await.unwrap();
    let h = held(c.send_or_hold(a.id, &text_message(&["kim@ext.test"], "Console check", "please approve me"), None).await.unwrap());
    let approval = h.approval_id.unwrap();

    let http = reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let url = &app.url;
    let r = http.post(format!("{url}/login")).form(&[("api_key", key.as_str()), ("next", "/")]).send().await.unwrap();
    assert_eq!(r.status(), 303);
    let page = http.get(format!("{url}/approvals")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("Console check") && page.contains("please approve me"), "the pending item is rendered");
    assert!(page.contains(&format!("/approvals/{approval}/approve")));
    let drafts = http.get(format!("{url}/mailboxes/{}/drafts", a.id)).send().await.unwrap();
    assert_eq!(drafts.status(), 200);
    assert!(drafts.text().await.unwrap().contains("pending_approval"));

    // Without the token: refused, nothing sent.
    let r = http.post(format!("{url}/approvals/{approval}/approve")).form(&[("note", "x")]).send().await.unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(c.get_approval(approval).await.unwrap().approval.status, ApprovalStatus::Pending);

    let token = csrf_of(&page);
    let r = http
        .post(format!("{url}/approvals/{approval}/edit"))
        .form(&[("csrf", token.as_str()), ("subject", "Console check"), ("text", "edited in the console")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(c.get_draft(h.draft_id).await.unwrap().revision, 2);
    let r = http.post(format!("{url}/approvals/{approval}/approve")).form(&[("csrf", token.as_str()), ("note", "fine")]).send().await.unwrap();
    assert_eq!(r.status(), 303);
    let item = c.get_approval(approval).await.unwrap();
    assert_eq!((item.approval.status, item.approval.note.as_deref()), (ApprovalStatus::Approved, Some("fine")));
    assert_eq!(sink.wait_for("Console check", Duration::from_secs(10)).await.len(), 1);
    let m = c.get_message(h.id).await.unwrap();
    assert_eq!(m.text.as_deref().map(str::trim), Some("edited in the console"));
    app.server.unwrap().shutdown().await;
}

// --- the agent email tools ------------------------------------------------------------------

/// A tool's send from a mailbox that needs approval answers the seed's shape with status
/// `skipped` and code `pending_approval`; nothing leaves until a person approves.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tool_send_held_for_approval_is_skipped_with_pending_approval() {
    let (sink, addr) = start_sink().await;
    let app = app(addr, None).await;
    let (site, c) = app.site_client("tools").await;
    let mb = mailbox(&c, "sales").await;
    let (s, _) = call(&c, Method::PUT, "/v1/settings", Some(json!({"channels": {"agent_email": {"status": "active",
        "username": mb.address.local_part(), "domain": mb.address.domain()}}}))).await;
    assert_eq!(s, 200);
    app.admin.set_site_approval_policy(site.id, ApprovalPolicy::FirstContact).await.unwrap();
    let body = json!({"email": "lead@ext.test", "subject": "Tool hello", "message": "Dear lead,\n\nhello.", "site_id": site.id.to_string()});
    let (s, v) = call(&c, Method::POST, "/v1/tools/send_email/invoke", Some(body)).await;
    assert_eq!((v["status"].as_str(), v["code"].as_str()), (Some("skipped"), Some("pending_approval")), "{s} {v}");
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(sink.with_subject("Tool hello").is_empty());
    let pending = c.list_approvals(Some("pending"), None).await.unwrap();
    assert_eq!(pending.items.len(), 1);
    let item = &pending.items[0];
    assert_eq!(item.approval.proposed_by.kind, "tool");
    assert_eq!(item.approval.proposed_by.label.as_deref(), Some("send_email"));
    c.approve(item.approval.id, None).await.unwrap();
    assert_eq!(sink.wait_for("Tool hello", Duration::from_secs(10)).await.len(), 1);
    app.server.unwrap().shutdown().await;
}
